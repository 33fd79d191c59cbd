#include "jetflow/sources/postgres/copy_binary_decoder.h"

#include <arrow/array/data.h>
#include <arrow/buffer_builder.h>
#include <arrow/builder.h>
#include <arrow/type.h>
#include <arrow/util/utf8.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "jetflow/sources/postgres/pg_value_text.h"

namespace jetflow::postgres {

namespace {

// ---------------------------------------------------------------------------------------
// Big-endian reads. Callers check bounds first.

inline uint16_t LoadU16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_bswap16(v);
}
inline uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_bswap32(v);
}
inline uint64_t LoadU64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_bswap64(v);
}
inline int16_t LoadI16(const uint8_t* p) { return static_cast<int16_t>(LoadU16(p)); }
inline int32_t LoadI32(const uint8_t* p) { return static_cast<int32_t>(LoadU32(p)); }
inline int64_t LoadI64(const uint8_t* p) { return static_cast<int64_t>(LoadU64(p)); }

// Bytes of one value, consumed front to back with bounds checks.
class Reader {
 public:
  Reader(const uint8_t* data, int32_t size) : pos_(data), end_(data + size) {}
  bool Has(int64_t n) const { return end_ - pos_ >= n; }
  int64_t remaining() const { return end_ - pos_; }
  const uint8_t* Take(int64_t n) {
    const uint8_t* at = pos_;
    pos_ += n;
    return at;
  }
  int32_t I32() { return LoadI32(Take(4)); }
  uint32_t U32() { return LoadU32(Take(4)); }

 private:
  const uint8_t* pos_;
  const uint8_t* end_;
};

arrow::Status WrongSize(const char* what, int expected, int32_t actual) {
  return arrow::Status::SerializationError(what, " value must be ", expected,
                                           " bytes, got ", actual);
}

arrow::Status Truncated(const char* what) {
  return arrow::Status::SerializationError(what, " value is truncated");
}

// Arrow fixed-width value layouts, as plain structs so TypedBufferBuilder takes them.
struct Decimal128Le {
  uint64_t low;
  int64_t high;
};
static_assert(sizeof(Decimal128Le) == 16);

struct MonthDayNano {
  int32_t months;
  int32_t days;
  int64_t nanoseconds;
};
static_assert(sizeof(MonthDayNano) == 16);

// ---------------------------------------------------------------------------------------
// Values decoded otherwise than the server sent them, because a policy chose so: counted
// per top-level column (a nested value counts for its column), reported by
// value_changes(). Counting happens on the rare path only.

enum class Change : int {
  kNegativeInfinity,  // date / timestamp -infinity (infinity policy)
  kPositiveInfinity,  // date / timestamp infinity (infinity policy)
  kEndOfDay,          // time 24:00:00 (infinity policy)
  kNumericNaN,        // numeric NaN into a decimal column (numeric.on_invalid: null)
  kNumericInfinity,
  kNumericNegativeInfinity,
  kNumericOutOfRange,  // more digits than the decimal holds
  kArrayLowerBound,    // an array whose lower bound is not 1: Arrow lists have none
  kInvalidUtf8,        // text that is not UTF-8 (invalid_utf8: replace)
  kCount,
};
using ChangeTally = std::array<int64_t, static_cast<size_t>(Change::kCount)>;

inline void Count(ChangeTally* tally, Change change) {
  ++(*tally)[static_cast<size_t>(change)];
}

// Whether `type` or a type nested in it (array element, composite field, range subtype)
// is one of `oids`.
bool HasType(const PgType& type, std::initializer_list<uint32_t> oids) {
  if (type.kind == PgType::Kind::kBase) {
    return std::find(oids.begin(), oids.end(), type.oid) != oids.end();
  }
  if (type.element != nullptr && HasType(*type.element, oids)) return true;
  return std::any_of(
      type.fields.begin(), type.fields.end(),
      [&](const PgType::Field& field) { return HasType(*field.type, oids); });
}

// The value a clamped ±infinity of `column` reads as: a date's, a timestamp's, or both
// when the column nests both.
std::string ClampedText(const PgColumn& column, const char* date, const char* timestamp) {
  const bool dates = HasType(column.type, {pg_oid::kDate});
  const bool timestamps =
      HasType(column.type, {pg_oid::kTimestamp, pg_oid::kTimestamptz});
  if (dates && timestamps) return std::string(date) + " (a timestamp: " + timestamp + ")";
  return timestamps ? timestamp : date;
}

// The report of `values` changes of kind `change` in `column` under `options`.
ValueChangeCount DescribeChange(Change change, const PgDecodeOptions& options,
                                const PgColumn& column, int64_t values) {
  const bool clamp = options.infinity == InfinityPolicy::kClamp;
  const char* infinity = clamp ? "clamp" : "null";
  const std::string as_null_infinity = "written as NULL (infinity: null)";
  const std::string as_null_numeric = "written as NULL (numeric.on_invalid: null)";
  ValueChangeCount count{"", column.name, "", "", "", values};
  switch (change) {
    case Change::kNegativeInfinity:
      count.change = "-infinity";
      count.action = infinity;
      count.detail = clamp
                         ? "written as " +
                               ClampedText(column, "0001-01-01", "0001-01-01 00:00:00") +
                               ", like a real value (infinity: clamp)"
                         : as_null_infinity;
      break;
    case Change::kPositiveInfinity:
      count.change = "infinity";
      count.action = infinity;
      count.detail =
          clamp ? "written as " +
                      ClampedText(column, "9999-12-31", "9999-12-31 23:59:59.999999") +
                      ", like a real value (infinity: clamp)"
                : as_null_infinity;
      break;
    case Change::kEndOfDay:
      count.change = "24:00:00";
      count.action = infinity;
      count.detail =
          clamp ? "written as 23:59:59.999999 (infinity: clamp)" : as_null_infinity;
      break;
    case Change::kNumericNaN:
      count.change = "NaN";
      count.action = "null";
      count.detail = as_null_numeric;
      break;
    case Change::kNumericInfinity:
      count.change = "Infinity";
      count.action = "null";
      count.detail = as_null_numeric;
      break;
    case Change::kNumericNegativeInfinity:
      count.change = "-Infinity";
      count.action = "null";
      count.detail = as_null_numeric;
      break;
    case Change::kNumericOutOfRange:
      count.change = "out-of-range";
      count.action = "null";
      count.detail =
          "(more digits than the column's decimal type holds) " + as_null_numeric;
      break;
    case Change::kArrayLowerBound:
      count.change = "offset array";
      count.action = "drop";
      count.detail =
          "(lower bound other than 1) written as lists from index 0: Arrow lists "
          "have no lower bound";
      break;
    case Change::kInvalidUtf8:
      count = sources::InvalidUtf8Replaced("", column.name, values);
      break;
    case Change::kCount:
      break;
  }
  return count;
}

Decimal128Le ToDecimal(__int128 value) {
  return {static_cast<uint64_t>(static_cast<unsigned __int128>(value)),
          static_cast<int64_t>(value >> 64)};
}

// ---------------------------------------------------------------------------------------
// One decoder per column (and per nested child), chosen once by Make().

class ValueDecoder {
 public:
  ValueDecoder(std::shared_ptr<arrow::DataType> type, arrow::MemoryPool* pool)
      : type_(std::move(type)), pool_(pool), validity_(pool) {}
  virtual ~ValueDecoder() = default;

  const std::shared_ptr<arrow::DataType>& type() const { return type_; }

  /// Decodes one non-NULL value of `size` bytes (the field's bytes, without length).
  virtual arrow::Status Append(const uint8_t* data, int32_t size) = 0;

  arrow::Status AppendNull() {
    if (!has_validity_) {
      ARROW_RETURN_NOT_OK(validity_.Append(length_, true));
      has_validity_ = true;
    }
    ARROW_RETURN_NOT_OK(validity_.Append(false));
    ++length_;
    ++null_count_;
    return AppendEmpty();
  }

  /// The values appended since the last Finish(), and a fresh start.
  arrow::Result<std::shared_ptr<arrow::ArrayData>> Finish() {
    std::shared_ptr<arrow::Buffer> validity;
    if (null_count_ > 0) {
      ARROW_RETURN_NOT_OK(validity_.Finish(&validity));
    } else {
      validity_.Reset();
    }
    const int64_t length = length_;
    const int64_t null_count = null_count_;
    length_ = 0;
    null_count_ = 0;
    has_validity_ = false;
    return FinishValues(length, std::move(validity), null_count);
  }

  int64_t bytes() const { return validity_.capacity() + ValueBytes(); }

 protected:
  arrow::Status MarkValid() {
    ++length_;
    if (has_validity_) return validity_.Append(true);
    return arrow::Status::OK();
  }
  /// Fills the value slot of a NULL.
  virtual arrow::Status AppendEmpty() = 0;
  virtual arrow::Result<std::shared_ptr<arrow::ArrayData>> FinishValues(
      int64_t length, std::shared_ptr<arrow::Buffer> validity, int64_t null_count) = 0;
  virtual int64_t ValueBytes() const = 0;

  std::shared_ptr<arrow::DataType> type_;
  arrow::MemoryPool* pool_;

 private:
  arrow::TypedBufferBuilder<bool> validity_;
  int64_t length_ = 0;
  int64_t null_count_ = 0;
  bool has_validity_ = false;
};

// --- Fixed-width values ----------------------------------------------------------------

// `Op` converts kWireSize big-endian bytes to one CType; it may ask for a NULL (a
// policy).
template <typename CType, typename Op>
class FixedWidthDecoder final : public ValueDecoder {
 public:
  FixedWidthDecoder(std::shared_ptr<arrow::DataType> type, arrow::MemoryPool* pool, Op op)
      : ValueDecoder(std::move(type), pool), op_(std::move(op)), values_(pool) {}

