#include "jetflow/sinks/parquet/output_profile.h"

#include <arrow/api.h>
#include <arrow/compute/initialize.h>
#include <arrow/extension/uuid.h>
#include <arrow/util/checked_cast.h>
#include <arrow/util/key_value_metadata.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jetflow/core/conform_batch.h"
#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

using ::arrow::internal::checked_cast;
using ::testing::HasSubstr;
using ::testing::Not;

class OutputProfileTest : public ::testing::Test {
 protected:
  void SetUp() override { JETFLOW_ASSERT_OK(arrow::compute::Initialize()); }
};

std::shared_ptr<arrow::Schema> Spark(const std::shared_ptr<arrow::Schema>& input) {
  auto result = ApplyOutputProfile(input, OutputProfile::kSpark);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : nullptr;
}

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

TEST_F(OutputProfileTest, SparkMapsEveryTypeToOneSparkReads) {
  auto input = arrow::schema({
      arrow::field("ts_ns_utc", arrow::timestamp(arrow::TimeUnit::NANO, "UTC")),
      arrow::field("ts_s", arrow::timestamp(arrow::TimeUnit::SECOND)),
      arrow::field("u8", arrow::uint8()),
      arrow::field("u16", arrow::uint16()),
      arrow::field("u32", arrow::uint32(), /*nullable=*/false),
      arrow::field("u64", arrow::uint64()),
      arrow::field("big", arrow::large_utf8()),
      arrow::field("blob", arrow::large_binary()),
      arrow::field("d64", arrow::date64()),
      arrow::field("half", arrow::float16()),
      arrow::field("t32", arrow::time32(arrow::TimeUnit::SECOND)),
      arrow::field("t64", arrow::time64(arrow::TimeUnit::MICRO)),
      arrow::field("nothing", arrow::null()),
      arrow::field("dec", arrow::decimal256(38, 4)),
      arrow::field("dict", arrow::dictionary(arrow::int32(), arrow::utf8())),
      arrow::field("id", arrow::extension::uuid()),
      TaggedUuidField("id2"),
      arrow::field("same", arrow::int64()),
  });
  auto expected = arrow::schema({
      arrow::field("ts_ns_utc", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
      arrow::field("ts_s", arrow::timestamp(arrow::TimeUnit::MICRO)),
      arrow::field("u8", arrow::int16()),
      arrow::field("u16", arrow::int32()),
      arrow::field("u32", arrow::int64(), /*nullable=*/false),
      arrow::field("u64", arrow::decimal128(20, 0)),
      arrow::field("big", arrow::utf8()),
      arrow::field("blob", arrow::binary()),
      arrow::field("d64", arrow::date32()),
      arrow::field("half", arrow::float32()),
      arrow::field("t32", arrow::utf8()),
      arrow::field("t64", arrow::utf8()),
      arrow::field("nothing", arrow::utf8()),
      arrow::field("dec", arrow::decimal128(38, 4)),
      arrow::field("dict", arrow::dictionary(arrow::int32(), arrow::utf8())),
      arrow::field("id", arrow::utf8()),
      arrow::field("id2", arrow::utf8()),
      arrow::field("same", arrow::int64()),
  });
  auto output = Spark(input);
  ASSERT_NE(output, nullptr);
  EXPECT_TRUE(output->Equals(*expected)) << output->ToString();
  // The UUID tag is gone with the binary type it described.
  EXPECT_EQ(output->GetFieldByName("id2")->metadata(), nullptr);
}

TEST_F(OutputProfileTest, SparkMapsNestedTypes) {
  auto input = arrow::schema({
      arrow::field("l", arrow::large_list(arrow::uint32())),
      arrow::field(
          "s", arrow::struct_({arrow::field("t", arrow::time64(arrow::TimeUnit::NANO)),
                               arrow::field("ok", arrow::int32())})),
      arrow::field("m", arrow::map(arrow::utf8(), arrow::uint64())),
      arrow::field("ids", arrow::list(arrow::extension::uuid())),
  });
  auto output = Spark(input);
  ASSERT_NE(output, nullptr);
  EXPECT_TRUE(output->field(0)->type()->Equals(*arrow::list(arrow::int64())))
      << output->field(0)->type()->ToString();
  EXPECT_TRUE(output->field(1)->type()->Equals(*arrow::struct_(
      {arrow::field("t", arrow::utf8()), arrow::field("ok", arrow::int32())})));
  EXPECT_TRUE(output->field(2)->type()->Equals(
      *arrow::map(arrow::utf8(), arrow::decimal128(20, 0))))
      << output->field(2)->type()->ToString();
  EXPECT_TRUE(output->field(3)->type()->Equals(*arrow::list(arrow::utf8())));
}

// The stream types of the ClickHouse consumer (docs/type-mapping.md, "Source types:
// ClickHouse"): each becomes a Spark-readable type, or is rejected at plan time.
TEST_F(OutputProfileTest, SparkMapsClickHouseStreamTypes) {
  auto dict = arrow::dictionary(arrow::int32(), arrow::utf8());
  auto input = arrow::schema({
      arrow::field("datetime_tz",
                   arrow::timestamp(arrow::TimeUnit::SECOND, "Asia/Kolkata")),
      arrow::field("datetime64_9", arrow::timestamp(arrow::TimeUnit::NANO, "UTC")),
      arrow::field("u8", arrow::uint8(), false),
      arrow::field("u64", arrow::uint64()),
      arrow::field("uuid", arrow::extension::uuid()),
      arrow::field("enum8", dict),
      arrow::field("low_cardinality_date",
                   arrow::dictionary(arrow::int32(), arrow::date32())),
      arrow::field("nothing", arrow::null()),
      arrow::field("fixed_string", arrow::fixed_size_binary(3)),
      arrow::field("d32", arrow::decimal128(9, 2)),
      arrow::field("m", arrow::map(arrow::utf8(), arrow::uint16())),
      arrow::field("tup", arrow::struct_({arrow::field("1", arrow::uint32(), false)})),
  });
  auto expected = arrow::schema({
      arrow::field("datetime_tz",
                   arrow::timestamp(arrow::TimeUnit::MICRO, "Asia/Kolkata")),
      arrow::field("datetime64_9", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
      arrow::field("u8", arrow::int16(), false),
      arrow::field("u64", arrow::decimal128(20, 0)),
      arrow::field("uuid", arrow::utf8()),
      arrow::field("enum8", dict),
      arrow::field("low_cardinality_date", arrow::date32()),
      arrow::field("nothing", arrow::utf8()),
      arrow::field("fixed_string", arrow::fixed_size_binary(3)),
      arrow::field("d32", arrow::decimal128(9, 2)),
      arrow::field("m", arrow::map(arrow::utf8(), arrow::int32())),
      arrow::field("tup", arrow::struct_({arrow::field("1", arrow::int64(), false)})),
  });
  auto output = Spark(input);
  ASSERT_NE(output, nullptr);
  EXPECT_TRUE(output->Equals(*expected)) << output->ToString();
  // Int128/UInt128 (decimal256(39,0)) and Int256 (decimal256(76,0)) have no Spark type.
  auto rejected =
      ApplyOutputProfile(arrow::schema({arrow::field("i128", arrow::decimal256(39, 0)),
                                        arrow::field("i256", arrow::decimal256(76, 0))}),
                         OutputProfile::kSpark);
  ASSERT_FALSE(rejected.ok());
  EXPECT_THAT(rejected.status().message(), HasSubstr("'i128'"));
  EXPECT_THAT(rejected.status().message(), HasSubstr("'i256'"));
  // Values: a DateTime('Asia/Kolkata') second becomes the same instant in microseconds.
  auto ts_type = arrow::timestamp(arrow::TimeUnit::SECOND, "Asia/Kolkata");
  auto batch = testing::BatchFromJson(arrow::schema({arrow::field("t", ts_type)}),
                                      R"([{"t": 1582959896}, {"t": null}])");
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  auto out_schema = Spark((*batch)->schema());
  ASSERT_NE(out_schema, nullptr);
  auto conformed = ConformBatch(*batch, out_schema);
  ASSERT_TRUE(conformed.ok()) << conformed.status().ToString();
  EXPECT_EQ((*conformed)->column(0)->ToString(),
            ArrayOf(arrow::timestamp(arrow::TimeUnit::MICRO, "Asia/Kolkata"),
                    R"([{"v": 1582959896000000}, {"v": null}])")
                ->ToString());
}

TEST_F(OutputProfileTest, SparkKeepsSafeSchemasAsIs) {
  auto input = arrow::schema({arrow::field("a", arrow::int64()),
                              arrow::field("b", arrow::timestamp(arrow::TimeUnit::MICRO)),
                              arrow::field("c", arrow::list(arrow::utf8()))});
  auto output = Spark(input);
  EXPECT_EQ(output, input);
}

TEST_F(OutputProfileTest, SparkRejectsEveryUnreadableColumnAtOnce) {
  auto input = arrow::schema({
      arrow::field("ok", arrow::int32()),
      arrow::field("elapsed", arrow::duration(arrow::TimeUnit::SECOND)),
      arrow::field("huge", arrow::decimal256(50, 2)),
      arrow::field("nested", arrow::struct_({arrow::field(
                                 "d", arrow::duration(arrow::TimeUnit::MILLI))})),
  });
  auto result = ApplyOutputProfile(input, OutputProfile::kSpark);
  ASSERT_TRUE(result.status().IsInvalid());
  const std::string& message = result.status().message();
  EXPECT_THAT(message,
              HasSubstr("column 'elapsed': type duration[s] cannot be written with "
                        "the spark profile (Spark cannot read it); cast it or use "
                        "profile: lossless"));
  EXPECT_THAT(message, HasSubstr("column 'huge'"));
  EXPECT_THAT(message, HasSubstr("precision 38"));
  EXPECT_THAT(message, HasSubstr("column 'nested.d'"));
  EXPECT_THAT(message, Not(HasSubstr("'ok'")));
}

TEST_F(OutputProfileTest, IntervalsBecomeStructsOfTheirThreeFieldsInBothProfiles) {
  auto input = arrow::schema({arrow::field("span", arrow::month_day_nano_interval())});
  arrow::MonthDayNanoIntervalBuilder builder;
  JETFLOW_ASSERT_OK(
      builder.Append({14, -3, 5'000'000'000LL}));  // 1 year 2 mons -3 days 5 s
  JETFLOW_ASSERT_OK(builder.AppendNull());
  JETFLOW_ASSERT_OK(builder.Append({0, 0, -1000}));
  std::shared_ptr<arrow::Array> spans;
  JETFLOW_ASSERT_OK(builder.Finish(&spans));
  auto expected = testing::BatchFromJson(
      arrow::schema({arrow::field(
          "span", arrow::struct_({arrow::field("months", arrow::int32(), false),
                                  arrow::field("days", arrow::int32(), false),
                                  arrow::field("nanoseconds", arrow::int64(), false)}))}),
      R"([{"span": {"months": 14, "days": -3, "nanoseconds": 5000000000}},
          {"span": null},
          {"span": {"months": 0, "days": 0, "nanoseconds": -1000}}])");
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  for (OutputProfile profile : {OutputProfile::kSpark, OutputProfile::kLossless}) {
    auto output = ApplyOutputProfile(input, profile);
    ASSERT_TRUE(output.ok()) << output.status().ToString();
    EXPECT_TRUE((*output)->Equals(*(*expected)->schema())) << (*output)->ToString();
    auto conformed = ConformBatch(arrow::RecordBatch::Make(input, 3, {spans}), *output);
    ASSERT_TRUE(conformed.ok()) << conformed.status().ToString();
    EXPECT_TRUE((*conformed)->Equals(**expected)) << (*conformed)->ToString();
  }
}

TEST_F(OutputProfileTest, SparkRejectsNamesThatDifferOnlyInCase) {
  auto input = arrow::schema(
      {arrow::field("Id", arrow::int32()), arrow::field("id", arrow::int32())});
  auto spark = ApplyOutputProfile(input, OutputProfile::kSpark);
  ASSERT_TRUE(spark.status().IsInvalid());
  EXPECT_THAT(spark.status().message(), HasSubstr("'Id' and 'id' differ only in case"));
  JETFLOW_EXPECT_OK(ApplyOutputProfile(input, OutputProfile::kLossless));
  auto twice = arrow::schema(
      {arrow::field("x", arrow::int32()), arrow::field("x", arrow::utf8())});
  EXPECT_THAT(ApplyOutputProfile(twice, OutputProfile::kLossless).status().message(),
              HasSubstr("column 'x' appears more than once"));
}

TEST_F(OutputProfileTest, LosslessKeepsTypesParquetCanHold) {
  auto input = arrow::schema({
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::NANO, "Europe/Paris")),
      arrow::field("u64", arrow::uint64()),
      arrow::field("t", arrow::time64(arrow::TimeUnit::NANO)),
      arrow::field("d", arrow::duration(arrow::TimeUnit::MICRO)),
      arrow::field("big", arrow::large_utf8()),
      arrow::field("id", arrow::extension::uuid()),
  });
  auto output = ApplyOutputProfile(input, OutputProfile::kLossless);
  ASSERT_TRUE(output.ok()) << output.status().ToString();
  EXPECT_EQ(*output, input);
}

TEST_F(OutputProfileTest, LosslessWritesSecondsAndDate64WithExactEquivalents) {
  auto input = arrow::schema({
      arrow::field("t", arrow::time32(arrow::TimeUnit::SECOND)),
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::SECOND, "UTC")),
      arrow::field("d", arrow::date64()),
      arrow::field("codes", arrow::dictionary(arrow::int8(), arrow::int64())),
      arrow::field("labels", arrow::dictionary(arrow::int32(), arrow::large_utf8())),
  });
  auto output = ApplyOutputProfile(input, OutputProfile::kLossless);
  ASSERT_TRUE(output.ok()) << output.status().ToString();
  auto expected = arrow::schema({
      arrow::field("t", arrow::time32(arrow::TimeUnit::MILLI)),
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MILLI, "UTC")),
      arrow::field("d", arrow::date32()),
      arrow::field("codes", arrow::int64()),
      arrow::field("labels", arrow::dictionary(arrow::int32(), arrow::utf8())),
  });
  EXPECT_TRUE((*output)->Equals(*expected)) << (*output)->ToString();
}

