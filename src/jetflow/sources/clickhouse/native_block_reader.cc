// NativeBlockReader: ClickHouse `FORMAT Native` blocks decoded column by column straight
// into Arrow buffers (format: docs/formats/clickhouse-native.md).
//
// One ColumnDecoder per column, built once from the planned type. Fixed-width columns
// are read with one Read into the Arrow buffer (or converted in small chunks when the
// Arrow type is wider); strings build offsets + data without per-row allocation. A small
// read-ahead window (WireReader) keeps VarUInts and short strings off the virtual
// InputStream::Read path.
#include <arpa/inet.h>
#include <arrow/api.h>
#include <arrow/array/concatenate.h>
#include <arrow/util/bit_util.h>
#include <arrow/util/decimal.h>
#include <arrow/util/utf8.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "jetflow/sources/clickhouse/native_format.h"
#include "jetflow/sources/invalid_utf8.h"

namespace jetflow::clickhouse {

namespace {

// Read-ahead window over the input stream.
class WireReader {
 public:
  static constexpr int64_t kCapacity = int64_t{64} * 1024;

  explicit WireReader(std::shared_ptr<arrow::io::InputStream> input)
      : input_(std::move(input)), window_(new uint8_t[kCapacity]) {}

  /// Stream offset of the next unread byte.
  int64_t offset() const { return window_start_ + pos_; }
  int64_t available() const { return end_ - pos_; }
  const uint8_t* current() const { return window_.get() + pos_; }
  void Advance(int64_t n) { pos_ += n; }

  arrow::Status Truncated() const {
    return arrow::Status::SerializationError("stream ends inside a block at byte offset ",
                                             offset());
  }

  /// Makes at least n (<= kCapacity) bytes available; Truncated if the stream ends.
  arrow::Status Ensure(int64_t n) {
    if (available() >= n) return arrow::Status::OK();
    ARROW_RETURN_NOT_OK(Fill(n));
    if (available() < n) return Truncated();
    return arrow::Status::OK();
  }

  /// Up to n (<= kCapacity) bytes made available, fewer only at the end of the stream.
  arrow::Status Fill(int64_t n) {
    if (available() >= n) return arrow::Status::OK();
    if (pos_ > 0) {
      std::memmove(window_.get(), window_.get() + pos_, available());
      window_start_ += pos_;
      end_ -= pos_;
      pos_ = 0;
    }
    while (end_ < n && !eof_) {
      ARROW_ASSIGN_OR_RAISE(int64_t got,
                            input_->Read(kCapacity - end_, window_.get() + end_));
      if (got == 0) eof_ = true;
      end_ += got;
    }
    return arrow::Status::OK();
  }

  /// True at a clean end of the stream (no byte left).
  arrow::Result<bool> AtEnd() {
    ARROW_RETURN_NOT_OK(Fill(1));
    return available() == 0;
  }

  arrow::Status ReadVarUInt(uint64_t* out) {
    if (available() >= 10) {
      const uint8_t* p = current();
      uint64_t value = 0;
      for (int i = 0; i < 10; ++i) {
        value |= static_cast<uint64_t>(p[i] & 0x7f) << (7 * i);
        if ((p[i] & 0x80) == 0) {
          pos_ += i + 1;
          *out = value;
          return arrow::Status::OK();
        }
      }
      return arrow::Status::SerializationError(
          "VarUInt longer than 10 bytes at byte offset ", offset());
    }
    uint64_t value = 0;
    for (int i = 0; i < 10; ++i) {
      ARROW_RETURN_NOT_OK(Ensure(1));
      const uint8_t byte = window_[pos_++];
      value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) {
        *out = value;
        return arrow::Status::OK();
      }
    }
    return arrow::Status::SerializationError(
        "VarUInt longer than 10 bytes at byte offset ", offset() - 10);
  }

  template <typename T>
  arrow::Status ReadLE(T* out) {
    ARROW_RETURN_NOT_OK(Ensure(sizeof(T)));
    std::memcpy(out, current(), sizeof(T));
    pos_ += sizeof(T);
    return arrow::Status::OK();
  }

  /// Copies n bytes to `dest`; large reads go straight from the stream into `dest`.
  arrow::Status ReadBytes(uint8_t* dest, int64_t n) {
    const int64_t buffered = std::min(n, available());
    if (buffered > 0) std::memcpy(dest, current(), buffered);
    pos_ += buffered;
    dest += buffered;
    n -= buffered;
    if (n == 0) return arrow::Status::OK();
    if (n < kCapacity / 2) {
      ARROW_RETURN_NOT_OK(Ensure(n));
      std::memcpy(dest, current(), n);
      pos_ += n;
      return arrow::Status::OK();
    }
    // The window is empty here: keep the offset arithmetic exact.
    window_start_ += pos_;
    pos_ = end_ = 0;
    while (n > 0) {
      if (eof_) return Truncated();
      ARROW_ASSIGN_OR_RAISE(int64_t got, input_->Read(n, dest));
      if (got == 0) {
        eof_ = true;
        return Truncated();
      }
      window_start_ += got;
      dest += got;
      n -= got;
    }
    return arrow::Status::OK();
  }

  arrow::Status Skip(int64_t n) {
    while (n > 0) {
      const int64_t chunk = std::min<int64_t>(n, kCapacity);
      ARROW_RETURN_NOT_OK(Ensure(chunk));
      pos_ += chunk;
      n -= chunk;
    }
    return arrow::Status::OK();
  }

 private:
  std::shared_ptr<arrow::io::InputStream> input_;
  std::unique_ptr<uint8_t[]> window_;
  int64_t window_start_ = 0;  // stream offset of window_[0]
  int64_t pos_ = 0;
  int64_t end_ = 0;
  bool eof_ = false;
};

// A dictionary key (LowCardinality) that was not valid UTF-8 and was replaced.
struct InvalidKey {
  int64_t index;  // within the keys read
  sources::InvalidUtf8Position position;
};

// Per-block decoding state shared by the column decoders.
struct DecodeContext {
  WireReader* in;
  arrow::MemoryPool* pool;
  int64_t budget_left;
  int64_t max_block_bytes;
  /// String values replaced under `invalid_utf8: replace` in the column being read.
  int64_t replaced = 0;
  /// Set by LowCardinality while it reads dictionary keys: invalid keys are then
  /// replaced whatever the policy and listed here, and LowCardinality applies the
  /// policy to the rows that use them (a key no row uses changes nothing).
  std::vector<InvalidKey>* invalid_keys = nullptr;

  arrow::Status Corrupt(const std::string& what) const {
    return arrow::Status::SerializationError(what, " at byte offset ", in->offset());
  }

  /// Accounts for `bytes` of the block before they are allocated.
  arrow::Status Charge(int64_t bytes) {
    if (bytes < 0 || bytes > budget_left) {
      return arrow::Status::SerializationError(
          "block declares more data than max_block_bytes (", max_block_bytes,
          ") at byte offset ", in->offset());
    }
    budget_left -= bytes;
    return arrow::Status::OK();
  }

  arrow::Result<std::shared_ptr<arrow::Buffer>> Allocate(int64_t bytes) {
    ARROW_RETURN_NOT_OK(Charge(bytes));
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buffer,
                          arrow::AllocateBuffer(bytes, pool));
    return buffer;
  }

  /// Checks `rows` for a column whose every row costs at least one byte on the wire.
  arrow::Status CheckRows(uint64_t rows) const {
    if (rows > static_cast<uint64_t>(budget_left)) {
      return arrow::Status::SerializationError(
          "block declares more rows than max_block_bytes (", max_block_bytes,
          ") allows at byte offset ", in->offset());
    }
    return arrow::Status::OK();
  }
};

using ArrayDataPtr = std::shared_ptr<arrow::ArrayData>;

