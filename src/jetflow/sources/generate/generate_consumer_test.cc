#include "jetflow/sources/generate/generate_consumer.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

#include "jetflow/core/recycling_memory_pool.h"
#include "jetflow/sources/register_sources.h"
#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/stage_harness.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

const RunInstance kRun{"dt", "2024-05-01"};

arrow::Result<std::unique_ptr<GenerateConsumer>> FromYaml(const std::string& yaml,
                                                          Diagnostics* diagnostics,
                                                          int64_t batch_rows = 65536) {
  ConfigNode node = ConfigNode::Parse(yaml, "pipeline.yaml", diagnostics);
  ComponentContext context;
  context.batch_rows = batch_rows;
  ARROW_ASSIGN_OR_RAISE(auto options, GenerateConsumer::ParseOptions(node, context));
  return GenerateConsumer::Make(std::move(options));
}

std::unique_ptr<GenerateConsumer> MustMake(const std::string& yaml,
                                           int64_t batch_rows = 65536) {
  Diagnostics diagnostics;
  auto consumer = FromYaml(yaml, &diagnostics, batch_rows);
  EXPECT_TRUE(consumer.ok()) << consumer.status().ToString();
  return consumer.ok() ? std::move(*consumer) : nullptr;
}

// All partitions' batches, in plan order, as one table with one chunk.
std::shared_ptr<arrow::Table> ReadAll(Consumer& consumer, const RunInstance& run = kRun,
                                      int64_t* batches = nullptr) {
  auto schema = consumer.InferSchema().ValueOrDie();
  auto plan = consumer.PlanPartitions(run).ValueOrDie();
  std::vector<std::shared_ptr<arrow::RecordBatch>> all;
  for (const auto& partition : plan) {
    auto reader =
        consumer.OpenPartition(jetflow::testing::TestPartitionContext(run, partition))
            .ValueOrDie();
    int64_t rows = 0;
    while (true) {
      auto batch = reader->Next().ValueOrDie();
      if (batch == nullptr) break;
      EXPECT_TRUE(batch->schema()->Equals(*schema));
      JETFLOW_EXPECT_OK(batch->ValidateFull());
      rows += batch->num_rows();
      all.push_back(batch);
    }
    EXPECT_EQ(rows, partition.expected_rows) << partition.id;
  }
  if (batches != nullptr) *batches = static_cast<int64_t>(all.size());
  auto table = arrow::Table::FromRecordBatches(schema, all).ValueOrDie();
  return table->CombineChunks().ValueOrDie();
}

double NullFraction(const arrow::Table& table, const std::string& column) {
  return static_cast<double>(table.GetColumnByName(column)->null_count()) /
         static_cast<double>(table.num_rows());
}

TEST(GenerateConsumerTest, Mixed10Schema) {
  auto consumer = MustMake("rows: 10\n");
  ASSERT_NE(consumer, nullptr);
  auto schema = consumer->InferSchema().ValueOrDie();
  auto expected = arrow::schema({
      arrow::field("id", arrow::int64(), false),
      arrow::field("account_id", arrow::int32(), false),
      arrow::field("amount", arrow::decimal128(18, 4), false),
      arrow::field("price", arrow::float64(), false),
      arrow::field("created_at", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), false),
      arrow::field("name", arrow::utf8(), false),
      arrow::field("country", arrow::utf8(), false),
      arrow::field("is_active", arrow::boolean(), false),
      arrow::field("score", arrow::float64(), true),
      arrow::field("comment", arrow::utf8(), true),
  });
  EXPECT_TRUE(schema->Equals(*expected)) << schema->ToString();
}

TEST(GenerateConsumerTest, PlanSplitsRowsEvenly) {
  auto consumer = MustMake("rows: 10\npartitions: 3\n");
  auto plan = consumer->PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].id, "p00000");
  EXPECT_EQ(plan[0].description, "rows [0, 3)");
  EXPECT_EQ(plan[0].expected_rows, 3);
  EXPECT_EQ(plan[1].description, "rows [3, 6)");
  EXPECT_EQ(plan[2].id, "p00002");
  EXPECT_EQ(plan[2].description, "rows [6, 10)");
  EXPECT_EQ(plan[2].expected_rows, 4);
  // Ids stay sortable beyond five digits.
  auto many = MustMake("rows: 10\npartitions: 123456\n");
  auto big = many->PlanPartitions(kRun).ValueOrDie();
  EXPECT_EQ(big.front().id, "p000000");
  EXPECT_EQ(big.back().id, "p123455");
}

