#include "jetflow/sources/partition_split.h"

#include <utility>

namespace jetflow::sources {

namespace {

// Long splits are cut in messages: the partition id already names the partition.
std::string Shown(const std::string& text) {
  constexpr size_t kMax = 200;
  return text.size() <= kMax ? text : text.substr(0, kMax - 3) + "...";
}

}  // namespace

std::string SplitText(const nlohmann::json& split) { return split.dump(); }

arrow::Result<SplitReader> SplitReader::Parse(const PartitionSpec& partition,
                                              std::string_view consumer) {
  nlohmann::json json =
      nlohmann::json::parse(partition.split, nullptr, /*allow_exceptions=*/false);
  SplitReader reader(std::move(json), partition.id, std::string(consumer),
                     partition.split);
  if (!reader.json_.is_object()) {
    return reader.Malformed(partition.split.empty() ? "the split is empty"
                                                    : "not a JSON object");
  }
  return reader;
}

const nlohmann::json* SplitReader::Find(std::string_view key) const {
  auto it = json_.find(key);
  if (it == json_.end() || it->is_null()) return nullptr;
  return &*it;
}

arrow::Status SplitReader::Malformed(std::string_view why) const {
  return arrow::Status::Invalid("malformed split of ", consumer_, " partition '",
                                partition_id_, "': ", why, " (split ", Shown(text_), ")");
}

arrow::Result<std::optional<std::string>> SplitReader::OptionalString(
    std::string_view key) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) {
    return Malformed("'" + std::string(key) + "' is not a string");
  }
  return value->get<std::string>();
}

arrow::Result<std::string> SplitReader::String(std::string_view key) const {
  ARROW_ASSIGN_OR_RAISE(auto value, OptionalString(key));
  if (!value) return Malformed("'" + std::string(key) + "' is missing");
  return std::move(*value);
}

arrow::Result<std::optional<int64_t>> SplitReader::OptionalInt(
    std::string_view key) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return std::nullopt;
  // JSON numbers that are integers of int64 range only: no double, no rounding.
  if (value->is_number_integer() && !value->is_number_unsigned()) {
    return value->get<int64_t>();
  }
  if (value->is_number_unsigned() && value->get<uint64_t>() <= INT64_MAX) {
    return static_cast<int64_t>(value->get<uint64_t>());
  }
  return Malformed("'" + std::string(key) + "' is not a 64-bit integer");
}

arrow::Result<int64_t> SplitReader::Int(std::string_view key) const {
  ARROW_ASSIGN_OR_RAISE(auto value, OptionalInt(key));
  if (!value) return Malformed("'" + std::string(key) + "' is missing");
  return *value;
}

arrow::Result<bool> SplitReader::Bool(std::string_view key, bool default_value) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return default_value;
  if (!value->is_boolean()) {
    return Malformed("'" + std::string(key) + "' is not true or false");
  }
  return value->get<bool>();
}

arrow::Result<std::optional<SplitReader>> SplitReader::OptionalObject(
    std::string_view key) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_object()) {
    return Malformed("'" + std::string(key) + "' is not an object");
  }
  return SplitReader(*value, partition_id_, consumer_, text_);
}

}  // namespace jetflow::sources
