// NativeBlockReader on the bytes of a current ClickHouse engine: the *_26_9 fixtures in
// testdata/ were recorded with chdb 4.4.0 (ClickHouse 26.9) by
// testdata/make_modern_fixtures.py, which holds the queries (also in testdata/README.md).
// Each test reads a fixture with the columns its .describe names (as the consumer plans
// them) and compares every value with the expected rows written here, which follow from
// the queries (and agree with what chdb prints for them).
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/extension/uuid.h>
#include <arrow/io/memory.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jetflow/sources/clickhouse/native_format.h"
#include "jetflow/sources/clickhouse/native_testdata.h"
#include "jetflow/testing/batch_assertions.h"
#include "jetflow/testing/batch_from_json.h"

namespace jetflow::clickhouse {
namespace {

using ::testing::HasSubstr;

arrow::Result<std::vector<NativeColumnSpec>> SpecsOf(
    const std::vector<testdata::Column>& columns) {
  std::vector<NativeColumnSpec> specs;
  for (const auto& column : columns) {
    ARROW_ASSIGN_OR_RAISE(ClickHouseType type, ParseClickHouseType(column.type));
    specs.push_back({column.name, std::move(type)});
  }
  return specs;
}

arrow::Result<std::unique_ptr<NativeBlockReader>> OpenFixture(const std::string& name) {
  ARROW_ASSIGN_OR_RAISE(
      auto specs,
      SpecsOf(testdata::DescribedColumns(testdata::Read(name + ".describe"))));
  auto input = std::make_shared<arrow::io::BufferReader>(
      arrow::Buffer::FromString(testdata::Read(name + ".native")));
  return NativeBlockReader::Make(std::move(input), std::move(specs));
}

// Every block of a fixture, each checked with ValidateFull.
arrow::Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> ReadFixture(
    const std::string& name) {
  ARROW_ASSIGN_OR_RAISE(auto reader, OpenFixture(name));
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (batch == nullptr) break;
    ARROW_RETURN_NOT_OK(batch->ValidateFull());
    batches.push_back(std::move(batch));
  }
  return batches;
}

// --- comparing values ---------------------------------------------------------------
//
// Expected rows are JSON (jetflow/testing/batch_from_json.h). Values whose Arrow form has
// no JSON spelling are compared in a canonical form instead: dictionaries as their values
// (ClickHouse's dictionary order and default keys are not part of the data), UUIDs as
// their text, fixed-size binaries as lowercase hex.

std::shared_ptr<arrow::DataType> CanonicalType(const std::shared_ptr<arrow::DataType>& t);

std::shared_ptr<arrow::Field> CanonicalField(const std::shared_ptr<arrow::Field>& field) {
  return field->WithType(CanonicalType(field->type()));
}

std::shared_ptr<arrow::DataType> CanonicalType(
    const std::shared_ptr<arrow::DataType>& t) {
  switch (t->id()) {
    case arrow::Type::DICTIONARY:
      return CanonicalType(static_cast<const arrow::DictionaryType&>(*t).value_type());
    case arrow::Type::EXTENSION:
    case arrow::Type::FIXED_SIZE_BINARY:
      return arrow::utf8();
    case arrow::Type::LIST:
      return arrow::list(CanonicalField(t->field(0)));
    case arrow::Type::MAP:
      return std::make_shared<arrow::MapType>(
          CanonicalField(t->field(0)->type()->field(0)),
          CanonicalField(t->field(0)->type()->field(1)));
    case arrow::Type::STRUCT: {
      arrow::FieldVector fields;
      for (const auto& f : t->fields()) fields.push_back(CanonicalField(f));
      return arrow::struct_(std::move(fields));
    }
    default:
      return t;
  }
}

std::string Hex(std::string_view bytes, bool uuid) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (uuid && (i == 4 || i == 6 || i == 8 || i == 10)) out.push_back('-');
    out.push_back(kDigits[static_cast<uint8_t>(bytes[i]) >> 4]);
    out.push_back(kDigits[static_cast<uint8_t>(bytes[i]) & 15]);
  }
  return out;
}

