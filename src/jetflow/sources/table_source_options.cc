#include "jetflow/sources/table_source_options.h"

#include <cctype>
#include <cstdlib>

namespace jetflow::sources {

namespace {

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// PostgreSQL's `$tag$` at `at` ('$', then letters, digits or '_' not starting with a
// digit, then '$'): the tag, or "" if there is none.
std::string_view DollarTagAt(std::string_view text, size_t at) {
  size_t i = at + 1;
  while (i < text.size() &&
         (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) {
    if (i == at + 1 && std::isdigit(static_cast<unsigned char>(text[i]))) return {};
    ++i;
  }
  if (i >= text.size() || text[i] != '$') return {};
  return text.substr(at, i - at + 1);
}

}  // namespace

std::string QueryAsSubquery(std::string_view query, SqlDialect dialect) {
  const bool backslash_escapes = dialect == SqlDialect::kClickHouse;
  size_t end_of_code = 0;  // one past the last character that is neither blank,
                           // comment nor ';'
  bool scanned = true;
  size_t i = 0;
  while (i < query.size() && scanned) {
    const char c = query[i];
    const char next = i + 1 < query.size() ? query[i + 1] : '\0';
    if (c == '-' && next == '-') {
      const size_t line_end = query.find('\n', i);
      i = line_end == std::string_view::npos ? query.size() : line_end;
    } else if (c == '/' && next == '*') {
      const size_t close = query.find("*/", i + 2);
      scanned = close != std::string_view::npos;
      i = scanned ? close + 2 : query.size();
    } else if (c == '\'' || c == '"' || c == '`') {
      size_t j = i + 1;
      for (; j < query.size(); ++j) {
        if (backslash_escapes && query[j] == '\\') {
          ++j;
        } else if (query[j] == c) {
          if (j + 1 < query.size() && query[j + 1] == c) {
            ++j;  // a doubled quote stands for itself
          } else {
            break;
          }
        }
      }
      scanned = j < query.size();
      i = j + 1;
      end_of_code = i;
    } else if (c == '$' && dialect == SqlDialect::kPostgres &&
               !DollarTagAt(query, i).empty()) {
      const std::string_view tag = DollarTagAt(query, i);
      const size_t close = query.find(tag, i + tag.size());
      scanned = close != std::string_view::npos;
      i = scanned ? close + tag.size() : query.size();
      end_of_code = i;
    } else {
      ++i;
      if (!IsSpace(c) && c != ';') end_of_code = i;
    }
  }
  if (scanned) return std::string(query.substr(0, end_of_code));
  size_t end = query.size();
  while (end > 0 && (IsSpace(query[end - 1]) || query[end - 1] == ';')) --end;
  return std::string(query.substr(0, end));
}

TableOrQuery ParseTableOrQuery(const ConfigNode& node, SqlDialect dialect) {
  TableOrQuery source;
  source.table = node.GetString("table", "");
  const std::string query = node.GetString("query", "");
  source.query = QueryAsSubquery(query, dialect);
  if (!query.empty() && source.query.empty()) {
    node.Get("query").Error("'query' holds no statement (only comments or ';')");
    source.query = query;  // counts as given: no second error about 'table'
  }
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
