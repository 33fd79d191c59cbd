#include "jetflow/sinks/parquet/lake_verifier.h"

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <arrow/type.h>
#include <fmt/format.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "jetflow/sinks/parquet/file_digest.h"

namespace jetflow {

namespace {

/// Files are hashed in reads of this size.
constexpr int64_t kReadChunkBytes = int64_t{4} << 20;
/// A manifest larger than this is not one jetflow wrote (a partition manifest lists at
/// most thousands of files).
constexpr int64_t kMaxManifestBytes = int64_t{256} << 20;

std::string Bytes(int64_t bytes) { return fmt::format("{} bytes", bytes); }

/// "1 file, 50000 rows"
std::string FilesAndRows(size_t files, int64_t rows) {
  return fmt::format("{} file{}, {} rows", files, files == 1 ? "" : "s", rows);
}

/// Whether relative `path` stays where it is put: not absolute, no "." or ".."
/// component, no empty component.
bool IsContainedPath(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

/// Whether a path relative to a partition or run directory is data that readers see: no
/// component starts with '_' or '.'.
bool IsDataPath(std::string_view relative) {
  size_t start = 0;
  while (start < relative.size()) {
    if (relative[start] == '_' || relative[start] == '.') return false;
    const size_t slash = relative.find('/', start);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

}  // namespace

arrow::Result<arrow::fs::FileInfo> LakeVerifier::Stat(const std::string& path) const {
  auto info = filesystem_->GetFileInfo(path);
  if (!info.ok()) {
    return arrow::Status::IOError("cannot look at '", path,
                                  "': ", info.status().message());
  }
  return *info;
}

arrow::Result<std::string> LakeVerifier::ReadSmallFile(const std::string& path) const {
  auto read = [&]() -> arrow::Result<std::string> {
    ARROW_ASSIGN_OR_RAISE(auto file, filesystem_->OpenInputFile(path));
    ARROW_ASSIGN_OR_RAISE(const int64_t size, file->GetSize());
    if (size > kMaxManifestBytes) {
      return arrow::Status::Invalid("it holds ", size, " bytes, more than a manifest");
    }
    ARROW_ASSIGN_OR_RAISE(auto buffer, file->ReadAt(0, size));
    return buffer->ToString();
  };
  auto content = read();
  if (!content.ok()) {
    return arrow::Status(content.status().code(),
                         "cannot read '" + path + "': " + content.status().message());
  }
  return content;
}

arrow::Status LakeVerifier::CheckFile(const FileManifest& file,
                                      const std::string& schema_fingerprint,
                                      VerifyDepth depth,
                                      std::vector<ManifestDifference>* out) const {
  const std::string path = LakeLayout::Join(layout_.root(), file.path);
  ARROW_ASSIGN_OR_RAISE(arrow::fs::FileInfo info, Stat(path));
  if (info.type() == arrow::fs::FileType::NotFound) {
    out->push_back({file.path, "missing", Bytes(file.bytes), ""});
    return arrow::Status::OK();
  }
  if (info.type() != arrow::fs::FileType::File) {
    out->push_back({file.path, "type", "a file", "a directory"});
    return arrow::Status::OK();
  }
  if (info.size() != file.bytes) {
    out->push_back({file.path, "size", Bytes(file.bytes), Bytes(info.size())});
    return arrow::Status::OK();  // nothing further can match
  }
  if (depth == VerifyDepth::kSize) return arrow::Status::OK();

  ARROW_ASSIGN_OR_RAISE(auto digester, FileDigester::Make());
  {
    auto stream = filesystem_->OpenInputStream(path);
    if (!stream.ok()) {
      return arrow::Status::IOError("cannot read '", path,
                                    "': ", stream.status().message());
    }
    ARROW_ASSIGN_OR_RAISE(auto buffer, arrow::AllocateResizableBuffer(kReadChunkBytes));
    while (true) {
      auto read = (*stream)->Read(kReadChunkBytes, buffer->mutable_data());
      if (!read.ok()) {
        return arrow::Status::IOError("cannot read '", path,
                                      "': ", read.status().message());
      }
      if (*read == 0) break;
      digester->Update(buffer->data(), *read);
    }
  }
  const FileDigest digest = digester->Digest();
  if (digest.bytes != file.bytes) {
    // It changed size while it was read.
    out->push_back({file.path, "size", Bytes(file.bytes), Bytes(digest.bytes)});
    return arrow::Status::OK();
  }
  if (digest.checksum != file.checksum) {
    out->push_back({file.path, "checksum", file.checksum, digest.checksum});
    return arrow::Status::OK();
  }
  if (depth == VerifyDepth::kChecksum) return arrow::Status::OK();

  // The Parquet reader may throw on a corrupt footer; this is the one place here that
  // catches it.
  try {
    auto input = filesystem_->OpenInputFile(path);
    if (!input.ok()) {
      return arrow::Status::IOError("cannot read '", path,
                                    "': ", input.status().message());
    }
    auto reader = parquet::arrow::OpenFile(*input, arrow::default_memory_pool());
    if (!reader.ok()) {
      out->push_back(
          {file.path, "footer", "a readable Parquet footer", reader.status().message()});
      return arrow::Status::OK();
    }
    std::shared_ptr<arrow::Schema> schema;
    arrow::Status got_schema = (*reader)->GetSchema(&schema);
    if (!got_schema.ok()) {
      out->push_back(
          {file.path, "footer", "a readable Parquet schema", got_schema.message()});
      return arrow::Status::OK();
    }
    const int64_t rows = (*reader)->parquet_reader()->metadata()->num_rows();
    if (rows != file.rows) {
      out->push_back({file.path, "rows", fmt::format("{} rows", file.rows),
                      fmt::format("{} rows", rows)});
    }
    const std::string fingerprint = SchemaFingerprint(*schema);
    if (fingerprint != schema_fingerprint) {
      out->push_back({file.path, "schema", schema_fingerprint,
                      fingerprint + " (" + schema->ToString() + ")"});
    }
  } catch (const std::exception& e) {
    out->push_back({file.path, "footer", "a readable Parquet footer", e.what()});
  }
  return arrow::Status::OK();
}

arrow::Status LakeVerifier::FindStrayFiles(const std::string& dir,
                                           const std::vector<std::string>& listed,
                                           std::vector<ManifestDifference>* out) const {
  arrow::fs::FileSelector selector;
  selector.base_dir = dir;
  selector.recursive = true;
  selector.allow_not_found = true;
  auto entries = filesystem_->GetFileInfo(selector);
  if (!entries.ok()) {
    return arrow::Status::IOError("cannot list '", dir,
                                  "': ", entries.status().message());
  }
  const std::set<std::string> known(listed.begin(), listed.end());
  std::vector<ManifestDifference> stray;
  for (const arrow::fs::FileInfo& entry : *entries) {
    if (entry.type() != arrow::fs::FileType::File) continue;
    const std::string& path = entry.path();
    if (path.size() <= dir.size() + 1 || path.compare(0, dir.size(), dir) != 0) continue;
    if (!IsDataPath(std::string_view(path).substr(dir.size() + 1))) continue;
    if (known.count(path)) continue;
    stray.push_back({layout_.Relative(path), "stray file", "", Bytes(entry.size())});
  }
  std::sort(stray.begin(), stray.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  out->insert(out->end(), stray.begin(), stray.end());
  return arrow::Status::OK();
}

arrow::Status LakeVerifier::CheckPartition(const PartitionManifest& manifest,
                                           VerifyDepth depth, bool check_stray_files,
                                           std::vector<std::string>* listed,
                                           std::vector<ManifestDifference>* out) const {
  // The manifest itself: a location that is this partition's directory, file paths
  // inside it, sums that add up.
  const std::string location = manifest.location;
  if (!IsContainedPath(location) ||
      LakeLayout::BaseName(location) != layout_.PartitionDirName(manifest.partition_id)) {
    out->push_back(
        {location, "location",
         "a directory named " + layout_.PartitionDirName(manifest.partition_id),
         location});
    return arrow::Status::OK();
  }
  int64_t rows = 0;
  int64_t bytes = 0;
  for (const FileManifest& file : manifest.files) {
    rows += file.rows;
    bytes += file.bytes;
  }
  if (rows != manifest.rows || bytes != manifest.bytes) {
    out->push_back({location, "manifest totals",
                    fmt::format("{} rows, {} bytes (sum of its files)", rows, bytes),
                    fmt::format("{} rows, {} bytes", manifest.rows, manifest.bytes)});
  }

  const std::string dir = LakeLayout::Join(layout_.root(), location);
  ARROW_ASSIGN_OR_RAISE(arrow::fs::FileInfo dir_info, Stat(dir));
  if (dir_info.type() != arrow::fs::FileType::Directory) {
    // One difference for the whole partition: its files are gone with it.
    out->push_back({location, "missing directory",
                    FilesAndRows(manifest.files.size(), manifest.rows),
                    dir_info.type() == arrow::fs::FileType::NotFound ? "" : "a file"});
    return arrow::Status::OK();
  }

  // The copy next to the data, which FinishRun and readers of the lake go by.
  const std::string manifest_path = LakeLayout::PartitionManifestPath(dir);
  const std::string manifest_relative = layout_.Relative(manifest_path);
  ARROW_ASSIGN_OR_RAISE(arrow::fs::FileInfo manifest_info, Stat(manifest_path));
  if (manifest_info.type() == arrow::fs::FileType::NotFound) {
    out->push_back({manifest_relative, "missing", "the partition manifest", ""});
  } else {
    ARROW_ASSIGN_OR_RAISE(std::string text, ReadSmallFile(manifest_path));
    auto stored = PartitionManifest::FromJson(text);
    if (!stored.ok()) {
      out->push_back({manifest_relative, "manifest", "a partition manifest",
                      "unreadable: " + stored.status().message()});
    } else if (stored->ToJson() != manifest.ToJson()) {
      out->push_back(
          {manifest_relative, "manifest",
           FilesAndRows(manifest.files.size(), manifest.rows) + ", " +
               Bytes(manifest.bytes),
           "another manifest: " + FilesAndRows(stored->files.size(), stored->rows) +
               ", " + Bytes(stored->bytes)});
    }
  }

  for (const FileManifest& file : manifest.files) {
    if (!IsContainedPath(file.path) ||
        file.path.compare(0, location.size() + 1, location + "/") != 0) {
      out->push_back({file.path, "location", "a file below " + location, file.path});
      continue;
    }
    ARROW_RETURN_NOT_OK(CheckFile(file, manifest.schema_fingerprint, depth, out));
    listed->push_back(LakeLayout::Join(layout_.root(), file.path));
  }
  if (check_stray_files) ARROW_RETURN_NOT_OK(FindStrayFiles(dir, *listed, out));
  return arrow::Status::OK();
}

arrow::Result<std::vector<ManifestDifference>> LakeVerifier::VerifyPartition(
    const PartitionManifest& manifest, VerifyDepth depth) const {
  std::vector<ManifestDifference> differences;
  std::vector<std::string> listed;
  ARROW_RETURN_NOT_OK(
      CheckPartition(manifest, depth, /*check_stray_files=*/true, &listed, &differences));
  return differences;
}

arrow::Result<PublishedRunCheck> LakeVerifier::VerifyRun(const RunInstance& run,
                                                         VerifyDepth depth) const {
  PublishedRunCheck check;
  auto& out = check.differences;
  const std::string run_manifest_path = layout_.RunManifestPath(run);
  const std::string success_path = layout_.SuccessPath(run);
  ARROW_ASSIGN_OR_RAISE(arrow::fs::FileInfo manifest_info, Stat(run_manifest_path));
  ARROW_ASSIGN_OR_RAISE(arrow::fs::FileInfo success_info, Stat(success_path));
  const bool has_manifest = manifest_info.type() != arrow::fs::FileType::NotFound;
  const bool has_success = success_info.type() != arrow::fs::FileType::NotFound;
  if (!has_manifest && !has_success) return check;  // not published
  check.published = true;
  if (!has_success) {
    out.push_back(
        {layout_.Relative(success_path), "missing", "the completion marker", ""});
  }
  if (!has_manifest) {
    // Nothing says what the instance holds: every data file in it is unaccounted for.
    out.push_back(
        {layout_.Relative(run_manifest_path), "missing", "the run manifest", ""});
    return check;
  }

  ARROW_ASSIGN_OR_RAISE(std::string text, ReadSmallFile(run_manifest_path));
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto unreadable = [&](const std::string& why) {
    out.push_back({layout_.Relative(run_manifest_path), "run manifest",
                   "a jetflow.run-manifest/1 document", "unreadable: " + why});
  };
  if (!json.is_object()) {
    unreadable("not a JSON object");
    return check;
  }
  auto string_of = [&](const char* key) -> std::string {
    auto it = json.find(key);
    return it != json.end() && it->is_string() ? it->get<std::string>() : "";
  };
  auto int_of = [&](const char* key) -> int64_t {
    auto it = json.find(key);
    return it != json.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
  };
  if (string_of("format") != "jetflow.run-manifest/1") {
    unreadable("'format' is not jetflow.run-manifest/1");
    return check;
  }
  const auto partitions = json.find("partitions");
  if (partitions == json.end() || !partitions->is_array()) {
    unreadable("'partitions' is not a list");
    return check;
  }
  check.pipeline = string_of("pipeline");
  check.run_id = int_of("run_id");
  check.rows = int_of("rows");
  check.bytes = int_of("bytes");
  const std::string fingerprint = string_of("schema_fingerprint");
  if (string_of("instance") != run.id()) {
    out.push_back({layout_.Relative(run_manifest_path), "instance", run.id(),
                   string_of("instance")});
  }

  std::vector<std::string> listed;
  int64_t rows = 0;
  int64_t bytes = 0;
  std::set<std::string> seen;
  for (const auto& element : *partitions) {
    auto manifest = PartitionManifest::FromJson(element.dump());
    if (!manifest.ok()) {
      unreadable("a partition: " + manifest.status().message());
      continue;
    }
    ++check.partitions;
    check.files += static_cast<int64_t>(manifest->files.size());
    rows += manifest->rows;
    bytes += manifest->bytes;
    const std::string expected_location =
        layout_.Relative(layout_.PartitionDir(run, manifest->partition_id));
    if (!seen.insert(manifest->partition_id).second) {
      out.push_back({expected_location, "run manifest", "each partition listed once",
                     "partition " + manifest->partition_id + " listed twice"});
      continue;
    }
    if (manifest->location != expected_location) {
      out.push_back(
          {manifest->location, "location", expected_location, manifest->location});
      continue;
    }
    if (manifest->schema_fingerprint != fingerprint) {
      out.push_back({manifest->location, "schema", fingerprint + " (the run's)",
                     manifest->schema_fingerprint});
    }
    ARROW_RETURN_NOT_OK(
        CheckPartition(*manifest, depth, /*check_stray_files=*/false, &listed, &out));
  }
  if (rows != check.rows || bytes != check.bytes) {
    out.push_back({layout_.Relative(run_manifest_path), "run manifest totals",
                   fmt::format("{} rows, {} bytes (sum of its partitions)", rows, bytes),
                   fmt::format("{} rows, {} bytes", check.rows, check.bytes)});
  }
  ARROW_RETURN_NOT_OK(FindStrayFiles(layout_.RunDir(run), listed, &out));
  return check;
}

}  // namespace jetflow
