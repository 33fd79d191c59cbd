// What a consumer does with text that is not valid UTF-8: the `invalid_utf8` option of
// the `clickhouse` and `postgres` sources (docs/sources.md).
//
// Arrow's and Parquet's string types promise UTF-8, but a ClickHouse `String` holds any
// bytes, and so does a PostgreSQL text column of a `SQL_ASCII` database. Per column, one
// of three policies applies to every text value of the column, at any depth (array
// elements, map keys and values, tuple fields, dictionary values):
//  - error (the default): the partition fails, naming the column, the partition, the row
//    and this option;
//  - replace: every maximal invalid subsequence becomes U+FFFD (as the Unicode standard
//    recommends, chapter 3.9 "U+FFFD Substitution of Maximal Subparts", and as WHATWG's
//    decoder and Python's errors="replace" do); the values replaced are counted and
//    reported;
//  - binary: the column's text is written as bytes (Arrow binary, Parquet BYTE_ARRAY
//    without the UTF8 annotation), exactly as stored.
//
// Config: `invalid_utf8: replace` (every column), or
// `invalid_utf8: {default: error, columns: {payload: binary, title: replace}}`.
//
// Threading: plain values and pure functions.
#pragma once

#include <arrow/status.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jetflow/core/config_node.h"
#include "jetflow/core/value_changes.h"

namespace jetflow::sources {

enum class InvalidUtf8 { kError, kReplace, kBinary };

/// "error", "replace" or "binary".
const char* InvalidUtf8Name(InvalidUtf8 policy);

struct InvalidUtf8Options {
  InvalidUtf8 default_policy = InvalidUtf8::kError;
  struct Column {
    std::string name;
    InvalidUtf8 policy = InvalidUtf8::kError;
    /// Where the column is named in the config, for plan-time errors.
    SourceLocation where;
  };
  std::vector<Column> columns;

  /// The policy of `column`: its own entry, else the default.
  InvalidUtf8 For(std::string_view column) const;

  /// Plan time: Invalid, one "file:line:col: ..." line per entry of `columns` that names
  /// no column in `names` (with a "did you mean") or one for which `has_text` is false
  /// (the policy would do nothing there). `what` names the source ("table t").
  arrow::Status Check(const std::vector<std::string>& names,
                      const std::function<bool(const std::string&)>& has_text,
                      const std::string& what) const;
};

/// Reads `invalid_utf8` of a consumer's node (absent: error for every column). Records
/// errors at the offending node, like every option reader.
InvalidUtf8Options ParseInvalidUtf8(const ConfigNode& node);

/// Where in one text value the first invalid byte is.
struct InvalidUtf8Position {
  int64_t offset = 0;  // byte offset within the value
  uint8_t byte = 0;
};

/// The first invalid byte of `data`, or nullopt if it is valid UTF-8.
std::optional<InvalidUtf8Position> FindInvalidUtf8(const uint8_t* data, int64_t size);

/// "text value is not valid UTF-8 (byte 0xff at offset 3 of the value)".
std::string InvalidUtf8Description(InvalidUtf8Position position);

/// "invalid_utf8: {columns: {<column>: <policy>}}", the column quoted for YAML when it
/// is not a plain identifier.
std::string InvalidUtf8ColumnOption(std::string_view column, InvalidUtf8 policy);

/// What fixes it for `column`, for the error of `invalid_utf8: error`: "set
/// 'invalid_utf8: replace' ... or 'invalid_utf8: binary' ... (for this column only:
/// ...)".
std::string InvalidUtf8Remedy(std::string_view column);

/// The value change report of `values` text values of `column` that `invalid_utf8:
/// replace` repaired (core/value_changes.h), `stage` left for the consumer to fill in
/// when empty.
ValueChangeCount InvalidUtf8Replaced(std::string stage, std::string column,
                                     int64_t values);

/// Most bytes ReplaceInvalidUtf8 writes for `size` input bytes.
inline int64_t MaxReplacedSize(int64_t size) { return size * 3; }

/// Writes `data` to `out` with every maximal invalid subsequence replaced by U+FFFD
/// (EF BF BD); returns the bytes written. REQUIRES: `out` has room for
/// MaxReplacedSize(size) bytes and does not overlap `data`.
int64_t ReplaceInvalidUtf8(const uint8_t* data, int64_t size, uint8_t* out);

}  // namespace jetflow::sources