TEST(GenerateConsumerTest, SameValuesWhateverBatchSizeAndPartitions) {
  auto one = MustMake("rows: 20000\n", /*batch_rows=*/65536);
  auto many = MustMake("rows: 20000\npartitions: 7\nbatch_rows: 333\n");
  int64_t batches_one = 0, batches_many = 0;
  auto a = ReadAll(*one, kRun, &batches_one);
  auto b = ReadAll(*many, kRun, &batches_many);
  EXPECT_EQ(batches_one, 1);
  EXPECT_GT(batches_many, 60);
  ASSERT_EQ(a->num_rows(), 20000);
  EXPECT_TRUE(a->Equals(*b));
  for (int i = 0; i < a->num_columns(); ++i) {
    EXPECT_TRUE(a->column(i)->Equals(b->column(i))) << a->field(i)->name();
  }
}

TEST(GenerateConsumerTest, AllocatesBatchesFromTheContextsPoolWhichRecyclesThem) {
  auto consumer = MustMake("rows: 400000\n", /*batch_rows=*/65536);
  // Which makes the engine hand it the recycling batch pool.
  auto expected = ReadAll(*consumer);  // from the default pool
  auto plan = consumer->PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 1u);
  RecyclingMemoryPool pool(arrow::default_memory_pool(), 64 << 20, 64 << 10);
  auto context = jetflow::testing::TestPartitionContext(kRun, plan[0]);
  context.memory_pool = &pool;
  auto reader = consumer->OpenPartition(context).ValueOrDie();
  int64_t offset = 0;
  for (auto batch = reader->Next().ValueOrDie(); batch != nullptr;
       batch = reader->Next().ValueOrDie()) {
    EXPECT_GT(pool.bytes_allocated(), 0);
    auto same_rows =
        expected->Slice(offset, batch->num_rows())->CombineChunksToBatch().ValueOrDie();
    EXPECT_TRUE(batch->Equals(*same_rows)) << "rows from " << offset;
    offset += batch->num_rows();
    // Dropped here, as by a loader done with it: its 512 KiB value buffers go back to
    // the pool, and the next batch's come from there.
  }
  EXPECT_EQ(offset, 400000);
  EXPECT_GT(pool.reused_blocks(), 0);
}

TEST(GenerateConsumerTest, SeedChangesValuesButNotIds) {
  auto a = ReadAll(*MustMake("rows: 1000\n"));
  auto b = ReadAll(*MustMake("rows: 1000\nseed: 7\n"));
  EXPECT_TRUE(a->GetColumnByName("id")->Equals(b->GetColumnByName("id")));
  EXPECT_FALSE(a->GetColumnByName("name")->Equals(b->GetColumnByName("name")));
  EXPECT_FALSE(a->GetColumnByName("amount")->Equals(b->GetColumnByName("amount")));
}

