#include "jetflow/sources/partition_split.h"

#include <gtest/gtest.h>

#include "jetflow/testing/status_assertions.h"

namespace jetflow::sources {
namespace {

arrow::Result<SplitReader> Parse(const std::string& split) {
  return SplitReader::Parse(PartitionSpec{"p00007", "rows [7, 8)", 1, split}, "generate");
}

void ExpectMalformed(const arrow::Status& status, const std::string& why) {
  ASSERT_TRUE(status.IsInvalid()) << status.ToString();
  EXPECT_NE(
      status.message().find("malformed split of generate partition 'p00007': " + why),
      std::string::npos)
      << status.ToString();
}

TEST(SplitReaderTest, ReadsTypedFields) {
  auto split = Parse(R"({"first": 7, "big": 9223372036854775807, "path": "a.csv",
                         "flag": true, "nested": {"low": "x", "high": null}})");
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  EXPECT_EQ(split->Int("first").ValueOrDie(), 7);
  EXPECT_EQ(split->Int("big").ValueOrDie(), INT64_MAX);
  EXPECT_EQ(split->String("path").ValueOrDie(), "a.csv");
  EXPECT_TRUE(split->Bool("flag", false).ValueOrDie());
  EXPECT_FALSE(split->Bool("absent", false).ValueOrDie());
  EXPECT_EQ(split->OptionalInt("absent").ValueOrDie(), std::nullopt);
  auto nested = split->OptionalObject("nested").ValueOrDie();
  ASSERT_TRUE(nested.has_value());
  EXPECT_EQ(nested->OptionalString("low").ValueOrDie(), "x");
  EXPECT_EQ(nested->OptionalString("high").ValueOrDie(), std::nullopt);
  EXPECT_EQ(split->OptionalObject("absent").ValueOrDie(), std::nullopt);
}

TEST(SplitReaderTest, SplitTextIsDeterministic) {
  nlohmann::json a = {{"b", 1}, {"a", "x"}};
  nlohmann::json b;
  b["a"] = "x";
  b["b"] = 1;
  EXPECT_EQ(SplitText(a), R"({"a":"x","b":1})");
  EXPECT_EQ(SplitText(a), SplitText(b));
}

TEST(SplitReaderTest, MalformedSplitsAreInvalidNamingThePartition) {
  ExpectMalformed(Parse("").status(), "the split is empty");
  ExpectMalformed(Parse("{not json").status(), "not a JSON object");
  ExpectMalformed(Parse("[1, 2]").status(), "not a JSON object");
  auto split = Parse(R"({"first": 1.5, "end": 18446744073709551615, "path": 3,
                         "flag": 1, "nested": []})");
  JETFLOW_ASSERT_OK(split);
  ExpectMalformed(split->Int("first").status(), "'first' is not a 64-bit integer");
  ExpectMalformed(split->Int("end").status(), "'end' is not a 64-bit integer");
  ExpectMalformed(split->Int("missing").status(), "'missing' is missing");
  ExpectMalformed(split->String("path").status(), "'path' is not a string");
  ExpectMalformed(split->Bool("flag", false).status(), "'flag' is not true or false");
  ExpectMalformed(split->OptionalObject("nested").status(), "'nested' is not an object");
}

}  // namespace
}  // namespace jetflow::sources
