// Helpers for stage tests: build batches and tables from JSON rows.
//
// Values are converted to the column's Arrow type, so a test can write them the way a
// person reads them: integers and floats as JSON numbers, decimals as numbers or strings
// ("12.50"), dates as "YYYY-MM-DD", timestamps as ISO-8601 strings
// ("2024-03-10T02:30:00", with an optional "Z"/"+01:00" offset; a column with a time zone
// takes an offset-less value as UTC), booleans as true/false, binary as strings, lists
// and structs as JSON arrays and objects. A key missing from a row object is null.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace jetflow::testing {

/// A RecordBatch of `schema` from a JSON array of row objects, e.g.
/// R"([{"id": 1, "name": "a"}, {"id": 2, "name": null}])". A key that is not a column
/// of `schema` is Invalid (it is almost always a typo).
arrow::Result<std::shared_ptr<arrow::RecordBatch>> BatchFromJson(
    const std::shared_ptr<arrow::Schema>& schema, const std::string& json_rows);

/// Same rows, as batches of at most `batch_rows` rows (at least one batch, possibly
/// empty), for stages whose behaviour depends on batch boundaries.
arrow::Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> BatchesFromJson(
    const std::shared_ptr<arrow::Schema>& schema, const std::string& json_rows,
    int64_t batch_rows);

/// A RecordBatch of `schema` from already-parsed row objects (see BatchFromJson).
arrow::Result<std::shared_ptr<arrow::RecordBatch>> BatchFromJsonRows(
    const std::shared_ptr<arrow::Schema>& schema,
    const std::vector<nlohmann::json>& rows);

/// One array of `type` from one JSON value per row (null for a null). Scalars are
/// converted with Arrow's safe casts from their text, so "12.50" fits decimal(10,2) but
/// 1.5 does not fit int64. Invalid names the row index and the value that does not fit.
arrow::Result<std::shared_ptr<arrow::Array>> ArrayFromJsonValues(
    const std::shared_ptr<arrow::DataType>& type,
    const std::vector<nlohmann::json>& values);

/// Splits `batch` into slices of at most `batch_rows` rows (zero-copy). An empty batch
/// yields one empty batch. REQUIRES: batch_rows > 0.
std::vector<std::shared_ptr<arrow::RecordBatch>> SliceBatch(
    const std::shared_ptr<arrow::RecordBatch>& batch, int64_t batch_rows);

/// Empty string if equal, otherwise a description of the first differences
/// (schema, row count, then row/column/expected/actual). See also CompareTables()
/// in batch_compare.h, which compares values by type with a float tolerance.
std::string DiffBatches(const arrow::RecordBatch& expected,
                        const arrow::RecordBatch& actual);

}  // namespace jetflow::testing
