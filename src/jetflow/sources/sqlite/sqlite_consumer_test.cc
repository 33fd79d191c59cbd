#include "jetflow/sources/sqlite/sqlite_consumer.h"

#include <arrow/api.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "jetflow/core/error.h"
#include "jetflow/sources/register_sources.h"
#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/stage_harness.h"

namespace jetflow {
namespace {

namespace fs = std::filesystem;

const RunInstance kRun{"dt", "2024-05-01"};

void ExpectContains(const arrow::Status& status, const std::vector<std::string>& parts) {
  EXPECT_FALSE(status.ok());
  for (const auto& part : parts) {
    EXPECT_NE(status.message().find(part), std::string::npos)
        << "missing '" << part << "' in: " << status.ToString();
  }
}

class SqliteConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "jetflow_sqlite_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    db_path_ = (dir_ / "test.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs SQL on the test database (created if needed).
  void Exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "") << "\n" << sql;
    sqlite3_free(error);
    sqlite3_close(db);
  }

  arrow::Result<std::unique_ptr<SqliteConsumer>> Make(const std::string& yaml,
                                                      Diagnostics* diagnostics,
                                                      int64_t batch_rows = 65536) {
    ConfigNode node = ConfigNode::Parse(yaml, "pipeline.yaml", diagnostics);
    ComponentContext context;
    context.base_dir = dir_;
    context.batch_rows = batch_rows;
    ARROW_ASSIGN_OR_RAISE(auto options, SqliteConsumer::ParseOptions(node, context));
    return SqliteConsumer::Make(std::move(options));
  }

  std::unique_ptr<SqliteConsumer> MustMake(const std::string& yaml) {
    Diagnostics diagnostics;
    auto consumer = Make(yaml, &diagnostics);
    EXPECT_TRUE(consumer.ok()) << consumer.status().ToString();
    return consumer.ok() ? std::move(*consumer) : nullptr;
  }

  // Reads one partition; returns its batches combined, or the first error.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> ReadPartition(
      Consumer& consumer, const PartitionSpec& partition, int64_t* batches = nullptr) {
    ARROW_ASSIGN_OR_RAISE(auto schema, consumer.InferSchema());
    ARROW_ASSIGN_OR_RAISE(
        auto reader,
        consumer.OpenPartition(jetflow::testing::TestPartitionContext(kRun, partition)));
    std::vector<std::shared_ptr<arrow::RecordBatch>> all;
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
      if (batch == nullptr) break;
      EXPECT_TRUE(batch->schema()->Equals(*schema));
      ARROW_RETURN_NOT_OK(batch->ValidateFull());
      all.push_back(batch);
    }
    if (batches != nullptr) *batches = static_cast<int64_t>(all.size());
    ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(schema, all));
    return table->CombineChunksToBatch();
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> ReadOnly(Consumer& consumer) {
    ARROW_ASSIGN_OR_RAISE(auto plan, consumer.PlanPartitions(kRun));
    EXPECT_EQ(plan.size(), 1u);
    return ReadPartition(consumer, plan.at(0));
  }

  fs::path dir_;
  std::string db_path_;
};

