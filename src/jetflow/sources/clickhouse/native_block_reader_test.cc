// NativeBlockReader tests. Types the packaged server (18.16) has are checked against its
// real responses (testdata/*_18_16.native, saved with curl ... FORMAT Native); the rest
// against byte fixtures built here by following the format documentation
// (docs/formats/clickhouse-native.md): what no server sends on request, such as global
// LowCardinality dictionaries and corrupt data. A current server's bytes for the newer
// types are tested in native_block_reader_modern_test.cc.
#include <arrow/api.h>
#include <arrow/extension/uuid.h>
#include <arrow/io/memory.h>
#include <arrow/json/from_string.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "jetflow/sources/clickhouse/native_format.h"
#include "jetflow/sources/clickhouse/native_testdata.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow::clickhouse {
namespace {

using ::testing::HasSubstr;

// Builds Native-format bytes by hand.
class NativeFixture {
 public:
  NativeFixture& Block(uint64_t columns, uint64_t rows) {
    return VarUInt(columns).VarUInt(rows);
  }
  NativeFixture& Column(const std::string& name, const std::string& type) {
    return Str(name).Str(type);
  }
  NativeFixture& VarUInt(uint64_t value) {
    do {
      uint8_t byte = value & 0x7f;
      value >>= 7;
      if (value != 0) byte |= 0x80;
      bytes_.push_back(static_cast<char>(byte));
    } while (value != 0);
    return *this;
  }
  NativeFixture& Str(const std::string& text) {
    VarUInt(text.size());
    bytes_ += text;
    return *this;
  }
  template <typename T>
  NativeFixture& LE(T value) {
    char raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));
    bytes_.append(raw, sizeof(T));
    return *this;
  }
  template <typename T>
  NativeFixture& Values(std::initializer_list<T> values) {
    for (T v : values) LE(v);
    return *this;
  }
  NativeFixture& Bytes(const std::string& raw) {
    bytes_ += raw;
    return *this;
  }
  // A 128/256-bit little-endian two's complement integer from 64-bit words, low first.
  NativeFixture& Wide(std::initializer_list<uint64_t> words) {
    for (uint64_t w : words) LE(w);
    return *this;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

using Col = testdata::Column;
using testdata::DescribedColumns;

std::vector<NativeColumnSpec> Specs(const std::vector<Col>& columns) {
  std::vector<NativeColumnSpec> specs;
  for (const auto& c : columns) {
    auto type = ParseClickHouseType(c.type);
    EXPECT_TRUE(type.ok()) << type.status().ToString();
    specs.push_back({c.name, *type});
  }
  return specs;
}

arrow::Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> ReadAll(
    const std::string& bytes, const std::vector<Col>& columns,
    NativeReaderOptions options = {}) {
  auto input =
      std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(bytes));
  ARROW_ASSIGN_OR_RAISE(auto reader,
                        NativeBlockReader::Make(input, Specs(columns), options));
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (batch == nullptr) break;
    ARROW_RETURN_NOT_OK(batch->ValidateFull());
    batches.push_back(batch);
  }
  return batches;
}

// The single column of a single-block stream.
std::shared_ptr<arrow::Array> ReadColumn(const std::string& bytes, const Col& column) {
  auto batches = ReadAll(bytes, {column});
  EXPECT_TRUE(batches.ok()) << batches.status().ToString();
  if (!batches.ok() || batches->size() != 1) return nullptr;
  return (*batches)[0]->column(0);
}

std::shared_ptr<arrow::Array> Json(const std::shared_ptr<arrow::DataType>& type,
                                   const std::string& json) {
  auto array = arrow::json::ArrayFromJSONString(type, json);
  EXPECT_TRUE(array.ok()) << array.status().ToString();
  return array.ok() ? *array : nullptr;
}

#define EXPECT_ARRAY(expected, actual)                                     \
  do {                                                                     \
    auto _e = (expected);                                                  \
    auto _a = (actual);                                                    \
    ASSERT_NE(_a, nullptr);                                                \
    ASSERT_NE(_e, nullptr);                                                \
    EXPECT_TRUE(_e->Equals(*_a))                                           \
        << "expected " << _e->ToString() << "\nactual " << _a->ToString(); \
  } while (false)

// Values of a string or dictionary<string> column, "<null>" for NULL.
std::vector<std::string> Strings(const std::shared_ptr<arrow::Array>& array) {
  std::vector<std::string> out;
  if (array->type_id() == arrow::Type::DICTIONARY) {
    const auto& dict = static_cast<const arrow::DictionaryArray&>(*array);
    const auto& values = static_cast<const arrow::StringArray&>(*dict.dictionary());
    for (int64_t i = 0; i < array->length(); ++i) {
      out.push_back(array->IsNull(i)
                        ? "<null>"
                        : std::string(values.GetView(dict.GetValueIndex(i))));
    }
    return out;
  }
  const auto& strings = static_cast<const arrow::StringArray&>(*array);
  for (int64_t i = 0; i < array->length(); ++i) {
    out.push_back(array->IsNull(i) ? "<null>" : std::string(strings.GetView(i)));
  }
  return out;
}

std::string Testdata(const std::string& name) { return testdata::Read(name); }

// --- fixed width ----------------------------------------------------------------------

TEST(NativeBlockReaderTest, IntegersAtTheirLimits) {
  NativeFixture f;
  f.Block(4, 3).Column("i8", "Int8").Values<int8_t>({-128, 0, 127});
  f.Column("u16", "UInt16").Values<uint16_t>({0, 1, 65535});
  f.Column("i64", "Int64").Values<int64_t>({INT64_MIN, -1, INT64_MAX});
  f.Column("u64", "UInt64").Values<uint64_t>({0, 1, UINT64_MAX});
  auto batches =
      ReadAll(f.bytes(),
              {{"i8", "Int8"}, {"u16", "UInt16"}, {"i64", "Int64"}, {"u64", "UInt64"}});
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  ASSERT_EQ(batches->size(), 1u);
  const auto& batch = *(*batches)[0];
  EXPECT_ARRAY(Json(arrow::int8(), "[-128, 0, 127]"), batch.column(0));
  EXPECT_ARRAY(Json(arrow::uint16(), "[0, 1, 65535]"), batch.column(1));
  EXPECT_ARRAY(Json(arrow::int64(), "[-9223372036854775808, -1, 9223372036854775807]"),
               batch.column(2));
  EXPECT_ARRAY(Json(arrow::uint64(), "[0, 1, 18446744073709551615]"), batch.column(3));
  EXPECT_FALSE(batch.schema()->field(0)->nullable());
}