// A String value that is not valid UTF-8 under `invalid_utf8: error`, at `index` among
// the values a decoder read. Containers rewrite the index to their own rows (an array
// element to its array's row); the reader adds the column and the row in the stream.
class InvalidUtf8Detail : public arrow::StatusDetail {
 public:
  static constexpr const char* kTypeId = "jetflow::clickhouse::InvalidUtf8Detail";
  InvalidUtf8Detail(int64_t index, sources::InvalidUtf8Position position)
      : index_(index), position_(position) {}
  const char* type_id() const override { return kTypeId; }
  std::string ToString() const override {
    return "invalid UTF-8 in value " + std::to_string(index_);
  }
  int64_t index() const { return index_; }
  sources::InvalidUtf8Position position() const { return position_; }

 private:
  int64_t index_;
  sources::InvalidUtf8Position position_;
};

arrow::Status InvalidUtf8At(int64_t index, sources::InvalidUtf8Position position) {
  return arrow::Status(arrow::StatusCode::Invalid, "String value is not valid UTF-8",
                       std::make_shared<InvalidUtf8Detail>(index, position));
}

const InvalidUtf8Detail* InvalidUtf8Of(const arrow::Status& status) {
  const auto& detail = status.detail();
  if (detail == nullptr || detail->type_id() != InvalidUtf8Detail::kTypeId) {
    return nullptr;
  }
  return static_cast<const InvalidUtf8Detail*>(detail.get());
}

class ColumnDecoder {
 public:
  explicit ColumnDecoder(std::shared_ptr<arrow::DataType> type)
      : type_(std::move(type)) {}
  virtual ~ColumnDecoder() = default;

  /// Reads the column's serialization prefix (LowCardinality key versions, nested ones
  /// included), which precedes all of the column's data in each block.
  virtual arrow::Status ReadPrefix(DecodeContext*) { return arrow::Status::OK(); }

  /// Reads `rows` values. REQUIRES: ctx->CheckRows(rows) passed.
  virtual arrow::Result<ArrayDataPtr> Decode(DecodeContext* ctx, int64_t rows) = 0;

  /// Reads the values of a Nullable column: rows whose bit in `validity` is clear are
  /// NULL, and their wire value is the type's zero, which need not be a value of the
  /// type (an Enum without a 0 entry): such a value must not fail. `validity` is
  /// nullptr when no row is NULL. REQUIRES: as Decode.
  virtual arrow::Result<ArrayDataPtr> DecodeUnderNullMap(DecodeContext* ctx, int64_t rows,
                                                         const uint8_t* validity) {
    return Decode(ctx, rows);
  }

  const std::shared_ptr<arrow::DataType>& type() const { return type_; }

 protected:
  std::shared_ptr<arrow::DataType> type_;
};

arrow::Result<std::unique_ptr<ColumnDecoder>> MakeDecoder(
    const ClickHouseType& type, sources::InvalidUtf8 invalid_utf8);

// --- fixed width --------------------------------------------------------------------

// Wire values of the same width and layout as the Arrow values: one read.
class CopyDecoder : public ColumnDecoder {
 public:
  CopyDecoder(std::shared_ptr<arrow::DataType> type, int width)
      : ColumnDecoder(std::move(type)), width_(width) {}

  arrow::Result<ArrayDataPtr> Decode(DecodeContext* ctx, int64_t rows) override {
    ARROW_ASSIGN_OR_RAISE(auto values, ctx->Allocate(rows * width_));
    ARROW_RETURN_NOT_OK(ctx->in->ReadBytes(values->mutable_data(), rows * width_));
    ARROW_RETURN_NOT_OK(Check(ctx, values->data(), rows));
    return arrow::ArrayData::Make(type_, rows, {nullptr, std::move(values)}, 0);
  }

 protected:
  virtual arrow::Status Check(DecodeContext*, const uint8_t*, int64_t) {
    return arrow::Status::OK();
  }

  int width_;
};

// Decimals whose wire width equals Arrow's (Decimal128 → decimal128, 256 → 256), and
// 256-bit integers: values beyond the declared precision would be garbled by readers.
class DecimalCopyDecoder : public CopyDecoder {
 public:
  DecimalCopyDecoder(std::shared_ptr<arrow::DataType> type, int width, int precision,
                     bool is_unsigned)
      : CopyDecoder(std::move(type), width),
        precision_(precision),
        unsigned_(is_unsigned) {}

 protected:
  arrow::Status Check(DecodeContext* ctx, const uint8_t* data, int64_t rows) override {
    for (int64_t i = 0; i < rows; ++i) {
      const uint8_t* value = data + i * width_;
      bool fits;
      if (width_ == 16) {
        fits = arrow::Decimal128(value).FitsInPrecision(precision_);
      } else {
        fits = !(unsigned_ && (value[31] & 0x80)) &&
               arrow::Decimal256(value).FitsInPrecision(precision_);
      }
      if (!fits) {
        return ctx->Corrupt("value at row " + std::to_string(i) + " has more than " +
                            std::to_string(precision_) + " digits");
      }
    }
    return arrow::Status::OK();
  }

 private:
  int precision_;
  bool unsigned_;
};

// Wire values converted one by one into a different Arrow layout, in chunks read
// through a small scratch buffer.
template <typename Wire, int kOutWidth, typename Convert>
class ConvertDecoder : public ColumnDecoder {
 public:
  ConvertDecoder(std::shared_ptr<arrow::DataType> type, Convert convert)
      : ColumnDecoder(std::move(type)), convert_(std::move(convert)) {}

  arrow::Result<ArrayDataPtr> Decode(DecodeContext* ctx, int64_t rows) override {
    ARROW_ASSIGN_OR_RAISE(auto values, ctx->Allocate(rows * kOutWidth));
    uint8_t* out = values->mutable_data();
    constexpr int64_t kChunk = 4096;
    Wire scratch[kChunk];
    for (int64_t done = 0; done < rows;) {
      const int64_t n = std::min(kChunk, rows - done);
      ARROW_RETURN_NOT_OK(
          ctx->in->ReadBytes(reinterpret_cast<uint8_t*>(scratch), n * sizeof(Wire)));
      for (int64_t i = 0; i < n; ++i) {
        if (!convert_(scratch[i], out + (done + i) * kOutWidth)) {
          return ctx->Corrupt("value " + std::to_string(scratch[i]) + " at row " +
                              std::to_string(done + i) + " does not fit " +
                              type_->ToString());
        }
      }
      done += n;
    }
    return arrow::ArrayData::Make(type_, rows, {nullptr, std::move(values)}, 0);
  }

 private:
  Convert convert_;
};

template <typename Wire, int kOutWidth, typename Convert>
std::unique_ptr<ColumnDecoder> MakeConvert(std::shared_ptr<arrow::DataType> type,
                                           Convert convert) {
  return std::make_unique<ConvertDecoder<Wire, kOutWidth, Convert>>(std::move(type),
                                                                    std::move(convert));
}

// 128-bit integers (and Decimal widths narrower than Arrow's) sign- or zero-extended.
class WidenBytesDecoder : public ColumnDecoder {
 public:
  WidenBytesDecoder(std::shared_ptr<arrow::DataType> type, int in_width, int out_width,
                    bool is_signed, int precision)
      : ColumnDecoder(std::move(type)),
        in_width_(in_width),
        out_width_(out_width),
        signed_(is_signed),
        precision_(precision) {}

  arrow::Result<ArrayDataPtr> Decode(DecodeContext* ctx, int64_t rows) override {
    ARROW_ASSIGN_OR_RAISE(auto values, ctx->Allocate(rows * out_width_));
    uint8_t* out = values->mutable_data();
    constexpr int64_t kChunkBytes = int64_t{32} * 1024;
    uint8_t scratch[kChunkBytes];
    const int64_t per_chunk = kChunkBytes / in_width_;
    for (int64_t done = 0; done < rows;) {
      const int64_t n = std::min(per_chunk, rows - done);
      ARROW_RETURN_NOT_OK(ctx->in->ReadBytes(scratch, n * in_width_));
      for (int64_t i = 0; i < n; ++i) {
        const uint8_t* in = scratch + i * in_width_;
        uint8_t* o = out + (done + i) * out_width_;
        std::memcpy(o, in, in_width_);
        const uint8_t fill = (signed_ && (in[in_width_ - 1] & 0x80)) ? 0xff : 0x00;
        std::memset(o + in_width_, fill, out_width_ - in_width_);
        if (precision_ > 0 && !Fits(o)) {
          return ctx->Corrupt("value at row " + std::to_string(done + i) +
                              " has more than " + std::to_string(precision_) + " digits");
        }
      }
      done += n;
    }
    return arrow::ArrayData::Make(type_, rows, {nullptr, std::move(values)}, 0);
  }

