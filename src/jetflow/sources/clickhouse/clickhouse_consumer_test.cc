// Option parsing of the clickhouse consumer. Reading from a real server is covered by
// tests/e2e/test_clickhouse_*.py, which start one.
#include "jetflow/sources/clickhouse/clickhouse_consumer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace jetflow {
namespace {

arrow::Result<ClickHouseConsumer::Options> Parse(const std::string& yaml) {
  Diagnostics diagnostics;
  ConfigNode node = ConfigNode::Parse(yaml, "pipeline.yaml", &diagnostics);
  ComponentContext context;
  context.batch_rows = 1000;
  return ClickHouseConsumer::ParseOptions(node, context);
}

TEST(ClickHouseConsumerOptions, ParsesEveryOption) {
  setenv("JETFLOW_TEST_CH_PASSWORD", "s3cret", 1);
  auto options = Parse(
      "url: http://127.0.0.1:8123\n"
      "user: reader\n"
      "password_env: JETFLOW_TEST_CH_PASSWORD\n"
      "database: db\n"
      "table: events\n"
      "columns: [id, ts]\n"
      "partition_by: {column: ts, interval: 2h}\n"
      "settings: {max_block_size: 1000, max_threads: 1}\n"
      "compression: gzip\n"
      "receive_timeout: 5s\n"
      "cast_unsupported_to_string: true\n");
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_EQ(options->http.user, "reader");
  EXPECT_EQ(options->http.password, "s3cret");
  EXPECT_EQ(options->http.database, "db");
  EXPECT_EQ(options->table, "events");
  EXPECT_EQ(options->columns, (std::vector<std::string>{"id", "ts"}));
  EXPECT_EQ(options->partition_kind, ClickHouseConsumer::PartitionKind::kTimeInterval);
  EXPECT_EQ(options->interval.count(), 7200);
  ASSERT_EQ(options->http.settings.size(), 2u);
  EXPECT_EQ(options->http.settings[0].first, "max_block_size");
  EXPECT_EQ(options->http.settings[0].second, "1000");
  EXPECT_EQ(options->http.compression, "gzip");
  EXPECT_EQ(options->http.receive_timeout.count(), 5000);
  EXPECT_TRUE(options->cast_unsupported_to_string);
  EXPECT_EQ(options->batch_rows, 1000);
}

TEST(ClickHouseConsumerOptions, PartitionByForms) {
  auto parts = Parse("url: http://h:1\ntable: t\npartition_by: parts\n");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ(parts->partition_kind, ClickHouseConsumer::PartitionKind::kParts);
  auto ranges =
      Parse("url: http://h:1\ntable: t\npartition_by: {column: id, partitions: 4}\n");
  ASSERT_TRUE(ranges.ok()) << ranges.status().ToString();
  EXPECT_EQ(ranges->partition_kind, ClickHouseConsumer::PartitionKind::kKeyRange);
  EXPECT_EQ(ranges->partitions, 4);
}

TEST(ClickHouseConsumerOptions, ReportsEveryMistakeWithItsLocation) {
  unsetenv("JETFLOW_TEST_CH_UNSET");
  auto options = Parse(
      "url: localhost:8123\n"
      "table: t\n"
      "query: SELECT 1\n"
      "password_env: JETFLOW_TEST_CH_UNSET\n"
      "partition_by: {column: id, partitions: 2, interval: 1h}\n"
      "compresion: gzip\n");
  ASSERT_FALSE(options.ok());
  const std::string message = options.status().message();
  EXPECT_NE(message.find("pipeline.yaml:1:6: error: 'url' must start with http://"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("use either 'table' or 'query', not both"), std::string::npos);
  EXPECT_NE(message.find("'JETFLOW_TEST_CH_UNSET' (password_env) is not set"),
            std::string::npos);
  EXPECT_NE(message.find("exactly one of 'partitions' (key ranges) or 'interval'"),
            std::string::npos);
  EXPECT_NE(message.find("compression"), std::string::npos) << message;  // did you mean
}

TEST(ClickHouseConsumerOptions, PartsNeedATable) {
  auto options = Parse("url: http://h:1\nquery: SELECT 1\npartition_by: parts\n");
  ASSERT_FALSE(options.ok());
  EXPECT_NE(options.status().message().find("needs a 'table'"), std::string::npos);
}

}  // namespace
}  // namespace jetflow