TEST(NativeBlockReaderTest, BigIntegersAsDecimals) {
  NativeFixture f;
  f.Block(1, 3).Column("v", "Int128");
  f.Wide({0, 0x8000000000000000ULL});           // -2^127
  f.Wide({UINT64_MAX, 0x7fffffffffffffffULL});  // 2^127 - 1
  f.Wide({UINT64_MAX, UINT64_MAX});             // -1
  EXPECT_ARRAY(Json(arrow::decimal256(39, 0),
                    R"(["-170141183460469231731687303715884105728",
                        "170141183460469231731687303715884105727", "-1"])"),
               ReadColumn(f.bytes(), {"v", "Int128"}));
  NativeFixture u;
  u.Block(1, 2).Column("v", "UInt128").Wide({UINT64_MAX, UINT64_MAX}).Wide({5, 0});
  EXPECT_ARRAY(Json(arrow::decimal256(39, 0),
                    R"(["340282366920938463463374607431768211455", "5"])"),
               ReadColumn(u.bytes(), {"v", "UInt128"}));
  // 10^76 - 1 is the largest Int256 that fits decimal256(76, 0).
  auto max76 = arrow::Decimal256::FromString(std::string(76, '9'));
  JETFLOW_ASSERT_OK(max76);
  uint8_t raw[32];
  max76->ToBytes(raw);
  NativeFixture i;
  i.Block(1, 2)
      .Column("v", "Int256")
      .Bytes(std::string(reinterpret_cast<char*>(raw), 32));
  i.Wide({UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX});
  EXPECT_ARRAY(
      Json(arrow::decimal256(76, 0), "[\"" + std::string(76, '9') + "\", \"-1\"]"),
      ReadColumn(i.bytes(), {"v", "Int256"}));
  // Int256 max (77 digits) does not fit: an error, not a garbled value.
  NativeFixture too_big;
  too_big.Block(1, 1)
      .Column("v", "Int256")
      .Wide({UINT64_MAX, UINT64_MAX, UINT64_MAX, 0x7fffffffffffffffULL});
  auto status = ReadAll(too_big.bytes(), {{"v", "Int256"}}).status();
  EXPECT_TRUE(status.IsSerializationError()) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("column 'v'"));
  EXPECT_THAT(status.message(), HasSubstr("more than 76 digits"));
  NativeFixture u256;
  u256.Block(1, 1).Column("v", "UInt256").Wide({0, 0, 0, 0x8000000000000000ULL});
  EXPECT_TRUE(ReadAll(u256.bytes(), {{"v", "UInt256"}}).status().IsSerializationError());
}

TEST(NativeBlockReaderTest, FloatsBoolAndDecimals) {
  NativeFixture f;
  f.Block(6, 2).Column("f", "Float32").Values<float>({-1.5f, 3.25f});
  f.Column("b", "Bool").Values<uint8_t>({1, 0});
  f.Column("d32", "Decimal32(2)").Values<int32_t>({-999999999, 12345});
  f.Column("d64", "Decimal(18, 4)").Values<int64_t>({-999999999999999999, 1});
  f.Column("d128", "Decimal128(10)").Wide({UINT64_MAX - 4, UINT64_MAX}).Wide({7, 0});
  f.Column("d256", "Decimal256(20)")
      .Wide({1, 0, 0, 0})
      .Wide({UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX});
  auto batches = ReadAll(f.bytes(), {{"f", "Float32"},
                                     {"b", "Bool"},
                                     {"d32", "Decimal(9, 2)"},
                                     {"d64", "Decimal64(4)"},
                                     {"d128", "Decimal(38, 10)"},
                                     {"d256", "Decimal256(20)"}});
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  const auto& batch = *(*batches)[0];
  EXPECT_ARRAY(Json(arrow::float32(), "[-1.5, 3.25]"), batch.column(0));
  EXPECT_ARRAY(Json(arrow::boolean(), "[true, false]"), batch.column(1));
  EXPECT_ARRAY(Json(arrow::decimal128(9, 2), R"(["-9999999.99", "123.45"])"),
               batch.column(2));
  EXPECT_ARRAY(Json(arrow::decimal128(18, 4), R"(["-99999999999999.9999", "0.0001"])"),
               batch.column(3));
  EXPECT_ARRAY(Json(arrow::decimal128(38, 10), R"(["-0.0000000005", "0.0000000007"])"),
               batch.column(4));
  EXPECT_ARRAY(Json(arrow::decimal256(76, 20),
                    R"(["0.00000000000000000001", "-0.00000000000000000001"])"),
               batch.column(5));
  // A value with more digits than the precision would be garbled by readers.
  NativeFixture wide;
  wide.Block(1, 1).Column("d", "Decimal(9, 2)").Values<int32_t>({1000000000});
  EXPECT_TRUE(
      ReadAll(wide.bytes(), {{"d", "Decimal(9, 2)"}}).status().IsSerializationError());
}

TEST(NativeBlockReaderTest, DatesAndTimes) {
  NativeFixture f;
  f.Block(3, 3).Column("d", "Date").Values<uint16_t>({0, 1, 65535});
  f.Column("d32", "Date32")
      .Values<int32_t>({-25567, 0, 120529});  // 1900-01-01, 2299-12-31
  f.Column("t", "DateTime('Asia/Kolkata')").Values<uint32_t>({0, 1600000000, UINT32_MAX});
  auto batches = ReadAll(
      f.bytes(), {{"d", "Date"}, {"d32", "Date32"}, {"t", "DateTime('Asia/Kolkata')"}});
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  const auto& batch = *(*batches)[0];
  EXPECT_ARRAY(Json(arrow::date32(), "[0, 1, 65535]"), batch.column(0));
  EXPECT_ARRAY(Json(arrow::date32(), "[-25567, 0, 120529]"), batch.column(1));
  EXPECT_ARRAY(Json(arrow::timestamp(arrow::TimeUnit::SECOND, "Asia/Kolkata"),
                    "[0, 1600000000, 4294967295]"),
               batch.column(2));
}

