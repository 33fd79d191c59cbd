// LakeVerifier: compares the published output of a Parquet lake with the manifests that
// describe it (docs/formats/manifest.md), for the Parquet loader's VerifyCommitted (a
// resumed run keeps a committed partition only if nothing differs) and VerifyPublished
// (`jetflow verify`). It reads only: it never repairs, moves or deletes anything.
//
// What it compares, per partition (a PartitionManifest):
//   - the partition directory exists, and its _jetflow_manifest.json equals the manifest;
//   - every file the manifest lists exists, is a file, and has the recorded size
//     (VerifyDepth::kSize: one metadata lookup per file);
//   - kChecksum: and the XXH3-128 of its bytes is the recorded checksum (reads it once);
//   - kFull: and its Parquet footer is readable, counts the recorded rows, and holds a
//     schema whose fingerprint is the manifest's schema_fingerprint;
//   - no data file in the directory is missing from the manifest. Names starting with
//     '_' or '.' (manifests, markers, hidden files) are not data: readers skip them.
// Per run instance (the run manifest _jetflow_run.json): it is readable, _SUCCESS is
// there, each partition it lists is checked as above and carries the run's schema
// fingerprint, its sums agree with its partitions, and no data file anywhere in the run
// instance's directory is listed by none of them.
//
// Every difference is reported, not only the first; an error Status means the lake
// could not be read (permissions, an unreachable filesystem), not that it differs.
// Paths in manifests that leave the partition directory are reported as differences and
// never opened.
//
// Threading: immutable; VerifyPartition may be called concurrently.
#pragma once

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>

#include <memory>
#include <string>
#include <vector>

#include "jetflow/core/loader.h"
#include "jetflow/core/manifest.h"
#include "jetflow/sinks/parquet/lake_layout.h"

namespace jetflow {

class LakeVerifier {
 public:
  LakeVerifier(std::shared_ptr<arrow::fs::FileSystem> filesystem, LakeLayout layout)
      : filesystem_(std::move(filesystem)), layout_(std::move(layout)) {}

  /// The differences between `manifest` and the partition directory it describes.
  arrow::Result<std::vector<ManifestDifference>> VerifyPartition(
      const PartitionManifest& manifest, VerifyDepth depth) const;

  /// The differences between run instance `run`'s published output and its run manifest;
  /// `published` false (nothing compared) when it has neither a run manifest nor
  /// _SUCCESS.
  arrow::Result<PublishedRunCheck> VerifyRun(const RunInstance& run,
                                             VerifyDepth depth) const;

 private:
  /// Adds the differences of one partition to `out`; `listed` receives the absolute
  /// paths of the files the manifest lists (for the search for stray files).
  arrow::Status CheckPartition(const PartitionManifest& manifest, VerifyDepth depth,
                               bool check_stray_files, std::vector<std::string>* listed,
                               std::vector<ManifestDifference>* out) const;
  /// Adds the differences of one listed file to `out`.
  arrow::Status CheckFile(const FileManifest& file, const std::string& schema_fingerprint,
                          VerifyDepth depth, std::vector<ManifestDifference>* out) const;
  /// Every file below `dir` that is data (no path component starting with '_' or '.')
  /// and not in `listed`, as a "stray file" difference.
  arrow::Status FindStrayFiles(const std::string& dir,
                               const std::vector<std::string>& listed,
                               std::vector<ManifestDifference>* out) const;
  /// The info of `path`; a FileInfo of type NotFound if it does not exist.
  arrow::Result<arrow::fs::FileInfo> Stat(const std::string& path) const;
  /// The whole content of small file `path`.
  arrow::Result<std::string> ReadSmallFile(const std::string& path) const;

  std::shared_ptr<arrow::fs::FileSystem> filesystem_;
  LakeLayout layout_;
};

}  // namespace jetflow