 private:
  bool Fits(const uint8_t* value) const {
    if (out_width_ == 16) return arrow::Decimal128(value).FitsInPrecision(precision_);
    return arrow::Decimal256(value).FitsInPrecision(precision_);
  }

  int in_width_;
  int out_width_;
  bool signed_;
  int precision_;  // 0: no check (every value fits)
};

class BoolDecoder : public ColumnDecoder {
 public:
  BoolDecoder() : ColumnDecoder(arrow::boolean()) {}

  arrow::Result<ArrayDataPtr> Decode(DecodeContext* ctx, int64_t rows) override {
    ARROW_ASSIGN_OR_RAISE(auto bits, ctx->Allocate(arrow::bit_util::BytesForBits(rows)));
    uint8_t* out = bits->mutable_data();
    std::memset(out, 0, bits->size());
    for (int64_t done = 0; done < rows;) {
      ARROW_RETURN_NOT_OK(ctx->in->Ensure(1));
      const int64_t n = std::min(rows - done, ctx->in->available());
      const uint8_t* p = ctx->in->current();
      for (int64_t i = 0; i < n; ++i) {
        if (p[i] != 0) arrow::bit_util::SetBit(out, done + i);
      }
      ctx->in->Advance(n);
      done += n;
    }
    return arrow::ArrayData::Make(type_, rows, {nullptr, std::move(bits)}, 0);
  }
};

// Two little-endian UInt64 halves, high half first → the 16 bytes in canonical order.
class UuidDecoder : public ColumnDecoder {
 public:
  explicit UuidDecoder(std::shared_ptr<arrow::DataType> type)
      : ColumnDecoder(std::move(type)) {}

  arrow::Result<ArrayDataPtr> Decode(DecodeContext* ctx, int64_t rows) override {
    ARROW_ASSIGN_OR_RAISE(auto values, ctx->Allocate(rows * 16));
    uint8_t* out = values->mutable_data();
    ARROW_RETURN_NOT_OK(ctx->in->ReadBytes(out, rows * 16));
    for (int64_t i = 0; i < rows * 2; ++i) {
      uint64_t half;
      std::memcpy(&half, out + i * 8, 8);
      half = __builtin_bswap64(half);
      std::memcpy(out + i * 8, &half, 8);
    }
    return arrow::ArrayData::Make(type_, rows, {nullptr, std::move(values)}, 0);
  }
};

// --- strings --------------------------------------------------------------------------

// Offsets + data being built; the data buffer grows geometrically, charged to the block.
class StringBuilder {
 public:
  arrow::Status Init(DecodeContext* ctx, int64_t rows, int64_t data_guess) {
    ARROW_ASSIGN_OR_RAISE(offsets_, ctx->Allocate((rows + 1) * sizeof(int32_t)));
    offsets_data_ = reinterpret_cast<int32_t*>(offsets_->mutable_data());
    offsets_data_[0] = 0;
    data_guess = std::min(data_guess, ctx->budget_left);
    ARROW_RETURN_NOT_OK(ctx->Charge(data_guess));
    ARROW_ASSIGN_OR_RAISE(data_, arrow::AllocateResizableBuffer(data_guess, ctx->pool));
    capacity_ = data_guess;
    size_ = 0;
    return arrow::Status::OK();
  }

  /// Room for `n` more bytes; returns where they go.
  arrow::Result<uint8_t*> Reserve(DecodeContext* ctx, uint64_t n) {
    if (n > static_cast<uint64_t>(std::numeric_limits<int32_t>::max() - size_)) {
      return ctx->Corrupt("strings of one column exceed 2 GiB in one block");
    }
    const int64_t needed = size_ + static_cast<int64_t>(n);
    if (needed > capacity_) {
      int64_t grown = std::max<int64_t>(needed, capacity_ * 2);
      grown = std::min<int64_t>(grown, std::max(needed, capacity_ + ctx->budget_left));
      ARROW_RETURN_NOT_OK(ctx->Charge(grown - capacity_));
      ARROW_RETURN_NOT_OK(data_->Resize(grown, /*shrink_to_fit=*/false));
      capacity_ = grown;
    }
    return data_->mutable_data() + size_;
  }

  void Commit(int64_t row, int64_t n) {
    size_ += n;
    offsets_data_[row + 1] = static_cast<int32_t>(size_);
  }

  int64_t size() const { return size_; }
  const uint8_t* data() const { return data_->data(); }
  const int32_t* offsets() const { return offsets_data_; }

  arrow::Result<ArrayDataPtr> Finish(const std::shared_ptr<arrow::DataType>& type,
                                     int64_t rows) {
    ARROW_RETURN_NOT_OK(data_->Resize(size_, /*shrink_to_fit=*/false));
    return arrow::ArrayData::Make(type, rows, {nullptr, offsets_, data_}, 0);
  }

 private:
  std::shared_ptr<arrow::Buffer> offsets_;
  int32_t* offsets_data_ = nullptr;
  std::shared_ptr<arrow::ResizableBuffer> data_;
  int64_t capacity_ = 0;
  int64_t size_ = 0;
};

void InitializeUtf8Once() {
  static std::once_flag once;
  std::call_once(once, [] { arrow::util::InitializeUTF8(); });
}

// True if every value is valid UTF-8: the whole data at once, then that no value starts
// inside a character (a value that ends inside one is then followed by one that starts
// inside it, or by the end of the data, which the first check covers).
bool AllValidUtf8(const StringBuilder& strings, int64_t rows) {
  if (!arrow::util::ValidateUTF8(strings.data(), strings.size())) return false;
  const int32_t* offsets = strings.offsets();
  const uint8_t* data = strings.data();
  for (int64_t i = 0; i < rows; ++i) {
    if (offsets[i] < offsets[i + 1] && (data[offsets[i]] & 0xc0) == 0x80) return false;
  }
  return true;
}

// ClickHouse strings are bytes; Arrow utf8 promises UTF-8, so each block's values are
// checked and the column's `invalid_utf8` policy applied (binary: the type is binary
// and nothing is checked).
class StringDecoder : public ColumnDecoder {
 public:
  explicit StringDecoder(sources::InvalidUtf8 policy)
      : ColumnDecoder(policy == sources::InvalidUtf8::kBinary ? arrow::binary()
                                                              : arrow::utf8()),
        policy_(policy) {
    InitializeUtf8Once();
  }

  arrow::Result<ArrayDataPtr> Decode(DecodeContext* ctx, int64_t rows) override {
    StringBuilder strings;
    ARROW_RETURN_NOT_OK(strings.Init(ctx, rows, rows * 16));
    WireReader* in = ctx->in;
    for (int64_t i = 0; i < rows; ++i) {
      uint64_t length;
      // Fast path: a one-byte length and the whole string in the window.
      if (in->available() > 0 && (in->current()[0] & 0x80) == 0 &&
          static_cast<int64_t>(in->current()[0]) < in->available()) {
        length = in->current()[0];
        in->Advance(1);
        ARROW_ASSIGN_OR_RAISE(uint8_t * dest, strings.Reserve(ctx, length));
        std::memcpy(dest, in->current(), length);
        in->Advance(length);
      } else {
        ARROW_RETURN_NOT_OK(in->ReadVarUInt(&length));
        ARROW_ASSIGN_OR_RAISE(uint8_t * dest, strings.Reserve(ctx, length));
        ARROW_RETURN_NOT_OK(in->ReadBytes(dest, static_cast<int64_t>(length)));
      }
      strings.Commit(i, static_cast<int64_t>(length));
    }
    if (policy_ == sources::InvalidUtf8::kBinary || AllValidUtf8(strings, rows)) {
      return strings.Finish(type_, rows);
    }
    return Repair(ctx, &strings, rows);
  }

