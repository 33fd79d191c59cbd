#include "jetflow/sources/generate/generate_consumer.h"

#include <arrow/api.h>
#include <arrow/util/bit_util.h>
#include <arrow/util/bitmap_ops.h>
#include <arrow/util/decimal.h>
#include <arrow/util/endian.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "jetflow/sources/generate/random_strings.h"
#include "jetflow/sources/generate/row_hash.h"
#include "jetflow/sources/iso_time.h"
#include "jetflow/sources/partition_split.h"
#include "jetflow/sources/register_sources.h"
#include "jetflow/sources/source_options.h"

namespace jetflow {

namespace generate_internal {

using ColumnSpec = GenerateConsumer::ColumnSpec;

constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;
// Dictionary strings are copied up to 32 bytes at a time; the data buffer keeps this much
// slack past its end so the last copy stays inside it.
constexpr int64_t kStringSlack = 32;

uint64_t HashName(std::string_view name) {
  uint64_t h = 0xCBF29CE484222325ULL;  // FNV-1a
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ULL;
  }
  return Mix(h);
}

// Bits of global rows [first, first + n) into bits[0, n), where word_bits(q) gives the 64
// bits of rows 64q to 64q + 63 (bit r % 64 is row r): whole words, so any batch start
// gives the same bits.
template <typename WordBits>
void FillRowBits(int64_t first, int64_t n, uint8_t* bits, WordBits word_bits) {
  const int64_t first_word = first >> 6, end_word = (first + n + 63) >> 6;
  thread_local std::vector<uint64_t> words;  // reused per thread
  words.resize(static_cast<size_t>(end_word - first_word));
  for (int64_t q = first_word; q < end_word; ++q) {
    words[static_cast<size_t>(q - first_word)] =
        arrow::bit_util::ToLittleEndian(word_bits(q));
  }
  arrow::internal::CopyBitmap(reinterpret_cast<const uint8_t*>(words.data()), first & 63,
                              n, bits, 0);
}

// ---------------------------------------------------------------------------------------
// ColumnGenerator: values of one column for any range of global rows.

class ColumnGenerator {
 public:
  ColumnGenerator(const ColumnSpec& spec, uint64_t seed)
      : type_(spec.type), value_stream_(Mix(seed ^ HashName(spec.name))) {
    null_stream_ = Mix(value_stream_ ^ 0x6E756C6C6E756C6CULL);
    if (spec.null_fraction >= 1.0) {
      all_null_ = true;
    } else if (spec.null_fraction > 0.0) {
      null_threshold_ = static_cast<uint64_t>(std::ldexp(spec.null_fraction, 32));
      if (null_threshold_ == 0) null_threshold_ = 1;
    }
  }
  virtual ~ColumnGenerator() = default;

  /// Values of global rows [first, first + n). `run_day`: days since the epoch of the run
  /// instance's day (for default date/timestamp ranges).
  arrow::Result<std::shared_ptr<arrow::Array>> Generate(int64_t first, int64_t n,
                                                        int64_t run_day,
                                                        arrow::MemoryPool* pool) const {
    std::shared_ptr<arrow::Buffer> validity;
    int64_t null_count = 0;
    if (all_null_ || null_threshold_ > 0) {
      ARROW_ASSIGN_OR_RAISE(validity, arrow::AllocateBitmap(n, pool));
      null_count = FillValidity(validity->mutable_data(), first, n);
    }
    ARROW_ASSIGN_OR_RAISE(auto data, Values(first, n, run_day,
                                            validity ? validity->data() : nullptr, pool));
    data->buffers[0] = std::move(validity);
    data->null_count = null_count;
    return arrow::MakeArray(data);
  }

 protected:
  /// Values with buffers[0] left empty; `validity` (may be null) says which rows are
  /// valid, so variable-width columns can skip the null ones.
  virtual arrow::Result<std::shared_ptr<arrow::ArrayData>> Values(
      int64_t first, int64_t n, int64_t run_day, const uint8_t* validity,
      arrow::MemoryPool* pool) const = 0;

  uint64_t Hash(int64_t row) const { return RowHash(value_stream_, row); }

  std::shared_ptr<arrow::DataType> type_;
  uint64_t value_stream_;

 private:
  // Returns the null count. Row r is null when half r % 2 of the null stream's hash of
  // r / 2 is below the threshold: one hash per two rows.
  int64_t FillValidity(uint8_t* bits, int64_t first, int64_t n) const {
    if (all_null_) {
      std::memset(bits, 0, static_cast<size_t>(arrow::bit_util::BytesForBits(n)));
      return n;
    }
    FillRowBits(first, n, bits, [this](int64_t word) {
      uint64_t valid = 0;
      for (int pair = 0; pair < 32; ++pair) {
        const uint64_t h = RowHash(null_stream_, 32 * word + pair);
        valid |= static_cast<uint64_t>((h & 0xFFFFFFFFu) >= null_threshold_)
                 << (2 * pair);
        valid |= static_cast<uint64_t>((h >> 32) >= null_threshold_) << (2 * pair + 1);
      }
      return valid;
    });
    return n - arrow::internal::CountSetBits(bits, 0, n);
  }

