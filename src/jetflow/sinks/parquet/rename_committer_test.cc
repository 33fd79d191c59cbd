// RenameCommitter alone, on the local disk through a FaultInjectingFileSystem: a failure
// (or a crash) at every filesystem call of each step of the protocol must leave the old
// or the new partition visible, never a mix, never neither, and the next BeginRun must
// clean up what was left so that the run then completes like a clean one.
//
// Each test runs in two modes: "local" (the wrapper reports the local filesystem: fsync,
// renameat2 exchange) and "portable" (it reports another type: the move-aside switch that
// HDFS and other filesystems get). The fault injector sees only arrow::fs calls: the
// exchange itself and fsync are POSIX calls it cannot fail.
#include "jetflow/sinks/parquet/rename_committer.h"

#include <arrow/filesystem/localfs.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "jetflow/core/error.h"
#include "jetflow/sinks/parquet/lake_test_fixture.h"
#include "jetflow/testing/fault_injecting_filesystem.h"

namespace jetflow {
namespace {

namespace fs = std::filesystem;
using testing::FaultInjectingFileSystem;
using testing::FileSystemOperation;
using FaultKind = FaultInjectingFileSystem::FaultKind;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

/// A partition's content: path relative to its directory -> bytes.
using Content = std::map<std::string, std::string>;

enum class Mode { kLocal, kPortable };

std::string ModeName(const ::testing::TestParamInfo<Mode>& info) {
  return info.param == Mode::kLocal ? "Local" : "Portable";
}

class RenameCommitterTest : public parquet_test::LakeTest,
                            public ::testing::WithParamInterface<Mode> {
 protected:
  void SetUp() override {
    LakeTest::SetUp();
    filesystem_ = std::make_shared<FaultInjectingFileSystem>(
        std::make_shared<arrow::fs::LocalFileSystem>(),
        GetParam() == Mode::kLocal ? "" : "remote-test");
    // The fault injector cannot see fsync (a POSIX call), and the loops below make
    // thousands of them: tests that need durability make their own committer.
    committer_ = RenameCommitter::Make(filesystem_, LakeLayout(root_.string(), "part"),
                                       {/*fsync=*/false});
  }

  std::shared_ptr<RenameCommitter> DurableCommitter() const {
    return RenameCommitter::Make(filesystem_, LakeLayout(root_.string(), "part"), {});
  }

  bool portable() const { return GetParam() == Mode::kPortable; }

  static RunInstance Run() { return {"dt", "2026-11-25"}; }

  // Two contents that share a file name, so that a mix would show.
  static Content OldFiles() {
    return {{"part-00000.parquet", "old-0"},
            {"part-00001.parquet", "old-1"},
            {"country=DE/part-00000.parquet", "old-de"}};
  }
  static Content NewFiles() {
    return {{"part-00000.parquet", "new-0"}, {"country=FR/part-00000.parquet", "new-fr"}};
  }

  PartitionManifest ManifestFor(const std::string& partition_id,
                                const Content& files) const {
    PartitionManifest manifest;
    manifest.loader = "lake";
    manifest.partition_id = partition_id;
    manifest.location = committer_->layout().Relative(
        committer_->layout().PartitionDir(Run(), partition_id));
    manifest.schema_fingerprint = "test";
    for (const auto& [path, bytes] : files) {
      manifest.files.push_back({LakeLayout::Join(manifest.location, path), 1,
                                static_cast<int64_t>(bytes.size()), "xxh3-128:test"});
      manifest.rows += 1;
      manifest.bytes += static_cast<int64_t>(bytes.size());
    }
    return manifest;
  }

  /// What readers see in a published partition with `files`.
  Content Published(const std::string& partition_id, const Content& files) const {
    Content content = files;
    content[LakeLayout::kPartitionManifestFile] =
        ManifestFor(partition_id, files).ToJson();
    return content;
  }

  arrow::Status WriteAndPublish(const StagedAttempt& attempt, const Content& files) {
    for (const auto& [path, bytes] : files) {
      const std::string full = LakeLayout::Join(attempt.staging_dir, path);
      if (path.find('/') != std::string::npos) {
        ARROW_RETURN_NOT_OK(committer_->CreateStagedDir(LakeLayout::Parent(full)));
      }
      ARROW_ASSIGN_OR_RAISE(auto stream, committer_->OpenStagedOutput(full));
      ARROW_RETURN_NOT_OK(
          stream->Write(bytes.data(), static_cast<int64_t>(bytes.size())));
      ARROW_RETURN_NOT_OK(stream->Close());
      committer_->StartWriteBack(full);
    }
    return committer_->Publish(attempt, ManifestFor(attempt.partition_id, files));
  }

  /// One attempt the way the Parquet loader makes it: prepare, write, publish, and abort
  /// after a failure — unless the process "died".
  arrow::Status Commit(const std::string& partition_id, int attempt,
                       const Content& files) {
    auto staged = committer_->PrepareAttempt(Run(), partition_id, attempt);
    if (!staged.ok()) return staged.status();
    arrow::Status status = WriteAndPublish(*staged, files);
    if (!status.ok() && !filesystem_->crashed()) {
      arrow::Status aborted = committer_->Abort(*staged);
      EXPECT_TRUE(aborted.ok()) << aborted.ToString();
    }
    return status;
  }

  /// The content of partition directory `partition_id`, or nullopt if there is none.
  std::optional<Content> Visible(const std::string& partition_id) const {
    const fs::path dir = root_ / "dt=2026-11-25" / ("part=" + partition_id);
    if (!fs::exists(dir)) return std::nullopt;
    Content content;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      content[fs::relative(entry.path(), dir).string()] =
          std::string(std::istreambuf_iterator<char>(in), {});
    }
    return content;
  }

