#include "jetflow/sources/file/file_consumer.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/io/api.h>
#include <arrow/util/compression.h>
#include <gtest/gtest.h>
#include <parquet/arrow/writer.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "jetflow/sources/register_sources.h"
#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/stage_harness.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

namespace fs = std::filesystem;

const RunInstance kRun{"dt", "2024-05-01"};

class FileConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "jetflow_file_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

  void WriteParquet(const std::string& name, const std::shared_ptr<arrow::Schema>& schema,
                    const std::string& json, int64_t row_group_rows = 1024) {
    auto batch = testing::BatchFromJson(schema, json).ValueOrDie();
    auto table = arrow::Table::FromRecordBatches({batch}).ValueOrDie();
    auto out = arrow::io::FileOutputStream::Open((dir_ / name).string()).ValueOrDie();
    JETFLOW_ASSERT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(),
                                                 out, row_group_rows));
    JETFLOW_ASSERT_OK(out->Close());
  }

  arrow::Result<std::unique_ptr<FileConsumer>> Make(const std::string& yaml,
                                                    Diagnostics* diagnostics,
                                                    int64_t batch_rows = 65536) {
    ConfigNode node = ConfigNode::Parse(yaml, "pipeline.yaml", diagnostics);
    ComponentContext context;
    context.base_dir = dir_;
    context.batch_rows = batch_rows;
    ARROW_ASSIGN_OR_RAISE(auto options, FileConsumer::ParseOptions(node, context));
    return FileConsumer::Make(std::move(options));
  }

  std::unique_ptr<FileConsumer> MustMake(const std::string& yaml,
                                         int64_t batch_rows = 65536) {
    Diagnostics diagnostics;
    auto consumer = Make(yaml, &diagnostics, batch_rows);
    EXPECT_TRUE(consumer.ok()) << consumer.status().ToString();
    return consumer.ok() ? std::move(*consumer) : nullptr;
  }

  // Reads one partition; returns its batches combined, or the first error.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> ReadPartition(
      Consumer& consumer, const PartitionSpec& partition, int64_t max_batch_rows = -1) {
    ARROW_ASSIGN_OR_RAISE(auto schema, consumer.InferSchema());
    ARROW_ASSIGN_OR_RAISE(
        auto reader,
        consumer.OpenPartition(jetflow::testing::TestPartitionContext(kRun, partition)));
    std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
      if (batch == nullptr) break;
      EXPECT_TRUE(batch->schema()->Equals(*schema));
      if (max_batch_rows > 0) {
        EXPECT_LE(batch->num_rows(), max_batch_rows);
      }
      batches.push_back(batch);
    }
    ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(schema, batches));
    return table->CombineChunksToBatch();
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> ReadOnly(Consumer& consumer) {
    ARROW_ASSIGN_OR_RAISE(auto plan, consumer.PlanPartitions(kRun));
    EXPECT_EQ(plan.size(), 1u);
    return ReadPartition(consumer, plan.at(0));
  }

  void ExpectBatch(const std::shared_ptr<arrow::Schema>& schema, const std::string& json,
                   const arrow::RecordBatch& actual) {
    auto expected = testing::BatchFromJson(schema, json).ValueOrDie();
    EXPECT_EQ(testing::DiffBatches(*expected, actual), "");
  }

  fs::path dir_;
};

void ExpectContains(const arrow::Status& status, const std::vector<std::string>& parts) {
  EXPECT_FALSE(status.ok());
  for (const auto& part : parts) {
    EXPECT_NE(status.message().find(part), std::string::npos)
        << "missing '" << part << "' in: " << status.ToString();
  }
}