  uint64_t null_stream_;
  bool all_null_ = false;
  uint64_t null_threshold_ = 0;  // a row is null when its 32-bit draw < threshold
};

template <typename CType>
arrow::Result<std::shared_ptr<arrow::Buffer>> AllocateValues(int64_t n,
                                                             arrow::MemoryPool* pool,
                                                             CType** out) {
  ARROW_ASSIGN_OR_RAISE(
      std::shared_ptr<arrow::Buffer> buffer,
      arrow::AllocateBuffer(n * static_cast<int64_t>(sizeof(CType)), pool));
  *out = reinterpret_cast<CType*>(buffer->mutable_data());
  return buffer;
}

// int32, int64, date32 and timestamp: a uniform value in [lo, lo + span) or a sequence.
template <typename CType>
class IntegerGenerator : public ColumnGenerator {
 public:
  enum class Range { kFixed, kRunDay, kRunYear };

  IntegerGenerator(const ColumnSpec& spec, uint64_t seed, int64_t lo, uint64_t span,
                   Range range = Range::kFixed)
      : ColumnGenerator(spec, seed),
        sequence_(spec.sequence),
        lo_(lo),
        span_(span),
        range_(range) {}

 protected:
  arrow::Result<std::shared_ptr<arrow::ArrayData>> Values(
      int64_t first, int64_t n, int64_t run_day, const uint8_t*,
      arrow::MemoryPool* pool) const override {
    CType* out = nullptr;
    ARROW_ASSIGN_OR_RAISE(auto values, AllocateValues(n, pool, &out));
    int64_t lo = lo_;
    uint64_t span = span_;
    if (range_ == Range::kRunDay) {
      lo = run_day * kMicrosPerDay;
      span = kMicrosPerDay;
    } else if (range_ == Range::kRunYear) {
      lo = run_day - 364;
      span = 365;
    }
    const uint64_t base = static_cast<uint64_t>(lo);
    if (sequence_) {
      for (int64_t i = 0; i < n; ++i) {
        out[i] = static_cast<CType>(base + static_cast<uint64_t>(first + i));
      }
    } else if (span == 0) {  // the whole 64-bit range
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<CType>(Hash(first + i));
    } else {
      for (int64_t i = 0; i < n; ++i) {
        out[i] = static_cast<CType>(base + MulHi(Hash(first + i), span));
      }
    }
    return arrow::ArrayData::Make(type_, n, {nullptr, std::move(values)});
  }

 private:
  bool sequence_;
  int64_t lo_;
  uint64_t span_;
  Range range_;
};

class Float64Generator : public ColumnGenerator {
 public:
  Float64Generator(const ColumnSpec& spec, uint64_t seed)
      : ColumnGenerator(spec, seed),
        lo_(spec.min_float),
        width_(spec.max_float - spec.min_float) {}

 protected:
  arrow::Result<std::shared_ptr<arrow::ArrayData>> Values(
      int64_t first, int64_t n, int64_t, const uint8_t*,
      arrow::MemoryPool* pool) const override {
    double* out = nullptr;
    ARROW_ASSIGN_OR_RAISE(auto values, AllocateValues(n, pool, &out));
    const double scale = width_ * 0x1p-53;
    for (int64_t i = 0; i < n; ++i) {
      out[i] = lo_ + static_cast<double>(Hash(first + i) >> 11) * scale;
    }
    return arrow::ArrayData::Make(type_, n, {nullptr, std::move(values)});
  }

 private:
  double lo_;
  double width_;
};

class BoolGenerator : public ColumnGenerator {
 public:
  using ColumnGenerator::ColumnGenerator;

 protected:
  arrow::Result<std::shared_ptr<arrow::ArrayData>> Values(
      int64_t first, int64_t n, int64_t, const uint8_t*,
      arrow::MemoryPool* pool) const override {
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> values,
                          arrow::AllocateBitmap(n, pool));
    // Rows 64q to 64q + 63 are the bits of the hash of q.
    FillRowBits(first, n, values->mutable_data(),
                [this](int64_t word) { return Hash(word); });
    return arrow::ArrayData::Make(type_, n, {nullptr, std::move(values)});
  }
};

// decimal128 with unscaled values in [lo, lo + span), written as two little-endian words.
class DecimalGenerator : public ColumnGenerator {
 public:
  DecimalGenerator(const ColumnSpec& spec, uint64_t seed, int64_t lo, uint64_t span)
      : ColumnGenerator(spec, seed), lo_(lo), span_(span) {}

 protected:
  arrow::Result<std::shared_ptr<arrow::ArrayData>> Values(
      int64_t first, int64_t n, int64_t, const uint8_t*,
      arrow::MemoryPool* pool) const override {
    static_assert(std::endian::native == std::endian::little);
    int64_t* out = nullptr;
    ARROW_ASSIGN_OR_RAISE(auto values, AllocateValues(2 * n, pool, &out));
    const uint64_t base = static_cast<uint64_t>(lo_);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = static_cast<int64_t>(base + MulHi(Hash(first + i), span_));
      out[2 * i] = v;
      out[2 * i + 1] = v >> 63;  // sign extension
    }
    return arrow::ArrayData::Make(type_, n, {nullptr, std::move(values)});
  }

 private:
  int64_t lo_;
  uint64_t span_;
};