 private:
  // Some value is not valid UTF-8: fails naming the first (policy error), or copies
  // the values with invalid sequences replaced by U+FFFD.
  arrow::Result<ArrayDataPtr> Repair(DecodeContext* ctx, StringBuilder* strings,
                                     int64_t rows) {
    const int32_t* offsets = strings->offsets();
    const uint8_t* data = strings->data();
    const bool keys = ctx->invalid_keys != nullptr;
    if (policy_ == sources::InvalidUtf8::kError && !keys) {
      for (int64_t i = 0; i < rows; ++i) {
        auto invalid =
            sources::FindInvalidUtf8(data + offsets[i], offsets[i + 1] - offsets[i]);
        if (invalid) return InvalidUtf8At(i, *invalid);
      }
    }
    StringBuilder fixed;
    ARROW_RETURN_NOT_OK(fixed.Init(ctx, rows, strings->size()));
    for (int64_t i = 0; i < rows; ++i) {
      const uint8_t* value = data + offsets[i];
      const int64_t size = offsets[i + 1] - offsets[i];
      auto invalid = sources::FindInvalidUtf8(value, size);
      if (!invalid) {
        ARROW_ASSIGN_OR_RAISE(uint8_t * dest, fixed.Reserve(ctx, size));
        std::memcpy(dest, value, size);
        fixed.Commit(i, size);
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(uint8_t * dest,
                            fixed.Reserve(ctx, sources::MaxReplacedSize(size)));
      fixed.Commit(i, sources::ReplaceInvalidUtf8(value, size, dest));
      if (keys) {
        ctx->invalid_keys->push_back({i, *invalid});
      } else {
        ++ctx->replaced;
      }
    }
    return fixed.Finish(type_, rows);
  }

  sources::InvalidUtf8 policy_;
};

class FixedStringDecoder : public CopyDecoder {
 public:
  explicit FixedStringDecoder(int width)
      : CopyDecoder(arrow::fixed_size_binary(width), width) {}
};

class IPv4Decoder : public ColumnDecoder {
 public:
  IPv4Decoder() : ColumnDecoder(arrow::utf8()) {}

  arrow::Result<ArrayDataPtr> Decode(DecodeContext* ctx, int64_t rows) override {
    StringBuilder strings;
    ARROW_RETURN_NOT_OK(strings.Init(ctx, rows, rows * 15));
    for (int64_t i = 0; i < rows; ++i) {
      uint32_t value;
      ARROW_RETURN_NOT_OK(ctx->in->ReadLE(&value));
      ARROW_ASSIGN_OR_RAISE(uint8_t * dest, strings.Reserve(ctx, 15));
      char* p = reinterpret_cast<char*>(dest);
      char* const start = p;
      for (int octet = 3; octet >= 0; --octet) {
        p = std::to_chars(p, p + 3, (value >> (8 * octet)) & 0xff).ptr;
        if (octet > 0) *p++ = '.';
      }
      strings.Commit(i, p - start);
    }
    return strings.Finish(type_, rows);
  }
};

class IPv6Decoder : public ColumnDecoder {
 public:
  IPv6Decoder() : ColumnDecoder(arrow::utf8()) {}

  arrow::Result<ArrayDataPtr> Decode(DecodeContext* ctx, int64_t rows) override {
    StringBuilder strings;
    ARROW_RETURN_NOT_OK(strings.Init(ctx, rows, rows * 16));
    for (int64_t i = 0; i < rows; ++i) {
      uint8_t address[16];
      ARROW_RETURN_NOT_OK(ctx->in->ReadBytes(address, 16));
      char text[INET6_ADDRSTRLEN];
      if (inet_ntop(AF_INET6, address, text, sizeof(text)) == nullptr) {
        return ctx->Corrupt("cannot format IPv6 address");
      }
      const size_t length = std::strlen(text);
      ARROW_ASSIGN_OR_RAISE(uint8_t * dest, strings.Reserve(ctx, length));
      std::memcpy(dest, text, length);
      strings.Commit(i, static_cast<int64_t>(length));
    }
    return strings.Finish(type_, rows);
  }
};

// --- Enum -----------------------------------------------------------------------------

// Values (sparse, possibly negative) → positions in the dictionary of names, which is
// built once and shared by every block.
template <typename Wire>
class EnumDecoder : public ColumnDecoder {
 public:
  static arrow::Result<std::unique_ptr<ColumnDecoder>> Make(const ClickHouseType& type) {
    auto decoder = std::unique_ptr<EnumDecoder>(new EnumDecoder());
    arrow::StringBuilder names;
    // Wire's range, computed without converting an int8_t (a signed char) to int64_t.
    constexpr int64_t kMax = (int64_t{1} << (8 * sizeof(Wire) - 1)) - 1;
    constexpr int64_t kMin = -kMax - 1;
    for (const std::string& entry : type.parameters) {
      const size_t eq = entry.rfind('=');
      int64_t value = 0;
      const char* begin = eq == std::string::npos ? nullptr : entry.data() + eq + 1;
      const char* end = entry.data() + entry.size();
      if (begin != nullptr && begin < end && *begin == '+') ++begin;
      auto [ptr, ec] = begin == nullptr
                           ? std::from_chars_result{nullptr, std::errc::invalid_argument}
                           : std::from_chars(begin, end, value);
      if (ec != std::errc() || ptr != end || value < kMin || value > kMax) {
        return arrow::Status::Invalid("ClickHouse type '", type.spelling, "': entry '",
                                      entry, "' is not 'name' = value in range");
      }
      int32_t& slot = decoder->index_[value - kMin];
      if (slot >= 0) {
        return arrow::Status::Invalid("ClickHouse type '", type.spelling, "': value ",
                                      value, " appears twice");
      }
      slot = static_cast<int32_t>(names.length());
      ARROW_RETURN_NOT_OK(names.Append(entry.data(), static_cast<int64_t>(eq)));
    }
    ARROW_ASSIGN_OR_RAISE(auto dictionary, names.Finish());
    decoder->dictionary_ = dictionary->data();
    return decoder;
  }

  arrow::Result<ArrayDataPtr> Decode(DecodeContext* ctx, int64_t rows) override {
    return DecodeUnderNullMap(ctx, rows, nullptr);
  }

  // A NULL row of Nullable(Enum) carries 0 on the wire, which the Enum may not have: it
  // gets the first name (any index will do under a NULL).
  arrow::Result<ArrayDataPtr> DecodeUnderNullMap(DecodeContext* ctx, int64_t rows,
                                                 const uint8_t* validity) override {
    ARROW_ASSIGN_OR_RAISE(auto indices, ctx->Allocate(rows * sizeof(int32_t)));
    int32_t* out = reinterpret_cast<int32_t*>(indices->mutable_data());
    constexpr int64_t kChunk = 4096;
    Wire scratch[kChunk];
    for (int64_t done = 0; done < rows;) {
      const int64_t n = std::min(kChunk, rows - done);
      ARROW_RETURN_NOT_OK(
          ctx->in->ReadBytes(reinterpret_cast<uint8_t*>(scratch), n * sizeof(Wire)));
      for (int64_t i = 0; i < n; ++i) {
        int32_t index =
            index_[static_cast<int64_t>(scratch[i]) - std::numeric_limits<Wire>::min()];
        if (index < 0) {
          if (validity == nullptr || arrow::bit_util::GetBit(validity, done + i)) {
            return ctx->Corrupt("Enum value " + std::to_string(scratch[i]) + " at row " +
                                std::to_string(done + i) + " is not in the type");
          }
          index = 0;
        }
        out[done + i] = index;
      }
      done += n;
    }
    auto data = arrow::ArrayData::Make(type_, rows, {nullptr, std::move(indices)}, 0);
    data->dictionary = dictionary_;
    return data;
  }

