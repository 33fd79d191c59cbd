// The parquet loader's `partition_by`: Hive-style column directories inside each
// partition directory (hive_partitioning.h, docs/parquet-loader.md).
#include <arrow/api.h>
#include <arrow/compute/initialize.h>
#include <arrow/io/file.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

#include "jetflow/core/config_node.h"
#include "jetflow/sinks/parquet/hive_partitioning.h"
#include "jetflow/sinks/parquet/lake_test_fixture.h"
#include "jetflow/sinks/parquet/parquet_loader.h"
#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr const char* kP0 = "dt=2026-11-25/part=p0/";

std::string P0(const std::string& relative) { return std::string(kP0) + relative; }

// --- Escaping and types
// ------------------------------------------------------------------

TEST(EscapeHivePathValueTest, EscapesWhatHiveEscapes) {
  EXPECT_EQ(EscapeHivePathValue("a/b"), "a%2Fb");
  EXPECT_EQ(EscapeHivePathValue("x=y"), "x%3Dy");
  EXPECT_EQ(EscapeHivePathValue("100%"), "100%25");
  EXPECT_EQ(EscapeHivePathValue("\"#%'*/:=?\\{[]^"),
            "%22%23%25%27%2A%2F%3A%3D%3F%5C%7B%5B%5D%5E");
  EXPECT_EQ(EscapeHivePathValue(std::string("\0\t\n\r\x1f\x7f", 6)),
            "%00%09%0A%0D%1F%7F");
  // Hive keeps everything else: spaces, most punctuation, and UTF-8 beyond ASCII.
  EXPECT_EQ(EscapeHivePathValue("a b+c&d,e;f!g@h$i(j)k~l-m_n.o}p|q<r>s`"),
            "a b+c&d,e;f!g@h$i(j)k~l-m_n.o}p|q<r>s`");
  EXPECT_EQ(EscapeHivePathValue("Köln 日本 🎉"), "Köln 日本 🎉");
  EXPECT_EQ(EscapeHivePathValue(""), "");
}

TEST(HivePartitionTypeTest, AcceptsIntegersStringsDatesAndBooleans) {
  for (const auto& type :
       {arrow::int8(), arrow::int16(), arrow::int32(), arrow::int64(), arrow::uint8(),
        arrow::uint16(), arrow::uint32(), arrow::uint64(), arrow::utf8(),
        arrow::large_utf8(), arrow::utf8_view(), arrow::date32(), arrow::boolean(),
        arrow::dictionary(arrow::int32(), arrow::utf8()),
        arrow::dictionary(arrow::int8(), arrow::large_utf8())}) {
    EXPECT_EQ(HivePartitionTypeProblem(*type), std::nullopt) << type->ToString();
  }
  for (const auto& type :
       {arrow::float32(), arrow::float64(), arrow::decimal128(10, 2),
        arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), arrow::binary(),
        arrow::list(arrow::int32()), arrow::struct_({arrow::field("a", arrow::int32())}),
        arrow::time64(arrow::TimeUnit::MICRO),
        arrow::dictionary(arrow::int32(), arrow::float64())}) {
    EXPECT_NE(HivePartitionTypeProblem(*type), std::nullopt) << type->ToString();
  }
}

// --- The loader
// --------------------------------------------------------------------------

class HivePartitioningTest : public parquet_test::LakeTest {
 protected:
  ParquetLoader::Options Options(std::vector<std::string> partition_by) const {
    ParquetLoader::Options options = BaseOptions();
    options.partition_by = std::move(partition_by);
    return options;
  }

  // id, country, amount.
  static std::shared_ptr<arrow::Schema> SalesSchema() {
    return arrow::schema({arrow::field("id", arrow::int64()),
                          arrow::field("country", arrow::utf8()),
                          arrow::field("amount", arrow::int32())});
  }
  // What data files of SalesSchema() partitioned by country hold.
  static std::shared_ptr<arrow::Schema> SalesFileSchema() {
    return arrow::schema(
        {arrow::field("id", arrow::int64()), arrow::field("amount", arrow::int32())});
  }

  static RunContext Run(const std::string& key = "dt") {
    RunContext run;
    run.pipeline = "sales";
    run.run = {key, "2026-11-25"};
    run.run_id = 3;
    return run;
  }

  static PartitionContext Partition(const std::string& id, int attempt = 1) {
    PartitionContext context;
    context.pipeline = "sales";
    context.run = {"dt", "2026-11-25"};
    context.partition.id = id;
    context.attempt = attempt;
    return context;
  }

  // The Bind error for `options` and `input`.
  static std::string BindError(ParquetLoader::Options options,
                               const std::shared_ptr<arrow::Schema>& input) {
    auto loader = ParquetLoader::Make(std::move(options));
    if (!loader.ok()) return "Make failed: " + loader.status().ToString();
    auto bound = (*loader)->Bind(input);
    if (bound.ok()) return "Bind succeeded";
    EXPECT_TRUE(bound.status().IsInvalid()) << bound.status().ToString();
    return bound.status().message();
  }

  // Every row of the files of `manifest` in `directory` (relative to the partition).
  std::shared_ptr<arrow::RecordBatch> ReadDirectory(const PartitionManifest& manifest,
                                                    const std::string& directory) const {
    const std::string prefix = manifest.location + "/" + directory + "/";
    std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
    for (const auto& file : manifest.files) {
      if (file.path.compare(0, prefix.size(), prefix) != 0) continue;
      if (file.path.find('/', prefix.size()) != std::string::npos) continue;
      batches.push_back(ReadParquet(file.path));
    }
    EXPECT_FALSE(batches.empty()) << "no files in " << prefix;
    if (batches.empty()) return nullptr;
    auto table = arrow::Table::FromRecordBatches(batches);
    EXPECT_TRUE(table.ok()) << table.status().ToString();
    auto batch = (*table)->CombineChunksToBatch();
    EXPECT_TRUE(batch.ok()) << batch.status().ToString();
    return *batch;
  }
};