arrow::Result<std::shared_ptr<arrow::Array>> Canonical(
    const std::shared_ptr<arrow::Array>& array) {
  const auto& type = array->type();
  switch (type->id()) {
    case arrow::Type::DICTIONARY: {
      const auto& dict = static_cast<const arrow::DictionaryType&>(*type);
      ARROW_ASSIGN_OR_RAISE(auto dense, arrow::compute::Cast(*array, dict.value_type()));
      return Canonical(dense);
    }
    case arrow::Type::EXTENSION:
    case arrow::Type::FIXED_SIZE_BINARY: {
      const bool uuid = type->id() == arrow::Type::EXTENSION;
      const auto& binary = static_cast<const arrow::FixedSizeBinaryArray&>(
          uuid ? *static_cast<const arrow::ExtensionArray&>(*array).storage() : *array);
      arrow::StringBuilder text;
      for (int64_t i = 0; i < binary.length(); ++i) {
        if (binary.IsNull(i)) {
          ARROW_RETURN_NOT_OK(text.AppendNull());
        } else {
          ARROW_RETURN_NOT_OK(text.Append(Hex(binary.GetView(i), uuid)));
        }
      }
      return text.Finish();
    }
    case arrow::Type::LIST: {
      const auto& list = static_cast<const arrow::ListArray&>(*array);
      ARROW_ASSIGN_OR_RAISE(auto values, Canonical(list.values()));
      return std::make_shared<arrow::ListArray>(
          CanonicalType(type), list.length(), list.value_offsets(), values,
          list.null_bitmap(), list.null_count(), list.offset());
    }
    case arrow::Type::MAP: {
      const auto& map = static_cast<const arrow::MapArray&>(*array);
      ARROW_ASSIGN_OR_RAISE(auto keys, Canonical(map.keys()));
      ARROW_ASSIGN_OR_RAISE(auto items, Canonical(map.items()));
      return std::make_shared<arrow::MapArray>(
          CanonicalType(type), map.length(), map.value_offsets(), keys, items,
          map.null_bitmap(), map.null_count(), map.offset());
    }
    case arrow::Type::STRUCT: {
      const auto& strukt = static_cast<const arrow::StructArray&>(*array);
      arrow::ArrayVector children;
      for (int i = 0; i < strukt.num_fields(); ++i) {
        ARROW_ASSIGN_OR_RAISE(auto child, strukt.GetFlattenedField(i));
        ARROW_ASSIGN_OR_RAISE(child, Canonical(child));
        children.push_back(std::move(child));
      }
      arrow::FieldVector fields;
      for (const auto& f : type->fields()) fields.push_back(CanonicalField(f));
      return arrow::StructArray::Make(children, fields, strukt.null_bitmap(),
                                      strukt.null_count(), strukt.offset());
    }
    default:
      return array;
  }
}

std::shared_ptr<arrow::Schema> CanonicalSchema(const arrow::Schema& schema) {
  arrow::FieldVector fields;
  for (const auto& f : schema.fields()) fields.push_back(CanonicalField(f));
  return arrow::schema(std::move(fields));
}

// The blocks of a fixture as one batch in canonical form.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> CanonicalRows(
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches) {
  if (batches.empty()) return arrow::Status::Invalid("no batches");
  auto schema = CanonicalSchema(*batches[0]->schema());
  arrow::RecordBatchVector canonical;
  for (const auto& batch : batches) {
    arrow::ArrayVector columns;
    for (const auto& column : batch->columns()) {
      ARROW_ASSIGN_OR_RAISE(auto c, Canonical(column));
      columns.push_back(std::move(c));
    }
    canonical.push_back(arrow::RecordBatch::Make(schema, batch->num_rows(), columns));
  }
  ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(schema, canonical));
  return table->CombineChunksToBatch();
}