  arrow::Status Append(const uint8_t* data, int32_t size) override {
    if (ARROW_PREDICT_FALSE(size != Op::kWireSize)) {
      return WrongSize(Op::kName, Op::kWireSize, size);
    }
    CType value{};
    bool is_null = false;
    ARROW_RETURN_NOT_OK(op_.Decode(data, &value, &is_null));
    if (ARROW_PREDICT_FALSE(is_null)) return AppendNull();
    ARROW_RETURN_NOT_OK(values_.Append(value));
    return MarkValid();
  }

 protected:
  arrow::Status AppendEmpty() override { return values_.Append(CType{}); }
  arrow::Result<std::shared_ptr<arrow::ArrayData>> FinishValues(
      int64_t length, std::shared_ptr<arrow::Buffer> validity,
      int64_t null_count) override {
    std::shared_ptr<arrow::Buffer> values;
    ARROW_RETURN_NOT_OK(values_.Finish(&values));
    return arrow::ArrayData::Make(type_, length, {std::move(validity), std::move(values)},
                                  null_count);
  }
  int64_t ValueBytes() const override { return values_.capacity(); }

 private:
  Op op_;
  arrow::TypedBufferBuilder<CType> values_;
};

template <typename CType, typename WireType, const char* Name>
struct IntegerOp {
  static constexpr int kWireSize = sizeof(WireType);
  static constexpr const char* kName = Name;
  arrow::Status Decode(const uint8_t* data, CType* out, bool*) const {
    if constexpr (sizeof(WireType) == 2) {
      *out = static_cast<CType>(LoadU16(data));
    } else if constexpr (sizeof(WireType) == 4) {
      *out = static_cast<CType>(LoadU32(data));
    } else {
      *out = static_cast<CType>(LoadU64(data));
    }
    return arrow::Status::OK();
  }
};

template <typename Float, typename Bits, const char* Name>
struct FloatOp {
  static constexpr int kWireSize = sizeof(Float);
  static constexpr const char* kName = Name;
  arrow::Status Decode(const uint8_t* data, Float* out, bool*) const {
    Bits bits;
    if constexpr (sizeof(Bits) == 4) {
      bits = LoadU32(data);
    } else {
      bits = LoadU64(data);
    }
    std::memcpy(out, &bits, sizeof bits);
    return arrow::Status::OK();
  }
};

constexpr char kInt2Name[] = "int2";
constexpr char kInt4Name[] = "int4";
constexpr char kInt8Name[] = "int8";
constexpr char kOidName[] = "oid";
constexpr char kFloat4Name[] = "float4";
constexpr char kFloat8Name[] = "float8";

// PostgreSQL dates count days from 2000-01-01, timestamps microseconds from
// 2000-01-01 00:00:00; Arrow counts from 1970-01-01.
constexpr int64_t kPgEpochDays = 10957;
constexpr int64_t kPgEpochMicros = 946684800000000;
constexpr int32_t kDateClampMax = 2932896;                  // 9999-12-31
constexpr int32_t kDateClampMin = -719162;                  // 0001-01-01
constexpr int64_t kTimestampClampMax = 253402300799999999;  // 9999-12-31 23:59:59.999999
constexpr int64_t kTimestampClampMin = -62135596800000000;  // 0001-01-01 00:00:00

arrow::Status InfinityError(const char* what, bool positive) {
  return arrow::Status::Invalid(
      positive ? "" : "-", "infinity ", what,
      " cannot be represented in Arrow (infinity policy: error)");
}

// A value Arrow cannot hold (±infinity, 24:00:00) under the infinity policy: `clamped`,
// null (either counted as `change` in `tally`), or the error make_error() returns.
template <typename T, typename MakeError>
arrow::Status ApplyInfinityPolicy(InfinityPolicy policy, T clamped, T* out, bool* is_null,
                                  ChangeTally* tally, Change change,
                                  MakeError make_error) {
  switch (policy) {
    case InfinityPolicy::kClamp:
      *out = clamped;
      Count(tally, change);
      return arrow::Status::OK();
    case InfinityPolicy::kNull:
      *is_null = true;
      Count(tally, change);
      return arrow::Status::OK();
    case InfinityPolicy::kError:
      break;
  }
  return make_error();
}

struct DateOp {
  static constexpr int kWireSize = 4;
  static constexpr const char* kName = "date";
  InfinityPolicy policy;
  ChangeTally* tally;
  arrow::Status Decode(const uint8_t* data, int32_t* out, bool* is_null) const {
    const int32_t days = LoadI32(data);
    if (ARROW_PREDICT_FALSE(days == std::numeric_limits<int32_t>::max() ||
                            days == std::numeric_limits<int32_t>::min())) {
      const bool positive = days > 0;
      return ApplyInfinityPolicy(
          policy, positive ? kDateClampMax : kDateClampMin, out, is_null, tally,
          positive ? Change::kPositiveInfinity : Change::kNegativeInfinity,
          [&] { return InfinityError("date", positive); });
    }
    const int64_t shifted = int64_t{days} + kPgEpochDays;
    if (ARROW_PREDICT_FALSE(shifted > std::numeric_limits<int32_t>::max())) {
      return arrow::Status::SerializationError("date value ", days, " is out of range");
    }
    *out = static_cast<int32_t>(shifted);
    return arrow::Status::OK();
  }
};

struct TimestampOp {
  static constexpr int kWireSize = 8;
  static constexpr const char* kName = "timestamp";
  InfinityPolicy policy;
  ChangeTally* tally;
  arrow::Status Decode(const uint8_t* data, int64_t* out, bool* is_null) const {
    const int64_t micros = LoadI64(data);
    if (ARROW_PREDICT_FALSE(micros == std::numeric_limits<int64_t>::max() ||
                            micros == std::numeric_limits<int64_t>::min())) {
      const bool positive = micros > 0;
      return ApplyInfinityPolicy(
          policy, positive ? kTimestampClampMax : kTimestampClampMin, out, is_null, tally,
          positive ? Change::kPositiveInfinity : Change::kNegativeInfinity,
          [&] { return InfinityError("timestamp", positive); });
    }
    if (ARROW_PREDICT_FALSE(__builtin_add_overflow(micros, kPgEpochMicros, out))) {
      return arrow::Status::Invalid("timestamp ", micros,
                                    " us after 2000-01-01 is beyond the range of Arrow "
                                    "timestamps (microseconds since 1970 in 64 bits)");
    }
    return arrow::Status::OK();
  }
};

constexpr int64_t kMicrosPerDay = 86400000000;

// Arrow times are below 24:00:00; PostgreSQL's end-of-day time 24:00:00 follows the
// infinity policy (clamped to 23:59:59.999999).
struct TimeOp {
  static constexpr int kWireSize = 8;
  static constexpr const char* kName = "time";
  InfinityPolicy policy;
  ChangeTally* tally;
  arrow::Status Decode(const uint8_t* data, int64_t* out, bool* is_null) const {
    *out = LoadI64(data);
    if (ARROW_PREDICT_FALSE(*out < 0 || *out > kMicrosPerDay)) {
      return arrow::Status::SerializationError("time value ", *out,
                                               " is not a time of day");
    }
    if (ARROW_PREDICT_FALSE(*out == kMicrosPerDay)) {
      return ApplyInfinityPolicy(
          policy, kMicrosPerDay - 1, out, is_null, tally, Change::kEndOfDay, [] {
            return arrow::Status::Invalid(
                "time 24:00:00 cannot be represented in Arrow (infinity policy: error)");
          });
    }
    return arrow::Status::OK();
  }
};

struct IntervalOp {
  static constexpr int kWireSize = 16;
  static constexpr const char* kName = "interval";
  arrow::Status Decode(const uint8_t* data, MonthDayNano* out, bool*) const {
    const int64_t micros = LoadI64(data);
    out->days = LoadI32(data + 8);
    out->months = LoadI32(data + 12);
    if (ARROW_PREDICT_FALSE(__builtin_mul_overflow(micros, 1000, &out->nanoseconds))) {
      return arrow::Status::Invalid("interval time part of ", micros,
                                    " microseconds does not fit Arrow's nanoseconds");
    }
    return arrow::Status::OK();
  }
};

struct MoneyOp {
  static constexpr int kWireSize = 8;
  static constexpr const char* kName = "money";
  arrow::Status Decode(const uint8_t* data, Decimal128Le* out, bool*) const {
    *out = ToDecimal(LoadI64(data));
    return arrow::Status::OK();
  }
};

class BooleanDecoder final : public ValueDecoder {
 public:
  BooleanDecoder(std::shared_ptr<arrow::DataType> type, arrow::MemoryPool* pool)
      : ValueDecoder(std::move(type), pool), values_(pool) {}
  arrow::Status Append(const uint8_t* data, int32_t size) override {
    if (ARROW_PREDICT_FALSE(size != 1)) return WrongSize("bool", 1, size);
    ARROW_RETURN_NOT_OK(values_.Append(data[0] != 0));
    return MarkValid();
  }

 protected:
  arrow::Status AppendEmpty() override { return values_.Append(false); }
  arrow::Result<std::shared_ptr<arrow::ArrayData>> FinishValues(
      int64_t length, std::shared_ptr<arrow::Buffer> validity,
      int64_t null_count) override {
    std::shared_ptr<arrow::Buffer> values;
    ARROW_RETURN_NOT_OK(values_.Finish(&values));
    return arrow::ArrayData::Make(type_, length, {std::move(validity), std::move(values)},
                                  null_count);
  }
  int64_t ValueBytes() const override { return values_.capacity(); }

 private:
  arrow::TypedBufferBuilder<bool> values_;
};

