// The Parquet loader's checks of published output against its manifests
// (VerifyCommitted, VerifyPublished; lake_verifier.h): each kind of damage, and the
// depth that finds it.
#include "jetflow/sinks/parquet/lake_verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "jetflow/sinks/parquet/file_digest.h"
#include "jetflow/sinks/parquet/lake_test_fixture.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr const char* kP0 = "dt=2026-11-25/part=p0";
constexpr const char* kP1 = "dt=2026-11-25/part=p1";

/// "<path> <what>" of each difference, for compact assertions.
std::vector<std::string> Summary(const std::vector<ManifestDifference>& differences) {
  std::vector<std::string> out;
  for (const auto& d : differences) out.push_back(d.path + " " + d.what);
  return out;
}

class LakeVerifierTest : public parquet_test::LakeTest {
 protected:
  static std::shared_ptr<arrow::Schema> Schema() {
    return arrow::schema(
        {arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8())});
  }

  static RunContext Run() {
    RunContext run;
    run.pipeline = "orders";
    run.run = {"dt", "2026-11-25"};
    run.run_id = 7;
    return run;
  }

  static PartitionContext Partition(const std::string& id) {
    PartitionContext context;
    context.pipeline = "orders";
    context.run = {"dt", "2026-11-25"};
    context.partition.id = id;
    return context;
  }

  /// A loader writing two files per partition of three rows; p0 and p1 have rows of the
  /// same sizes (so their files have the same sizes), and the run is finished.
  void SetUp() override {
    LakeTest::SetUp();
    auto options = BaseOptions();
    options.max_file_rows = 2;
    loader_ = Loader(options, Schema());
    ASSERT_NE(loader_, nullptr);
    JETFLOW_ASSERT_OK(loader_->BeginRun(Run()));
    for (const char* id : {"p0", "p1"}) {
      const std::string letter = id == std::string("p0") ? "a" : "b";
      JETFLOW_ASSERT_OK_AND_ASSIGN(
          auto manifest,
          WritePartition(
              loader_.get(), Partition(id),
              {Batch(Schema(), R"([{"id": 1, "name": ")" + letter +
                                   R"("}, {"id": 2, "name": ")" + letter +
                                   R"("}, {"id": 3, "name": ")" + letter + R"("}])")}));
      ASSERT_EQ(manifest.files.size(), 2u);
      manifests_.push_back(manifest);
    }
    JETFLOW_ASSERT_OK(loader_->FinishRun(Run(), manifests_));
  }

  std::vector<ManifestDifference> Verify(const PartitionManifest& manifest,
                                         VerifyDepth depth) {
    auto differences = loader_->VerifyCommitted(manifest, depth);
    EXPECT_TRUE(differences.ok()) << differences.status().ToString();
    return differences.ok() ? *differences : std::vector<ManifestDifference>{};
  }

  PublishedRunCheck VerifyRun(VerifyDepth depth) {
    auto check = loader_->VerifyPublished(Run().run, depth);
    EXPECT_TRUE(check.ok()) << check.status().ToString();
    return check.ok() ? *check : PublishedRunCheck{};
  }

  void WriteBytes(const std::string& relative, const std::string& bytes) {
    std::ofstream out(root_ / relative, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

  std::string File(int partition, int file) const {
    return manifests_[partition].files[file].path;
  }

  std::unique_ptr<ParquetLoader> loader_;
  std::vector<PartitionManifest> manifests_;
};

TEST_F(LakeVerifierTest, UntouchedOutputMatchesAtEveryDepth) {
  for (VerifyDepth depth :
       {VerifyDepth::kSize, VerifyDepth::kChecksum, VerifyDepth::kFull}) {
    EXPECT_THAT(Verify(manifests_[0], depth), IsEmpty()) << ToString(depth);
    PublishedRunCheck check = VerifyRun(depth);
    EXPECT_TRUE(check.published);
    EXPECT_THAT(check.differences, IsEmpty()) << ToString(depth);
    EXPECT_EQ(check.run_id, 7);
    EXPECT_EQ(check.pipeline, "orders");
    EXPECT_EQ(check.partitions, 2);
    EXPECT_EQ(check.files, 4);
    EXPECT_EQ(check.rows, 6);
  }
}

TEST_F(LakeVerifierTest, AMissingFileIsFoundBySize) {
  fs::remove(root_ / File(0, 1));
  auto differences = Verify(manifests_[0], VerifyDepth::kSize);
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].path, File(0, 1));
  EXPECT_EQ(differences[0].what, "missing");
  EXPECT_EQ(differences[0].expected,
            std::to_string(manifests_[0].files[1].bytes) + " bytes");
  EXPECT_EQ(differences[0].found, "");
  EXPECT_THAT(differences[0].ToString(), HasSubstr("part-00001.parquet: missing"));
}

