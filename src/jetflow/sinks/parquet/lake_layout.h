// LakeLayout: where everything of a Hive-style Parquet lake lives under its root. Pure
// path arithmetic: no filesystem, no I/O; every path uses '/' and is absolute in the
// lake's filesystem (Relative() strips the root).
//
//   <root>/<run.key>=<run.value>/<partition_column>=<partition.id>/part-00000.parquet
//   <root>/<run.key>=<run.value>/<partition_column>=<partition.id>/_jetflow_manifest.json
//   <root>/<run.key>=<run.value>/_jetflow_run.json, _SUCCESS
//   <root>/_jetflow_staging/<run.key>=<run.value>/<partition.id>/attempt-<N>/
//       (attempts in progress)
//   <root>/_jetflow_trash/<run.key>=<run.value>/<partition.id>/<unique>/
//       (replaced output being deleted)
//
// Staged and trashed files sit four levels below the root, so neither readers that skip
// "_"-prefixed paths (Spark, Hive, pyarrow datasets) nor a "<root>/*/*/*.parquet" glob
// (DuckDB, whose "**" does not skip them) ever see them. With the loader's partition_by,
// a partition directory (staged, published or trashed alike) holds its files k column
// directories deeper; published files are then matched by "<root>/*/*/" + k × "*/" +
// "*.parquet", which still never reaches the staged (one level deeper) or trashed (two
// levels deeper) ones.
//
// Threading: immutable; safe to share.
#pragma once

#include <optional>
#include <string>

#include "jetflow/core/partition.h"

namespace jetflow {

class LakeLayout {
 public:
  static constexpr const char* kStagingDir = "_jetflow_staging";
  static constexpr const char* kTrashDir = "_jetflow_trash";
  static constexpr const char* kPartitionManifestFile = "_jetflow_manifest.json";
  static constexpr const char* kRunManifestFile = "_jetflow_run.json";
  static constexpr const char* kSuccessFile = "_SUCCESS";

  /// `root` is a path in the lake's filesystem (trailing '/' are dropped);
  /// `partition_column` the Hive key of partition directories.
  LakeLayout(std::string root, std::string partition_column);

  const std::string& root() const { return root_; }
  const std::string& partition_column() const { return partition_column_; }

  // --- Published output. ---
  std::string RunDir(const RunInstance& run) const;
  std::string RunManifestPath(const RunInstance& run) const;
  std::string SuccessPath(const RunInstance& run) const;
  /// "<partition_column>=<partition_id>".
  std::string PartitionDirName(const std::string& partition_id) const;
  std::string PartitionDir(const RunInstance& run, const std::string& partition_id) const;
  /// The partition id that directory name `name` stands for in this layout, if any.
  std::optional<std::string> PartitionIdOf(const std::string& name) const;
  /// Whether `name` is a Hive-style directory name ("key=value") that readers take as
  /// data: not starting with '_' or '.'.
  static bool IsHiveDirName(const std::string& name);
  /// The partition manifest inside partition (or staged) directory `dir`.
  static std::string PartitionManifestPath(const std::string& dir);

  // --- Attempts in progress, and replaced output being deleted. ---
  std::string StagingRoot() const;
  std::string StagingRunDir(const RunInstance& run) const;
  std::string StagingPartitionDir(const RunInstance& run,
                                  const std::string& partition_id) const;
  std::string StagingAttemptDir(const RunInstance& run, const std::string& partition_id,
                                int attempt) const;
  std::string TrashRoot() const;
  std::string TrashRunDir(const RunInstance& run) const;
  std::string TrashPartitionDir(const RunInstance& run,
                                const std::string& partition_id) const;

  // --- Path arithmetic. ---
  /// `path` relative to the root (unchanged if it is not below the root).
  std::string Relative(const std::string& path) const;
  static std::string Join(const std::string& dir, const std::string& name);
  /// Everything before the last '/' ("/" for a top-level path, "" without a '/').
  static std::string Parent(const std::string& path);
  /// Everything after the last '/'.
  static std::string BaseName(const std::string& path);

 private:
  std::string root_;
  std::string partition_column_;
};

}  // namespace jetflow
