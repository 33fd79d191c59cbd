// Shared by the Parquet loader's tests: a temporary lake folder per test, and helpers to
// bind a loader, write a partition and read the files back.
#pragma once

#include <arrow/api.h>
#include <arrow/compute/initialize.h>
#include <arrow/io/file.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "jetflow/sinks/parquet/parquet_loader.h"
#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow::parquet_test {

class LakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    JETFLOW_ASSERT_OK(arrow::compute::Initialize());
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("jetflow_lake_test_" + std::to_string(::getpid()) + "_" +
            test->test_suite_name() + "_" + test->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    root_ = dir_ / "lake";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  /// Options of a loader named "lake" writing under root_.
  ParquetLoader::Options BaseOptions() const {
    ParquetLoader::Options options;
    options.name = "lake";
    options.path = root_.string();
    return options;
  }

  static std::shared_ptr<arrow::RecordBatch> Batch(
      const std::shared_ptr<arrow::Schema>& schema, const std::string& json) {
    auto batch = testing::BatchFromJson(schema, json);
    EXPECT_TRUE(batch.ok()) << batch.status().ToString();
    return *batch;
  }

  // Make + Bind, failing the test on error.
  std::unique_ptr<ParquetLoader> Loader(ParquetLoader::Options options,
                                        const std::shared_ptr<arrow::Schema>& input) {
    auto loader = ParquetLoader::Make(std::move(options));
    EXPECT_TRUE(loader.ok()) << loader.status().ToString();
    if (!loader.ok()) return nullptr;
    auto bound = (*loader)->Bind(input);
    EXPECT_TRUE(bound.ok()) << bound.status().ToString();
    return bound.ok() ? *std::move(loader) : nullptr;
  }

  static arrow::Result<PartitionManifest> WritePartition(
      ParquetLoader* loader, const PartitionContext& context,
      const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches) {
    ARROW_ASSIGN_OR_RAISE(auto writer, loader->OpenPartition(context));
    for (const auto& batch : batches) ARROW_RETURN_NOT_OK(writer->Write(batch));
    return writer->Commit();
  }

  // Every regular file under the root, relative to it, sorted.
  std::vector<std::string> Files() const {
    std::vector<std::string> files;
    if (!std::filesystem::exists(root_)) return files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root_)) {
      if (entry.is_regular_file()) {
        files.push_back(std::filesystem::relative(entry.path(), root_).string());
      }
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  std::unique_ptr<parquet::arrow::FileReader> OpenParquet(
      const std::string& relative) const {
    auto input = arrow::io::ReadableFile::Open((root_ / relative).string());
    EXPECT_TRUE(input.ok()) << input.status().ToString();
    auto reader = parquet::arrow::OpenFile(*input, arrow::default_memory_pool());
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    return *std::move(reader);
  }

  std::shared_ptr<arrow::RecordBatch> ReadParquet(const std::string& relative) const {
    auto table = OpenParquet(relative)->ReadTable();
    EXPECT_TRUE(table.ok()) << table.status().ToString();
    auto batch = (*table)->CombineChunksToBatch();
    EXPECT_TRUE(batch.ok()) << batch.status().ToString();
    return *batch;
  }

  std::string ReadText(const std::string& relative) const {
    std::ifstream in(root_ / relative, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::filesystem::path dir_;
  std::filesystem::path root_;
};

}  // namespace jetflow::parquet_test
