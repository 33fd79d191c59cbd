#include "jetflow/sinks/parquet/parquet_loader.h"

#include <arrow/api.h>
#include <arrow/compute/initialize.h>
#include <arrow/extension/uuid.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <arrow/util/byte_size.h>
#include <arrow/util/key_value_metadata.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/schema.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "jetflow/core/error.h"
#include "jetflow/sinks/parquet/lake_test_fixture.h"
#include "jetflow/sinks/parquet/parquet_partition_writer.h"
#include "jetflow/sinks/parquet/rename_committer.h"
#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/fault_injecting_filesystem.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class ParquetLoaderTest : public parquet_test::LakeTest {
 protected:
  ParquetLoader::Options Options() const { return BaseOptions(); }

  /// A loader of OrdersSchema() writing through `filesystem`, its run begun.
  std::unique_ptr<ParquetLoader> OrdersLoaderOn(
      std::shared_ptr<arrow::fs::FileSystem> filesystem) {
    auto options = Options();
    options.filesystem = std::move(filesystem);
    auto loader = Loader(options, OrdersSchema());
    arrow::Status begun = loader->BeginRun(Run());
    EXPECT_TRUE(begun.ok()) << begun.ToString();
    return loader;
  }

  static std::shared_ptr<arrow::Schema> OrdersSchema() {
    return arrow::schema(
        {arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8())});
  }

  static RunContext Run(const std::string& day = "2026-11-25") {
    RunContext run;
    run.pipeline = "orders";
    run.run = {"dt", day};
    run.run_id = 7;
    return run;
  }

  static PartitionContext Partition(const std::string& id, int attempt = 1,
                                    const std::string& day = "2026-11-25") {
    PartitionContext context;
    context.pipeline = "orders";
    context.run = {"dt", day};
    context.partition.id = id;
    context.attempt = attempt;
    return context;
  }
};

constexpr const char* kP0 = "dt=2026-11-25/part=p0/";

// The manifest checksum of `bytes`, computed here independently of the loader.
std::string Xxh3Checksum(const std::string& bytes) {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits(bytes.data(), bytes.size()));
  std::string hex = "xxh3-128:";
  for (unsigned char b : canonical.digest) {
    static const char* digits = "0123456789abcdef";
    hex += digits[b >> 4];
    hex += digits[b & 15];
  }
  return hex;
}

// --- Writing and reading back
// -----------------------------------------------------------

TEST_F(ParquetLoaderTest, CommitsAPartitionThatReadsBackExactly) {
  auto schema = OrdersSchema();
  auto loader = Loader(Options(), schema);
  ASSERT_NE(loader, nullptr);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      PartitionManifest manifest,
      WritePartition(
          loader.get(), Partition("p0"),
          {Batch(schema, R"([{"id": 1, "name": "a"}, {"id": 2, "name": null}])"),
           Batch(schema, R"([{"id": 3, "name": "c"}])")}));

  EXPECT_THAT(Files(), ElementsAre(std::string(kP0) + "_jetflow_manifest.json",
                                   std::string(kP0) + "part-00000.parquet"));
  auto expected = Batch(
      schema,
      R"([{"id": 1, "name": "a"}, {"id": 2, "name": null}, {"id": 3, "name": "c"}])");
  EXPECT_EQ(testing::DiffBatches(*expected,
                                 *ReadParquet(std::string(kP0) + "part-00000.parquet")),
            "");

  EXPECT_EQ(manifest.loader, "lake");
  EXPECT_EQ(manifest.partition_id, "p0");
  EXPECT_EQ(manifest.location, "dt=2026-11-25/part=p0");
  EXPECT_EQ(manifest.rows, 3);
  EXPECT_EQ(manifest.schema_fingerprint, SchemaFingerprint(*schema));
  ASSERT_EQ(manifest.files.size(), 1u);
  const FileManifest& file = manifest.files[0];
  EXPECT_EQ(file.path, std::string(kP0) + "part-00000.parquet");
  EXPECT_EQ(file.rows, 3);
  std::string bytes = ReadText(file.path);
  EXPECT_EQ(file.bytes, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(manifest.bytes, file.bytes);
  EXPECT_EQ(file.checksum, Xxh3Checksum(bytes));

  // The manifest next to the data is the one Commit returned.
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto stored,
      PartitionManifest::FromJson(ReadText(std::string(kP0) + "_jetflow_manifest.json")));
  EXPECT_EQ(stored.ToJson(), manifest.ToJson());
}

// fsync: false publishes the same lake; only the forcing to disk is left out.
TEST_F(ParquetLoaderTest, CommitsWithoutFsyncWhenAskedTo) {
  auto schema = OrdersSchema();
  auto options = Options();
  options.fsync = false;
  auto loader = Loader(options, schema);
  ASSERT_NE(loader, nullptr);
  const auto* lazy = dynamic_cast<const RenameCommitter*>(&loader->committer());
  ASSERT_NE(lazy, nullptr);
  EXPECT_FALSE(lazy->fsync());
  auto durable_loader = Loader(Options(), schema);
  const auto* durable =
      dynamic_cast<const RenameCommitter*>(&durable_loader->committer());
  ASSERT_NE(durable, nullptr);
  EXPECT_TRUE(durable->fsync());
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK(WritePartition(loader.get(), Partition("p0"),
                                   {Batch(schema, R"([{"id": 1, "name": "a"}])")})
                        .status());
  EXPECT_EQ(testing::DiffBatches(*Batch(schema, R"([{"id": 1, "name": "a"}])"),
                                 *ReadParquet(std::string(kP0) + "part-00000.parquet")),
            "");
}

TEST_F(ParquetLoaderTest, LakeSyncsOnlyWithFsync) {
  const std::string missing = (dir_ / "no-such-file").string();
  auto local = std::make_shared<arrow::fs::LocalFileSystem>();
  auto durable = RenameCommitter::Make(local, LakeLayout(root_.string(), "part"), {});
  auto lazy =
      RenameCommitter::Make(local, LakeLayout(root_.string(), "part"), {/*fsync=*/false});
  // fsync opens the file: a missing one fails only when the lake really syncs.
  EXPECT_TRUE(durable->Sync(missing).IsIOError());
  JETFLOW_EXPECT_OK(lazy->Sync(missing));
}

TEST_F(ParquetLoaderTest, WritesExplicitWriterSettings) {
  auto schema = OrdersSchema();
  auto loader = Loader(Options(), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK(WritePartition(loader.get(), Partition("p0"),
                                   {Batch(schema, R"([{"id": 1, "name": "a"}])")})
                        .status());
  auto reader = OpenParquet(std::string(kP0) + "part-00000.parquet");
  auto metadata = reader->parquet_reader()->metadata();
  EXPECT_EQ(metadata->version(), parquet::ParquetVersion::PARQUET_2_6);
  EXPECT_THAT(metadata->created_by(), HasSubstr("jetflow version"));
  EXPECT_EQ(metadata->RowGroup(0)->ColumnChunk(0)->compression(),
            arrow::Compression::ZSTD);
  // ARROW:schema is stored so that lossless types come back.
  ASSERT_NE(metadata->key_value_metadata(), nullptr);
  EXPECT_TRUE(metadata->key_value_metadata()->Contains("ARROW:schema"));
}

TEST_F(ParquetLoaderTest, SparkProfileWritesSparkReadableFooters) {
  auto input = arrow::schema({
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::NANO, "UTC")),
      arrow::field("local", arrow::timestamp(arrow::TimeUnit::MILLI)),
      arrow::field("u64", arrow::uint64()),
      arrow::field("u32", arrow::uint32()),
      arrow::field("at", arrow::time64(arrow::TimeUnit::MICRO)),
      arrow::field("big", arrow::large_utf8()),
  });
  auto loader = Loader(Options(), input);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK(
      WritePartition(
          loader.get(), Partition("p0"),
          {Batch(input, R"([{"ts": 1000, "local": 5, "u64": 18446744073709551615,
                                "u32": 4294967295, "at": 3723000001, "big": "x"}])")})
          .status());

  auto reader = OpenParquet(std::string(kP0) + "part-00000.parquet");
  std::shared_ptr<arrow::Schema> schema;
  JETFLOW_ASSERT_OK(reader->GetSchema(&schema));
  auto expected = arrow::schema({
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
      arrow::field("local", arrow::timestamp(arrow::TimeUnit::MICRO)),
      arrow::field("u64", arrow::decimal128(20, 0)),
      arrow::field("u32", arrow::int64()),
      arrow::field("at", arrow::utf8()),
      arrow::field("big", arrow::utf8()),
  });
  EXPECT_TRUE(schema->Equals(*expected, /*check_metadata=*/false)) << schema->ToString();

  // What Spark reads: the Parquet logical types themselves.
  const parquet::SchemaDescriptor* parquet_schema =
      reader->parquet_reader()->metadata()->schema();
  auto logical = [&](int i) {
    return parquet_schema->Column(i)->logical_type()->ToString();
  };
  EXPECT_THAT(logical(0), HasSubstr("isAdjustedToUTC=true"));
  EXPECT_THAT(logical(0), HasSubstr("timeUnit=microseconds"));
  EXPECT_THAT(logical(1), HasSubstr("isAdjustedToUTC=false"));
  EXPECT_THAT(logical(2), HasSubstr("Decimal(precision=20, scale=0)"));
  EXPECT_EQ(parquet_schema->Column(3)->physical_type(), parquet::Type::INT64);
  EXPECT_EQ(logical(4), "String");
  // Declares the proleptic Gregorian calendar, so Spark 3.x reads ancient dates as is.
  auto footer = reader->parquet_reader()->metadata()->key_value_metadata();
  ASSERT_NE(footer, nullptr);
  EXPECT_EQ(footer->Get("org.apache.spark.version").ValueOr(""), "3.5.0");
  EXPECT_FALSE(footer->Contains("org.apache.spark.legacyDateTime"));

  auto values = ReadParquet(std::string(kP0) + "part-00000.parquet");
  auto expected_values =
      Batch(expected, R"([{"ts": 1, "local": 5000, "u64": "18446744073709551615",
      "u32": 4294967295, "at": "01:02:03.000001", "big": "x"}])");
  EXPECT_EQ(testing::DiffBatches(*expected_values, *values), "");
}

