// CopyBinaryDecoder: PostgreSQL `COPY ... TO STDOUT (FORMAT binary)` bytes straight into
// Arrow arrays (format: docs/formats/postgres-copy-binary.md).
//
// One decoder per column, chosen once from its PgType; each field is decoded from its raw
// big-endian bytes directly into Arrow builders — no per-row allocation, no text parsing,
// no intermediate row objects.
//
// Threading: one decoder per partition reader; not thread-safe.
#pragma once

#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "jetflow/core/value_changes.h"
#include "jetflow/sources/postgres/pg_type.h"

namespace jetflow::postgres {

class CopyBinaryDecoder {
 public:
  virtual ~CopyBinaryDecoder() = default;

  /// REQUIRES: every column IsSupported(). Fails (Invalid) naming the column otherwise.
  static arrow::Result<std::unique_ptr<CopyBinaryDecoder>> Make(
      std::vector<PgColumn> columns, PgDecodeOptions options,
      arrow::MemoryPool* pool = arrow::default_memory_pool());

  /// Schema of every batch (from ArrowTypeFor).
  virtual const std::shared_ptr<arrow::Schema>& schema() const = 0;

  /// Feeds the next bytes of the COPY stream. Any chunking works (a partial tuple is
  /// kept until the rest arrives); libpq hands over one CopyData message per tuple, the
  /// first one prefixed by the file header, which is the fast path. Corrupt input is a
  /// SerializationError naming the column, the row (0-based within this stream), the byte
  /// offset in the stream and, when known, the key column's value. A text value that is
  /// not valid UTF-8 in a column under `invalid_utf8: error` is Invalid naming the same
  /// and the option that fixes it.
  virtual arrow::Status Consume(const uint8_t* data, int64_t size) = 0;

  /// Rows decoded and not yet flushed.
  virtual int64_t buffered_rows() const = 0;
  /// Bytes held by the buffered rows' arrays (for the memory budget).
  virtual int64_t buffered_bytes() const = 0;

  /// The buffered rows as one batch (possibly empty) and a fresh start for the next.
  virtual arrow::Result<std::shared_ptr<arrow::RecordBatch>> Flush() = 0;

  /// True once the trailer (-1 field count) was consumed. Bytes after it are an error.
  virtual bool finished() const = 0;

  /// Call at the end of the stream: SerializationError if it ended before the trailer or
  /// inside a tuple.
  virtual arrow::Status Finish() = 0;

  /// Values decoded otherwise than the server sent them since Make(), because a policy
  /// chose so (`infinity: clamp` or `null`, `numeric.on_invalid: null`,
  /// `invalid_utf8: replace`) or Arrow cannot
  /// keep them (an array's lower bound): one entry per column and kind, in column order,
  /// `stage` left empty for the consumer to fill in. A value nested in a column (an
  /// array element, a composite field, a range bound) counts for that column.
  virtual std::vector<ValueChangeCount> value_changes() const = 0;
};

}  // namespace jetflow::postgres