  /// After BeginRun: the run has no staging directory (an empty one where empty
  /// directories cannot be removed cheaply) and no trash.
  void ExpectNoLeftovers() const {
    const fs::path staging = root_ / "_jetflow_staging/dt=2026-11-25";
    if (portable()) {
      EXPECT_TRUE(fs::is_directory(staging) && fs::is_empty(staging))
          << "staging leftovers after BeginRun";
    } else {
      EXPECT_FALSE(fs::exists(root_ / "_jetflow_staging"))
          << "staging leftovers after BeginRun";
    }
    EXPECT_FALSE(fs::exists(root_ / "_jetflow_trash/dt=2026-11-25"))
        << "trash leftovers after BeginRun";
  }

  /// The lake of a clean run that published NewFiles() as p0.
  std::vector<std::string> CleanRun() const {
    return {"dt=2026-11-25/_SUCCESS", "dt=2026-11-25/_jetflow_run.json",
            "dt=2026-11-25/part=p0/_jetflow_manifest.json",
            "dt=2026-11-25/part=p0/country=FR/part-00000.parquet",
            "dt=2026-11-25/part=p0/part-00000.parquet"};
  }

  /// For N = 1, 2, ...: a lake holding OldFiles() as p0 (if `replace`) is re-run, and
  /// the N-th call of `operation` fails while NewFiles() is committed as p0. Checks what
  /// readers see after the failure and after the next BeginRun, and that the run then
  /// completes as a clean one. Returns how many faults were injected (the loop ends at
  /// the first N the commit never reaches).
  int FailEachCall(FileSystemOperation operation, FaultKind kind, bool replace) {
    int injected = 0;
    for (int64_t n = 1; n <= 200; ++n) {
      SCOPED_TRACE(std::string(ToString(operation)) + " call " + std::to_string(n) +
                   (kind == FaultKind::kCrash ? " (crash)" : " (transient)"));
      fs::remove_all(root_);
      std::optional<Content> old;
      JETFLOW_EXPECT_OK(committer_->BeginRun(Run()));
      if (replace) {
        JETFLOW_EXPECT_OK(Commit("p0", 1, OldFiles()));
        JETFLOW_EXPECT_OK(committer_->FinishRun(Run(), {"p0"}, "{}"));
        old = Published("p0", OldFiles());
      }
      JETFLOW_EXPECT_OK(committer_->BeginRun(Run()));  // the re-run
      if (::testing::Test::HasFailure()) return injected;

      filesystem_->FailCall(operation, n, kind);
      arrow::Status status = Commit("p0", 1, NewFiles());
      filesystem_->Reset();
      const Content fresh = Published("p0", NewFiles());
      const std::optional<Content> visible = Visible("p0");
      if (!filesystem_->fault_injected()) {
        JETFLOW_EXPECT_OK(status);
        EXPECT_EQ(visible, fresh);
        return injected;
      }
      ++injected;
      const std::string failed = filesystem_->failed_call();
      SCOPED_TRACE("failed: " + failed + "; status: " + status.ToString());
      if (status.ok()) {
        EXPECT_EQ(visible, fresh) << "Publish returned OK";
      }
      // Only a crash between the two renames of a move-aside switch leaves no partition
      // (the old one waits in the trash).
      const bool between_renames =
          kind == FaultKind::kCrash && portable() && replace &&
          failed.rfind("Move '" + (root_ / "_jetflow_staging").string(), 0) == 0;
      if (between_renames) {
        EXPECT_EQ(visible, std::nullopt);
      } else {
        EXPECT_TRUE(visible == old || visible == fresh)
            << (visible ? "a mix of old and new files" : "no partition");
      }

      // The next run's BeginRun cleans up and never loses the partition ...
      JETFLOW_EXPECT_OK(committer_->BeginRun(Run()));
      ExpectNoLeftovers();
      const std::optional<Content> after = Visible("p0");
      if (between_renames) {
        EXPECT_EQ(after, old) << "BeginRun did not move the old partition back";
      } else {
        EXPECT_EQ(after, visible) << "BeginRun changed what readers see";
      }
      // ... and the run then completes as a clean one.
      JETFLOW_EXPECT_OK(Commit("p0", 2, NewFiles()));
      JETFLOW_EXPECT_OK(committer_->FinishRun(Run(), {"p0"}, "{}"));
      EXPECT_EQ(Files(), CleanRun());
      if (::testing::Test::HasFailure()) return injected;
    }
    ADD_FAILURE() << "the commit made more than 200 calls of " << ToString(operation);
    return injected;
  }