TEST(NativeBlockReaderTest, DateTime64Precisions) {
  struct Case {
    std::string type;
    std::shared_ptr<arrow::DataType> arrow_type;
    std::string expected;
  };
  const int64_t ticks = 1600000000123LL;
  const std::vector<Case> cases = {
      {"DateTime64(0)", arrow::timestamp(arrow::TimeUnit::SECOND, "UTC"),
       "[1600000000123, -1]"},
      {"DateTime64(1, 'Europe/Berlin')",
       arrow::timestamp(arrow::TimeUnit::MILLI, "Europe/Berlin"),
       "[160000000012300, -100]"},
      {"DateTime64(3)", arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"),
       "[1600000000123, -1]"},
      {"DateTime64(5, 'UTC')", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
       "[16000000001230, -10]"},
      {"DateTime64(6, 'Asia/Tokyo')",
       arrow::timestamp(arrow::TimeUnit::MICRO, "Asia/Tokyo"), "[1600000000123, -1]"},
      {"DateTime64(9)", arrow::timestamp(arrow::TimeUnit::NANO, "UTC"),
       "[1600000000123, -1]"},
  };
  for (const auto& c : cases) {
    NativeFixture f;
    f.Block(1, 2).Column("t", c.type).Values<int64_t>({ticks, -1});
    EXPECT_ARRAY(Json(c.arrow_type, c.expected), ReadColumn(f.bytes(), {"t", c.type}));
  }
  // Scaling to the Arrow unit must not overflow silently.
  NativeFixture f;
  f.Block(1, 1).Column("t", "DateTime64(1)").Values<int64_t>({INT64_MAX / 10});
  EXPECT_TRUE(
      ReadAll(f.bytes(), {{"t", "DateTime64(1)"}}).status().IsSerializationError());
}

TEST(NativeBlockReaderTest, UuidInCanonicalByteOrder) {
  NativeFixture f;
  // 01234567-89ab-cdef-fedc-ba9876543210: high half first, each half little-endian
  // (the same bytes the 18.16 server sends, see AllTypesFromTheServer).
  f.Block(1, 1)
      .Column("u", "UUID")
      .Values<uint64_t>({0x0123456789abcdefULL, 0xfedcba9876543210ULL});
  auto column = ReadColumn(f.bytes(), {"u", "UUID"});
  ASSERT_NE(column, nullptr);
  EXPECT_TRUE(column->type()->Equals(*arrow::extension::uuid()));
  const auto& storage = static_cast<const arrow::FixedSizeBinaryArray&>(
      *static_cast<const arrow::ExtensionArray&>(*column).storage());
  const std::string expected =
      "\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10";
  EXPECT_EQ(std::string(storage.GetView(0)), expected);
}