// Random strings of [min_length, max_length] characters of a charset.
class RandomStringGenerator : public ColumnGenerator {
 public:
  RandomStringGenerator(const ColumnSpec& spec, uint64_t seed)
      : ColumnGenerator(spec, seed),
        column_(RandomStringColumn::Of(spec, value_stream_)),
        max_length_(spec.max_length),
        max_chunks_(RandomCharChunks(spec.max_length)) {}

 protected:
  arrow::Result<std::shared_ptr<arrow::ArrayData>> Values(
      int64_t first, int64_t n, int64_t, const uint8_t* validity,
      arrow::MemoryPool* pool) const override {
    int32_t* offsets = nullptr;
    ARROW_ASSIGN_OR_RAISE(auto offsets_buffer, AllocateValues(n + 1, pool, &offsets));
    const int64_t slack = kRandomCharChunk * max_chunks_;
    std::shared_ptr<arrow::ResizableBuffer> data;
    if (max_chunks_ == 1 || max_chunks_ == 2) {  // FillRandomStrings' precondition
      // One pass into a buffer sized for the longest strings (at most 64 bytes a row).
      if (n * max_length_ > INT32_MAX) return TooLarge();
      ARROW_ASSIGN_OR_RAISE(
          data, arrow::AllocateResizableBuffer(n * max_length_ + slack, pool));
      const int64_t total =
          FillRandomStrings(column_, max_chunks_, first, n, validity, offsets,
                            reinterpret_cast<char*>(data->mutable_data()));
      ARROW_RETURN_NOT_OK(data->Resize(total, /*shrink_to_fit=*/false));
    } else {
      // Long (or only empty) strings: lengths first, then an exactly sized buffer.
      int64_t total = 0;
      for (int64_t i = 0; i < n; ++i) {
        offsets[i] = static_cast<int32_t>(total);
        if (validity == nullptr || arrow::bit_util::GetBit(validity, i)) {
          total += RandomStringLength(column_, Hash(first + i));
        }
        if (total > INT32_MAX) return TooLarge();
      }
      offsets[n] = static_cast<int32_t>(total);
      ARROW_ASSIGN_OR_RAISE(data, arrow::AllocateResizableBuffer(total + slack, pool));
      char* chars = reinterpret_cast<char*>(data->mutable_data());
      for (int64_t i = 0; i < n; ++i) {
        const int64_t length = offsets[i + 1] - offsets[i];
        WriteRandomChars(column_.charset, Hash(first + i), RandomCharChunks(length),
                         chars + offsets[i]);
      }
      ARROW_RETURN_NOT_OK(data->Resize(total, /*shrink_to_fit=*/false));
    }
    return arrow::ArrayData::Make(type_, n,
                                  {nullptr, std::move(offsets_buffer), std::move(data)});
  }

 private:
  static arrow::Status TooLarge() {
    return arrow::Status::Invalid(
        "generated strings of a batch exceed 2 GiB; lower batch_rows or max_length");
  }

  RandomStringColumn column_;
  int64_t max_length_;
  int64_t max_chunks_;
};

// Strings drawn uniformly from a fixed list of values (low cardinality).
class ChoiceStringGenerator : public ColumnGenerator {
 public:
  ChoiceStringGenerator(const ColumnSpec& spec, uint64_t seed,
                        const std::vector<std::string>& choices)
      : ColumnGenerator(spec, seed) {
    size_t longest = 0;
    for (const auto& c : choices) longest = std::max(longest, c.size());
    // Copies of at most 32 bytes use a fixed-size memcpy on fixed-width slots.
    slot_width_ = longest <= 8 ? 8 : longest <= 16 ? 16 : longest <= 32 ? 32 : 0;
    size_t offset = 0;
    for (const auto& c : choices) {
      starts_.push_back(offset);
      lengths_.push_back(static_cast<int32_t>(c.size()));
      offset += slot_width_ > 0 ? slot_width_ : c.size();
    }
    chars_.assign(offset + kStringSlack, '\0');
    for (size_t k = 0; k < choices.size(); ++k) {
      std::memcpy(chars_.data() + starts_[k], choices[k].data(), choices[k].size());
    }
  }