 private:
  EnumDecoder()
      : ColumnDecoder(arrow::dictionary(arrow::int32(), arrow::utf8())),
        index_(size_t{1} << (8 * sizeof(Wire)), -1) {}

  std::vector<int32_t> index_;
  ArrayDataPtr dictionary_;
};

// --- Nothing, Nullable
// ------------------------------------------------------------------

class NothingDecoder : public ColumnDecoder {
 public:
  NothingDecoder() : ColumnDecoder(arrow::null()) {}

  arrow::Result<ArrayDataPtr> Decode(DecodeContext* ctx, int64_t rows) override {
    ARROW_RETURN_NOT_OK(ctx->in->Skip(rows));
    return arrow::ArrayData::Make(type_, rows, {nullptr}, rows);
  }
};

/// Validity bitmap from a ClickHouse null map (one byte per row, nonzero = NULL).
arrow::Status ReadNullMap(DecodeContext* ctx, int64_t rows,
                          std::shared_ptr<arrow::Buffer>* bitmap, int64_t* null_count) {
  ARROW_ASSIGN_OR_RAISE(*bitmap, ctx->Allocate(arrow::bit_util::BytesForBits(rows)));
  uint8_t* out = (*bitmap)->mutable_data();
  std::memset(out, 0, (*bitmap)->size());
  int64_t nulls = 0;
  for (int64_t done = 0; done < rows;) {
    ARROW_RETURN_NOT_OK(ctx->in->Ensure(1));
    const int64_t n = std::min(rows - done, ctx->in->available());
    const uint8_t* p = ctx->in->current();
    for (int64_t i = 0; i < n; ++i) {
      const bool valid = p[i] == 0;
      nulls += !valid;
      out[(done + i) >> 3] |= static_cast<uint8_t>(valid) << ((done + i) & 7);
    }
    ctx->in->Advance(n);
    done += n;
  }
  *null_count = nulls;
  return arrow::Status::OK();
}

class NullableDecoder : public ColumnDecoder {
 public:
  explicit NullableDecoder(std::unique_ptr<ColumnDecoder> inner)
      : ColumnDecoder(inner->type()), inner_(std::move(inner)) {}

  arrow::Status ReadPrefix(DecodeContext* ctx) override {
    return inner_->ReadPrefix(ctx);
  }

  arrow::Result<ArrayDataPtr> Decode(DecodeContext* ctx, int64_t rows) override {
    std::shared_ptr<arrow::Buffer> bitmap;
    int64_t null_count = 0;
    ARROW_RETURN_NOT_OK(ReadNullMap(ctx, rows, &bitmap, &null_count));
    ARROW_ASSIGN_OR_RAISE(
        ArrayDataPtr data,
        inner_->DecodeUnderNullMap(ctx, rows, null_count > 0 ? bitmap->data() : nullptr));
    if (data->type->id() == arrow::Type::NA) return data;
    data->buffers[0] = null_count > 0 ? std::move(bitmap) : nullptr;
    data->null_count = null_count;
    return data;
  }

 private:
  std::unique_ptr<ColumnDecoder> inner_;
};

// --- Array, Map, Tuple ----------------------------------------------------------------

/// Reads `rows` cumulative UInt64 end offsets into Arrow int32 offsets.
arrow::Result<std::shared_ptr<arrow::Buffer>> ReadOffsets(DecodeContext* ctx,
                                                          int64_t rows, int64_t* total) {
  ARROW_ASSIGN_OR_RAISE(auto offsets, ctx->Allocate((rows + 1) * sizeof(int32_t)));
  int32_t* out = reinterpret_cast<int32_t*>(offsets->mutable_data());
  out[0] = 0;
  uint64_t previous = 0;
  constexpr int64_t kChunk = 4096;
  uint64_t scratch[kChunk];
  for (int64_t done = 0; done < rows;) {
    const int64_t n = std::min(kChunk, rows - done);
    ARROW_RETURN_NOT_OK(
        ctx->in->ReadBytes(reinterpret_cast<uint8_t*>(scratch), n * sizeof(uint64_t)));
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t end = scratch[i];
      if (end < previous ||
          end > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
        return ctx->Corrupt("array offset " + std::to_string(end) + " at row " +
                            std::to_string(done + i) +
                            " is out of order or exceeds 2^31 elements");
      }
      out[done + i + 1] = static_cast<int32_t>(end);
      previous = end;
    }
    done += n;
  }
  *total = static_cast<int64_t>(previous);
  ARROW_RETURN_NOT_OK(ctx->CheckRows(previous));
  return offsets;
}

// Array(T), and Map(K, V), which is serialized as Array(Tuple(K, V)): offsets, then the
// values (Arrow's list and map arrays have the same layout).
class ArrayDecoder : public ColumnDecoder {
 public:
  ArrayDecoder(std::shared_ptr<arrow::DataType> type,
               std::unique_ptr<ColumnDecoder> value)
      : ColumnDecoder(std::move(type)), value_(std::move(value)) {}

  arrow::Status ReadPrefix(DecodeContext* ctx) override {
    return value_->ReadPrefix(ctx);
  }

  arrow::Result<ArrayDataPtr> Decode(DecodeContext* ctx, int64_t rows) override {
    int64_t total = 0;
    ARROW_ASSIGN_OR_RAISE(auto offsets, ReadOffsets(ctx, rows, &total));
    auto values = value_->Decode(ctx, total);
    if (!values.ok()) {
      const InvalidUtf8Detail* invalid = InvalidUtf8Of(values.status());
      if (invalid == nullptr) return values.status();
      // The row whose elements [ends[row - 1], ends[row]) hold the invalid one.
      const int32_t* ends = reinterpret_cast<const int32_t*>(offsets->data()) + 1;
      const int64_t row = std::upper_bound(ends, ends + rows, invalid->index()) - ends;
      return InvalidUtf8At(row, invalid->position());
    }
    return arrow::ArrayData::Make(type_, rows, {nullptr, std::move(offsets)},
                                  {std::move(*values)}, 0);
  }

 private:
  std::unique_ptr<ColumnDecoder> value_;
};

class TupleDecoder : public ColumnDecoder {
 public:
  TupleDecoder(std::shared_ptr<arrow::DataType> type,
               std::vector<std::unique_ptr<ColumnDecoder>> elements)
      : ColumnDecoder(std::move(type)), elements_(std::move(elements)) {}

  arrow::Status ReadPrefix(DecodeContext* ctx) override {
    for (auto& element : elements_) ARROW_RETURN_NOT_OK(element->ReadPrefix(ctx));
    return arrow::Status::OK();
  }

  arrow::Result<ArrayDataPtr> Decode(DecodeContext* ctx, int64_t rows) override {
    std::vector<ArrayDataPtr> children;
    for (auto& element : elements_) {
      ARROW_ASSIGN_OR_RAISE(ArrayDataPtr child, element->Decode(ctx, rows));
      children.push_back(std::move(child));
    }
    return arrow::ArrayData::Make(type_, rows, {nullptr}, std::move(children), 0);
  }

 private:
  std::vector<std::unique_ptr<ColumnDecoder>> elements_;
};

// --- LowCardinality
// ---------------------------------------------------------------------

// Serialization "SharedDictionariesWithAdditionalKeys": a UInt64 version in the column
// prefix, then granules of
//   UInt64 index type | flags, [UInt64 n + n global dictionary keys],
//   [UInt64 n + n additional keys], UInt64 rows, rows indexes (UInt8/16/32/64).
// Indexes below the global dictionary's size refer to it, the rest to the additional
// keys. The Arrow dictionary of a block is every key column read in it, concatenated;
// indexes are rebased onto it, so nothing is copied in the usual single-granule case.
class LowCardinalityDecoder : public ColumnDecoder {
 public:
  static constexpr uint64_t kSharedDictionariesWithAdditionalKeys = 1;
  static constexpr uint64_t kNeedGlobalDictionary = 1u << 8;
  static constexpr uint64_t kHasAdditionalKeys = 1u << 9;
  static constexpr uint64_t kNeedUpdateDictionary = 1u << 10;

