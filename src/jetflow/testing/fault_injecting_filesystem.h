// FaultInjectingFileSystem: an arrow::fs::FileSystem that forwards every call to another
// one (a LocalFileSystem, a MockFileSystem, ...) and fails the calls a test chooses, so
// that code built on arrow::fs can be tested against an I/O failure at every step. The
// model is LevelDB's FaultInjectionTestEnv (an EnvWrapper that fails or drops writes).
//
//   auto filesystem = std::make_shared<FaultInjectingFileSystem>(
//       std::make_shared<arrow::fs::LocalFileSystem>());
//   for (int64_t n = 1;; ++n) {
//     ... set up ...
//     filesystem->FailCall(FileSystemOperation::kMove, n);  // the n-th Move from now
//     arrow::Status status = CodeUnderTest(filesystem);
//     filesystem->Reset();
//     if (!filesystem->fault_injected()) break;  // it makes fewer than n Moves: done
//     ... check what the failure at that Move left behind ...
//   }
//
// Two kinds of fault:
//   - kTransient: only the chosen call fails, with an IOError
//     "injected fault: <operation> '<path>'", without reaching the base filesystem; later
//     calls go through. A dropped connection, a throttled request.
//   - kCrash: the chosen call and every later call, of every operation and on every
//     stream opened through this filesystem, fail without reaching the base filesystem,
//     as if the process had died at that call. The base filesystem then holds what a kill
//     at that point would leave, as far as the code under test changes it only through
//     this filesystem. Reset() is the restart.
//
// Calls are counted per operation from the last FailCall or Reset (calls()), failed or
// not. Writes and closes of output streams opened through this filesystem count as the
// operations kStreamWrite and kStreamClose.
//
// What it cannot see: what the code under test does without this filesystem (POSIX calls
// on local paths, such as fsync or renameat2), and data that the base filesystem accepted
// but the kernel had not written to disk yet (unlike LevelDB's Env, it keeps no record of
// unsynced data to drop).
//
// Threading: thread-safe; calls from concurrent threads are counted in the order in which
// they take an internal lock.
#pragma once

#include <arrow/filesystem/filesystem.h>
#include <arrow/io/interfaces.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include <cstdint>
#include <memory>
#include <string>

namespace jetflow::testing {

/// The calls a FaultInjectingFileSystem counts and can fail.
enum class FileSystemOperation {
  kGetFileInfo,  // by path or by selector
  kCreateDir,
  kDeleteDir,
  kDeleteDirContents,
  kDeleteRootDirContents,
  kDeleteFile,
  kMove,
  kCopyFile,
  kOpenInputStream,
  kOpenInputFile,
  kOpenOutputStream,
  kOpenAppendStream,
  kStreamWrite,  // Write on a stream from OpenOutputStream / OpenAppendStream
  kStreamClose,  // Close of such a stream
};
inline constexpr int kFileSystemOperationCount = 14;

/// "Move", "CreateDir", ...
const char* ToString(FileSystemOperation operation);

class FaultInjectingFileSystem : public arrow::fs::FileSystem {
 public:
  enum class FaultKind { kTransient, kCrash };

  /// `type_name` is what type_name() reports; empty reports the base's, so that code
  /// that picks its behaviour by filesystem type (e.g. POSIX calls for "local") treats
  /// the wrapper as what it wraps.
  explicit FaultInjectingFileSystem(std::shared_ptr<arrow::fs::FileSystem> base,
                                    std::string type_name = "");
  ~FaultInjectingFileSystem() override;

  /// Arms one fault: the `n`-th call of `operation` from now fails (1 = the next one).
  /// Restarts the counts and ends an earlier crash. REQUIRES: n >= 1.
  void FailCall(FileSystemOperation operation, int64_t n,
                FaultKind kind = FaultKind::kTransient);
  /// Disarms the fault, ends a crash and restarts the counts; keeps fault_injected() and
  /// failed_call() of the fault that was armed, for the test to inspect.
  void Reset();

  /// Calls of `operation` since the last FailCall or Reset.
  int64_t calls(FileSystemOperation operation) const;
  /// Whether the armed call was made (and failed) since the last FailCall.
  bool fault_injected() const;
  /// Whether a kCrash fault happened and Reset() has not been called since.
  bool crashed() const;
  /// "<operation> '<path>'" of the call that failed, or "" if none did.
  std::string failed_call() const;

  const std::shared_ptr<arrow::fs::FileSystem>& base() const { return base_; }

  // --- arrow::fs::FileSystem: forwarded to base() unless a fault is due. ---
  std::string type_name() const override;
  bool Equals(const arrow::fs::FileSystem& other) const override;
  arrow::Result<std::string> NormalizePath(std::string path) override;
  arrow::Result<arrow::fs::FileInfo> GetFileInfo(const std::string& path) override;
  arrow::Result<arrow::fs::FileInfoVector> GetFileInfo(
      const arrow::fs::FileSelector& select) override;
  arrow::Status CreateDir(const std::string& path, bool recursive) override;
  arrow::Status DeleteDir(const std::string& path) override;
  arrow::Status DeleteDirContents(const std::string& path, bool missing_dir_ok) override;
  arrow::Status DeleteRootDirContents() override;
  arrow::Status DeleteFile(const std::string& path) override;
  arrow::Status Move(const std::string& src, const std::string& dest) override;
  arrow::Status CopyFile(const std::string& src, const std::string& dest) override;
  arrow::Result<std::shared_ptr<arrow::io::InputStream>> OpenInputStream(
      const std::string& path) override;
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(
      const std::string& path) override;
  using arrow::fs::FileSystem::OpenAppendStream;
  using arrow::fs::FileSystem::OpenOutputStream;
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenOutputStream(
      const std::string& path,
      const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) override;
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenAppendStream(
      const std::string& path,
      const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) override;

  /// What the filesystem and its streams share: counts, the armed fault, the crash.
  class State;

 private:
  std::shared_ptr<arrow::fs::FileSystem> base_;
  std::string type_name_;
  std::shared_ptr<State> state_;
};

}  // namespace jetflow::testing