TEST_F(SqliteConsumerTest, MapsDeclaredTypesAndReadsValuesWithNulls) {
  Exec(R"sql(
CREATE TABLE t (id INTEGER PRIMARY KEY, i INT, r REAL, s VARCHAR(10), b BLOB, flag BOOLEAN,
                amount DECIMAL(10,2), d DATE, ts DATETIME, n NUMERIC, x);
INSERT INTO t VALUES (1, 42, 1.5, 'héllo', x'610062', 1, '12.30', '2024-02-29',
                      '2024-01-01 10:00:00', 7, 'free');
INSERT INTO t VALUES (2, -7, 2, 'b', x'', 'false', 100, '1970-01-01',
                      '2024-01-01T12:00:00.123456+02:00', 2.5, 3);
INSERT INTO t VALUES (3, 9223372036854775807, -0.25, '', 'txt', 0, 0.07, '2000-12-31',
                      1700000000, NULL, NULL);
INSERT INTO t (id) VALUES (4);
)sql");
  auto consumer = MustMake("path: test.db\ntable: t\n");
  ASSERT_NE(consumer, nullptr);
  auto schema = consumer->InferSchema().ValueOrDie();
  auto expected_schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("i", arrow::int64()),
       arrow::field("r", arrow::float64()), arrow::field("s", arrow::utf8()),
       arrow::field("b", arrow::binary()), arrow::field("flag", arrow::boolean()),
       arrow::field("amount", arrow::decimal128(10, 2)),
       arrow::field("d", arrow::date32()),
       arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
       arrow::field("n", arrow::float64()), arrow::field("x", arrow::utf8())});
  ASSERT_TRUE(schema->Equals(*expected_schema)) << schema->ToString();
  auto plan = consumer->PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].id, "all");
  EXPECT_EQ(plan[0].description, "all rows of table t");
  EXPECT_EQ(plan[0].expected_rows, 4);
  auto batch = ReadPartition(*consumer, plan[0]).ValueOrDie();
  auto expected = testing::BatchFromJson(schema, R"([
    {"id": 1, "i": 42, "r": 1.5, "s": "héllo", "b": "a\u0000b", "flag": true,
     "amount": "12.30", "d": 19782, "ts": 1704103200000000, "n": 7, "x": "free"},
    {"id": 2, "i": -7, "r": 2, "s": "b", "b": "", "flag": false, "amount": "100.00",
     "d": 0, "ts": 1704103200123456, "n": 2.5, "x": "3"},
    {"id": 3, "i": 9223372036854775807, "r": -0.25, "s": "", "b": "txt", "flag": false,
     "amount": "0.07", "d": 11322, "ts": 1700000000000000, "n": null, "x": null},
    {"id": 4, "i": null, "r": null, "s": null, "b": null, "flag": null, "amount": null,
     "d": null, "ts": null, "n": null, "x": null}
  ])")
                      .ValueOrDie();
  EXPECT_EQ(testing::DiffBatches(*expected, *batch), "");
}

TEST_F(SqliteConsumerTest, TypeForDeclaredType) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"INTEGER", "int64"},
      {"BIGINT", "int64"},
      {"UNSIGNED BIG INT", "int64"},
      {"VARCHAR(255)", "string"},
      {"NVARCHAR", "string"},
      {"CLOB", "string"},
      {"", "string"},
      {"BLOB", "binary"},
      {"DOUBLE PRECISION", "double"},
      {"FLOAT", "double"},
      {"BOOLEAN", "bool"},
      {"DECIMAL(18, 4)", "decimal128(18, 4)"},
      {"numeric(5)", "decimal128(5, 0)"},
      {"DECIMAL(50, 2)", "double"},  // wider than decimal128
      {"NUMERIC", "double"},
      {"DATE", "date32[day]"},
      {"DATETIME", "timestamp[us, tz=UTC]"},
      {"TIMESTAMP", "timestamp[us, tz=UTC]"},
      {"JSON", "string"}};
  for (const auto& [declared, arrow_type] : cases) {
    EXPECT_EQ(SqliteConsumer::TypeForDeclaredType(declared)->ToString(), arrow_type)
        << declared;
  }
}

