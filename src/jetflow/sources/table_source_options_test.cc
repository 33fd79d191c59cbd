// The options sqlite, postgres and clickhouse share: the same keys, messages and
// locations whichever consumer reads them.
#include "jetflow/sources/table_source_options.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "jetflow/sources/source_options.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow::sources {
namespace {

// Errors recorded while `parse` reads `yaml`, one "file:line:col: error: ..." per line.
template <typename Parse>
std::string ErrorsOf(const std::string& yaml, Parse parse) {
  Diagnostics diagnostics;
  ConfigNode node = ConfigNode::Parse(yaml, "pipeline.yaml", &diagnostics);
  parse(node);
  return FinishOptions(node, 0).message();
}

TEST(TableSourceOptionsTest, ExactlyOneOfTableAndQuery) {
  TableOrQuery source;
  auto read = [&](const ConfigNode& node) {
    source = ParseTableOrQuery(node, SqlDialect::kSqlite);
  };
  EXPECT_EQ(ErrorsOf("table: orders\n", read), "");
  EXPECT_EQ(source.table, "orders");
  EXPECT_EQ(ErrorsOf("query: SELECT 1\n", read), "");
  EXPECT_EQ(source.query, "SELECT 1");
  EXPECT_EQ(ErrorsOf("path: x\n", read),
            "pipeline.yaml:1:1: error: one of 'table' or 'query' is required\n"
            "pipeline.yaml:1:1: error: unknown key 'path'");
  EXPECT_EQ(ErrorsOf("table: t\nquery: SELECT 1\n", read),
            "pipeline.yaml:1:1: error: use either 'table' or 'query', not both");
  EXPECT_EQ(ErrorsOf("table: ''\n", read),
            "pipeline.yaml:1:1: error: one of 'table' or 'query' is required");

  JETFLOW_EXPECT_OK(CheckTableOrQuery("t", "", "sqlite"));
  JETFLOW_EXPECT_OK(CheckTableOrQuery("", "SELECT 1", "sqlite"));
  auto both = CheckTableOrQuery("t", "SELECT 1", "clickhouse");
  EXPECT_TRUE(both.IsInvalid());
  EXPECT_EQ(both.message(), "clickhouse: exactly one of 'table' and 'query' is required");
  EXPECT_TRUE(CheckTableOrQuery("", "", "postgres").IsInvalid());
}

TEST(TableSourceOptionsTest, QueriesLoseTrailingSemicolonsAndCommentsOnly) {
  using D = SqlDialect;
  EXPECT_EQ(QueryAsSubquery("SELECT 1;", D::kClickHouse), "SELECT 1");
  EXPECT_EQ(QueryAsSubquery("SELECT 1 ; ;\n  ", D::kPostgres), "SELECT 1");
  EXPECT_EQ(QueryAsSubquery("SELECT 1 -- the end", D::kClickHouse), "SELECT 1");
  EXPECT_EQ(QueryAsSubquery("SELECT 1; -- done\n/* really */", D::kSqlite), "SELECT 1");
  // Inside the query, comments and quoted text stay as they are.
  EXPECT_EQ(QueryAsSubquery("SELECT 1 -- one\n, 2;", D::kPostgres),
            "SELECT 1 -- one\n, 2");
  EXPECT_EQ(QueryAsSubquery("SELECT '--;' AS \"a;\" ;", D::kPostgres),
            "SELECT '--;' AS \"a;\"");
  EXPECT_EQ(QueryAsSubquery("SELECT 'it''s;'", D::kSqlite), "SELECT 'it''s;'");
  EXPECT_EQ(QueryAsSubquery("SELECT 'a\\';' -- x", D::kClickHouse), "SELECT 'a\\';'");
  EXPECT_EQ(QueryAsSubquery("SELECT $q$ -- ; $q$ ;", D::kPostgres),
            "SELECT $q$ -- ; $q$");
  // A backslash is no escape in PostgreSQL's standard strings.
  EXPECT_EQ(QueryAsSubquery("SELECT 'C:\\' -- path", D::kPostgres), "SELECT 'C:\\'");
  // Text that cannot be scanned loses trailing blanks and semicolons only.
  EXPECT_EQ(QueryAsSubquery("SELECT 'open ;  ", D::kPostgres), "SELECT 'open");

  TableOrQuery source;
  auto read = [&](const ConfigNode& node) {
    source = ParseTableOrQuery(node, SqlDialect::kClickHouse);
  };
  EXPECT_EQ(ErrorsOf("query: 'SELECT 1; -- done'\n", read), "");
  EXPECT_EQ(source.query, "SELECT 1");
  EXPECT_EQ(
      ErrorsOf("query: '-- nothing;'\n", read),
      "pipeline.yaml:1:8: error: 'query' holds no statement (only comments or ';')");
}

TEST(TableSourceOptionsTest, PasswordFromTheEnvironment) {
  setenv("JETFLOW_TEST_TABLE_SOURCE_PASSWORD", "s3cret", 1);
  unsetenv("JETFLOW_TEST_TABLE_SOURCE_UNSET");
  std::optional<std::string> password;
  auto read = [&](const ConfigNode& node) { password = ParsePasswordEnv(node); };
  EXPECT_EQ(ErrorsOf("password_env: JETFLOW_TEST_TABLE_SOURCE_PASSWORD\n", read), "");
  EXPECT_EQ(password, "s3cret");
  EXPECT_EQ(ErrorsOf("user: x\n", read), "pipeline.yaml:1:1: error: unknown key 'user'");
  EXPECT_EQ(password, std::nullopt);
  EXPECT_EQ(ErrorsOf("password_env: JETFLOW_TEST_TABLE_SOURCE_UNSET\n", read),
            "pipeline.yaml:1:15: error: environment variable "
            "'JETFLOW_TEST_TABLE_SOURCE_UNSET' (password_env) is not set");
  EXPECT_EQ(password, std::nullopt);
}

TEST(TableSourceOptionsTest, KeyColumnAndPartitions) {
  KeyPartitionBy key;
  auto read = [&](const ConfigNode& node) {
    ConfigNode partition_by = node.Get("partition_by");
    key = ParseKeyPartitionBy(partition_by, 100);
    partition_by.CheckNoUnknownKeys();
  };
  EXPECT_EQ(ErrorsOf("partition_by: {column: id, partitions: 8}\n", read), "");
  EXPECT_EQ(key.column, "id");
  EXPECT_EQ(key.partitions, 8);
  EXPECT_EQ(ErrorsOf("partition_by: {column: id}\n", read), "");
  EXPECT_EQ(key.partitions, std::nullopt);
  EXPECT_EQ(ErrorsOf("partition_by: {colum: id, partitions: 101}\n", read),
            "pipeline.yaml:1:15: error: missing required key 'column' in 'partition_by'\n"
            "pipeline.yaml:1:39: error: 'partition_by.partitions' must be between 1 and "
            "100, got '101'\n"
            "pipeline.yaml:1:16: error: unknown key 'colum' in 'partition_by' (did you "
            "mean 'column'?)");
}

}  // namespace
}  // namespace jetflow::sources