// uuid: 16 raw bytes into fixed_size_binary(16) storage of the arrow.uuid type.
class UuidDecoder final : public ValueDecoder {
 public:
  UuidDecoder(std::shared_ptr<arrow::DataType> type, arrow::MemoryPool* pool)
      : ValueDecoder(std::move(type), pool), values_(pool) {}
  arrow::Status Append(const uint8_t* data, int32_t size) override {
    if (ARROW_PREDICT_FALSE(size != 16)) return WrongSize("uuid", 16, size);
    ARROW_RETURN_NOT_OK(values_.Append(data, 16));
    return MarkValid();
  }

 protected:
  arrow::Status AppendEmpty() override { return values_.Append(16, 0); }
  arrow::Result<std::shared_ptr<arrow::ArrayData>> FinishValues(
      int64_t length, std::shared_ptr<arrow::Buffer> validity,
      int64_t null_count) override {
    std::shared_ptr<arrow::Buffer> values;
    ARROW_RETURN_NOT_OK(values_.Finish(&values));
    return arrow::ArrayData::Make(type_, length, {std::move(validity), std::move(values)},
                                  null_count);
  }
  int64_t ValueBytes() const override { return values_.capacity(); }

 private:
  arrow::TypedBufferBuilder<uint8_t> values_;
};

// --- numeric
// -----------------------------------------------------------------------------

constexpr uint16_t kNumericPos = 0x0000;
constexpr uint16_t kNumericNeg = 0x4000;
constexpr uint16_t kNumericNaN = 0xC000;
constexpr uint16_t kNumericPinf = 0xD000;
constexpr uint16_t kNumericNinf = 0xF000;

// The header and digits of a numeric value, validated.
struct NumericValue {
  int16_t ndigits;
  int16_t weight;
  uint16_t sign;
  int16_t dscale;
  const uint8_t* digits;  // ndigits big-endian int16

  int16_t digit(int i) const { return LoadI16(digits + ptrdiff_t{2} * i); }
  bool special() const { return sign != kNumericPos && sign != kNumericNeg; }
};

arrow::Status ParseNumeric(const uint8_t* data, int32_t size, NumericValue* out) {
  if (ARROW_PREDICT_FALSE(size < 8)) return Truncated("numeric");
  out->ndigits = LoadI16(data);
  out->weight = LoadI16(data + 2);
  out->sign = LoadU16(data + 4);
  out->dscale = LoadI16(data + 6);
  out->digits = data + 8;
  if (ARROW_PREDICT_FALSE(out->ndigits < 0 || size != 8 + 2 * int32_t{out->ndigits})) {
    return arrow::Status::SerializationError("numeric value with ", out->ndigits,
                                             " digits must be ", 8 + 2 * out->ndigits,
                                             " bytes, got ", size);
  }
  if (ARROW_PREDICT_FALSE(out->sign != kNumericPos && out->sign != kNumericNeg &&
                          out->sign != kNumericNaN && out->sign != kNumericPinf &&
                          out->sign != kNumericNinf)) {
    return arrow::Status::SerializationError("numeric value has an invalid sign word 0x",
                                             std::to_string(out->sign));
  }
  if (ARROW_PREDICT_FALSE(out->dscale < 0)) {
    return arrow::Status::SerializationError("numeric value has a negative scale ",
                                             out->dscale);
  }
  for (int i = 0; i < out->ndigits; ++i) {
    const int16_t d = out->digit(i);
    if (ARROW_PREDICT_FALSE(d < 0 || d > 9999)) {
      return arrow::Status::SerializationError("numeric value has an invalid digit ", d);
    }
  }
  return arrow::Status::OK();
}

