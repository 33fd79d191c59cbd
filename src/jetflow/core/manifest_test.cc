#include "jetflow/core/manifest.h"

#include <arrow/api.h>
#include <arrow/util/key_value_metadata.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

using ::testing::HasSubstr;

PartitionManifest SampleManifest() {
  PartitionManifest manifest;
  manifest.loader = "lake";
  manifest.partition_id = "p00003";
  manifest.location = "dt=2026-11-25/part=p00003";
  manifest.files = {{"dt=2026-11-25/part=p00003/part-00000.parquet", 1000, 4096,
                     "xxh3-128:0123456789abcdef0123456789abcdef"},
                    {"dt=2026-11-25/part=p00003/part-00001.parquet", 17, 512,
                     "xxh3-128:fedcba9876543210fedcba9876543210"}};
  manifest.rows = 1017;
  manifest.bytes = 4608;
  manifest.schema_fingerprint = "xxh3-128:00112233445566778899aabbccddeeff";
  return manifest;
}

void ExpectEqual(const PartitionManifest& a, const PartitionManifest& b) {
  EXPECT_EQ(a.loader, b.loader);
  EXPECT_EQ(a.partition_id, b.partition_id);
  EXPECT_EQ(a.location, b.location);
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_EQ(a.schema_fingerprint, b.schema_fingerprint);
  ASSERT_EQ(a.files.size(), b.files.size());
  for (size_t i = 0; i < a.files.size(); ++i) {
    EXPECT_EQ(a.files[i].path, b.files[i].path);
    EXPECT_EQ(a.files[i].rows, b.files[i].rows);
    EXPECT_EQ(a.files[i].bytes, b.files[i].bytes);
    EXPECT_EQ(a.files[i].checksum, b.files[i].checksum);
  }
  ASSERT_EQ(a.value_changes.size(), b.value_changes.size());
  for (size_t i = 0; i < a.value_changes.size(); ++i) {
    EXPECT_EQ(a.value_changes[i].stage, b.value_changes[i].stage);
    EXPECT_EQ(a.value_changes[i].column, b.value_changes[i].column);
    EXPECT_EQ(a.value_changes[i].change, b.value_changes[i].change);
    EXPECT_EQ(a.value_changes[i].action, b.value_changes[i].action);
    EXPECT_EQ(a.value_changes[i].values, b.value_changes[i].values);
    EXPECT_EQ(a.value_changes[i].detail, b.value_changes[i].detail);
  }
}

TEST(ManifestTest, RoundTripsThroughJson) {
  PartitionManifest manifest = SampleManifest();
  std::string json = manifest.ToJson();
  EXPECT_THAT(json, HasSubstr("\"format\": \"jetflow.partition-manifest/1\""));
  auto parsed = PartitionManifest::FromJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ExpectEqual(manifest, *parsed);
  EXPECT_EQ(parsed->ToJson(), json);  // deterministic
}

TEST(ManifestTest, RoundTripsAnEmptyPartition) {
  PartitionManifest manifest = SampleManifest();
  manifest.files.clear();
  manifest.rows = 0;
  manifest.bytes = 0;
  auto parsed = PartitionManifest::FromJson(manifest.ToJson());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ExpectEqual(manifest, *parsed);
}

TEST(ManifestTest, CarriesValueChangesOnlyWhenThereAreSome) {
  PartitionManifest manifest = SampleManifest();
  // Without changes the manifest is what it always was: no key at all.
  EXPECT_THAT(manifest.ToJson(), ::testing::Not(HasSubstr("value_changes")));

  manifest.value_changes = {
      {"pg", "created_at", "-infinity", "clamp", "written as 0001-01-01", 3},
      {"pg", "created_at", "infinity", "clamp", "", 1},
      {"pg", "amount", "NaN", "null", "", 2}};
  const std::string json = manifest.ToJson();
  EXPECT_THAT(json, HasSubstr("\"value_changes\""));
  EXPECT_THAT(json, HasSubstr("\"change\": \"-infinity\""));
  EXPECT_THAT(json, HasSubstr("\"detail\": \"written as 0001-01-01\""));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto parsed, PartitionManifest::FromJson(json));
  ExpectEqual(manifest, parsed);
  EXPECT_EQ(parsed.ToJson(), json);

  auto replace = [&](const std::string& from, const std::string& to) {
    std::string copy = json;
    copy.replace(copy.find(from), from.size(), to);
    return PartitionManifest::FromJson(copy).status();
  };
  EXPECT_THAT(replace("\"values\": 3", "\"values\": -3").message(),
              HasSubstr("'values' must not be negative"));
  EXPECT_THAT(replace("\"column\": \"amount\"", "\"column\": 1").message(),
              HasSubstr("'column' must be a string"));
}