  LowCardinalityDecoder(std::shared_ptr<arrow::DataType> type,
                        std::unique_ptr<ColumnDecoder> keys, bool nullable,
                        sources::InvalidUtf8 policy)
      : ColumnDecoder(std::move(type)),
        keys_(std::move(keys)),
        nullable_(nullable),
        policy_(policy) {}

  arrow::Status ReadPrefix(DecodeContext* ctx) override {
    uint64_t version;
    ARROW_RETURN_NOT_OK(ctx->in->ReadLE(&version));
    if (version != kSharedDictionariesWithAdditionalKeys) {
      return ctx->Corrupt("unknown LowCardinality serialization version " +
                          std::to_string(version));
    }
    return arrow::Status::OK();
  }

  arrow::Result<ArrayDataPtr> Decode(DecodeContext* ctx, int64_t rows) override {
    ARROW_ASSIGN_OR_RAISE(auto indices, ctx->Allocate(rows * sizeof(int32_t)));
    int32_t* out = reinterpret_cast<int32_t*>(indices->mutable_data());
    std::shared_ptr<arrow::Buffer> bitmap;
    int64_t null_count = 0;
    if (nullable_) {
      ARROW_ASSIGN_OR_RAISE(bitmap, ctx->Allocate(arrow::bit_util::BytesForBits(rows)));
      std::memset(bitmap->mutable_data(), 0xff, bitmap->size());
    }
    std::vector<ArrayDataPtr> pieces;
    std::vector<InvalidKey> invalid_keys;  // positions in the block's dictionary
    int64_t dictionary_size = 0;
    bool have_global = false;
    int64_t global_base = 0;
    int64_t global_size = 0;
    if (rows == 0) ARROW_RETURN_NOT_OK(SkipLegacyEmptyGranule(ctx));
    for (int64_t done = 0; done < rows;) {
      uint64_t index_type;
      ARROW_RETURN_NOT_OK(ctx->in->ReadLE(&index_type));
      const uint64_t width_code = index_type & 0xff;
      if ((index_type & ~uint64_t{0x7ff}) != 0 || width_code > 3) {
        return ctx->Corrupt("bad LowCardinality index type " +
                            std::to_string(index_type));
      }
      const bool need_global = (index_type & kNeedGlobalDictionary) != 0;
      if (need_global && (!have_global || (index_type & kNeedUpdateDictionary) != 0)) {
        ARROW_ASSIGN_OR_RAISE(ArrayDataPtr global,
                              ReadKeys(ctx, dictionary_size, &invalid_keys));
        global_base = dictionary_size;
        global_size = global->length;
        dictionary_size += global_size;
        have_global = true;
        pieces.push_back(std::move(global));
      }
      int64_t additional_base = dictionary_size;
      int64_t additional_size = 0;
      if ((index_type & kHasAdditionalKeys) != 0) {
        ARROW_ASSIGN_OR_RAISE(ArrayDataPtr additional,
                              ReadKeys(ctx, dictionary_size, &invalid_keys));
        additional_size = additional->length;
        dictionary_size += additional_size;
        pieces.push_back(std::move(additional));
      }
      if (dictionary_size > std::numeric_limits<int32_t>::max()) {
        return ctx->Corrupt("LowCardinality dictionary exceeds 2^31 keys");
      }
      uint64_t granule_rows;
      ARROW_RETURN_NOT_OK(ctx->in->ReadLE(&granule_rows));
      if (granule_rows > static_cast<uint64_t>(rows - done)) {
        return ctx->Corrupt("LowCardinality granule of " + std::to_string(granule_rows) +
                            " rows exceeds the block's remaining " +
                            std::to_string(rows - done));
      }
      const Mapping mapping{need_global,     global_base,     global_size,
                            additional_base, additional_size, nullable_};
      const int64_t n = static_cast<int64_t>(granule_rows);
      switch (width_code) {
        case 0:
          ARROW_RETURN_NOT_OK(ReadIndexes<uint8_t>(ctx, mapping, done, n, out, bitmap));
          break;
        case 1:
          ARROW_RETURN_NOT_OK(ReadIndexes<uint16_t>(ctx, mapping, done, n, out, bitmap));
          break;
        case 2:
          ARROW_RETURN_NOT_OK(ReadIndexes<uint32_t>(ctx, mapping, done, n, out, bitmap));
          break;
        default:
          ARROW_RETURN_NOT_OK(ReadIndexes<uint64_t>(ctx, mapping, done, n, out, bitmap));
          break;
      }
      done += n;
    }
    if (!invalid_keys.empty()) {
      ARROW_RETURN_NOT_OK(ApplyPolicy(ctx, invalid_keys, dictionary_size, out, rows));
    }
    if (nullable_) {
      null_count = rows - arrow::internal::CountSetBits(bitmap->data(), 0, rows);
      if (null_count == 0) bitmap = nullptr;
    }
    const auto& value_type =
        static_cast<const arrow::DictionaryType&>(*type_).value_type();
    ArrayDataPtr dictionary;
    if (pieces.size() == 1) {
      dictionary = std::move(pieces[0]);
    } else if (pieces.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto empty, arrow::MakeEmptyArray(value_type, ctx->pool));
      dictionary = empty->data();
    } else {
      arrow::ArrayVector arrays;
      for (auto& piece : pieces) arrays.push_back(arrow::MakeArray(piece));
      ARROW_ASSIGN_OR_RAISE(auto merged, arrow::Concatenate(arrays, ctx->pool));
      dictionary = merged->data();
    }
    auto data = arrow::ArrayData::Make(
        type_, rows, {std::move(bitmap), std::move(indices)}, null_count);
    data->dictionary = std::move(dictionary);
    return data;
  }

 private:
  struct Mapping {
    bool need_global;
    int64_t global_base;
    int64_t global_size;
    int64_t additional_base;
    int64_t additional_size;
    bool nullable;
  };

  // One key column; the keys that were not valid UTF-8 (replaced) are added to
  // `invalid` at `base` + their index.
  arrow::Result<ArrayDataPtr> ReadKeys(DecodeContext* ctx, int64_t base,
                                       std::vector<InvalidKey>* invalid) {
    uint64_t count;
    ARROW_RETURN_NOT_OK(ctx->in->ReadLE(&count));
    ARROW_RETURN_NOT_OK(ctx->CheckRows(count));
    std::vector<InvalidKey> found;
    ctx->invalid_keys = &found;
    auto keys = keys_->Decode(ctx, static_cast<int64_t>(count));
    ctx->invalid_keys = nullptr;
    for (const InvalidKey& key : found)
      invalid->push_back({base + key.index, key.position});
    return keys;
  }

  // The column's `invalid_utf8` policy for the rows whose key was replaced: the first
  // fails (error), or each counts as a replaced value.
  arrow::Status ApplyPolicy(DecodeContext* ctx, const std::vector<InvalidKey>& invalid,
                            int64_t dictionary_size, const int32_t* indexes,
                            int64_t rows) const {
    std::vector<int32_t> slot(dictionary_size, -1);  // -> position in `invalid`
    for (size_t i = 0; i < invalid.size(); ++i) {
      slot[invalid[i].index] = static_cast<int32_t>(i);
    }
    for (int64_t row = 0; row < rows; ++row) {
      const int32_t found = slot[indexes[row]];
      if (found < 0) continue;
      if (policy_ == sources::InvalidUtf8::kError) {
        return InvalidUtf8At(row, invalid[found].position);
      }
      ++ctx->replaced;
    }
    return arrow::Status::OK();
  }

  template <typename Index>
  arrow::Status ReadIndexes(DecodeContext* ctx, const Mapping& m, int64_t first,
                            int64_t rows, int32_t* out,
                            const std::shared_ptr<arrow::Buffer>& bitmap) {
    constexpr int64_t kChunk = 4096;
    Index scratch[kChunk];
    uint8_t* validity = bitmap ? bitmap->mutable_data() : nullptr;
    for (int64_t done = 0; done < rows;) {
      const int64_t n = std::min(kChunk, rows - done);
      ARROW_RETURN_NOT_OK(
          ctx->in->ReadBytes(reinterpret_cast<uint8_t*>(scratch), n * sizeof(Index)));
      for (int64_t i = 0; i < n; ++i) {
        const uint64_t index = scratch[i];
        const int64_t row = first + done + i;
        int64_t mapped;
        bool is_null;
        if (m.need_global && index < static_cast<uint64_t>(m.global_size)) {
          mapped = m.global_base + static_cast<int64_t>(index);
          is_null = m.nullable && index == 0;
        } else {
          const uint64_t key = m.need_global ? index - m.global_size : index;
          if (key >= static_cast<uint64_t>(m.additional_size)) {
            return ctx->Corrupt("LowCardinality index " + std::to_string(index) +
                                " at row " + std::to_string(row) +
                                " is outside the dictionary");
          }
          mapped = m.additional_base + static_cast<int64_t>(key);
          is_null = m.nullable && !m.need_global && key == 0;
        }
        out[row] = static_cast<int32_t>(mapped);
        if (is_null) arrow::bit_util::ClearBit(validity, row);
      }
      done += n;
    }
    return arrow::Status::OK();
  }

  // ClickHouse before 21.x wrote a granule header for an empty LowCardinality column
  // (e.g. the values of a block whose arrays are all empty): the default key(s) and a
  // row count of 0. Newer servers write nothing. Only that exact shape is consumed.
  arrow::Status SkipLegacyEmptyGranule(DecodeContext* ctx) {
    ARROW_RETURN_NOT_OK(ctx->in->Fill(16));
    if (ctx->in->available() < 16) return arrow::Status::OK();
    uint64_t index_type;
    uint64_t count;
    std::memcpy(&index_type, ctx->in->current(), 8);
    std::memcpy(&count, ctx->in->current() + 8, 8);
    if (index_type != (kHasAdditionalKeys | kNeedUpdateDictionary) || count < 1 ||
        count > 2) {
      return arrow::Status::OK();
    }
    ctx->in->Advance(8);
    std::vector<InvalidKey> unused;
    ARROW_RETURN_NOT_OK(ReadKeys(ctx, 0, &unused).status());
    uint64_t granule_rows;
    ARROW_RETURN_NOT_OK(ctx->in->ReadLE(&granule_rows));
    if (granule_rows != 0) {
      return ctx->Corrupt("LowCardinality granule has rows in an empty column");
    }
    return arrow::Status::OK();
  }

  std::unique_ptr<ColumnDecoder> keys_;
  bool nullable_;
  sources::InvalidUtf8 policy_;
};

