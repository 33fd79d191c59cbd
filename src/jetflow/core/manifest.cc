// PartitionManifest <-> JSON (format: docs/formats/manifest.md) and SchemaFingerprint.
#include "jetflow/core/manifest.h"

#include <arrow/type.h>
#include <xxhash.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace jetflow {

namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr const char* kPartitionManifestFormat = "jetflow.partition-manifest/1";

// nlohmann's typed getters throw on a type mismatch; these check first, so a malformed
// manifest becomes an Invalid naming the key instead of an exception.
arrow::Status GetString(const Json& object, const char* key, std::string* out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) {
    return arrow::Status::Invalid("partition manifest: '", key, "' must be a string");
  }
  *out = it->get_ref<const std::string&>();
  return arrow::Status::OK();
}

arrow::Status GetInt(const Json& object, const char* key, int64_t* out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) {
    return arrow::Status::Invalid("partition manifest: '", key, "' must be an integer");
  }
  *out = it->get<int64_t>();
  if (*out < 0) {
    return arrow::Status::Invalid("partition manifest: '", key, "' must not be negative");
  }
  return arrow::Status::OK();
}

}  // namespace

std::string PartitionManifest::ToJson() const {
  OrderedJson files_json = OrderedJson::array();
  for (const auto& file : files) {
    files_json.push_back({{"path", file.path},
                          {"rows", file.rows},
                          {"bytes", file.bytes},
                          {"checksum", file.checksum}});
  }
  // ordered_json keeps keys in this reading order.
  OrderedJson json = {{"format", kPartitionManifestFormat},
                      {"loader", loader},
                      {"partition_id", partition_id},
                      {"location", location},
                      {"rows", rows},
                      {"bytes", bytes},
                      {"schema_fingerprint", schema_fingerprint},
                      {"files", std::move(files_json)}};
  if (!value_changes.empty()) {
    OrderedJson changes = OrderedJson::array();
    for (const auto& change : value_changes) {
      changes.push_back({{"stage", change.stage},
                         {"column", change.column},
                         {"change", change.change},
                         {"action", change.action},
                         {"values", change.values},
                         {"detail", change.detail}});
    }
    json["value_changes"] = std::move(changes);
  }
  // `replace` never throws on invalid UTF-8 in a name; it substitutes U+FFFD.
  return json.dump(2, ' ', /*ensure_ascii=*/false, OrderedJson::error_handler_t::replace);
}

arrow::Result<PartitionManifest> PartitionManifest::FromJson(const std::string& json) {
  Json root = Json::parse(json, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return arrow::Status::Invalid("partition manifest: not a JSON object");
  }
  std::string format;
  ARROW_RETURN_NOT_OK(GetString(root, "format", &format));
  if (format != kPartitionManifestFormat) {
    return arrow::Status::Invalid("partition manifest: unsupported format '", format,
                                  "', expected '", kPartitionManifestFormat, "'");
  }
  PartitionManifest manifest;
  ARROW_RETURN_NOT_OK(GetString(root, "loader", &manifest.loader));
  ARROW_RETURN_NOT_OK(GetString(root, "partition_id", &manifest.partition_id));
  ARROW_RETURN_NOT_OK(GetString(root, "location", &manifest.location));
  ARROW_RETURN_NOT_OK(GetInt(root, "rows", &manifest.rows));
  ARROW_RETURN_NOT_OK(GetInt(root, "bytes", &manifest.bytes));
  ARROW_RETURN_NOT_OK(
      GetString(root, "schema_fingerprint", &manifest.schema_fingerprint));
  auto files = root.find("files");
  if (files == root.end() || !files->is_array()) {
    return arrow::Status::Invalid("partition manifest: 'files' must be an array");
  }
  for (const Json& entry : *files) {
    if (!entry.is_object()) {
      return arrow::Status::Invalid(
          "partition manifest: 'files' entries must be objects");
    }
    FileManifest file;
    ARROW_RETURN_NOT_OK(GetString(entry, "path", &file.path));
    ARROW_RETURN_NOT_OK(GetInt(entry, "rows", &file.rows));
    ARROW_RETURN_NOT_OK(GetInt(entry, "bytes", &file.bytes));
    ARROW_RETURN_NOT_OK(GetString(entry, "checksum", &file.checksum));
    manifest.files.push_back(std::move(file));
  }
  auto changes = root.find("value_changes");
  if (changes != root.end()) {
    if (!changes->is_array()) {
      return arrow::Status::Invalid(
          "partition manifest: 'value_changes' must be an array");
    }
    for (const Json& entry : *changes) {
      if (!entry.is_object()) {
        return arrow::Status::Invalid(
            "partition manifest: 'value_changes' entries must be objects");
      }
      ValueChangeCount change;
      ARROW_RETURN_NOT_OK(GetString(entry, "stage", &change.stage));
      ARROW_RETURN_NOT_OK(GetString(entry, "column", &change.column));
      ARROW_RETURN_NOT_OK(GetString(entry, "change", &change.change));
      ARROW_RETURN_NOT_OK(GetString(entry, "action", &change.action));
      ARROW_RETURN_NOT_OK(GetInt(entry, "values", &change.values));
      ARROW_RETURN_NOT_OK(GetString(entry, "detail", &change.detail));
      manifest.value_changes.push_back(std::move(change));
    }
  }
  return manifest;
}

std::string SchemaFingerprint(const arrow::Schema& schema) {
  // Length-prefixed names keep the text unambiguous whatever characters names contain.
  std::string canonical;
  for (const auto& field : schema.fields()) {
    canonical += std::to_string(field->name().size()) + ":" + field->name() + " " +
                 field->type()->ToString(/*show_metadata=*/false) +
                 (field->nullable() ? " null\n" : " not null\n");
  }
  XXH128_hash_t hash = XXH3_128bits(canonical.data(), canonical.size());
  XXH128_canonical_t bytes;
  XXH128_canonicalFromHash(&bytes, hash);
  std::string out = "xxh3-128:";
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char byte : bytes.digest) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

}  // namespace jetflow