TEST_F(FileConsumerTest, ReadsCsvWithInferredTypes) {
  Write("orders.csv",
        "id,amount,name,at,flag,empty\n"
        "1,2.5,\"Smith, J\",2024-01-01 10:00:00,true,\n"
        "2,,\"\",2024-01-02 00:00:01,false,\n"
        "3,-1,plain,2024-01-03 23:59:59,,\n");
  auto consumer = MustMake("path: orders.csv\n");
  ASSERT_NE(consumer, nullptr);
  auto schema = consumer->InferSchema().ValueOrDie();
  auto expected_schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("amount", arrow::float64()),
       arrow::field("name", arrow::utf8()),
       arrow::field("at", arrow::timestamp(arrow::TimeUnit::SECOND)),
       arrow::field("flag", arrow::boolean()), arrow::field("empty", arrow::utf8())});
  ASSERT_TRUE(schema->Equals(*expected_schema)) << schema->ToString();
  auto plan = consumer->PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].id, "f_orders");
  EXPECT_EQ(plan[0].description, (dir_ / "orders.csv").string());
  EXPECT_EQ(plan[0].expected_rows, -1);
  auto batch = ReadPartition(*consumer, plan[0]).ValueOrDie();
  ExpectBatch(schema, R"([
    {"id": 1, "amount": 2.5, "name": "Smith, J", "at": 1704103200, "flag": true, "empty": null},
    {"id": 2, "amount": null, "name": "", "at": 1704153601, "flag": false, "empty": null},
    {"id": 3, "amount": -1, "name": "plain", "at": 1704326399, "flag": null, "empty": null}
  ])",
              *batch);
}

TEST_F(FileConsumerTest, CsvOverridesAndOptions) {
  Write("in.tsv",
        "k\tday\tprice\tat\tcode\n7\t2024-02-29\t12.30\t2024-01-01T00:00:00.5Z\t007\n"
        "8\t-\t0.01\t2024-01-01 01:00:00+01:00\t-\n");
  auto consumer = MustMake(R"yaml(
path: in.tsv
null_values: ["-"]
columns: {k: int32, day: date, price: "decimal(10, 2)", at: timestamp, code: string}
)yaml");
  ASSERT_NE(consumer, nullptr);
  auto schema = consumer->InferSchema().ValueOrDie();
  auto batch = ReadOnly(*consumer).ValueOrDie();
  ExpectBatch(
      arrow::schema({arrow::field("k", arrow::int32()),
                     arrow::field("day", arrow::date32()),
                     arrow::field("price", arrow::decimal128(10, 2)),
                     arrow::field("at", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
                     arrow::field("code", arrow::utf8())}),
      R"([{"k": 7, "day": 19782, "price": "12.30", "at": 1704067200500000, "code": "007"},
                  {"k": 8, "day": null, "price": "0.01", "at": 1704067200000000, "code": null}])",
      *batch);
}

TEST_F(FileConsumerTest, CsvWithoutHeaderCustomDelimiterAndGzip) {
  // Written through Arrow's gzip stream, read back by extension.
  {
    auto codec = arrow::util::Codec::Create(arrow::Compression::GZIP).ValueOrDie();
    auto file =
        arrow::io::FileOutputStream::Open((dir_ / "x.csv.gz").string()).ValueOrDie();
    auto out = arrow::io::CompressedOutputStream::Make(codec.get(), file).ValueOrDie();
    const std::string text = "1;a\n2;'b;c'\n";
    JETFLOW_ASSERT_OK(out->Write(text.data(), static_cast<int64_t>(text.size())));
    JETFLOW_ASSERT_OK(out->Close());
  }
  auto consumer =
      MustMake("path: x.csv.gz\nheader: false\ndelimiter: ';'\nquote: \"'\"\n");
  ASSERT_NE(consumer, nullptr);
  auto batch = ReadOnly(*consumer).ValueOrDie();
  ExpectBatch(arrow::schema({arrow::field("f0", arrow::int64()),
                             arrow::field("f1", arrow::utf8())}),
              R"([{"f0": 1, "f1": "a"}, {"f0": 2, "f1": "b;c"}])", *batch);
}

TEST_F(FileConsumerTest, SplitsLargeBlocksIntoBatchRows) {
  std::string text = "n,s\n";
  for (int i = 0; i < 1000; ++i)
    text += std::to_string(i) + ",v" + std::to_string(i) + "\n";
  Write("big.csv", text);
  auto consumer = MustMake("path: big.csv\nbatch_rows: 64\n");
  auto plan = consumer->PlanPartitions(kRun).ValueOrDie();
  auto batch = ReadPartition(*consumer, plan[0], /*max_batch_rows=*/64).ValueOrDie();
  ASSERT_EQ(batch->num_rows(), 1000);
  auto n = std::static_pointer_cast<arrow::Int64Array>(batch->column(0));
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(n->Value(i), i);
}