TEST(NativeBlockReaderTest, IpAddressesAsText) {
  NativeFixture f;
  f.Block(2, 2).Column("v4", "IPv4").Values<uint32_t>({0x7f000001, 0xffffffff});
  uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  uint8_t v6b[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
  f.Column("v6", "IPv6")
      .Bytes(std::string(reinterpret_cast<char*>(v6a), 16))
      .Bytes(std::string(reinterpret_cast<char*>(v6b), 16));
  auto batches = ReadAll(f.bytes(), {{"v4", "IPv4"}, {"v6", "IPv6"}});
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  EXPECT_EQ(Strings((*batches)[0]->column(0)),
            (std::vector<std::string>{"127.0.0.1", "255.255.255.255"}));
  EXPECT_EQ(Strings((*batches)[0]->column(1)),
            (std::vector<std::string>{"2001:db8::1", "::ffff:10.0.0.1"}));
}

TEST(NativeBlockReaderTest, EnumsWithNegativeAndSparseValues) {
  const std::string type8 = R"(Enum8('neg' = -128, 'a\'b' = 3, 'max' = 127))";
  const std::string type16 = "Enum16('x' = -1000, 'y' = 30000)";
  NativeFixture f;
  f.Block(2, 3).Column("e", type8).Values<int8_t>({127, -128, 3});
  f.Column("e16", type16).Values<int16_t>({30000, -1000, -1000});
  auto batches = ReadAll(f.bytes(), {{"e", type8}, {"e16", type16}});
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  EXPECT_EQ(Strings((*batches)[0]->column(0)),
            (std::vector<std::string>{"max", "neg", "a'b"}));
  EXPECT_EQ(Strings((*batches)[0]->column(1)), (std::vector<std::string>{"y", "x", "x"}));
  NativeFixture bad;
  bad.Block(1, 1).Column("e", type8).Values<int8_t>({4});
  auto status = ReadAll(bad.bytes(), {{"e", type8}}).status();
  EXPECT_TRUE(status.IsSerializationError());
  EXPECT_THAT(status.message(), HasSubstr("Enum value 4 at row 0"));
}

TEST(NativeBlockReaderTest, NullEnumRowsCarryZeroEvenWhenTheEnumHasNoZero) {
  // Servers write the type's zero under a NULL, whether or not the Enum has that value.
  const std::string type = "Nullable(Enum8('a' = 1, 'b' = -1))";
  NativeFixture f;
  f.Block(1, 3).Column("e", type).Values<uint8_t>({0, 1, 0}).Values<int8_t>({-1, 0, 1});
  auto column = ReadColumn(f.bytes(), {"e", type});
  ASSERT_NE(column, nullptr);
  EXPECT_EQ(Strings(column), (std::vector<std::string>{"b", "<null>", "a"}));
  // Not under a NULL, the same 0 is corrupt data.
  NativeFixture bad;
  bad.Block(1, 2).Column("e", type).Values<uint8_t>({1, 0}).Values<int8_t>({0, 0});
  auto status = ReadAll(bad.bytes(), {{"e", type}}).status();
  EXPECT_THAT(status.message(), HasSubstr("Enum value 0 at row 1 is not in the type"));
}

// --- strings, nullable, nested ---------------------------------------------------------

TEST(NativeBlockReaderTest, StringsEmptyLongAndNullable) {
  const std::string long_text(100000, 'x');
  NativeFixture f;
  f.Block(3, 3).Column("s", "String").Str("").Str(long_text).Str("héllo");
  f.Column("n", "Nullable(String)").Values<uint8_t>({1, 0, 1}).Str("").Str("v").Str("");
  f.Column("fs", "FixedString(2)").Bytes(std::string("ab\0\0yz", 6));
  auto batches = ReadAll(
      f.bytes(), {{"s", "String"}, {"n", "Nullable(String)"}, {"fs", "FixedString(2)"}});
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  const auto& batch = *(*batches)[0];
  EXPECT_EQ(Strings(batch.column(0)), (std::vector<std::string>{"", long_text, "héllo"}));
  EXPECT_EQ(Strings(batch.column(1)),
            (std::vector<std::string>{"<null>", "v", "<null>"}));
  EXPECT_TRUE(batch.schema()->field(1)->nullable());
  const auto& fs = static_cast<const arrow::FixedSizeBinaryArray&>(*batch.column(2));
  EXPECT_EQ(std::string(fs.GetView(1)), std::string("\0\0", 2));
  EXPECT_EQ(std::string(fs.GetView(2)), "yz");
  // Invalid UTF-8 is an error naming the row, not a garbled string (more below).
  NativeFixture bad;
  bad.Block(1, 2).Column("s", "String").Str("ok").Str("\xff");
  auto status = ReadAll(bad.bytes(), {{"s", "String"}}).status();
  EXPECT_THAT(status.message(), HasSubstr("column 's', row 1 (block 1): text value is "
                                          "not valid UTF-8"));
}

TEST(NativeBlockReaderTest, NullableNumbersAndNothing) {
  NativeFixture f;
  f.Block(2, 3).Column("i", "Nullable(Int32)").Values<uint8_t>({0, 1, 0});
  f.Values<int32_t>({INT32_MIN, 0, INT32_MAX});
  f.Column("z", "Nullable(Nothing)").Values<uint8_t>({1, 1, 1}).Bytes("000");
  auto batches =
      ReadAll(f.bytes(), {{"i", "Nullable(Int32)"}, {"z", "Nullable(Nothing)"}});
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  EXPECT_ARRAY(Json(arrow::int32(), "[-2147483648, null, 2147483647]"),
               (*batches)[0]->column(0));
  EXPECT_EQ((*batches)[0]->column(1)->null_count(), 3);
}

TEST(NativeBlockReaderTest, NestedArraysOfNullableStrings) {
  const std::string type = "Array(Array(Nullable(String)))";
  NativeFixture f;
  // Rows: [], [[]], [["a", NULL, ""], [NULL]]
  f.Block(1, 3).Column("a", type).Values<uint64_t>({0, 1, 3});  // outer ends
  f.Values<uint64_t>({0, 3, 4});                                // inner ends
  f.Values<uint8_t>({0, 1, 0, 1}).Str("a").Str("").Str("").Str("");
  EXPECT_ARRAY(Json(arrow::list(arrow::field("item", arrow::list(arrow::utf8()), false)),
                    R"([[], [[]], [["a", null, ""], [null]]])"),
               ReadColumn(f.bytes(), {"a", type}));
  NativeFixture bad;
  bad.Block(1, 2)
      .Column("a", "Array(UInt8)")
      .Values<uint64_t>({2, 1})
      .Values<uint8_t>({1, 2});
  auto status = ReadAll(bad.bytes(), {{"a", "Array(UInt8)"}}).status();
  EXPECT_THAT(status.message(), HasSubstr("out of order"));
}

TEST(NativeBlockReaderTest, NamedTupleAndMap) {
  const std::string tuple = "Tuple(id UInt32, name Nullable(String))";
  const std::string map = "Map(String, Array(UInt8))";
  NativeFixture f;
  f.Block(2, 2).Column("t", tuple).Values<uint32_t>({1, 2});
  f.Values<uint8_t>({0, 1}).Str("one").Str("");
  // {"k": [7], "": []}, {}
  f.Column("m", map).Values<uint64_t>({2, 2}).Str("k").Str("");
  f.Values<uint64_t>({1, 1}).Values<uint8_t>({7});
  auto batches = ReadAll(f.bytes(), {{"t", tuple}, {"m", map}});
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  auto tuple_type = arrow::struct_(
      {arrow::field("id", arrow::uint32(), false), arrow::field("name", arrow::utf8())});
  EXPECT_ARRAY(Json(tuple_type, R"([{"id": 1, "name": "one"}, {"id": 2, "name": null}])"),
               (*batches)[0]->column(0));
  auto map_type = std::make_shared<arrow::MapType>(
      arrow::field("key", arrow::utf8(), false),
      arrow::field("value", arrow::list(arrow::field("item", arrow::uint8(), false)),
                   false));
  EXPECT_ARRAY(Json(map_type, R"([[["k", [7]], ["", []]], []])"),
               (*batches)[0]->column(1));
}

TEST(NativeBlockReaderTest, SimpleAggregateFunctionIsItsValueType) {
  const std::string type = "SimpleAggregateFunction(sum, UInt64)";
  NativeFixture f;
  f.Block(1, 2).Column("s", type).Values<uint64_t>({5, UINT64_MAX});
  EXPECT_ARRAY(Json(arrow::uint64(), "[5, 18446744073709551615]"),
               ReadColumn(f.bytes(), {"s", type}));
}

// LowCardinality index type flags.
constexpr uint64_t kGlobal = 1 << 8;
constexpr uint64_t kAdditional = 1 << 9;
constexpr uint64_t kUpdate = 1 << 10;

// --- String bytes that are not UTF-8: the invalid_utf8 policies
// -------------------------

struct ReadResult {
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  std::vector<int64_t> replaced;
};

// Every batch of `bytes`, read with the columns' policies.
arrow::Result<ReadResult> ReadWith(const std::string& bytes,
                                   const std::vector<Col>& columns,
                                   sources::InvalidUtf8 policy) {
  auto input =
      std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(bytes));
  std::vector<NativeColumnSpec> specs = Specs(columns);
  for (auto& spec : specs) spec.invalid_utf8 = policy;
  ARROW_ASSIGN_OR_RAISE(auto reader, NativeBlockReader::Make(input, std::move(specs)));
  ReadResult read;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (batch == nullptr) break;
    ARROW_RETURN_NOT_OK(batch->ValidateFull());
    read.batches.push_back(batch);
  }
  read.replaced = reader->replaced_values();
  return read;
}

