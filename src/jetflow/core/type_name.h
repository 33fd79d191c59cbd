// Type names: the one grammar for writing an Arrow type as text.
//
// Every place a user names a type parses it here: a loader's declared `schema:`, a
// consumer's `columns:` overrides and generated columns, the `cast` and `constant`
// transformers, pipeline test fixtures, and CAST(x AS type) in expressions. One grammar
// means a type name that works in one place works in all of them with the same meaning
// (docs/types.md is the user's reference).
//
// Accepted, case-insensitively (time zone and field names keep their case):
//  - everything Arrow's DataType::ToString() prints for the types jetflow handles, so a
//    type copied from an error message, a schema printout or pyarrow parses back to the
//    same type: ParseTypeName(type->ToString()) equals `type`. E.g. `timestamp[us,
//    tz=UTC]`, `decimal128(12, 2)`, `list<item: int32>`, `large_string`, `date32[day]`,
//    `struct<a: int32, b: string not null>`, `map<string, int32>`,
//    `dictionary<values=string, indices=int32, ordered=0>`, `extension<arrow.uuid>`;
//  - short and SQL spellings: `int`/`integer`, `bigint`/`long`, `float`/`real`,
//    `double`, `text`/`varchar(n)`, `date`, `decimal(p[, s])`/`numeric(p[, s])`,
//    `timestamp[unit]`, `timestamp[unit, zone]`, `timestamp(p)`, `timestamptz[(p)]`,
//    `list<T>`, `fixed_size_binary(n)`.
//
// Bare `timestamp` means timestamp[us, UTC], the Spark-safe instant (docs/types.md,
// "Timestamps"); any explicit unit or precision without a zone (`timestamp[us]`,
// `timestamp(6)`) means a timestamp without time zone.
//
// Threading: pure and thread-safe.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <memory>
#include <string_view>

namespace jetflow {

/// The type `text` names. Leading and trailing spaces are ignored; a time zone is
/// checked against the time zone database. Invalid with a message naming the problem and
/// the accepted forms otherwise; callers add the config location.
arrow::Result<std::shared_ptr<arrow::DataType>> ParseTypeName(std::string_view text);

}  // namespace jetflow
