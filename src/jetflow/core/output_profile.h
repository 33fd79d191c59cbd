// Output profiles: which Arrow schema a loader writes for a given stream schema, and how
// batches are made to fit it.
//
// Downstream readers decide what a lake can contain. The `spark` profile (the default)
// rewrites every type that Spark 3.5/4.x, DuckDB, Trino or pyarrow cannot read with
// default settings into the closest type they all can (docs/type-mapping.md), and rejects
// at plan time the types that have no faithful equivalent. The `lossless` profile keeps
// the stream types; Parquet files carry the Arrow schema (ARROW:schema) so Arrow-based
// readers restore them. Only the few types Parquet cannot hold as such are written as an
// exact equivalent (time32[s] and timestamp[s] in milliseconds, date64 as date32,
// dictionaries of non-string values decoded), so the written schema is the one readers
// get back.
//
// Conversions never lose data silently: a value that does not fit its output type (an
// overflow, a nanosecond timestamp that would be truncated to microseconds, a decimal
// rescale that would drop digits) fails the batch with the column, row and value.
//
// Threading: every function here is pure and thread-safe.
#pragma once

#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace jetflow {

enum class OutputProfile {
  /// Readable by Spark 3.5/4.x, DuckDB, Trino and pyarrow without settings.
  kSpark,
  /// The stream schema as is; exact for Arrow-based readers.
  kLossless,
};

/// "spark" or "lossless"; Invalid otherwise.
arrow::Result<OutputProfile> ParseOutputProfile(std::string_view name);
std::string_view ToString(OutputProfile profile);

/// The schema written for stream schema `input` under `profile` (docs/type-mapping.md).
/// Field names, order, nullability and field metadata are kept; only types change. Fails
/// with one Invalid listing every problem: duplicate column names, and with kSpark every
/// column whose type cannot be made Spark-readable (intervals, durations, decimals wider
/// than 38 digits, ...) and every pair of names Spark would confuse (it matches names
/// case-insensitively).
arrow::Result<std::shared_ptr<arrow::Schema>> ApplyOutputProfile(
    const std::shared_ptr<arrow::Schema>& input, OutputProfile profile);

/// Parses a type name as written in a declared schema in YAML: int8..int64,
/// uint8..uint64, float32 (float), float64 (double), bool (boolean), string (utf8),
/// binary, date (date32), timestamp[s|ms|us|ns] or timestamp[unit, <time zone>],
/// decimal(p,s), list<T>.
arrow::Result<std::shared_ptr<arrow::DataType>> ParseTypeName(std::string_view text);

/// "xxh3-128:<32 hex digits>" over the field names, types and nullability of `schema`
/// (metadata excluded). Equal fingerprints mean readers see the same columns.
std::string SchemaFingerprint(const arrow::Schema& schema);

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

}  // namespace jetflow