const std::string kFffd = "\xef\xbf\xbd";

TEST(NativeBlockReaderTest, InvalidUtf8FollowsTheColumnsPolicy) {
  // Two blocks: the second's row 1 is bad, and so is its row 2, whose last character
  // continues in row 3 (the bytes of the two together are valid UTF-8).
  NativeFixture f;
  f.Block(2, 1).Column("id", "UInt8").Values<uint8_t>({0});
  f.Column("s", "String").Str("first");
  f.Block(2, 4).Column("id", "UInt8").Values<uint8_t>({1, 2, 3, 4});
  f.Column("s", "String")
      .Str("ok")
      .Str(
          "a\xff"
          "b")
      .Str("\xe6\x97")
      .Str("\xa5z");
  const std::vector<Col> columns = {{"id", "UInt8"}, {"s", "String"}};

  auto failed = ReadWith(f.bytes(), columns, sources::InvalidUtf8::kError);
  ASSERT_TRUE(failed.status().IsInvalid()) << failed.status().ToString();
  EXPECT_EQ(
      failed.status().message(),
      "ClickHouse column 's', row 2 (block 2): text value is not valid UTF-8 (byte "
      "0xff at offset 1 of the value); set 'invalid_utf8: replace' to write invalid "
      "bytes as U+FFFD, or 'invalid_utf8: binary' to write the column as bytes (for "
      "this column only: 'invalid_utf8: {columns: {s: replace}}')");

  // A value that ends inside a character is the bad one, not the next.
  NativeFixture split;
  split.Block(1, 3).Column("s", "String").Str("x").Str("\xe6\x97").Str("\xa5");
  failed = ReadWith(split.bytes(), {{"s", "String"}}, sources::InvalidUtf8::kError);
  EXPECT_THAT(
      failed.status().message(),
      HasSubstr("column 's', row 1 (block 1): text value is not valid UTF-8 (byte "
                "0xe6 at offset 0"));

  JETFLOW_ASSERT_OK_AND_ASSIGN(
      ReadResult replaced, ReadWith(f.bytes(), columns, sources::InvalidUtf8::kReplace));
  ASSERT_EQ(replaced.batches.size(), 2u);
  EXPECT_EQ(Strings(replaced.batches[1]->column(1)),
            (std::vector<std::string>{"ok", "a" + kFffd + "b", kFffd, kFffd + "z"}));
  EXPECT_EQ(replaced.replaced, (std::vector<int64_t>{0, 3}));

  JETFLOW_ASSERT_OK_AND_ASSIGN(
      ReadResult binary, ReadWith(f.bytes(), columns, sources::InvalidUtf8::kBinary));
  const auto& bytes = *binary.batches[1]->column(1);
  ASSERT_TRUE(bytes.type()->Equals(arrow::binary()));
  EXPECT_EQ(static_cast<const arrow::BinaryArray&>(bytes).GetView(1),
            "a\xff"
            "b");
  EXPECT_EQ(static_cast<const arrow::BinaryArray&>(bytes).GetView(2), "\xe6\x97");
  EXPECT_EQ(binary.replaced, (std::vector<int64_t>{0, 0}));
}