TEST_F(HivePartitioningTest, RoutesRowsToValueDirectoriesWithoutThePartitionColumn) {
  auto schema = SalesSchema();
  auto loader = Loader(Options({"country"}), schema);
  ASSERT_NE(loader, nullptr);
  EXPECT_TRUE(loader->output_schema()->Equals(*schema));
  EXPECT_TRUE(loader->file_schema()->Equals(*SalesFileSchema()))
      << loader->file_schema()->ToString();
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      PartitionManifest manifest,
      WritePartition(loader.get(), Partition("p0"),
                     {Batch(schema, R"([{"id": 1, "country": "DE", "amount": 10},
                             {"id": 2, "country": "FR", "amount": 20},
                             {"id": 3, "country": "DE", "amount": 30},
                             {"id": 4, "country": null, "amount": 40},
                             {"id": 5, "country": "FR", "amount": 50}])"),
                      Batch(schema, R"([{"id": 6, "country": "US", "amount": 60},
                             {"id": 7, "country": "DE", "amount": 70}])")}));

  EXPECT_THAT(
      Files(),
      ElementsAre(P0("_jetflow_manifest.json"), P0("country=DE/part-00000.parquet"),
                  P0("country=FR/part-00000.parquet"),
                  P0("country=US/part-00000.parquet"),
                  P0("country=__HIVE_DEFAULT_PARTITION__/part-00000.parquet")));
  auto file_schema = SalesFileSchema();
  // Rows keep their order within a value.
  EXPECT_EQ(testing::DiffBatches(
                *Batch(file_schema, R"([{"id": 1, "amount": 10}, {"id": 3, "amount": 30},
                                        {"id": 7, "amount": 70}])"),
                *ReadParquet(P0("country=DE/part-00000.parquet"))),
            "");
  EXPECT_EQ(
      testing::DiffBatches(
          *Batch(file_schema, R"([{"id": 2, "amount": 20}, {"id": 5, "amount": 50}])"),
          *ReadParquet(P0("country=FR/part-00000.parquet"))),
      "");
  EXPECT_EQ(testing::DiffBatches(*Batch(file_schema, R"([{"id": 6, "amount": 60}])"),
                                 *ReadParquet(P0("country=US/part-00000.parquet"))),
            "");
  EXPECT_EQ(
      testing::DiffBatches(
          *Batch(file_schema, R"([{"id": 4, "amount": 40}])"),
          *ReadParquet(P0("country=__HIVE_DEFAULT_PARTITION__/part-00000.parquet"))),
      "");

  // The manifest lists every file relative to the root, in name order, and fingerprints
  // what the files hold.
  EXPECT_EQ(manifest.location, "dt=2026-11-25/part=p0");
  EXPECT_EQ(manifest.rows, 7);
  EXPECT_EQ(manifest.schema_fingerprint, SchemaFingerprint(*file_schema));
  std::vector<std::string> paths;
  int64_t bytes = 0;
  for (const auto& file : manifest.files) {
    paths.push_back(file.path);
    EXPECT_EQ(file.bytes, static_cast<int64_t>(fs::file_size(root_ / file.path)));
    EXPECT_EQ(ReadParquet(file.path)->num_rows(), file.rows);
    bytes += file.bytes;
  }
  EXPECT_EQ(manifest.bytes, bytes);
  EXPECT_THAT(paths,
              ElementsAre(P0("country=DE/part-00000.parquet"),
                          P0("country=FR/part-00000.parquet"),
                          P0("country=US/part-00000.parquet"),
                          P0("country=__HIVE_DEFAULT_PARTITION__/part-00000.parquet")));
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto stored, PartitionManifest::FromJson(ReadText(P0("_jetflow_manifest.json"))));
  EXPECT_EQ(stored.ToJson(), manifest.ToJson());
  EXPECT_FALSE(fs::exists(root_ / "_jetflow_staging/dt=2026-11-25/p0"));
}

