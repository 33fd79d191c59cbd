// The postgres consumer without and with a server.
//
// Tests that need a server are registered only when JETFLOW_TEST_POSTGRES_DSN names one:
// tests/e2e/test_postgres_partitions.py starts a throw-away server and runs this binary
// with it (and fails if the server does not start). Without the variable they do not
// exist, rather than being skipped.
#include "jetflow/sources/postgres/postgres_consumer.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "jetflow/testing/stage_harness.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow::postgres {
namespace {

const RunInstance kRun{"dt", "2024-05-01"};

arrow::Result<std::unique_ptr<PostgresConsumer>> Make(const std::string& yaml) {
  Diagnostics diagnostics;
  ConfigNode node = ConfigNode::Parse(yaml, "pipeline.yaml", &diagnostics);
  ComponentContext context;
  context.name = "pg";
  context.batch_rows = 1000;
  ARROW_ASSIGN_OR_RAISE(auto options, PostgresConsumer::ParseOptions(node, context));
  return PostgresConsumer::Make(std::move(options));
}

TEST(PostgresConsumerOptions, SharedTableSourceMessages) {
  auto both = Make("dsn: postgresql://x@127.0.0.1:1/x\ntable: t\nquery: SELECT 1\n");
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find(
                "pipeline.yaml:1:1: error: use either 'table' or 'query', not both"),
            std::string::npos)
      << both.status().ToString();
  auto neither = Make("dsn: postgresql://x@127.0.0.1:1/x\n");
  ASSERT_FALSE(neither.ok());
  EXPECT_NE(neither.status().message().find("one of 'table' or 'query' is required"),
            std::string::npos)
      << neither.status().ToString();
  unsetenv("JETFLOW_TEST_PG_UNSET");
  auto password = Make(
      "dsn: postgresql://x@127.0.0.1:1/x\ntable: t\npassword_env: JETFLOW_TEST_PG_UNSET\n"
      "partition_by: {column: id, partitions: 0}\n");
  ASSERT_FALSE(password.ok());
  for (const char* part :
       {"pipeline.yaml:3:15: error: environment variable 'JETFLOW_TEST_PG_UNSET' "
        "(password_env) is not set",
        "'partition_by.partitions' must be between 1 and 100000, got '0'"}) {
    EXPECT_NE(password.status().message().find(part), std::string::npos)
        << password.status().ToString();
  }
}

