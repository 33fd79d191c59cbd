// Conforming batches: making a record batch match an output schema that was fixed at plan
// time (a loader's declared or profiled schema, a test's expected schema).
//
// Columns are selected and ordered by name and converted with safe casts, plus the few
// conversions Arrow's cast kernels do not do: UUIDs to their canonical text,
// month_day_nano intervals to IntervalStructType(), nested values (lists, maps, structs,
// dictionaries) holding either. Conversions never lose data silently: a value that does
// not fit its output type (an overflow, a nanosecond timestamp that would be truncated to
// microseconds, a decimal rescale that would drop digits) fails the batch with the
// column, row and value.
//
// Threading: every function here is pure and thread-safe.
#pragma once

#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string_view>

namespace jetflow {

struct ConformOptions {
  /// Row number of the batch's first row within its partition, so that errors name the
  /// row a user can find.
  int64_t first_row = 0;
  arrow::MemoryPool* pool = arrow::default_memory_pool();
};

/// Makes `batch` match `output`: selects and orders columns by name (columns not in
/// `output` are dropped), converts types with safe casts, and checks that non-nullable
/// output columns hold no null. Columns whose type already matches are not copied.
/// Fails with Invalid naming the column, the row and the offending value.
/// REQUIRES: every field of `output` is present in `batch` (Loader::Bind checked it).
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ConformBatch(
    const std::shared_ptr<arrow::RecordBatch>& batch,
    const std::shared_ptr<arrow::Schema>& output, const ConformOptions& options = {});

/// True if values of `from` can be converted to `to` by ConformBatch (possibly failing on
/// individual values, e.g. on overflow). Used at plan time to check declared schemas.
bool CanConform(const arrow::Field& from, const arrow::DataType& to);

/// struct<months: int32, days: int32, nanoseconds: int64>, all non-nullable: how
/// month_day_nano intervals are written, since neither Parquet's writer nor Spark reads
/// them. ConformBatch converts intervals to it exactly.
std::shared_ptr<arrow::DataType> IntervalStructType();

/// True if `field` holds UUIDs: the canonical arrow.uuid extension type, or
/// fixed_size_binary(16) tagged ARROW:extension:name=arrow.uuid in its metadata (how a
/// UUID arrives when the extension is not registered by whoever built the schema).
bool IsUuidField(const arrow::Field& field);

/// True if `type` is the extension type called `extension_name` (e.g. "arrow.bool8").
bool IsExtensionType(const arrow::DataType& type, std::string_view extension_name);

}  // namespace jetflow