TEST_F(FileConsumerTest, ReadsJsonLines) {
  Write("events.jsonl",
        R"({"id": 1, "name": "a", "day": "2024-01-02", "price": 1.5, "tags": ["x"]})"
        "\n"
        R"({"id": 2, "name": null, "day": null, "price": 2.25})"
        "\n");
  auto consumer = MustMake(R"yaml(
path: events.jsonl
columns: {day: date, price: "decimal(8,2)", id: int32}
)yaml");
  ASSERT_NE(consumer, nullptr);
  auto schema = consumer->InferSchema().ValueOrDie();
  auto expected_schema = arrow::schema(
      {arrow::field("id", arrow::int32()), arrow::field("name", arrow::utf8()),
       arrow::field("day", arrow::date32()),
       arrow::field("price", arrow::decimal128(8, 2)),
       arrow::field("tags", arrow::list(arrow::utf8()))});
  ASSERT_TRUE(schema->Equals(*expected_schema)) << schema->ToString();
  auto batch = ReadOnly(*consumer).ValueOrDie();
  ExpectBatch(schema, R"([
    {"id": 1, "name": "a", "day": 19724, "price": "1.50", "tags": ["x"]},
    {"id": 2, "name": null, "day": null, "price": "2.25", "tags": null}
  ])",
              *batch);
}

TEST_F(FileConsumerTest, JsonFieldMissingFromFirstFileIsAnError) {
  Write("a.jsonl", "{\"id\": 1}\n");
  Write("b.jsonl", "{\"id\": 2, \"extra\": true}\n");
  auto consumer = MustMake("path: \"*.jsonl\"\n");
  auto plan = consumer->PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 2u);
  JETFLOW_ASSERT_OK(ReadPartition(*consumer, plan[0]));
  ExpectContains(ReadPartition(*consumer, plan[1]).status(),
                 {"unexpected field", (dir_ / "b.jsonl").string()});
}

TEST_F(FileConsumerTest, ReadsParquetWithFooterRowCount) {
  auto schema =
      arrow::schema({arrow::field("id", arrow::int64()),
                     arrow::field("at", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
                     arrow::field("amount", arrow::decimal128(12, 2)),
                     arrow::field("s", arrow::utf8())});
  std::string json = "[";
  for (int i = 0; i < 50; ++i) {
    json += std::string(i ? "," : "") + R"({"id": )" + std::to_string(i) +
            R"(, "at": 1704067200000000, "amount": "12.34", "s": )" +
            (i % 3 == 0 ? std::string("null") : "\"s" + std::to_string(i) + "\"") + "}";
  }
  json += "]";
  WriteParquet("part-0.parquet", schema, json, /*row_group_rows=*/16);
  auto consumer =
      MustMake("path: .\nformat: parquet\nbatch_rows: 10\ncolumns: {id: int32}\n");
  ASSERT_NE(consumer, nullptr);
  auto plan = consumer->PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].id, "f_part-0");
  EXPECT_EQ(plan[0].expected_rows, 50);
  auto out_schema = consumer->InferSchema().ValueOrDie();
  EXPECT_EQ(out_schema->field(0)->type()->id(), arrow::Type::INT32);
  auto batch = ReadPartition(*consumer, plan[0], /*max_batch_rows=*/10).ValueOrDie();
  auto original = testing::BatchFromJson(schema, json).ValueOrDie();
  auto expected = arrow::RecordBatch::Make(
      out_schema, 50,
      {arrow::compute::Cast(*original->column(0), arrow::int32()).ValueOrDie(),
       original->column(1), original->column(2), original->column(3)});
  EXPECT_EQ(testing::DiffBatches(*expected, *batch), "");
}

