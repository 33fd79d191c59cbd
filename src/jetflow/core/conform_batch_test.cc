#include "jetflow/core/conform_batch.h"

#include <arrow/api.h>
#include <arrow/compute/initialize.h>
#include <arrow/extension/uuid.h>
#include <arrow/util/key_value_metadata.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

using ::testing::HasSubstr;

class ConformBatchTest : public ::testing::Test {
 protected:
  void SetUp() override { JETFLOW_ASSERT_OK(arrow::compute::Initialize()); }
};

std::shared_ptr<arrow::Array> ArrayOf(const std::shared_ptr<arrow::DataType>& type,
                                      const std::string& json) {
  auto batch = testing::BatchFromJson(arrow::schema({arrow::field("v", type)}), json);
  EXPECT_TRUE(batch.ok()) << batch.status().ToString();
  return (*batch)->column(0);
}

// A UUID column as fixed_size_binary(16) with the extension name in field metadata.
std::shared_ptr<arrow::Field> TaggedUuidField(const std::string& name) {
  return arrow::field(
      name, arrow::fixed_size_binary(16), true,
      arrow::key_value_metadata({"ARROW:extension:name"}, {"arrow.uuid"}));
}

std::shared_ptr<arrow::Array> UuidBytes(const std::vector<std::string>& hex_or_null) {
  arrow::FixedSizeBinaryBuilder builder(arrow::fixed_size_binary(16));
  for (const auto& hex : hex_or_null) {
    if (hex.empty()) {
      JETFLOW_EXPECT_OK(builder.AppendNull());
      continue;
    }
    uint8_t bytes[16];
    for (int i = 0; i < 16; ++i) bytes[i] = std::stoi(hex.substr(2 * i, 2), nullptr, 16);
    JETFLOW_EXPECT_OK(builder.Append(bytes));
  }
  return *builder.Finish();
}

TEST_F(ConformBatchTest, IsZeroCopyWhenTypesMatch) {
  auto schema = arrow::schema(
      {arrow::field("a", arrow::int64()), arrow::field("b", arrow::utf8())});
  auto batch =
      *testing::BatchFromJson(schema, R"([{"a": 1, "b": "x"}, {"a": 2, "b": null}])");
  auto output = arrow::schema(
      {arrow::field("a", arrow::int64()), arrow::field("b", arrow::utf8())});
  auto conformed = ConformBatch(batch, output);
  ASSERT_TRUE(conformed.ok()) << conformed.status().ToString();
  EXPECT_EQ((*conformed)->schema(), output);
  EXPECT_EQ((*conformed)->column(0)->data()->buffers[1],
            batch->column(0)->data()->buffers[1]);
  EXPECT_EQ((*conformed)->column(1)->data()->buffers[2],
            batch->column(1)->data()->buffers[2]);
}

TEST_F(ConformBatchTest, ReordersDropsAndCasts) {
  auto input = arrow::schema({arrow::field("extra", arrow::utf8()),
                              arrow::field("n", arrow::int32()),
                              arrow::field("id", arrow::uint64())});
  auto batch =
      *testing::BatchFromJson(input,
                              R"([{"extra": "e", "n": 7, "id": 18446744073709551615},
          {"extra": null, "n": null, "id": 0}])");
  auto output = arrow::schema(
      {arrow::field("id", arrow::decimal128(20, 0)), arrow::field("n", arrow::int64())});
  auto conformed = ConformBatch(batch, output);
  ASSERT_TRUE(conformed.ok()) << conformed.status().ToString();
  auto expected = *testing::BatchFromJson(
      output, R"([{"id": "18446744073709551615", "n": 7}, {"id": "0", "n": null}])");
  EXPECT_EQ(testing::DiffBatches(*expected, **conformed), "");
}

// The conversions the spark output profile relies on (docs/type-mapping.md).
TEST_F(ConformBatchTest, ConvertsTimesNullsAndUnsignedsToWiderTypes) {
  auto input = arrow::schema({
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::NANO, "UTC")),
      arrow::field("t", arrow::time64(arrow::TimeUnit::MICRO)),
      arrow::field("t_s", arrow::time32(arrow::TimeUnit::SECOND)),
      arrow::field("u", arrow::uint32()),
      arrow::field("nothing", arrow::null()),
      arrow::field("tags", arrow::large_list(arrow::uint8())),
  });
  auto batch = *testing::BatchFromJson(input, R"([
      {"ts": 1000, "t": 3723000001, "t_s": 3723, "u": 4294967295, "nothing": null,
       "tags": [1, 255]},
      {"ts": null, "t": null, "t_s": 0, "u": 0, "nothing": null, "tags": null}])");
  auto output = arrow::schema({
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
      arrow::field("t", arrow::utf8()),
      arrow::field("t_s", arrow::utf8()),
      arrow::field("u", arrow::int64()),
      arrow::field("nothing", arrow::utf8()),
      arrow::field("tags", arrow::list(arrow::int16())),
  });
  auto conformed = ConformBatch(batch, output);
  ASSERT_TRUE(conformed.ok()) << conformed.status().ToString();
  auto expected = *testing::BatchFromJson(output, R"([
      {"ts": 1, "t": "01:02:03.000001", "t_s": "01:02:03", "u": 4294967295,
       "nothing": null, "tags": [1, 255]},
      {"ts": null, "t": null, "t_s": "00:00:00", "u": 0, "nothing": null,
       "tags": null}])");
  EXPECT_EQ(testing::DiffBatches(*expected, **conformed), "");
}