TEST(GenerateConsumerTest, Mixed10ValuesAreInRange) {
  auto table = ReadAll(*MustMake("rows: 100000\npartitions: 3\n"));
  ASSERT_EQ(table->num_rows(), 100000);
  EXPECT_NEAR(NullFraction(*table, "score"), 0.1, 0.01);
  EXPECT_NEAR(NullFraction(*table, "comment"), 0.3, 0.01);
  EXPECT_EQ(table->GetColumnByName("name")->null_count(), 0);

  auto ids =
      std::static_pointer_cast<arrow::Int64Array>(table->GetColumnByName("id")->chunk(0));
  for (int64_t i = 0; i < ids->length(); ++i) ASSERT_EQ(ids->Value(i), i);

  auto accounts = std::static_pointer_cast<arrow::Int32Array>(
      table->GetColumnByName("account_id")->chunk(0));
  auto amounts = std::static_pointer_cast<arrow::Decimal128Array>(
      table->GetColumnByName("amount")->chunk(0));
  auto created = std::static_pointer_cast<arrow::TimestampArray>(
      table->GetColumnByName("created_at")->chunk(0));
  auto names = std::static_pointer_cast<arrow::StringArray>(
      table->GetColumnByName("name")->chunk(0));
  auto countries = std::static_pointer_cast<arrow::StringArray>(
      table->GetColumnByName("country")->chunk(0));
  auto comments = std::static_pointer_cast<arrow::StringArray>(
      table->GetColumnByName("comment")->chunk(0));
  auto active = std::static_pointer_cast<arrow::BooleanArray>(
      table->GetColumnByName("is_active")->chunk(0));
  const int64_t day_start = int64_t{19844} * 86400 * 1000000;  // 2024-05-01
  std::set<std::string> distinct_countries;
  int64_t true_count = 0;
  for (int64_t i = 0; i < table->num_rows(); ++i) {
    ASSERT_GE(accounts->Value(i), 1);
    ASSERT_LE(accounts->Value(i), 100000);
    arrow::Decimal128 amount(amounts->GetValue(i));
    ASSERT_GE(amount, arrow::Decimal128(100));
    ASSERT_LE(amount, arrow::Decimal128(100000000));
    ASSERT_GE(created->Value(i), day_start);
    ASSERT_LT(created->Value(i), day_start + int64_t{86400} * 1000000);
    std::string_view name = names->GetView(i);
    ASSERT_GE(name.size(), 8u);
    ASSERT_LE(name.size(), 24u);
    for (char c : name) ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << name;
    distinct_countries.insert(std::string(countries->GetView(i)));
    if (comments->IsValid(i)) {
      std::string_view comment = comments->GetView(i);
      ASSERT_GE(comment.size(), 10u);
      ASSERT_LE(comment.size(), 40u);
      for (char c : comment) ASSERT_TRUE(c == ' ' || (c >= 'a' && c <= 'z')) << comment;
    } else {
      ASSERT_EQ(comments->value_length(i), 0);
    }
    true_count += active->Value(i) ? 1 : 0;
  }
  EXPECT_EQ(distinct_countries.size(), 50u);
  EXPECT_NEAR(static_cast<double>(true_count) / 100000.0, 0.5, 0.01);
}

TEST(GenerateConsumerTest, TimestampsFollowTheRunDay) {
  auto consumer = MustMake("rows: 100\n");
  auto table = ReadAll(*consumer, RunInstance{"dt", "2030-01-02"});
  auto created = std::static_pointer_cast<arrow::TimestampArray>(
      table->GetColumnByName("created_at")->chunk(0));
  const int64_t day_start = int64_t{21916} * 86400 * 1000000;  // 2030-01-02
  for (int64_t i = 0; i < created->length(); ++i) {
    ASSERT_GE(created->Value(i), day_start);
    ASSERT_LT(created->Value(i), day_start + int64_t{86400} * 1000000);
  }
  // A run value that is not a date uses 2024-01-01.
  auto other = ReadAll(*consumer, RunInstance{"batch", "42"});
  auto ts = std::static_pointer_cast<arrow::TimestampArray>(
      other->GetColumnByName("created_at")->chunk(0));
  EXPECT_GE(ts->Value(0), int64_t{19723} * 86400 * 1000000);
}

