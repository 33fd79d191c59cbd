// RenameCommitter: the Committer for filesystems whose directory renames are atomic
// (local POSIX filesystems; also HDFS and Azure with a hierarchical namespace).
//
// An attempt writes into _jetflow_staging/<instance>/<partition>/attempt-<N>/. Publish
// makes every staged file and directory durable, writes the partition manifest into the
// staged directory, then switches:
//   - no published partition yet: one rename of the staged directory into place;
//   - on the local filesystem: one atomic exchange of the staged and the published
//     directory (Linux renameat2 RENAME_EXCHANGE); the old output, now at the staging
//     path, is deleted afterwards;
//   - elsewhere, or where the local filesystem cannot exchange (EINVAL, ENOSYS,
//     EOPNOTSUPP): "move aside" — the published directory is renamed into
//     _jetflow_trash/<instance>/<partition>/<unique>/, the staged one into its place, and
//     the trash is deleted. Between the two renames readers see no partition (never a
//     mix). If the second rename fails, the old directory is renamed back before Publish
//     returns; if the process dies between them, the next BeginRun renames it back. To
//     make that unambiguous, a partition's trash holds at most one directory while its
//     partition directory is missing: earlier leftovers are deleted before moving aside.
//
// No empty folder is left behind (on the local filesystem): an attempt that publishes or
// aborts removes the staging (or trash) folders that it leaves empty, up to
// _jetflow_staging/ itself, so a run that ends, is interrupted (SIGINT/SIGTERM) or fails
// leaves no _jetflow_staging/ unless another attempt is still in it. A process killed
// with SIGKILL leaves its attempts' folders; the next BeginRun of any run instance
// removes the empty ones (and the next run of that instance everything of it).
//
// Crash points (core/crash_point.h), in the order a run reaches them: publish.staged
// (the staged attempt is complete with its manifest; nothing is switched),
// publish.exchanged (local exchange done, the old output still in staging),
// publish.switched (the partition is published; the state store does not know it),
// finish.cleaned (stale partitions and staging removed; no run manifest),
// finish.run_manifest (the run manifest written; no _SUCCESS), finish.success (_SUCCESS
// written; the state store does not say the run succeeded).
//
// Durability, on the local filesystem with `fsync` (the default): data files get their
// write-back started as they are written (StartWriteBack, Linux sync_file_range), and
// every file and directory is fsync'ed before the rename that publishes it; the parent
// directories after it. With `fsync` false none of that happens: the protocol is
// otherwise the same, and a killed process loses nothing, but a machine crash soon after
// a commit can lose files the state store records as committed. Other filesystems are
// taken to be durable once a write completes (HDFS, object stores).
//
// Threading: thread-safe; stateless beyond the filesystem handle (see Committer).
#pragma once

#include <arrow/filesystem/filesystem.h>

#include <memory>
#include <string>
#include <vector>

#include "jetflow/sinks/parquet/committer.h"

namespace jetflow {

class RenameCommitter final : public Committer {
 public:
  struct Options {
    /// Force files and directories to disk (fsync) before publishing, and start
    /// write-back as files are written. Local filesystem only.
    bool fsync = true;
    /// Let BeginRun replace and remove what the run instance's folder holds although
    /// jetflow did not write it (ForeignEntries), with a warning for each, instead of
    /// refusing the run.
    bool adopt_existing = false;
  };

  /// The local filesystem (type_name() "local", paths are the machine's own) gets the
  /// POSIX durability and exchange above; every other filesystem the portable protocol.
  static std::shared_ptr<RenameCommitter> Make(
      std::shared_ptr<arrow::fs::FileSystem> filesystem, LakeLayout layout,
      Options options);

  const LakeLayout& layout() const override { return layout_; }
  arrow::fs::FileSystem* filesystem() const { return filesystem_.get(); }
  /// Whether paths are local POSIX paths (fsync, renameat2 apply).
  bool is_local() const { return is_local_; }
  /// Whether files and directories are forced to disk (Options::fsync on a local
  /// filesystem).
  bool fsync() const { return is_local_ && options_.fsync; }

  arrow::Status BeginRun(const RunInstance& run) override;
  arrow::Result<bool> IsPublished(const RunInstance& run,
                                  const std::string& partition_id) const override;
  arrow::Status FinishRun(const RunInstance& run,
                          const std::vector<std::string>& partition_ids,
                          const std::string& run_manifest) override;