TEST_F(ConformBatchTest, FormatsUuidsAsCanonicalStrings) {
  auto bytes = UuidBytes({"0123456789abcdef0011223344556677", ""});
  auto extension = arrow::ExtensionType::WrapArray(arrow::extension::uuid(), bytes);
  auto input = arrow::schema(
      {arrow::field("id", arrow::extension::uuid()), TaggedUuidField("id2")});
  auto batch = arrow::RecordBatch::Make(input, 2, {extension, bytes});
  auto output = arrow::schema(
      {arrow::field("id", arrow::utf8()), arrow::field("id2", arrow::utf8())});
  auto conformed = ConformBatch(batch, output);
  ASSERT_TRUE(conformed.ok()) << conformed.status().ToString();
  auto expected = *testing::BatchFromJson(output, R"([
      {"id": "01234567-89ab-cdef-0011-223344556677",
       "id2": "01234567-89ab-cdef-0011-223344556677"},
      {"id": null, "id2": null}])");
  EXPECT_EQ(testing::DiffBatches(*expected, **conformed), "");
}

TEST_F(ConformBatchTest, FormatsUuidsInsideLists) {
  auto bytes =
      UuidBytes({"ffffffffffffffffffffffffffffffff", "00000000000000000000000000000001",
                 "0123456789abcdef0011223344556677"});
  auto values = arrow::ExtensionType::WrapArray(arrow::extension::uuid(), bytes);
  auto offsets = ArrayOf(arrow::int32(), R"([{"v": 0}, {"v": 1}, {"v": 1}, {"v": 3}])");
  auto lists = *arrow::ListArray::FromArrays(*offsets, *values);
  // Slice away the first list: conversion must honour offsets.
  auto input = arrow::schema({arrow::field("ids", lists->type())});
  auto batch = arrow::RecordBatch::Make(input, 2, {lists->Slice(1)});
  auto output = arrow::schema({arrow::field("ids", arrow::list(arrow::utf8()))});
  auto conformed = ConformBatch(batch, output);
  ASSERT_TRUE(conformed.ok()) << conformed.status().ToString();
  auto expected = *testing::BatchFromJson(output, R"([
      {"ids": []},
      {"ids": ["00000000-0000-0000-0000-000000000001",
               "01234567-89ab-cdef-0011-223344556677"]}])");
  EXPECT_EQ(testing::DiffBatches(*expected, **conformed), "");
}

TEST_F(ConformBatchTest, RefusesToTruncateTimestampsAndNamesTheRow) {
  auto input =
      arrow::schema({arrow::field("id", arrow::int32()),
                     arrow::field("created", arrow::timestamp(arrow::TimeUnit::NANO))});
  auto batch = *testing::BatchFromJson(input, R"([
      {"id": 1, "created": 1000}, {"id": 2, "created": 2000}, {"id": 3, "created": 3000},
      {"id": 4, "created": 4001}, {"id": 5, "created": 5001}])");
  ConformOptions options;
  options.first_row = 100;
  auto output =
      arrow::schema({arrow::field("id", arrow::int32()),
                     arrow::field("created", arrow::timestamp(arrow::TimeUnit::MICRO))});
  auto result = ConformBatch(batch, output, options);
  ASSERT_TRUE(result.status().IsInvalid());
  const std::string& message = result.status().message();
  EXPECT_THAT(message, HasSubstr("column 'created'"));
  EXPECT_THAT(message, HasSubstr("timestamp[ns] to timestamp[us]"));
  EXPECT_THAT(message, HasSubstr("at row 103"));
  EXPECT_THAT(message, HasSubstr("000004001"));
}

