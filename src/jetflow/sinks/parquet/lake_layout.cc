#include "jetflow/sinks/parquet/lake_layout.h"

#include <utility>

namespace jetflow {

LakeLayout::LakeLayout(std::string root, std::string partition_column)
    : root_(std::move(root)), partition_column_(std::move(partition_column)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string LakeLayout::Join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string LakeLayout::Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string LakeLayout::BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string LakeLayout::RunDir(const RunInstance& run) const {
  return Join(root_, run.id());
}

std::string LakeLayout::RunManifestPath(const RunInstance& run) const {
  return Join(RunDir(run), kRunManifestFile);
}

std::string LakeLayout::SuccessPath(const RunInstance& run) const {
  return Join(RunDir(run), kSuccessFile);
}

std::string LakeLayout::PartitionDirName(const std::string& partition_id) const {
  return partition_column_ + "=" + partition_id;
}

std::string LakeLayout::PartitionDir(const RunInstance& run,
                                     const std::string& partition_id) const {
  return Join(RunDir(run), PartitionDirName(partition_id));
}

std::optional<std::string> LakeLayout::PartitionIdOf(const std::string& name) const {
  const std::string key = partition_column_ + "=";
  if (name.size() <= key.size() || name.compare(0, key.size(), key) != 0) {
    return std::nullopt;
  }
  return name.substr(key.size());
}

bool LakeLayout::IsHiveDirName(const std::string& name) {
  return !name.empty() && name[0] != '_' && name[0] != '.' &&
         name.find('=') != std::string::npos;
}

std::string LakeLayout::PartitionManifestPath(const std::string& dir) {
  return Join(dir, kPartitionManifestFile);
}

std::string LakeLayout::StagingRoot() const { return Join(root_, kStagingDir); }

std::string LakeLayout::StagingRunDir(const RunInstance& run) const {
  return Join(StagingRoot(), run.id());
}

std::string LakeLayout::StagingPartitionDir(const RunInstance& run,
                                            const std::string& partition_id) const {
  return Join(StagingRunDir(run), partition_id);
}

std::string LakeLayout::StagingAttemptDir(const RunInstance& run,
                                          const std::string& partition_id,
                                          int attempt) const {
  return Join(StagingPartitionDir(run, partition_id),
              "attempt-" + std::to_string(attempt));
}

std::string LakeLayout::TrashRoot() const { return Join(root_, kTrashDir); }

std::string LakeLayout::TrashRunDir(const RunInstance& run) const {
  return Join(TrashRoot(), run.id());
}

std::string LakeLayout::TrashPartitionDir(const RunInstance& run,
                                          const std::string& partition_id) const {
  return Join(TrashRunDir(run), partition_id);
}

std::string LakeLayout::Relative(const std::string& path) const {
  std::string prefix = root_ == "/" ? "/" : root_ + "/";
  if (path.compare(0, prefix.size(), prefix) == 0) return path.substr(prefix.size());
  return path;
}

}  // namespace jetflow