TEST_F(FileConsumerTest, GlobAndDirectoryGiveSortedPartitions) {
  Write("in/2024-01-02.csv", "a\n2\n");
  Write("in/2024-01-01.csv", "a\n1\n");
  Write("in/notes.txt.bak", "ignored\n");
  Write("in/_SUCCESS", "");
  Write("in/.hidden.csv", "a\nx\n");
  Write("in/eu/orders 1.csv", "a\n3\n");
  auto glob = MustMake("path: in/*.csv\n");
  auto plan = glob->PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].id, "f_2024-01-01");
  EXPECT_EQ(plan[1].id, "f_2024-01-02");
  EXPECT_EQ(plan[1].description, (dir_ / "in/2024-01-02.csv").string());

  auto nested = MustMake("path: in/*/*.csv\n");
  plan = nested->PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].id, "f_eu_orders_1");

  auto directory = MustMake("path: in\n");
  plan = directory->PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].id, "f_2024-01-01");
  EXPECT_EQ(plan[1].id, "f_2024-01-02");
  EXPECT_EQ(plan[2].id, "f_eu_orders_1");
  int64_t total = 0;
  for (const auto& partition : plan) {
    auto batch = ReadPartition(*directory, partition).ValueOrDie();
    total += batch->num_rows();
  }
  EXPECT_EQ(total, 3);
}

// Everything OpenPartition needs is in the partition's split: a consumer that never
// planned reads exactly what the planning one reads.
TEST_F(FileConsumerTest, OpensAPartitionItNeverPlanned) {
  Write("in/2024-01-01.csv", "a,b\n1,x\n2,y\n");
  Write("in/2024-01-02.csv", "a,b\n3,z\n");
  const std::string yaml = "path: in/*.csv\ncolumns: {a: int32}\n";
  auto planner = MustMake(yaml);
  auto plan = planner->PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].split, R"({"format":"csv","path":")" +
                               (dir_ / "in/2024-01-01.csv").string() + R"("})");
  for (const auto& partition : plan) {
    auto fresh = MustMake(yaml);
    PartitionSpec record{partition.id, partition.description, partition.expected_rows,
                         partition.split};
    auto expected = ReadPartition(*planner, record).ValueOrDie();
    auto got = ReadPartition(*fresh, record).ValueOrDie();
    EXPECT_EQ(testing::DiffBatches(*expected, *got), "") << partition.id;
    EXPECT_GT(got->num_rows(), 0);
  }
  // The file of the split is read, whatever the id says.
  PartitionSpec other = plan[0];
  other.split = plan[1].split;
  EXPECT_EQ(ReadPartition(*MustMake(yaml), other).ValueOrDie()->num_rows(), 1);
}

TEST_F(FileConsumerTest, MalformedSplitIsInvalidNamingThePartition) {
  Write("t.csv", "a\n1\n");
  auto consumer = MustMake("path: t.csv\n");
  for (const auto& [split, why] : std::vector<std::pair<std::string, std::string>>{
           {"", "the split is empty"},
           {R"({"format": "csv"})", "'path' is missing"},
           {R"({"path": "t.csv", "format": "xml"})", "unknown format 'xml'"}}) {
    PartitionSpec partition{"f_t", "t.csv", -1, split};
    ExpectContains(ReadPartition(*consumer, partition).status(),
                   {"malformed split of file partition 'f_t': " + why});
  }
}

TEST_F(FileConsumerTest, CsvHeaderMismatchNamesFileAndColumn) {
  Write("a.csv", "id,name\n1,x\n");
  Write("b.csv", "id,nome\n2,y\n");
  Write("c.csv", "id\n3\n");
  auto consumer = MustMake("path: \"*.csv\"\n");
  auto plan = consumer->PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 3u);
  JETFLOW_ASSERT_OK(ReadPartition(*consumer, plan[0]));
  ExpectContains(ReadPartition(*consumer, plan[1]).status(),
                 {"expected 'name', found 'nome'", (dir_ / "b.csv").string()});
  ExpectContains(
      ReadPartition(*consumer, plan[2]).status(),
      {"lacks a column of the first file: column 'name'", (dir_ / "c.csv").string()});
}

TEST_F(FileConsumerTest, CsvBadValueInLaterFileNamesFileAndRow) {
  Write("a.csv", "id,v\n1,2\n");
  Write("b.csv", "id,v\n2,3\n3,abc\n");
  auto consumer = MustMake("path: \"*.csv\"\n");
  auto plan = consumer->PlanPartitions(kRun).ValueOrDie();
  ExpectContains(ReadPartition(*consumer, plan[1]).status(),
                 {"Row #3", "invalid value 'abc'", (dir_ / "b.csv").string()});
}