// Reads fixture `name` and checks its schema and every value (`rows`: JSON row objects
// in the canonical form above).
void ExpectFixture(const std::string& name, const arrow::FieldVector& fields,
                   const std::string& rows, size_t expected_blocks = 1) {
  auto expected_schema = arrow::schema(fields);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto batches, ReadFixture(name));
  ASSERT_EQ(batches.size(), expected_blocks);
  for (const auto& batch : batches) {
    EXPECT_TRUE(batch->schema()->Equals(*expected_schema))
        << "schema\n"
        << batch->schema()->ToString() << "\nexpected\n"
        << expected_schema->ToString();
  }
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto actual, CanonicalRows(batches));
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto expected, testing::BatchFromJson(CanonicalSchema(*expected_schema), rows));
  JETFLOW_EXPECT_BATCHES_EQUAL(*expected, *actual);
}

std::shared_ptr<arrow::Field> Required(const std::string& name,
                                       std::shared_ptr<arrow::DataType> type) {
  return arrow::field(name, std::move(type), /*nullable=*/false);
}

std::shared_ptr<arrow::Field> Optional(const std::string& name,
                                       std::shared_ptr<arrow::DataType> type) {
  return arrow::field(name, std::move(type), /*nullable=*/true);
}

std::shared_ptr<arrow::DataType> Ts(arrow::TimeUnit::type unit,
                                    const std::string& zone = "UTC") {
  return arrow::timestamp(unit, zone);
}

std::shared_ptr<arrow::DataType> Dict(std::shared_ptr<arrow::DataType> values) {
  return arrow::dictionary(arrow::int32(), std::move(values));
}

std::shared_ptr<arrow::DataType> ListOf(std::shared_ptr<arrow::DataType> item,
                                        bool nullable = false) {
  return arrow::list(arrow::field("item", std::move(item), nullable));
}

std::shared_ptr<arrow::DataType> MapOf(std::shared_ptr<arrow::DataType> key,
                                       std::shared_ptr<arrow::DataType> value,
                                       bool nullable_value = false) {
  return std::make_shared<arrow::MapType>(
      Required("key", std::move(key)),
      arrow::field("value", std::move(value), nullable_value));
}

// --- the fixtures ---------------------------------------------------------------------

