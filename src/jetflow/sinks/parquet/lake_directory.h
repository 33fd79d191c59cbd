// LakeDirectory: the layout of a Hive-style Parquet lake under one root, and the few
// filesystem operations its commit protocol needs (docs/parquet-loader.md).
//
//   <root>/<run.key>=<run.value>/<partition_column>=<partition.id>/part-00000.parquet
//   <root>/<run.key>=<run.value>/<partition_column>=<partition.id>/_jetflow_manifest.json
//   <root>/<run.key>=<run.value>/_jetflow_run.json, _SUCCESS
//   <root>/_jetflow_staging/<run.key>=<run.value>/<partition.id>/attempt-<N>/  (in
//   progress) <root>/_jetflow_trash/<run.key>=<run.value>/<partition.id>/<unique>/ (being
//   deleted)
//
// Staged and trashed files sit four levels below the root, so neither readers that skip
// "_"-prefixed paths (Spark, Hive, pyarrow datasets) nor a "<root>/*/*/*.parquet" glob
// (DuckDB, whose "**" does not skip them) ever see them. With the loader's partition_by,
// a partition directory (staged, published or trashed alike) holds its files k column
// directories deeper; published files are then matched by "<root>/*/*/" + k × "*/" +
// "*.parquet", which still never reaches the staged (one level deeper) or trashed (two
// levels deeper) ones.
//
// On a local filesystem every write is fsync'ed before it is published and directory
// renames are atomic; a partition directory is replaced with one atomic exchange.
//
// Threading: thread-safe (stateless beyond the filesystem handle).
#pragma once

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include <cstdint>
#include <memory>
#include <string>

#include "jetflow/core/partition.h"

namespace jetflow {

class LakeDirectory {
 public:
  static constexpr const char* kStagingDir = "_jetflow_staging";
  static constexpr const char* kTrashDir = "_jetflow_trash";
  static constexpr const char* kPartitionManifestFile = "_jetflow_manifest.json";
  static constexpr const char* kRunManifestFile = "_jetflow_run.json";
  static constexpr const char* kSuccessFile = "_SUCCESS";

  /// `root` is a local path (absolute, or relative to the working directory) or a URI
  /// that arrow::fs::FileSystemFromUriOrPath understands. `fsync` false makes Sync and
  /// StartWriteBack no-ops: the kernel writes files back when it chooses, so a machine
  /// crash (not a process crash) soon after a commit can lose committed files.
  static arrow::Result<std::shared_ptr<LakeDirectory>> Open(const std::string& root,
                                                            bool fsync = true);
  /// `root` is a path inside `filesystem` (a seam for tests).
  static std::shared_ptr<LakeDirectory> Make(
      std::shared_ptr<arrow::fs::FileSystem> filesystem, std::string root,
      bool fsync = true);

  arrow::fs::FileSystem* filesystem() const { return filesystem_.get(); }
  /// The root as given by the user, for messages.
  const std::string& display_root() const { return display_root_; }
  /// The root as a path in filesystem().
  const std::string& root() const { return root_; }
  bool is_local() const { return is_local_; }
  /// Whether Sync and StartWriteBack act (Open's `fsync`).
  bool fsync() const { return fsync_; }

  // --- Layout: every path is absolute in filesystem(); Relative() strips the root. ---
  std::string RunDir(const RunInstance& run) const;
  std::string PartitionDir(const RunInstance& run, const std::string& partition_column,
                           const std::string& partition_id) const;
  std::string StagingRunDir(const RunInstance& run) const;
  std::string StagingAttemptDir(const RunInstance& run, const std::string& partition_id,
                                int attempt) const;
  std::string TrashRunDir(const RunInstance& run) const;
  std::string TrashPartitionDir(const RunInstance& run,
                                const std::string& partition_id) const;
  std::string Relative(const std::string& path) const;
  static std::string Join(const std::string& dir, const std::string& name);

  // --- Operations. Failures are IOError naming the path; on a remote filesystem they are
  // marked retryable (a local disk that is full or read-only will stay so). ---
  arrow::Status CreateDir(const std::string& path) const;
  arrow::Result<bool> Exists(const std::string& path) const;
  arrow::Status DeleteDirIfExists(const std::string& path) const;
  arrow::Status DeleteFileIfExists(const std::string& path) const;
  /// Removes `path` if it is an empty directory (local only; a no-op elsewhere).
  void RemoveIfEmpty(const std::string& path) const;
  /// Writes a whole small file and makes it durable.
  arrow::Status WriteFile(const std::string& path, const std::string& content) const;
  /// Makes a file or directory durable (fsync; local only, a no-op elsewhere and when
  /// fsync() is false).
  arrow::Status Sync(const std::string& path) const;
  /// Asks the kernel to start writing `path`'s dirty pages to disk now, without waiting
  /// (Linux sync_file_range), so that the fsync at commit finds little left to write.
  /// Best effort: failures are ignored here and reported by Sync. Local only.
  void StartWriteBack(const std::string& path) const;

  /// Makes directory `staged` visible as `final`, replacing what `final` held, so that a
  /// reader sees either the old or the new content, never a mix. Locally this is one
  /// atomic rename (or exchange); elsewhere the old directory is first moved under
  /// `trash_dir`. Old content is deleted afterwards.
  arrow::Status Publish(const std::string& staged, const std::string& final,
                        const std::string& trash_dir) const;

  /// `status` with the path appended and, on a remote filesystem, marked retryable.
  arrow::Status IoFailure(const arrow::Status& status, const std::string& path) const;

 private:
  LakeDirectory(std::shared_ptr<arrow::fs::FileSystem> filesystem, std::string root,
                std::string display_root, bool fsync);

  std::shared_ptr<arrow::fs::FileSystem> filesystem_;
  std::string root_;
  std::string display_root_;
  bool is_local_;
  bool fsync_;
};

}  // namespace jetflow