TEST_F(OutputProfileTest, LosslessTurnsTaggedUuidsIntoTheExtensionType) {
  // Arrow readers rebuild arrow.uuid from the tag, so that is what gets written.
  auto input = arrow::schema({TaggedUuidField("id")});
  auto output = ApplyOutputProfile(input, OutputProfile::kLossless);
  ASSERT_TRUE(output.ok()) << output.status().ToString();
  EXPECT_TRUE((*output)->field(0)->type()->Equals(*arrow::extension::uuid()));
  auto bytes = UuidBytes({"0123456789abcdef0011223344556677"});
  auto conformed = ConformBatch(arrow::RecordBatch::Make(input, 1, {bytes}), *output);
  ASSERT_TRUE(conformed.ok()) << conformed.status().ToString();
  EXPECT_TRUE((*conformed)->column(0)->type()->Equals(*arrow::extension::uuid()));
  EXPECT_TRUE(checked_cast<const arrow::ExtensionArray&>(*(*conformed)->column(0))
                  .storage()
                  ->Equals(*bytes));
}

TEST_F(OutputProfileTest, ParsesAndPrintsProfileNames) {
  EXPECT_EQ(*ParseOutputProfile("spark"), OutputProfile::kSpark);
  EXPECT_EQ(*ParseOutputProfile("lossless"), OutputProfile::kLossless);
  EXPECT_EQ(ToString(OutputProfile::kLossless), "lossless");
  EXPECT_TRUE(ParseOutputProfile("sparky").status().IsInvalid());
}

}  // namespace
}  // namespace jetflow
