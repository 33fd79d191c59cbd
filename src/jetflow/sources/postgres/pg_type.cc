#include "jetflow/sources/postgres/pg_type.h"

#include <arrow/extension/uuid.h>
#include <arrow/type.h>

#include <algorithm>

namespace jetflow::postgres {

namespace {

bool IsSupportedBase(uint32_t oid) {
  switch (oid) {
    case pg_oid::kBool:
    case pg_oid::kBytea:
    case pg_oid::kName:
    case pg_oid::kInt8:
    case pg_oid::kInt2:
    case pg_oid::kInt4:
    case pg_oid::kText:
    case pg_oid::kOid:
    case pg_oid::kJson:
    case pg_oid::kCidr:
    case pg_oid::kFloat4:
    case pg_oid::kFloat8:
    case pg_oid::kMacaddr8:
    case pg_oid::kMoney:
    case pg_oid::kMacaddr:
    case pg_oid::kInet:
    case pg_oid::kBpchar:
    case pg_oid::kVarchar:
    case pg_oid::kDate:
    case pg_oid::kTime:
    case pg_oid::kTimestamp:
    case pg_oid::kTimestamptz:
    case pg_oid::kInterval:
    case pg_oid::kTimetz:
    case pg_oid::kBit:
    case pg_oid::kVarbit:
    case pg_oid::kNumeric:
    case pg_oid::kUuid:
    case pg_oid::kJsonb:
      return true;
    default:
      return false;
  }
}

arrow::Result<std::shared_ptr<arrow::DataType>> BaseArrowType(
    const PgType& type, const PgDecodeOptions& options) {
  switch (type.oid) {
    case pg_oid::kBool:
      return arrow::boolean();
    case pg_oid::kInt2:
      return arrow::int16();
    case pg_oid::kInt4:
      return arrow::int32();
    case pg_oid::kInt8:
      return arrow::int64();
    case pg_oid::kOid:
      return arrow::uint32();
    case pg_oid::kFloat4:
      return arrow::float32();
    case pg_oid::kFloat8:
      return arrow::float64();
    case pg_oid::kNumeric: {
      NumericShape shape = NumericShapeFor(type.typmod, options.numeric);
      if (shape.as_string) return arrow::utf8();
      return arrow::Decimal128Type::Make(shape.precision, shape.scale);
    }
    case pg_oid::kMoney:
      // int64 cents: 19 digits, 2 of them after the point (lc_monetary with 2 digits).
      return arrow::decimal128(19, 2);
    case pg_oid::kBytea:
      return arrow::binary();
    case pg_oid::kDate:
      return arrow::date32();
    case pg_oid::kTime:
      return arrow::time64(arrow::TimeUnit::MICRO);
    case pg_oid::kTimestamp:
      return arrow::timestamp(arrow::TimeUnit::MICRO);
    case pg_oid::kTimestamptz:
      return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
    case pg_oid::kInterval:
      return arrow::month_day_nano_interval();
    case pg_oid::kUuid:
      return arrow::extension::uuid();
    default:
      if (IsStoredTextOid(type.oid) &&
          options.invalid_utf8 == sources::InvalidUtf8::kBinary) {
        return arrow::binary();
      }
      if (IsSupportedBase(type.oid)) return arrow::utf8();  // text forms
      return arrow::Status::Invalid("PostgreSQL type ", type.name, " (oid ", type.oid,
                                    ") cannot be decoded from COPY binary");
  }
}

}  // namespace

int ArrayDimensions(const PgType& type) {
  int dimensions = 0;
  for (const PgType* level = &type;
       level != nullptr && level->kind == PgType::Kind::kArray;
       level = level->element.get()) {
    ++dimensions;
  }
  return dimensions;
}

PgType WithArrayDimensions(const PgType& type, int dimensions) {
  const PgType* element = &type;
  while (element->kind == PgType::Kind::kArray && element->element != nullptr) {
    element = element->element.get();
  }
  PgType level = type;
  level.element = std::make_shared<const PgType>(*element);
  for (int d = 1; d < dimensions; ++d) {
    PgType outer = type;
    outer.element = std::make_shared<const PgType>(std::move(level));
    level = std::move(outer);
  }
  return level;
}

bool IsStoredTextOid(uint32_t oid) {
  return oid == pg_oid::kText || oid == pg_oid::kVarchar || oid == pg_oid::kBpchar ||
         oid == pg_oid::kName || oid == pg_oid::kJson || oid == pg_oid::kJsonb;
}

bool HoldsStoredText(const PgType& type) {
  switch (type.kind) {
    case PgType::Kind::kBase:
      return IsStoredTextOid(type.oid);
    case PgType::Kind::kArray:
    case PgType::Kind::kRange:
      return type.element != nullptr && HoldsStoredText(*type.element);
    case PgType::Kind::kEnum:
      return false;
    case PgType::Kind::kComposite:
      return std::any_of(type.fields.begin(), type.fields.end(), [](const auto& field) {
        return field.type != nullptr && HoldsStoredText(*field.type);
      });
  }
  return false;
}

bool IsSupported(const PgType& type) {
  switch (type.kind) {
    case PgType::Kind::kBase:
      return IsSupportedBase(type.oid);
    case PgType::Kind::kArray:
    case PgType::Kind::kRange:
      return type.element != nullptr && IsSupported(*type.element);
    case PgType::Kind::kEnum:
      return true;
    case PgType::Kind::kComposite:
      return !type.fields.empty() &&
             std::all_of(type.fields.begin(), type.fields.end(), [](const auto& field) {
               return field.type != nullptr && IsSupported(*field.type);
             });
  }
  return false;
}

NumericShape NumericShapeFor(int32_t typmod, const NumericOptions& options) {
  NumericShape shape;
  // typmod = ((precision << 16) | (scale & 0x7ff)) + VARHDRSZ; scale is 11-bit signed
  // since PostgreSQL 15.
  if (typmod >= 4) {
    const int32_t packed = typmod - 4;
    const int32_t precision = (packed >> 16) & 0xffff;
    const int32_t scale = ((packed & 0x7ff) ^ 1024) - 1024;
    if (precision >= 1 && precision <= 1000) {
      // numeric(p,-s) rounds to 10^s: integers of p+s digits; numeric(p,s>p) holds
      // fractions below 10^(p-s).
      const int32_t arrow_scale = std::max(scale, 0);
      const int32_t digits = scale < 0 ? precision - scale : std::max(precision, scale);
      if (digits <= 38) {
        shape.precision = digits;
        shape.scale = arrow_scale;
        return shape;
      }
    }
  }
  if (options.unconstrained == NumericOptions::Unconstrained::kString) {
    shape.as_string = true;
    return shape;
  }
  shape.precision = options.unconstrained_precision;
  shape.scale = options.unconstrained_scale;
  return shape;
}

arrow::Result<std::shared_ptr<arrow::DataType>> ArrowTypeFor(
    const PgType& type, const PgDecodeOptions& options) {
  if (!IsSupported(type)) {
    return arrow::Status::Invalid("PostgreSQL type ", type.name, " (oid ", type.oid,
                                  ") cannot be decoded from COPY binary");
  }
  switch (type.kind) {
    case PgType::Kind::kBase:
      return BaseArrowType(type, options);
    case PgType::Kind::kArray: {
      ARROW_ASSIGN_OR_RAISE(auto element, ArrowTypeFor(*type.element, options));
      return arrow::list(std::move(element));
    }
    case PgType::Kind::kEnum:
      return arrow::dictionary(arrow::int32(), arrow::utf8());
    case PgType::Kind::kComposite: {
      arrow::FieldVector fields;
      for (const auto& field : type.fields) {
        ARROW_ASSIGN_OR_RAISE(auto child, ArrowTypeFor(*field.type, options));
        fields.push_back(arrow::field(field.name, std::move(child)));
      }
      return arrow::struct_(fields);
    }
    case PgType::Kind::kRange: {
      ARROW_ASSIGN_OR_RAISE(auto bound, ArrowTypeFor(*type.element, options));
      return arrow::struct_({arrow::field("lower", bound), arrow::field("upper", bound),
                             arrow::field("lower_inclusive", arrow::boolean(), false),
                             arrow::field("upper_inclusive", arrow::boolean(), false),
                             arrow::field("lower_infinite", arrow::boolean(), false),
                             arrow::field("upper_infinite", arrow::boolean(), false),
                             arrow::field("empty", arrow::boolean(), false)});
    }
  }
  return arrow::Status::Invalid("unknown PostgreSQL type kind");
}

arrow::Result<std::shared_ptr<arrow::DataType>> ArrowTypeFor(
    const PgColumn& column, const PgDecodeOptions& options) {
  PgDecodeOptions column_options = options;
  column_options.invalid_utf8 = column.invalid_utf8;
  auto type = ArrowTypeFor(column.type, column_options);
  if (!type.ok()) {
    return arrow::Status::Invalid(type.status().message(), ": column '", column.name,
                                  "'");
  }
  return type;
}

}  // namespace jetflow::postgres