  /// Faults FailEachCall must at least have injected for `operation`.
  int MinimumFaults(FileSystemOperation operation, bool replace) const {
    switch (operation) {
      case FileSystemOperation::kCreateDir:
        return 2;  // the attempt's directory, the partition's parent
      case FileSystemOperation::kOpenOutputStream:
      case FileSystemOperation::kStreamWrite:
      case FileSystemOperation::kStreamClose:
        return 3;  // two data files and the manifest
      case FileSystemOperation::kGetFileInfo:
        return 2;  // whether the staging directory and the partition exist
      case FileSystemOperation::kMove:
        // The exchange is no Move; a first publish is one; moving aside is two.
        if (!replace) return 1;
        return portable() ? 2 : 0;
      case FileSystemOperation::kDeleteDir:
        return replace ? 1 : 0;  // the replaced output
      default:
        return 0;
    }
  }

  /// Every call of the operations that change the filesystem (and, with `lookups`, of
  /// GetFileInfo: many calls, each failing before anything changed).
  void CheckEveryCall(FaultKind kind, bool replace, bool lookups = false) {
    std::vector<FileSystemOperation> operations = {
        FileSystemOperation::kMove, FileSystemOperation::kDeleteDir,
        FileSystemOperation::kOpenOutputStream, FileSystemOperation::kCreateDir,
        FileSystemOperation::kStreamClose};
    if (lookups) operations.push_back(FileSystemOperation::kGetFileInfo);
    for (FileSystemOperation operation : operations) {
      int injected = FailEachCall(operation, kind, replace);
      EXPECT_GE(injected, MinimumFaults(operation, replace)) << ToString(operation);
      if (HasFailure()) return;
    }
  }

