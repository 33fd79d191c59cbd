// Functions of the expression language that Arrow compute lacks, registered as Arrow
// ScalarFunctions named "jetflow_*" so that the compiled expression stays one Arrow
// expression tree. Each kernel loops over whole arrays (no per-row interpretation).
//
// Constant parameters (salts, JSON paths, separators) are passed as scalar arguments;
// the compiler guarantees they are literals.
//
//   jetflow_check_utf8(s: utf8, column: utf8 scalar) -> s unchanged; Invalid naming the
//       column and row of the first value that is not valid UTF-8.
//   jetflow_mod(a, b) -> a % b, same numeric type; the sign follows a (C++ / SQL);
//       b == 0 is an error.
//   jetflow_xxhash64(x: utf8|binary|int64, salt: utf8 scalar) -> int64:
//       XXH64(salt bytes ++ value bytes, seed 0) read as a signed 64-bit integer; int64
//       values hash their 8 little-endian bytes.
//   jetflow_sha256(x: utf8|binary|int64, salt: utf8 scalar) -> utf8: lower-case hex of
//       SHA-256(salt bytes ++ value bytes).
//   jetflow_json_extract{,_string,_int,_double,_bool}(text: utf8, path: utf8 scalar),
//   jetflow_json_valid(text: utf8) -> see docs/expressions.md.
//   jetflow_split_part(s: utf8, sep: utf8 scalar, n: int64 scalar) -> utf8.
//   jetflow_try_cast(x, target: null scalar of the target type) -> cast of x, NULL where
//       the cast fails.
#pragma once

#include <arrow/status.h>

#include <string>
#include <string_view>

namespace jetflow::expression {

/// Registers the jetflow_* functions in Arrow's default function registry, and calls
/// arrow::compute::Initialize(). Idempotent and thread-safe.
arrow::Status RegisterExpressionKernels();

/// Converts a JSON path ("$.a.b[0]", "$['a b']") into a JSON pointer ("/a/b/0");
/// Invalid with the reason otherwise. Exposed for compile-time validation.
arrow::Status JsonPathToPointer(std::string_view path, std::string* pointer);

}  // namespace jetflow::expression