 protected:
  arrow::Result<std::shared_ptr<arrow::ArrayData>> Values(
      int64_t first, int64_t n, int64_t, const uint8_t* validity,
      arrow::MemoryPool* pool) const override {
    const uint64_t count = lengths_.size();
    int32_t* offsets = nullptr;
    ARROW_ASSIGN_OR_RAISE(auto offsets_buffer, AllocateValues(n + 1, pool, &offsets));
    // The chosen value of each row, kept between the two passes (per thread, reused).
    thread_local std::vector<uint32_t> choice;
    choice.resize(static_cast<size_t>(n));
    int64_t total = 0;
    for (int64_t i = 0; i < n; ++i) {
      offsets[i] = static_cast<int32_t>(total);
      const uint32_t k = static_cast<uint32_t>(MulHi(Hash(first + i), count));
      choice[static_cast<size_t>(i)] = k;
      const int64_t valid = validity == nullptr ? 1 : (validity[i >> 3] >> (i & 7)) & 1;
      total += lengths_[k] * valid;
    }
    if (total > INT32_MAX) {
      return arrow::Status::Invalid(
          "generated strings of a batch exceed 2 GiB; lower batch_rows");
    }
    offsets[n] = static_cast<int32_t>(total);
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::ResizableBuffer> data,
                          arrow::AllocateResizableBuffer(total + kStringSlack, pool));
    char* out = reinterpret_cast<char*>(data->mutable_data());
    switch (slot_width_) {
      case 8:
        Copy<8>(n, choice.data(), offsets, out);
        break;
      case 16:
        Copy<16>(n, choice.data(), offsets, out);
        break;
      case 32:
        Copy<32>(n, choice.data(), offsets, out);
        break;
      default:
        Copy<0>(n, choice.data(), offsets, out);
        break;
    }
    ARROW_RETURN_NOT_OK(data->Resize(total, /*shrink_to_fit=*/false));
    return arrow::ArrayData::Make(type_, n,
                                  {nullptr, std::move(offsets_buffer), std::move(data)});
  }

 private:
  // Fixed-width copies (kWidth > 0) write past short values; rows are copied in order, so
  // the next value overwrites the excess, and null rows (zero length) are harmless.
  template <size_t kWidth>
  void Copy(int64_t n, const uint32_t* choice, const int32_t* offsets, char* out) const {
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t k = choice[i];
      if constexpr (kWidth > 0) {
        std::memcpy(out + offsets[i], chars_.data() + starts_[k], kWidth);
      } else {
        std::memcpy(out + offsets[i], chars_.data() + starts_[k],
                    static_cast<size_t>(offsets[i + 1] - offsets[i]));
      }
    }
  }

  size_t slot_width_ = 0;
  std::vector<size_t> starts_;
  std::vector<int32_t> lengths_;
  std::string chars_;
};

// ---------------------------------------------------------------------------------------
// Column validation and construction.

constexpr int64_t kMaxCardinality = 10'000'000;
constexpr int32_t kMaxStringLength = 1 << 20;

int64_t Pow10(int exponent) {
  int64_t v = 1;
  for (int i = 0; i < exponent; ++i) v *= 10;
  return v;
}

// Largest unscaled value representable in decimal(precision) and in int64.
int64_t MaxUnscaled(int precision) {
  return precision >= 18 ? INT64_MAX : Pow10(precision) - 1;
}

bool IsSupportedType(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::DOUBLE:
    case arrow::Type::BOOL:
    case arrow::Type::DECIMAL128:
    case arrow::Type::DATE32:
    case arrow::Type::STRING:
      return true;
    case arrow::Type::TIMESTAMP: {
      const auto& ts = static_cast<const arrow::TimestampType&>(type);
      return ts.unit() == arrow::TimeUnit::MICRO && ts.timezone() == "UTC";
    }
    default:
      return false;
  }
}

bool IsInteger(const arrow::DataType& type) {
  return type.id() == arrow::Type::INT32 || type.id() == arrow::Type::INT64;
}