TEST(NativeBlockReaderTest, InvalidUtf8PolicyHoldsInsideNestedTypes) {
  const std::string array = "Array(Nullable(String))";
  const std::string map = "Map(String, String)";
  const std::string tuple = "Tuple(Int8, String)";
  const std::string lc = "LowCardinality(Nullable(String))";
  const std::string lc_array = "Array(LowCardinality(String))";
  // One block of 3 rows; `bad_row` says where each column holds an invalid value.
  auto block = [&](int array_row, int map_row, int tuple_row, int lc_row,
                   int lc_array_row) {
    NativeFixture f;
    f.Block(5, 3);
    // Arrays of 1, 2 and 1 elements (a NULL among them).
    f.Column("a", array).Values<uint64_t>({1, 3, 4}).Values<uint8_t>({0, 0, 1, 0});
    for (int element = 0; element < 4; ++element) {
      const int row = element == 0 ? 0 : element < 3 ? 1 : 2;
      f.Str(element == 2 ? std::string() : row == array_row ? "\xc3(" : "ok");
    }
    // One entry per row.
    f.Column("m", map).Values<uint64_t>({1, 2, 3});
    for (int row = 0; row < 3; ++row) f.Str(row == map_row ? "k\xff" : "k");
    for (int row = 0; row < 3; ++row) f.Str("v");
    f.Column("t", tuple).Values<int8_t>({1, 2, 3});
    for (int row = 0; row < 3; ++row) f.Str(row == tuple_row ? "\x80" : "t");
    // Additional keys [null, "x", bad, "unused bad"], rows use 1, lc_row: 2, 0.
    f.Column("lc", lc).LE<uint64_t>(1).LE<uint64_t>(kAdditional | kUpdate);
    f.LE<uint64_t>(4).Str("").Str("x").Str("\xfe").Str("\xff");
    f.LE<uint64_t>(3);
    for (int row = 0; row < 3; ++row) {
      f.Values<uint8_t>({static_cast<uint8_t>(row == lc_row ? 2 : row == 2 ? 0 : 1)});
    }
    // Arrays of one LowCardinality value each.
    // The LowCardinality prefix (its key version) comes before the array's offsets.
    f.Column("la", lc_array).LE<uint64_t>(1).Values<uint64_t>({1, 2, 3});
    f.LE<uint64_t>(kAdditional | kUpdate).LE<uint64_t>(2).Str("y").Str("\xed\xa0\x80");
    f.LE<uint64_t>(3);
    for (int row = 0; row < 3; ++row) {
      f.Values<uint8_t>({static_cast<uint8_t>(row == lc_array_row ? 1 : 0)});
    }
    return f.bytes();
  };
  const std::vector<Col> columns = {
      {"a", array}, {"m", map}, {"t", tuple}, {"lc", lc}, {"la", lc_array}};
  using sources::InvalidUtf8;

  // Each column names the row of its bad value; a dictionary key that no row uses is
  // no error.
  const struct {
    std::string column;
    std::string bytes;
    std::string where;
  } cases[] = {
      {"a", block(1, -1, -1, -1, -1), "column 'a', row 1 "},
      {"m", block(-1, 2, -1, -1, -1), "column 'm', row 2 "},
      {"t", block(-1, -1, 0, -1, -1), "column 't', row 0 "},
      {"lc", block(-1, -1, -1, 1, -1), "column 'lc', row 1 "},
      {"la", block(-1, -1, -1, -1, 2), "column 'la', row 2 "},
  };
  for (const auto& c : cases) {
    auto failed = ReadWith(c.bytes, columns, InvalidUtf8::kError);
    ASSERT_TRUE(failed.status().IsInvalid()) << c.column << failed.status().ToString();
    EXPECT_THAT(failed.status().message(), HasSubstr(c.where));
    EXPECT_THAT(failed.status().message(),
                HasSubstr("{columns: {" + c.column + ": replace}}"));
  }
  JETFLOW_EXPECT_OK(ReadWith(block(-1, -1, -1, -1, -1), columns, InvalidUtf8::kError));

  const std::string all_bad = block(1, 0, 2, 0, 1);
  JETFLOW_ASSERT_OK_AND_ASSIGN(ReadResult replaced,
                               ReadWith(all_bad, columns, InvalidUtf8::kReplace));
  const auto& batch = *replaced.batches[0];
  EXPECT_EQ(
      batch.column(0)->ToString(),
      Json(arrow::list(arrow::utf8()), "[[\"ok\"], [\"\xef\xbf\xbd(\", null], [\"ok\"]]")
          ->ToString());
  EXPECT_EQ(Strings(batch.column(3)), (std::vector<std::string>{kFffd, "x", "<null>"}));
  // Values replaced: the array's one element, one map key, one tuple field, the one
  // row holding the bad dictionary key (not the unused key), one array element.
  EXPECT_EQ(replaced.replaced, (std::vector<int64_t>{1, 1, 1, 1, 1}));
  EXPECT_EQ(Strings(static_cast<const arrow::ListArray&>(*batch.column(4)).values()),
            (std::vector<std::string>{"y", kFffd + kFffd + kFffd, "y"}));  // a surrogate

  JETFLOW_ASSERT_OK_AND_ASSIGN(ReadResult binary,
                               ReadWith(all_bad, columns, InvalidUtf8::kBinary));
  const auto& schema = *binary.batches[0]->schema();
  EXPECT_EQ(schema.field(0)->type()->ToString(), "list<item: binary>");
  EXPECT_EQ(schema.field(1)->type()->ToString(), "map<binary, binary>");
  EXPECT_EQ(schema.field(2)->type()->ToString(),
            "struct<1: int8 not null, 2: binary not null>");
  EXPECT_EQ(schema.field(3)->type()->ToString(),
            "dictionary<values=binary, indices=int32, ordered=0>");
  EXPECT_EQ(schema.field(4)->type()->ToString(),
            "list<item: dictionary<values=binary, indices=int32, ordered=0> not null>");
}

// --- LowCardinality
// ---------------------------------------------------------------------

TEST(NativeBlockReaderTest, LowCardinalityGranulesWithGlobalAndAdditionalKeys) {
  const std::string type = "LowCardinality(Nullable(String))";
  NativeFixture f;
  f.Block(1, 5).Column("lc", type).LE<uint64_t>(1);  // key serialization version
  // Granule 1: global dictionary [null, "", "a"] plus additional ["b"]; UInt8 indexes.
  f.LE<uint64_t>(0 | kGlobal | kAdditional | kUpdate);
  f.LE<uint64_t>(3).Str("").Str("").Str("a");
  f.LE<uint64_t>(1).Str("b");
  f.LE<uint64_t>(3).Values<uint8_t>({2, 0, 3});
  // Granule 2: same global dictionary, new additional ["c"]; UInt16 indexes.
  f.LE<uint64_t>(1 | kGlobal | kAdditional);
  f.LE<uint64_t>(1).Str("c");
  f.LE<uint64_t>(2).Values<uint16_t>({3, 1});
  auto column = ReadColumn(f.bytes(), {"lc", type});
  ASSERT_NE(column, nullptr);
  EXPECT_EQ(Strings(column), (std::vector<std::string>{"a", "<null>", "b", "c", ""}));
  EXPECT_EQ(column->null_count(), 1);

  // An index outside the dictionary is corrupt data.
  NativeFixture bad;
  bad.Block(1, 1).Column("lc", "LowCardinality(String)").LE<uint64_t>(1);
  bad.LE<uint64_t>(kAdditional)
      .LE<uint64_t>(1)
      .Str("x")
      .LE<uint64_t>(1)
      .Values<uint8_t>({1});
  auto status = ReadAll(bad.bytes(), {{"lc", "LowCardinality(String)"}}).status();
  EXPECT_THAT(status.message(), HasSubstr("outside the dictionary"));
  NativeFixture version;
  version.Block(1, 1).Column("lc", "LowCardinality(String)").LE<uint64_t>(2);
  status = ReadAll(version.bytes(), {{"lc", "LowCardinality(String)"}}).status();
  EXPECT_THAT(status.message(), HasSubstr("serialization version 2"));
}