TEST_F(LakeVerifierTest, AFileOverwrittenWithSixteenBytesIsFoundBySize) {
  WriteBytes(File(0, 0), std::string(16, 'x'));
  auto differences = Verify(manifests_[0], VerifyDepth::kSize);
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].what, "size");
  EXPECT_EQ(differences[0].found, "16 bytes");
  EXPECT_THAT(
      differences[0].ToString(),
      HasSubstr("size differs: expected " + std::to_string(manifests_[0].files[0].bytes) +
                " bytes, found 16 bytes"));
}

TEST_F(LakeVerifierTest, AnotherPartitionsFileOfTheSameSizeNeedsTheChecksum) {
  ASSERT_EQ(manifests_[0].files[0].bytes, manifests_[1].files[0].bytes)
      << "the test needs two files of the same size";
  ASSERT_NE(manifests_[0].files[0].checksum, manifests_[1].files[0].checksum);
  fs::copy_file(root_ / File(1, 0), root_ / File(0, 0),
                fs::copy_options::overwrite_existing);
  EXPECT_THAT(Verify(manifests_[0], VerifyDepth::kSize), IsEmpty());
  auto differences = Verify(manifests_[0], VerifyDepth::kChecksum);
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].path, File(0, 0));
  EXPECT_EQ(differences[0].what, "checksum");
  EXPECT_EQ(differences[0].expected, manifests_[0].files[0].checksum);
  EXPECT_EQ(differences[0].found, manifests_[1].files[0].checksum);
  EXPECT_THAT(Summary(Verify(manifests_[0], VerifyDepth::kFull)),
              ElementsAre(File(0, 0) + " checksum"));
}

TEST_F(LakeVerifierTest, AByteChangedInPlaceNeedsTheChecksum) {
  std::string bytes = ReadText(File(0, 0));
  bytes[bytes.size() / 2] ^= 0x5a;
  WriteBytes(File(0, 0), bytes);
  EXPECT_THAT(Verify(manifests_[0], VerifyDepth::kSize), IsEmpty());
  EXPECT_THAT(Summary(Verify(manifests_[0], VerifyDepth::kChecksum)),
              ElementsAre(File(0, 0) + " checksum"));
  // The run's check: only --deep finds it.
  EXPECT_THAT(VerifyRun(VerifyDepth::kSize).differences, IsEmpty());
  EXPECT_THAT(Summary(VerifyRun(VerifyDepth::kFull).differences),
              ElementsAre(File(0, 0) + " checksum"));
}

TEST_F(LakeVerifierTest, AMissingPartitionDirectoryIsOneDifference) {
  fs::remove_all(root_ / kP0);
  auto differences = Verify(manifests_[0], VerifyDepth::kChecksum);
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].path, kP0);
  EXPECT_EQ(differences[0].what, "missing directory");
  EXPECT_EQ(differences[0].expected, "2 files, 3 rows");
  EXPECT_THAT(Verify(manifests_[1], VerifyDepth::kChecksum), IsEmpty());
}

TEST_F(LakeVerifierTest, DataFilesNoManifestListsAreStrayButHiddenFilesAreNot) {
  fs::copy_file(root_ / File(1, 0), root_ / kP0 / "part-00009.parquet");
  WriteBytes(std::string(kP0) + "/.part-00000.parquet.crc", "crc");
  WriteBytes(std::string(kP0) + "/_committed_by_spark", "");
  auto differences = Verify(manifests_[0], VerifyDepth::kSize);
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].path, std::string(kP0) + "/part-00009.parquet");
  EXPECT_EQ(differences[0].what, "stray file");
  EXPECT_THAT(differences[0].ToString(), HasSubstr("listed by no manifest"));
}

TEST_F(LakeVerifierTest, TheManifestNextToTheDataMustBeTheSame) {
  fs::remove(root_ / kP0 / "_jetflow_manifest.json");
  EXPECT_THAT(Summary(Verify(manifests_[0], VerifyDepth::kSize)),
              ElementsAre(std::string(kP0) + "/_jetflow_manifest.json missing"));
  WriteBytes(std::string(kP0) + "/_jetflow_manifest.json", manifests_[1].ToJson());
  EXPECT_THAT(Summary(Verify(manifests_[0], VerifyDepth::kSize)),
              ElementsAre(std::string(kP0) + "/_jetflow_manifest.json manifest"));
  WriteBytes(std::string(kP0) + "/_jetflow_manifest.json", "{not json");
  EXPECT_THAT(Summary(Verify(manifests_[0], VerifyDepth::kSize)),
              ElementsAre(std::string(kP0) + "/_jetflow_manifest.json manifest"));
}