TEST(NativeBlockReaderModernTest, DateTime64Date32AndTimeZones) {
  using arrow::TimeUnit;
  ExpectFixture(
      "datetime_26_9",
      {Required("dt0", Ts(TimeUnit::SECOND)), Required("dt1", Ts(TimeUnit::MILLI)),
       Required("dt3", Ts(TimeUnit::MILLI)), Required("dt6", Ts(TimeUnit::MICRO)),
       Required("dt8", Ts(TimeUnit::NANO)), Required("dt9", Ts(TimeUnit::NANO)),
       Required("dt3_kol", Ts(TimeUnit::MILLI, "Asia/Kolkata")),
       Required("dt6_ny", Ts(TimeUnit::MICRO, "America/New_York")),
       Required("d32", arrow::date32()), Required("d", arrow::date32()),
       Required("dt", Ts(TimeUnit::SECOND)),
       Required("dt_ber", Ts(TimeUnit::SECOND, "Europe/Berlin"))},
      // Instants in UTC. Kolkata kept Madras time (+05:21:10) in 1900.
      R"([
    {"dt0": "1970-01-01T00:00:00", "dt1": "1970-01-01T00:00:00",
     "dt3": "1970-01-01T00:00:00", "dt6": "1970-01-01T00:00:00",
     "dt8": "1970-01-01T00:00:00", "dt9": "1970-01-01T00:00:00",
     "dt3_kol": "1970-01-01T00:00:00", "dt6_ny": "1970-01-01T00:00:00",
     "d32": "1970-01-01",
     "d": "1970-01-01", "dt": "1970-01-01T00:00:00", "dt_ber": "1970-01-01T00:00:00"},
    {"dt0": "1969-12-31T23:59:59", "dt1": "1969-12-31T23:59:59.9",
     "dt3": "1969-12-31T23:59:59.999", "dt6": "1969-12-31T23:59:59.999999",
     "dt8": "1969-12-31T23:59:59.99999999", "dt9": "1969-12-31T23:59:59.999999999",
     "dt3_kol": "1969-12-31T23:59:59.999", "dt6_ny": "1969-12-31T23:59:59.999999",
     "d32": "1969-12-31", "d": "1970-01-02", "dt": "1970-01-01T00:00:01",
     "dt_ber": "1970-01-01T00:00:01"},
    {"dt0": "1900-01-01T00:00:00", "dt1": "1900-01-01T00:00:00",
     "dt3": "1900-01-01T00:00:00", "dt6": "1900-01-01T00:00:00",
     "dt8": "1900-01-01T00:00:00", "dt9": "1900-01-01T00:00:00",
     "dt3_kol": "1900-01-01T00:08:50", "dt6_ny": "1900-01-01T00:00:00",
     "d32": "1900-01-01",
     "d": "1970-01-01", "dt": "1970-01-01T00:00:00", "dt_ber": "1970-01-01T00:00:00"},
    {"dt0": "2299-12-31T23:59:59", "dt1": "2299-12-31T23:59:59.9",
     "dt3": "2299-12-31T23:59:59.999", "dt6": "2299-12-31T23:59:59.999999",
     "dt8": "2262-04-11T23:47:16.8547758", "dt9": "2262-04-11T23:47:16.854775807",
     "dt3_kol": "2299-12-31T18:29:59.999", "dt6_ny": "2300-01-01T04:59:59.999999",
     "d32": "2299-12-31", "d": "2149-06-06", "dt": "2106-02-07T06:28:15",
     "dt_ber": "2106-02-07T06:28:15"},
    {"dt0": "2024-02-29T12:34:56", "dt1": "2024-02-29T12:34:56.7",
     "dt3": "2024-02-29T12:34:56.789", "dt6": "2024-02-29T12:34:56.789012",
     "dt8": "2024-02-29T12:34:56.78901234", "dt9": "2024-02-29T12:34:56.789012345",
     "dt3_kol": "2024-07-01T12:34:56.789", "dt6_ny": "2024-07-01T12:34:56.789012",
     "d32": "2024-02-29", "d": "2024-02-29", "dt": "2024-02-29T12:34:56",
     "dt_ber": "2024-07-01T12:34:56"}])");
}

TEST(NativeBlockReaderModernTest, BoolWideIntegersAndDecimalsAtTheirLimits) {
  const std::string n76(76, '9');
  const std::string n28(28, '9');
  const std::string n56(56, '9');
  ExpectFixture(
      "numbers_26_9",
      {Required("b", arrow::boolean()), Required("i128", arrow::decimal256(39, 0)),
       Required("u128", arrow::decimal256(39, 0)),
       Required("i256", arrow::decimal256(76, 0)),
       Required("u256", arrow::decimal256(76, 0)),
       Required("d32", arrow::decimal128(9, 2)),
       Required("d64", arrow::decimal128(18, 4)),
       Required("d128", arrow::decimal128(38, 10)),
       Required("d256", arrow::decimal256(76, 20)),
       Required("d76", arrow::decimal256(76, 0))},
      R"([
    {"b": false, "i128": "-170141183460469231731687303715884105728", "u128": "0",
     "i256": "-)" +
          n76 + R"(", "u256": "0", "d32": "-9999999.99",
     "d64": "-99999999999999.9999", "d128": "-)" +
          n28 + R"(.9999999999",
     "d256": "-)" +
          n56 + ".99999999999999999999" + R"(", "d76": "-)" + n76 + R"("},
    {"b": true, "i128": "170141183460469231731687303715884105727",
     "u128": "340282366920938463463374607431768211455", "i256": ")" +
          n76 + R"(", "u256": ")" + n76 +
          R"(", "d32": "9999999.99", "d64": "99999999999999.9999",
     "d128": ")" +
          n28 + R"(.9999999999", "d256": ")" + n56 + ".99999999999999999999" +
          R"(", "d76": ")" + n76 + R"("},
    {"b": false, "i128": "0", "u128": "0", "i256": "0", "u256": "0", "d32": "0",
     "d64": "0",
     "d128": "0", "d256": "0", "d76": "0"},
    {"b": true, "i128": "-1", "u128": "1", "i256": "-1", "u256": "1", "d32": "-0.01",
     "d64": "0.0001", "d128": "-0.0000000001", "d256": "0.00000000000000000001",
     "d76": "-1"}])");
}