TEST(NativeBlockReaderTest, LowCardinalityFromTheServer) {
  // 18.16: SELECT toLowCardinality(toNullable(if(number % 5 = 0, NULL,
  // toString(number % 7)))) AS lcn, toLowCardinality(toString(number % 3)) AS lc,
  // NULL AS nothing, CAST(arrayMap(x -> toString(x), range(number % 3)) AS
  // Array(LowCardinality(String))) AS alc FROM system.numbers LIMIT 10, max_block_size=4
  auto batches = ReadAll(Testdata("low_cardinality_18_16.native"),
                         {{"lcn", "LowCardinality(Nullable(String))"},
                          {"lc", "LowCardinality(String)"},
                          {"nothing", "Nullable(Nothing)"},
                          {"alc", "Array(LowCardinality(String))"}});
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  ASSERT_EQ(batches->size(), 3u);
  std::vector<std::string> lcn, lc;
  std::vector<int64_t> alc_lengths;
  for (const auto& batch : *batches) {
    for (const auto& s : Strings(batch->column(0))) lcn.push_back(s);
    for (const auto& s : Strings(batch->column(1))) lc.push_back(s);
    EXPECT_EQ(batch->column(2)->null_count(), batch->num_rows());
    const auto& list = static_cast<const arrow::ListArray&>(*batch->column(3));
    for (int64_t i = 0; i < list.length(); ++i)
      alc_lengths.push_back(list.value_length(i));
  }
  EXPECT_EQ(lcn, (std::vector<std::string>{"<null>", "1", "2", "3", "4", "<null>", "6",
                                           "0", "1", "2"}));
  EXPECT_EQ(lc,
            (std::vector<std::string>{"0", "1", "2", "0", "1", "2", "0", "1", "2", "0"}));
  EXPECT_EQ(alc_lengths, (std::vector<int64_t>{0, 1, 2, 0, 1, 2, 0, 1, 2, 0}));
  const auto& last = static_cast<const arrow::ListArray&>(*(*batches)[1]->column(3));
  EXPECT_EQ(Strings(last.value_slice(1)), (std::vector<std::string>{"0", "1"}));
}

TEST(NativeBlockReaderTest, EmptyLowCardinalityArraysOfOldAndNewServers) {
  const std::string type = "Array(LowCardinality(String))";
  // 18.16 writes a granule with the default key and zero rows for an empty column.
  NativeFixture old_server;
  old_server.Block(2, 1).Column("a", type).LE<uint64_t>(1).LE<uint64_t>(0);
  old_server.LE<uint64_t>(kAdditional | kUpdate).LE<uint64_t>(1).Str("").LE<uint64_t>(0);
  old_server.Column("n", "UInt8").Values<uint8_t>({9});
  // Newer servers write nothing for it.
  NativeFixture new_server;
  new_server.Block(2, 1).Column("a", type).LE<uint64_t>(1).LE<uint64_t>(0);
  new_server.Column("n", "UInt8").Values<uint8_t>({9});
  for (const auto* f : {&old_server, &new_server}) {
    auto batches = ReadAll(f->bytes(), {{"a", type}, {"n", "UInt8"}});
    ASSERT_TRUE(batches.ok()) << batches.status().ToString();
    EXPECT_EQ((*batches)[0]->column(0)->ToString(),
              Json(arrow::list(arrow::dictionary(arrow::int32(), arrow::utf8())), "[[]]")
                  ->ToString());
    EXPECT_ARRAY(Json(arrow::uint8(), "[9]"), (*batches)[0]->column(1));
  }
}

// --- the packaged server's own bytes --------------------------------------------------

TEST(NativeBlockReaderTest, AllTypesFromTheServer) {
  // The table and rows are in testdata/README.md; the types are DESCRIBE's spelling.
  auto columns = DescribedColumns(Testdata("all_types_18_16.describe"));
  ASSERT_EQ(columns.size(), 28u);
  auto batches = ReadAll(Testdata("all_types_18_16.native"), columns);
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  ASSERT_EQ(batches->size(), 1u);  // a Memory table returns the inserted block
  auto table = arrow::Table::FromRecordBatches(*batches);
  JETFLOW_ASSERT_OK(table);
  auto combined = (*table)->CombineChunksToBatch();
  JETFLOW_ASSERT_OK(combined);
  const auto& b = **combined;
  auto col = [&](const std::string& name) { return b.GetColumnByName(name); };
  EXPECT_ARRAY(Json(arrow::int8(), "[-128, 127, 1, 0]"), col("i8"));
  EXPECT_ARRAY(Json(arrow::int64(), "[-9223372036854775808, 9223372036854775807, 4, 0]"),
               col("i64"));
  EXPECT_ARRAY(Json(arrow::uint64(), "[0, 18446744073709551615, 8, 0]"), col("u64"));
  EXPECT_ARRAY(Json(arrow::float64(), "[-2.25, 1e300, 0, 0]"), col("f64"));
  EXPECT_ARRAY(
      Json(arrow::decimal128(9, 2), R"(["-9999999.99", "9999999.99", "0.00", "0.00"])"),
      col("d32"));
  EXPECT_ARRAY(
      Json(
          arrow::decimal128(38, 10),
          R"(["-1234567890123456789012345678.0123456789", "1.5000000000", "0E-10", "0E-10"])"),
      col("d128"));
  ASSERT_EQ(Strings(col("s")).size(), 4u);
  EXPECT_EQ(Strings(col("s"))[0], "");
  EXPECT_EQ(Strings(col("s"))[3], "row4");
  EXPECT_EQ(Strings(col("s"))[1], "héllo wörld");
  EXPECT_EQ(Strings(col("s"))[2].size(), 400u);
  EXPECT_EQ(Strings(col("s"))[2].substr(0, 8), "longlong");
  // Values as the server printed them (toUInt16(d), toUInt32(dt), toUInt32(dtz)).
  EXPECT_ARRAY(Json(arrow::date32(), "[0, 0, 18048, 10957]"), col("d"));
  EXPECT_ARRAY(Json(arrow::timestamp(arrow::TimeUnit::SECOND, "UTC"),
                    "[0, 23295, 1559350923, 946684800]"),
               col("dt"));
  EXPECT_ARRAY(Json(arrow::timestamp(arrow::TimeUnit::SECOND, "Asia/Kolkata"),
                    "[1582959896, 946665000, 1559331123, 946665000]"),
               col("dtz"));
  EXPECT_EQ(Strings(col("e8")), (std::vector<std::string>{"neg", "max", "a'b", "neg"}));
  EXPECT_EQ(Strings(col("e16")), (std::vector<std::string>{"x", "y", "x", "y"}));
  EXPECT_EQ(Strings(col("ns")),
            (std::vector<std::string>{"<null>", "str", "", "<null>"}));
  EXPECT_ARRAY(Json(arrow::int32(), "[null, 42, 0, null]"), col("ni"));
  EXPECT_ARRAY(Json(arrow::list(arrow::field("item", arrow::list(arrow::utf8()), false)),
                    R"([[], [[], [null], ["a", null, ""]], [["z"]], []])"),
               col("arr"));
  EXPECT_EQ(Strings(col("lc")), (std::vector<std::string>{"", "lc1", "lc1", "lc2"}));
  EXPECT_EQ(Strings(col("lcn")),
            (std::vector<std::string>{"<null>", "n1", "", "<null>"}));
  const auto& uuid = static_cast<const arrow::FixedSizeBinaryArray&>(
      *static_cast<const arrow::ExtensionArray&>(*col("u")).storage());
  EXPECT_EQ(std::string(uuid.GetView(1)),
            "\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10");
  EXPECT_EQ(std::string(uuid.GetView(3)), std::string(15, '\0') + "\x01");
  const auto& fs = static_cast<const arrow::FixedSizeBinaryArray&>(*col("fs"));
  EXPECT_EQ(std::string(fs.GetView(1)), std::string("x\0y", 3));
  auto tuple_type = arrow::struct_({arrow::field("1", arrow::uint8(), false),
                                    arrow::field("2", arrow::utf8(), false)});
  EXPECT_ARRAY(Json(tuple_type, R"([{"1": 0, "2": ""}, {"1": 255, "2": "tuple"},
                                   {"1": 1, "2": "a"}, {"1": 0, "2": ""}])"),
               col("tup"));
}

