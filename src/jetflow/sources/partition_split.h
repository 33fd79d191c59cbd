// The split payload of the built-in consumers: a JSON object in PartitionSpec::split.
//
// PlanPartitions writes into each partition's split everything OpenPartition needs to
// read exactly that partition (key bounds, a file, a page range); OpenPartition reads the
// bounds from the split alone, plus the consumer's options, so a process that never
// planned the run (a resumed run, a worker that joined) opens any partition from its
// record. Splits are part of the plan's identity on resume: they are written with sorted
// keys (nlohmann::json's default), so the same plan always gives the same bytes.
//
// A split that is not what the consumer wrote (not JSON, a missing or mistyped field) is
// Invalid naming the consumer, the partition and the field: never an exception, never a
// guess from the partition id.
//
// Internal to src/jetflow/sources/; not part of the public API.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "jetflow/core/partition.h"

namespace jetflow::sources {

/// The split text of `split` (compact JSON with sorted keys).
std::string SplitText(const nlohmann::json& split);

/// Typed, checked access to one partition's split.
class SplitReader {
 public:
  /// Parses partition.split. `consumer` names the consumer in messages ("sqlite").
  /// Invalid if the split is not a JSON object.
  static arrow::Result<SplitReader> Parse(const PartitionSpec& partition,
                                          std::string_view consumer);

  /// The field `key`; Invalid if it is absent or not of the asked type.
  arrow::Result<std::string> String(std::string_view key) const;
  arrow::Result<int64_t> Int(std::string_view key) const;
  /// nullopt if the field is absent or null; Invalid if it has another type.
  arrow::Result<std::optional<std::string>> OptionalString(std::string_view key) const;
  arrow::Result<std::optional<int64_t>> OptionalInt(std::string_view key) const;
  arrow::Result<bool> Bool(std::string_view key, bool default_value) const;
  /// The nested object `key` as a reader of its own; nullopt if absent or null.
  arrow::Result<std::optional<SplitReader>> OptionalObject(std::string_view key) const;

  /// Invalid "malformed split of <consumer> partition '<id>': <why> (split <text>)".
  arrow::Status Malformed(std::string_view why) const;

  const std::string& partition_id() const { return partition_id_; }

 private:
  SplitReader(nlohmann::json json, std::string partition_id, std::string consumer,
              std::string text)
      : json_(std::move(json)),
        partition_id_(std::move(partition_id)),
        consumer_(std::move(consumer)),
        text_(std::move(text)) {}

  // The field, or nullptr if absent or null.
  const nlohmann::json* Find(std::string_view key) const;

  nlohmann::json json_;
  std::string partition_id_;
  std::string consumer_;
  std::string text_;  // the whole split, for messages
};

}  // namespace jetflow::sources