std::string NumericText(const NumericValue& value) {
  std::vector<int16_t> digits(value.ndigits);
  for (int i = 0; i < value.ndigits; ++i) digits[i] = value.digit(i);
  std::string text(
      static_cast<size_t>(NumericTextMaxSize(value.ndigits, value.weight, value.dscale)),
      '\0');
  text.resize(WriteNumericText(digits.data(), value.ndigits, value.weight, value.sign,
                               value.dscale, text.data()));
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

constexpr __int128 Pow10(int n) {
  __int128 value = 1;
  for (int i = 0; i < n; ++i) value *= 10;
  return value;
}
constexpr auto kPow10 = [] {
  std::array<__int128, 39> table{};
  for (int i = 0; i <= 38; ++i) table[i] = Pow10(i);
  return table;
}();

struct NumericDecimalOp {
  static constexpr int kWireSize = -1;
  int32_t precision;
  int32_t scale;
  NumericOptions::OnInvalid on_invalid;
  ChangeTally* tally;

  // The unscaled value at `scale`, or false if it does not fit decimal(precision, scale).
  bool ToUnscaled(const NumericValue& value, __int128* out) const {
    const __int128 limit = kPow10[precision];
    __int128 acc = 0;
    for (int i = 0; i < value.ndigits; ++i) {
      const int d = value.digit(i);
      if (d == 0) continue;
      // Power of ten of this digit group's last decimal digit, relative to 10^-scale.
      const int exponent = 4 * (value.weight - i) + scale;
      if (exponent >= 0) {
        if (exponent > 38 || kPow10[exponent] > limit / d) return false;
        acc += d * kPow10[exponent];
        if (acc >= limit) return false;
      } else {
        if (exponent <= -4) return false;  // digits beyond the scale
        const int divisor = static_cast<int>(kPow10[-exponent]);
        if (d % divisor != 0) return false;
        acc += d / divisor;
        if (acc >= limit) return false;
      }
    }
    *out = value.sign == kNumericNeg ? -acc : acc;
    return true;
  }

  arrow::Status Decode(const uint8_t* data, int32_t size, Decimal128Le* out,
                       bool* is_null) const {
    NumericValue value;
    ARROW_RETURN_NOT_OK(ParseNumeric(data, size, &value));
    __int128 unscaled;
    if (ARROW_PREDICT_TRUE(!value.special() && ToUnscaled(value, &unscaled))) {
      *out = ToDecimal(unscaled);
      return arrow::Status::OK();
    }
    if (on_invalid == NumericOptions::OnInvalid::kNull) {
      *is_null = true;
      Count(tally, value.sign == kNumericNaN    ? Change::kNumericNaN
                   : value.sign == kNumericPinf ? Change::kNumericInfinity
                   : value.sign == kNumericNinf ? Change::kNumericNegativeInfinity
                                                : Change::kNumericOutOfRange);
      return arrow::Status::OK();
    }
    return arrow::Status::Invalid("numeric value ", NumericText(value), " does not fit ",
                                  "decimal128(", precision, ",", scale,
                                  ") (numeric on_invalid policy: error)");
  }
};

class NumericDecimalDecoder final : public ValueDecoder {
 public:
  NumericDecimalDecoder(std::shared_ptr<arrow::DataType> type, arrow::MemoryPool* pool,
                        NumericDecimalOp op)
      : ValueDecoder(std::move(type), pool), op_(op), values_(pool) {}
  arrow::Status Append(const uint8_t* data, int32_t size) override {
    Decimal128Le value;
    bool is_null = false;
    ARROW_RETURN_NOT_OK(op_.Decode(data, size, &value, &is_null));
    if (ARROW_PREDICT_FALSE(is_null)) return AppendNull();
    ARROW_RETURN_NOT_OK(values_.Append(value));
    return MarkValid();
  }

 protected:
  arrow::Status AppendEmpty() override { return values_.Append(Decimal128Le{0, 0}); }
  arrow::Result<std::shared_ptr<arrow::ArrayData>> FinishValues(
      int64_t length, std::shared_ptr<arrow::Buffer> validity,
      int64_t null_count) override {
    std::shared_ptr<arrow::Buffer> values;
    ARROW_RETURN_NOT_OK(values_.Finish(&values));
    return arrow::ArrayData::Make(type_, length, {std::move(validity), std::move(values)},
                                  null_count);
  }
  int64_t ValueBytes() const override { return values_.capacity(); }

 private:
  NumericDecimalOp op_;
  arrow::TypedBufferBuilder<Decimal128Le> values_;
};

// --- Variable-width values (utf8 / binary)
// ----------------------------------------------

class VarWidthDecoder : public ValueDecoder {
 public:
  VarWidthDecoder(std::shared_ptr<arrow::DataType> type, arrow::MemoryPool* pool)
      : ValueDecoder(std::move(type), pool), offsets_(pool), data_(pool) {
    (void)offsets_.Append(0);
  }

 protected:
  arrow::Status AppendBytes(const uint8_t* data, int64_t size) {
    ARROW_RETURN_NOT_OK(CheckCapacity(size));
    ARROW_RETURN_NOT_OK(data_.Append(data, size));
    ARROW_RETURN_NOT_OK(offsets_.Append(static_cast<int32_t>(data_.length())));
    return MarkValid();
  }
  /// Room for `max_size` bytes of formatted text; then Commit(bytes written).
  arrow::Result<char*> Begin(int64_t max_size) {
    ARROW_RETURN_NOT_OK(CheckCapacity(max_size));
    ARROW_RETURN_NOT_OK(data_.Reserve(max_size));
    return reinterpret_cast<char*>(data_.mutable_data() + data_.length());
  }
  arrow::Status Commit(int64_t written) {
    data_.UnsafeAdvance(written);
    ARROW_RETURN_NOT_OK(offsets_.Append(static_cast<int32_t>(data_.length())));
    return MarkValid();
  }
  arrow::Status AppendEmpty() override {
    return offsets_.Append(static_cast<int32_t>(data_.length()));
  }
  arrow::Result<std::shared_ptr<arrow::ArrayData>> FinishValues(
      int64_t length, std::shared_ptr<arrow::Buffer> validity,
      int64_t null_count) override {
    std::shared_ptr<arrow::Buffer> offsets;
    std::shared_ptr<arrow::Buffer> data;
    ARROW_RETURN_NOT_OK(offsets_.Finish(&offsets));
    ARROW_RETURN_NOT_OK(data_.Finish(&data));
    ARROW_RETURN_NOT_OK(offsets_.Append(0));
    return arrow::ArrayData::Make(
        type_, length, {std::move(validity), std::move(offsets), std::move(data)},
        null_count);
  }
  int64_t ValueBytes() const override { return offsets_.capacity() + data_.capacity(); }

 private:
  arrow::Status CheckCapacity(int64_t size) const {
    if (ARROW_PREDICT_FALSE(data_.length() + size >
                            std::numeric_limits<int32_t>::max())) {
      return arrow::Status::CapacityError(
          "more than 2 GiB of string data in one batch; flush batches earlier");
    }
    return arrow::Status::OK();
  }

  arrow::TypedBufferBuilder<int32_t> offsets_;
  arrow::BufferBuilder data_;
};

// A text value that is not valid UTF-8 under `invalid_utf8: error`; the stream's
// WithContext turns it into the message naming the column and the option.
class InvalidUtf8Detail : public arrow::StatusDetail {
 public:
  static constexpr const char* kTypeId = "jetflow::postgres::InvalidUtf8Detail";
  explicit InvalidUtf8Detail(sources::InvalidUtf8Position position)
      : position_(position) {}
  const char* type_id() const override { return kTypeId; }
  std::string ToString() const override { return "invalid UTF-8"; }
  sources::InvalidUtf8Position position() const { return position_; }

 private:
  sources::InvalidUtf8Position position_;
};

// text, varchar, bpchar, name, json, jsonb: the server's text as is. It is UTF-8 (the
// session's client_encoding) unless the database is SQL_ASCII, which stores and sends
// any bytes: the column's `invalid_utf8` policy then applies (binary: not checked).
class TextDecoder final : public VarWidthDecoder {
 public:
  TextDecoder(std::shared_ptr<arrow::DataType> type, arrow::MemoryPool* pool,
              bool is_jsonb, sources::InvalidUtf8 policy, ChangeTally* tally)
      : VarWidthDecoder(std::move(type), pool),
        is_jsonb_(is_jsonb),
        policy_(policy),
        tally_(tally) {}
  arrow::Status Append(const uint8_t* data, int32_t size) override {
    if (is_jsonb_) {
      // jsonb_send: a version byte (1), then the JSON text.
      if (ARROW_PREDICT_FALSE(size < 1 || data[0] != 1)) {
        return arrow::Status::SerializationError(
            "jsonb value must start with format version 1, got ",
            size < 1 ? std::string("nothing") : std::to_string(data[0]));
      }
      ++data;
      --size;
    }
    if (ARROW_PREDICT_FALSE(policy_ != sources::InvalidUtf8::kBinary &&
                            !arrow::util::ValidateUTF8(data, size))) {
      return AppendInvalid(data, size);
    }
    return AppendBytes(data, size);
  }

 private:
  arrow::Status AppendInvalid(const uint8_t* data, int32_t size) {
    const auto position = sources::FindInvalidUtf8(data, size);
    if (policy_ == sources::InvalidUtf8::kError || !position) {
      return arrow::Status(arrow::StatusCode::Invalid, "text value is not valid UTF-8",
                           std::make_shared<InvalidUtf8Detail>(position.value_or(
                               sources::InvalidUtf8Position{0, data[0]})));
    }
    ARROW_ASSIGN_OR_RAISE(char* out, Begin(sources::MaxReplacedSize(size)));
    Count(tally_, Change::kInvalidUtf8);
    return Commit(
        sources::ReplaceInvalidUtf8(data, size, reinterpret_cast<uint8_t*>(out)));
  }

  bool is_jsonb_;
  sources::InvalidUtf8 policy_;
  ChangeTally* tally_;
};

class ByteaDecoder final : public VarWidthDecoder {
 public:
  using VarWidthDecoder::VarWidthDecoder;
  arrow::Status Append(const uint8_t* data, int32_t size) override {
    return AppendBytes(data, size);
  }
};

class NumericTextDecoder final : public VarWidthDecoder {
 public:
  using VarWidthDecoder::VarWidthDecoder;
  arrow::Status Append(const uint8_t* data, int32_t size) override {
    NumericValue value;
    ARROW_RETURN_NOT_OK(ParseNumeric(data, size, &value));
    // Digits in host order on the stack for the common case.
    int16_t local[64];
    std::vector<int16_t> heap;
    int16_t* digits = local;
    if (value.ndigits > 64) {
      heap.resize(value.ndigits);
      digits = heap.data();
    }
    for (int i = 0; i < value.ndigits; ++i) digits[i] = value.digit(i);
    ARROW_ASSIGN_OR_RAISE(
        char* out, Begin(NumericTextMaxSize(value.ndigits, value.weight, value.dscale)));
    return Commit(static_cast<int64_t>(WriteNumericText(
        digits, value.ndigits, value.weight, value.sign, value.dscale, out)));
  }
};

class InetDecoder final : public VarWidthDecoder {
 public:
  using VarWidthDecoder::VarWidthDecoder;
  arrow::Status Append(const uint8_t* data, int32_t size) override {
    // inet_send: family, bits, is_cidr, address length, address bytes.
    if (ARROW_PREDICT_FALSE(size < 4)) return Truncated("inet");
    const int family = data[0];
    const int bits = data[1];
    const int length = data[3];
    const int expected = family == 2 ? 4 : family == 3 ? 16 : -1;
    if (ARROW_PREDICT_FALSE(expected < 0 || length != expected || size != 4 + length ||
                            bits > expected * 8 || data[2] > 1)) {
      return arrow::Status::SerializationError("inet value is malformed (family ", family,
                                               ", ", bits, " bits, ", length,
                                               " address bytes in ", size, " bytes)");
    }
    ARROW_ASSIGN_OR_RAISE(char* out, Begin(kInetTextMaxSize));
    return Commit(
        static_cast<int64_t>(WriteInetText(family, bits, data[2] != 0, data + 4, out)));
  }
};

class MacDecoder final : public VarWidthDecoder {
 public:
  MacDecoder(std::shared_ptr<arrow::DataType> type, arrow::MemoryPool* pool, int size)
      : VarWidthDecoder(std::move(type), pool), size_(size) {}
  arrow::Status Append(const uint8_t* data, int32_t size) override {
    if (ARROW_PREDICT_FALSE(size != size_)) {
      return WrongSize(size_ == 6 ? "macaddr" : "macaddr8", size_, size);
    }
    ARROW_ASSIGN_OR_RAISE(char* out, Begin(int64_t{3} * size_));
    return Commit(static_cast<int64_t>(WriteMacText(data, size_, out)));
  }

 private:
  int size_;
};

class BitDecoder final : public VarWidthDecoder {
 public:
  using VarWidthDecoder::VarWidthDecoder;
  arrow::Status Append(const uint8_t* data, int32_t size) override {
    // bit_send / varbit_send: int32 bit count, then the bits, padded to whole bytes.
    if (ARROW_PREDICT_FALSE(size < 4)) return Truncated("bit");
    const int32_t bits = LoadI32(data);
    if (ARROW_PREDICT_FALSE(bits < 0 || (int64_t{bits} + 7) / 8 != size - 4)) {
      return arrow::Status::SerializationError(
          "bit string of ", bits, " bits does not match its ", size - 4, " bytes");
    }
    ARROW_ASSIGN_OR_RAISE(char* out, Begin(bits));
    return Commit(static_cast<int64_t>(WriteBitText(data + 4, bits, out)));
  }
};

class TimetzDecoder final : public VarWidthDecoder {
 public:
  using VarWidthDecoder::VarWidthDecoder;
  arrow::Status Append(const uint8_t* data, int32_t size) override {
    if (ARROW_PREDICT_FALSE(size != 12)) return WrongSize("timetz", 12, size);
    const int64_t micros = LoadI64(data);
    const int32_t zone = LoadI32(data + 8);
    // PostgreSQL limits offsets to 15:59:59 (TZDISP_LIMIT); allow any under 100 hours.
    if (ARROW_PREDICT_FALSE(micros < 0 || micros > kMicrosPerDay || zone <= -360000 ||
                            zone >= 360000)) {
      return arrow::Status::SerializationError("timetz value (", micros, " us, zone ",
                                               zone, " s) is out of range");
    }
    ARROW_ASSIGN_OR_RAISE(char* out, Begin(kTimetzTextMaxSize));
    return Commit(static_cast<int64_t>(WriteTimetzText(micros, zone, out)));
  }
};

// --- enum
// ---------------------------------------------------------------------------------

// enum_send sends the label; the column is a dictionary over the labels in sort order.
class EnumDecoder final : public ValueDecoder {
 public:
  EnumDecoder(std::shared_ptr<arrow::DataType> type, arrow::MemoryPool* pool,
              std::vector<std::string> labels,
              std::shared_ptr<arrow::ArrayData> dictionary)
      : ValueDecoder(std::move(type), pool),
        labels_(std::move(labels)),
        dictionary_(std::move(dictionary)),
        indices_(pool) {
    for (size_t i = 0; i < labels_.size(); ++i) {
      index_.emplace(std::string_view(labels_[i]), static_cast<int32_t>(i));
    }
  }

  static arrow::Result<std::unique_ptr<ValueDecoder>> Make(
      std::shared_ptr<arrow::DataType> type, arrow::MemoryPool* pool,
      const std::vector<std::string>& labels) {
    arrow::StringBuilder builder(pool);
    ARROW_RETURN_NOT_OK(builder.AppendValues(labels));
    std::shared_ptr<arrow::Array> dictionary;
    ARROW_RETURN_NOT_OK(builder.Finish(&dictionary));
    return std::make_unique<EnumDecoder>(std::move(type), pool, labels,
                                         dictionary->data());
  }

  arrow::Status Append(const uint8_t* data, int32_t size) override {
    auto it = index_.find(std::string_view(reinterpret_cast<const char*>(data), size));
    if (ARROW_PREDICT_FALSE(it == index_.end())) {
      std::string label(reinterpret_cast<const char*>(data), std::min<size_t>(size, 64));
      return arrow::Status::Invalid("enum label '", label,
                                    "' is not one of the labels read at plan time");
    }
    ARROW_RETURN_NOT_OK(indices_.Append(it->second));
    return MarkValid();
  }

 protected:
  arrow::Status AppendEmpty() override { return indices_.Append(0); }
  arrow::Result<std::shared_ptr<arrow::ArrayData>> FinishValues(
      int64_t length, std::shared_ptr<arrow::Buffer> validity,
      int64_t null_count) override {
    std::shared_ptr<arrow::Buffer> indices;
    ARROW_RETURN_NOT_OK(indices_.Finish(&indices));
    auto data = arrow::ArrayData::Make(
        type_, length, {std::move(validity), std::move(indices)}, null_count);
    data->dictionary = dictionary_;
    return data;
  }
  int64_t ValueBytes() const override { return indices_.capacity(); }

 private:
  std::vector<std::string> labels_;
  std::unordered_map<std::string_view, int32_t> index_;
  std::shared_ptr<arrow::ArrayData> dictionary_;
  arrow::TypedBufferBuilder<int32_t> indices_;
};

arrow::Result<std::unique_ptr<ValueDecoder>> MakeValueDecoder(
    const PgType& type, const PgDecodeOptions& options, arrow::MemoryPool* pool,
    ChangeTally* tally);

bool WireOidMatches(const PgType& type, uint32_t oid) {
  return oid == type.oid || (type.domain_oid != 0 && oid == type.domain_oid);
}

// --- arrays
// -------------------------------------------------------------------------------

// array_send: ndim, has-nulls flag, element OID, (size, lower bound) per dimension, then
// every element as int32 length (-1 for NULL) and bytes, in row-major order. A column of
// `depth` dimensions is list<...list<element>> `depth` deep; the lower bounds are not
// kept (Arrow lists start at 0).
class ArrayDecoder final : public ValueDecoder {
 public:
  ArrayDecoder(std::shared_ptr<arrow::DataType> type, arrow::MemoryPool* pool,
               const PgType* element_type, std::unique_ptr<ValueDecoder> element,
               int depth, ChangeTally* tally)
      : ValueDecoder(std::move(type), pool),
        element_type_(element_type),
        element_(std::move(element)),
        depth_(depth),
        tally_(tally),
        ends_(depth, 0),
        lists_(depth, 0) {
    for (int i = 0; i < depth; ++i) {
      offsets_.emplace_back(pool);
      (void)offsets_.back().Append(0);
    }
  }

  arrow::Status Append(const uint8_t* data, int32_t size) override {
    Reader reader(data, size);
    if (ARROW_PREDICT_FALSE(!reader.Has(12))) return Truncated("array");
    const int32_t ndim = reader.I32();
    const int32_t flags = reader.I32();
    const uint32_t element_oid = reader.U32();
    if (ARROW_PREDICT_FALSE(ndim < 0 || ndim > 6 || (flags & ~1) != 0)) {
      return arrow::Status::SerializationError("array header is malformed (", ndim,
                                               " dimensions, flags ", flags, ")");
    }
    if (ndim == 0) {  // an empty array, of any dimension
      ARROW_RETURN_NOT_OK(AppendLists(0, 1, 0));
      return MarkValid();
    }
    if (ARROW_PREDICT_FALSE(!WireOidMatches(*element_type_, element_oid))) {
      return arrow::Status::SerializationError(
          "array element type OID ", element_oid, " is not the column's element type ",
          element_type_->name, " (OID ", element_type_->oid, ")");
    }
    if (ARROW_PREDICT_FALSE(ndim != depth_)) {
      return arrow::Status::Invalid(
          "array value has ", ndim, " dimensions but the column is read as ", depth_,
          "-dimensional (PostgreSQL does not enforce an array column's dimensions; "
          "declare them with the consumer's array_dimensions: {<column>: ",
          ndim, "})");
    }
    if (ARROW_PREDICT_FALSE(!reader.Has(8 * int64_t{ndim}))) return Truncated("array");
    int32_t dims[6];
    int64_t total = 1;
    bool offset = false;  // a lower bound other than 1, which the lists cannot keep
    for (int i = 0; i < ndim; ++i) {
      dims[i] = reader.I32();
      if (reader.I32() != 1) offset = true;
      if (ARROW_PREDICT_FALSE(dims[i] < 0)) {
        return arrow::Status::SerializationError("array dimension ", i + 1,
                                                 " has negative size ", dims[i]);
      }
      total *= dims[i];
      // Every element takes at least its 4-byte length: bounds the loops below.
      if (ARROW_PREDICT_FALSE(total > reader.remaining() / 4 + 1)) {
        return arrow::Status::SerializationError(
            "array dimensions exceed the value's size");
      }
    }
    int64_t lists = 1;
    for (int level = 0; level < ndim; ++level) {
      ARROW_RETURN_NOT_OK(AppendLists(level, lists, dims[level]));
      lists *= dims[level];
    }
    for (int64_t i = 0; i < total; ++i) {
      if (ARROW_PREDICT_FALSE(!reader.Has(4))) return Truncated("array");
      const int32_t length = reader.I32();
      if (length == -1) {
        ARROW_RETURN_NOT_OK(element_->AppendNull());
        continue;
      }
      if (ARROW_PREDICT_FALSE(length < 0 || !reader.Has(length))) {
        return arrow::Status::SerializationError("array element ", i, " has length ",
                                                 length, " past the value's end");
      }
      ARROW_RETURN_NOT_OK(element_->Append(reader.Take(length), length));
    }
    if (ARROW_PREDICT_FALSE(reader.remaining() != 0)) {
      return arrow::Status::SerializationError("array value has ", reader.remaining(),
                                               " bytes after its last element");
    }
    if (ARROW_PREDICT_FALSE(offset)) Count(tally_, Change::kArrayLowerBound);
    return MarkValid();
  }

 protected:
  arrow::Status AppendEmpty() override { return AppendLists(0, 1, 0); }

  arrow::Result<std::shared_ptr<arrow::ArrayData>> FinishValues(
      int64_t length, std::shared_ptr<arrow::Buffer> validity,
      int64_t null_count) override {
    ARROW_ASSIGN_OR_RAISE(auto child, element_->Finish());
    std::vector<std::shared_ptr<arrow::DataType>> types;
    std::shared_ptr<arrow::DataType> type = type_;
    for (int level = 0; level < depth_; ++level) {
      types.push_back(type);
      type = type->field(0)->type();
    }
    for (int level = depth_ - 1; level >= 0; --level) {
      std::shared_ptr<arrow::Buffer> offsets;
      ARROW_RETURN_NOT_OK(offsets_[level].Finish(&offsets));
      ARROW_RETURN_NOT_OK(offsets_[level].Append(0));
      const int64_t lists = level == 0 ? length : lists_[level];
      child = arrow::ArrayData::Make(
          types[level], lists,
          {level == 0 ? std::move(validity) : nullptr, std::move(offsets)},
          {std::move(child)}, level == 0 ? null_count : 0);
      ends_[level] = 0;
      lists_[level] = 0;
    }
    return child;
  }

  int64_t ValueBytes() const override {
    int64_t bytes = element_->bytes();
    for (const auto& offsets : offsets_) bytes += offsets.capacity();
    return bytes;
  }

 private:
  // `count` lists of `size` items each at `level`.
  arrow::Status AppendLists(int level, int64_t count, int32_t size) {
    auto& offsets = offsets_[level];
    ARROW_RETURN_NOT_OK(offsets.Reserve(count));
    for (int64_t i = 0; i < count; ++i) {
      ends_[level] += size;
      if (ARROW_PREDICT_FALSE(ends_[level] > std::numeric_limits<int32_t>::max())) {
        return arrow::Status::CapacityError(
            "more than 2^31 array elements in one batch; flush batches earlier");
      }
      offsets.UnsafeAppend(static_cast<int32_t>(ends_[level]));
    }
    lists_[level] += count;
    return arrow::Status::OK();
  }

  const PgType* element_type_;
  std::unique_ptr<ValueDecoder> element_;
  int depth_;
  ChangeTally* tally_;
  std::vector<arrow::TypedBufferBuilder<int32_t>> offsets_;  // per level
  std::vector<int64_t> ends_;   // per level: items of the next level so far
  std::vector<int64_t> lists_;  // per level: lists so far (level 0: unused)
};

// --- composite and range
// ------------------------------------------------------------------

// record_send: field count, then per field its type OID, int32 length (-1 for NULL) and
// bytes.
class CompositeDecoder final : public ValueDecoder {
 public:
  CompositeDecoder(std::shared_ptr<arrow::DataType> type, arrow::MemoryPool* pool,
                   const PgType* pg_type,
                   std::vector<std::unique_ptr<ValueDecoder>> fields)
      : ValueDecoder(std::move(type), pool),
        pg_type_(pg_type),
        fields_(std::move(fields)) {}

  arrow::Status Append(const uint8_t* data, int32_t size) override {
    Reader reader(data, size);
    if (ARROW_PREDICT_FALSE(!reader.Has(4))) return Truncated("composite");
    const int32_t count = reader.I32();
    if (ARROW_PREDICT_FALSE(count != static_cast<int32_t>(fields_.size()))) {
      return arrow::Status::SerializationError("composite value of type ", pg_type_->name,
                                               " has ", count, " fields, expected ",
                                               fields_.size());
    }
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (ARROW_PREDICT_FALSE(!reader.Has(8))) return Truncated("composite");
      const uint32_t oid = reader.U32();
      const int32_t length = reader.I32();
      const PgType& field_type = *pg_type_->fields[i].type;
      if (ARROW_PREDICT_FALSE(!WireOidMatches(field_type, oid))) {
        return arrow::Status::SerializationError(
            "composite field '", pg_type_->fields[i].name, "' has type OID ", oid,
            ", expected ", field_type.name, " (OID ", field_type.oid, ")");
      }
      if (length == -1) {
        ARROW_RETURN_NOT_OK(fields_[i]->AppendNull());
        continue;
      }
      if (ARROW_PREDICT_FALSE(length < 0 || !reader.Has(length))) {
        return arrow::Status::SerializationError(
            "composite field '", pg_type_->fields[i].name, "' has length ", length,
            " past the value's end");
      }
      ARROW_RETURN_NOT_OK(fields_[i]->Append(reader.Take(length), length));
    }
    if (ARROW_PREDICT_FALSE(reader.remaining() != 0)) {
      return arrow::Status::SerializationError("composite value has ", reader.remaining(),
                                               " bytes after its last field");
    }
    return MarkValid();
  }

 protected:
  arrow::Status AppendEmpty() override {
    for (auto& field : fields_) ARROW_RETURN_NOT_OK(field->AppendNull());
    return arrow::Status::OK();
  }
  arrow::Result<std::shared_ptr<arrow::ArrayData>> FinishValues(
      int64_t length, std::shared_ptr<arrow::Buffer> validity,
      int64_t null_count) override {
    std::vector<std::shared_ptr<arrow::ArrayData>> children;
    for (auto& field : fields_) {
      ARROW_ASSIGN_OR_RAISE(auto child, field->Finish());
      children.push_back(std::move(child));
    }
    return arrow::ArrayData::Make(type_, length, {std::move(validity)},
                                  std::move(children), null_count);
  }
  int64_t ValueBytes() const override {
    int64_t bytes = 0;
    for (const auto& field : fields_) bytes += field->bytes();
    return bytes;
  }

 private:
  const PgType* pg_type_;
  std::vector<std::unique_ptr<ValueDecoder>> fields_;
};