// --- factory
// ----------------------------------------------------------------------------

int64_t Pow10(int exponent) {
  int64_t value = 1;
  for (int i = 0; i < exponent; ++i) value *= 10;
  return value;
}

// One decoder per element type (of a Tuple or a Map's key and value).
arrow::Result<std::vector<std::unique_ptr<ColumnDecoder>>> MakeDecoders(
    const std::vector<ClickHouseType>& types, sources::InvalidUtf8 invalid_utf8) {
  std::vector<std::unique_ptr<ColumnDecoder>> decoders;
  for (const auto& type : types) {
    ARROW_ASSIGN_OR_RAISE(auto decoder, MakeDecoder(type, invalid_utf8));
    decoders.push_back(std::move(decoder));
  }
  return decoders;
}

arrow::Result<std::unique_ptr<ColumnDecoder>> MakeDecoder(
    const ClickHouseType& type, sources::InvalidUtf8 invalid_utf8) {
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::DataType> arrow_type,
                        ArrowTypeFor(type, invalid_utf8));
  const std::string& name = type.name;
  auto copy = [&](int width) -> arrow::Result<std::unique_ptr<ColumnDecoder>> {
    return std::make_unique<CopyDecoder>(arrow_type, width);
  };
  if (name == "Int8" || name == "UInt8") return copy(1);
  if (name == "Int16" || name == "UInt16") return copy(2);
  if (name == "Int32" || name == "UInt32" || name == "Float32" || name == "Date32") {
    return copy(4);
  }
  if (name == "Int64" || name == "UInt64" || name == "Float64") return copy(8);
  if (name == "Bool") return std::make_unique<BoolDecoder>();
  if (name == "String") return std::make_unique<StringDecoder>(invalid_utf8);
  if (name == "FixedString") {
    return std::make_unique<FixedStringDecoder>(
        static_cast<const arrow::FixedSizeBinaryType&>(*arrow_type).byte_width());
  }
  if (name == "UUID") return std::make_unique<UuidDecoder>(arrow_type);
  if (name == "IPv4") return std::make_unique<IPv4Decoder>();
  if (name == "IPv6") return std::make_unique<IPv6Decoder>();
  if (name == "Nothing") return std::make_unique<NothingDecoder>();
  if (name == "Date") {
    return MakeConvert<uint16_t, 4>(arrow_type, [](uint16_t v, uint8_t* out) {
      const int32_t days = v;
      std::memcpy(out, &days, 4);
      return true;
    });
  }
  if (name == "DateTime") {
    return MakeConvert<uint32_t, 8>(arrow_type, [](uint32_t v, uint8_t* out) {
      const int64_t seconds = v;
      std::memcpy(out, &seconds, 8);
      return true;
    });
  }
  if (name == "DateTime64") {
    // ArrowTypeFor checked the precision (0..9).
    int precision = 0;
    const std::string& digits = type.parameters[0];
    std::from_chars(digits.data(), digits.data() + digits.size(), precision);
    const int unit_digits = precision == 0 ? 0 : ((precision + 2) / 3) * 3;
    if (unit_digits == precision) return copy(8);
    const int64_t factor = Pow10(unit_digits - precision);
    return MakeConvert<int64_t, 8>(arrow_type, [factor](int64_t v, uint8_t* out) {
      int64_t scaled;
      if (__builtin_mul_overflow(v, factor, &scaled)) return false;
      std::memcpy(out, &scaled, 8);
      return true;
    });
  }
  if (name == "Int128") {
    return std::make_unique<WidenBytesDecoder>(arrow_type, 16, 32, true, 0);
  }
  if (name == "UInt128") {
    return std::make_unique<WidenBytesDecoder>(arrow_type, 16, 32, false, 0);
  }
  if (name == "Int256" || name == "UInt256") {
    return std::make_unique<DecimalCopyDecoder>(arrow_type, 32, 76, name == "UInt256");
  }
  if (name.rfind("Decimal", 0) == 0) {
    ARROW_ASSIGN_OR_RAISE(DecimalSpec spec, DecimalSpecOf(type));
    const int out_width = spec.precision <= 38 ? 16 : 32;
    if (spec.wire_bytes == out_width) {
      return std::make_unique<DecimalCopyDecoder>(arrow_type, out_width, spec.precision,
                                                  false);
    }
    return std::make_unique<WidenBytesDecoder>(arrow_type, spec.wire_bytes, out_width,
                                               true, spec.precision);
  }
  if (name == "Enum8") return EnumDecoder<int8_t>::Make(type);
  if (name == "Enum16") return EnumDecoder<int16_t>::Make(type);
  if (name == "SimpleAggregateFunction") {
    return MakeDecoder(type.children[0], invalid_utf8);
  }
  if (name == "Nullable") {
    ARROW_ASSIGN_OR_RAISE(auto inner, MakeDecoder(type.children[0], invalid_utf8));
    return std::make_unique<NullableDecoder>(std::move(inner));
  }
  if (name == "Array") {
    ARROW_ASSIGN_OR_RAISE(auto value, MakeDecoder(type.children[0], invalid_utf8));
    return std::make_unique<ArrayDecoder>(arrow_type, std::move(value));
  }
  if (name == "Tuple") {
    ARROW_ASSIGN_OR_RAISE(auto elements, MakeDecoders(type.children, invalid_utf8));
    return std::make_unique<TupleDecoder>(arrow_type, std::move(elements));
  }
  if (name == "Map" || name == "Nested") {
    // Both are serialized as Array(Tuple(...)): Map(K, V) as Array(Tuple(K, V)).
    ARROW_ASSIGN_OR_RAISE(auto elements, MakeDecoders(type.children, invalid_utf8));
    auto entries_type = static_cast<const arrow::BaseListType&>(*arrow_type).value_type();
    auto entries = std::make_unique<TupleDecoder>(entries_type, std::move(elements));
    return std::make_unique<ArrayDecoder>(arrow_type, std::move(entries));
  }
  if (name == "LowCardinality") {
    const ClickHouseType& inner = type.children[0];
    const bool nullable = inner.name == "Nullable";
    ARROW_ASSIGN_OR_RAISE(
        auto keys, MakeDecoder(nullable ? inner.children[0] : inner, invalid_utf8));
    return std::make_unique<LowCardinalityDecoder>(arrow_type, std::move(keys), nullable,
                                                   invalid_utf8);
  }
  return arrow::Status::NotImplemented("ClickHouse type '", type.spelling,
                                       "' is not supported");
}

