#include "jetflow/sources/table_source_options.h"

#include <cstdlib>

namespace jetflow::sources {

TableOrQuery ParseTableOrQuery(const ConfigNode& node) {
  TableOrQuery source;
  source.table = node.GetString("table", "");
  source.query = node.GetString("query", "");
  if (source.table.empty() == source.query.empty()) {
    node.Error(source.table.empty() ? "one of 'table' or 'query' is required"
                                    : "use either 'table' or 'query', not both");
  }
  return source;
}

arrow::Status CheckTableOrQuery(std::string_view table, std::string_view query,
                                std::string_view consumer) {
  if (table.empty() == query.empty()) {
    return arrow::Status::Invalid(consumer,
                                  ": exactly one of 'table' and 'query' is required");
  }
  return arrow::Status::OK();
}

std::optional<std::string> ParsePasswordEnv(const ConfigNode& node) {
  auto name = node.GetOptionalString("password_env");
  if (!name) return std::nullopt;
  const char* value = std::getenv(name->c_str());
  if (value == nullptr) {
    node.Get("password_env")
        .Error("environment variable '" + *name + "' (password_env) is not set");
    return std::nullopt;
  }
  return std::string(value);
}

KeyPartitionBy ParseKeyPartitionBy(const ConfigNode& partition_by,
                                   int64_t max_partitions) {
  KeyPartitionBy key;
  key.column = partition_by.RequireString("column");
  if (partition_by.Has("partitions")) {
    key.partitions = partition_by.GetInt("partitions", 1, 1, max_partitions);
  }
  return key;
}

}  // namespace jetflow::sources