TEST(PostgresConsumerOptions, IncrementalOnSkipped) {
  auto parse = [](const std::string& incremental) {
    return Make("dsn: postgresql://x@127.0.0.1:1/x\ntable: t\nincremental: " +
                incremental + "\n");
  };
  using OnSkipped = PostgresConsumer::Incremental::OnSkipped;
  EXPECT_EQ(parse("{cursor: ts}").ValueOrDie()->options().incremental->on_skipped,
            OnSkipped::kWarn);
  EXPECT_EQ(parse("{cursor: ts, on_skipped: error}")
                .ValueOrDie()
                ->options()
                .incremental->on_skipped,
            OnSkipped::kError);
  auto bad = parse("{cursor: ts, on_skipped: skip}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("on_skipped"), std::string::npos)
      << bad.status().ToString();
}

TEST(PostgresConsumerOptions, ArrayDimensions) {
  auto parse = [](const std::string& dimensions) {
    return Make("dsn: postgresql://x@127.0.0.1:1/x\ntable: t\narray_dimensions: " +
                dimensions + "\n");
  };
  auto good = parse("{m: 2, \"Cube\": 6}");
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ((*good)->options().array_dimensions,
            (std::map<std::string, int>{{"m", 2}, {"Cube", 6}}));
  for (const auto& [dimensions, message] :
       std::vector<std::pair<std::string, std::string>>{
           {"{m: 0}",
            "pipeline.yaml:3:23: error: 'array_dimensions.m' must be between 1 "
            "and 6, got '0'"},
           {"{m: 7}", "'array_dimensions.m' must be between 1 and 6, got '7'"},
           {"{m: two}", "'array_dimensions.m' must be an integer"},
           {"[m]", "'array_dimensions' must be a map"}}) {
    auto bad = parse(dimensions);
    ASSERT_FALSE(bad.ok()) << dimensions;
    EXPECT_NE(bad.status().message().find(message), std::string::npos)
        << bad.status().ToString();
  }
}

TEST(PostgresConsumerSplit, MalformedSplitIsInvalidBeforeAnyConnection) {
  // Port 1: nothing listens, so any attempt to connect would be an IOError instead.
  auto consumer = Make(
                      "dsn: postgresql://x@127.0.0.1:1/x\ntable: t\n"
                      "partition_by: {column: id, partitions: 2}\n")
                      .ValueOrDie();
  for (const auto& [split, why] : std::vector<std::pair<std::string, std::string>>{
           {"", "the split is empty"},
           {"[]", "not a JSON object"},
           {R"({"kind": 3})", "'kind' is not a string"},
           {R"({"kind": "rows"})", "unknown kind 'rows'"},
           {R"({"kind": "ctid", "first_page": 0})",
            "its kind does not match the consumer's partition_by"},
           {R"({"kind": "key", "lo": "1", "window": {"high": "5"}})",
            "a window, but the consumer is not incremental"},
           {R"({"kind": "key", "hi": "9223372036854775807"})",
            "key bounds beyond 64-bit integers"},
           {R"({"kind": "key", "lo": "5", "hi": "1"})", "'lo' is above 'hi'"}}) {
    PartitionSpec partition{"id_1_2", "id in [1, 2)", -1, split};
    auto status =
        consumer->OpenPartition(testing::TestPartitionContext(kRun, partition)).status();
    EXPECT_TRUE(status.IsInvalid()) << status.ToString();
    EXPECT_NE(
        status.message().find("malformed split of postgres partition 'id_1_2': " + why),
        std::string::npos)
        << status.ToString();
  }
  auto incremental = Make(
                         "dsn: postgresql://x@127.0.0.1:1/x\ntable: t\n"
                         "incremental: {cursor: id}\n")
                         .ValueOrDie();
  PartitionSpec no_window{"all", "all rows of t", -1, R"({"kind": "all"})"};
  auto status =
      incremental->OpenPartition(testing::TestPartitionContext(kRun, no_window)).status();
  EXPECT_TRUE(status.IsInvalid()) << status.ToString();
  EXPECT_NE(
      status.message().find("the consumer is incremental, but the split has no window"),
      std::string::npos)
      << status.ToString();
}

// ---------------------------------------------------------------------------------------
// With a server.

// Every row of one partition, sorted by `id` (the server sends rows in its own order).
arrow::Result<std::shared_ptr<arrow::Table>> ReadSorted(Consumer& consumer,
                                                        const PartitionSpec& partition) {
  return testing::ReadPartition(consumer, kRun, partition, "id");
}

// Tables of the tests below, made afresh in the server of JETFLOW_TEST_POSTGRES_DSN.
constexpr const char* kFixtures = R"sql(
DROP TABLE IF EXISTS fresh_events, fresh_metrics;
CREATE TABLE fresh_events (id bigint, created timestamptz, day date, payload text);
INSERT INTO fresh_events
  SELECT g * 7 - 500, timestamptz '2026-01-01 00:00:00+00' + g * interval '37 minutes',
         date '2026-01-01' + (g % 40), md5(g::text)
  FROM generate_series(1, 500) g;
INSERT INTO fresh_events VALUES (NULL, NULL, NULL, 'no key'),
                                (9223372036854775807, 'infinity', 'infinity', 'max'),
                                (-9223372036854775808, '-infinity', '-infinity', 'min');
CREATE TABLE fresh_metrics (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE fresh_metrics_a PARTITION OF fresh_metrics
  FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE fresh_metrics_b PARTITION OF fresh_metrics
  FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO fresh_metrics SELECT g, date '2024-01-01' + g FROM generate_series(0, 700) g;
DROP VIEW IF EXISTS fresh_grids;
DROP TABLE IF EXISTS fresh_generated, fresh_ancient;
CREATE TABLE fresh_generated (id int, a int, twice int GENERATED ALWAYS AS (a * 2) STORED);
INSERT INTO fresh_generated (id, a) SELECT g, g FROM generate_series(1, 300) g;
CREATE VIEW fresh_grids AS
  SELECT id, ARRAY[[id, id + 1], [id + 2, NULL]] AS grid FROM fresh_generated;
CREATE TABLE fresh_ancient (id int, day date);
INSERT INTO fresh_ancient SELECT g, date '2026-01-01' - g * 3000 FROM generate_series(1, 400) g;
)sql";

// One test against the server; the suite creates the fixtures once.
class PostgresServerTest : public ::testing::Test {
 public:
  using Body = std::function<void(const std::string& dsn)>;
  explicit PostgresServerTest(Body body) : body_(std::move(body)) {}

  static void SetUpTestSuite() {
    fixtures_ = [] {
      ConnectionOptions options;
      options.dsn = Dsn();
      ARROW_ASSIGN_OR_RAISE(auto connection, PgConnection::Connect(options));
      return connection->Exec(kFixtures, "cannot create the test tables");
    }();
  }
  static std::string Dsn() { return std::getenv("JETFLOW_TEST_POSTGRES_DSN"); }

  void TestBody() override {
    ASSERT_TRUE(fixtures_.ok()) << fixtures_.ToString();
    body_(Dsn());
  }

 private:
  static inline arrow::Status fixtures_;
  Body body_;
};

// Plans `options` with one consumer, then reads every partition with it and with a new
// consumer that gets nothing but the partition's record (id, description, expected
// rows, split): both read the same rows, and together every row once.
void ExpectFreshConsumerReadsTheSame(const std::string& dsn, const std::string& options,
                                     int64_t rows) {
  const std::string yaml = "dsn: " + dsn + "\n" + options;
  auto planner = Make(yaml).ValueOrDie();
  JETFLOW_ASSERT_OK(planner->PlanRunState(kRun, nullptr));
  auto plan = planner->PlanPartitions(kRun);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_FALSE(plan->empty());
  int64_t total = 0;
  for (const auto& partition : *plan) {
    PartitionSpec record{partition.id, partition.description, partition.expected_rows,
                         partition.split};
    auto fresh = Make(yaml).ValueOrDie();
    auto expected = ReadSorted(*planner, record);
    ASSERT_TRUE(expected.ok()) << partition.id << ": " << expected.status().ToString();
    auto got = ReadSorted(*fresh, record);
    ASSERT_TRUE(got.ok()) << partition.id << ": " << got.status().ToString();
    EXPECT_TRUE((*got)->Equals(**expected)) << partition.id;
    if (partition.expected_rows >= 0) {
      EXPECT_EQ((*got)->num_rows(), partition.expected_rows) << partition.id;
    }
    total += (*got)->num_rows();
  }
  EXPECT_EQ(total, rows) << options;
}

// Watermarks held in memory.
class MapWatermarks : public WatermarkReader {
 public:
  explicit MapWatermarks(std::map<std::string, std::string> values)
      : values_(std::move(values)) {}
  arrow::Result<std::optional<std::string>> Get(const std::string& name) override {
    auto found = values_.find(name);
    if (found == values_.end()) return std::nullopt;
    return found->second;
  }

 private:
  std::map<std::string, std::string> values_;
};

// fresh_events.created holds 500 finite values, NULL, +infinity and -infinity: the window
// ends at the greatest finite value, the NULL and +infinity rows are reported, and a
// watermark of +infinity is refused.
void ExpectTheWindowHoldsFiniteCursorsOnly(const std::string& dsn) {
  const std::string yaml =
      "dsn: " + dsn + "\ntable: fresh_events\nincremental: {cursor: created}\n";
  auto consumer = Make(yaml).ValueOrDie();
  auto plan = consumer->PlanRunState(kRun, nullptr);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->at_commit.size(), 1u);
  EXPECT_EQ(plan->at_commit[0].name, "postgres.pg.cursor");
  // 2026-01-01 00:00 + 500 x 37 minutes.
  EXPECT_EQ(plan->at_commit[0].value, "2026-01-13 20:20:00+00");
  ASSERT_EQ(plan->warnings.size(), 1u);
  EXPECT_NE(plan->warnings[0].find("incremental cursor 'created' of table fresh_events: "
                                   "1 row with a NULL cursor and 1 with cursor +infinity "
                                   "or NaN are in no incremental window and not read"),
            std::string::npos)
      << plan->warnings[0];

  // The next window starts after it, and is empty: no +infinity high bound.
  MapWatermarks committed(std::map<std::string, std::string>{
      {"postgres.pg.cursor", plan->at_commit[0].value}});
  auto next = Make(yaml).ValueOrDie();
  auto planned = next->PlanRunState(RunInstance{"dt", "2024-05-02"}, &committed);
  ASSERT_TRUE(planned.ok()) << planned.status().ToString();
  EXPECT_EQ(planned->at_commit[0].value, "2026-01-13 20:20:00+00");
  auto partitions = next->PlanPartitions(RunInstance{"dt", "2024-05-02"});
  ASSERT_TRUE(partitions.ok()) << partitions.status().ToString();
  ASSERT_EQ(partitions->size(), 1u);
  EXPECT_NE((*partitions)[0].description.find(
                "created in (2026-01-13 20:20:00+00, 2026-01-13 20:20:00+00]"),
            std::string::npos)
      << (*partitions)[0].description;

  MapWatermarks stuck(
      std::map<std::string, std::string>{{"postgres.pg.cursor", "infinity"}});
  auto refused = Make(yaml).ValueOrDie()->PlanRunState(kRun, &stuck);
  ASSERT_TRUE(refused.status().IsInvalid()) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find(
                "the committed watermark postgres.pg.cursor is 'infinity', which is not "
                "a finite value"),
            std::string::npos)
      << refused.status().ToString();

  auto error = Make("dsn: " + dsn +
                    "\ntable: fresh_events\nincremental: {cursor: created, on_skipped: "
                    "error}\n")
                   .ValueOrDie()
                   ->PlanRunState(kRun, nullptr);
  ASSERT_TRUE(error.status().IsInvalid()) << error.status().ToString();
  EXPECT_NE(error.status().message().find("(incremental.on_skipped: error)"),
            std::string::npos)
      << error.status().ToString();
}