  std::shared_ptr<FaultInjectingFileSystem> filesystem_;
  std::shared_ptr<RenameCommitter> committer_;
};

INSTANTIATE_TEST_SUITE_P(Modes, RenameCommitterTest,
                         ::testing::Values(Mode::kLocal, Mode::kPortable), ModeName);

// --- The protocol without faults ------------------------------------------------------

TEST_P(RenameCommitterTest, ChoosesLocalBehaviourFromTheFilesystemType) {
  EXPECT_EQ(committer_->is_local(), !portable());
  EXPECT_FALSE(committer_->fsync());
  // fsync acts only on the local filesystem.
  EXPECT_EQ(DurableCommitter()->fsync(), !portable());
  // Remote failures are transient, a local disk's are not.
  arrow::Status failure =
      committer_->IoFailure(arrow::Status::IOError("disk gone"), "/some/path");
  EXPECT_THAT(failure.message(), HasSubstr("/some/path"));
  EXPECT_EQ(IsRetryable(failure), portable());
  EXPECT_FALSE(
      IsRetryable(committer_->IoFailure(arrow::Status::Invalid("bad"), "/some/path")));
}

TEST_P(RenameCommitterTest, PublishesAttemptsAndFinishesTheRun) {
  committer_ = DurableCommitter();
  JETFLOW_ASSERT_OK(committer_->BeginRun(Run()));
  JETFLOW_ASSERT_OK(Commit("p0", 1, OldFiles()));
  EXPECT_EQ(Visible("p0"), Published("p0", OldFiles()));
  // The attempt's staging directory is gone (and its partition's, where empty
  // directories can be removed cheaply).
  const fs::path staging = root_ / "_jetflow_staging/dt=2026-11-25";
  EXPECT_FALSE(fs::exists(staging / "p0/attempt-1"));
  EXPECT_EQ(fs::exists(staging / "p0"), portable());
  JETFLOW_ASSERT_OK(Commit("p0", 2, NewFiles()));
  EXPECT_EQ(Visible("p0"), Published("p0", NewFiles()));
  JETFLOW_ASSERT_OK(committer_->FinishRun(Run(), {"p0"}, R"({"run": 1})"));
  EXPECT_EQ(Files(), CleanRun());
  EXPECT_EQ(ReadText("dt=2026-11-25/_jetflow_run.json"), R"({"run": 1})");
  EXPECT_EQ(ReadText("dt=2026-11-25/_SUCCESS"), "");
  EXPECT_FALSE(fs::exists(staging));
  EXPECT_FALSE(fs::exists(root_ / "_jetflow_trash/dt=2026-11-25"));
  EXPECT_EQ(fs::exists(root_ / "_jetflow_staging"), portable());
}

TEST_P(RenameCommitterTest, AbortLeavesNoTraceAndKeepsThePublishedPartition) {
  JETFLOW_ASSERT_OK(committer_->BeginRun(Run()));
  JETFLOW_ASSERT_OK(Commit("p0", 1, OldFiles()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto attempt, committer_->PrepareAttempt(Run(), "p0", 2));
  std::ofstream(LakeLayout::Join(attempt.staging_dir, "part-00000.parquet")) << "half";
  JETFLOW_ASSERT_OK(committer_->Abort(attempt));
  EXPECT_FALSE(fs::exists(attempt.staging_dir));
  EXPECT_EQ(fs::exists(root_ / "_jetflow_staging/dt=2026-11-25/p0"), portable());
  EXPECT_EQ(Visible("p0"), Published("p0", OldFiles()));
}

TEST_P(RenameCommitterTest, AttemptsThatEndLeaveNoEmptyStagingFolder) {
  JETFLOW_ASSERT_OK(committer_->BeginRun(Run()));
  const fs::path staging = root_ / "_jetflow_staging";
  EXPECT_EQ(fs::exists(staging), portable()) << "BeginRun left an empty staging folder";
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto first, committer_->PrepareAttempt(Run(), "p0", 1));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto second, committer_->PrepareAttempt(Run(), "p1", 1));
  std::ofstream(LakeLayout::Join(first.staging_dir, "part-00000.parquet")) << "half";
  JETFLOW_ASSERT_OK(committer_->Abort(first));
  // The other attempt's folders stay while it runs, even while they are empty.
  EXPECT_TRUE(fs::is_directory(second.staging_dir));
  EXPECT_EQ(fs::exists(staging / "dt=2026-11-25/p0"), portable());
  JETFLOW_ASSERT_OK(WriteAndPublish(second, OldFiles()));
  EXPECT_EQ(Visible("p1"), Published("p1", OldFiles()));
  EXPECT_EQ(fs::exists(staging), portable()) << "the last attempt left staging folders";
  // Replacing a published partition leaves no folder either (exchange or move-aside).
  JETFLOW_ASSERT_OK(Commit("p1", 2, NewFiles()));
  EXPECT_EQ(Visible("p1"), Published("p1", NewFiles()));
  EXPECT_EQ(fs::exists(staging), portable());
  EXPECT_EQ(fs::exists(root_ / "_jetflow_trash"), portable()) << "an empty trash folder";
}