TEST_F(ParquetLoaderTest, LosslessProfileRoundTripsArrowTypes) {
  auto input = arrow::schema({
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::NANO, "Europe/Paris")),
      arrow::field("u64", arrow::uint64()),
      arrow::field("at", arrow::time64(arrow::TimeUnit::NANO)),
      arrow::field("big", arrow::large_utf8()),
      arrow::field("elapsed", arrow::duration(arrow::TimeUnit::MICRO)),
  });
  auto options = Options();
  options.profile = OutputProfile::kLossless;
  auto loader = Loader(options, input);
  ASSERT_NE(loader, nullptr);
  EXPECT_TRUE(loader->output_schema()->Equals(*input));
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  auto batch = Batch(input, R"([{"ts": 1000000001, "u64": 18446744073709551615, "at": 1,
                                  "big": "x", "elapsed": 5}])");
  JETFLOW_ASSERT_OK(WritePartition(loader.get(), Partition("p0"), {batch}).status());
  EXPECT_EQ(
      testing::DiffBatches(*batch, *ReadParquet(std::string(kP0) + "part-00000.parquet")),
      "");
}

TEST_F(ParquetLoaderTest, LosslessProfileWritesExactEquivalentsWhereParquetNeedsThem) {
  auto input = arrow::schema({
      arrow::field("t", arrow::time32(arrow::TimeUnit::SECOND)),
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::SECOND, "UTC")),
      arrow::field("d", arrow::date64()),
      arrow::field("codes", arrow::dictionary(arrow::int8(), arrow::int64())),
      arrow::field("labels", arrow::dictionary(arrow::int32(), arrow::large_utf8())),
      arrow::field("uid", arrow::fixed_size_binary(16), true,
                   arrow::key_value_metadata({"ARROW:extension:name"}, {"arrow.uuid"})),
  });
  auto options = Options();
  options.profile = OutputProfile::kLossless;
  auto loader = Loader(options, input);
  ASSERT_NE(loader, nullptr);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  auto batch = Batch(input, R"([
      {"t": 3723, "ts": 2, "d": 86400000, "codes": 7, "labels": "x",
       "uid": "0123456789abcdef"},
      {"t": null, "ts": null, "d": null, "codes": null, "labels": null, "uid": null}])");
  JETFLOW_ASSERT_OK(WritePartition(loader.get(), Partition("p0"), {batch}).status());
  // JSON cannot build extension arrays: expect the written UUIDs as the same bytes.
  auto output = loader->output_schema();
  ASSERT_TRUE(output->field(5)->type()->Equals(*arrow::extension::uuid()));
  auto expected = Batch(*output->RemoveField(5),
                        R"([{"t": 3723000, "ts": 2000, "d": 1, "codes": 7, "labels": "x"},
                            {"t": null, "ts": null, "d": null, "codes": null,
                             "labels": null}])");
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      expected, expected->AddColumn(5, output->field(5),
                                    arrow::ExtensionType::WrapArray(
                                        output->field(5)->type(), batch->column(5))));
  EXPECT_EQ(testing::DiffBatches(*expected,
                                 *ReadParquet(std::string(kP0) + "part-00000.parquet")),
            "");
}

TEST_F(ParquetLoaderTest, EncodesWithSeveralThreads) {
  auto schema = OrdersSchema();
  auto options = Options();
  options.encode_threads = 2;
  options.compression = arrow::Compression::SNAPPY;
  auto loader = Loader(options, schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  auto batch = Batch(schema, R"([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])");
  JETFLOW_ASSERT_OK(WritePartition(loader.get(), Partition("p0"), {batch}).status());
  EXPECT_EQ(
      testing::DiffBatches(*batch, *ReadParquet(std::string(kP0) + "part-00000.parquet")),
      "");
}

TEST_F(ParquetLoaderTest, CountsWhatItsEncodersHoldUntilCommit) {
  auto schema = OrdersSchema();
  auto loader = Loader(Options(), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto writer, loader->OpenPartition(Partition("p0")));
  EXPECT_EQ(writer->buffered_bytes(), 0);
  arrow::StringBuilder names;
  arrow::Int64Builder ids;
  for (int64_t i = 0; i < 50000; ++i) {
    JETFLOW_ASSERT_OK(ids.Append(i * 7919));
    JETFLOW_ASSERT_OK(names.Append("name-" + std::to_string(i * 104729)));
  }
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto id_array, ids.Finish());
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto name_array, names.Finish());
  JETFLOW_ASSERT_OK(
      writer->Write(arrow::RecordBatch::Make(schema, 50000, {id_array, name_array})));
  // The open row group's pages and dictionaries: at least the compressed size of 50,000
  // distinct values, well over 100 KB.
  const int64_t held = writer->buffered_bytes();
  EXPECT_GT(held, 100 * 1024);
  JETFLOW_ASSERT_OK(writer->Commit().status());
  EXPECT_EQ(writer->buffered_bytes(), 0) << "held " << held << " before commit";
}

// Three row groups of 100,000 rows, 100,000 distinct ids each.
std::vector<std::shared_ptr<arrow::RecordBatch>> DistinctIdBatches(
    const std::shared_ptr<arrow::Schema>& schema) {
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (int64_t group = 0; group < 3; ++group) {
    arrow::Int64Builder ids;
    arrow::StringBuilder names;
    for (int64_t i = 0; i < 100000; ++i) {
      JETFLOW_EXPECT_OK(ids.Append(group * 100000 + i));
      JETFLOW_EXPECT_OK(names.Append("n" + std::to_string(i % 7)));
    }
    std::shared_ptr<arrow::Array> id_array;
    std::shared_ptr<arrow::Array> name_array;
    JETFLOW_EXPECT_OK(ids.Finish(&id_array));
    JETFLOW_EXPECT_OK(names.Finish(&name_array));
    batches.push_back(arrow::RecordBatch::Make(schema, 100000, {id_array, name_array}));
  }
  return batches;
}

TEST_F(ParquetLoaderTest, ReusesTheDictionaryHashTablesOfEarlierRowGroups) {
  auto schema = OrdersSchema();
  auto options = Options();
  options.row_group_rows = 100000;
  options.write_mode = ParquetLoader::WriteMode::kRowGroups;
  auto loader = Loader(options, schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto writer, loader->OpenPartition(Partition("p0")));
  const auto& pool = dynamic_cast<ParquetPartitionWriter&>(*writer).memory_pool();
  // 100,000 distinct ids a row group: their dictionary's hash table grows to 262,144
  // slots (6 MiB), freed when the row group is written, reused by the next one.
  auto batches = DistinctIdBatches(schema);
  for (const auto& batch : batches) JETFLOW_ASSERT_OK(writer->Write(batch));
  EXPECT_GE(pool.reused_blocks(), 1);
  EXPECT_LE(pool.kept_bytes(), ParquetPartitionWriter::kRecycledBytesMax);
  JETFLOW_ASSERT_OK(writer->Commit().status());
  EXPECT_EQ(pool.kept_bytes(), 0);
  EXPECT_EQ(writer->buffered_bytes(), 0);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto expected,
                               arrow::Table::FromRecordBatches(schema, batches));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto expected_batch, expected->CombineChunksToBatch());
  EXPECT_EQ(testing::DiffBatches(*expected_batch,
                                 *ReadParquet(std::string(kP0) + "part-00000.parquet")),
            "");
}