TEST(NativeBlockReaderModernTest, Int256BeyondDecimal256IsAnErrorNamingTheColumn) {
  for (const auto& [fixture, column] : std::vector<std::pair<std::string, std::string>>{
           {"int256_max_26_9", "i256"}, {"uint256_max_26_9", "u256"}}) {
    auto result = ReadFixture(fixture);
    ASSERT_FALSE(result.ok()) << fixture;
    EXPECT_TRUE(result.status().IsSerializationError()) << result.status().ToString();
    EXPECT_THAT(result.status().message(), HasSubstr("column '" + column + "'"));
    EXPECT_THAT(result.status().message(), HasSubstr("value at row 0 has more than 76"));
  }
}

TEST(NativeBlockReaderModernTest, StringsUuidsAddressesAndEnums) {
  ExpectFixture(
      "strings_26_9",
      {Required("s", arrow::utf8()), Required("fs", arrow::fixed_size_binary(4)),
       Required("u", arrow::extension::uuid()), Required("ip4", arrow::utf8()),
       Required("ip6", arrow::utf8()), Required("e8", Dict(arrow::utf8())),
       Required("e16", Dict(arrow::utf8()))},
      R"([
    {"s": "", "fs": "00000000", "u": "00000000-0000-0000-0000-000000000000",
     "ip4": "0.0.0.0", "ip6": "::", "e8": "neg", "e16": "lo"},
    {"s": "Zoë 東京 🙂", "fs": "61626364",
     "u": "ffffffff-ffff-ffff-ffff-ffffffffffff",
     "ip4": "255.255.255.255", "ip6": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     "e8": "c,d", "e16": "hi"},
    {"s": "tab\there", "fs": "61620000", "u": "01234567-89ab-cdef-fedc-ba9876543210",
     "ip4": "1.2.3.4", "ip6": "2001:db8::ff00:42:8329", "e8": "a'b", "e16": "lo"},
    {"s": "x", "fs": "00ff0001", "u": "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
     "ip4": "10.0.0.1", "ip6": "::ffff:1.2.3.4", "e8": "neg", "e16": "hi"},
    {"s": "y", "fs": "7a000000", "u": "00000000-0000-0000-0000-000000000001",
     "ip4": "127.0.0.1", "ip6": "::1", "e8": "c,d", "e16": "lo"}])");
}

TEST(NativeBlockReaderModernTest, NullableOfEachNewerType) {
  ExpectFixture(
      "nullable_26_9",
      {Optional("nb", arrow::boolean()), Optional("ni128", arrow::decimal256(39, 0)),
       Optional("nu256", arrow::decimal256(76, 0)),
       Optional("nd256", arrow::decimal256(76, 20)),
       Optional("ndt9", Ts(arrow::TimeUnit::NANO)), Optional("nd32", arrow::date32()),
       Optional("nip4", arrow::utf8()), Optional("nip6", arrow::utf8()),
       Optional("nu", arrow::extension::uuid()),
       Optional("nfs", arrow::fixed_size_binary(3)), Optional("ne", Dict(arrow::utf8())),
       Optional("ns", arrow::utf8()), Optional("nothing", arrow::null())},
      R"([
    {"nb": true, "ni128": "-5", "nu256": "7", "nd256": "-1.5",
     "ndt9": "1969-12-31T23:59:59.999999999", "nd32": "1969-12-31", "nip4": "1.2.3.4",
     "nip6": "::1", "nu": "01234567-89ab-cdef-fedc-ba9876543210", "nfs": "616263",
     "ne": "b", "ns": "x"},
    {},
    {"nb": false, "ni128": "0", "nu256": "0", "nd256": "0",
     "ndt9": "2024-02-29T12:34:56.789012345", "nd32": "2299-12-31", "nip4": "0.0.0.0",
     "nip6": "::", "nu": "00000000-0000-0000-0000-000000000000", "nfs": "7a0000",
     "ne": "a", "ns": ""}])");
}