// --- malformed input
// ----------------------------------------------------------------------

TEST(NativeBlockReaderTest, TruncatedStreamsNameBlockColumnAndOffset) {
  const std::vector<Col> low_cardinality = {{"lcn", "LowCardinality(Nullable(String))"},
                                            {"lc", "LowCardinality(String)"},
                                            {"nothing", "Nullable(Nothing)"},
                                            {"alc", "Array(LowCardinality(String))"}};
  struct Case {
    std::string bytes;
    std::vector<Col> columns;
    int blocks;
  };
  const std::vector<Case> cases = {
      {Testdata("all_types_18_16.native"),
       DescribedColumns(Testdata("all_types_18_16.describe")), 1},
      {Testdata("low_cardinality_18_16.native"), low_cardinality, 3}};
  for (const auto& c : cases) {
    JETFLOW_ASSERT_OK(ReadAll(c.bytes, c.columns));
    // A prefix ending where a block starts is a clean (shorter) stream; any other
    // prefix is an error.
    int clean = 0;
    for (size_t n = 0; n < c.bytes.size(); ++n) {
      auto result = ReadAll(c.bytes.substr(0, n), c.columns);
      if (result.ok()) {
        ++clean;
        continue;
      }
      ASSERT_TRUE(result.status().IsSerializationError())
          << n << result.status().ToString();
      EXPECT_THAT(result.status().message(), HasSubstr("ClickHouse Native block "));
      EXPECT_THAT(result.status().message(), HasSubstr("byte offset"));
    }
    EXPECT_EQ(clean, c.blocks);
  }
  auto status = ReadAll(cases[0].bytes.substr(0, 100), cases[0].columns).status();
  EXPECT_THAT(status.message(), HasSubstr("block 1, column '"));
}

TEST(NativeBlockReaderTest, HeaderMismatchesAndLimits) {
  NativeFixture f;
  f.Block(1, 2).Column("a", "UInt8").Values<uint8_t>({1, 2});
  auto wrong_name = ReadAll(f.bytes(), {{"b", "UInt8"}}).status();
  EXPECT_THAT(wrong_name.message(), HasSubstr("named 'a'"));
  auto wrong_type = ReadAll(f.bytes(), {{"a", "Int8"}}).status();
  EXPECT_THAT(wrong_type.message(), HasSubstr("column 'a'"));
  EXPECT_THAT(wrong_type.message(), HasSubstr("type 'UInt8', expected 'Int8'"));
  auto wrong_count = ReadAll(f.bytes(), {{"a", "UInt8"}, {"b", "UInt8"}}).status();
  EXPECT_THAT(wrong_count.message(), HasSubstr("1 columns, expected 2"));
  // Declared sizes beyond the limit fail before allocating.
  NativeFixture huge;
  huge.Block(1, uint64_t{1} << 40).Column("a", "UInt8");
  auto too_many = ReadAll(huge.bytes(), {{"a", "UInt8"}}).status();
  EXPECT_THAT(too_many.message(), HasSubstr("max_block_bytes"));
  NativeFixture big_string;
  big_string.Block(1, 1).Column("s", "String").VarUInt(uint64_t{1} << 40);
  NativeReaderOptions small;
  small.max_block_bytes = 1 << 20;
  auto too_long = ReadAll(big_string.bytes(), {{"s", "String"}}, small).status();
  EXPECT_TRUE(too_long.IsSerializationError()) << too_long.ToString();
  // Empty blocks are skipped, an empty stream is a clean end.
  NativeFixture empty;
  empty.Block(1, 0)
      .Column("a", "UInt8")
      .Block(1, 1)
      .Column("a", "UInt8")
      .Values<uint8_t>({3});
  auto batches = ReadAll(empty.bytes(), {{"a", "UInt8"}});
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  ASSERT_EQ(batches->size(), 1u);
  EXPECT_TRUE(ReadAll("", {{"a", "UInt8"}})->empty());
}

TEST(NativeBlockReaderTest, UnsupportedTypeNamesTheColumn) {
  auto input = std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(""));
  auto reader =
      NativeBlockReader::Make(input, Specs({{"agg", "AggregateFunction(uniq, UInt64)"}}));
  ASSERT_FALSE(reader.ok());
  EXPECT_TRUE(reader.status().IsNotImplemented());
  EXPECT_THAT(reader.status().message(), HasSubstr("column 'agg'"));
}

}  // namespace
}  // namespace jetflow::clickhouse