TEST_F(ParquetLoaderTest, AStreamingWriterKeepsNoFreedBlocks) {
  auto schema = OrdersSchema();
  auto options = Options();
  options.row_group_rows = 100000;
  options.write_mode = ParquetLoader::WriteMode::kStreaming;
  auto loader = Loader(options, schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto writer, loader->OpenPartition(Partition("p0")));
  const auto& pool = dynamic_cast<ParquetPartitionWriter&>(*writer).memory_pool();
  for (const auto& batch : DistinctIdBatches(schema))
    JETFLOW_ASSERT_OK(writer->Write(batch));
  EXPECT_EQ(pool.reused_blocks(), 0);
  EXPECT_EQ(pool.kept_bytes(), 0);
  JETFLOW_ASSERT_OK(writer->Commit().status());
}

TEST_F(ParquetLoaderTest, RecycledBlocksAreAtMostAnEighthOfTheWritersBudgetShare) {
  PartitionContext context;
  EXPECT_EQ(ParquetPartitionWriter::RecycledBytesCapacity(context),
            ParquetPartitionWriter::kRecycledBytesMax);
  context.memory_budget_bytes = int64_t{1} << 30;
  context.partitions_in_flight = 2;
  EXPECT_EQ(ParquetPartitionWriter::RecycledBytesCapacity(context), 64 << 20);
  context.partitions_in_flight = 4;  // 256 MiB each: 64 MiB would be a quarter
  EXPECT_EQ(ParquetPartitionWriter::RecycledBytesCapacity(context), 0);
}

TEST_F(ParquetLoaderTest, CountsEncodedPagesNotTheSizeOfTheRows) {
  auto schema = OrdersSchema();
  auto loader = Loader(Options(), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto writer, loader->OpenPartition(Partition("p0")));
  // 20,000 rows repeating one 1,000-character name: 20 MB of Arrow data that the
  // encoders hold as one dictionary entry and run-length-encoded indexes.
  arrow::StringBuilder names;
  arrow::Int64Builder ids;
  const std::string name(1000, 'n');
  for (int64_t i = 0; i < 20000; ++i) {
    JETFLOW_ASSERT_OK(ids.Append(7));
    JETFLOW_ASSERT_OK(names.Append(name));
  }
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto id_array, ids.Finish());
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto name_array, names.Finish());
  auto batch = arrow::RecordBatch::Make(schema, 20000, {id_array, name_array});
  JETFLOW_ASSERT_OK_AND_ASSIGN(int64_t arrow_bytes,
                               arrow::util::ReferencedBufferSize(*batch));
  JETFLOW_ASSERT_OK(writer->Write(batch));
  EXPECT_GT(writer->buffered_bytes(), 0);
  EXPECT_LT(writer->buffered_bytes(), arrow_bytes / 10);
  JETFLOW_ASSERT_OK(writer->Abort());
}

// --- Write modes
// ------------------------------------------------------------------------

TEST_F(ParquetLoaderTest, AutoWriteModeAdaptsOnlyWhenOthersKeepTheCoresBusy) {
  using Mode = ParquetLoader::WriteMode;
  auto options = Options();  // row_group_bytes 128 MiB, one encode thread
  PartitionContext context = Partition("p0");
  context.memory_budget_bytes = int64_t{1} << 30;
  auto encoding = [&](int in_flight) {
    context.partitions_in_flight = in_flight;
    return ParquetLoader::RowGroupEncodingFor(options, context);
  };
  // One partition: its source and its encoder must overlap.
  EXPECT_EQ(encoding(1), RowGroupEncoding::kStreaming);
  EXPECT_EQ(encoding(2), RowGroupEncoding::kAdaptive);
  // 4 x 128 MiB is half of 1 GiB; 5 would be more.
  EXPECT_EQ(encoding(4), RowGroupEncoding::kAdaptive);
  EXPECT_EQ(encoding(5), RowGroupEncoding::kStreaming);
  // Row groups without a byte bound could hold anything.
  options.row_group_bytes = 0;
  EXPECT_EQ(encoding(2), RowGroupEncoding::kStreaming);
  options.row_group_bytes = int64_t{128} << 20;
  // No budget given.
  context.memory_budget_bytes = 0;
  EXPECT_EQ(encoding(2), RowGroupEncoding::kStreaming);
  context.memory_budget_bytes = int64_t{1} << 30;
  // Several encode threads encode the columns of a streamed row group in parallel.
  options.encode_threads = 2;
  EXPECT_EQ(encoding(2), RowGroupEncoding::kStreaming);
  // An explicit mode is kept.
  options.write_mode = Mode::kRowGroups;
  EXPECT_EQ(encoding(1), RowGroupEncoding::kWhole);
  options.encode_threads = 1;
  options.write_mode = Mode::kStreaming;
  EXPECT_EQ(encoding(4), RowGroupEncoding::kStreaming);
}

// Batches of varied sizes with nulls, and names long enough (~200 bytes, all distinct)
// that an 8,192-row column chunk outgrows the 1 MiB dictionary page and the encoder falls
// back to plain pages.
std::vector<std::shared_ptr<arrow::RecordBatch>> MixedBatches(
    const std::shared_ptr<arrow::Schema>& schema) {
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  int64_t next = 0;
  for (int64_t rows : {1, 7000, 1, 30000, 12345, 2}) {
    arrow::Int64Builder ids;
    arrow::StringBuilder names;
    for (int64_t i = 0; i < rows; ++i, ++next) {
      EXPECT_TRUE((next % 11 == 0 ? ids.AppendNull() : ids.Append(next * 31)).ok());
      JETFLOW_EXPECT_OK(
          names.Append("customer-" + std::to_string(next * 2654435761u) + "-" +
                       std::string(180, static_cast<char>('a' + next % 26))));
    }
    auto id_array = ids.Finish();
    auto name_array = names.Finish();
    EXPECT_TRUE(id_array.ok() && name_array.ok());
    batches.push_back(arrow::RecordBatch::Make(schema, rows, {*id_array, *name_array}));
  }
  return batches;
}

TEST_F(ParquetLoaderTest, BothWriteModesWriteTheSameBytes) {
  auto schema = OrdersSchema();
  auto batches = MixedBatches(schema);
  std::map<std::string, std::string> first;  // file path -> bytes
  for (auto write_mode :
       {ParquetLoader::WriteMode::kStreaming, ParquetLoader::WriteMode::kRowGroups}) {
    std::filesystem::remove_all(root_);
    auto options = Options();
    options.write_mode = write_mode;
    options.row_group_rows = 8192;
    options.max_file_rows = 20000;
    auto loader = Loader(options, schema);
    JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
    JETFLOW_ASSERT_OK_AND_ASSIGN(auto manifest,
                                 WritePartition(loader.get(), Partition("p0"), batches));
    ASSERT_EQ(manifest.rows, 49349);
    ASSERT_EQ(manifest.files.size(), 3u);
    std::map<std::string, std::string> files;
    for (const auto& file : manifest.files) {
      const std::string bytes = ReadText(file.path);
      EXPECT_EQ(file.checksum, Xxh3Checksum(bytes)) << file.path;
      auto reader = OpenParquet(file.path);
      auto row_group = reader->parquet_reader()->metadata()->RowGroup(0);
      EXPECT_EQ(row_group->num_rows(), 8192);
      // The names' dictionary overflowed: some data pages are plain.
      auto names = row_group->ColumnChunk(1);
      EXPECT_TRUE(names->has_dictionary_page());
      EXPECT_TRUE(std::any_of(names->encoding_stats().begin(),
                              names->encoding_stats().end(),
                              [](const parquet::PageEncodingStats& stats) {
                                return stats.page_type == parquet::PageType::DATA_PAGE &&
                                       stats.encoding == parquet::Encoding::PLAIN;
                              }))
          << file.path;
      files[file.path] = bytes;
    }
    if (first.empty()) {
      first = files;
      continue;
    }
    ASSERT_EQ(files.size(), first.size());
    for (const auto& [path, bytes] : files) {
      EXPECT_TRUE(bytes == first[path]) << path << " differs between the write modes";
    }
  }
  // And the rows are the ones written.
  auto written = arrow::Table::FromRecordBatches(schema, batches);
  JETFLOW_ASSERT_OK(written);
  std::vector<std::shared_ptr<arrow::RecordBatch>> read;
  for (const auto& [path, bytes] : first) read.push_back(ReadParquet(path));
  auto read_table = arrow::Table::FromRecordBatches(schema, read);
  JETFLOW_ASSERT_OK(read_table);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto expected, (*written)->CombineChunksToBatch());
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto actual, (*read_table)->CombineChunksToBatch());
  EXPECT_EQ(testing::DiffBatches(*expected, *actual), "");
}

