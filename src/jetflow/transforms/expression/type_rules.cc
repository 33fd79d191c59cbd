#include "jetflow/transforms/expression/type_rules.h"

#include <algorithm>

namespace jetflow::expression {

using arrow::DataType;

bool IsSignedInt(const DataType& t) {
  switch (t.id()) {
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
      return true;
    default:
      return false;
  }
}
bool IsUnsignedInt(const DataType& t) {
  switch (t.id()) {
    case arrow::Type::UINT8:
    case arrow::Type::UINT16:
    case arrow::Type::UINT32:
    case arrow::Type::UINT64:
      return true;
    default:
      return false;
  }
}
bool IsInt(const DataType& t) { return IsSignedInt(t) || IsUnsignedInt(t); }
bool IsFloat(const DataType& t) {
  return t.id() == arrow::Type::FLOAT || t.id() == arrow::Type::DOUBLE ||
         t.id() == arrow::Type::HALF_FLOAT;
}
bool IsDecimal(const DataType& t) {
  return t.id() == arrow::Type::DECIMAL128 || t.id() == arrow::Type::DECIMAL256;
}
bool IsNumeric(const DataType& t) { return IsInt(t) || IsFloat(t) || IsDecimal(t); }
bool IsString(const DataType& t) {
  return t.id() == arrow::Type::STRING || t.id() == arrow::Type::LARGE_STRING ||
         t.id() == arrow::Type::STRING_VIEW;
}
bool IsBinary(const DataType& t) {
  return t.id() == arrow::Type::BINARY || t.id() == arrow::Type::LARGE_BINARY ||
         t.id() == arrow::Type::FIXED_SIZE_BINARY;
}
bool IsTimestamp(const DataType& t) { return t.id() == arrow::Type::TIMESTAMP; }
bool IsDate(const DataType& t) {
  return t.id() == arrow::Type::DATE32 || t.id() == arrow::Type::DATE64;
}
bool IsTemporal(const DataType& t) { return IsTimestamp(t) || IsDate(t); }
bool IsBool(const DataType& t) { return t.id() == arrow::Type::BOOL; }
bool IsNullType(const DataType& t) { return t.id() == arrow::Type::NA; }

int IntWidth(const DataType& t) { return t.byte_width() * 8; }

namespace {

TypePtr SignedOfWidth(int bits) {
  switch (bits) {
    case 8:
      return arrow::int8();
    case 16:
      return arrow::int16();
    case 32:
      return arrow::int32();
    default:
      return arrow::int64();
  }
}

}  // namespace

TypePtr CommonType(const TypePtr& a, const TypePtr& b) {
  if (a->Equals(*b)) return a;
  if (IsNullType(*a)) return b;
  if (IsNullType(*b)) return a;
  if (IsInt(*a) && IsInt(*b)) {
    if (IsSignedInt(*a) == IsSignedInt(*b)) {
      return IntWidth(*a) >= IntWidth(*b) ? a : b;
    }
    const DataType& u = IsUnsignedInt(*a) ? *a : *b;
    const DataType& s = IsUnsignedInt(*a) ? *b : *a;
    return SignedOfWidth(std::max(IntWidth(s), std::min(64, 2 * IntWidth(u))));
  }
  if ((IsFloat(*a) && IsNumeric(*b)) || (IsNumeric(*a) && IsFloat(*b))) {
    if (a->id() == arrow::Type::FLOAT && b->id() == arrow::Type::FLOAT) return a;
    return arrow::float64();
  }
  if (IsDecimal(*a) || IsDecimal(*b)) {
    auto digits = [](const DataType& t, int* precision, int* scale) {
      if (IsDecimal(t)) {
        const auto& d = static_cast<const arrow::DecimalType&>(t);
        *precision = d.precision();
        *scale = d.scale();
      } else {  // an integer: enough digits for its range
        *precision = IntWidth(t) == 64 ? 20 : IntWidth(t) == 32 ? 10 : 5;
        *scale = 0;
      }
    };
    if (!(IsNumeric(*a) && IsNumeric(*b))) return nullptr;
    int pa, sa, pb, sb;
    digits(*a, &pa, &sa);
    digits(*b, &pb, &sb);
    int scale = std::max(sa, sb);
    int precision = std::max(pa - sa, pb - sb) + scale;
    if (precision > 76) return nullptr;
    if (precision > 38) return arrow::decimal256(precision, scale);
    return arrow::decimal128(precision, scale);
  }
  if (IsString(*a) && IsString(*b)) {
    return a->id() == arrow::Type::LARGE_STRING || b->id() == arrow::Type::LARGE_STRING
               ? arrow::large_utf8()
               : arrow::utf8();
  }
  if (IsTemporal(*a) && IsTemporal(*b)) {
    if (IsDate(*a) && IsDate(*b)) return arrow::date32();
    const auto* ta =
        IsTimestamp(*a) ? &static_cast<const arrow::TimestampType&>(*a) : nullptr;
    const auto* tb =
        IsTimestamp(*b) ? &static_cast<const arrow::TimestampType&>(*b) : nullptr;
    if (ta && tb && ta->timezone() != tb->timezone()) return nullptr;
    if (ta && tb) return ta->unit() >= tb->unit() ? a : b;
    const auto* t = ta ? ta : tb;  // date with timestamp: the timestamp's type
    if (!t->timezone().empty()) return nullptr;
    return ta ? a : b;
  }
  return nullptr;
}

std::string TypeString(const DataType& t) { return t.ToString(); }

}  // namespace jetflow::expression