TEST(NativeBlockReaderModernTest, LowCardinalityEverywhereInBlocksOfFour) {
  auto lc = Dict(arrow::utf8());
  ExpectFixture(
      "low_cardinality_26_9",
      {Required("lc", lc), Optional("lcn", lc),
       Required("lcf", Dict(arrow::fixed_size_binary(2))),
       Optional("lcnf", Dict(arrow::fixed_size_binary(1))), Required("alc", ListOf(lc)),
       Required("alcn", ListOf(lc, /*nullable=*/true)),
       Required("mlc", MapOf(lc, lc, /*nullable_value=*/true)),
       Required("tlc", arrow::struct_({Required("k", lc), Optional("v", lc)}))},
      R"([
    {"lc": "0", "lcf": "3000", "lcnf": "61", "alcn": [], "alc": [], "mlc": [],
     "tlc": {"k": "0", "v": "v"}},
    {"lc": "1", "lcn": "1", "lcf": "3100", "alcn": [], "alc": ["0"], "mlc": [["k0", "0"]],
     "tlc": {"k": "1", "v": "v"}},
    {"lc": "2", "lcn": "2", "lcf": "3000", "lcnf": "63", "alcn": [], "alc": ["0", "1"],
     "mlc": [["k0", "0"], ["k1", null]], "tlc": {"k": "0", "v": "v"}},
    {"lc": "0", "lcn": "3", "lcf": "3100", "lcnf": "64", "alcn": [], "alc": [], "mlc": [],
     "tlc": {"k": "1", "v": "v"}},
    {"lc": "1", "lcf": "3000", "alcn": ["4"], "alc": ["0"], "mlc": [["k0", "0"]],
     "tlc": {"k": "0", "v": "v"}},
    {"lc": "2", "lcn": "0", "lcf": "3100", "lcnf": "62", "alcn": ["5"], "alc": ["0", "1"],
     "mlc": [["k0", "0"], ["k1", null]], "tlc": {"k": "1", "v": "v"}},
    {"lc": "0", "lcn": "1", "lcf": "3000", "lcnf": "63", "alcn": ["6"], "alc": [],
     "mlc": [],
     "tlc": {"k": "0", "v": "v"}},
    {"lc": "1", "lcn": "2", "lcf": "3100", "alcn": ["7"], "alc": ["0"],
     "mlc": [["k0", "0"]],
     "tlc": {"k": "1", "v": null}},
    {"lc": "2", "lcf": "3000", "lcnf": "61", "alcn": ["8"], "alc": ["0", "1"],
     "mlc": [["k0", "0"], ["k1", null]], "tlc": {"k": "0", "v": "v"}},
    {"lc": "0", "lcn": "4", "lcf": "3100", "lcnf": "62", "alcn": ["9"], "alc": [],
     "mlc": [],
     "tlc": {"k": "1", "v": "v"}}])",
      /*expected_blocks=*/3);
}

TEST(NativeBlockReaderModernTest, LowCardinalityWithUInt16Indexes) {
  const std::string bytes = testdata::Read("low_cardinality_wide_26_9.native");
  // The granule's index type follows the type name and the key version: UInt16 (1).
  const std::string type = "LowCardinality(String)";
  const size_t at = bytes.find(type);
  ASSERT_NE(at, std::string::npos);
  ASSERT_GT(bytes.size(), at + type.size() + 16);
  EXPECT_EQ(bytes[at + type.size() + 8], 1);
  std::string rows = "[";
  for (int i = 0; i < 300; ++i) {
    rows += std::string(i ? "," : "") + R"({"lc": ")" + std::to_string(i) + R"("})";
  }
  ExpectFixture("low_cardinality_wide_26_9", {Required("lc", Dict(arrow::utf8()))},
                rows + "]");
}