// range_send: a flags byte, then the lower and upper bounds that exist, each as int32
// length and bytes.
class RangeDecoder final : public ValueDecoder {
 public:
  static constexpr uint8_t kEmpty = 0x01;
  static constexpr uint8_t kLowerInclusive = 0x02;
  static constexpr uint8_t kUpperInclusive = 0x04;
  static constexpr uint8_t kLowerInfinite = 0x08;
  static constexpr uint8_t kUpperInfinite = 0x10;
  static constexpr uint8_t kLowerNull = 0x20;
  static constexpr uint8_t kUpperNull = 0x40;

  RangeDecoder(std::shared_ptr<arrow::DataType> type, arrow::MemoryPool* pool,
               std::unique_ptr<ValueDecoder> lower, std::unique_ptr<ValueDecoder> upper)
      : ValueDecoder(std::move(type), pool),
        lower_(std::move(lower)),
        upper_(std::move(upper)),
        flags_{
            arrow::TypedBufferBuilder<bool>(pool), arrow::TypedBufferBuilder<bool>(pool),
            arrow::TypedBufferBuilder<bool>(pool), arrow::TypedBufferBuilder<bool>(pool),
            arrow::TypedBufferBuilder<bool>(pool)} {}

  arrow::Status Append(const uint8_t* data, int32_t size) override {
    Reader reader(data, size);
    if (ARROW_PREDICT_FALSE(!reader.Has(1))) return Truncated("range");
    const uint8_t flags = *reader.Take(1);
    const bool empty = flags & kEmpty;
    ARROW_RETURN_NOT_OK(
        ReadBound(&reader, !empty && !(flags & (kLowerInfinite | kLowerNull)), &*lower_));
    ARROW_RETURN_NOT_OK(
        ReadBound(&reader, !empty && !(flags & (kUpperInfinite | kUpperNull)), &*upper_));
    if (ARROW_PREDICT_FALSE(reader.remaining() != 0)) {
      return arrow::Status::SerializationError("range value has ", reader.remaining(),
                                               " bytes after its bounds");
    }
    ARROW_RETURN_NOT_OK(AppendFlags(flags));
    return MarkValid();
  }

