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

namespace jetflow::postgres {

struct PgType {
  enum class Kind {
    kBase,       // a built-in scalar type, identified by `oid` (int4, numeric, text, ...)
    kArray,      // `element` holds the element type; any number of dimensions
    kEnum,       // `enum_labels` in sort order; sent on the wire as its label text
    kComposite,  // `fields` in attribute order
    kRange,      // `element` holds the subtype
  };
  Kind kind = Kind::kBase;
  /// The type's OID (for kArray the array type's OID, for kBase the scalar's).
  uint32_t oid = 0;
  /// format_type() spelling, for messages: "numeric(18,4)", "text[]", "mood".
  std::string name;
  /// atttypmod: e.g. numeric precision/scale, varchar length, timestamp precision; -1 if none.
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
  /// Unconstrained numeric: decimal128(precision, scale) with the values below, or string.
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
};

struct PgDecodeOptions {
  NumericOptions numeric;
  InfinityPolicy infinity = InfinityPolicy::kClamp;
  /// Errors about a row name this column's value when it can be read ("key id=42"); -1
  /// for none.
  int key_column = -1;
};

/// True if the decoder can read `type` in COPY binary format. Columns of any other type
/// are selected as `col::text` by the consumer (with a plan-time warning) and decoded as
/// text.
bool IsSupported(const PgType& type);

/// The lossless Arrow type `column` decodes to (before any output profile).
arrow::Result<std::shared_ptr<arrow::DataType>> ArrowTypeFor(const PgColumn& column,
                                                             const PgDecodeOptions& options);

}  // namespace jetflow::postgres