// Every constraint on one column; the message names the column.
arrow::Status CheckColumn(const ColumnSpec& spec, int64_t rows) {
  const std::string where = " (column '" + spec.name + "')";
  if (spec.name.empty()) return arrow::Status::Invalid("column name must not be empty");
  if (spec.type == nullptr || !IsSupportedType(*spec.type)) {
    return arrow::Status::Invalid(
        "generate supports the types int32, int64, float64, bool, decimal(p, s), date, "
        "timestamp (microseconds, UTC) and string, got ",
        spec.type ? spec.type->ToString() : "none", where);
  }
  const arrow::DataType& type = *spec.type;
  if (!(spec.null_fraction >= 0.0 && spec.null_fraction <= 1.0)) {
    return arrow::Status::Invalid("null_fraction must be in [0, 1], got ",
                                  spec.null_fraction, where);
  }
  if (spec.sequence) {
    if (!IsInteger(type)) {
      return arrow::Status::Invalid("sequence applies only to int32 and int64 columns",
                                    where);
    }
    if (spec.max) {
      return arrow::Status::Invalid("max cannot be combined with sequence", where);
    }
    const int64_t lo = spec.min.value_or(0);
    const int64_t limit = type.id() == arrow::Type::INT32 ? INT32_MAX : INT64_MAX;
    if (rows > 0 &&
        (lo > limit - (rows - 1) ||
         lo < (type.id() == arrow::Type::INT32 ? int64_t{INT32_MIN} : INT64_MIN))) {
      return arrow::Status::Invalid("sequence starting at ", lo, " overflows ",
                                    type.ToString(), " for ", rows, " rows", where);
    }
  }
  if (spec.min && spec.max && *spec.min > *spec.max) {
    return arrow::Status::Invalid("min must not exceed max, got min ", *spec.min,
                                  " and max ", *spec.max, where);
  }
  if (type.id() == arrow::Type::INT32) {
    for (const auto& bound : {spec.min, spec.max}) {
      if (bound && (*bound < INT32_MIN || *bound > INT32_MAX)) {
        return arrow::Status::Invalid("bound ", *bound, " does not fit int32", where);
      }
    }
  }
  if (type.id() == arrow::Type::DOUBLE &&
      !(std::isfinite(spec.min_float) && std::isfinite(spec.max_float) &&
        spec.min_float <= spec.max_float)) {
    return arrow::Status::Invalid("min must not exceed max, got min ", spec.min_float,
                                  " and max ", spec.max_float, where);
  }
  if (type.id() == arrow::Type::DECIMAL128) {
    const int precision = static_cast<const arrow::Decimal128Type&>(type).precision();
    for (const auto& bound : {spec.min, spec.max}) {
      if (bound &&
          (*bound > MaxUnscaled(precision) || *bound < -MaxUnscaled(precision))) {
        return arrow::Status::Invalid("bound does not fit ", type.ToString(), where);
      }
    }
  }
  if (type.id() == arrow::Type::TIMESTAMP && spec.min && spec.max &&
      *spec.min == *spec.max) {
    return arrow::Status::Invalid("timestamp range [min, max) is empty", where);
  }
  if (type.id() == arrow::Type::STRING) {
    if (spec.min_length < 0 || spec.max_length < spec.min_length ||
        spec.max_length > kMaxStringLength) {
      return arrow::Status::Invalid(
          "string lengths need 0 <= min_length <= max_length <= ", kMaxStringLength,
          ", got ", spec.min_length, " and ", spec.max_length, where);
    }
    if (spec.cardinality < 0 || spec.cardinality > kMaxCardinality) {
      return arrow::Status::Invalid("cardinality must be in [0, ", kMaxCardinality,
                                    "], got ", spec.cardinality, where);
    }
  }
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<const ColumnGenerator>> MakeGenerator(
    const ColumnSpec& spec, uint64_t seed) {
  using Range32 = IntegerGenerator<int32_t>::Range;
  using Range64 = IntegerGenerator<int64_t>::Range;
  // Span of the inclusive range [lo, hi]; 0 stands for all 2^64 values.
  auto inclusive_span = [](int64_t lo, int64_t hi) {
    return static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
  };
  switch (spec.type->id()) {
    case arrow::Type::INT32: {
      const int64_t lo = spec.min.value_or(0), hi = spec.max.value_or(1'000'000);
      return std::make_shared<IntegerGenerator<int32_t>>(spec, seed, lo,
                                                         inclusive_span(lo, hi));
    }
    case arrow::Type::INT64: {
      const int64_t lo = spec.min.value_or(0), hi = spec.max.value_or(1'000'000);
      return std::make_shared<IntegerGenerator<int64_t>>(spec, seed, lo,
                                                         inclusive_span(lo, hi));
    }
    case arrow::Type::DATE32: {
      if (!spec.min && !spec.max) {
        return std::make_shared<IntegerGenerator<int32_t>>(spec, seed, 0, 0,
                                                           Range32::kRunYear);
      }
      const int64_t hi = spec.max.value_or(*spec.min + 364);
      const int64_t lo = spec.min.value_or(hi - 364);
      return std::make_shared<IntegerGenerator<int32_t>>(spec, seed, lo,
                                                         inclusive_span(lo, hi));
    }
    case arrow::Type::TIMESTAMP: {
      if (!spec.min && !spec.max) {
        return std::make_shared<IntegerGenerator<int64_t>>(spec, seed, 0, 0,
                                                           Range64::kRunDay);
      }
      const int64_t lo = spec.min.value_or(*spec.max - kMicrosPerDay);
      const int64_t hi = spec.max.value_or(*spec.min + kMicrosPerDay);
      return std::make_shared<IntegerGenerator<int64_t>>(
          spec, seed, lo, static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo));
    }
    case arrow::Type::DOUBLE:
      return std::make_shared<Float64Generator>(spec, seed);
    case arrow::Type::BOOL:
      return std::make_shared<BoolGenerator>(spec, seed);
    case arrow::Type::DECIMAL128: {
      const auto& dt = static_cast<const arrow::Decimal128Type&>(*spec.type);
      const int64_t default_max =
          std::min(MaxUnscaled(dt.precision()),
                   dt.scale() + 6 >= 18 ? INT64_MAX : Pow10(dt.scale() + 6) - 1);
      const int64_t lo = spec.min.value_or(0), hi = spec.max.value_or(default_max);
      return std::make_shared<DecimalGenerator>(spec, seed, lo, inclusive_span(lo, hi));
    }
    case arrow::Type::STRING: {
      if (!spec.values.empty()) {
        return std::make_shared<ChoiceStringGenerator>(spec, seed, spec.values);
      }
      if (spec.cardinality > 0) {
        // The dictionary: cardinality random strings from their own stream.
        const auto column = RandomStringColumn::Of(
            spec, Mix(seed ^ HashName(spec.name) ^ 0x6469637464696374ULL));
        std::vector<std::string> choices;
        for (int64_t k = 0; k < spec.cardinality; ++k) {
          choices.push_back(RandomString(column, RowHash(column.stream, k)));
        }
        return std::make_shared<ChoiceStringGenerator>(spec, seed, choices);
      }
      return std::make_shared<RandomStringGenerator>(spec, seed);
    }
    default:
      return arrow::Status::Invalid("unsupported generate column type ",
                                    spec.type->ToString());
  }
}

