// PgType: a PostgreSQL column type as the COPY binary decoder needs it.
//
// The consumer resolves every column's type from the catalog (pg_attribute / pg_type, or
// a query's result description) into this tree once, at plan time; the decoder then picks
// one decoder per column from it and never looks at the catalog again. Domains are
// resolved to their base type (with the domain's typmod) by the catalog code: on the wire
// a domain value is its base type's value.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "jetflow/sources/invalid_utf8.h"

namespace jetflow::postgres {

/// OIDs of the built-in types the decoder reads (pg_type.dat; stable across versions).
namespace pg_oid {
inline constexpr uint32_t kBool = 16;
inline constexpr uint32_t kBytea = 17;
inline constexpr uint32_t kName = 19;
inline constexpr uint32_t kInt8 = 20;
inline constexpr uint32_t kInt2 = 21;
inline constexpr uint32_t kInt4 = 23;
inline constexpr uint32_t kText = 25;
inline constexpr uint32_t kOid = 26;
inline constexpr uint32_t kJson = 114;
inline constexpr uint32_t kCidr = 650;
inline constexpr uint32_t kFloat4 = 700;
inline constexpr uint32_t kFloat8 = 701;
inline constexpr uint32_t kMacaddr8 = 774;
inline constexpr uint32_t kMoney = 790;
inline constexpr uint32_t kMacaddr = 829;
inline constexpr uint32_t kInet = 869;
inline constexpr uint32_t kBpchar = 1042;
inline constexpr uint32_t kVarchar = 1043;
inline constexpr uint32_t kDate = 1082;
inline constexpr uint32_t kTime = 1083;
inline constexpr uint32_t kTimestamp = 1114;
inline constexpr uint32_t kTimestamptz = 1184;
inline constexpr uint32_t kInterval = 1186;
inline constexpr uint32_t kTimetz = 1266;
inline constexpr uint32_t kBit = 1560;
inline constexpr uint32_t kVarbit = 1562;
inline constexpr uint32_t kNumeric = 1700;
inline constexpr uint32_t kUuid = 2950;
inline constexpr uint32_t kJsonb = 3802;
}  // namespace pg_oid

struct PgType {
  enum class Kind {
    kBase,       // a built-in scalar type, identified by `oid` (int4, numeric, text, ...)
    kArray,      // `element` holds the element type. Arrow needs the dimension count at
                 // plan time: a kArray whose element is again a kArray means a
                 // 2-dimensional array (planned by the consumer from array_dimensions,
                 // a sample of the data or pg_attribute.attndims), decoded to
                 // list<list<T>>; a column planned 1-D rejects 2-D values.
    kEnum,       // `enum_labels` in sort order; sent on the wire as its label text
    kComposite,  // `fields` in attribute order
    kRange,      // `element` holds the subtype
  };
  Kind kind = Kind::kBase;
  /// The type's OID (for kArray the array type's OID, for kBase the scalar's).
  uint32_t oid = 0;
  /// For a domain resolved to its base type: the domain's OID. Arrays of a domain and
  /// composite fields of a domain type name the domain OID on the wire; the decoder
  /// accepts either. 0 if the type is not a domain.
  uint32_t domain_oid = 0;
  /// format_type() spelling, for messages: "numeric(18,4)", "text[]", "mood".
  std::string name;
  /// atttypmod: e.g. numeric precision/scale, varchar length, timestamp precision; -1 if
  /// none.
  int32_t typmod = -1;
  std::shared_ptr<const PgType> element;
  struct Field {
    std::string name;
    std::shared_ptr<const PgType> type;
  };
  std::vector<Field> fields;
  std::vector<std::string> enum_labels;
};

/// How to decode `numeric` columns that have no usable precision/scale (unconstrained
/// `numeric`, or a precision over 38) and what to do with values Arrow decimal128 cannot
/// hold (NaN, ±Infinity, too many digits).
struct NumericOptions {
  enum class Unconstrained { kDecimal, kString };
  /// Unconstrained numeric: decimal128(precision, scale) with the values below, or
  /// string.
  Unconstrained unconstrained = Unconstrained::kString;
  int32_t unconstrained_precision = 38;
  int32_t unconstrained_scale = 9;
  enum class OnInvalid { kError, kNull };
  /// NaN, ±Infinity, a value with more digits than the column's precision/scale.
  OnInvalid on_invalid = OnInvalid::kError;
};

/// What ±infinity dates and timestamps become (Arrow has no infinity).
enum class InfinityPolicy {
  kClamp,  // -infinity -> 0001-01-01 (00:00:00), infinity -> 9999-12-31 (23:59:59.999999)
  kNull,
  kError,
};

struct PgColumn {
  std::string name;
  PgType type;
  bool nullable = true;
  /// What its text values (text, varchar, char, name, json, jsonb, at any depth) that
  /// are not valid UTF-8 become: they can be, in a SQL_ASCII database.
  sources::InvalidUtf8 invalid_utf8 = sources::InvalidUtf8::kError;
};

struct PgDecodeOptions {
  NumericOptions numeric;
  InfinityPolicy infinity = InfinityPolicy::kClamp;
  /// The column's PgColumn::invalid_utf8, set by ArrowTypeFor(PgColumn) and
  /// CopyBinaryDecoder::Make for each column (binary: its text types map to binary).
  sources::InvalidUtf8 invalid_utf8 = sources::InvalidUtf8::kError;
  /// Errors about a row name this column's value when it can be read ("key id=42"); -1
  /// for none.
  int key_column = -1;
};

/// PostgreSQL arrays have at most this many dimensions (MAXDIM).
inline constexpr int kMaxArrayDimensions = 6;

/// The dimensions a kArray `type` is planned with (how deep kArray nests), 0 for any
/// other type.
int ArrayDimensions(const PgType& type);

/// The kArray `type` planned with `dimensions` dimensions: its innermost element type
/// (below any kArray nesting) wrapped in `dimensions` kArray levels of `type`'s array
/// type. REQUIRES: type.kind == kArray, 1 <= dimensions <= kMaxArrayDimensions.
PgType WithArrayDimensions(const PgType& type, int dimensions);

/// True if the decoder can read `type` in COPY binary format. Columns of any other type
/// are selected as `col::text` by the consumer (with a plan-time warning) and decoded as
/// text.
bool IsSupported(const PgType& type);

/// True for the types whose values the server sends as text it stores (text, varchar,
/// bpchar, name, json, jsonb), which need not be UTF-8 in a SQL_ASCII database.
bool IsStoredTextOid(uint32_t oid);

/// True if values of `type` hold such text somewhere (arrays, composites, ranges).
bool HoldsStoredText(const PgType& type);

/// The lossless Arrow type `column` decodes to (before any output profile).
arrow::Result<std::shared_ptr<arrow::DataType>> ArrowTypeFor(
    const PgColumn& column, const PgDecodeOptions& options);

/// The lossless Arrow type of a value of `type` (ArrowTypeFor(column) without the
/// column).
arrow::Result<std::shared_ptr<arrow::DataType>> ArrowTypeFor(
    const PgType& type, const PgDecodeOptions& options);

/// How a `numeric` with atttypmod `typmod` decodes: text, or decimal128(precision,
/// scale) holding exactly the values the column can hold. numeric(p,s) with p <= 38
/// maps to decimal128(max(p,s), max(s,0)) widened by a negative scale's digits;
/// unconstrained numeric and p > 38 follow `options.unconstrained`.
struct NumericShape {
  bool as_string = false;
  int32_t precision = 0;
  int32_t scale = 0;
};
NumericShape NumericShapeFor(int32_t typmod, const NumericOptions& options);

}  // namespace jetflow::postgres