 protected:
  arrow::Status AppendEmpty() override {
    ARROW_RETURN_NOT_OK(lower_->AppendNull());
    ARROW_RETURN_NOT_OK(upper_->AppendNull());
    return AppendFlags(0);
  }
  arrow::Result<std::shared_ptr<arrow::ArrayData>> FinishValues(
      int64_t length, std::shared_ptr<arrow::Buffer> validity,
      int64_t null_count) override {
    std::vector<std::shared_ptr<arrow::ArrayData>> children;
    ARROW_ASSIGN_OR_RAISE(auto lower, lower_->Finish());
    ARROW_ASSIGN_OR_RAISE(auto upper, upper_->Finish());
    children.push_back(std::move(lower));
    children.push_back(std::move(upper));
    for (auto& flag : flags_) {
      std::shared_ptr<arrow::Buffer> values;
      ARROW_RETURN_NOT_OK(flag.Finish(&values));
      children.push_back(arrow::ArrayData::Make(arrow::boolean(), length,
                                                {nullptr, std::move(values)}, 0));
    }
    return arrow::ArrayData::Make(type_, length, {std::move(validity)},
                                  std::move(children), null_count);
  }
  int64_t ValueBytes() const override {
    int64_t bytes = lower_->bytes() + upper_->bytes();
    for (const auto& flag : flags_) bytes += flag.capacity();
    return bytes;
  }

 private:
  static arrow::Status ReadBound(Reader* reader, bool present, ValueDecoder* bound) {
    if (!present) return bound->AppendNull();
    if (ARROW_PREDICT_FALSE(!reader->Has(4))) return Truncated("range");
    const int32_t length = reader->I32();
    if (ARROW_PREDICT_FALSE(length < 0 || !reader->Has(length))) {
      return arrow::Status::SerializationError("range bound has length ", length,
                                               " past the value's end");
    }
    return bound->Append(reader->Take(length), length);
  }

  arrow::Status AppendFlags(uint8_t flags) {
    ARROW_RETURN_NOT_OK(flags_[0].Append((flags & kLowerInclusive) != 0));
    ARROW_RETURN_NOT_OK(flags_[1].Append((flags & kUpperInclusive) != 0));
    ARROW_RETURN_NOT_OK(flags_[2].Append((flags & kLowerInfinite) != 0));
    ARROW_RETURN_NOT_OK(flags_[3].Append((flags & kUpperInfinite) != 0));
    return flags_[4].Append((flags & kEmpty) != 0);
  }

  std::unique_ptr<ValueDecoder> lower_;
  std::unique_ptr<ValueDecoder> upper_;
  // lower_inclusive, upper_inclusive, lower_infinite, upper_infinite, empty
  arrow::TypedBufferBuilder<bool> flags_[5];
};

// --- Factory
// ------------------------------------------------------------------------------

arrow::Result<std::unique_ptr<ValueDecoder>> MakeBaseDecoder(
    const PgType& type, std::shared_ptr<arrow::DataType> arrow_type,
    const PgDecodeOptions& options, arrow::MemoryPool* pool, ChangeTally* tally) {
  using Type = std::shared_ptr<arrow::DataType>;
  auto fixed = [&](auto op, auto* ctype) -> std::unique_ptr<ValueDecoder> {
    using CType = std::remove_pointer_t<decltype(ctype)>;
    return std::make_unique<FixedWidthDecoder<CType, decltype(op)>>(Type(arrow_type),
                                                                    pool, op);
  };
  switch (type.oid) {
    case pg_oid::kBool:
      return std::make_unique<BooleanDecoder>(arrow_type, pool);
    case pg_oid::kInt2:
      return fixed(IntegerOp<int16_t, int16_t, kInt2Name>{},
                   static_cast<int16_t*>(nullptr));
    case pg_oid::kInt4:
      return fixed(IntegerOp<int32_t, int32_t, kInt4Name>{},
                   static_cast<int32_t*>(nullptr));
    case pg_oid::kInt8:
      return fixed(IntegerOp<int64_t, int64_t, kInt8Name>{},
                   static_cast<int64_t*>(nullptr));
    case pg_oid::kOid:
      return fixed(IntegerOp<uint32_t, uint32_t, kOidName>{},
                   static_cast<uint32_t*>(nullptr));
    case pg_oid::kFloat4:
      return fixed(FloatOp<float, uint32_t, kFloat4Name>{}, static_cast<float*>(nullptr));
    case pg_oid::kFloat8:
      return fixed(FloatOp<double, uint64_t, kFloat8Name>{},
                   static_cast<double*>(nullptr));
    case pg_oid::kDate:
      return fixed(DateOp{options.infinity, tally}, static_cast<int32_t*>(nullptr));
    case pg_oid::kTimestamp:
    case pg_oid::kTimestamptz:
      return fixed(TimestampOp{options.infinity, tally}, static_cast<int64_t*>(nullptr));
    case pg_oid::kTime:
      return fixed(TimeOp{options.infinity, tally}, static_cast<int64_t*>(nullptr));
    case pg_oid::kInterval:
      return fixed(IntervalOp{}, static_cast<MonthDayNano*>(nullptr));
    case pg_oid::kMoney:
      return fixed(MoneyOp{}, static_cast<Decimal128Le*>(nullptr));
    case pg_oid::kUuid:
      return std::make_unique<UuidDecoder>(arrow_type, pool);
    case pg_oid::kNumeric: {
      NumericShape shape = NumericShapeFor(type.typmod, options.numeric);
      if (shape.as_string) return std::make_unique<NumericTextDecoder>(arrow_type, pool);
      return std::make_unique<NumericDecimalDecoder>(
          arrow_type, pool,
          NumericDecimalOp{shape.precision, shape.scale, options.numeric.on_invalid,
                           tally});
    }
    case pg_oid::kText:
    case pg_oid::kVarchar:
    case pg_oid::kBpchar:
    case pg_oid::kName:
    case pg_oid::kJson:
      return std::make_unique<TextDecoder>(arrow_type, pool, /*is_jsonb=*/false,
                                           options.invalid_utf8, tally);
    case pg_oid::kJsonb:
      return std::make_unique<TextDecoder>(arrow_type, pool, /*is_jsonb=*/true,
                                           options.invalid_utf8, tally);
    case pg_oid::kBytea:
      return std::make_unique<ByteaDecoder>(arrow_type, pool);
    case pg_oid::kInet:
    case pg_oid::kCidr:
      return std::make_unique<InetDecoder>(arrow_type, pool);
    case pg_oid::kMacaddr:
      return std::make_unique<MacDecoder>(arrow_type, pool, 6);
    case pg_oid::kMacaddr8:
      return std::make_unique<MacDecoder>(arrow_type, pool, 8);
    case pg_oid::kBit:
    case pg_oid::kVarbit:
      return std::make_unique<BitDecoder>(arrow_type, pool);
    case pg_oid::kTimetz:
      return std::make_unique<TimetzDecoder>(arrow_type, pool);
    default:
      return arrow::Status::Invalid("PostgreSQL type ", type.name, " (oid ", type.oid,
                                    ") cannot be decoded from COPY binary");
  }
}