TEST_F(SqliteConsumerTest, PartitionRangesCoverEveryRowOnce) {
  std::ostringstream sql;
  sql << "CREATE TABLE events (k INTEGER, v TEXT);\nBEGIN;\n";
  int64_t rows = 0;
  for (int i = -50; i < 1000; i += (i % 7 == 0 ? 5 : 1)) {
    sql << "INSERT INTO events VALUES (" << i << ", 'v" << i << "');\n";
    ++rows;
  }
  for (int i = 0; i < 3; ++i) {
    sql << "INSERT INTO events VALUES (NULL, 'null key');\n";
    ++rows;
  }
  sql << "COMMIT;\n";
  Exec(sql.str());
  Diagnostics diagnostics;
  auto made =
      Make("path: test.db\ntable: events\npartition_by: {column: k, partitions: 7}\n",
           &diagnostics, /*batch_rows=*/50);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  auto& consumer = **made;
  auto plan = consumer.PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 8u);
  EXPECT_EQ(plan.front().id, "k_m050_099");
  EXPECT_EQ(plan.front().description, "k in [-50, 99]");
  EXPECT_EQ(plan.front().expected_rows, 65);
  EXPECT_EQ(plan[6].description, "k in [850, 999]");
  EXPECT_EQ(plan[6].id, "k_850_999");
  EXPECT_EQ(plan.back().id, "k_null");
  EXPECT_EQ(plan.back().expected_rows, 3);
  int64_t expected_total = 0;
  int64_t previous_hi = -51;
  std::set<std::string> seen;
  int64_t read_total = 0;
  for (const auto& partition : plan) {
    expected_total += partition.expected_rows;
    int64_t batches = 0;
    auto batch = ReadPartition(consumer, partition, &batches).ValueOrDie();
    EXPECT_EQ(batch->num_rows(), partition.expected_rows) << partition.id;
    EXPECT_GE(batches, (batch->num_rows() + 49) / 50);
    read_total += batch->num_rows();
    auto v = std::static_pointer_cast<arrow::StringArray>(batch->GetColumnByName("v"));
    for (int64_t i = 0; i < v->length(); ++i) {
      if (partition.id != "k_null") {
        EXPECT_TRUE(seen.insert(std::string(v->GetView(i))).second) << "duplicate row";
      }
    }
    if (partition.id == "k_null") continue;
    // Contiguous: each range starts right after the previous one ends.
    auto bounds = partition.description.substr(std::string("k in [").size());
    const int64_t lo = std::stoll(bounds.substr(0, bounds.find(',')));
    const int64_t hi = std::stoll(bounds.substr(bounds.find(',') + 2));
    EXPECT_EQ(lo, previous_hi + 1);
    previous_hi = hi;
    // Rows come in key order.
    auto k = std::static_pointer_cast<arrow::Int64Array>(batch->GetColumnByName("k"));
    for (int64_t i = 1; i < k->length(); ++i) ASSERT_LT(k->Value(i - 1), k->Value(i));
  }
  EXPECT_EQ(previous_hi, 999);
  EXPECT_EQ(expected_total, rows);
  EXPECT_EQ(read_total, rows);
}

TEST_F(SqliteConsumerTest, FewerKeysThanPartitions) {
  Exec(
      "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (5, 'a'), "
      "(6, 'b');");
  auto consumer =
      MustMake("path: test.db\ntable: t\npartition_by: {column: id, partitions: 10}\n");
  auto plan = consumer->PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].id, "id_5_5");
  EXPECT_EQ(plan[1].id, "id_6_6");
  Exec("DELETE FROM t;");
  EXPECT_TRUE(consumer->PlanPartitions(kRun).ValueOrDie().empty());
}

