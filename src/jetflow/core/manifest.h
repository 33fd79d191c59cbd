// Manifests: what one committed partition wrote, as recorded next to the data and in the
// state store (format: docs/formats/manifest.md), and the schema fingerprint they carry.
//
// Threading: plain values; every function here is pure and thread-safe.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "jetflow/core/value_changes.h"

namespace jetflow {

struct FileManifest {
  std::string path;  // relative to the loader's root
  int64_t rows = 0;
  int64_t bytes = 0;
  std::string checksum;  // "xxh3-128:<32 hex digits>" of the file's bytes
};

/// What one committed partition wrote. Serialised as JSON next to the data and in the
/// state store (docs/formats/manifest.md).
struct PartitionManifest {
  std::string loader;        // loader name from the config, e.g. "lake"
  std::string partition_id;  // PartitionSpec::id
  std::string location;      // partition directory/prefix, relative to the loader's root
  std::vector<FileManifest> files;
  int64_t rows = 0;
  int64_t bytes = 0;
  std::string schema_fingerprint;  // of the written (output) schema: SchemaFingerprint
  /// Values the partition's stages wrote otherwise than they read them
  /// (core/value_changes.h), over all rows the partition read. The same in every
  /// manifest of the partition; in JSON only when not empty.
  std::vector<ValueChangeCount> value_changes;
  std::string ToJson() const;
  static arrow::Result<PartitionManifest> FromJson(const std::string& json);
};

/// "xxh3-128:<32 hex digits>" over the field names, types and nullability of `schema`
/// (metadata excluded). Equal fingerprints mean readers see the same columns.
std::string SchemaFingerprint(const arrow::Schema& schema);

}  // namespace jetflow