TEST_F(ParquetLoaderTest, RowGroupModeCountsTheRowsItHolds) {
  auto schema = OrdersSchema();
  auto options = Options();
  options.write_mode = ParquetLoader::WriteMode::kRowGroups;
  options.row_group_rows = 40000;
  auto loader = Loader(options, schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto writer, loader->OpenPartition(Partition("p0")));
  auto batches = MixedBatches(schema);
  // 37,002 rows: held as they are, nothing encoded yet.
  int64_t held = 0;
  for (int i = 0; i < 4; ++i) {
    JETFLOW_ASSERT_OK(writer->Write(batches[i]));
    held += arrow::util::TotalBufferSize(*batches[i]);
  }
  EXPECT_GE(writer->buffered_bytes(), held);
  EXPECT_LT(writer->buffered_bytes(), held + (1 << 20));
  // The next batch completes the row group (40,000 rows), which is then written out:
  // the first four batches are let go; the rest of the fifth is still held (a slice
  // keeps the whole batch alive), besides the encoders' state.
  // (The encoders' freed hash tables, kept for the next row group, count too.)
  const int64_t before = writer->buffered_bytes();
  JETFLOW_ASSERT_OK(writer->Write(batches[4]));
  const int64_t kept =
      dynamic_cast<ParquetPartitionWriter&>(*writer).memory_pool().kept_bytes();
  EXPECT_GE(writer->buffered_bytes() - kept, arrow::util::TotalBufferSize(*batches[4]));
  EXPECT_LT(writer->buffered_bytes() - kept, before);
  JETFLOW_ASSERT_OK(writer->Commit().status());
  EXPECT_EQ(writer->buffered_bytes(), 0);
}

// An adaptive writer (write_mode auto with several partitions in flight) of
// OrdersSchema() with 1,000-row row groups.
std::unique_ptr<ParquetPartitionWriter> AdaptiveWriter(const std::string& root) {
  auto options = ParquetLoader::Options();
  options.name = "lake";
  options.path = root;
  options.row_group_rows = 1000;
  auto loader = ParquetLoader::Make(options);
  EXPECT_TRUE(loader.ok()) << loader.status().ToString();
  JETFLOW_EXPECT_OK((*loader)->Bind(arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8())})));
  RunContext run;
  run.pipeline = "orders";
  run.run = {"dt", "2026-11-25"};
  JETFLOW_EXPECT_OK((*loader)->BeginRun(run));
  PartitionContext context;
  context.pipeline = "orders";
  context.run = run.run;
  context.partition.id = "p0";
  context.partitions_in_flight = 2;
  context.memory_budget_bytes = int64_t{1} << 30;
  EXPECT_EQ(ParquetLoader::RowGroupEncodingFor(options, context),
            RowGroupEncoding::kAdaptive);
  auto writer = (*loader)->OpenPartition(context);
  EXPECT_TRUE(writer.ok()) << writer.status().ToString();
  return std::unique_ptr<ParquetPartitionWriter>(
      static_cast<ParquetPartitionWriter*>(writer->release()));
}

TEST_F(ParquetLoaderTest, AdaptiveWriterKeepsRowGroupsWholeWhenItNeverWaitsForRows) {
  auto writer = AdaptiveWriter(root_.string());
  EXPECT_TRUE(writer->holds_whole_row_groups());
  auto batches = MixedBatches(OrdersSchema());
  // Back to back: the writer never waits for rows.
  JETFLOW_ASSERT_OK(writer->Write(batches[0]));
  JETFLOW_ASSERT_OK(writer->Write(batches[1]));  // 7,001 rows: row groups complete
  EXPECT_TRUE(writer->holds_whole_row_groups());
  JETFLOW_ASSERT_OK(writer->Write(batches[2]));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto manifest, writer->Commit());
  EXPECT_EQ(manifest.rows, 7002);
  EXPECT_EQ(ReadParquet(manifest.files[0].path)->num_rows(), 7002);
}

TEST_F(ParquetLoaderTest, AdaptiveWriterStreamsOnceItMostlyWaitsForRows) {
  auto writer = AdaptiveWriter(root_.string());
  auto batch = MixedBatches(OrdersSchema())[1];
  std::vector<std::shared_ptr<arrow::RecordBatch>> slices;
  for (int i = 0; i < 4; ++i) slices.push_back(batch->Slice(700 * i, 700));
  // A slow source: 50 ms between batches of 700 rows that take a few milliseconds to
  // encode. The first row group (1,000 rows) is held whole, the rest streamed.
  for (const auto& slice : slices) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    JETFLOW_ASSERT_OK(writer->Write(slice));
  }
  EXPECT_FALSE(writer->holds_whole_row_groups());
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto manifest, writer->Commit());
  ASSERT_EQ(manifest.rows, 2800);
  // The same rows streamed from the start give the same bytes.
  auto options = Options();
  options.path = (dir_ / "streamed").string();
  options.row_group_rows = 1000;
  options.write_mode = ParquetLoader::WriteMode::kStreaming;
  auto streamed = Loader(options, OrdersSchema());
  JETFLOW_ASSERT_OK(streamed->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto expected,
                               WritePartition(streamed.get(), Partition("p0"), slices));
  ASSERT_EQ(expected.files.size(), 1u);
  ASSERT_EQ(manifest.files.size(), 1u);
  EXPECT_EQ(manifest.files[0].checksum, expected.files[0].checksum);
  EXPECT_EQ(ReadParquet(manifest.files[0].path)->num_rows(), 2800);
}

// --- Errors while writing
// ---------------------------------------------------------------

TEST_F(ParquetLoaderTest, RefusesToTruncateNanosecondTimestamps) {
  auto input =
      arrow::schema({arrow::field("created", arrow::timestamp(arrow::TimeUnit::NANO))});
  auto loader = Loader(Options(), input);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto writer, loader->OpenPartition(Partition("p0")));
  JETFLOW_ASSERT_OK(writer->Write(Batch(input, R"([{"created": 2000}])")));
  arrow::Status status =
      writer->Write(Batch(input, R"([{"created": 1000}, {"created": 1500}])"));
  ASSERT_TRUE(status.IsInvalid());
  EXPECT_THAT(status.message(), HasSubstr("column 'created'"));
  EXPECT_THAT(status.message(), HasSubstr("at row 2"));
  EXPECT_THAT(status.message(), HasSubstr("partition 'p0'"));
  EXPECT_FALSE(IsRetryable(status));
  EXPECT_TRUE(writer->Commit().status().IsInvalid());  // a failed writer cannot commit
  JETFLOW_ASSERT_OK(writer->Abort());
  EXPECT_THAT(Files(), IsEmpty());
}

TEST_F(ParquetLoaderTest, NonNullableDeclaredColumnRejectsNull) {
  auto input = OrdersSchema();
  auto options = Options();
  options.schema =
      arrow::schema({arrow::field("id", arrow::int64()),
                     arrow::field("name", arrow::utf8(), /*nullable=*/false)});
  auto loader = Loader(options, input);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto writer, loader->OpenPartition(Partition("p0")));
  arrow::Status status =
      writer->Write(Batch(input, R"([{"id": 1, "name": "a"}, {"id": 2, "name": null}])"));
  ASSERT_TRUE(status.IsInvalid());
  EXPECT_THAT(status.message(),
              HasSubstr("column 'name' is not nullable but row 1 is null"));
  JETFLOW_ASSERT_OK(writer->Abort());
}

// --- Declared schemas
// -------------------------------------------------------------------

TEST_F(ParquetLoaderTest, DeclaredSchemaReordersCastsAndDropsExtras) {
  auto input = arrow::schema({arrow::field("name", arrow::utf8()),
                              arrow::field("amount", arrow::int32()),
                              arrow::field("debug", arrow::boolean())});
  auto declared =
      arrow::schema({arrow::field("amount", arrow::int64(), /*nullable=*/false),
                     arrow::field("name", arrow::utf8())});
  auto options = Options();
  options.schema = declared;
  options.extra_columns = ParquetLoader::ExtraColumns::kDrop;
  auto loader = Loader(options, input);
  ASSERT_NE(loader, nullptr);
  EXPECT_TRUE(loader->output_schema()->Equals(*declared));
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK(
      WritePartition(loader.get(), Partition("p0"),
                     {Batch(input, R"([{"name": "a", "amount": 5, "debug": true}])")})
          .status());
  auto written = ReadParquet(std::string(kP0) + "part-00000.parquet");
  EXPECT_EQ(
      testing::DiffBatches(*Batch(declared, R"([{"amount": 5, "name": "a"}])"), *written),
      "");
}