arrow::Result<std::unique_ptr<ValueDecoder>> MakeValueDecoder(
    const PgType& type, const PgDecodeOptions& options, arrow::MemoryPool* pool,
    ChangeTally* tally) {
  ARROW_ASSIGN_OR_RAISE(auto arrow_type, ArrowTypeFor(type, options));
  switch (type.kind) {
    case PgType::Kind::kBase:
      return MakeBaseDecoder(type, std::move(arrow_type), options, pool, tally);
    case PgType::Kind::kArray: {
      int depth = 1;
      const PgType* element = type.element.get();
      while (element->kind == PgType::Kind::kArray) {
        element = element->element.get();
        ++depth;
      }
      ARROW_ASSIGN_OR_RAISE(auto element_decoder,
                            MakeValueDecoder(*element, options, pool, tally));
      return std::make_unique<ArrayDecoder>(std::move(arrow_type), pool, element,
                                            std::move(element_decoder), depth, tally);
    }
    case PgType::Kind::kEnum:
      return EnumDecoder::Make(std::move(arrow_type), pool, type.enum_labels);
    case PgType::Kind::kComposite: {
      std::vector<std::unique_ptr<ValueDecoder>> fields;
      for (const auto& field : type.fields) {
        ARROW_ASSIGN_OR_RAISE(auto decoder,
                              MakeValueDecoder(*field.type, options, pool, tally));
        fields.push_back(std::move(decoder));
      }
      return std::make_unique<CompositeDecoder>(std::move(arrow_type), pool, &type,
                                                std::move(fields));
    }
    case PgType::Kind::kRange: {
      ARROW_ASSIGN_OR_RAISE(auto lower,
                            MakeValueDecoder(*type.element, options, pool, tally));
      ARROW_ASSIGN_OR_RAISE(auto upper,
                            MakeValueDecoder(*type.element, options, pool, tally));
      return std::make_unique<RangeDecoder>(std::move(arrow_type), pool, std::move(lower),
                                            std::move(upper));
    }
  }
  return arrow::Status::Invalid("unknown PostgreSQL type kind");
}

// True if decoding `type` may turn a non-NULL value into NULL (a policy asks for it).
bool PolicyMayNull(const PgType& type, const PgDecodeOptions& options) {
  switch (type.kind) {
    case PgType::Kind::kBase:
      if (type.oid == pg_oid::kNumeric) {
        return !NumericShapeFor(type.typmod, options.numeric).as_string &&
               options.numeric.on_invalid == NumericOptions::OnInvalid::kNull;
      }
      return (type.oid == pg_oid::kDate || type.oid == pg_oid::kTime ||
              type.oid == pg_oid::kTimestamp || type.oid == pg_oid::kTimestamptz) &&
             options.infinity == InfinityPolicy::kNull;
    default:
      return false;  // nested values are nullable anyway
  }
}

// ---------------------------------------------------------------------------------------
// The stream.

constexpr uint8_t kSignature[11] = {'P',  'G',  'C',  'O',  'P', 'Y',
                                    '\n', 0xFF, '\r', '\n', 0};
constexpr int64_t kHeaderSize = 19;  // signature, flags, header extension length
// PostgreSQL fields are at most 1 GB.
constexpr int32_t kMaxFieldSize = 1 << 30;

class CopyBinaryDecoderImpl final : public CopyBinaryDecoder {
 public:
  CopyBinaryDecoderImpl(std::vector<PgColumn> columns, PgDecodeOptions options,
                        std::shared_ptr<arrow::Schema> schema,
                        std::vector<std::unique_ptr<ValueDecoder>> decoders,
                        std::unique_ptr<ChangeTally[]> tallies)
      : columns_(std::move(columns)),
        options_(options),
        schema_(std::move(schema)),
        decoders_(std::move(decoders)),
        tallies_(std::move(tallies)),
        fields_(columns_.size()) {}

  const std::shared_ptr<arrow::Schema>& schema() const override { return schema_; }

  arrow::Status Consume(const uint8_t* data, int64_t size) override {
    if (ARROW_PREDICT_FALSE(!failed_.ok())) return failed_;
    int64_t pos = 0;
    // Complete a unit started by an earlier chunk, copying only the bytes it needs.
    while (!carry_.empty()) {
      int64_t unit = 0;
      int64_t need = 0;
      ARROW_RETURN_NOT_OK(
          Scan(carry_.data(), static_cast<int64_t>(carry_.size()), &unit, &need));
      if (unit > 0) {
        ARROW_RETURN_NOT_OK(Process(carry_.data(), unit));
        carry_.clear();
        break;
      }
      const int64_t take =
          std::min(need - static_cast<int64_t>(carry_.size()), size - pos);
      if (take <= 0) return arrow::Status::OK();
      carry_.insert(carry_.end(), data + pos, data + pos + take);
      pos += take;
    }
    // Whole units in place.
    while (pos < size) {
      int64_t unit = 0;
      int64_t need = 0;
      ARROW_RETURN_NOT_OK(Scan(data + pos, size - pos, &unit, &need));
      if (unit == 0) {
        carry_.assign(data + pos, data + size);
        return arrow::Status::OK();
      }
      ARROW_RETURN_NOT_OK(Process(data + pos, unit));
      pos += unit;
    }
    return arrow::Status::OK();
  }

  int64_t buffered_rows() const override { return buffered_rows_; }

