#include "jetflow/sinks/parquet/rename_committer.h"

#include <arrow/buffer.h>
#include <arrow/util/io_util.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

#include "jetflow/core/crash_point.h"
#include "jetflow/core/error.h"

namespace jetflow {

namespace {

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

RenameCommitter::RenameCommitter(std::shared_ptr<arrow::fs::FileSystem> filesystem,
                                 LakeLayout layout, Options options)
    : filesystem_(std::move(filesystem)),
      layout_(std::move(layout)),
      options_(options),
      is_local_(filesystem_->type_name() == "local") {}

std::shared_ptr<RenameCommitter> RenameCommitter::Make(
    std::shared_ptr<arrow::fs::FileSystem> filesystem, LakeLayout layout,
    Options options) {
  return std::shared_ptr<RenameCommitter>(
      new RenameCommitter(std::move(filesystem), std::move(layout), options));
}

// --- Filesystem operations -------------------------------------------------------------

arrow::Status RenameCommitter::IoFailure(const arrow::Status& status,
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

arrow::Status RenameCommitter::CreateDir(const std::string& path) const {
  return IoFailure(filesystem_->CreateDir(path, /*recursive=*/true), path);
}

arrow::Result<bool> RenameCommitter::Exists(const std::string& path) const {
  auto info = filesystem_->GetFileInfo(path);
  if (!info.ok()) return IoFailure(info.status(), path);
  return info->type() != arrow::fs::FileType::NotFound;
}

arrow::Status RenameCommitter::DeleteDirIfExists(const std::string& path) const {
  ARROW_ASSIGN_OR_RAISE(bool exists, Exists(path));
  if (!exists) return arrow::Status::OK();
  return IoFailure(filesystem_->DeleteDir(path), path);
}

arrow::Status RenameCommitter::DeleteFileIfExists(const std::string& path) const {
  ARROW_ASSIGN_OR_RAISE(bool exists, Exists(path));
  if (!exists) return arrow::Status::OK();
  return IoFailure(filesystem_->DeleteFile(path), path);
}

arrow::Result<std::vector<arrow::fs::FileInfo>> RenameCommitter::List(
    const std::string& path) const {
  auto info = filesystem_->GetFileInfo(path);
  if (!info.ok()) return IoFailure(info.status(), path);
  if (!info->IsDirectory()) return std::vector<arrow::fs::FileInfo>{};
  arrow::fs::FileSelector selector;
  selector.base_dir = path;
  selector.allow_not_found = true;
  auto entries = filesystem_->GetFileInfo(selector);
  if (!entries.ok()) return IoFailure(entries.status(), path);
  return *std::move(entries);
}

void RenameCommitter::RemoveIfEmpty(const std::string& path) const {
  if (is_local_) (void)::rmdir(path.c_str());  // fails harmlessly when not empty
}

void RenameCommitter::RemoveEmptyUpTo(const std::string& path,
                                      const std::string& top) const {
  if (!is_local_) return;
  std::string dir = path;
  while (dir.size() >= top.size() && dir.compare(0, top.size(), top) == 0) {
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return;  // not empty: stop
    if (dir.size() == top.size()) return;
    dir = LakeLayout::Parent(dir);
  }
}

arrow::Status RenameCommitter::RemoveEmptyLeftovers(const std::string& root) const {
  if (!is_local_) return arrow::Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto instances, List(root));
  for (const auto& instance : instances) {
    if (!instance.IsDirectory()) continue;
    ARROW_ASSIGN_OR_RAISE(auto partitions, List(instance.path()));
    for (const auto& partition : partitions) {
      if (partition.IsDirectory()) RemoveIfEmpty(partition.path());
    }
    RemoveIfEmpty(instance.path());
  }
  RemoveIfEmpty(root);
  return arrow::Status::OK();
}

arrow::Status RenameCommitter::CreateStagingDir(const std::string& path) const {
  // Another attempt that ends removes the staging folders it leaves empty (rmdir, which
  // fails on a folder that is not empty): it can remove a parent between the moment
  // this creates it and the moment it creates the child. Creating again wins; each try
  // loses only to an attempt that ended in that very moment.
  arrow::Status created = CreateDir(path);
  for (int tries = 1;
       tries < 8 && !created.ok() && arrow::internal::ErrnoFromStatus(created) == ENOENT;
       ++tries) {
    created = CreateDir(path);
  }
  return created;
}

void RenameCommitter::DeleteReplaced(const std::string& path) const {
  auto deleted = filesystem_->DeleteDir(path);
  if (!deleted.ok()) {
    spdlog::warn("parquet loader: could not delete replaced output '{}': {}", path,
                 deleted.ToString());
  }
}

arrow::Status RenameCommitter::Sync(const std::string& path) const {
  // Other filesystems are durable once a write completes; without fsync the kernel
  // writes back when it chooses.
  if (!fsync()) return arrow::Status::OK();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open for fsync", path);
  int rc = ::fsync(fd);
  int saved_errno = errno;
  ::close(fd);
  errno = saved_errno;
  if (rc != 0) return ErrnoStatus("fsync failed for", path);
  return arrow::Status::OK();
}

void RenameCommitter::StartWriteBack(const std::string& path) {
  if (!fsync()) return;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
#ifdef __linux__
  (void)::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
  ::close(fd);
}

arrow::Status RenameCommitter::WriteFile(const std::string& path,
                                         const std::string& content) {
  auto stream = filesystem_->OpenOutputStream(path);
  if (!stream.ok()) return IoFailure(stream.status(), path);
  ARROW_RETURN_NOT_OK(IoFailure((*stream)->Write(content.data(), content.size()), path));
  ARROW_RETURN_NOT_OK(IoFailure((*stream)->Close(), path));
  return Sync(path);
}

// --- Per run ---------------------------------------------------------------------------

arrow::Status RenameCommitter::RestoreMovedAside(const RunInstance& run) const {
  ARROW_ASSIGN_OR_RAISE(auto partitions, List(layout_.TrashRunDir(run)));
  for (const auto& partition : partitions) {
    if (!partition.IsDirectory()) continue;
    const std::string final = layout_.PartitionDir(run, partition.base_name());
    ARROW_ASSIGN_OR_RAISE(bool published, Exists(final));
    if (published) continue;  // what its trash holds was replaced: garbage
    // The directory of a switch that died between its two renames; only a complete
    // partition (one with its manifest) was ever published.
    ARROW_ASSIGN_OR_RAISE(auto moved, List(partition.path()));
    std::vector<std::string> complete;
    for (const auto& entry : moved) {
      if (!entry.IsDirectory()) continue;
      ARROW_ASSIGN_OR_RAISE(bool has_manifest,
                            Exists(LakeLayout::PartitionManifestPath(entry.path())));
      if (has_manifest) complete.push_back(entry.path());
    }
    if (complete.size() != 1) {
      if (!complete.empty()) {
        spdlog::warn(
            "parquet loader: partition directory '{}' is missing and its trash '{}' "
            "holds {} earlier outputs; none is restored",
            final, partition.path(), complete.size());
      }
      continue;
    }
    spdlog::warn(
        "parquet loader: partition directory '{}' is missing (a publish died between "
        "its two renames); moving its previous output back from '{}'",
        final, complete[0]);
    ARROW_RETURN_NOT_OK(IoFailure(filesystem_->Move(complete[0], final), final));
    ARROW_RETURN_NOT_OK(Sync(LakeLayout::Parent(final)));
  }
  return arrow::Status::OK();
}

arrow::Result<std::vector<std::string>> RenameCommitter::ForeignInPartition(
    const std::string& partition_dir) const {
  arrow::fs::FileSelector selector;
  selector.base_dir = partition_dir;
  selector.recursive = true;
  auto content = filesystem_->GetFileInfo(selector);
  if (!content.ok()) return IoFailure(content.status(), partition_dir);
  std::set<std::string> listed;
  const std::string manifest_path = LakeLayout::PartitionManifestPath(partition_dir);
  bool has_manifest = false;
  auto manifest_file = filesystem_->OpenInputStream(manifest_path);
  if (manifest_file.ok()) {
    auto bytes = (*manifest_file)->Read(int64_t{64} << 20);
    if (bytes.ok()) {
      auto manifest = PartitionManifest::FromJson((*bytes)->ToString());
      if (manifest.ok()) {
        has_manifest = true;
        for (const FileManifest& file : manifest->files) listed.insert(file.path);
      }
    }
  }
  std::vector<std::string> foreign;
  for (const arrow::fs::FileInfo& entry : *content) {
    if (entry.IsDirectory()) continue;  // judged by the files they hold
    if (has_manifest &&
        (entry.path() == manifest_path || listed.count(layout_.Relative(entry.path())))) {
      continue;
    }
    foreign.push_back(layout_.Relative(entry.path()));
  }
  // A folder without files holds no data: removing it loses nothing.
  return foreign;
}

arrow::Result<std::vector<std::string>> RenameCommitter::ForeignEntries(
    const RunInstance& run) const {
  ARROW_ASSIGN_OR_RAISE(auto entries, List(layout_.RunDir(run)));
  ARROW_ASSIGN_OR_RAISE(bool has_run_manifest, Exists(layout_.RunManifestPath(run)));
  std::vector<std::string> foreign;
  for (const arrow::fs::FileInfo& entry : entries) {
    const std::string name = entry.base_name();
    if (name == LakeLayout::kSuccessFile) {
      if (!has_run_manifest) foreign.push_back(layout_.Relative(entry.path()));
      continue;
    }
    if (entry.IsDirectory() && LakeLayout::IsHiveDirName(name)) {
      ARROW_ASSIGN_OR_RAISE(auto inside, ForeignInPartition(entry.path()));
      foreign.insert(foreign.end(), inside.begin(), inside.end());
      continue;
    }
    if (name.empty() || name[0] == '_' || name[0] == '.') continue;
    foreign.push_back(layout_.Relative(entry.path()));
  }
  return foreign;
}

arrow::Status RenameCommitter::BeginRun(const RunInstance& run) {
  CrashPoint("begin.prepare");  // the run is recorded, its output not yet prepared
  // jetflow replaces and removes only what its manifests say it wrote: anything else in
  // the run instance's folder stops the run before a byte is changed.
  ARROW_ASSIGN_OR_RAISE(auto foreign, ForeignEntries(run));
  if (!foreign.empty() && options_.adopt_existing) {
    for (const std::string& path : foreign) {
      spdlog::warn(
          "parquet loader: adopting '{}', which jetflow did not write "
          "(adopt_existing: true): it may be replaced or removed",
          path);
    }
  } else if (!foreign.empty()) {
    std::string shown;
    for (size_t i = 0; i < foreign.size() && i < 5; ++i) {
      shown += (i ? ", " : "") + foreign[i];
    }
    if (foreign.size() > 5)
      shown += " and " + std::to_string(foreign.size() - 5) + " more";
    return arrow::Status::Invalid(
        "the run instance folder ", layout_.RunDir(run), " holds ", foreign.size(),
        " file(s) or folder(s) that jetflow did not write (", shown,
        "); jetflow replaces only what its own manifests list. Move them elsewhere, "
        "point the loader's path at a folder of its own, or set adopt_existing: true on "
        "the loader to let this run replace them");
  }
  ARROW_RETURN_NOT_OK(RestoreMovedAside(run));
  // Staging and trash leftovers of this run instance belong to dead attempts.
  ARROW_RETURN_NOT_OK(DeleteDirIfExists(layout_.StagingRunDir(run)));
  ARROW_RETURN_NOT_OK(DeleteDirIfExists(layout_.TrashRunDir(run)));
  // Creating the staging directory doubles as the check that the root is writable.
  // Attempts create their own folders below it: an empty one is not left behind (nor
  // are empty ones that dead attempts of other run instances left; their files stay
  // for those instances' next runs).
  ARROW_RETURN_NOT_OK(CreateStagingDir(layout_.StagingRunDir(run)));
  RemoveEmptyUpTo(layout_.StagingRunDir(run), layout_.StagingRoot());
  ARROW_RETURN_NOT_OK(RemoveEmptyLeftovers(layout_.StagingRoot()));
  ARROW_RETURN_NOT_OK(RemoveEmptyLeftovers(layout_.TrashRoot()));
  // Readers waiting for _SUCCESS must not take the run instance as complete while it is
  // being rewritten.
  ARROW_RETURN_NOT_OK(DeleteFileIfExists(layout_.SuccessPath(run)));
  return DeleteFileIfExists(layout_.RunManifestPath(run));
}

arrow::Result<bool> RenameCommitter::IsPublished(const RunInstance& run,
                                                 const std::string& partition_id) const {
  return Exists(
      LakeLayout::PartitionManifestPath(layout_.PartitionDir(run, partition_id)));
}

arrow::Status RenameCommitter::FinishRun(const RunInstance& run,
                                         const std::vector<std::string>& partition_ids,
                                         const std::string& run_manifest) {
  // Every partition of the plan must have its committed output in place.
  const std::set<std::string> planned(partition_ids.begin(), partition_ids.end());
  for (const std::string& id : planned) {
    ARROW_ASSIGN_OR_RAISE(bool committed, IsPublished(run, id));
    if (!committed) {
      return arrow::Status::Invalid("partition '", id, "' has no committed output at '",
                                    layout_.PartitionDir(run, id), "'");
    }
  }

  // Hive-style directories that are not partitions of this plan are stale output of an
  // earlier run with another plan (or another partition_column): readers would take them
  // as data of this run instance.
  const std::string run_dir = layout_.RunDir(run);
  ARROW_ASSIGN_OR_RAISE(auto entries, List(run_dir));
  for (const auto& entry : entries) {
    const std::string name = entry.base_name();
    if (!entry.IsDirectory() || !LakeLayout::IsHiveDirName(name)) continue;
    auto id = layout_.PartitionIdOf(name);
    if (id && planned.count(*id)) continue;
    spdlog::info("parquet loader: removing stale partition directory '{}'", entry.path());
    JETFLOW_RETURN_NOT_OK_CTX(DeleteDirIfExists(entry.path()), "removing stale output");
  }

  ARROW_RETURN_NOT_OK(DeleteDirIfExists(layout_.StagingRunDir(run)));
  ARROW_RETURN_NOT_OK(DeleteDirIfExists(layout_.TrashRunDir(run)));
  ARROW_RETURN_NOT_OK(RemoveEmptyLeftovers(layout_.StagingRoot()));
  ARROW_RETURN_NOT_OK(RemoveEmptyLeftovers(layout_.TrashRoot()));
  CrashPoint("finish.cleaned");

  // The run manifest, then _SUCCESS: a reader that sees the marker sees everything.
  ARROW_RETURN_NOT_OK(CreateDir(run_dir));
  ARROW_RETURN_NOT_OK(WriteFile(layout_.RunManifestPath(run), run_manifest));
  CrashPoint("finish.run_manifest");
  ARROW_RETURN_NOT_OK(WriteFile(layout_.SuccessPath(run), ""));
  ARROW_RETURN_NOT_OK(Sync(run_dir));
  // The state store does not yet say that the run succeeded: the next run finishes it
  // again.
  CrashPoint("finish.success");
  return arrow::Status::OK();
}

// --- Per partition attempt -------------------------------------------------------------

arrow::Result<StagedAttempt> RenameCommitter::PrepareAttempt(
    const RunInstance& run, const std::string& partition_id, int attempt) {
  StagedAttempt staged;
  staged.run = run;
  staged.partition_id = partition_id;
  staged.attempt = attempt;
  staged.staging_dir = layout_.StagingAttemptDir(run, partition_id, attempt);
  staged.partition_dir = layout_.PartitionDir(run, partition_id);
  ARROW_RETURN_NOT_OK(DeleteDirIfExists(staged.staging_dir));
  ARROW_RETURN_NOT_OK(CreateStagingDir(staged.staging_dir));
  return staged;
}

arrow::Status RenameCommitter::CreateStagedDir(const std::string& path) {
  return CreateDir(path);
}

arrow::Result<std::shared_ptr<arrow::io::OutputStream>> RenameCommitter::OpenStagedOutput(
    const std::string& path) {
  auto stream = filesystem_->OpenOutputStream(path);
  if (!stream.ok()) return IoFailure(stream.status(), path);
  return stream;
}

arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>>
RenameCommitter::OpenStagedInput(const std::string& path) {
  auto file = filesystem_->OpenInputFile(path);
  if (!file.ok()) return IoFailure(file.status(), path);
  return file;
}

arrow::Status RenameCommitter::Publish(const StagedAttempt& attempt,
                                       const PartitionManifest& manifest) {
  const std::string& staging = attempt.staging_dir;
  // Every file, then every directory holding one, deepest first (a child sorts after its
  // parent), so that each entry is durable before the directory naming it.
  const std::string prefix = manifest.location.empty() ? "" : manifest.location + "/";
  std::set<std::string> directories;
  for (const FileManifest& file : manifest.files) {
    if (file.path.compare(0, prefix.size(), prefix) != 0) {
      return arrow::Status::Invalid("the partition manifest lists file '", file.path,
                                    "' outside its location '", manifest.location, "'");
    }
    const std::string relative = file.path.substr(prefix.size());
    ARROW_RETURN_NOT_OK(Sync(LakeLayout::Join(staging, relative)));
    for (size_t slash = relative.find('/'); slash != std::string::npos;
         slash = relative.find('/', slash + 1)) {
      directories.insert(relative.substr(0, slash));
    }
  }
  for (auto it = directories.rbegin(); it != directories.rend(); ++it) {
    ARROW_RETURN_NOT_OK(Sync(LakeLayout::Join(staging, *it)));
  }
  ARROW_RETURN_NOT_OK(
      WriteFile(LakeLayout::PartitionManifestPath(staging), manifest.ToJson()));
  ARROW_RETURN_NOT_OK(Sync(staging));
  CrashPoint("publish.staged");
  ARROW_RETURN_NOT_OK(
      Switch(staging, attempt.partition_dir,
             layout_.TrashPartitionDir(attempt.run, attempt.partition_id)));
  // Published, but the state store does not record it yet: the next run redoes it.
  CrashPoint("publish.switched");
  // The attempt directory is gone; drop the staging folders it leaves empty.
  RemoveEmptyUpTo(LakeLayout::Parent(staging), layout_.StagingRoot());
  return arrow::Status::OK();
}

arrow::Status RenameCommitter::Abort(const StagedAttempt& attempt) {
  ARROW_RETURN_NOT_OK(DeleteDirIfExists(attempt.staging_dir));
  RemoveEmptyUpTo(LakeLayout::Parent(attempt.staging_dir), layout_.StagingRoot());
  return arrow::Status::OK();
}

arrow::Status RenameCommitter::Switch(const std::string& staged, const std::string& final,
                                      const std::string& trash_dir) const {
  const std::string parent = LakeLayout::Parent(final);
  ARROW_RETURN_NOT_OK(CreateDir(parent));
  ARROW_ASSIGN_OR_RAISE(bool replace, Exists(final));
  if (!replace) {
    ARROW_RETURN_NOT_OK(IoFailure(filesystem_->Move(staged, final), final));
    ARROW_RETURN_NOT_OK(Sync(parent));
    return Sync(LakeLayout::Parent(staged));
  }
  if (is_local_) {
    // One atomic step: readers see the old partition or the new one, never neither.
    if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, final.c_str(), RENAME_EXCHANGE) ==
        0) {
      ARROW_RETURN_NOT_OK(Sync(parent));
      ARROW_RETURN_NOT_OK(Sync(LakeLayout::Parent(staged)));
      CrashPoint("publish.exchanged");
      // `staged` now holds the old output; losing it here only leaves garbage that the
      // next BeginRun removes, so the commit stands.
      DeleteReplaced(staged);
      return arrow::Status::OK();
    }
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
      return ErrnoStatus("cannot exchange the staged partition with", final);
    }
    // The filesystem has no exchange (e.g. some network filesystems): move aside.
  }
  return MoveAside(staged, final, trash_dir);
}

