// Options the table-based consumers (sqlite, postgres, clickhouse) share: which rows to
// read (`table` or `query`), where the password comes from (`password_env`), and the key
// column of `partition_by: {column: k, partitions: N, ...}`. Each consumer calls these
// where it reads those keys, so the keys, the messages and their file:line:col are the
// same in all three; everything else about `partition_by` (its other forms and keys) is
// the consumer's own.
//
// Internal to src/jetflow/sources/; not part of the public API.
#pragma once

#include <arrow/status.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "jetflow/core/config_node.h"

namespace jetflow::sources {

/// What a table-based consumer reads: exactly one of the two is set.
struct TableOrQuery {
  std::string table;
  std::string query;
};

/// Whose SQL a query is written in: what quotes and comments look like.
enum class SqlDialect { kPostgres, kClickHouse, kSqlite };

/// `query` ready to be wrapped as a subquery, "(" + it + ")": trailing semicolons,
/// whitespace and comments removed (a trailing `-- comment` would swallow the closing
/// parenthesis, a `;` end the statement inside it). Quoted strings and identifiers,
/// comments and PostgreSQL's dollar quotes are skipped while looking for the end. If the
/// text cannot be scanned (an unterminated quote or comment), only trailing whitespace
/// and semicolons go, and the server reports the rest.
std::string QueryAsSubquery(std::string_view query, SqlDialect dialect);

/// Reads `table` and `query` (strings; empty counts as absent; the query through
/// QueryAsSubquery). Records at `node` "one of 'table' or 'query' is required" or "use
/// either 'table' or 'query', not both", and at `query` one that holds no statement.
TableOrQuery ParseTableOrQuery(const ConfigNode& node, SqlDialect dialect);

/// For Make(): Invalid "<consumer>: exactly one of 'table' and 'query' is required"
/// unless exactly one of `table` and `query` is set.
arrow::Status CheckTableOrQuery(std::string_view table, std::string_view query,
                                std::string_view consumer);

/// `password_env: NAME`: the value of the environment variable NAME, or nullopt if the
/// key is absent. Records "environment variable 'NAME' (password_env) is not set" at the
/// key (and returns nullopt) if it is not set.
std::optional<std::string> ParsePasswordEnv(const ConfigNode& node);

/// The shared part of a key-range `partition_by` map.
struct KeyPartitionBy {
  /// The key column, as written.
  std::string column;
  /// `partitions:` when given.
  std::optional<int64_t> partitions;
};

/// Reads `column` (required) and `partitions` (if present: an integer in [1,
/// max_partitions]) of the map `partition_by`. The caller reads the map's other keys and
/// then calls CheckNoUnknownKeys().
KeyPartitionBy ParseKeyPartitionBy(const ConfigNode& partition_by,
                                   int64_t max_partitions);

}  // namespace jetflow::sources