// Partition ids are directory names in users' lakes and descriptions are part of a run's
// identity on resume: every spelling below is frozen, byte for byte.
TEST_F(SqliteConsumerTest, PartitionIdsAndDescriptionsArePinned) {
  Exec(R"sql(
CREATE TABLE t ("1st" INTEGER, "order-id.x" INTEGER, "é" INTEGER, k INTEGER, v TEXT);
INSERT INTO t VALUES (1, 1, NULL, -9223372036854775808, 'a');
INSERT INTO t VALUES (2, 2, NULL, 0, 'b');
INSERT INTO t VALUES (3, 3, NULL, 9223372036854775807, 'c');
INSERT INTO t VALUES (4, 4, NULL, NULL, 'd');
INSERT INTO t VALUES (10, 10, NULL, NULL, 'e');
)sql");
  using Plan = std::vector<std::tuple<std::string, std::string, int64_t>>;
  auto plan_of = [&](const std::string& column, int partitions) {
    auto consumer =
        MustMake("path: test.db\ntable: t\npartition_by: {column: \"" + column +
                 "\", partitions: " + std::to_string(partitions) + "}\n");
    Plan plan;
    for (const auto& p : consumer->PlanPartitions(kRun).ValueOrDie()) {
      plan.emplace_back(p.id, p.description, p.expected_rows);
    }
    return plan;
  };
  EXPECT_EQ(plan_of("k", 3),
            (Plan{{"k_m9223372036854775808_m3074457345618258604",
                   "k in [-9223372036854775808, -3074457345618258604]", 1},
                  {"k_m3074457345618258603_3074457345618258601",
                   "k in [-3074457345618258603, 3074457345618258601]", 1},
                  {"k_3074457345618258602_9223372036854775807",
                   "k in [3074457345618258602, 9223372036854775807]", 1},
                  {"k_null", "k is null", 2}}));
  EXPECT_EQ(plan_of("1st", 4), (Plan{{"k1st_01_02", "1st in [1, 2]", 2},
                                     {"k1st_03_05", "1st in [3, 5]", 2},
                                     {"k1st_06_07", "1st in [6, 7]", 0},
                                     {"k1st_08_10", "1st in [8, 10]", 1}}));
  EXPECT_EQ(plan_of("order-id.x", 2),
            (Plan{{"order_id_x_01_05", "order-id.x in [1, 5]", 4},
                  {"order_id_x_06_10", "order-id.x in [6, 10]", 1}}));
  EXPECT_EQ(plan_of("é", 2), (Plan{{"k___null", "é is null", 5}}));
  // The extreme keys are read back from their ranges.
  auto consumer =
      MustMake("path: test.db\ntable: t\npartition_by: {column: k, partitions: 3}\n");
  std::vector<std::string> values;
  for (const auto& partition : consumer->PlanPartitions(kRun).ValueOrDie()) {
    auto batch = ReadPartition(*consumer, partition).ValueOrDie();
    auto v = std::static_pointer_cast<arrow::StringArray>(batch->GetColumnByName("v"));
    std::string joined;
    for (int64_t i = 0; i < v->length(); ++i) joined += std::string(v->GetView(i));
    values.push_back(partition.id + ":" + joined);
  }
  EXPECT_EQ(values, (std::vector<std::string>{
                        "k_m9223372036854775808_m3074457345618258604:a",
                        "k_m3074457345618258603_3074457345618258601:b",
                        "k_3074457345618258602_9223372036854775807:c", "k_null:de"}));
}

// Everything OpenPartition needs is in the partition's split: a consumer that never
// planned reads exactly what the planning one reads.
TEST_F(SqliteConsumerTest, OpensAPartitionItNeverPlanned) {
  Exec(R"sql(
CREATE TABLE t (k INTEGER, v TEXT);
INSERT INTO t VALUES (-9223372036854775808, 'a'), (-5, 'b'), (0, 'c'), (7, 'd'),
                     (9223372036854775807, 'e'), (NULL, 'f'), (NULL, 'g');
)sql");
  for (const std::string partition_by :
       {"", "partition_by: {column: k, partitions: 3}\n"}) {
    const std::string yaml = "path: test.db\ntable: t\n" + partition_by;
    auto planner = MustMake(yaml);
    auto plan = planner->PlanPartitions(kRun).ValueOrDie();
    ASSERT_EQ(plan.size(), partition_by.empty() ? 1u : 4u);
    int64_t total = 0;
    for (const auto& partition : plan) {
      auto fresh = MustMake(yaml);
      PartitionSpec record{partition.id, partition.description, partition.expected_rows,
                           partition.split};
      auto expected = ReadPartition(*planner, record).ValueOrDie();
      auto got = ReadPartition(*fresh, record).ValueOrDie();
      EXPECT_EQ(testing::DiffBatches(*expected, *got), "") << partition.id;
      EXPECT_EQ(got->num_rows(), partition.expected_rows) << partition.id;
      total += got->num_rows();
    }
    EXPECT_EQ(total, 7);
  }
  auto planner =
      MustMake("path: test.db\ntable: t\npartition_by: {column: k, partitions: 3}\n");
  auto plan = planner->PlanPartitions(kRun).ValueOrDie();
  EXPECT_EQ(plan[0].split,
            R"({"hi":"-3074457345618258604","kind":"key","lo":"-9223372036854775808"})");
  EXPECT_EQ(plan[3].split, R"({"kind":"key","null":true})");
}