TEST_F(ParquetLoaderTest, DeclaredSchemaMismatchesAreListedInOneError) {
  auto input = arrow::schema({arrow::field("day", arrow::int64()),
                              arrow::field("extra", arrow::utf8()),
                              arrow::field("ok", arrow::int32())});
  auto options = Options();
  options.schema = arrow::schema(
      {arrow::field("ok", arrow::int64()), arrow::field("day", arrow::date32()),
       arrow::field("missing", arrow::utf8()),
       arrow::field("ns", arrow::timestamp(arrow::TimeUnit::NANO))});
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto loader, ParquetLoader::Make(options));
  auto bound = loader->Bind(input);
  ASSERT_TRUE(bound.status().IsInvalid());
  const std::string& message = bound.status().message();
  EXPECT_THAT(message,
              HasSubstr("column 'day': source type int64 cannot be cast to declared "
                        "date32"));
  EXPECT_THAT(message,
              HasSubstr("column 'missing': declared in schema but missing from the "
                        "stream"));
  EXPECT_THAT(message, HasSubstr("column 'extra': in the stream but not declared"));
  EXPECT_THAT(message,
              HasSubstr("column 'ns': declared type timestamp[ns] is not Spark-safe"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("'ok'")));
}

TEST_F(ParquetLoaderTest, BindRejectsTypesTheProfileCannotWrite) {
  auto input =
      arrow::schema({arrow::field("span", arrow::day_time_interval()),
                     arrow::field("elapsed", arrow::duration(arrow::TimeUnit::SECOND))});
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto spark, ParquetLoader::Make(Options()));
  auto status = spark->Bind(input).status();
  EXPECT_THAT(status.message(), HasSubstr("column 'span'"));
  EXPECT_THAT(status.message(), HasSubstr("column 'elapsed'"));

  auto options = Options();
  options.profile = OutputProfile::kLossless;
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto lossless, ParquetLoader::Make(options));
  status = lossless->Bind(input).status();
  EXPECT_THAT(status.message(),
              HasSubstr("column 'span': type day_time_interval cannot be "
                        "written to Parquet"));
  EXPECT_THAT(status.message(), ::testing::Not(HasSubstr("'elapsed'")));
}

// --- Commit protocol
// --------------------------------------------------------------------

TEST_F(ParquetLoaderTest, SecondAttemptReplacesTheFirst) {
  auto schema = OrdersSchema();
  auto options = Options();
  options.max_file_rows = 1;
  auto loader = Loader(options, schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK(
      WritePartition(
          loader.get(), Partition("p0", 1),
          {Batch(schema, R"([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])")})
          .status());
  EXPECT_EQ(Files().size(), 3u);
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto manifest, WritePartition(loader.get(), Partition("p0", 2),
                                    {Batch(schema, R"([{"id": 9, "name": "z"}])")}));
  EXPECT_THAT(Files(), ElementsAre(std::string(kP0) + "_jetflow_manifest.json",
                                   std::string(kP0) + "part-00000.parquet"));
  EXPECT_EQ(manifest.rows, 1);
  EXPECT_EQ(testing::DiffBatches(*Batch(schema, R"([{"id": 9, "name": "z"}])"),
                                 *ReadParquet(std::string(kP0) + "part-00000.parquet")),
            "");
}

TEST_F(ParquetLoaderTest, AbortLeavesNoTrace) {
  auto schema = OrdersSchema();
  auto loader = Loader(Options(), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto writer, loader->OpenPartition(Partition("p0")));
  JETFLOW_ASSERT_OK(writer->Write(Batch(schema, R"([{"id": 1, "name": "a"}])")));
  EXPECT_EQ(Files().size(), 1u);  // the staged file
  JETFLOW_ASSERT_OK(writer->Abort());
  JETFLOW_ASSERT_OK(writer->Abort());  // idempotent
  EXPECT_THAT(Files(), IsEmpty());
  EXPECT_FALSE(fs::exists(root_ / "_jetflow_staging/dt=2026-11-25/p0"));
  EXPECT_FALSE(fs::exists(root_ / kP0));
}

TEST_F(ParquetLoaderTest, DestroyingAnOpenWriterAborts) {
  auto schema = OrdersSchema();
  auto loader = Loader(Options(), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  {
    JETFLOW_ASSERT_OK_AND_ASSIGN(auto writer, loader->OpenPartition(Partition("p0")));
    JETFLOW_ASSERT_OK(writer->Write(Batch(schema, R"([{"id": 1, "name": "a"}])")));
  }
  EXPECT_THAT(Files(), IsEmpty());
}

TEST_F(ParquetLoaderTest, AbortKeepsThePreviouslyCommittedOutput) {
  auto schema = OrdersSchema();
  auto loader = Loader(Options(), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  auto first = Batch(schema, R"([{"id": 1, "name": "a"}])");
  JETFLOW_ASSERT_OK(WritePartition(loader.get(), Partition("p0", 1), {first}).status());
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto writer, loader->OpenPartition(Partition("p0", 2)));
  JETFLOW_ASSERT_OK(writer->Write(Batch(schema, R"([{"id": 2, "name": "b"}])")));
  JETFLOW_ASSERT_OK(writer->Abort());
  EXPECT_EQ(
      testing::DiffBatches(*first, *ReadParquet(std::string(kP0) + "part-00000.parquet")),
      "");
}

TEST_F(ParquetLoaderTest, RerunLeavesExactlyTheNewFiles) {
  auto schema = OrdersSchema();
  auto options = Options();
  options.max_file_rows = 2;
  {
    auto loader = Loader(options, schema);
    JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
    JETFLOW_ASSERT_OK_AND_ASSIGN(
        auto manifest,
        WritePartition(loader.get(), Partition("p0"),
                       {Batch(schema, R"([{"id": 1, "name": "a"}, {"id": 2, "name": "b"},
                                          {"id": 3, "name": "c"}])")}));
    JETFLOW_ASSERT_OK(loader->FinishRun(Run(), {manifest}));
  }
  EXPECT_EQ(Files().size(), 5u);  // 2 data files, manifest, run manifest, _SUCCESS
  auto loader = Loader(options, schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  auto batch = Batch(schema, R"([{"id": 4, "name": "d"}])");
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto manifest,
                               WritePartition(loader.get(), Partition("p0"), {batch}));
  JETFLOW_ASSERT_OK(loader->FinishRun(Run(), {manifest}));
  EXPECT_THAT(Files(),
              ElementsAre("dt=2026-11-25/_SUCCESS", "dt=2026-11-25/_jetflow_run.json",
                          std::string(kP0) + "_jetflow_manifest.json",
                          std::string(kP0) + "part-00000.parquet"));
  EXPECT_EQ(
      testing::DiffBatches(*batch, *ReadParquet(std::string(kP0) + "part-00000.parquet")),
      "");
}

TEST_F(ParquetLoaderTest, RerunWithTheSameInputWritesIdenticalFiles) {
  auto schema = OrdersSchema();
  auto batch = Batch(schema, R"([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])");
  auto loader = Loader(Options(), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto first,
                               WritePartition(loader.get(), Partition("p0", 1), {batch}));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto second,
                               WritePartition(loader.get(), Partition("p0", 2), {batch}));
  EXPECT_EQ(first.ToJson(), second.ToJson());  // same paths, sizes and checksums
}

TEST_F(ParquetLoaderTest, EmptyPartitionCommitsAndReplacesOldData) {
  auto schema = OrdersSchema();
  auto loader = Loader(Options(), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK(WritePartition(loader.get(), Partition("p0", 1),
                                   {Batch(schema, R"([{"id": 1, "name": "a"}])")})
                        .status());
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto manifest,
      WritePartition(loader.get(), Partition("p0", 2), {Batch(schema, "[]")}));
  EXPECT_EQ(manifest.rows, 0);
  EXPECT_EQ(manifest.bytes, 0);
  EXPECT_THAT(manifest.files, IsEmpty());
  EXPECT_THAT(Files(), ElementsAre(std::string(kP0) + "_jetflow_manifest.json"));
}

TEST_F(ParquetLoaderTest, RollsFilesAtMaxFileRows) {
  auto schema = OrdersSchema();
  auto options = Options();
  options.max_file_rows = 2;
  auto loader = Loader(options, schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto manifest,
      WritePartition(
          loader.get(), Partition("p0"),
          {Batch(schema, R"([{"id": 1, "name": "a"}, {"id": 2, "name": "b"},
                                        {"id": 3, "name": "c"}])"),
           Batch(schema, R"([{"id": 4, "name": "d"}, {"id": 5, "name": "e"}])")}));
  ASSERT_EQ(manifest.files.size(), 3u);
  EXPECT_EQ(manifest.files[0].path, std::string(kP0) + "part-00000.parquet");
  EXPECT_EQ(manifest.files[1].path, std::string(kP0) + "part-00001.parquet");
  EXPECT_EQ(manifest.files[2].path, std::string(kP0) + "part-00002.parquet");
  EXPECT_EQ(manifest.rows, 5);
  int64_t total = 0;
  for (const auto& file : manifest.files) {
    EXPECT_LE(file.rows, 2);
    EXPECT_EQ(ReadParquet(file.path)->num_rows(), file.rows);
    // Each file is digested while it is written: its own bytes, not its neighbours'.
    const std::string bytes = ReadText(file.path);
    EXPECT_EQ(file.bytes, static_cast<int64_t>(bytes.size()));
    EXPECT_EQ(file.checksum, Xxh3Checksum(bytes)) << file.path;
    total += file.rows;
  }
  EXPECT_EQ(total, 5);
}

TEST_F(ParquetLoaderTest, EndsRowGroupsAtRowGroupBytes) {
  auto schema = OrdersSchema();
  auto options = Options();
  options.row_group_bytes = 4096;
  auto loader = Loader(options, schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  arrow::StringBuilder names;
  arrow::Int64Builder ids;
  for (int64_t i = 0; i < 1000; ++i) {
    JETFLOW_ASSERT_OK(ids.Append(i));
    JETFLOW_ASSERT_OK(names.Append("name-" + std::to_string(1000000 + i)));
  }
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto id_array, ids.Finish());
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto name_array, names.Finish());
  auto batch = arrow::RecordBatch::Make(schema, 1000, {id_array, name_array});
  // 8 + 4 + 12 bytes a row (id, name offset, name), so a row group ends at its 171st row
  // (4,104 bytes) and 1,000 rows make five row groups of 171 rows and one of 145.
  JETFLOW_ASSERT_OK_AND_ASSIGN(int64_t batch_bytes,
                               arrow::util::ReferencedBufferSize(*batch));
  ASSERT_EQ(batch_bytes, 24000);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto manifest,
                               WritePartition(loader.get(), Partition("p0"), {batch}));
  ASSERT_EQ(manifest.files.size(), 1u);
  auto reader = OpenParquet(manifest.files[0].path);
  auto metadata = reader->parquet_reader()->metadata();
  ASSERT_EQ(metadata->num_row_groups(), 6);
  for (int i = 0; i < metadata->num_row_groups(); ++i) {
    EXPECT_EQ(metadata->RowGroup(i)->num_rows(), i < 5 ? 171 : 145) << i;
  }
  EXPECT_EQ(testing::DiffBatches(*batch, *ReadParquet(manifest.files[0].path)), "");
}