  int64_t buffered_bytes() const override {
    int64_t bytes = static_cast<int64_t>(carry_.capacity());
    for (const auto& decoder : decoders_) bytes += decoder->bytes();
    return bytes;
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Flush() override {
    if (!failed_.ok()) return failed_;
    std::vector<std::shared_ptr<arrow::Array>> arrays;
    arrays.reserve(decoders_.size());
    for (auto& decoder : decoders_) {
      ARROW_ASSIGN_OR_RAISE(auto data, decoder->Finish());
      arrays.push_back(arrow::MakeArray(data));
    }
    auto batch = arrow::RecordBatch::Make(schema_, buffered_rows_, std::move(arrays));
    buffered_rows_ = 0;
    return batch;
  }

  bool finished() const override { return state_ == State::kDone; }

  std::vector<ValueChangeCount> value_changes() const override {
    std::vector<ValueChangeCount> out;
    for (size_t i = 0; i < columns_.size(); ++i) {
      for (size_t c = 0; c < tallies_[i].size(); ++c) {
        if (tallies_[i][c] == 0) continue;
        out.push_back(DescribeChange(static_cast<Change>(c), options_, columns_[i],
                                     tallies_[i][c]));
      }
    }
    return out;
  }

  arrow::Status Finish() override {
    if (!failed_.ok()) return failed_;
    if (state_ == State::kDone) return arrow::Status::OK();
    const char* where = state_ == State::kHeader ? "in the file header"
                        : carry_.empty()         ? "before the trailer"
                                                 : "inside a tuple";
    return Fail(arrow::Status::SerializationError(
        "COPY binary stream ended ", where, ": row ", rows_, ", stream offset ",
        offset_ + static_cast<int64_t>(carry_.size())));
  }

 private:
  enum class State { kHeader, kTuples, kDone };

  struct FieldRef {
    const uint8_t* data;
    int32_t size;  // -1 for NULL
  };

  arrow::Status Fail(arrow::Status status) {
    failed_ = std::move(status);
    return failed_;
  }

  // Finds the unit (header, tuple or trailer) starting at `data`: its size in *unit, or
  // 0 and the bytes needed to learn more in *need. Fills fields_ for a tuple.
  arrow::Status Scan(const uint8_t* data, int64_t available, int64_t* unit,
                     int64_t* need) {
    *unit = 0;
    switch (state_) {
      case State::kHeader: {
        if (available < kHeaderSize) {
          // A wrong signature is reported as soon as its bytes are there.
          if (std::memcmp(data, kSignature,
                          std::min<int64_t>(available, sizeof kSignature)) != 0) {
            return Fail(BadSignature());
          }
          *need = kHeaderSize;
          return arrow::Status::OK();
        }
        if (std::memcmp(data, kSignature, sizeof kSignature) != 0) {
          return Fail(BadSignature());
        }
        const uint32_t flags = LoadU32(data + 11);
        // Bits 0-15 are format-breaking, bit 16 means OIDs; 17-31 may be ignored.
        if (flags & 0x1FFFF) {
          return Fail(arrow::Status::SerializationError(
              "COPY binary header has unsupported flags 0x", ToHex(flags),
              (flags & 0x10000) ? " (WITH OIDS)" : "", ": stream offset 11"));
        }
        const int32_t extension = LoadI32(data + 15);
        if (extension < 0 || extension > kMaxFieldSize) {
          return Fail(arrow::Status::SerializationError(
              "COPY binary header extension length ", extension,
              " is invalid: stream offset 15"));
        }
        if (available < kHeaderSize + extension) {
          *need = kHeaderSize + extension;
          return arrow::Status::OK();
        }
        *unit = kHeaderSize + extension;
        return arrow::Status::OK();
      }
      case State::kTuples: {
        if (available < 2) {
          *need = 2;
          return arrow::Status::OK();
        }
        const int16_t count = LoadI16(data);
        if (count == -1) {
          *unit = 2;
          return arrow::Status::OK();
        }
        if (ARROW_PREDICT_FALSE(count != static_cast<int16_t>(columns_.size()) ||
                                count < 0)) {
          return Fail(arrow::Status::SerializationError(
              "COPY binary tuple has ", count, " fields, expected ", columns_.size(),
              ": row ", rows_, ", stream offset ", offset_));
        }
        int64_t pos = 2;
        for (size_t i = 0; i < columns_.size(); ++i) {
          if (ARROW_PREDICT_FALSE(available < pos + 4)) {
            *need = pos + 4;
            return arrow::Status::OK();
          }
          const int32_t length = LoadI32(data + pos);
          if (length == -1) {
            fields_[i] = {nullptr, -1};
            pos += 4;
            continue;
          }
          if (ARROW_PREDICT_FALSE(length < 0 || length > kMaxFieldSize)) {
            return Fail(arrow::Status::SerializationError(
                "COPY binary field has invalid length ", length, ": column '",
                columns_[i].name, "', row ", rows_, ", stream offset ", offset_ + pos));
          }
          if (ARROW_PREDICT_FALSE(available < pos + 4 + length)) {
            *need = pos + 4 + length;
            return arrow::Status::OK();
          }
          fields_[i] = {data + pos + 4, length};
          pos += 4 + length;
        }
        *unit = pos;
        return arrow::Status::OK();
      }
      case State::kDone:
        return Fail(arrow::Status::SerializationError(
            "COPY binary stream has bytes after its trailer: stream offset ", offset_));
    }
    return arrow::Status::OK();
  }

  arrow::Status Process(const uint8_t* data, int64_t unit) {
    switch (state_) {
      case State::kHeader:
        state_ = State::kTuples;
        break;
      case State::kTuples:
        if (unit == 2 && LoadI16(data) == -1) {
          state_ = State::kDone;
        } else {
          ARROW_RETURN_NOT_OK(DecodeTuple(data));
        }
        break;
      case State::kDone:
        break;
    }
    offset_ += unit;
    return arrow::Status::OK();
  }

  arrow::Status DecodeTuple(const uint8_t* tuple) {
    const size_t count = columns_.size();
    for (size_t i = 0; i < count; ++i) {
      const FieldRef& field = fields_[i];
      arrow::Status status;
      if (field.size < 0) {
        if (ARROW_PREDICT_FALSE(!schema_->field(static_cast<int>(i))->nullable())) {
          status = arrow::Status::Invalid("NULL in a column declared NOT NULL");
        } else {
          status = decoders_[i]->AppendNull();
        }
      } else {
        status = decoders_[i]->Append(field.data, field.size);
      }
      if (ARROW_PREDICT_FALSE(!status.ok())) return Fail(WithContext(status, i, tuple));
    }
    ++rows_;
    ++buffered_rows_;
    return arrow::Status::OK();
  }

  // "<description>: column 'c', row N, stream offset O, key id=42".
  arrow::Status WithContext(const arrow::Status& status, size_t column,
                            const uint8_t* tuple) const {
    const FieldRef& field = fields_[column];
    const int64_t field_offset =
        field.size < 0 ? offset_
                       : offset_ + (field.data - tuple) - 4;  // at its length word
    std::string context = "column '" + columns_[column].name + "', row " +
                          std::to_string(rows_) + ", stream offset " +
                          std::to_string(field_offset);
    const int key = options_.key_column;
    if (key >= 0 && key < static_cast<int>(columns_.size())) {
      context += ", key " + columns_[key].name + "=" + KeyText(key);
    }
    const auto& detail = status.detail();
    if (detail != nullptr && detail->type_id() == InvalidUtf8Detail::kTypeId) {
      const auto position = static_cast<const InvalidUtf8Detail&>(*detail).position();
      return arrow::Status::Invalid(sources::InvalidUtf8Description(position), ": ",
                                    context, "; ",
                                    sources::InvalidUtf8Remedy(columns_[column].name));
    }
    return arrow::Status(status.code(), status.message() + ": " + context,
                         status.detail());
  }

  std::string KeyText(int key) const {
    const FieldRef& field = fields_[key];
    if (field.size < 0) return "NULL";
    const PgType& type = columns_[key].type;
    if (type.kind == PgType::Kind::kBase) {
      switch (type.oid) {
        case pg_oid::kInt2:
          if (field.size == 2) return std::to_string(LoadI16(field.data));
          break;
        case pg_oid::kInt4:
          if (field.size == 4) return std::to_string(LoadI32(field.data));
          break;
        case pg_oid::kInt8:
          if (field.size == 8) return std::to_string(LoadI64(field.data));
          break;
        case pg_oid::kOid:
          if (field.size == 4) return std::to_string(LoadU32(field.data));
          break;
        case pg_oid::kText:
        case pg_oid::kVarchar:
        case pg_oid::kBpchar:
        case pg_oid::kName: {
          std::string text(reinterpret_cast<const char*>(field.data),
                           std::min<int32_t>(field.size, 64));
          if (field.size > 64) text += "...";
          return "'" + text + "'";
        }
        case pg_oid::kUuid:
          if (field.size == 16) {
            std::string text(36, '\0');
            static constexpr char kHex[] = "0123456789abcdef";
            size_t out = 0;
            for (int b = 0; b < 16; ++b) {
              if (b == 4 || b == 6 || b == 8 || b == 10) text[out++] = '-';
              text[out++] = kHex[field.data[b] >> 4];
              text[out++] = kHex[field.data[b] & 0xf];
            }
            return text;
          }
          break;
        default:
          break;
      }
    }
    return "<" + std::to_string(field.size) + " bytes>";
  }

  static std::string ToHex(uint32_t value) {
    char text[9];
    std::snprintf(text, sizeof text, "%08x", value);
    return text;
  }

  static arrow::Status BadSignature() {
    return arrow::Status::SerializationError(
        "not a COPY binary stream: the header signature is not PGCOPY\\n\\377\\r\\n\\0: "
        "stream offset 0");
  }

  std::vector<PgColumn> columns_;
  PgDecodeOptions options_;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::unique_ptr<ValueDecoder>> decoders_;
  // Per column, what its decoders changed; they hold pointers into it.
  std::unique_ptr<ChangeTally[]> tallies_;
  std::vector<FieldRef> fields_;  // the tuple being decoded
  std::vector<uint8_t> carry_;    // a unit split across chunks
  State state_ = State::kHeader;
  int64_t offset_ = 0;  // stream offset of the next unit
  int64_t rows_ = 0;
  int64_t buffered_rows_ = 0;
  arrow::Status failed_;
};

}  // namespace

arrow::Result<std::unique_ptr<CopyBinaryDecoder>> CopyBinaryDecoder::Make(
    std::vector<PgColumn> columns, PgDecodeOptions options, arrow::MemoryPool* pool) {
  arrow::util::InitializeUTF8();
  if (columns.empty() || columns.size() > 1664) {
    return arrow::Status::Invalid("a COPY binary decoder needs 1 to 1664 columns, got ",
                                  columns.size());
  }
  if (options.key_column >= static_cast<int>(columns.size())) {
    return arrow::Status::Invalid("key column index ", options.key_column,
                                  " is out of range for ", columns.size(), " columns");
  }
  arrow::FieldVector fields;
  std::vector<std::unique_ptr<ValueDecoder>> decoders;
  auto tallies = std::make_unique<ChangeTally[]>(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    const PgColumn& column = columns[i];
    if (!IsSupported(column.type)) {
      return arrow::Status::Invalid("column '", column.name, "' has type ",
                                    column.type.name, " (oid ", column.type.oid,
                                    ") that COPY binary decoding does not support; "
                                    "select it as text");
    }
    PgDecodeOptions column_options = options;
    column_options.invalid_utf8 = column.invalid_utf8;
    ARROW_ASSIGN_OR_RAISE(auto type, ArrowTypeFor(column, column_options));
    auto decoder = MakeValueDecoder(column.type, column_options, pool, &tallies[i]);
    if (!decoder.ok()) {
      return arrow::Status::Invalid(decoder.status().message(), ": column '", column.name,
                                    "'");
    }
    decoders.push_back(std::move(*decoder));
    fields.push_back(arrow::field(
        column.name, type, column.nullable || PolicyMayNull(column.type, options)));
  }
  auto schema = arrow::schema(std::move(fields));
  return std::make_unique<CopyBinaryDecoderImpl>(std::move(columns), options,
                                                 std::move(schema), std::move(decoders),
                                                 std::move(tallies));
}

}  // namespace jetflow::postgres