  arrow::Result<StagedAttempt> PrepareAttempt(const RunInstance& run,
                                              const std::string& partition_id,
                                              int attempt) override;
  arrow::Status CreateStagedDir(const std::string& path) override;
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenStagedOutput(
      const std::string& path) override;
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenStagedInput(
      const std::string& path) override;
  /// Linux sync_file_range(SYNC_FILE_RANGE_WRITE) on the whole file, when fsync().
  void StartWriteBack(const std::string& path) override;
  arrow::Status Publish(const StagedAttempt& attempt,
                        const PartitionManifest& manifest) override;
  arrow::Status Abort(const StagedAttempt& attempt) override;

  arrow::Status WriteFile(const std::string& path, const std::string& content) override;
  /// Adds the path; on a filesystem other than the local one, marks IOErrors retryable.
  arrow::Status IoFailure(const arrow::Status& status,
                          const std::string& path) const override;

  /// Makes file or directory `path` durable (fsync) when fsync(); a no-op otherwise.
  arrow::Status Sync(const std::string& path) const;

 private:
  RenameCommitter(std::shared_ptr<arrow::fs::FileSystem> filesystem, LakeLayout layout,
                  Options options);

  arrow::Status CreateDir(const std::string& path) const;
  arrow::Result<bool> Exists(const std::string& path) const;
  arrow::Status DeleteDirIfExists(const std::string& path) const;
  arrow::Status DeleteFileIfExists(const std::string& path) const;
  /// The entries of directory `path` (none if it does not exist).
  arrow::Result<std::vector<arrow::fs::FileInfo>> List(const std::string& path) const;
  /// Removes `path` if it is an empty directory (local only; a no-op elsewhere).
  void RemoveIfEmpty(const std::string& path) const;
  /// Removes `path` and then each of its parents up to and including `top` while they
  /// are empty directories (local only). Removes nothing that holds anything, so it is
  /// safe while other attempts, of this process or another, use the same folders.
  /// REQUIRES: `path` is `top` or below it.
  void RemoveEmptyUpTo(const std::string& path, const std::string& top) const;
  /// Removes the empty run-instance and partition folders directly below staging or
  /// trash root `root`, then `root` if it is empty (local only): what attempts killed
  /// with SIGKILL leave. Never an attempt's folder: an attempt of another run instance
  /// that is alive may not have written its first file yet. Fails only if a folder
  /// cannot be listed.
  arrow::Status RemoveEmptyLeftovers(const std::string& root) const;
  /// Creates staging folder `path` and its parents, trying again when an attempt that
  /// ended removed an empty parent meanwhile (RemoveEmptyUpTo).
  arrow::Status CreateStagingDir(const std::string& path) const;
  /// Deletes `path` (a directory whose content was replaced), logging a failure: what is
  /// left is garbage that the next BeginRun removes.
  void DeleteReplaced(const std::string& path) const;

  /// Makes directory `staged` visible as `final`, replacing what `final` held.
  arrow::Status Switch(const std::string& staged, const std::string& final,
                       const std::string& trash_dir) const;
  /// The move-aside switch (see the top of the file).
  arrow::Status MoveAside(const std::string& staged, const std::string& final,
                          const std::string& trash_dir) const;
  /// What the run instance's folder holds that jetflow did not write, and so must not
  /// replace or remove: the files of a Hive-style directory without a readable partition
  /// manifest, a file in a partition directory that its manifest does not list, a
  /// _SUCCESS without
  /// jetflow's run manifest beside it, and any other file or directory whose name does
  /// not start with '_' or '.' (names readers skip, and jetflow never touches). Paths
  /// relative to the root.
  arrow::Result<std::vector<std::string>> ForeignEntries(const RunInstance& run) const;
  /// The paths (relative to the root) of the files in `partition_dir` that its manifest
  /// does not list; all of them when the manifest is missing or unreadable (a folder
  /// without files holds nothing to lose).
  arrow::Result<std::vector<std::string>> ForeignInPartition(
      const std::string& partition_dir) const;
  /// BeginRun: renames back partitions that a move-aside switch left in the trash.
  arrow::Status RestoreMovedAside(const RunInstance& run) const;

  std::shared_ptr<arrow::fs::FileSystem> filesystem_;
  LakeLayout layout_;
  Options options_;
  bool is_local_;
};

}  // namespace jetflow