void Register(const std::string& name, PostgresServerTest::Body body) {
  ::testing::RegisterTest(
      "PostgresServer", name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
      [body]() -> PostgresServerTest* { return new PostgresServerTest(body); });
}

[[maybe_unused]] const bool kServerTestsRegistered = [] {
  if (std::getenv("JETFLOW_TEST_POSTGRES_DSN") == nullptr) return false;
  const int64_t events = 503;
  const std::vector<std::tuple<std::string, std::string, int64_t>> cases = {
      {"All", "table: fresh_events\n", events},
      {"KeyRanges", "table: fresh_events\npartition_by: {column: id, partitions: 4}\n",
       events},
      {"RowsPerPartition",
       "table: fresh_events\npartition_by: {column: id, rows_per_partition: 150}\n",
       events},
      {"TimestampInterval",
       "table: fresh_events\npartition_by: {column: created, interval: 1d}\n", events},
      {"DateRanges",
       "table: fresh_events\npartition_by: {column: day, ranges: ['2026-01-10', "
       "'2026-01-30']}\n",
       events},
      {"Ctid", "table: fresh_events\npartition_by: {ctid: {pages_per_partition: 1}}\n",
       events},
      {"Native", "table: fresh_metrics\npartition_by: native\n", 701},
      // COPY refuses generated columns: read through a SELECT.
      {"GeneratedColumns", "table: fresh_generated\n", 300},
      // 2-D arrays of a view, planned from a sample by each consumer.
      {"TwoDimensionalArraysOfAView",
       "table: fresh_grids\npartition_by: {column: id, partitions: 3}\n", 300},
      // Dates back to 1260 BC, with BC bounds.
      {"BcDateRanges",
       "table: fresh_ancient\npartition_by: {column: day, partitions: 4}\n", 400},
      // Even ids: g even (250 rows) and the int64 minimum.
      {"QueryKeyRanges",
       "query: SELECT id, payload FROM fresh_events WHERE id % 2 = 0\n"
       "partition_by: {column: id, partitions: 3}\nreconcile_counts: true\n",
       251},
      // ids above 0: g * 7 - 500 > 0 for g >= 72 (429 rows), and the int64 maximum.
      {"IncrementalWindow",
       "table: fresh_events\nincremental: {cursor: id, initial: '0'}\n"
       "partition_by: {column: id, partitions: 2}\nsnapshot: false\n",
       430},
      // Every finite cursor value, -infinity included; not NULL or +infinity.
      {"IncrementalTimeWindow",
       "table: fresh_events\nincremental: {cursor: created}\n"
       "partition_by: {column: id, partitions: 3}\n",
       501},
  };
  Register("IncrementalWindowHoldsFiniteCursorsOnly",
           ExpectTheWindowHoldsFiniteCursorsOnly);
  for (const auto& [name, options, rows] : cases) {
    Register("FreshConsumerReads" + name,
             [options = options, rows = rows](const std::string& dsn) {
               ExpectFreshConsumerReadsTheSame(dsn, options, rows);
             });
  }
  return true;
}();

}  // namespace
}  // namespace jetflow::postgres