TEST(NativeBlockReaderModernTest, ArraysTuplesMapsAndNestedOfNewerTypes) {
  auto lc = Dict(arrow::utf8());
  ExpectFixture(
      "nested_26_9",
      {Required("ai128", ListOf(arrow::decimal256(39, 0), /*nullable=*/true)),
       Required("aadt", ListOf(ListOf(Ts(arrow::TimeUnit::MILLI)))),
       Required("aip", ListOf(arrow::struct_({Required("1", arrow::utf8()),
                                              Optional("2", arrow::utf8())}))),
       Required("t", arrow::struct_({Required("b", arrow::boolean()),
                                     Required("d", arrow::decimal128(18, 3)),
                                     Required("a b", lc)})),
       Required("tu", arrow::struct_({Optional("1", arrow::extension::uuid()),
                                      Required("2", ListOf(arrow::date32()))})),
       Required("m", MapOf(arrow::utf8(), arrow::decimal128(18, 3), true)),
       Required("mm", MapOf(arrow::utf8(), MapOf(arrow::uint8(), ListOf(arrow::utf8())))),
       Required("am", ListOf(MapOf(arrow::decimal256(39, 0), arrow::utf8()))),
       Required("me", MapOf(lc, arrow::boolean())),
       Required("n", ListOf(arrow::struct_({Required("a", arrow::uint8()),
                                            Optional("b", arrow::utf8())})))},
      R"([
    {"ai128": ["1", null, "-170141183460469231731687303715884105728"],
     "aadt": [["1969-12-31T23:59:59.999Z", "2024-02-29T12:34:56.789Z"], []],
     "aip": [{"1": "1.2.3.4", "2": "x"}, {"1": "0.0.0.0", "2": null}],
     "t": {"b": true, "d": "-1.500", "a b": "a"},
     "tu": {"1": "01234567-89ab-cdef-fedc-ba9876543210", "2": [-25567, 120529]},
     "m": [["a", "1.250"], ["b", null]], "mm": [["k", [[1, ["x", ""]], [2, []]]]],
     "am": [[["-1", "::1"]], []], "me": [["y", true], ["x", false]],
     "n": [{"a": 1, "b": "one"}, {"a": 2, "b": null}]},
    {"ai128": [], "aadt": [], "aip": [], "t": {"b": false, "d": "0.000", "a b": ""},
     "tu": {"1": null, "2": []}, "m": [], "mm": [], "am": [], "me": [], "n": []},
    {"ai128": [null], "aadt": [[]], "aip": [{"1": "255.255.255.255", "2": ""}],
     "t": {"b": true, "d": "999999999999999.999", "a b": "Zoë"},
     "tu": {"1": "00000000-0000-0000-0000-000000000000", "2": [0]}, "m": [["", null]],
     "mm": [["", []]], "am": [[]], "me": [["x", true]], "n": [{"a": 255, "b": ""}]}])");
}

TEST(NativeBlockReaderModernTest, EmptyArrayLiteralsOfTypeNothing) {
  ExpectFixture("nothing_26_9",
                {Required("id", arrow::uint64()),
                 Required("empty_array", ListOf(arrow::null(), /*nullable=*/true)),
                 Required("empty_arrays", ListOf(ListOf(arrow::null(), true)))},
                R"([{"id": 0, "empty_array": [], "empty_arrays": [[], []]},
                    {"id": 1, "empty_array": [], "empty_arrays": [[], []]}])");
}