// ---------------------------------------------------------------------------------------
// Option parsing of one `columns` entry.

ColumnSpec ParseColumn(const ConfigNode& node, int64_t rows) {
  ColumnSpec spec;
  spec.name = node.RequireString("name");
  ConfigNode type_node = node.Require("type");
  if (!type_node.IsNull()) {
    auto type = sources::ParseColumnType(type_node.AsString());
    if (type.ok()) {
      spec.type = *type;
    } else {
      type_node.Error("'" + type_node.path() + "': " + type.status().message());
    }
  }
  ConfigNode null_fraction = node.Get("null_fraction");
  if (!null_fraction.IsNull()) {
    spec.null_fraction = null_fraction.AsDouble();
    if (spec.null_fraction < 0.0 || spec.null_fraction > 1.0) {
      null_fraction.Error("'" + null_fraction.path() + "' must be between 0 and 1");
      spec.null_fraction = 0.0;
    }
  }
  spec.sequence = node.GetBool("sequence", false);

  const arrow::Type::type id = spec.type ? spec.type->id() : arrow::Type::NA;
  auto not_for_type = [&](std::string_view key, std::string_view applies_to) {
    if (spec.type == nullptr || !node.Has(key)) return;
    node.Get(key).Error("'" + std::string(key) + "' applies only to " +
                        std::string(applies_to) + " columns, not " +
                        spec.type->ToString());
  };
  // Bounds, read according to the column type.
  for (const char* key : {"min", "max"}) {
    ConfigNode bound = node.Get(key);
    if (bound.IsNull() || spec.type == nullptr) continue;
    std::optional<int64_t>& integer_bound = key[1] == 'i' ? spec.min : spec.max;
    double& float_bound = key[1] == 'i' ? spec.min_float : spec.max_float;
    const std::string text = bound.AsString();
    const std::string what = "'" + bound.path() + "' must be ";
    switch (id) {
      case arrow::Type::INT32:
      case arrow::Type::INT64:
        integer_bound = bound.AsInt();
        break;
      case arrow::Type::DOUBLE:
        float_bound = bound.AsDouble();
        break;
      case arrow::Type::DECIMAL128: {
        const int32_t scale =
            static_cast<const arrow::Decimal128Type&>(*spec.type).scale();
        arrow::Decimal128 value;
        int32_t precision = 0, text_scale = 0;
        if (!arrow::Decimal128::FromString(text, &value, &precision, &text_scale).ok()) {
          bound.Error(what + "a decimal number, got '" + text + "'");
          break;
        }
        auto rescaled = value.Rescale(text_scale, scale);
        auto unscaled = rescaled.ok() ? rescaled->ToInteger<int64_t>()
                                      : arrow::Result<int64_t>(rescaled.status());
        if (!unscaled.ok()) {
          bound.Error(what + "representable with scale " + std::to_string(scale) +
                      ", got '" + text + "'");
          break;
        }
        integer_bound = *unscaled;
        break;
      }
      case arrow::Type::DATE32: {
        auto days = sources::ParseIsoDate(text);
        if (!days) {
          bound.Error(what + "a date YYYY-MM-DD, got '" + text + "'");
        } else {
          integer_bound = *days;
        }
        break;
      }
      case arrow::Type::TIMESTAMP: {
        auto micros = sources::ParseIsoTimestamp(text);
        if (!micros) {
          bound.Error(what + "an ISO-8601 timestamp, got '" + text + "'");
        } else {
          integer_bound = *micros;
        }
        break;
      }
      default:
        bound.Error("'" + std::string(key) +
                    "' applies only to number, date and timestamp columns, not " +
                    spec.type->ToString());
    }
  }
  if (id == arrow::Type::STRING) {
    spec.min_length =
        static_cast<int32_t>(node.GetInt("min_length", 8, 0, kMaxStringLength));
    spec.max_length = static_cast<int32_t>(
        node.GetInt("max_length", std::max(24, spec.min_length), 0, kMaxStringLength));
    spec.cardinality = node.GetInt("cardinality", 0, 1, kMaxCardinality);
    if (node.Has("values")) {
      spec.values = node.GetStringList("values");
      if (spec.values.empty()) node.Get("values").Error("'values' must not be empty");
    }
    const std::string charset = node.GetEnum("charset", "alnum", {"alnum", "text"});
    spec.charset =
        charset == "text" ? ColumnSpec::Charset::kText : ColumnSpec::Charset::kAlnum;
  } else {
    for (const char* key :
         {"min_length", "max_length", "cardinality", "values", "charset"}) {
      not_for_type(key, "string");
    }
  }
  if (spec.type != nullptr && !spec.name.empty()) {
    if (arrow::Status st = CheckColumn(spec, rows); !st.ok()) node.Error(st.message());
  }
  node.CheckNoUnknownKeys();
  return spec;
}