TEST_F(ParquetLoaderTest, RollsFilesAtMaxFileBytes) {
  auto schema = OrdersSchema();
  auto options = Options();
  options.max_file_bytes = 1;  // every flushed row group fills a file
  options.row_group_rows = 2;
  auto loader = Loader(options, schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto manifest,
      WritePartition(loader.get(), Partition("p0"),
                     {Batch(schema, R"([{"id": 1, "name": "a"}, {"id": 2, "name": "b"},
                                        {"id": 3, "name": "c"}])"),
                      Batch(schema, R"([{"id": 4, "name": "d"}])")}));
  EXPECT_GE(manifest.files.size(), 2u);
  EXPECT_EQ(manifest.rows, 4);
}

// --- Runs
// -------------------------------------------------------------------------------

TEST_F(ParquetLoaderTest, FinishRunRemovesStalePartitionsAndMarksSuccess) {
  auto schema = OrdersSchema();
  {
    auto loader = Loader(Options(), schema);
    JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
    std::vector<PartitionManifest> manifests;
    for (const char* id : {"p0", "p1"}) {
      JETFLOW_ASSERT_OK_AND_ASSIGN(
          auto manifest, WritePartition(loader.get(), Partition(id),
                                        {Batch(schema, R"([{"id": 1, "name": "a"}])")}));
      manifests.push_back(manifest);
    }
    JETFLOW_ASSERT_OK(loader->FinishRun(Run(), manifests));
  }
  fs::create_directories(root_ / "dt=2026-11-25/old_key=3");  // an earlier layout
  auto loader = Loader(Options(), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto manifest,
      WritePartition(
          loader.get(), Partition("p0"),
          {Batch(schema, R"([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])")}));
  JETFLOW_ASSERT_OK(loader->FinishRun(Run(), {manifest}));

  EXPECT_FALSE(fs::exists(root_ / "dt=2026-11-25/part=p1"));
  EXPECT_FALSE(fs::exists(root_ / "dt=2026-11-25/old_key=3"));
  EXPECT_THAT(Files(),
              ElementsAre("dt=2026-11-25/_SUCCESS", "dt=2026-11-25/_jetflow_run.json",
                          std::string(kP0) + "_jetflow_manifest.json",
                          std::string(kP0) + "part-00000.parquet"));
  EXPECT_EQ(ReadText("dt=2026-11-25/_SUCCESS"), "");
  EXPECT_FALSE(fs::exists(root_ / "_jetflow_staging"));
  EXPECT_FALSE(fs::exists(root_ / "_jetflow_trash"));

  auto run = nlohmann::json::parse(ReadText("dt=2026-11-25/_jetflow_run.json"));
  EXPECT_EQ(run["format"], "jetflow.run-manifest/1");
  EXPECT_EQ(run["pipeline"], "orders");
  EXPECT_EQ(run["loader"], "lake");
  EXPECT_EQ(run["instance"], "dt=2026-11-25");
  EXPECT_EQ(run["run_id"], 7);
  EXPECT_EQ(run["rows"], 2);
  EXPECT_EQ(run["bytes"], manifest.bytes);
  EXPECT_EQ(run["schema_fingerprint"], SchemaFingerprint(*schema));
  EXPECT_EQ(run["columns"].size(), 2u);
  ASSERT_EQ(run["partitions"].size(), 1u);
  EXPECT_EQ(run["partitions"][0]["partition_id"], "p0");
  EXPECT_TRUE(run["finished_at"].is_string());
}

TEST_F(ParquetLoaderTest, AnEmptyRunGetsOneEmptyFileInItsFirstPartition) {
  auto schema = OrdersSchema();
  auto loader = Loader(Options(), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  std::vector<PartitionManifest> manifests;
  for (const char* id : {"p1", "p0"}) {
    JETFLOW_ASSERT_OK_AND_ASSIGN(auto manifest,
                                 WritePartition(loader.get(), Partition(id), {}));
    manifests.push_back(manifest);
  }
  JETFLOW_ASSERT_OK(loader->FinishRun(Run(), manifests));
  const std::string file = std::string(kP0) + "part-00000.parquet";
  EXPECT_THAT(Files(),
              ElementsAre("dt=2026-11-25/_SUCCESS", "dt=2026-11-25/_jetflow_run.json",
                          std::string(kP0) + "_jetflow_manifest.json", file,
                          "dt=2026-11-25/part=p1/_jetflow_manifest.json"));
  auto read = ReadParquet(file);
  EXPECT_EQ(read->num_rows(), 0);
  EXPECT_TRUE(read->schema()->Equals(*schema)) << read->schema()->ToString();
  // Listed like any file, in the partition's manifest and the run's.
  auto published =
      nlohmann::json::parse(ReadText(std::string(kP0) + "_jetflow_manifest.json"));
  ASSERT_EQ(published["files"].size(), 1u);
  EXPECT_EQ(published["files"][0]["path"], "dt=2026-11-25/part=p0/part-00000.parquet");
  EXPECT_EQ(published["files"][0]["rows"], 0);
  auto run = nlohmann::json::parse(ReadText("dt=2026-11-25/_jetflow_run.json"));
  EXPECT_EQ(run["rows"], 0);
  ASSERT_EQ(run["partitions"].size(), 2u);
  EXPECT_EQ(run["partitions"][0], published);
  EXPECT_EQ(run["bytes"], published["bytes"]);
  EXPECT_FALSE(fs::exists(root_ / "_jetflow_staging"));

  // Finishing again (a resumed run) writes the same bytes.
  const std::string bytes = ReadText(file);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK(loader->FinishRun(Run(), manifests));
  EXPECT_EQ(ReadText(file), bytes);
}

TEST_F(ParquetLoaderTest, ARunWithRowsGetsNoEmptyFile) {
  auto schema = OrdersSchema();
  auto loader = Loader(Options(), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto empty,
                               WritePartition(loader.get(), Partition("p0"), {}));
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto full, WritePartition(loader.get(), Partition("p1"),
                                {Batch(schema, R"([{"id": 1, "name": "a"}])")}));
  JETFLOW_ASSERT_OK(loader->FinishRun(Run(), {empty, full}));
  EXPECT_THAT(Files(),
              ElementsAre("dt=2026-11-25/_SUCCESS", "dt=2026-11-25/_jetflow_run.json",
                          std::string(kP0) + "_jetflow_manifest.json",
                          "dt=2026-11-25/part=p1/_jetflow_manifest.json",
                          "dt=2026-11-25/part=p1/part-00000.parquet"));
}