TEST_F(HivePartitioningTest, FooterHoldsTheFileSchema) {
  auto schema = SalesSchema();
  auto loader = Loader(Options({"country"}), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK(
      WritePartition(loader.get(), Partition("p0"),
                     {Batch(schema, R"([{"id": 1, "country": "DE", "amount": 1}])")})
          .status());
  std::shared_ptr<arrow::Schema> footer;
  JETFLOW_ASSERT_OK(OpenParquet(P0("country=DE/part-00000.parquet"))->GetSchema(&footer));
  EXPECT_TRUE(footer->Equals(*SalesFileSchema(), /*check_metadata=*/false))
      << footer->ToString();
  EXPECT_EQ(footer->GetFieldIndex("country"), -1);
}

class HivePartitioningWriteModeTest
    : public HivePartitioningTest,
      public ::testing::WithParamInterface<ParquetLoader::WriteMode> {};

INSTANTIATE_TEST_SUITE_P(
    BothModes, HivePartitioningWriteModeTest,
    ::testing::Values(ParquetLoader::WriteMode::kStreaming,
                      ParquetLoader::WriteMode::kRowGroups),
    [](const ::testing::TestParamInfo<ParquetLoader::WriteMode>& info) {
      return info.param == ParquetLoader::WriteMode::kStreaming ? "Streaming"
                                                                : "RowGroups";
    });

TEST_P(HivePartitioningWriteModeTest, BuffersAtMostOneRowGroupOfRowsAcrossOpenFiles) {
  auto schema = SalesSchema();
  auto options = Options({"country"});
  options.row_group_rows = 10;
  options.write_mode = GetParam();
  auto loader = Loader(std::move(options), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  // Each batch: 6 DE rows and 6 FR rows.
  auto batch = [&](int first) {
    std::string rows = "[";
    for (int i = first; i < first + 12; ++i) {
      rows += std::string(i > first ? "," : "") + R"({"id": )" + std::to_string(i) +
              R"(, "country": ")" + (i % 2 ? "FR" : "DE") + R"(", "amount": 1})";
    }
    return Batch(schema, rows + "]");
  };
  JETFLOW_ASSERT_OK(
      WritePartition(loader.get(), Partition("p0"), {batch(0), batch(12)}).status());
  // After batch 1, 12 rows are buffered > 10: DE's row group (the first of the two
  // equally full ones) is flushed early with 6 rows. After batch 2, FR's row group filled
  // up (10) and 2 + 6 rows stay buffered. Without the bound DE would be 10 + 2 like FR.
  auto row_groups = [&](const std::string& file) {
    auto metadata = OpenParquet(P0(file))->parquet_reader()->metadata();
    std::vector<int64_t> sizes;
    for (int i = 0; i < metadata->num_row_groups(); ++i) {
      sizes.push_back(metadata->RowGroup(i)->num_rows());
    }
    return sizes;
  };
  EXPECT_EQ(row_groups("country=DE/part-00000.parquet"), (std::vector<int64_t>{6, 6}));
  EXPECT_EQ(row_groups("country=FR/part-00000.parquet"), (std::vector<int64_t>{10, 2}));
}

TEST_F(HivePartitioningTest, EscapesStringValuesLikeHive) {
  auto schema = SalesSchema();
  auto loader = Loader(Options({"country"}), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto manifest,
      WritePartition(loader.get(), Partition("p0"),
                     {Batch(schema, R"([{"id": 1, "country": "a/b", "amount": 1},
                          {"id": 2, "country": "x=y", "amount": 2},
                          {"id": 3, "country": "100%", "amount": 3},
                          {"id": 4, "country": "Köln 日本", "amount": 4},
                          {"id": 5, "country": "", "amount": 5},
                          {"id": 6, "country": null, "amount": 6},
                          {"id": 7, "country": "..", "amount": 7},
                          {"id": 8, "country": "a\tb:c", "amount": 8}])")}));
  EXPECT_THAT(
      Files(),
      ElementsAre(P0("_jetflow_manifest.json"), P0("country=../part-00000.parquet"),
                  P0("country=100%25/part-00000.parquet"),
                  P0("country=K\xC3\xB6ln \xE6\x97\xA5\xE6\x9C\xAC/part-00000.parquet"),
                  P0("country=__HIVE_DEFAULT_PARTITION__/part-00000.parquet"),
                  P0("country=a%09b%3Ac/part-00000.parquet"),
                  P0("country=a%2Fb/part-00000.parquet"),
                  P0("country=x%3Dy/part-00000.parquet")));
  // The empty string is written as null, as Hive and Spark do.
  EXPECT_EQ(testing::DiffBatches(
                *Batch(SalesFileSchema(),
                       R"([{"id": 5, "amount": 5}, {"id": 6, "amount": 6}])"),
                *ReadDirectory(manifest, "country=__HIVE_DEFAULT_PARTITION__")),
            "");
  EXPECT_EQ(testing::DiffBatches(*Batch(SalesFileSchema(), R"([{"id": 1, "amount": 1}])"),
                                 *ReadDirectory(manifest, "country=a%2Fb")),
            "");
}

TEST_F(HivePartitioningTest, NestsSeveralColumnsInTheirOrderAndFormatsEachType) {
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("day", arrow::date32()),
       arrow::field("active", arrow::boolean()), arrow::field("shard", arrow::int16())});
  auto loader = Loader(Options({"day", "active", "shard"}), schema);
  ASSERT_NE(loader, nullptr);
  EXPECT_TRUE(loader->file_schema()->Equals(*arrow::schema({schema->field(0)})));
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  // 20417 = 2025-11-25, -719162 = 0001-01-01, 2932896 = 9999-12-31.
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto manifest, WritePartition(loader.get(), Partition("p0"), {Batch(schema, R"([
          {"id": 1, "day": 20417, "active": true, "shard": -5},
          {"id": 2, "day": 20417, "active": false, "shard": 7},
          {"id": 3, "day": -719162, "active": null, "shard": 0},
          {"id": 4, "day": 20417, "active": true, "shard": -5},
          {"id": 5, "day": 2932896, "active": true, "shard": null}])")}));
  EXPECT_THAT(
      Files(),
      ElementsAre(P0("_jetflow_manifest.json"),
                  P0("day=0001-01-01/active=__HIVE_DEFAULT_PARTITION__/shard=0/"
                     "part-00000.parquet"),
                  P0("day=2025-11-25/active=false/shard=7/part-00000.parquet"),
                  P0("day=2025-11-25/active=true/shard=-5/part-00000.parquet"),
                  P0("day=9999-12-31/active=true/shard=__HIVE_DEFAULT_PARTITION__/"
                     "part-00000.parquet")));
  auto ids = arrow::schema({schema->field(0)});
  EXPECT_EQ(testing::DiffBatches(
                *Batch(ids, R"([{"id": 1}, {"id": 4}])"),
                *ReadDirectory(manifest, "day=2025-11-25/active=true/shard=-5")),
            "");
  EXPECT_EQ(manifest.rows, 5);
}

TEST_F(HivePartitioningTest, GroupsDictionaryStringsByValue) {
  // A dictionary may hold a value twice: rows are grouped by value, not by index.
  auto type = arrow::dictionary(arrow::int32(), arrow::utf8());
  auto schema =
      arrow::schema({arrow::field("id", arrow::int64()), arrow::field("country", type)});
  arrow::StringBuilder values;
  JETFLOW_ASSERT_OK(values.AppendValues({"DE", "FR", "DE"}));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto dictionary, values.Finish());
  arrow::Int32Builder indices;
  JETFLOW_ASSERT_OK(indices.AppendValues({0, 1, 2, 0}));
  JETFLOW_ASSERT_OK(indices.AppendNull());
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto index_array, indices.Finish());
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto country, arrow::DictionaryArray::FromArrays(type, index_array, dictionary));
  arrow::Int64Builder id_builder;
  JETFLOW_ASSERT_OK(id_builder.AppendValues({1, 2, 3, 4, 5}));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto id, id_builder.Finish());
  auto batch = arrow::RecordBatch::Make(schema, 5, {id, country});

  auto loader = Loader(Options({"country"}), schema);
  ASSERT_NE(loader, nullptr);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto manifest,
                               WritePartition(loader.get(), Partition("p0"), {batch}));
  EXPECT_THAT(
      Files(),
      ElementsAre(P0("_jetflow_manifest.json"), P0("country=DE/part-00000.parquet"),
                  P0("country=FR/part-00000.parquet"),
                  P0("country=__HIVE_DEFAULT_PARTITION__/part-00000.parquet")));
  auto ids = arrow::schema({arrow::field("id", arrow::int64())});
  EXPECT_EQ(testing::DiffBatches(*Batch(ids, R"([{"id": 1}, {"id": 3}, {"id": 4}])"),
                                 *ReadDirectory(manifest, "country=DE")),
            "");
}