// --- the reader
// ---------------------------------------------------------------------------

class NativeBlockReaderImpl : public NativeBlockReader {
 public:
  NativeBlockReaderImpl(std::shared_ptr<arrow::io::InputStream> input,
                        std::vector<NativeColumnSpec> columns,
                        std::vector<std::unique_ptr<ColumnDecoder>> decoders,
                        std::shared_ptr<arrow::Schema> schema,
                        NativeReaderOptions options)
      : in_(std::move(input)),
        columns_(std::move(columns)),
        decoders_(std::move(decoders)),
        schema_(std::move(schema)),
        options_(options),
        seen_spellings_(columns_.size()),
        replaced_(columns_.size(), 0) {}

  const std::shared_ptr<arrow::Schema>& schema() const override { return schema_; }
  const std::vector<int64_t>& replaced_values() const override { return replaced_; }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    if (failed_) return arrow::Status::Invalid("NativeBlockReader: read after an error");
    while (true) {
      column_ = -1;
      auto batch = ReadBlock();
      if (!batch.ok()) {
        failed_ = true;
        const arrow::Status& status = batch.status();
        if (const InvalidUtf8Detail* invalid = InvalidUtf8Of(status)) {
          const std::string& name = columns_[column_].name;
          return arrow::Status::Invalid(
              "ClickHouse column '", name, "', row ", rows_ + invalid->index(),
              " (block ", block_,
              "): ", sources::InvalidUtf8Description(invalid->position()), "; ",
              sources::InvalidUtf8Remedy(name));
        }
        if (!status.IsSerializationError()) return status;
        std::string where = "ClickHouse Native block " + std::to_string(block_);
        if (column_ >= 0) where += ", column '" + columns_[column_].name + "'";
        return arrow::Status::SerializationError(where, ": ", status.message());
      }
      if (*batch == nullptr && !at_end_) continue;  // an empty block
      return batch;
    }
  }

 private:
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> ReadBlock() {
    ARROW_ASSIGN_OR_RAISE(bool end, in_.AtEnd());
    if (end) {
      at_end_ = true;
      return nullptr;
    }
    ++block_;
    DecodeContext ctx{&in_, options_.pool, options_.max_block_bytes,
                      options_.max_block_bytes};
    uint64_t num_columns;
    uint64_t num_rows;
    ARROW_RETURN_NOT_OK(in_.ReadVarUInt(&num_columns));
    ARROW_RETURN_NOT_OK(in_.ReadVarUInt(&num_rows));
    if (num_columns != columns_.size()) {
      return ctx.Corrupt("block has " + std::to_string(num_columns) +
                         " columns, expected " + std::to_string(columns_.size()));
    }
    ARROW_RETURN_NOT_OK(ctx.CheckRows(num_rows));
    const int64_t rows = static_cast<int64_t>(num_rows);
    arrow::ArrayVector arrays;
    arrays.reserve(columns_.size());
    for (size_t i = 0; i < columns_.size(); ++i) {
      column_ = static_cast<int>(i);
      ARROW_RETURN_NOT_OK(ReadString(&ctx, &name_));
      if (name_ != columns_[i].name) {
        return ctx.Corrupt("block column is named '" + name_ + "'");
      }
      ARROW_RETURN_NOT_OK(ReadString(&ctx, &type_name_));
      if (type_name_ != seen_spellings_[i]) {
        auto parsed = ParseClickHouseType(type_name_);
        if (!parsed.ok() || !SameClickHouseType(*parsed, columns_[i].type)) {
          return ctx.Corrupt("block column has type '" + type_name_ + "', expected '" +
                             columns_[i].type.spelling + "'");
        }
        seen_spellings_[i] = type_name_;
      }
      // Old servers send no data at all for a block of zero rows (not even prefixes).
      if (rows == 0) {
        ARROW_ASSIGN_OR_RAISE(auto empty,
                              arrow::MakeEmptyArray(decoders_[i]->type(), options_.pool));
        arrays.push_back(std::move(empty));
        continue;
      }
      ARROW_RETURN_NOT_OK(decoders_[i]->ReadPrefix(&ctx));
      ctx.replaced = 0;
      ARROW_ASSIGN_OR_RAISE(ArrayDataPtr data, decoders_[i]->Decode(&ctx, rows));
      replaced_[i] += ctx.replaced;
      arrays.push_back(arrow::MakeArray(data));
    }
    column_ = -1;
    if (rows == 0) return nullptr;
    rows_ += rows;
    return arrow::RecordBatch::Make(schema_, rows, std::move(arrays));
  }

  arrow::Status ReadString(DecodeContext* ctx, std::string* out) {
    uint64_t length;
    ARROW_RETURN_NOT_OK(in_.ReadVarUInt(&length));
    constexpr uint64_t kMaxHeaderString = 1 << 20;
    if (length > kMaxHeaderString) {
      return ctx->Corrupt("column name or type of " + std::to_string(length) + " bytes");
    }
    out->resize(length);
    return in_.ReadBytes(reinterpret_cast<uint8_t*>(out->data()),
                         static_cast<int64_t>(length));
  }

  WireReader in_;
  std::vector<NativeColumnSpec> columns_;
  std::vector<std::unique_ptr<ColumnDecoder>> decoders_;
  std::shared_ptr<arrow::Schema> schema_;
  NativeReaderOptions options_;
  std::vector<std::string> seen_spellings_;
  std::string name_;
  std::string type_name_;
  std::vector<int64_t> replaced_;
  int64_t block_ = 0;
  int64_t rows_ = 0;  // in the blocks before this one
  int column_ = -1;
  bool at_end_ = false;
  bool failed_ = false;
};

}  // namespace

arrow::Result<std::unique_ptr<NativeBlockReader>> NativeBlockReader::Make(
    std::shared_ptr<arrow::io::InputStream> input, std::vector<NativeColumnSpec> columns,
    NativeReaderOptions options) {
  std::vector<std::unique_ptr<ColumnDecoder>> decoders;
  arrow::FieldVector fields;
  for (const auto& column : columns) {
    auto decoder = MakeDecoder(column.type, column.invalid_utf8);
    if (!decoder.ok()) {
      return decoder.status().WithMessage("column '", column.name,
                                          "': ", decoder.status().message());
    }
    fields.push_back(
        arrow::field(column.name, (*decoder)->type(), IsNullableType(column.type)));
    decoders.push_back(std::move(*decoder));
  }
  return std::make_unique<NativeBlockReaderImpl>(
      std::move(input), std::move(columns), std::move(decoders),
      arrow::schema(std::move(fields)), options);
}

}  // namespace jetflow::clickhouse