// ---------------------------------------------------------------------------------------
// Reading one partition.

class GenerateReader : public PartitionReader {
 public:
  GenerateReader(std::shared_ptr<arrow::Schema> schema,
                 std::vector<std::shared_ptr<const ColumnGenerator>> generators,
                 int64_t first, int64_t end, int64_t batch_rows, int64_t run_day,
                 arrow::MemoryPool* memory_pool)
      : schema_(std::move(schema)),
        generators_(std::move(generators)),
        next_(first),
        end_(end),
        batch_rows_(batch_rows),
        run_day_(run_day),
        memory_pool_(memory_pool) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    if (next_ >= end_) return nullptr;
    const int64_t n = std::min(batch_rows_, end_ - next_);
    std::vector<std::shared_ptr<arrow::Array>> columns;
    columns.reserve(generators_.size());
    for (const auto& generator : generators_) {
      ARROW_ASSIGN_OR_RAISE(auto column,
                            generator->Generate(next_, n, run_day_, memory_pool_));
      columns.push_back(std::move(column));
    }
    next_ += n;
    return arrow::RecordBatch::Make(schema_, n, std::move(columns));
  }

 private:
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::shared_ptr<const ColumnGenerator>> generators_;
  int64_t next_;
  int64_t end_;
  int64_t batch_rows_;
  int64_t run_day_;
  arrow::MemoryPool* memory_pool_;
};

// Days since the epoch of the run's day: its value as YYYY-MM-DD, else 2024-01-01.
int64_t RunDay(const RunInstance& run) {
  if (auto day = sources::ParseIsoDate(run.value)) return *day;
  return sources::DaysFromCivil(2024, 1, 1);
}

}  // namespace generate_internal

using generate_internal::ColumnGenerator;
using generate_internal::ColumnSpec;

std::vector<GenerateConsumer::ColumnSpec> GenerateConsumer::Mixed10() {
  std::vector<ColumnSpec> columns(10);
  columns[0].name = "id";
  columns[0].type = arrow::int64();
  columns[0].sequence = true;
  columns[1].name = "account_id";
  columns[1].type = arrow::int32();
  columns[1].min = 1;
  columns[1].max = 100'000;
  columns[2].name = "amount";
  columns[2].type = arrow::decimal128(18, 4);
  columns[2].min = 100;          // 0.0100
  columns[2].max = 100'000'000;  // 10000.0000
  columns[3].name = "price";
  columns[3].type = arrow::float64();
  columns[3].min_float = 0.5;
  columns[3].max_float = 1000.0;
  columns[4].name = "created_at";
  columns[4].type = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  columns[5].name = "name";
  columns[5].type = arrow::utf8();
  columns[5].min_length = 8;
  columns[5].max_length = 24;
  columns[6].name = "country";
  columns[6].type = arrow::utf8();
  columns[6].values = {"US", "DE", "FR", "GB", "IT", "ES", "NL", "BE", "CH", "AT",
                       "SE", "NO", "DK", "FI", "PL", "CZ", "PT", "IE", "GR", "HU",
                       "RO", "BG", "HR", "SK", "SI", "LT", "LV", "EE", "CA", "MX",
                       "BR", "AR", "CL", "CO", "PE", "JP", "KR", "CN", "IN", "SG",
                       "AU", "NZ", "ZA", "EG", "NG", "KE", "TR", "IL", "AE", "SA"};
  columns[7].name = "is_active";
  columns[7].type = arrow::boolean();
  columns[8].name = "score";
  columns[8].type = arrow::float64();
  columns[8].min_float = 0.0;
  columns[8].max_float = 100.0;
  columns[8].null_fraction = 0.1;
  columns[9].name = "comment";
  columns[9].type = arrow::utf8();
  columns[9].min_length = 10;
  columns[9].max_length = 40;
  columns[9].charset = ColumnSpec::Charset::kText;
  columns[9].null_fraction = 0.3;
  return columns;
}

arrow::Result<GenerateConsumer::Options> GenerateConsumer::ParseOptions(
    const ConfigNode& node, const ComponentContext& context) {
  const size_t errors_before = sources::ErrorCount(*node.diagnostics());
  Options options;
  if (!node.Require("rows").IsNull()) options.rows = node.GetInt("rows", 0, 0);
  options.partitions = node.GetInt("partitions", 1, 1, 1'000'000);
  options.seed = static_cast<uint64_t>(node.GetInt("seed", 42));
  options.batch_rows = sources::ParseBatchRows(node, context);
  const bool has_preset = node.Has("preset");
  node.GetEnum("preset", "mixed10", {"mixed10"});
  ConfigNode columns = node.Get("columns");
  if (!columns.IsNull()) {
    if (has_preset)
      node.Get("preset").Error("use either 'preset' or 'columns', not both");
    std::set<std::string> names;
    for (const ConfigNode& element : columns.Elements()) {
      if (!element.IsMap()) {
        element.Error("'" + element.path() +
                      "' must be a map like {name: id, type: int64}");
        continue;
      }
      ColumnSpec spec = generate_internal::ParseColumn(element, options.rows);
      if (!spec.name.empty() && !names.insert(spec.name).second) {
        element.Error("duplicate column name '" + spec.name + "'");
      }
      options.columns.push_back(std::move(spec));
    }
    if (columns.IsSequence() && options.columns.empty()) {
      columns.Error("'" + columns.path() + "' must name at least one column");
    }
  } else {
    options.columns = Mixed10();
  }
  ARROW_RETURN_NOT_OK(sources::FinishOptions(node, errors_before));
  return options;
}