TEST_F(ConformBatchTest, WritesIntervalsAsStructsOfTheirThreeFields) {
  auto input = arrow::schema({arrow::field("span", arrow::month_day_nano_interval())});
  arrow::MonthDayNanoIntervalBuilder builder;
  JETFLOW_ASSERT_OK(builder.Append({14, -3, 5'000'000'000LL}));
  JETFLOW_ASSERT_OK(builder.AppendNull());
  std::shared_ptr<arrow::Array> spans;
  JETFLOW_ASSERT_OK(builder.Finish(&spans));
  auto output = arrow::schema({arrow::field("span", IntervalStructType())});
  auto conformed = ConformBatch(arrow::RecordBatch::Make(input, 2, {spans}), output);
  ASSERT_TRUE(conformed.ok()) << conformed.status().ToString();
  auto expected = *testing::BatchFromJson(output, R"([
      {"span": {"months": 14, "days": -3, "nanoseconds": 5000000000}},
      {"span": null}])");
  EXPECT_EQ(testing::DiffBatches(*expected, **conformed), "");
}

TEST_F(ConformBatchTest, RecognisesUuidsByTypeOrTag) {
  EXPECT_TRUE(IsUuidField(arrow::Field("a", arrow::extension::uuid())));
  EXPECT_TRUE(IsUuidField(*TaggedUuidField("a")));
  EXPECT_FALSE(IsUuidField(arrow::Field("a", arrow::fixed_size_binary(16))));
  EXPECT_FALSE(IsUuidField(
      arrow::Field("a", arrow::fixed_size_binary(8), true,
                   arrow::key_value_metadata({"ARROW:extension:name"}, {"arrow.uuid"}))));
  EXPECT_TRUE(IsExtensionType(*arrow::extension::uuid(), "arrow.uuid"));
  EXPECT_FALSE(IsExtensionType(*arrow::extension::uuid(), "arrow.bool8"));
  EXPECT_FALSE(IsExtensionType(*arrow::utf8(), "arrow.uuid"));
}

TEST_F(ConformBatchTest, ReportsOverflowAndDecimalLoss) {
  auto input = arrow::schema({arrow::field("n", arrow::int64()),
                              arrow::field("price", arrow::decimal128(10, 3))});
  auto batch = *testing::BatchFromJson(
      input, R"([{"n": 1, "price": "1.250"}, {"n": 3000000000, "price": "1.255"}])");
  auto narrow = arrow::schema({arrow::field("n", arrow::int32())});
  auto overflow = ConformBatch(batch, narrow);
  ASSERT_TRUE(overflow.status().IsInvalid());
  EXPECT_THAT(overflow.status().message(), HasSubstr("column 'n'"));
  EXPECT_THAT(overflow.status().message(), HasSubstr("at row 1 (value 3000000000)"));

  auto rescaled = arrow::schema({arrow::field("price", arrow::decimal128(10, 2))});
  auto loss = ConformBatch(batch, rescaled);
  ASSERT_TRUE(loss.status().IsInvalid());
  EXPECT_THAT(loss.status().message(), HasSubstr("column 'price'"));
  EXPECT_THAT(loss.status().message(), HasSubstr("at row 1 (value 1.255)"));
}

TEST_F(ConformBatchTest, ChecksNonNullableColumns) {
  auto input = arrow::schema(
      {arrow::field("a", arrow::int64()), arrow::field("b", arrow::int64())});
  auto batch =
      *testing::BatchFromJson(input, R"([{"a": 1, "b": 1}, {"a": 2, "b": null}])");
  auto same_types = arrow::schema({arrow::field("a", arrow::int64(), false),
                                   arrow::field("b", arrow::int64(), false)});
  auto result = ConformBatch(batch, same_types);
  ASSERT_TRUE(result.status().IsInvalid());
  EXPECT_THAT(result.status().message(),
              HasSubstr("column 'b' is not nullable but row 1 is null"));

  auto cast = arrow::schema({arrow::field("b", arrow::int32(), false)});
  ConformOptions options;
  options.first_row = 10;
  EXPECT_THAT(ConformBatch(batch, cast, options).status().message(),
              HasSubstr("column 'b' is not nullable but row 11 is null"));
}

TEST_F(ConformBatchTest, NamesAMissingColumn) {
  auto input = arrow::schema({arrow::field("a", arrow::int64())});
  auto batch = *testing::BatchFromJson(input, R"([{"a": 1}])");
  auto output = arrow::schema({arrow::field("b", arrow::int64())});
  EXPECT_THAT(ConformBatch(batch, output).status().message(), HasSubstr("column 'b'"));
}

TEST_F(ConformBatchTest, CanConformFollowsCastRules) {
  EXPECT_TRUE(CanConform(arrow::Field("a", arrow::int64()), *arrow::int32()));
  EXPECT_TRUE(CanConform(arrow::Field("a", arrow::uint64()), *arrow::decimal128(20, 0)));
  EXPECT_TRUE(CanConform(arrow::Field("a", arrow::extension::uuid()), *arrow::utf8()));
  EXPECT_TRUE(CanConform(*TaggedUuidField("a"), *arrow::utf8()));
  EXPECT_FALSE(CanConform(arrow::Field("a", arrow::int64()), *arrow::date32()));
  EXPECT_FALSE(
      CanConform(arrow::Field("a", arrow::list(arrow::int32())), *arrow::int32()));
}

}  // namespace
}  // namespace jetflow