TEST_F(SqliteConsumerTest, MalformedSplitIsInvalidNamingThePartition) {
  Exec("CREATE TABLE t (k INTEGER, v TEXT); INSERT INTO t VALUES (1, 'a');");
  auto keyed =
      MustMake("path: test.db\ntable: t\npartition_by: {column: k, partitions: 2}\n");
  auto all = MustMake("path: test.db\ntable: t\n");
  struct Case {
    SqliteConsumer* consumer;
    std::string split;
    std::string why;
  };
  for (const Case& c : std::vector<Case>{
           {keyed.get(), "", "the split is empty"},
           {keyed.get(), R"({"kind": "key", "lo": "1"})", "needs 'lo' and 'hi'"},
           {keyed.get(), R"({"kind": "key", "lo": "1", "hi": "9223372036854775808"})",
            "within 64-bit integers"},
           {keyed.get(), R"({"kind": "all"})", "the consumer has a partition_by"},
           {keyed.get(), R"({"kind": "rows"})", "unknown kind 'rows'"},
           {all.get(), R"({"kind": "key", "lo": "1", "hi": "2"})",
            "the consumer has no partition_by"}}) {
    PartitionSpec partition{"k_1_2", "k in [1, 2]", -1, c.split};
    ExpectContains(ReadPartition(*c.consumer, partition).status(),
                   {"malformed split of sqlite partition 'k_1_2': ", c.why});
  }
}

TEST_F(SqliteConsumerTest, BadValueNamesTableColumnKeyAndValue) {
  Exec(R"sql(
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, amount DECIMAL(10,2));
INSERT INTO orders VALUES (1, 10, '1.50'), (17, 'abc', '2.00'), (18, 3, '12.345');
)sql");
  auto by_key = MustMake(
      "path: test.db\ntable: orders\npartition_by: {column: id, partitions: 1}\n");
  auto plan = by_key->PlanPartitions(kRun).ValueOrDie();
  auto status = ReadPartition(*by_key, plan[0]).status();
  EXPECT_TRUE(status.IsInvalid()) << status.ToString();
  ExpectContains(status,
                 {"SQLite value does not fit its column type: not an integer",
                  "table orders", "column 'customer_id'", "id = 17", "TEXT 'abc'"});

  // Without a key, the rowid names the row.
  auto all = MustMake("path: test.db\ntable: orders\n");
  ExpectContains(ReadOnly(*all).status(),
                 {"column 'customer_id'", "rowid 17", "TEXT 'abc'"});

  // A decimal with more fractional digits than its scale is not rounded.
  Exec("UPDATE orders SET customer_id = 1 WHERE id = 17;");
  ExpectContains(ReadOnly(*all).status(), {"has more than 2 fractional digits",
                                           "column 'amount'", "rowid 18", "REAL 12.345"});
}

TEST_F(SqliteConsumerTest, StrictConversions) {
  Exec(R"sql(
CREATE TABLE t (id INTEGER PRIMARY KEY, d DATE, ts TIMESTAMP, flag BOOLEAN, small TEXT);
INSERT INTO t VALUES (1, '2024-13-01', NULL, NULL, NULL);
INSERT INTO t VALUES (2, NULL, '2024-01-01 25:00', NULL, NULL);
INSERT INTO t VALUES (3, NULL, NULL, 2, NULL);
INSERT INTO t VALUES (4, NULL, NULL, NULL, '70000');
)sql");
  struct Case {
    int id;
    std::string columns;
    std::string message;
  };
  for (const Case& c :
       std::vector<Case>{{1, "", "not a date 'YYYY-MM-DD'"},
                         {2, "", "not an ISO-8601 timestamp"},
                         {3, "", "not a boolean"},
                         {4, "columns: {small: int16}\n", "out of range for int16"}}) {
    auto consumer = MustMake("path: test.db\nquery: SELECT * FROM t WHERE id = " +
                             std::to_string(c.id) + "\n" + c.columns);
    ASSERT_NE(consumer, nullptr);
    ExpectContains(ReadOnly(*consumer).status(), {c.message, "row 1 of the partition"});
  }
}