TEST_F(HivePartitioningTest, RollsFilesWithinEachValueDirectory) {
  auto schema = SalesSchema();
  auto options = Options({"country"});
  options.max_file_rows = 2;
  auto loader = Loader(options, schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto manifest,
      WritePartition(loader.get(), Partition("p0"),
                     {Batch(schema, R"([{"id": 1, "country": "DE", "amount": 1},
                                        {"id": 2, "country": "DE", "amount": 2},
                                        {"id": 3, "country": "FR", "amount": 3},
                                        {"id": 4, "country": "DE", "amount": 4}])"),
                      Batch(schema, R"([{"id": 5, "country": "DE", "amount": 5},
                                        {"id": 6, "country": "DE", "amount": 6}])")}));
  EXPECT_THAT(Files(), ElementsAre(P0("_jetflow_manifest.json"),
                                   P0("country=DE/part-00000.parquet"),
                                   P0("country=DE/part-00001.parquet"),
                                   P0("country=DE/part-00002.parquet"),
                                   P0("country=FR/part-00000.parquet")));
  for (const auto& file : manifest.files) EXPECT_LE(file.rows, 2) << file.path;
  EXPECT_EQ(
      testing::DiffBatches(
          *Batch(SalesFileSchema(), R"([{"id": 1, "amount": 1}, {"id": 2, "amount": 2},
              {"id": 4, "amount": 4}, {"id": 5, "amount": 5}, {"id": 6, "amount": 6}])"),
          *ReadDirectory(manifest, "country=DE")),
      "");
}

TEST_F(HivePartitioningTest, AutoWriteModeStreamsWithPartitionBy) {
  auto schema = SalesSchema();
  // Two values in every batch, row groups of 100 rows: rows of both files share the row
  // group budget, so the fuller row group is flushed early, and a file whose last rows
  // were flushed early ends with an empty row group when streaming, not when held whole.
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (int b = 0; b < 20; ++b) {
    std::string rows = "[";
    for (int i = 0; i < 250; ++i) {
      const int id = b * 250 + i;
      rows += std::string(i > 0 ? "," : "") + R"({"id": )" + std::to_string(id) +
              R"(, "country": ")" + (id % 3 ? "FR" : "DE") + R"(", "amount": )" +
              std::to_string(id * 7) + "}";
    }
    batches.push_back(Batch(schema, rows + "]"));
  }
  PartitionContext context = Partition("p0");
  context.partitions_in_flight = 2;
  context.memory_budget_bytes = int64_t{1} << 30;
  std::map<ParquetLoader::WriteMode, std::string> manifests;
  for (auto mode : {ParquetLoader::WriteMode::kStreaming, ParquetLoader::WriteMode::kAuto,
                    ParquetLoader::WriteMode::kRowGroups}) {
    auto options = Options({"country"});
    options.row_group_rows = 100;
    options.write_mode = mode;
    if (mode == ParquetLoader::WriteMode::kAuto) {
      // Everything else would let auto adapt.
      EXPECT_EQ(ParquetLoader::RowGroupEncodingFor(options, context),
                RowGroupEncoding::kStreaming);
    }
    auto loader = Loader(options, schema);
    JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
    ++context.attempt;
    JETFLOW_ASSERT_OK_AND_ASSIGN(auto manifest,
                                 WritePartition(loader.get(), context, batches));
    EXPECT_EQ(manifest.rows, 5000);
    // Every row, whatever the mode.
    EXPECT_EQ(ReadDirectory(manifest, "country=DE")->num_rows(), 1667);
    EXPECT_EQ(ReadDirectory(manifest, "country=FR")->num_rows(), 3333);
    manifests[mode] = manifest.ToJson();
  }
  EXPECT_EQ(manifests[ParquetLoader::WriteMode::kAuto],
            manifests[ParquetLoader::WriteMode::kStreaming]);
  // The difference that makes auto stream here.
  EXPECT_NE(manifests[ParquetLoader::WriteMode::kRowGroups],
            manifests[ParquetLoader::WriteMode::kStreaming]);
}