TEST_P(RenameCommitterTest, BeginRunRemovesEmptyFoldersKilledAttemptsLeft) {
  const fs::path staging = root_ / "_jetflow_staging";
  const fs::path trash = root_ / "_jetflow_trash";
  // What processes killed with SIGKILL leave, in other run instances: empty folders,
  // the files of an attempt, and an attempt's folder that may belong to a live process
  // that has not written its first file yet.
  fs::create_directories(staging / "dt=2026-11-23");
  fs::create_directories(staging / "dt=2026-11-24/p3");
  fs::create_directories(staging / "dt=2026-11-24/p4/attempt-1");
  std::ofstream(staging / "dt=2026-11-24/p4/attempt-1/part-00000.parquet") << "x";
  fs::create_directories(staging / "dt=2026-11-22/p1/attempt-2");
  fs::create_directories(trash / "dt=2026-11-24/p1");
  // And of this run instance, every leftover.
  fs::create_directories(staging / "dt=2026-11-25/p0/attempt-1");
  JETFLOW_ASSERT_OK(committer_->BeginRun(Run()));
  // Files and attempts' folders are never touched; empty folders above them go (where
  // empty folders can be removed cheaply).
  EXPECT_TRUE(fs::exists(staging / "dt=2026-11-24/p4/attempt-1/part-00000.parquet"));
  EXPECT_TRUE(fs::is_directory(staging / "dt=2026-11-22/p1/attempt-2"));
  EXPECT_EQ(fs::exists(staging / "dt=2026-11-23"), portable());
  EXPECT_EQ(fs::exists(staging / "dt=2026-11-24/p3"), portable());
  EXPECT_EQ(fs::exists(trash), portable());
  EXPECT_FALSE(fs::exists(staging / "dt=2026-11-25/p0"));
  // Once the other instances' leftovers are gone, so is the staging folder.
  fs::remove_all(staging / "dt=2026-11-24");
  fs::remove_all(staging / "dt=2026-11-22");
  JETFLOW_ASSERT_OK(committer_->BeginRun(Run()));
  EXPECT_EQ(fs::exists(staging), portable());
  JETFLOW_ASSERT_OK(Commit("p0", 1, NewFiles()));
  fs::create_directories(staging / "dt=2026-11-20/p9");
  JETFLOW_ASSERT_OK(committer_->FinishRun(Run(), {"p0"}, "{}"));
  EXPECT_FALSE(fs::exists(staging / "dt=2026-11-25"));
  EXPECT_EQ(fs::exists(staging), portable());
}