TEST_F(SqliteConsumerTest, QueryWithOverridesAndExpressions) {
  Exec(R"sql(
CREATE TABLE t (id INTEGER PRIMARY KEY, price TEXT, at TEXT);
INSERT INTO t VALUES (1, '19.99', '2024-03-01T08:00:00Z'), (2, NULL, NULL);
)sql");
  auto consumer = MustMake(R"yaml(
path: test.db
query: SELECT id, price, at, id * 2 AS twice, upper('x') AS up FROM t
columns: {price: "decimal(8,2)", at: "timestamp[ms, UTC]", twice: int32}
)yaml");
  ASSERT_NE(consumer, nullptr);
  auto schema = consumer->InferSchema().ValueOrDie();
  auto expected_schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("price", arrow::decimal128(8, 2)),
       arrow::field("at", arrow::timestamp(arrow::TimeUnit::MILLI, "UTC")),
       arrow::field("twice", arrow::int32()), arrow::field("up", arrow::utf8())});
  ASSERT_TRUE(schema->Equals(*expected_schema)) << schema->ToString();
  auto plan = consumer->PlanPartitions(kRun).ValueOrDie();
  EXPECT_EQ(plan[0].description, "all rows of the query");
  auto batch = ReadPartition(*consumer, plan[0]).ValueOrDie();
  auto expected = testing::BatchFromJson(schema, R"([
    {"id": 1, "price": "19.99", "at": 1709280000000, "twice": 2, "up": "X"},
    {"id": 2, "price": null, "at": null, "twice": 4, "up": "X"}])")
                      .ValueOrDie();
  EXPECT_EQ(testing::DiffBatches(*expected, *batch), "");
}

TEST_F(SqliteConsumerTest, MissingFileIsIOErrorAndNotCreated) {
  auto consumer = MustMake("path: missing.db\ntable: t\n");
  auto status = consumer->InferSchema().status();
  EXPECT_TRUE(status.IsIOError()) << status.ToString();
  ExpectContains(status,
                 {"SQLite database file not found", (dir_ / "missing.db").string()});
  EXPECT_TRUE(consumer->PlanPartitions(kRun).status().IsIOError());
  EXPECT_FALSE(fs::exists(dir_ / "missing.db"));
}

TEST_F(SqliteConsumerTest, PlanTimeErrors) {
  Exec(
      "CREATE TABLE t (id INTEGER PRIMARY KEY, k, v TEXT); INSERT INTO t VALUES (1, 'x', "
      "'a');");
  auto missing_table = MustMake("path: test.db\ntable: nope\n");
  auto status = missing_table->InferSchema().status();
  EXPECT_TRUE(status.IsInvalid()) << status.ToString();
  ExpectContains(status, {"no such table: nope", "table nope"});

  auto missing_column =
      MustMake("path: test.db\ntable: t\npartition_by: {column: kk, partitions: 2}\n");
  ExpectContains(missing_column->PlanPartitions(kRun).status(),
                 {"partition_by column does not exist: 'kk'", "table t"});

  auto missing_override = MustMake("path: test.db\ntable: t\ncolumns: {w: int32}\n");
  ExpectContains(missing_override->InferSchema().status(),
                 {"overrides a column that does not exist: 'w'"});

  auto text_key =
      MustMake("path: test.db\ntable: t\npartition_by: {column: k, partitions: 2}\n");
  ExpectContains(text_key->PlanPartitions(kRun).status(),
                 {"partition_by column must hold integers", "TEXT 'x'", "column 'k'"});

  auto duplicate = MustMake("path: test.db\nquery: SELECT v, v FROM t\n");
  ExpectContains(duplicate->InferSchema().status(), {"duplicate column name 'v'"});

  Exec("CREATE VIEW w AS SELECT id, v FROM t;");
  auto view = MustMake("path: test.db\ntable: w\n");
  EXPECT_EQ(ReadOnly(*view).ValueOrDie()->num_rows(), 1);

  PartitionSpec bogus{"id_1_2", "", -1, ""};
  EXPECT_TRUE(view->OpenPartition(jetflow::testing::TestPartitionContext(kRun, bogus))
                  .status()
                  .IsInvalid());
}