TEST_F(HivePartitioningTest, ClosesTheLeastRecentlyWrittenFileBeyondMaxOpenFiles) {
  auto schema = SalesSchema();
  auto options = Options({"country"});
  options.max_open_files = 2;
  const std::vector<std::shared_ptr<arrow::RecordBatch>> batches = {
      Batch(schema, R"([{"id": 1, "country": "A", "amount": 1},
                        {"id": 2, "country": "B", "amount": 2},
                        {"id": 3, "country": "C", "amount": 3}])"),
      Batch(schema, R"([{"id": 4, "country": "B", "amount": 4},
                        {"id": 5, "country": "A", "amount": 5}])"),
      Batch(schema, R"([{"id": 6, "country": "B", "amount": 6},
                        {"id": 7, "country": "C", "amount": 7}])")};
  auto loader = Loader(options, schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto first,
                               WritePartition(loader.get(), Partition("p0", 1), batches));
  // Open files, least recent first: [A], [A B], C closes A: [B C]; B: [C B]; A closes C:
  // [B A]; B: [A B]; C closes A: [B C].
  EXPECT_THAT(
      Files(),
      ElementsAre(P0("_jetflow_manifest.json"), P0("country=A/part-00000.parquet"),
                  P0("country=A/part-00001.parquet"), P0("country=B/part-00000.parquet"),
                  P0("country=C/part-00000.parquet"),
                  P0("country=C/part-00001.parquet")));
  auto file_schema = SalesFileSchema();
  EXPECT_EQ(
      testing::DiffBatches(
          *Batch(file_schema, R"([{"id": 1, "amount": 1}, {"id": 5, "amount": 5}])"),
          *ReadDirectory(first, "country=A")),
      "");
  EXPECT_EQ(testing::DiffBatches(*Batch(file_schema, R"([{"id": 2, "amount": 2},
                    {"id": 4, "amount": 4}, {"id": 6, "amount": 6}])"),
                                 *ReadDirectory(first, "country=B")),
            "");
  EXPECT_EQ(
      testing::DiffBatches(
          *Batch(file_schema, R"([{"id": 3, "amount": 3}, {"id": 7, "amount": 7}])"),
          *ReadDirectory(first, "country=C")),
      "");
  EXPECT_EQ(first.rows, 7);

  // Deterministic: the same batches give the same files, names and bytes.
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto second,
                               WritePartition(loader.get(), Partition("p0", 2), batches));
  EXPECT_EQ(first.ToJson(), second.ToJson());
  // In either write mode.
  options.write_mode = ParquetLoader::WriteMode::kRowGroups;
  auto whole = Loader(options, schema);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto third,
                               WritePartition(whole.get(), Partition("p0", 3), batches));
  EXPECT_EQ(first.ToJson(), third.ToJson());
}

TEST_F(HivePartitioningTest, SpreadsManyValuesOverFewOpenFiles) {
  // 200 rows over 13 values with 3 open files: every row lands in its value directory.
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("key", arrow::int32())});
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (int b = 0; b < 4; ++b) {
    arrow::Int64Builder ids;
    arrow::Int32Builder keys;
    for (int i = 0; i < 50; ++i) {
      const int64_t id = b * 50 + i;
      JETFLOW_ASSERT_OK(ids.Append(id));
      JETFLOW_ASSERT_OK(keys.Append(static_cast<int32_t>((id * 7) % 13)));
    }
    JETFLOW_ASSERT_OK_AND_ASSIGN(auto id_array, ids.Finish());
    JETFLOW_ASSERT_OK_AND_ASSIGN(auto key_array, keys.Finish());
    batches.push_back(arrow::RecordBatch::Make(schema, 50, {id_array, key_array}));
  }
  auto options = Options({"key"});
  options.max_open_files = 3;
  auto loader = Loader(options, schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto manifest,
                               WritePartition(loader.get(), Partition("p0"), batches));
  EXPECT_EQ(manifest.rows, 200);
  EXPECT_GT(manifest.files.size(), 13u);  // evicted values continue in new part files
  int64_t total = 0;
  for (const auto& file : manifest.files) {
    const size_t eq = file.path.find("/key=");
    ASSERT_NE(eq, std::string::npos) << file.path;
    const int key = std::stoi(file.path.substr(eq + 5));
    auto rows = ReadParquet(file.path);
    ASSERT_EQ(rows->num_columns(), 1);
    const auto& id = static_cast<const arrow::Int64Array&>(*rows->column(0));
    for (int64_t i = 0; i < id.length(); ++i) {
      EXPECT_EQ((id.Value(i) * 7) % 13, key) << file.path;
    }
    total += rows->num_rows();
  }
  EXPECT_EQ(total, 200);
}

