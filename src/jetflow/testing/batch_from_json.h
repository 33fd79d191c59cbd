// Helpers for stage tests: build expected batches from JSON, compare with readable diffs.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <memory>
#include <string>

namespace jetflow::testing {

/// A RecordBatch of `schema` from a JSON array of row objects, e.g.
/// R"([{"id": 1, "name": "a"}, {"id": 2, "name": null}])".
arrow::Result<std::shared_ptr<arrow::RecordBatch>> BatchFromJson(
    const std::shared_ptr<arrow::Schema>& schema, const std::string& json_rows);

/// Empty string if equal, otherwise a description of the first differences
/// (schema, row count, then row/column/expected/actual).
std::string DiffBatches(const arrow::RecordBatch& expected,
                        const arrow::RecordBatch& actual);

}  // namespace jetflow::testing