TEST_F(ParquetLoaderTest, ARunWithoutPartitionsGetsAnEmptyFileInPartitionEmpty) {
  auto schema = OrdersSchema();
  {
    auto loader = Loader(Options(), schema);
    JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
    JETFLOW_ASSERT_OK_AND_ASSIGN(
        auto manifest, WritePartition(loader.get(), Partition("p0"),
                                      {Batch(schema, R"([{"id": 1, "name": "a"}])")}));
    JETFLOW_ASSERT_OK(loader->FinishRun(Run(), {manifest}));
  }
  auto loader = Loader(Options(), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK(loader->FinishRun(Run(), {}));
  EXPECT_THAT(Files(),
              ElementsAre("dt=2026-11-25/_SUCCESS", "dt=2026-11-25/_jetflow_run.json",
                          "dt=2026-11-25/part=empty/_jetflow_manifest.json",
                          "dt=2026-11-25/part=empty/part-00000.parquet"));
  EXPECT_EQ(ReadParquet("dt=2026-11-25/part=empty/part-00000.parquet")->num_rows(), 0);
  auto run = nlohmann::json::parse(ReadText("dt=2026-11-25/_jetflow_run.json"));
  ASSERT_EQ(run["partitions"].size(), 1u);
  EXPECT_EQ(run["partitions"][0]["partition_id"], "empty");
}

TEST_F(ParquetLoaderTest, FinishRunRequiresEveryPartitionCommitted) {
  auto schema = OrdersSchema();
  auto loader = Loader(Options(), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  PartitionManifest ghost;
  ghost.partition_id = "p9";
  auto status = loader->FinishRun(Run(), {ghost});
  EXPECT_THAT(status.message(), HasSubstr("partition 'p9' has no committed output"));
  EXPECT_FALSE(fs::exists(root_ / "dt=2026-11-25/_SUCCESS"));
}

TEST_F(ParquetLoaderTest, BeginRunRemovesMarkersAndDeadAttempts) {
  auto schema = OrdersSchema();
  auto loader = Loader(Options(), schema);
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto manifest, WritePartition(loader.get(), Partition("p0"),
                                    {Batch(schema, R"([{"id": 1, "name": "a"}])")}));
  JETFLOW_ASSERT_OK(loader->FinishRun(Run(), {manifest}));
  // A killed process left a staged attempt behind.
  fs::create_directories(root_ / "_jetflow_staging/dt=2026-11-25/p1/attempt-1");
  std::ofstream(root_ / "_jetflow_staging/dt=2026-11-25/p1/attempt-1/part-00000.parquet")
      << "x";
  // Another run instance is not touched.
  fs::create_directories(root_ / "_jetflow_staging/dt=2026-11-26/p1/attempt-1");

  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
  EXPECT_FALSE(fs::exists(root_ / "dt=2026-11-25/_SUCCESS"));
  EXPECT_FALSE(fs::exists(root_ / "dt=2026-11-25/_jetflow_run.json"));
  EXPECT_FALSE(fs::exists(root_ / "_jetflow_staging/dt=2026-11-25/p1"));
  EXPECT_TRUE(fs::exists(root_ / "_jetflow_staging/dt=2026-11-26/p1/attempt-1"));
  // Committed partitions stay: a resumed run keeps them.
  EXPECT_TRUE(fs::exists(root_ / kP0 / "part-00000.parquet"));
}

TEST_F(ParquetLoaderTest, UnwritableRootFailsAtBeginRunWithThePath) {
  std::ofstream(dir_ / "file") << "not a directory";
  auto options = Options();
  options.path = (dir_ / "file" / "lake").string();
  auto loader = Loader(options, OrdersSchema());
  ASSERT_NE(loader, nullptr);
  arrow::Status status = loader->BeginRun(Run());
  ASSERT_TRUE(status.IsIOError()) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr((dir_ / "file" / "lake").string()));
  EXPECT_THAT(status.message(), HasSubstr("cannot prepare run 'dt=2026-11-25'"));
  EXPECT_FALSE(IsRetryable(status));
}

// --- Other filesystems and injected failures
// --------------------------------------------

// A stream that adds one byte the writer never wrote when it closes: the store keeps
// something other than what was written.
class OneByteMoreOnClose : public arrow::io::OutputStream {
 public:
  explicit OneByteMoreOnClose(std::shared_ptr<arrow::io::OutputStream> inner)
      : inner_(std::move(inner)) {}
  arrow::Status Write(const void* data, int64_t nbytes) override {
    return inner_->Write(data, nbytes);
  }
  arrow::Status Flush() override { return inner_->Flush(); }
  arrow::Status Close() override {
    if (!inner_->closed()) ARROW_RETURN_NOT_OK(inner_->Write("x", 1));
    return inner_->Close();
  }
  bool closed() const override { return inner_->closed(); }
  arrow::Result<int64_t> Tell() const override { return inner_->Tell(); }

 private:
  std::shared_ptr<arrow::io::OutputStream> inner_;
};

// The local disk posing as a remote store (no fsync, no atomic exchange), optionally
// failing to create data files or storing one byte more than written.
class RemoteLikeFileSystem : public arrow::fs::LocalFileSystem {
 public:
  std::string type_name() const override { return "remote-test"; }
  using arrow::fs::LocalFileSystem::OpenOutputStream;
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenOutputStream(
      const std::string& path,
      const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) override {
    const bool data_file = path.size() > 8 && path.substr(path.size() - 8) == ".parquet";
    if (fail_data_files && data_file) {
      return arrow::Status::IOError("injected: connection reset");
    }
    ARROW_ASSIGN_OR_RAISE(auto stream,
                          arrow::fs::LocalFileSystem::OpenOutputStream(path, metadata));
    if (grow_data_files && data_file) {
      return std::make_shared<OneByteMoreOnClose>(std::move(stream));
    }
    return stream;
  }
  bool fail_data_files = false;
  bool grow_data_files = false;
};

TEST_F(ParquetLoaderTest, PublishesOnFilesystemsWithoutAtomicExchange) {
  auto filesystem = std::make_shared<RemoteLikeFileSystem>();
  auto schema = OrdersSchema();
  auto loader = OrdersLoaderOn(filesystem);
  JETFLOW_ASSERT_OK(WritePartition(loader.get(), Partition("p0", 1),
                                   {Batch(schema, R"([{"id": 1, "name": "a"}])")})
                        .status());
  auto second = Batch(schema, R"([{"id": 2, "name": "b"}])");
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto manifest, WritePartition(loader.get(), Partition("p0", 2), {second}));
  JETFLOW_ASSERT_OK(loader->FinishRun(Run(), {manifest}));
  EXPECT_THAT(Files(),
              ElementsAre("dt=2026-11-25/_SUCCESS", "dt=2026-11-25/_jetflow_run.json",
                          std::string(kP0) + "_jetflow_manifest.json",
                          std::string(kP0) + "part-00000.parquet"));
  EXPECT_EQ(testing::DiffBatches(*second,
                                 *ReadParquet(std::string(kP0) + "part-00000.parquet")),
            "");
}

TEST_F(ParquetLoaderTest, RemoteWriteFailuresAreRetryableAndNameTheFile) {
  auto filesystem = std::make_shared<RemoteLikeFileSystem>();
  filesystem->fail_data_files = true;
  auto schema = OrdersSchema();
  auto loader = OrdersLoaderOn(filesystem);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto writer, loader->OpenPartition(Partition("p0")));
  arrow::Status status = writer->Write(Batch(schema, R"([{"id": 1, "name": "a"}])"));
  ASSERT_TRUE(status.IsIOError()) << status.ToString();
  EXPECT_TRUE(IsRetryable(status));
  EXPECT_THAT(status.message(), HasSubstr("injected: connection reset"));
  EXPECT_THAT(status.message(), HasSubstr("partition 'p0'"));
  EXPECT_THAT(
      status.message(),
      HasSubstr("_jetflow_staging/dt=2026-11-25/p0/attempt-1/part-00000.parquet"));
  JETFLOW_ASSERT_OK(writer->Abort());
  EXPECT_THAT(Files(), IsEmpty());
}

TEST_F(ParquetLoaderTest, FileThatIsNotWhatWasWrittenIsNotPublished) {
  auto filesystem = std::make_shared<RemoteLikeFileSystem>();
  filesystem->grow_data_files = true;
  auto schema = OrdersSchema();
  auto loader = OrdersLoaderOn(filesystem);
  auto manifest = WritePartition(loader.get(), Partition("p0"),
                                 {Batch(schema, R"([{"id": 1, "name": "a"}])")});
  ASSERT_FALSE(manifest.ok());
  EXPECT_THAT(manifest.status().message(),
              HasSubstr("file check failed: the file holds"));
  EXPECT_THAT(manifest.status().message(), HasSubstr("part-00000.parquet"));
  EXPECT_FALSE(fs::exists(root_ / kP0)) << "a partition with a bad file was published";
}