TEST_F(HivePartitioningTest, RecommitReplacesEveryValueDirectory) {
  auto schema = SalesSchema();
  auto loader = Loader(Options({"country"}), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK(
      WritePartition(loader.get(), Partition("p0", 1),
                     {Batch(schema, R"([{"id": 1, "country": "DE", "amount": 1},
                                {"id": 2, "country": "FR", "amount": 2}])")})
          .status());
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto manifest,
      WritePartition(loader.get(), Partition("p0", 2),
                     {Batch(schema, R"([{"id": 3, "country": "US", "amount": 3}])")}));
  EXPECT_THAT(Files(), ElementsAre(P0("_jetflow_manifest.json"),
                                   P0("country=US/part-00000.parquet")));
  EXPECT_EQ(manifest.rows, 1);
  EXPECT_FALSE(fs::exists(root_ / P0("country=DE")));
}

TEST_F(HivePartitioningTest, FinishRunKeepsValueDirectoriesAndRemovesStalePartitions) {
  auto schema = SalesSchema();
  auto batch = Batch(schema, R"([{"id": 1, "country": "DE", "amount": 1}])");
  {
    auto loader = Loader(Options({"country"}), schema);
    JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
    std::vector<PartitionManifest> manifests;
    for (const char* id : {"p0", "p1"}) {
      JETFLOW_ASSERT_OK_AND_ASSIGN(auto manifest,
                                   WritePartition(loader.get(), Partition(id), {batch}));
      manifests.push_back(manifest);
    }
    JETFLOW_ASSERT_OK(loader->FinishRun(Run(), manifests));
  }
  auto loader = Loader(Options({"country"}), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  EXPECT_FALSE(fs::exists(root_ / "dt=2026-11-25/_SUCCESS"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto manifest,
                               WritePartition(loader.get(), Partition("p0"), {batch}));
  JETFLOW_ASSERT_OK(loader->FinishRun(Run(), {manifest}));
  EXPECT_THAT(
      Files(),
      ElementsAre("dt=2026-11-25/_SUCCESS", "dt=2026-11-25/_jetflow_run.json",
                  P0("_jetflow_manifest.json"), P0("country=DE/part-00000.parquet")));
  EXPECT_FALSE(fs::exists(root_ / "_jetflow_staging"));

  auto run = nlohmann::json::parse(ReadText("dt=2026-11-25/_jetflow_run.json"));
  EXPECT_EQ(run["schema_fingerprint"], SchemaFingerprint(*SalesFileSchema()));
  ASSERT_EQ(run["columns"].size(), 2u);
  EXPECT_EQ(run["columns"][1]["name"], "amount");
  ASSERT_EQ(run["partition_by"].size(), 1u);
  EXPECT_EQ(run["partition_by"][0]["name"], "country");
  EXPECT_EQ(run["partition_by"][0]["type"], "string");
  EXPECT_EQ(run["partitions"][0]["files"][0]["path"],
            P0("country=DE/part-00000.parquet"));
}

TEST_F(HivePartitioningTest, AbortLeavesNoTrace) {
  auto schema = SalesSchema();
  auto loader = Loader(Options({"country"}), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto writer, loader->OpenPartition(Partition("p0")));
  JETFLOW_ASSERT_OK(
      writer->Write(Batch(schema, R"([{"id": 1, "country": "DE", "amount": 1},
                                            {"id": 2, "country": "FR", "amount": 2}])")));
  EXPECT_EQ(Files().size(), 2u);  // the staged files
  JETFLOW_ASSERT_OK(writer->Abort());
  EXPECT_THAT(Files(), IsEmpty());
}

// --- Values that cannot be directory names
// -----------------------------------------------

TEST_F(HivePartitioningTest, DateOutsideYearsOneToNineThousandFailsThePartition) {
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("day", arrow::date32())});
  auto loader = Loader(Options({"day"}), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto writer, loader->OpenPartition(Partition("p0")));
  JETFLOW_ASSERT_OK(writer->Write(Batch(schema, R"([{"id": 1, "day": 0}])")));
  arrow::Status status =
      writer->Write(Batch(schema, R"([{"id": 2, "day": 1}, {"id": 3, "day": 2932897}])"));
  ASSERT_TRUE(status.IsInvalid()) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("outside the years 1..9999"));
  EXPECT_THAT(status.message(), HasSubstr("column 'day', row 2"));
  EXPECT_THAT(status.message(), HasSubstr("partition 'p0'"));
  EXPECT_TRUE(writer->Commit().status().IsInvalid());
  JETFLOW_ASSERT_OK(writer->Abort());
  EXPECT_THAT(Files(), IsEmpty());
}

TEST_F(HivePartitioningTest, ValueTooLongForADirectoryNameFailsThePartition) {
  auto schema = SalesSchema();
  auto loader = Loader(Options({"country"}), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto writer, loader->OpenPartition(Partition("p0")));
  // 100 '/' escape to 300 bytes.
  arrow::Status status = writer->Write(Batch(
      schema, R"([{"id": 1, "country": "ok", "amount": 1}, {"id": 2, "country": ")" +
                  std::string(100, '/') + R"(", "amount": 2}])"));
  ASSERT_TRUE(status.IsInvalid()) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("too long for a directory name"));
  EXPECT_THAT(status.message(), HasSubstr("column 'country', row 1, 308 bytes"));
  JETFLOW_ASSERT_OK(writer->Abort());
}

// --- Plan-time errors
// --------------------------------------------------------------------

TEST_F(HivePartitioningTest, UnknownColumnGetsADidYouMean) {
  const std::string message = BindError(Options({"contry"}), SalesSchema());
  EXPECT_THAT(message, HasSubstr("parquet loader 'lake'"));
  EXPECT_THAT(message, HasSubstr("partition_by column 'contry' is not in the stream (did "
                                 "you mean 'country'?)"));
}

TEST_F(HivePartitioningTest, UnsupportedTypesAreNamedWithTheReason) {
  auto schema = arrow::schema({
      arrow::field("id", arrow::int64()),
      arrow::field("price", arrow::float64()),
      arrow::field("at", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
      arrow::field("amount", arrow::decimal128(10, 2)),
      arrow::field("tags", arrow::list(arrow::utf8())),
      arrow::field("big", arrow::uint64()),
      arrow::field("country", arrow::utf8()),
  });
  const std::string message = BindError(
      Options({"price", "at", "amount", "tags", "big", "country", "nope"}), schema);
  EXPECT_THAT(message, HasSubstr("partition_by column 'price': type double cannot be a "
                                 "partition value: floating-point numbers"));
  EXPECT_THAT(message, HasSubstr("partition_by column 'at': type timestamp[us, tz=UTC] "
                                 "cannot be a partition value"));
  EXPECT_THAT(message, HasSubstr("partition_by column 'amount': type decimal128(10, 2)"));
  EXPECT_THAT(message, HasSubstr("partition_by column 'tags': type list<item: string> "
                                 "cannot be a partition value: nested values"));
  // The spark profile writes uint64 as a decimal.
  EXPECT_THAT(message, HasSubstr("partition_by column 'big': type decimal128(20, 0)"));
  EXPECT_THAT(message,
              HasSubstr("(its stream type uint64 is written as decimal128(20, 0))"));
  EXPECT_THAT(message, HasSubstr("partition_by column 'nope' is not in the stream"));
  EXPECT_THAT(message, Not(HasSubstr("'country'")));

  // Under lossless, uint64 stays an integer.
  auto options = Options({"big"});
  options.profile = OutputProfile::kLossless;
  EXPECT_NE(Loader(options, arrow::schema({schema->field(0), schema->field(5)})),
            nullptr);
}

TEST_F(HivePartitioningTest, ColumnDroppedByTheDeclaredSchemaIsNamed) {
  auto options = Options({"country"});
  options.schema = arrow::schema({arrow::field("id", arrow::int64())});
  options.extra_columns = ParquetLoader::ExtraColumns::kDrop;
  EXPECT_THAT(BindError(options, SalesSchema()),
              HasSubstr("partition_by column 'country' is in the stream but not in the "
                        "declared schema"));
}

TEST_F(HivePartitioningTest, PartitioningByEveryColumnIsRefused) {
  auto schema = arrow::schema({arrow::field("country", arrow::utf8())});
  EXPECT_THAT(BindError(Options({"country"}), schema),
              HasSubstr("partition_by takes every column of the output"));
}

TEST_F(HivePartitioningTest, ColumnNamedLikeAPartitionKeyIsRefused) {
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("kind", arrow::utf8()),
       arrow::field("dt", arrow::utf8()), arrow::field("_x", arrow::utf8())});
  auto made = ParquetLoader::Make(Options({"Part", "_x", "dt", "dt"}));
  ASSERT_TRUE(made.status().IsInvalid());
  EXPECT_THAT(
      made.status().message(),
      HasSubstr("partition_by column 'Part' clashes with partition_column 'part'"));
  EXPECT_THAT(made.status().message(),
              HasSubstr("partition_by column '_x' must start with a letter"));
  EXPECT_THAT(made.status().message(),
              HasSubstr("partition_by column 'dt' is listed twice"));

  // The run instance key is known when the run begins, before anything is touched.
  auto loader = Loader(Options({"dt"}), schema);
  ASSERT_NE(loader, nullptr);
  arrow::Status status = loader->BeginRun(Run("dt"));
  ASSERT_TRUE(status.IsInvalid()) << status.ToString();
  EXPECT_THAT(
      status.message(),
      HasSubstr("partition_by column 'dt' clashes with the run instance key 'dt'"));
  EXPECT_FALSE(fs::exists(root_));
  EXPECT_TRUE(loader->OpenPartition(Partition("p0")).status().IsInvalid());
  JETFLOW_ASSERT_OK(loader->BeginRun(Run("day")));
}