TEST(GenerateConsumerTest, CustomColumns) {
  auto consumer = MustMake(R"yaml(
rows: 5
partitions: 2
columns:
  - {name: n, type: int32, sequence: true, min: 10}
  - {name: code, type: string, values: [a, bb, ccc]}
  - {name: price, type: "decimal(10,2)", min: "1.50", max: "1.50"}
  - {name: day, type: date, min: "2024-02-29", max: "2024-02-29"}
  - {name: at, type: timestamp, min: "2024-01-01T00:00:00Z", max: "2024-01-01T00:00:00.000001Z"}
  - {name: gone, type: float64, null_fraction: 1}
)yaml");
  ASSERT_NE(consumer, nullptr);
  auto table = ReadAll(*consumer);
  auto schema = consumer->InferSchema().ValueOrDie();
  auto batch = table->CombineChunksToBatch().ValueOrDie();
  // Only `code` depends on the hash; read it back to build the expectation.
  auto codes =
      std::static_pointer_cast<arrow::StringArray>(batch->GetColumnByName("code"));
  std::string json = "[";
  for (int i = 0; i < 5; ++i) {
    json += std::string(i ? "," : "") + R"({"n": )" + std::to_string(10 + i) +
            R"(, "code": ")" + std::string(codes->GetView(i)) +
            R"(", "price": "1.50", "day": 19782, "at": 1704067200000000, "gone": null})";
  }
  json += "]";
  auto expected = testing::BatchFromJson(schema, json).ValueOrDie();
  EXPECT_EQ(testing::DiffBatches(*expected, *batch), "");
  for (int i = 0; i < 5; ++i) {
    std::string code(codes->GetView(i));
    EXPECT_TRUE(code == "a" || code == "bb" || code == "ccc") << code;
  }
}

// Lengths at the edges of the one-pass fill (0, 1, 32, 33, 64, 65 characters): exactly
// the lengths asked for, in the charset (and under ASan, no write past a buffer).
TEST(GenerateConsumerTest, StringLengthsAtTheEdges) {
  auto table = ReadAll(*MustMake(R"yaml(
rows: 3000
columns:
  - {name: empty, type: string, min_length: 0, max_length: 0}
  - {name: one, type: string, min_length: 1, max_length: 1, null_fraction: 0.5}
  - {name: s32, type: string, min_length: 32, max_length: 32, charset: text}
  - {name: s33, type: string, min_length: 33, max_length: 33}
  - {name: s64, type: string, min_length: 0, max_length: 64, null_fraction: 0.2}
  - {name: s65, type: string, min_length: 65, max_length: 65, charset: text}
)yaml",
                                 /*batch_rows=*/777));
  const std::vector<std::pair<std::string, std::pair<int, int>>> lengths = {
      {"empty", {0, 0}}, {"one", {1, 1}},  {"s32", {32, 32}},
      {"s33", {33, 33}}, {"s64", {0, 64}}, {"s65", {65, 65}}};
  for (const auto& [name, range] : lengths) {
    auto column = std::static_pointer_cast<arrow::StringArray>(
        table->GetColumnByName(name)->chunk(0));
    for (int64_t i = 0; i < column->length(); ++i) {
      if (column->IsNull(i)) continue;
      const std::string_view value = column->GetView(i);
      ASSERT_GE(static_cast<int>(value.size()), range.first) << name << " row " << i;
      ASSERT_LE(static_cast<int>(value.size()), range.second) << name << " row " << i;
      for (char c : value) {
        ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == ' ')
            << name << " row " << i;
      }
    }
  }
}

TEST(GenerateConsumerTest, LowCardinalityStrings) {
  auto table = ReadAll(*MustMake(R"(
rows: 5000
columns:
  - {name: s, type: string, cardinality: 7, min_length: 3, max_length: 5, null_fraction: 0.5}
  - {name: words, type: string, charset: text, min_length: 100, max_length: 200}
)"));
  auto s = std::static_pointer_cast<arrow::StringArray>(table->column(0)->chunk(0));
  std::set<std::string> distinct;
  for (int64_t i = 0; i < s->length(); ++i) {
    if (s->IsNull(i)) continue;
    distinct.insert(std::string(s->GetView(i)));
    ASSERT_GE(s->GetView(i).size(), 3u);
    ASSERT_LE(s->GetView(i).size(), 5u);
  }
  EXPECT_EQ(distinct.size(), 7u);
  EXPECT_NEAR(NullFraction(*table, "s"), 0.5, 0.03);
  auto words = std::static_pointer_cast<arrow::StringArray>(table->column(1)->chunk(0));
  for (int64_t i = 0; i < words->length(); ++i) {
    ASSERT_GE(words->GetView(i).size(), 100u);
    ASSERT_LE(words->GetView(i).size(), 200u);
  }
}

TEST(GenerateConsumerTest, ReportsEveryOptionErrorWithLocation) {
  Diagnostics diagnostics;
  auto result = FromYaml(R"(partitons: 2
seed: x
columns:
  - {name: a, type: int33}
  - {name: b, type: string, null_fraction: 2, min: 1}
  - {name: c, type: int64, sequence: true, max: 3, lenght: 1}
  - {name: a, type: bool, cardinality: 3}
)",
                         &diagnostics);
  ASSERT_TRUE(result.status().IsInvalid());
  const std::string& m = result.status().message();
  for (const char* expected :
       {"pipeline.yaml:1:1: error: unknown key 'partitons' (did you mean 'partitions'?)",
        "missing required key 'rows'",
        "pipeline.yaml:2:7: error: 'seed' must be an integer", "unknown type 'int33'",
        "'columns[1].null_fraction' must be between 0 and 1",
        "'min' applies only to number, date and timestamp columns",
        "max cannot be combined with sequence", "unknown key 'lenght'",
        "'cardinality' applies only to string columns", "duplicate column name 'a'"}) {
    EXPECT_NE(m.find(expected), std::string::npos) << "missing: " << expected << "\n"
                                                   << m;
  }
}