TEST_P(RenameCommitterTest, FinishRunRemovesStalePartitionsAndChecksThePlan) {
  JETFLOW_ASSERT_OK(committer_->BeginRun(Run()));
  JETFLOW_ASSERT_OK(Commit("p0", 1, NewFiles()));
  JETFLOW_ASSERT_OK(Commit("p1", 1, OldFiles()));
  fs::create_directories(root_ / "dt=2026-11-25/old_key=3");
  fs::create_directories(root_ / "dt=2026-11-25/_keep");
  arrow::Status missing = committer_->FinishRun(Run(), {"p0", "p9"}, "{}");
  ASSERT_TRUE(missing.IsInvalid()) << missing.ToString();
  EXPECT_THAT(missing.message(), HasSubstr("partition 'p9' has no committed output"));
  EXPECT_FALSE(fs::exists(root_ / "dt=2026-11-25/_SUCCESS"));
  JETFLOW_ASSERT_OK(committer_->FinishRun(Run(), {"p0"}, "{}"));
  EXPECT_FALSE(fs::exists(root_ / "dt=2026-11-25/part=p1"));
  EXPECT_FALSE(fs::exists(root_ / "dt=2026-11-25/old_key=3"));
  EXPECT_TRUE(fs::exists(root_ / "dt=2026-11-25/_keep"));  // not Hive-style: not data
  EXPECT_EQ(Files(), CleanRun());
}

TEST_P(RenameCommitterTest, BeginRunRefusesWhatJetflowDidNotWriteAndChangesNothing) {
  JETFLOW_ASSERT_OK(committer_->BeginRun(Run()));
  JETFLOW_ASSERT_OK(Commit("p0", 1, OldFiles()));
  JETFLOW_ASSERT_OK(committer_->FinishRun(Run(), {"p0"}, "{}"));
  // A second run of the instance may replace its own output.
  JETFLOW_ASSERT_OK(committer_->BeginRun(Run()));
  JETFLOW_ASSERT_OK(committer_->FinishRun(Run(), {"p0"}, "{}"));

  const fs::path run_dir = root_ / "dt=2026-11-25";
  const std::vector<std::pair<std::string, std::string>> foreign = {
      {"part=p0/notes.txt", "a user's file inside a partition jetflow wrote"},
      {"part=p7/data.parquet", "a partition folder without a manifest"},
      {"region=eu/x.parquet", "another Hive-style folder"},
      {"report.csv", "a file beside the partitions"},
  };
  for (const auto& [path, what] : foreign) {
    SCOPED_TRACE(what);
    fs::create_directories((run_dir / path).parent_path());
    std::ofstream(run_dir / path) << "not jetflow's";
    const auto before = Files();
    arrow::Status refused = committer_->BeginRun(Run());
    ASSERT_TRUE(refused.IsInvalid()) << refused.ToString();
    EXPECT_THAT(refused.message(), HasSubstr("dt=2026-11-25/" + path));
    EXPECT_THAT(refused.message(), HasSubstr("adopt_existing: true"));
    EXPECT_EQ(Files(), before) << "BeginRun changed the lake before refusing";
    fs::remove_all(run_dir / path);
    fs::remove(run_dir / "part=p7");
    fs::remove(run_dir / "region=eu");
  }
  // A _SUCCESS without jetflow's run manifest is someone else's marker.
  fs::remove(run_dir / "_jetflow_run.json");
  EXPECT_TRUE(committer_->BeginRun(Run()).IsInvalid());
  std::ofstream(run_dir / "_jetflow_run.json") << "{}";
  // Names readers skip are left alone, and do not stop the run.
  std::ofstream(run_dir / ".hidden") << "x";
  std::ofstream(run_dir / "_notes") << "x";
  JETFLOW_EXPECT_OK(committer_->BeginRun(Run()));
}

