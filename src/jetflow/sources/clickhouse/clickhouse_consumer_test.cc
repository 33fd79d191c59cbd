// The clickhouse consumer's options, and its partitions read from a server.
//
// Tests that need a server are registered only when JETFLOW_TEST_CLICKHOUSE_URL names
// one: tests/e2e/test_clickhouse_partitions.py starts a throw-away server and runs this
// binary with it (and fails if the server does not start). Without the variable they do
// not exist, rather than being skipped. More reading from a real server is covered by
// tests/e2e/test_clickhouse_*.py.
#include "jetflow/sources/clickhouse/clickhouse_consumer.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "jetflow/testing/stage_harness.h"

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

TEST(ClickHouseConsumerSplit, MalformedSplitIsInvalidBeforeAnyQuery) {
  // Port 1: nothing listens, so any query would be an IOError instead.
  auto options = Parse(
      "url: http://127.0.0.1:1\ntable: t\n"
      "partition_by: {column: id, partitions: 2}\n");
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  auto consumer = ClickHouseConsumer::Make(std::move(*options)).ValueOrDie();
  for (const auto& [split, why] : std::vector<std::pair<std::string, std::string>>{
           {"", "the split is empty"},
           {"\"all\"", "not a JSON object"},
           {R"({"kind": "all"})",
            "its kind 'all' does not match the consumer's partition_by"},
           {R"({"kind": "key", "lo": "1"})", "a key range needs 'lo' and 'hi'"},
           {R"({"kind": "key", "lo": "x", "hi": "2"})", "'lo' is not an integer"},
           {R"({"kind": "stripes"})", "unknown kind 'stripes'"}}) {
    PartitionSpec partition{"id_1_2", "", -1, split};
    auto status =
        consumer->OpenPartition(testing::TestPartitionContext({"dt", "x"}, partition))
            .status();
    EXPECT_TRUE(status.IsInvalid()) << split << ": " << status.ToString();
    EXPECT_NE(
        status.message().find("malformed split of clickhouse partition 'id_1_2': " + why),
        std::string::npos)
        << status.ToString();
  }
}

// ---------------------------------------------------------------------------------------
// With a server.

const RunInstance kRun{"dt", "2024-05-01"};

std::unique_ptr<ClickHouseConsumer> MustMake(const std::string& yaml) {
  auto options = Parse(yaml);
  EXPECT_TRUE(options.ok()) << options.status().ToString();
  return ClickHouseConsumer::Make(std::move(*options)).ValueOrDie();
}

// Every row of one partition, sorted by `id` (the server sends rows in its own order).
arrow::Result<std::shared_ptr<arrow::Table>> ReadSorted(Consumer& consumer,
                                                        const PartitionSpec& partition) {
  return testing::ReadPartition(consumer, kRun, partition, "id");
}

// One test against the server; the suite creates its table once.
class ClickHouseServerTest : public ::testing::Test {
 public:
  using Body = std::function<void(const std::string& url)>;
  explicit ClickHouseServerTest(Body body) : body_(std::move(body)) {}

  static void SetUpTestSuite() {
    fixtures_ = [] {
      clickhouse::HttpOptions http;
      http.url = Url();
      for (const char* sql :
           {"DROP TABLE IF EXISTS fresh_events",
            "CREATE TABLE fresh_events (id Int64, ts DateTime, day Date, "
            "v Nullable(UInt64)) ENGINE = MergeTree PARTITION BY toYYYYMM(day) "
            "ORDER BY id",
            // Two inserts: two parts per partition; extreme keys in v.
            "INSERT INTO fresh_events SELECT toInt64(number) * 7 - 5000, "
            "toDateTime(1704067200 + number * 7919), toDate(toDateTime(1704067200 + "
            "number * 7919)), if(number % 13 = 0, NULL, number) FROM numbers(0, 900)",
            "INSERT INTO fresh_events SELECT toInt64(number) * 7 - 5000, "
            "toDateTime(1704067200 + number * 7919), toDate(toDateTime(1704067200 + "
            "number * 7919)), if(number = 999, 18446744073709551615, number) "
            "FROM numbers(900, 100)"}) {
        ARROW_RETURN_NOT_OK(
            clickhouse::QueryText(http, sql, "create the test table").status());
      }
      return arrow::Status::OK();
    }();
  }
  static std::string Url() { return std::getenv("JETFLOW_TEST_CLICKHOUSE_URL"); }

  void TestBody() override {
    ASSERT_TRUE(fixtures_.ok()) << fixtures_.ToString();
    body_(Url());
  }

 private:
  static inline arrow::Status fixtures_;
  Body body_;
};

// Plans `options` with one consumer, then reads every partition with it and with a new
// consumer that gets nothing but the partition's record (id, description, expected
// rows, split): both read the same rows, and together every row once.
void ExpectFreshConsumerReadsTheSame(const std::string& url, const std::string& options) {
  const std::string yaml = "url: " + url + "\n" + options;
  auto planner = MustMake(yaml);
  auto plan = planner->PlanPartitions(kRun);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_GT(plan->size(), 1u) << options;
  int64_t total = 0;
  for (const auto& partition : *plan) {
    PartitionSpec record{partition.id, partition.description, partition.expected_rows,
                         partition.split};
    auto expected = ReadSorted(*planner, record);
    ASSERT_TRUE(expected.ok()) << partition.id << ": " << expected.status().ToString();
    auto got = ReadSorted(*MustMake(yaml), record);
    ASSERT_TRUE(got.ok()) << partition.id << ": " << got.status().ToString();
    EXPECT_TRUE((*got)->Equals(**expected)) << partition.id;
    EXPECT_EQ((*got)->num_rows(), partition.expected_rows) << partition.id;
    total += (*got)->num_rows();
  }
  EXPECT_EQ(total, 1000) << options;
}

void Register(const std::string& name, ClickHouseServerTest::Body body) {
  ::testing::RegisterTest(
      "ClickHouseServer", name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
      [body]() -> ClickHouseServerTest* { return new ClickHouseServerTest(body); });
}

[[maybe_unused]] const bool kServerTestsRegistered = [] {
  if (std::getenv("JETFLOW_TEST_CLICKHOUSE_URL") == nullptr) return false;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Parts", "table: fresh_events\npartition_by: parts\n"},
      {"KeyRanges", "table: fresh_events\npartition_by: {column: id, partitions: 4}\n"},
      {"UInt64KeyRangesWithNulls",
       "table: fresh_events\npartition_by: {column: v, partitions: 3}\n"},
      {"TimeSlices", "table: fresh_events\npartition_by: {column: ts, interval: 24h}\n"},
      {"DateSlices",
       "table: fresh_events\npartition_by: {column: day, interval: 168h}\n"},
      {"QueryKeyRanges",
       "query: SELECT id, v FROM fresh_events\npartition_by: {column: id, partitions: "
       "3}\n"},
  };
  for (const auto& [name, options] : cases) {
    Register("FreshConsumerReads" + name, [options = options](const std::string& url) {
      ExpectFreshConsumerReadsTheSame(url, options);
    });
  }
  return true;
}();

}  // namespace
}  // namespace jetflow
