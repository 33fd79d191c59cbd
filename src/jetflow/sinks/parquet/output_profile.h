// Output profiles: which Arrow schema the `parquet` loader writes for a given stream
// schema, chosen by who reads the lake.
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
// The profile decides types only; ConformBatch (core/conform_batch.h) then converts each
// batch to them without losing data silently.
//
// Threading: every function here is pure and thread-safe.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <memory>
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

}  // namespace jetflow