TEST_P(RenameCommitterTest, AdoptExistingReplacesForeignDataWithAWarning) {
  std::ofstream(fs::path(root_) / "stray");  // the root itself is not the instance's
  const fs::path partition = root_ / "dt=2026-11-25/part=p0";
  fs::create_directories(partition);
  std::ofstream(partition / "old.parquet") << "written by another tool";
  EXPECT_TRUE(committer_->BeginRun(Run()).IsInvalid());
  committer_ = RenameCommitter::Make(filesystem_, LakeLayout(root_.string(), "part"),
                                     {/*fsync=*/false, /*adopt_existing=*/true});
  JETFLOW_ASSERT_OK(committer_->BeginRun(Run()));
  JETFLOW_ASSERT_OK(Commit("p0", 1, NewFiles()));
  EXPECT_EQ(Visible("p0"), Published("p0", NewFiles()));
}

TEST_P(RenameCommitterTest, BeginRunMovesBackAPartitionAMoveAsideLeftInTheTrash) {
  JETFLOW_ASSERT_OK(committer_->BeginRun(Run()));
  JETFLOW_ASSERT_OK(Commit("p0", 1, OldFiles()));
  JETFLOW_ASSERT_OK(Commit("p1", 1, OldFiles()));
  JETFLOW_ASSERT_OK(committer_->FinishRun(Run(), {"p0", "p1"}, "{}"));
  // A switch of p0 died between its renames: p0 is in the trash, its directory missing.
  const fs::path trash = root_ / "_jetflow_trash/dt=2026-11-25";
  fs::create_directories(trash / "p0");
  fs::rename(root_ / "dt=2026-11-25/part=p0", trash / "p0/attempt-2-1-2-3");
  // p1's trash holds output that was replaced (its directory is there): garbage.
  fs::create_directories(trash / "p1/attempt-1-1-2-3");
  std::ofstream(trash / "p1/attempt-1-1-2-3/_jetflow_manifest.json") << "{}";
  JETFLOW_ASSERT_OK(committer_->BeginRun(Run()));
  EXPECT_EQ(Visible("p0"), Published("p0", OldFiles()));
  EXPECT_EQ(Visible("p1"), Published("p1", OldFiles()));
  ExpectNoLeftovers();
  EXPECT_FALSE(fs::exists(root_ / "dt=2026-11-25/_SUCCESS"));
  EXPECT_FALSE(fs::exists(root_ / "dt=2026-11-25/_jetflow_run.json"));
}

// --- A failure at every call ----------------------------------------------------------

TEST_P(RenameCommitterTest, FailureWhileReplacingLeavesTheOldOrTheNewPartition) {
  CheckEveryCall(FaultKind::kTransient, /*replace=*/true, /*lookups=*/true);
}

TEST_P(RenameCommitterTest, FailureOnAFirstPublishLeavesNothingOrTheNewPartition) {
  CheckEveryCall(FaultKind::kTransient, /*replace=*/false);
}

TEST_P(RenameCommitterTest, CrashWhileReplacingLeavesWhatBeginRunRepairs) {
  CheckEveryCall(FaultKind::kCrash, /*replace=*/true);
}

TEST_P(RenameCommitterTest, CrashOnAFirstPublishLeavesNothingOrTheNewPartition) {
  CheckEveryCall(FaultKind::kCrash, /*replace=*/false);
}

