#include "jetflow/sinks/parquet/lake_directory.h"

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

#include "jetflow/core/error.h"

namespace jetflow {

namespace {

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

arrow::Status ErrnoStatus(const char* what, const std::string& path) {
  return arrow::Status::IOError(what, " '", path, "': ", std::strerror(errno));
}

// Unique within the machine: several processes may publish the same partition.
std::string UniqueSuffix() {
  static std::atomic<uint64_t> counter{0};
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::to_string(::getpid()) + "-" +
         std::to_string(
             std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()) +
         "-" + std::to_string(counter.fetch_add(1));
}

}  // namespace

LakeDirectory::LakeDirectory(std::shared_ptr<arrow::fs::FileSystem> filesystem,
                             std::string root, std::string display_root, bool fsync)
    : filesystem_(std::move(filesystem)),
      root_(std::move(root)),
      display_root_(std::move(display_root)),
      is_local_(filesystem_->type_name() == "local"),
      fsync_(fsync) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

arrow::Result<std::shared_ptr<LakeDirectory>> LakeDirectory::Open(const std::string& root,
                                                                  bool fsync) {
  if (root.empty()) return arrow::Status::Invalid("parquet loader: 'path' is empty");
  std::string location = root;
  if (root.find("://") == std::string::npos &&
      !std::filesystem::path(root).is_absolute()) {
    std::error_code error;
    auto absolute = std::filesystem::absolute(root, error);
    if (error) {
      return arrow::Status::IOError("parquet loader: cannot resolve path '", root,
                                    "': ", error.message());
    }
    location = absolute.lexically_normal().string();
  }
  std::string path;
  auto filesystem = arrow::fs::FileSystemFromUriOrPath(location, &path);
  if (!filesystem.ok()) {
    return arrow::Status::Invalid("parquet loader: cannot open output path '", root,
                                  "': ", filesystem.status().message());
  }
  return std::shared_ptr<LakeDirectory>(
      new LakeDirectory(*std::move(filesystem), std::move(path), root, fsync));
}

std::shared_ptr<LakeDirectory> LakeDirectory::Make(
    std::shared_ptr<arrow::fs::FileSystem> filesystem, std::string root, bool fsync) {
  std::string display = root;
  return std::shared_ptr<LakeDirectory>(new LakeDirectory(
      std::move(filesystem), std::move(root), std::move(display), fsync));
}

std::string LakeDirectory::Join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string LakeDirectory::RunDir(const RunInstance& run) const {
  return Join(root_, run.id());
}

std::string LakeDirectory::PartitionDir(const RunInstance& run,
                                        const std::string& partition_column,
                                        const std::string& partition_id) const {
  return Join(RunDir(run), partition_column + "=" + partition_id);
}

std::string LakeDirectory::StagingRunDir(const RunInstance& run) const {
  return Join(Join(root_, kStagingDir), run.id());
}

std::string LakeDirectory::StagingAttemptDir(const RunInstance& run,
                                             const std::string& partition_id,
                                             int attempt) const {
  return Join(Join(StagingRunDir(run), partition_id),
              "attempt-" + std::to_string(attempt));
}

std::string LakeDirectory::TrashRunDir(const RunInstance& run) const {
  return Join(Join(root_, kTrashDir), run.id());
}

std::string LakeDirectory::TrashPartitionDir(const RunInstance& run,
                                             const std::string& partition_id) const {
  return Join(TrashRunDir(run), partition_id);
}

std::string LakeDirectory::Relative(const std::string& path) const {
  std::string prefix = root_ == "/" ? "/" : root_ + "/";
  if (path.compare(0, prefix.size(), prefix) == 0) return path.substr(prefix.size());
  return path;
}

arrow::Status LakeDirectory::IoFailure(const arrow::Status& status,
                                       const std::string& path) const {
  if (status.ok()) return status;
  arrow::Status out = status;
  if (status.message().find(path) == std::string::npos) {
    out = AddContext(status, "path '" + path + "'");
  }
  // Remote stores fail transiently (throttling, network); a local disk that is full or
  // read-only stays so, and retrying would only repeat the failure.
  if (!is_local_ && status.IsIOError() && !IsRetryable(out)) out = MarkRetryable(out);
  return out;
}

arrow::Status LakeDirectory::CreateDir(const std::string& path) const {
  return IoFailure(filesystem_->CreateDir(path, /*recursive=*/true), path);
}

arrow::Result<bool> LakeDirectory::Exists(const std::string& path) const {
  auto info = filesystem_->GetFileInfo(path);
  if (!info.ok()) return IoFailure(info.status(), path);
  return info->type() != arrow::fs::FileType::NotFound;
}

arrow::Status LakeDirectory::DeleteDirIfExists(const std::string& path) const {
  ARROW_ASSIGN_OR_RAISE(bool exists, Exists(path));
  if (!exists) return arrow::Status::OK();
  return IoFailure(filesystem_->DeleteDir(path), path);
}

arrow::Status LakeDirectory::DeleteFileIfExists(const std::string& path) const {
  ARROW_ASSIGN_OR_RAISE(bool exists, Exists(path));
  if (!exists) return arrow::Status::OK();
  return IoFailure(filesystem_->DeleteFile(path), path);
}

void LakeDirectory::RemoveIfEmpty(const std::string& path) const {
  if (is_local_) (void)::rmdir(path.c_str());  // fails harmlessly when not empty
}

arrow::Status LakeDirectory::WriteFile(const std::string& path,
                                       const std::string& content) const {
  auto stream = filesystem_->OpenOutputStream(path);
  if (!stream.ok()) return IoFailure(stream.status(), path);
  ARROW_RETURN_NOT_OK(IoFailure((*stream)->Write(content.data(), content.size()), path));
  ARROW_RETURN_NOT_OK(IoFailure((*stream)->Close(), path));
  return Sync(path);
}

void LakeDirectory::StartWriteBack(const std::string& path) const {
  if (!is_local_ || !fsync_) return;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
#ifdef __linux__
  (void)::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
  ::close(fd);
}

arrow::Status LakeDirectory::Sync(const std::string& path) const {
  // Object stores are durable on close; without fsync_ the kernel writes back later.
  if (!is_local_ || !fsync_) return arrow::Status::OK();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open for fsync", path);
  int rc = ::fsync(fd);
  int saved_errno = errno;
  ::close(fd);
  errno = saved_errno;
  if (rc != 0) return ErrnoStatus("fsync failed for", path);
  return arrow::Status::OK();
}

arrow::Status LakeDirectory::Publish(const std::string& staged, const std::string& final,
                                     const std::string& trash_dir) const {
  const std::string parent = Parent(final);
  ARROW_RETURN_NOT_OK(CreateDir(parent));
  ARROW_ASSIGN_OR_RAISE(bool replace, Exists(final));
  if (!replace) {
    ARROW_RETURN_NOT_OK(IoFailure(filesystem_->Move(staged, final), final));
    ARROW_RETURN_NOT_OK(Sync(parent));
    return Sync(Parent(staged));
  }
  if (is_local_) {
    // One atomic step: readers see the old partition or the new one, never neither.
    if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, final.c_str(), RENAME_EXCHANGE) ==
        0) {
      ARROW_RETURN_NOT_OK(Sync(parent));
      ARROW_RETURN_NOT_OK(Sync(Parent(staged)));
      // `staged` now holds the old output; losing it here only leaves garbage that the
      // next BeginRun removes, so the commit stands.
      auto deleted = filesystem_->DeleteDir(staged);
      if (!deleted.ok()) {
        spdlog::warn("parquet loader: could not delete replaced output '{}': {}", staged,
                     deleted.ToString());
      }
      return arrow::Status::OK();
    }
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
      return ErrnoStatus("cannot exchange the staged partition with", final);
    }
    // The filesystem has no exchange (e.g. some network filesystems): move aside below.
  }
  // Two renames: between them readers see no partition, never a mix of old and new.
  const std::string trash = Join(trash_dir, BaseName(staged) + "-" + UniqueSuffix());
  ARROW_RETURN_NOT_OK(CreateDir(trash_dir));
  ARROW_RETURN_NOT_OK(IoFailure(filesystem_->Move(final, trash), final));
  ARROW_RETURN_NOT_OK(IoFailure(filesystem_->Move(staged, final), final));
  ARROW_RETURN_NOT_OK(Sync(parent));
  ARROW_RETURN_NOT_OK(Sync(Parent(staged)));
  auto deleted = filesystem_->DeleteDir(trash);
  if (!deleted.ok()) {
    spdlog::warn("parquet loader: could not delete replaced output '{}': {}", trash,
                 deleted.ToString());
  }
  return arrow::Status::OK();
}

}  // namespace jetflow