arrow::Status RenameCommitter::MoveAside(const std::string& staged,
                                         const std::string& final,
                                         const std::string& trash_dir) const {
  // Whatever the partition's trash still holds was replaced by `final`'s content: delete
  // it first, so that while `final` is missing the trash holds exactly the directory
  // moved aside below (RestoreMovedAside relies on it).
  ARROW_RETURN_NOT_OK(DeleteDirIfExists(trash_dir));
  ARROW_RETURN_NOT_OK(CreateDir(trash_dir));
  const std::string trash =
      LakeLayout::Join(trash_dir, LakeLayout::BaseName(staged) + "-" + UniqueSuffix());
  // Two renames: between them readers see no partition, never a mix of old and new.
  ARROW_RETURN_NOT_OK(IoFailure(filesystem_->Move(final, trash), final));
  arrow::Status moved = filesystem_->Move(staged, final);
  if (!moved.ok()) {
    // Readers must not be left without the partition: put the old output back.
    arrow::Status restored = filesystem_->Move(trash, final);
    if (!restored.ok()) {
      return IoFailure(
          AddContext(moved, "the previous output could not be moved back from '" + trash +
                                "' either (" + restored.ToString() +
                                "); the next run of the instance moves it back"),
          final);
    }
    return IoFailure(moved, final);
  }
  const std::string parent = LakeLayout::Parent(final);
  ARROW_RETURN_NOT_OK(Sync(parent));
  ARROW_RETURN_NOT_OK(Sync(LakeLayout::Parent(staged)));
  DeleteReplaced(trash);
  RemoveEmptyUpTo(trash_dir, layout_.TrashRoot());
  return arrow::Status::OK();
}

}  // namespace jetflow