// The loader goes through its committer: a publish that fails (here: the manifest cannot
// be written) keeps the previous output of the partition, whole.
TEST_F(ParquetLoaderTest, FailedPublishKeepsThePreviousPartition) {
  auto filesystem = std::make_shared<testing::FaultInjectingFileSystem>(
      std::make_shared<arrow::fs::LocalFileSystem>());
  auto schema = OrdersSchema();
  auto loader = OrdersLoaderOn(filesystem);
  auto first = Batch(schema, R"([{"id": 1, "name": "a"}])");
  JETFLOW_ASSERT_OK(WritePartition(loader.get(), Partition("p0", 1), {first}).status());
  // The second attempt's data file is its first output stream, the manifest the next.
  filesystem->FailCall(testing::FileSystemOperation::kOpenOutputStream, 2);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto writer, loader->OpenPartition(Partition("p0", 2)));
  JETFLOW_ASSERT_OK(writer->Write(Batch(schema, R"([{"id": 2, "name": "b"}])")));
  auto committed = writer->Commit();
  ASSERT_FALSE(committed.ok());
  EXPECT_TRUE(filesystem->fault_injected());
  EXPECT_THAT(committed.status().message(),
              HasSubstr("injected fault: OpenOutputStream"));
  EXPECT_THAT(committed.status().message(), HasSubstr("_jetflow_manifest.json"));
  EXPECT_THAT(committed.status().message(), HasSubstr("publishing partition 'p0'"));
  JETFLOW_ASSERT_OK(writer->Abort());
  EXPECT_THAT(Files(), ElementsAre(std::string(kP0) + "_jetflow_manifest.json",
                                   std::string(kP0) + "part-00000.parquet"));
  EXPECT_EQ(
      testing::DiffBatches(*first, *ReadParquet(std::string(kP0) + "part-00000.parquet")),
      "");
}

// --- Options
// ----------------------------------------------------------------------------

struct ParsedOptions {
  Diagnostics diagnostics;
  arrow::Result<ParquetLoader::Options> options;
};

std::unique_ptr<ParsedOptions> Parse(const std::string& yaml) {
  auto parsed = std::make_unique<ParsedOptions>();
  ConfigNode node = ConfigNode::Parse(yaml, "pipeline.yaml", &parsed->diagnostics);
  ComponentContext context;
  context.name = "lake";
  context.base_dir = "/pipelines";
  parsed->options = ParquetLoader::ParseOptions(node, context);
  return parsed;
}

TEST_F(ParquetLoaderTest, ParsesEveryOption) {
  auto parsed = Parse(R"(
path: out/lake
profile: lossless
compression: zstd
compression_level: 9
row_group_rows: 1000
row_group_bytes: 32MiB
max_file_rows: 5000
max_file_bytes: 64MiB
dictionary: false
statistics: false
data_page_version: "2.0"
encode_threads: 4
write_mode: row_groups
fsync: false
partition_column: shard
schema:
  - {name: id, type: int64, nullable: false}
  - {name: at, type: "timestamp[us, UTC]"}
extra_columns: drop
)");
  ASSERT_TRUE(parsed->options.ok()) << parsed->options.status().ToString();
  const auto& options = *parsed->options;
  EXPECT_EQ(options.name, "lake");
  EXPECT_EQ(options.path, "/pipelines/out/lake");
  EXPECT_EQ(options.profile, OutputProfile::kLossless);
  EXPECT_EQ(options.compression, arrow::Compression::ZSTD);
  EXPECT_EQ(options.compression_level, 9);
  EXPECT_EQ(options.row_group_rows, 1000);
  EXPECT_EQ(options.row_group_bytes, 32 << 20);
  EXPECT_EQ(options.max_file_rows, 5000);
  EXPECT_EQ(options.max_file_bytes, 64 << 20);
  EXPECT_FALSE(options.dictionary);
  EXPECT_FALSE(options.statistics);
  EXPECT_EQ(options.data_page_version, parquet::ParquetDataPageVersion::V2);
  EXPECT_EQ(options.encode_threads, 4);
  EXPECT_EQ(options.write_mode, ParquetLoader::WriteMode::kRowGroups);
  EXPECT_FALSE(options.fsync);
  EXPECT_EQ(options.partition_column, "shard");
  auto declared = arrow::schema(
      {arrow::field("id", arrow::int64(), false),
       arrow::field("at", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"))});
  ASSERT_NE(options.schema, nullptr);
  EXPECT_TRUE(options.schema->Equals(*declared)) << options.schema->ToString();
  EXPECT_EQ(options.extra_columns, ParquetLoader::ExtraColumns::kDrop);
  EXPECT_FALSE(parsed->diagnostics.has_errors());
}

TEST_F(ParquetLoaderTest, DefaultsMatchTheDocumentation) {
  auto parsed = Parse("path: /data/lake\n");
  ASSERT_TRUE(parsed->options.ok()) << parsed->options.status().ToString();
  const auto& options = *parsed->options;
  EXPECT_EQ(options.profile, OutputProfile::kSpark);
  EXPECT_EQ(options.compression, arrow::Compression::ZSTD);
  EXPECT_FALSE(options.compression_level.has_value());
  EXPECT_EQ(options.row_group_rows, 1048576);
  EXPECT_EQ(options.row_group_bytes, 128 << 20);
  EXPECT_EQ(options.max_file_rows, 0);
  EXPECT_EQ(options.max_file_bytes, 512 << 20);
  EXPECT_TRUE(options.dictionary);
  EXPECT_TRUE(options.statistics);
  EXPECT_EQ(options.data_page_version, parquet::ParquetDataPageVersion::V1);
  EXPECT_EQ(options.encode_threads, 1);
  EXPECT_EQ(options.write_mode, ParquetLoader::WriteMode::kAuto);
  EXPECT_TRUE(options.fsync);
  EXPECT_EQ(options.partition_column, "part");
  EXPECT_EQ(options.schema, nullptr);
}

TEST_F(ParquetLoaderTest, ReportsEveryOptionErrorWithItsLocation) {
  auto parsed = Parse(R"(
path: /data/lake
compresion: zstd
profile: sparkk
encode_threads: 0
partition_column: _hidden
compression: snappy
compression_level: 3
schema:
  - {name: id, type: int46}
  - {name: id, type: int64}
write_mode: whole
fsync: sometimes
)");
  ASSERT_TRUE(parsed->options.status().IsInvalid());
  const std::string& message = parsed->options.status().message();
  EXPECT_THAT(
      message,
      HasSubstr("pipeline.yaml:3:1: error: unknown key 'compresion' (did you mean "
                "'compression'?)"));
  EXPECT_THAT(message, HasSubstr("pipeline.yaml:4:10: error: 'profile' must be one of"));
  EXPECT_THAT(message, HasSubstr("did you mean 'spark'"));
  EXPECT_THAT(message, HasSubstr("pipeline.yaml:5:"));
  EXPECT_THAT(message, HasSubstr("'partition_column' must start with a letter"));
  EXPECT_THAT(message, HasSubstr("compression snappy takes no compression_level"));
  EXPECT_THAT(
      message,
      HasSubstr("pipeline.yaml:10:22: error: 'schema[0].type': unknown type 'int46'"));
  EXPECT_THAT(message, HasSubstr("unknown type 'int46'"));
  EXPECT_THAT(message, HasSubstr("column 'id' is declared twice"));
  EXPECT_THAT(message,
              HasSubstr("pipeline.yaml:12:13: error: 'write_mode' must be one of"));
  EXPECT_THAT(message,
              HasSubstr("pipeline.yaml:13:8: error: 'fsync' must be true or false"));
}

TEST_F(ParquetLoaderTest, RequiresAPath) {
  auto parsed = Parse("profile: spark\n");
  ASSERT_TRUE(parsed->options.status().IsInvalid());
  EXPECT_THAT(parsed->options.status().message(),
              HasSubstr("missing required key 'path'"));
}

TEST_F(ParquetLoaderTest, RegistersAsParquet) {
  ComponentRegistry registry;
  RegisterParquetLoader(registry);
  const LoaderFactory* factory = registry.FindLoader("parquet");
  ASSERT_NE(factory, nullptr);
  Diagnostics diagnostics;
  ConfigNode node =
      ConfigNode::Parse("path: " + root_.string() + "\n", "p.yaml", &diagnostics);
  ComponentContext context;
  context.name = "lake";
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto loader, (*factory)(node, context));
  JETFLOW_ASSERT_OK(loader->Bind(OrdersSchema()).status());
  JETFLOW_ASSERT_OK(loader->BeginRun(Run()));
}

TEST_F(ParquetLoaderTest, MakeValidatesProgrammaticOptions) {
  auto options = Options();
  options.row_group_rows = 0;
  options.partition_column = "a/b";
  options.compression_level = 99;
  auto loader = ParquetLoader::Make(options);
  ASSERT_TRUE(loader.status().IsInvalid());
  EXPECT_THAT(loader.status().message(), HasSubstr("row_group_rows"));
  EXPECT_THAT(loader.status().message(), HasSubstr("partition_column"));
  EXPECT_THAT(loader.status().message(), HasSubstr("compression_level"));
}

}  // namespace
}  // namespace jetflow