TEST_F(LakeVerifierTest, FullDepthComparesFootersWithTheManifest) {
  // A manifest that lies about rows and schema, with the files' true checksums: only the
  // footers can tell.
  PartitionManifest wrong = manifests_[0];
  wrong.files[0].rows += 5;
  wrong.rows += 5;
  wrong.schema_fingerprint = "xxh3-128:00000000000000000000000000000000";
  WriteBytes(std::string(kP0) + "/_jetflow_manifest.json", wrong.ToJson());
  EXPECT_THAT(Verify(wrong, VerifyDepth::kChecksum), IsEmpty());
  EXPECT_THAT(
      Summary(Verify(wrong, VerifyDepth::kFull)),
      ElementsAre(File(0, 0) + " rows", File(0, 0) + " schema", File(0, 1) + " schema"));
}

TEST_F(LakeVerifierTest, AFileThatIsNotParquetIsFoundAtFullDepth) {
  PartitionManifest wrong = manifests_[0];
  WriteBytes(File(0, 0), std::string(wrong.files[0].bytes, 'x'));
  // Pretend the manifest recorded those bytes: the footer check is what remains.
  wrong.files[0].checksum = [&] {
    auto digester = FileDigester::Make();
    (*digester)->Update(std::string(wrong.files[0].bytes, 'x').data(),
                        wrong.files[0].bytes);
    return (*digester)->Digest().checksum;
  }();
  WriteBytes(std::string(kP0) + "/_jetflow_manifest.json", wrong.ToJson());
  EXPECT_THAT(Verify(wrong, VerifyDepth::kChecksum), IsEmpty());
  EXPECT_THAT(Summary(Verify(wrong, VerifyDepth::kFull)),
              ElementsAre(File(0, 0) + " footer"));
}

TEST_F(LakeVerifierTest, PathsThatLeaveThePartitionAreNeverOpened) {
  PartitionManifest escaping = manifests_[0];
  escaping.files[0].path = std::string(kP0) + "/../../../../etc/passwd";
  auto differences = Verify(escaping, VerifyDepth::kChecksum);
  EXPECT_THAT(Summary(differences),
              ::testing::Contains(escaping.files[0].path + " location"));
  PartitionManifest elsewhere = manifests_[0];
  elsewhere.location = "../outside/part=p0";
  EXPECT_THAT(Summary(Verify(elsewhere, VerifyDepth::kSize)),
              ElementsAre("../outside/part=p0 location"));
}

TEST_F(LakeVerifierTest, APublishedRunListsEveryDifferenceAtOnce) {
  fs::remove(root_ / File(0, 0));
  WriteBytes(File(0, 1), std::string(16, 'x'));
  fs::create_directories(root_ / "dt=2026-11-25/part=p7");
  fs::copy_file(root_ / File(1, 0), root_ / "dt=2026-11-25/part=p7/part-00000.parquet");
  fs::copy_file(root_ / File(1, 1), root_ / "dt=2026-11-25/extra.parquet");
  fs::remove(root_ / "dt=2026-11-25/_SUCCESS");
  PublishedRunCheck check = VerifyRun(VerifyDepth::kSize);
  EXPECT_TRUE(check.published);
  EXPECT_THAT(Summary(check.differences),
              ElementsAre("dt=2026-11-25/_SUCCESS missing", File(0, 0) + " missing",
                          File(0, 1) + " size", "dt=2026-11-25/extra.parquet stray file",
                          "dt=2026-11-25/part=p7/part-00000.parquet stray file"));
}

TEST_F(LakeVerifierTest, APartitionWithAnotherSchemaThanTheRunIsADifference) {
  std::string text = ReadText("dt=2026-11-25/_jetflow_run.json");
  const std::string fingerprint = manifests_[0].schema_fingerprint;
  text.replace(text.find(fingerprint), fingerprint.size(),
               "xxh3-128:11111111111111111111111111111111");
  WriteBytes("dt=2026-11-25/_jetflow_run.json", text);
  EXPECT_THAT(Summary(VerifyRun(VerifyDepth::kSize).differences),
              ElementsAre(std::string(kP0) + " schema", std::string(kP1) + " schema"));
}

TEST_F(LakeVerifierTest, AnInstanceThatWasNeverPublishedIsSaidSo) {
  auto check = loader_->VerifyPublished({"dt", "2026-11-26"}, VerifyDepth::kSize);
  JETFLOW_ASSERT_OK(check.status());
  EXPECT_FALSE(check->published);
  EXPECT_THAT(check->differences, IsEmpty());
  // Without the run manifest, nothing says what the instance holds.
  fs::remove(root_ / "dt=2026-11-25/_jetflow_run.json");
  EXPECT_THAT(Summary(VerifyRun(VerifyDepth::kSize).differences),
              ElementsAre("dt=2026-11-25/_jetflow_run.json missing"));
}

}  // namespace
}  // namespace jetflow
