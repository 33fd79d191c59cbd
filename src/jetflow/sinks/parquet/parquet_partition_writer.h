// ParquetPartitionWriter: one attempt at one partition of the `parquet` loader.
//
// Batches are conformed to the output schema and encoded into part-00000.parquet,
// part-00001.parquet, ... in the attempt's staging directory, rolling to a new file at
// max_file_rows / max_file_bytes. Commit() closes the files, reads every footer back and
// checks it against the output schema and row count, checksums the files, writes the
// partition manifest and publishes the directory atomically (LakeDirectory::Publish).
// Abort() deletes the staging directory.
//
// Threading: one thread uses a writer; writers of different partitions run concurrently.
#pragma once

#include <arrow/io/interfaces.h>
#include <arrow/util/thread_pool.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "jetflow/core/loader.h"
#include "jetflow/sinks/parquet/lake_directory.h"

namespace jetflow {

/// What every writer of one bound loader shares; immutable once built.
struct ParquetWriteSettings {
  std::shared_ptr<LakeDirectory> lake;
  std::string loader_name;
  std::string partition_column;
  std::shared_ptr<arrow::Schema> output_schema;
  std::string schema_fingerprint;
  std::shared_ptr<parquet::WriterProperties> writer_properties;
  std::shared_ptr<parquet::ArrowWriterProperties> arrow_properties;
  /// 0 = unlimited.
  int64_t max_file_rows = 0;
  int64_t max_file_bytes = 0;
  /// Rows per row group (the writer's max_row_group_length).
  int64_t row_group_rows = 1 << 20;
  /// Runs column encoding when encode_threads > 1; referenced by arrow_properties.
  std::shared_ptr<arrow::internal::ThreadPool> encode_pool;
};

class ParquetPartitionWriter : public PartitionWriter {
 public:
  /// Creates the attempt's (empty) staging directory.
  static arrow::Result<std::unique_ptr<ParquetPartitionWriter>> Open(
      std::shared_ptr<const ParquetWriteSettings> settings,
      const PartitionContext& context);
  ~ParquetPartitionWriter() override;

  arrow::Status Write(const std::shared_ptr<arrow::RecordBatch>& batch) override;
  int64_t rows_written() const override { return rows_written_; }
  arrow::Result<PartitionManifest> Commit() override;
  arrow::Status Abort() override;

  /// Where the attempt's files are written before Commit (for tests and messages).
  const std::string& staging_dir() const { return staging_dir_; }

 private:
  enum class State { kOpen, kFailed, kCommitted, kAborted };

  ParquetPartitionWriter(std::shared_ptr<const ParquetWriteSettings> settings,
                         PartitionContext context, std::string staging_dir,
                         std::string final_dir);

  arrow::Status WriteConformed(const std::shared_ptr<arrow::RecordBatch>& batch);
  arrow::Status OpenNextFile();
  arrow::Status CloseFile();
  arrow::Result<PartitionManifest> CommitFiles();
  arrow::Status CheckFooter(const std::string& path, int64_t expected_rows) const;
  /// " (partition 'p', file '...')" context for messages.
  std::string Where(const std::string& path) const;

  std::shared_ptr<const ParquetWriteSettings> settings_;
  PartitionContext context_;
  std::string staging_dir_;
  std::string final_dir_;
  State state_ = State::kOpen;

  // The file being written, if any.
  std::shared_ptr<arrow::io::OutputStream> sink_;
  std::unique_ptr<parquet::arrow::FileWriter> file_writer_;
  std::string file_path_;
  int64_t file_rows_ = 0;

  std::vector<FileManifest> files_;  // closed files, `path` relative to the staging dir
  int64_t rows_written_ = 0;
};

}  // namespace jetflow