TEST_F(SqliteConsumerTest, ReportsEveryOptionErrorWithLocation) {
  Diagnostics diagnostics;
  auto result = Make(R"yaml(path: x.db
table: t
query: SELECT 1
columns: {a: int33, b: "list<int32>", c: uint32}
partition_by: {colum: id}
tabel: x
)yaml",
                     &diagnostics);
  ExpectContains(
      result.status(),
      {"use either 'table' or 'query', not both", "unknown type 'int33'",
       "the sqlite source cannot produce uint32",
       "missing required key 'column' in 'partition_by'",
       "missing required key 'partitions'",
       "unknown key 'colum' in 'partition_by' (did you mean 'column'?)",
       "pipeline.yaml:6:1: error: unknown key 'tabel' (did you mean 'table'?)"});
  Diagnostics more;
  ExpectContains(Make("path: x.db\n", &more).status(),
                 {"one of 'table' or 'query' is required"});
}

TEST_F(SqliteConsumerTest, QuickstartScriptBuildsTheOrdersTable) {
  const char* source_dir = std::getenv("JETFLOW_SOURCE_DIR");
  // ctest sets JETFLOW_SOURCE_DIR; otherwise this file is src/jetflow/sources/sqlite/.
  const fs::path root = source_dir != nullptr
                            ? fs::path(source_dir)
                            : fs::path(__FILE__).parent_path() / "../../../..";
  const fs::path script = root / "examples/quickstart/shop.sql";
  std::ifstream in(script);
  ASSERT_TRUE(in.good()) << script;
  std::stringstream text;
  text << in.rdbuf();
  Exec(text.str());
  auto consumer = MustMake(
      "path: test.db\ntable: orders\npartition_by: {column: id, partitions: 4}\n");
  auto schema = consumer->InferSchema().ValueOrDie();
  EXPECT_EQ(schema->ToString(),
            "id: int64\ncustomer_id: int64\namount: decimal128(12, 2)\nstatus: string\n"
            "ordered_at: timestamp[us, tz=UTC]\nnote: string");
  auto plan = consumer->PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 4u);
  EXPECT_EQ(plan[0].id, "id_000001_050000");
  int64_t total = 0;
  for (const auto& partition : plan) {
    auto batch = ReadPartition(*consumer, partition).ValueOrDie();
    EXPECT_EQ(batch->num_rows(), partition.expected_rows);
    total += batch->num_rows();
  }
  EXPECT_EQ(total, 200000);
}

TEST_F(SqliteConsumerTest, Registers) {
  Exec("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1);");
  ComponentRegistry registry;
  RegisterSqliteConsumer(registry);
  ASSERT_NE(registry.FindConsumer("sqlite"), nullptr);
  Diagnostics diagnostics;
  ComponentContext context;
  context.base_dir = dir_;
  auto consumer = (*registry.FindConsumer("sqlite"))(
      ConfigNode::Parse("path: test.db\ntable: t\n", "p.yaml", &diagnostics), context);
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  EXPECT_EQ(ReadOnly(**consumer).ValueOrDie()->num_rows(), 1);
}

}  // namespace
}  // namespace jetflow