TEST_F(HivePartitioningTest, ColumnsNamedLikeADirectoryKeyAreRefused) {
  // Readers take `part=...` and `country=...` from the path: a column of the files named
  // like one of them (ignoring case, as Spark does) would read as the directory's value.
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("Part", arrow::utf8()),
       arrow::field("country", arrow::utf8()), arrow::field("COUNTRY", arrow::utf8())});
  // (Under the spark profile two columns that differ only in case are refused anyway.)
  auto lossless = Options({"country"});
  lossless.profile = OutputProfile::kLossless;
  const std::string error = BindError(lossless, schema);
  EXPECT_THAT(error, HasSubstr("column 'Part' is named like the partition directory key "
                               "'part' (the loader's partition_column), a directory key "
                               "of the lake (part=<value>/)"));
  EXPECT_THAT(error,
              HasSubstr("rename the column (a select transformer with rename: "
                        "{Part: <new name>}) or set the loader's partition_column"));
  EXPECT_THAT(error, HasSubstr("column 'COUNTRY' is named like partition_by column "
                               "'country'"));
  EXPECT_THAT(error, Not(HasSubstr("column 'country' is named")));  // not in the files
  // A run instance key known at config load is checked with the others, all at once.
  auto options = lossless;
  options.run_key = "id";
  const std::string all = BindError(options, schema);
  EXPECT_THAT(all, HasSubstr("column 'id' is named like the run instance key 'id'"));
  EXPECT_THAT(all, HasSubstr("column 'Part' is named like the partition directory key"));

  // The run instance key is checked against the files' columns once it is known.
  auto dated = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("DT", arrow::date32())});
  auto loader = Loader(BaseOptions(), dated);
  ASSERT_NE(loader, nullptr);
  arrow::Status status = loader->CheckRunInstance(Run("dt").run);
  ASSERT_TRUE(status.IsInvalid()) << status.ToString();
  EXPECT_THAT(status.message(),
              HasSubstr("column 'DT' is named like the run instance key 'dt' "
                        "(run_instance.key)"));
  EXPECT_TRUE(loader->BeginRun(Run("dt")).IsInvalid());
  EXPECT_FALSE(fs::exists(root_));
  JETFLOW_ASSERT_OK(loader->CheckRunInstance(Run("day").run));
  // With a legitimate name the same columns are written and read back.
  auto renamed = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("event_date", arrow::date32())});
  auto ok = Loader(BaseOptions(), renamed);
  ASSERT_NE(ok, nullptr);
  JETFLOW_ASSERT_OK(ok->CheckRunInstance(Run("dt").run));
}

TEST_F(HivePartitioningTest, AnEmptyRunWritesItsEmptyFileUnderNullDirectories) {
  auto schema = SalesSchema();
  auto loader = Loader(Options({"country"}), schema);
  ASSERT_NE(loader, nullptr);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto manifest,
                               WritePartition(loader.get(), Partition("p0"), {}));
  JETFLOW_ASSERT_OK(loader->FinishRun(Run(), {manifest}));
  const std::string file = P0("country=__HIVE_DEFAULT_PARTITION__/part-00000.parquet");
  EXPECT_THAT(Files(),
              ElementsAre("dt=2026-11-25/_SUCCESS", "dt=2026-11-25/_jetflow_run.json",
                          P0("_jetflow_manifest.json"), file));
  auto read = ReadParquet(file);
  EXPECT_EQ(read->num_rows(), 0);
  EXPECT_TRUE(read->schema()->Equals(*SalesFileSchema())) << read->schema()->ToString();
}

TEST_F(HivePartitioningTest, MaxOpenFilesMustBePositive) {
  auto options = Options({"country"});
  options.max_open_files = 0;
  auto made = ParquetLoader::Make(options);
  ASSERT_TRUE(made.status().IsInvalid());
  EXPECT_THAT(made.status().message(), HasSubstr("'max_open_files' must be between 1"));
}

// --- Options from YAML
// -------------------------------------------------------------------