TEST(ValueChangesTest, SumsEntriesOfTheSameKindInOrderOfFirstAdd) {
  ValueChanges changes;
  changes.Add({"pg", "a", "-infinity", "clamp", "d", 2});
  changes.Add({"pg", "b", "NaN", "null", "", 1});
  changes.Add({"pg", "a", "infinity", "clamp", "", 0});  // nothing: ignored
  changes.Add(std::vector<ValueChangeCount>{{"pg", "a", "-infinity", "clamp", "d", 5},
                                            {"other", "a", "-infinity", "clamp", "", 1}});
  const auto counts = changes.Counts();
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts[0].column, "a");
  EXPECT_EQ(counts[0].values, 7);
  EXPECT_EQ(counts[1].change, "NaN");
  EXPECT_EQ(counts[2].stage, "other");
  EXPECT_EQ(DescribeValueChange(counts[0]), "7 -infinity values of column a d");
  EXPECT_EQ(DescribeValueChange(counts[1]), "1 NaN value of column b");
}

TEST(ManifestTest, IgnoresUnknownKeysForForwardCompatibility) {
  std::string json = R"({"format": "jetflow.partition-manifest/1", "loader": "l",
      "partition_id": "p", "location": "x", "rows": 0, "bytes": 0,
      "schema_fingerprint": "f", "files": [], "added_later": {"a": 1}})";
  JETFLOW_EXPECT_OK(PartitionManifest::FromJson(json));
}

TEST(ManifestTest, RejectsMalformedManifestsWithoutThrowing) {
  EXPECT_THAT(PartitionManifest::FromJson("{not json").status().message(),
              HasSubstr("not a JSON object"));
  EXPECT_THAT(PartitionManifest::FromJson("[]").status().message(),
              HasSubstr("not a JSON object"));
  std::string json = SampleManifest().ToJson();

  auto replace = [&](const std::string& from, const std::string& to) {
    std::string copy = json;
    copy.replace(copy.find(from), from.size(), to);
    return PartitionManifest::FromJson(copy).status();
  };
  EXPECT_THAT(replace("\"rows\": 1017", "\"rows\": \"many\"").message(),
              HasSubstr("'rows' must be an integer"));
  EXPECT_THAT(replace("\"rows\": 1017", "\"rows\": -1").message(),
              HasSubstr("'rows' must not be negative"));
  EXPECT_THAT(replace("\"loader\": \"lake\"", "\"loader\": 7").message(),
              HasSubstr("'loader' must be a string"));
  EXPECT_THAT(
      replace("jetflow.partition-manifest/1", "jetflow.partition-manifest/9").message(),
      HasSubstr("unsupported format"));
  EXPECT_THAT(
      replace("\"checksum\": \"xxh3-128:0123", "\"checksum\": [], \"x\": \"").message(),
      HasSubstr("'checksum' must be a string"));
}

TEST(SchemaFingerprintTest, FingerprintCoversNamesTypesAndNullabilityOnly) {
  auto base = arrow::schema(
      {arrow::field("a", arrow::int64()), arrow::field("b", arrow::utf8())});
  std::string fingerprint = SchemaFingerprint(*base);
  EXPECT_TRUE(std::regex_match(fingerprint, std::regex("xxh3-128:[0-9a-f]{32}")))
      << fingerprint;
  // Recorded in lakes and state stores: XXH3-128 of "1:a int64 null\n1:b string null\n"
  // (docs/formats/manifest.md), computed independently with Python's xxhash.
  EXPECT_EQ(fingerprint, "xxh3-128:4360248bb9c260e51de740e4a5158a61");
  EXPECT_EQ(fingerprint,
            SchemaFingerprint(*arrow::schema(
                {arrow::field("a", arrow::int64()), arrow::field("b", arrow::utf8())})));
  auto with_metadata = base->WithMetadata(arrow::key_value_metadata({"k"}, {"v"}));
  EXPECT_EQ(fingerprint, SchemaFingerprint(*with_metadata));
  EXPECT_NE(fingerprint,
            SchemaFingerprint(*arrow::schema(
                {arrow::field("a", arrow::int32()), arrow::field("b", arrow::utf8())})));
  EXPECT_NE(fingerprint,
            SchemaFingerprint(*arrow::schema({arrow::field("a", arrow::int64(), false),
                                              arrow::field("b", arrow::utf8())})));
  EXPECT_NE(fingerprint,
            SchemaFingerprint(*arrow::schema(
                {arrow::field("b", arrow::utf8()), arrow::field("a", arrow::int64())})));
}

}  // namespace
}  // namespace jetflow