TEST_F(FileConsumerTest, MalformedCsvRowNamesFileAndRow) {
  Write("bad.csv", "a,b\n1,2\n3\n");
  auto consumer = MustMake("path: bad.csv\n");
  auto status = ReadOnly(*consumer).status();
  EXPECT_TRUE(status.IsInvalid());
  ExpectContains(status,
                 {"Expected 2 columns, got 1", "Row #3", (dir_ / "bad.csv").string()});
}

TEST_F(FileConsumerTest, ParquetTypeMismatchNamesFileAndColumn) {
  WriteParquet("a.parquet", arrow::schema({arrow::field("id", arrow::int64())}),
               R"([{"id": 1}])");
  WriteParquet("b.parquet", arrow::schema({arrow::field("id", arrow::int32())}),
               R"([{"id": 2}])");
  auto consumer = MustMake("path: \"*.parquet\"\n");
  auto plan = consumer->PlanPartitions(kRun).ValueOrDie();
  ASSERT_EQ(plan.size(), 2u);
  ExpectContains(ReadPartition(*consumer, plan[1]).status(),
                 {"column 'id' is int32, expected int64", (dir_ / "b.parquet").string()});
  // With an override both files are read, converted to the declared type.
  auto overridden = MustMake("path: \"*.parquet\"\ncolumns: {id: int64}\n");
  plan = overridden->PlanPartitions(kRun).ValueOrDie();
  auto batch = ReadPartition(*overridden, plan[1]).ValueOrDie();
  ExpectBatch(arrow::schema({arrow::field("id", arrow::int64())}), R"([{"id": 2}])",
              *batch);
}

TEST_F(FileConsumerTest, PlanTimeErrors) {
  auto none = MustMake("path: \"nothing/*.csv\"\n");
  ExpectContains(none->InferSchema().status(),
                 {"no input file matches the path", "nothing/*.csv"});
  EXPECT_TRUE(none->PlanPartitions(kRun).status().IsInvalid());

  Write("data.bin", "x");
  auto unknown = MustMake("path: data.bin\n");
  ExpectContains(unknown->InferSchema().status(), {"set 'format'", "data.bin"});

  Write("t.csv", "a,b\n1,2\n");
  auto missing_column = MustMake("path: t.csv\ncolumns: {c: int32}\n");
  ExpectContains(missing_column->InferSchema().status(),
                 {"overrides a column the file does not have: 'c'", "t.csv"});
}

TEST_F(FileConsumerTest, ReportsEveryOptionErrorWithLocation) {
  Diagnostics diagnostics;
  auto result = Make(R"(pth: x.csv
format: xml
delimiter: ";;"
columns: {a: varchr}
hedaer: false
)",
                     &diagnostics);
  ExpectContains(
      result.status(),
      {"missing required key 'path'",
       "pipeline.yaml:1:1: error: unknown key 'pth' (did you mean 'path'?)",
       "pipeline.yaml:2:9: error: 'format' must be one of: csv, jsonl, parquet",
       "'delimiter' must be a single character", "unknown type 'varchr'",
       "unknown key 'hedaer' (did you mean 'header'?)"});
  Diagnostics more;
  ExpectContains(Make("path: x.parquet\ndelimiter: ','\n", &more).status(),
                 {"'delimiter' applies only to csv"});
}

TEST_F(FileConsumerTest, Registers) {
  Write("r.csv", "a\n1\n");
  ComponentRegistry registry;
  RegisterFileConsumer(registry);
  ASSERT_NE(registry.FindConsumer("file"), nullptr);
  Diagnostics diagnostics;
  ComponentContext context;
  context.base_dir = dir_;
  auto consumer = (*registry.FindConsumer("file"))(
      ConfigNode::Parse("path: r.csv\n", "p.yaml", &diagnostics), context);
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  EXPECT_EQ(ReadOnly(**consumer).ValueOrDie()->num_rows(), 1);
}

}  // namespace
}  // namespace jetflow