// Everything OpenPartition needs is in the partition's split: a consumer that never
// planned reads exactly what the planning one reads.
TEST(GenerateConsumerTest, OpensAPartitionItNeverPlanned) {
  const std::string yaml = "rows: 1000\npartitions: 3\n";
  auto planner = MustMake(yaml, /*batch_rows=*/128);
  auto plan = planner->PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[1].id, "p00001");
  EXPECT_EQ(plan[1].description, "rows [333, 666)");
  EXPECT_EQ(plan[1].split, R"({"end":666,"first":333})");
  for (const auto& partition : plan) {
    auto fresh = MustMake(yaml, /*batch_rows=*/128);
    PartitionSpec record{partition.id, partition.description, partition.expected_rows,
                         partition.split};
    auto read = [&](Consumer& consumer) {
      auto reader =
          consumer.OpenPartition(jetflow::testing::TestPartitionContext(kRun, record))
              .ValueOrDie();
      std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
      while (auto batch = reader->Next().ValueOrDie()) batches.push_back(batch);
      return arrow::Table::FromRecordBatches(consumer.InferSchema().ValueOrDie(), batches)
          .ValueOrDie();
    };
    auto expected = read(*planner);
    auto got = read(*fresh);
    EXPECT_EQ(got->num_rows(), partition.expected_rows);
    EXPECT_TRUE(got->Equals(*expected)) << partition.id;
  }
}

TEST(GenerateConsumerTest, RejectsMalformedSplitsAndRegisters) {
  auto consumer = MustMake("rows: 10\npartitions: 2\n");
  for (const auto& [split, why] : std::vector<std::pair<std::string, std::string>>{
           {"", "the split is empty"},
           {"p00002", "not a JSON object"},
           {R"({"first": 10})", "'end' is missing"},
           {R"({"first": 10, "end": 20})", "rows [10, 20) are not within the 10 rows"},
           {R"({"first": 5, "end": 4})", "rows [5, 4) are not within"}}) {
    PartitionSpec bogus{"p00002", "rows [10, 20)", 10, split};
    auto status =
        consumer->OpenPartition(jetflow::testing::TestPartitionContext(kRun, bogus))
            .status();
    EXPECT_TRUE(status.IsInvalid()) << split;
    EXPECT_NE(
        status.message().find("malformed split of generate partition 'p00002': " + why),
        std::string::npos)
        << status.ToString();
  }

  ComponentRegistry registry;
  RegisterGenerateConsumer(registry);
  const ConsumerFactory* factory = registry.FindConsumer("generate");
  ASSERT_NE(factory, nullptr);
  Diagnostics diagnostics;
  auto made = (*factory)(ConfigNode::Parse("rows: 3\n", "p.yaml", &diagnostics), {});
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(ReadAll(**made)->num_rows(), 3);
}

TEST(GenerateConsumerTest, ZeroRows) {
  auto table = ReadAll(*MustMake("rows: 0\npartitions: 2\n"));
  EXPECT_EQ(table->num_rows(), 0);
}

}  // namespace
}  // namespace jetflow