arrow::Result<std::unique_ptr<GenerateConsumer>> GenerateConsumer::Make(Options options) {
  if (options.rows < 0)
    return arrow::Status::Invalid("rows must be >= 0, got ", options.rows);
  if (options.partitions < 1) {
    return arrow::Status::Invalid("partitions must be >= 1, got ", options.partitions);
  }
  if (options.batch_rows < 1) {
    return arrow::Status::Invalid("batch_rows must be >= 1, got ", options.batch_rows);
  }
  if (options.columns.empty()) return arrow::Status::Invalid("no columns to generate");
  std::set<std::string> names;
  arrow::FieldVector fields;
  std::vector<std::shared_ptr<const ColumnGenerator>> generators;
  for (const ColumnSpec& spec : options.columns) {
    ARROW_RETURN_NOT_OK(generate_internal::CheckColumn(spec, options.rows));
    if (!names.insert(spec.name).second) {
      return arrow::Status::Invalid("duplicate column name '", spec.name, "'");
    }
    fields.push_back(arrow::field(spec.name, spec.type, spec.null_fraction > 0.0));
    ARROW_ASSIGN_OR_RAISE(auto generator,
                          generate_internal::MakeGenerator(spec, options.seed));
    generators.push_back(std::move(generator));
  }
  return std::unique_ptr<GenerateConsumer>(new GenerateConsumer(
      std::move(options), arrow::schema(std::move(fields)), std::move(generators)));
}

GenerateConsumer::GenerateConsumer(
    Options options, std::shared_ptr<arrow::Schema> schema,
    std::vector<std::shared_ptr<const ColumnGenerator>> generators)
    : options_(std::move(options)),
      schema_(std::move(schema)),
      generators_(std::move(generators)) {}

GenerateConsumer::~GenerateConsumer() = default;

arrow::Result<std::shared_ptr<arrow::Schema>> GenerateConsumer::InferSchema() {
  return schema_;
}

void GenerateConsumer::PartitionRange(int64_t index, int64_t* first, int64_t* end) const {
  using Wide = __int128;
  *first = static_cast<int64_t>(Wide{index} * options_.rows / options_.partitions);
  *end = static_cast<int64_t>(Wide{index + 1} * options_.rows / options_.partitions);
}

std::string GenerateConsumer::PartitionId(int64_t index) const {
  const size_t width = std::max<size_t>(
      5, std::to_string(std::max<int64_t>(0, options_.partitions - 1)).size());
  std::string digits = std::to_string(index);
  return "p" + std::string(width - std::min(width, digits.size()), '0') + digits;
}

arrow::Result<std::vector<PartitionSpec>> GenerateConsumer::PlanPartitions(
    const RunInstance&) {
  std::vector<PartitionSpec> partitions;
  partitions.reserve(static_cast<size_t>(options_.partitions));
  for (int64_t k = 0; k < options_.partitions; ++k) {
    int64_t first = 0, end = 0;
    PartitionRange(k, &first, &end);
    partitions.push_back(
        {PartitionId(k),
         "rows [" + std::to_string(first) + ", " + std::to_string(end) + ")", end - first,
         sources::SplitText({{"first", first}, {"end", end}})});
  }
  return partitions;
}

arrow::Result<std::unique_ptr<PartitionReader>> GenerateConsumer::OpenPartition(
    const PartitionContext& context) {
  ARROW_ASSIGN_OR_RAISE(auto split,
                        sources::SplitReader::Parse(context.partition, "generate"));
  ARROW_ASSIGN_OR_RAISE(int64_t first, split.Int("first"));
  ARROW_ASSIGN_OR_RAISE(int64_t end, split.Int("end"));
  if (first < 0 || end < first || end > options_.rows) {
    return split.Malformed("rows [" + std::to_string(first) + ", " + std::to_string(end) +
                           ") are not within the " + std::to_string(options_.rows) +
                           " rows of the consumer");
  }
  return std::make_unique<generate_internal::GenerateReader>(
      schema_, generators_, first, end, options_.batch_rows,
      generate_internal::RunDay(context.run), context.memory_pool);
}

void RegisterGenerateConsumer(ComponentRegistry& registry) {
  registry.RegisterConsumer(
      "generate",
      [](const ConfigNode& node,
         const ComponentContext& context) -> arrow::Result<std::unique_ptr<Consumer>> {
        ARROW_ASSIGN_OR_RAISE(auto options,
                              GenerateConsumer::ParseOptions(node, context));
        ARROW_ASSIGN_OR_RAISE(auto consumer, GenerateConsumer::Make(std::move(options)));
        return std::unique_ptr<Consumer>(std::move(consumer));
      });
}

}  // namespace jetflow
