#include "jetflow/testing/fault_injecting_filesystem.h"

#include <arrow/filesystem/mockfs.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "jetflow/testing/status_assertions.h"

namespace jetflow::testing {
namespace {

using ::testing::HasSubstr;
using Op = FileSystemOperation;

class FaultInjectingFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = std::make_shared<arrow::fs::internal::MockFileSystem>(
        std::chrono::system_clock::now());
    fs_ = std::make_shared<FaultInjectingFileSystem>(base_);
  }

  bool Exists(const std::string& path) const {
    auto info = base_->GetFileInfo(path);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return info.ok() && info->type() != arrow::fs::FileType::NotFound;
  }

  arrow::Status WriteFile(const std::string& path, const std::string& content) {
    ARROW_ASSIGN_OR_RAISE(auto stream, fs_->OpenOutputStream(path));
    ARROW_RETURN_NOT_OK(stream->Write(content.data(), content.size()));
    return stream->Close();
  }

  std::shared_ptr<arrow::fs::FileSystem> base_;
  std::shared_ptr<FaultInjectingFileSystem> fs_;
};

TEST_F(FaultInjectingFileSystemTest, ForwardsEverythingWhenNoFaultIsArmed) {
  EXPECT_EQ(fs_->type_name(), "mock");
  EXPECT_EQ(FaultInjectingFileSystem(base_, "remote").type_name(), "remote");
  JETFLOW_ASSERT_OK(fs_->CreateDir("a/b", /*recursive=*/true));
  JETFLOW_ASSERT_OK(WriteFile("a/b/f", "hello"));
  JETFLOW_ASSERT_OK(fs_->Move("a/b", "a/c"));
  EXPECT_TRUE(Exists("a/c/f"));
  EXPECT_FALSE(Exists("a/b"));
  EXPECT_EQ(fs_->calls(Op::kCreateDir), 1);
  EXPECT_EQ(fs_->calls(Op::kOpenOutputStream), 1);
  EXPECT_EQ(fs_->calls(Op::kStreamWrite), 1);
  EXPECT_EQ(fs_->calls(Op::kStreamClose), 1);
  EXPECT_EQ(fs_->calls(Op::kMove), 1);
  EXPECT_FALSE(fs_->fault_injected());
  EXPECT_EQ(fs_->failed_call(), "");
}

TEST_F(FaultInjectingFileSystemTest, TransientFaultFailsOnlyTheChosenCall) {
  JETFLOW_ASSERT_OK(fs_->CreateDir("x", true));
  JETFLOW_ASSERT_OK(fs_->CreateDir("y", true));
  fs_->FailCall(Op::kMove, 2);
  JETFLOW_ASSERT_OK(fs_->Move("x", "x1"));
  arrow::Status failed = fs_->Move("y", "y1");
  ASSERT_TRUE(failed.IsIOError()) << failed.ToString();
  EXPECT_THAT(failed.message(), HasSubstr("injected fault: Move 'y' -> 'y1'"));
  EXPECT_TRUE(Exists("y")) << "the failed call reached the base filesystem";
  EXPECT_FALSE(Exists("y1"));
  EXPECT_TRUE(fs_->fault_injected());
  EXPECT_FALSE(fs_->crashed());
  EXPECT_EQ(fs_->failed_call(), "Move 'y' -> 'y1'");
  // Later calls, of this operation and others, go through.
  JETFLOW_EXPECT_OK(fs_->Move("y", "y1"));
  JETFLOW_EXPECT_OK(fs_->CreateDir("z", true));
  EXPECT_EQ(fs_->calls(Op::kMove), 3);
}

TEST_F(FaultInjectingFileSystemTest, FaultThatIsNeverReachedIsNotInjected) {
  fs_->FailCall(Op::kDeleteDir, 1);
  JETFLOW_ASSERT_OK(fs_->CreateDir("x", true));
  EXPECT_FALSE(fs_->fault_injected());
  fs_->Reset();
  // Reset disarms: the next DeleteDir goes through.
  JETFLOW_EXPECT_OK(fs_->DeleteDir("x"));
  EXPECT_FALSE(fs_->fault_injected());
}

TEST_F(FaultInjectingFileSystemTest, CrashFailsEveryLaterCallUntilReset) {
  JETFLOW_ASSERT_OK(fs_->CreateDir("d", true));
  auto stream = fs_->OpenOutputStream("d/open-before");
  JETFLOW_ASSERT_OK(stream);
  fs_->FailCall(Op::kCreateDir, 1, FaultInjectingFileSystem::FaultKind::kCrash);
  EXPECT_TRUE(fs_->CreateDir("e", true).IsIOError());
  EXPECT_TRUE(fs_->crashed());
  // Nothing reaches the base filesystem any more: no other operation, no stream.
  arrow::Status deleted = fs_->DeleteDir("d");
  EXPECT_THAT(deleted.message(), HasSubstr("after the crash at CreateDir 'e'"));
  EXPECT_TRUE(Exists("d"));
  EXPECT_FALSE(Exists("e"));
  EXPECT_TRUE((*stream)->Write("x", 1).IsIOError());
  EXPECT_TRUE(WriteFile("d/after", "x").IsIOError());
  EXPECT_FALSE(Exists("d/after"));
  EXPECT_TRUE(fs_->GetFileInfo("d").status().IsIOError());
  // The restart.
  fs_->Reset();
  EXPECT_FALSE(fs_->crashed());
  EXPECT_TRUE(fs_->fault_injected());
  EXPECT_EQ(fs_->failed_call(), "CreateDir 'e'");
  JETFLOW_EXPECT_OK(fs_->CreateDir("e", true));
  EXPECT_TRUE(Exists("e"));
}

TEST_F(FaultInjectingFileSystemTest, StreamWritesAndClosesCanFail) {
  fs_->FailCall(Op::kStreamWrite, 2);
  auto stream = fs_->OpenOutputStream("f");
  JETFLOW_ASSERT_OK(stream);
  JETFLOW_EXPECT_OK((*stream)->Write("a", 1));
  EXPECT_THAT((*stream)->Write("b", 1).message(), HasSubstr("StreamWrite 'f'"));
  JETFLOW_EXPECT_OK((*stream)->Close());

  fs_->FailCall(Op::kStreamClose, 1);
  arrow::Status closed = WriteFile("g", "content");
  EXPECT_THAT(closed.message(), HasSubstr("injected fault: StreamClose 'g'"));
}

TEST_F(FaultInjectingFileSystemTest, CountsRestartWithEachFault) {
  JETFLOW_ASSERT_OK(fs_->CreateDir("a", true));
  JETFLOW_ASSERT_OK(fs_->CreateDir("b", true));
  EXPECT_EQ(fs_->calls(Op::kCreateDir), 2);
  fs_->FailCall(Op::kCreateDir, 1);
  EXPECT_EQ(fs_->calls(Op::kCreateDir), 0);
  EXPECT_TRUE(fs_->CreateDir("c", true).IsIOError());
  EXPECT_EQ(fs_->calls(Op::kCreateDir), 1);
  EXPECT_STREQ(ToString(Op::kOpenOutputStream), "OpenOutputStream");
}

}  // namespace
}  // namespace jetflow::testing