struct ParsedOptions {
  Diagnostics diagnostics;
  arrow::Result<ParquetLoader::Options> options;
};

std::unique_ptr<ParsedOptions> Parse(const std::string& yaml,
                                     const std::string& run_key = "") {
  auto parsed = std::make_unique<ParsedOptions>();
  ConfigNode node = ConfigNode::Parse(yaml, "pipeline.yaml", &parsed->diagnostics);
  ComponentContext context;
  context.name = "lake";
  context.base_dir = "/pipelines";
  context.run_key = run_key;
  parsed->options = ParquetLoader::ParseOptions(node, context);
  return parsed;
}

TEST(HivePartitioningOptionsTest, ParsesPartitionByAndMaxOpenFiles) {
  auto parsed = Parse("path: /lake\npartition_by: [country, day]\nmax_open_files: 8\n");
  ASSERT_TRUE(parsed->options.ok()) << parsed->options.status().ToString();
  EXPECT_THAT(parsed->options->partition_by, ElementsAre("country", "day"));
  EXPECT_EQ(parsed->options->max_open_files, 8);

  auto single = Parse("path: /lake\npartition_by: country\n");
  ASSERT_TRUE(single->options.ok()) << single->options.status().ToString();
  EXPECT_THAT(single->options->partition_by, ElementsAre("country"));
  EXPECT_EQ(single->options->max_open_files, 64);

  auto none = Parse("path: /lake\n");
  JETFLOW_ASSERT_OK(none->options);
  EXPECT_THAT(none->options->partition_by, IsEmpty());
}

TEST(HivePartitioningOptionsTest, ReportsBadNamesAtTheirLocation) {
  auto parsed = Parse(
      "path: /lake\npartition_column: shard\npartition_by: [country, shard, a-b, "
      "country]\nmax_open_files: 0\n");
  ASSERT_TRUE(parsed->options.status().IsInvalid());
  const std::string& message = parsed->options.status().message();
  EXPECT_THAT(message, HasSubstr("pipeline.yaml:3:25: error: partition_by column 'shard' "
                                 "clashes with partition_column 'shard'"));
  EXPECT_THAT(message,
              HasSubstr("pipeline.yaml:3:32: error: partition_by column 'a-b' may "
                        "contain only letters, digits and '_'"));
  EXPECT_THAT(message,
              HasSubstr("pipeline.yaml:3:37: error: partition_by column 'country' "
                        "is listed twice"));
  EXPECT_THAT(message, HasSubstr("pipeline.yaml:4:"));
}

TEST(HivePartitioningOptionsTest, KeysClashingWithTheRunInstanceKeyFailAtLoad) {
  auto part = Parse("path: /lake\n", "Part");
  ASSERT_TRUE(part->options.status().IsInvalid());
  EXPECT_THAT(part->options.status().message(),
              HasSubstr("pipeline.yaml:1:1: error: the run instance key 'Part' "
                        "(run_instance.key) clashes with partition_column 'part': both "
                        "would be directory keys (Part=<instance>/part=<partition>/)"));
  auto shard = Parse("path: /lake\npartition_column: shard\n", "shard");
  ASSERT_TRUE(shard->options.status().IsInvalid());
  EXPECT_THAT(shard->options.status().message(),
              HasSubstr("pipeline.yaml:2:19: error: the run instance key 'shard'"));
  auto by = Parse("path: /lake\npartition_by: [country, day]\n", "DAY");
  ASSERT_TRUE(by->options.status().IsInvalid());
  EXPECT_THAT(by->options.status().message(),
              HasSubstr("pipeline.yaml:2:25: error: partition_by column 'day' clashes "
                        "with the run instance key 'DAY'"));
  auto fine = Parse("path: /lake\npartition_by: [country]\n", "dt");
  JETFLOW_ASSERT_OK(fine->options);
  EXPECT_EQ(fine->options->run_key, "dt");
  // Programmatic options are checked by Make.
  ParquetLoader::Options options = fine->options.ValueOrDie();
  options.run_key = "country";
  EXPECT_THAT(ParquetLoader::Make(options).status().message(),
              HasSubstr("partition_by column 'country' clashes with the run instance key "
                        "'country'"));
}

TEST(HivePartitioningOptionsTest, WarnsThatMaxOpenFilesNeedsPartitionBy) {
  auto parsed = Parse("path: /lake\nmax_open_files: 8\n");
  JETFLOW_ASSERT_OK(parsed->options);
  ASSERT_EQ(parsed->diagnostics.entries().size(), 1u);
  EXPECT_THAT(parsed->diagnostics.entries()[0].message,
              HasSubstr("'max_open_files' has no effect without 'partition_by'"));
}

TEST_F(HivePartitioningTest, RowsEndingOnARowGroupBoundaryLeaveNoEmptyRowGroup) {
  auto schema = SalesSchema();
  auto options = Options({"country"});
  options.row_group_rows = 6;
  auto loader = Loader(std::move(options), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  // 12 DE rows in batches of 4: row groups fill exactly at rows 6 and 12.
  auto batch = [&](int first) {
    std::string rows = "[";
    for (int i = first; i < first + 4; ++i) {
      rows += std::string(i > first ? "," : "") + R"({"id": )" + std::to_string(i) +
              R"(, "country": "DE", "amount": 1})";
    }
    return Batch(schema, rows + "]");
  };
  JETFLOW_ASSERT_OK(
      WritePartition(loader.get(), Partition("p0"), {batch(0), batch(4), batch(8)})
          .status());
  auto metadata =
      OpenParquet(P0("country=DE/part-00000.parquet"))->parquet_reader()->metadata();
  std::vector<int64_t> sizes;
  for (int i = 0; i < metadata->num_row_groups(); ++i) {
    sizes.push_back(metadata->RowGroup(i)->num_rows());
  }
  EXPECT_EQ(sizes, (std::vector<int64_t>{6, 6}));
}

}  // namespace
}  // namespace jetflow