TEST_P(RenameCommitterTest, FailedBeginRunIsRepeatedAndCleansUp) {
  for (FileSystemOperation operation :
       {FileSystemOperation::kDeleteDir, FileSystemOperation::kCreateDir,
        FileSystemOperation::kMove, FileSystemOperation::kGetFileInfo,
        FileSystemOperation::kDeleteFile}) {
    int injected = 0;
    for (int64_t n = 1;; ++n) {
      SCOPED_TRACE(std::string(ToString(operation)) + " call " + std::to_string(n));
      fs::remove_all(root_);
      JETFLOW_ASSERT_OK(committer_->BeginRun(Run()));
      JETFLOW_ASSERT_OK(Commit("p0", 1, OldFiles()));
      JETFLOW_ASSERT_OK(Commit("p2", 1, OldFiles()));
      JETFLOW_ASSERT_OK(committer_->FinishRun(Run(), {"p0", "p2"}, "{}"));
      // Leftovers: a dead attempt, and p2 moved aside by a switch that died.
      fs::create_directories(root_ / "_jetflow_staging/dt=2026-11-25/p1/attempt-1");
      std::ofstream(root_ /
                    "_jetflow_staging/dt=2026-11-25/p1/attempt-1/part-00000.parquet")
          << "x";
      fs::create_directories(root_ / "_jetflow_trash/dt=2026-11-25/p2");
      fs::rename(root_ / "dt=2026-11-25/part=p2",
                 root_ / "_jetflow_trash/dt=2026-11-25/p2/attempt-2-1-2-3");

      filesystem_->FailCall(operation, n);
      arrow::Status status = committer_->BeginRun(Run());
      filesystem_->Reset();
      if (!filesystem_->fault_injected()) {
        JETFLOW_ASSERT_OK(status);
      } else {
        ++injected;
        EXPECT_FALSE(status.ok()) << filesystem_->failed_call();
        EXPECT_EQ(Visible("p0"), Published("p0", OldFiles()));
        // p2 is back, or still waits in the trash: never lost.
        EXPECT_TRUE(
            Visible("p2") == Published("p2", OldFiles()) ||
            fs::exists(root_ / "_jetflow_trash/dt=2026-11-25/p2/attempt-2-1-2-3"));
        JETFLOW_ASSERT_OK(committer_->BeginRun(Run()));
      }
      ExpectNoLeftovers();
      EXPECT_EQ(Visible("p0"), Published("p0", OldFiles()));
      EXPECT_EQ(Visible("p2"), Published("p2", OldFiles()));
      EXPECT_FALSE(fs::exists(root_ / "dt=2026-11-25/_SUCCESS"));
      if (!filesystem_->fault_injected() || HasFailure()) break;
    }
    EXPECT_GE(injected, 1) << ToString(operation);
  }
}

TEST_P(RenameCommitterTest, FailedFinishRunWritesNoMarkerAndIsRepeated) {
  for (FileSystemOperation operation :
       {FileSystemOperation::kDeleteDir, FileSystemOperation::kCreateDir,
        FileSystemOperation::kGetFileInfo, FileSystemOperation::kOpenOutputStream,
        FileSystemOperation::kStreamClose}) {
    int injected = 0;
    for (int64_t n = 1;; ++n) {
      SCOPED_TRACE(std::string(ToString(operation)) + " call " + std::to_string(n));
      fs::remove_all(root_);
      JETFLOW_ASSERT_OK(committer_->BeginRun(Run()));
      JETFLOW_ASSERT_OK(Commit("p1", 1, OldFiles()));  // of an earlier plan
      JETFLOW_ASSERT_OK(committer_->FinishRun(Run(), {"p1"}, "{}"));
      JETFLOW_ASSERT_OK(committer_->BeginRun(Run()));
      JETFLOW_ASSERT_OK(Commit("p0", 1, NewFiles()));

      filesystem_->FailCall(operation, n);
      arrow::Status status = committer_->FinishRun(Run(), {"p0"}, "{}");
      filesystem_->Reset();
      EXPECT_EQ(Visible("p0"), Published("p0", NewFiles()));
      if (filesystem_->fault_injected()) {
        ++injected;
        EXPECT_FALSE(status.ok()) << filesystem_->failed_call();
        // The marker comes last: whoever sees it sees the finished run (it may be there
        // when only its own close failed).
        if (fs::exists(root_ / "dt=2026-11-25/_SUCCESS")) {
          EXPECT_EQ(ReadText("dt=2026-11-25/_jetflow_run.json"), "{}");
          EXPECT_FALSE(fs::exists(root_ / "dt=2026-11-25/part=p1"));
        }
      }
      JETFLOW_ASSERT_OK(committer_->FinishRun(Run(), {"p0"}, "{}"));
      EXPECT_EQ(Files(), CleanRun());
      if (!filesystem_->fault_injected() || HasFailure()) break;
    }
    EXPECT_GE(injected, 1) << ToString(operation);
  }
}

}  // namespace
}  // namespace jetflow