TEST(NativeBlockReaderModernTest, UnsupportedTypesAreRejectedNamingColumnAndType) {
  const auto columns =
      testdata::DescribedColumns(testdata::Read("unsupported_26_9.describe"));
  ASSERT_EQ(columns.size(), 12u);
  const std::vector<std::string> expected_types = {
      "UInt64",    "Variant(Array(UInt8), String, UInt64)",
      "JSON",      "Dynamic",
      "BFloat16",  "Time",
      "Time64(3)", "IntervalDay",
      "Point",     "AggregateFunction(uniq, UInt64)",
      "Tuple()",   "Map(Nothing, Nothing)"};
  for (size_t i = 1; i < columns.size(); ++i) {
    EXPECT_EQ(columns[i].type, expected_types[i]);
    JETFLOW_ASSERT_OK_AND_ASSIGN(auto specs, SpecsOf({columns[i]}));
    auto input = std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(""));
    auto reader = NativeBlockReader::Make(input, specs);
    ASSERT_FALSE(reader.ok()) << columns[i].type;
    EXPECT_TRUE(reader.status().IsNotImplemented()) << reader.status().ToString();
    EXPECT_THAT(reader.status().message(), HasSubstr("column '" + columns[i].name + "'"));
    EXPECT_THAT(reader.status().message(), HasSubstr("'" + columns[i].type + "'"));
    EXPECT_THAT(reader.status().message(), HasSubstr("not supported"));
  }
  // The whole fixture: the first unsupported column is reported, nothing is read.
  auto reader = OpenFixture("unsupported_26_9");
  ASSERT_FALSE(reader.ok());
  EXPECT_THAT(reader.status().message(), HasSubstr("column 'variant'"));
}

TEST(NativeBlockReaderModernTest, UnsupportedBlockTypeAgainstAPlannedTypeIsAnError) {
  // A server that answers with another type than planned (a column that changed type
  // between planning and reading) fails naming the column and both types.
  auto input = std::make_shared<arrow::io::BufferReader>(
      arrow::Buffer::FromString(testdata::Read("unsupported_26_9.native")));
  std::vector<NativeColumnSpec> specs;
  for (const auto& column :
       testdata::DescribedColumns(testdata::Read("unsupported_26_9.describe"))) {
    JETFLOW_ASSERT_OK_AND_ASSIGN(
        auto type, ParseClickHouseType(column.name == "k" ? "UInt64" : "String"));
    specs.push_back({column.name, std::move(type)});
  }
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto reader, NativeBlockReader::Make(input, specs));
  auto batch = reader->Next();
  ASSERT_FALSE(batch.ok());
  EXPECT_TRUE(batch.status().IsSerializationError());
  EXPECT_THAT(batch.status().message(), HasSubstr("column 'variant'"));
  EXPECT_THAT(
      batch.status().message(),
      HasSubstr("type 'Variant(Array(UInt8), String, UInt64)', expected 'String'"));
}

TEST(NativeBlockReaderModernTest, TruncatedModernFixturesFailCleanly) {
  // Every prefix of every decodable fixture either ends at a block boundary or is a
  // SerializationError naming the block and the byte offset.
  for (const std::string name :
       {"datetime_26_9", "numbers_26_9", "strings_26_9", "nullable_26_9",
        "low_cardinality_26_9", "nested_26_9", "nothing_26_9"}) {
    JETFLOW_ASSERT_OK_AND_ASSIGN(
        auto specs,
        SpecsOf(testdata::DescribedColumns(testdata::Read(name + ".describe"))));
    const std::string bytes = testdata::Read(name + ".native");
    for (size_t n = 0; n < bytes.size(); ++n) {
      auto input = std::make_shared<arrow::io::BufferReader>(
          arrow::Buffer::FromString(bytes.substr(0, n)));
      JETFLOW_ASSERT_OK_AND_ASSIGN(auto reader, NativeBlockReader::Make(input, specs));
      arrow::Status status;
      while (status.ok()) {
        auto batch = reader->Next();
        if (!batch.ok()) {
          status = batch.status();
        } else if (*batch == nullptr) {
          break;
        }
      }
      if (status.ok()) continue;
      ASSERT_TRUE(status.IsSerializationError()) << name << " " << n << status.ToString();
      EXPECT_THAT(status.message(), HasSubstr("byte offset"));
    }
  }
}

}  // namespace
}  // namespace jetflow::clickhouse
