#include "jetflow/sinks/parquet/parquet_partition_writer.h"

#include <arrow/io/interfaces.h>
#include <arrow/type.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <utility>

#include "jetflow/core/error.h"
#include "jetflow/core/output_profile.h"

namespace jetflow {

namespace {

std::string DataFileName(size_t index) {
  char name[32];
  std::snprintf(name, sizeof(name), "part-%05zu.parquet", index);
  return name;
}

}  // namespace

ParquetPartitionWriter::ParquetPartitionWriter(
    std::shared_ptr<const ParquetWriteSettings> settings, PartitionContext context,
    std::string staging_dir, std::string final_dir)
    : settings_(std::move(settings)),
      context_(std::move(context)),
      staging_dir_(std::move(staging_dir)),
      final_dir_(std::move(final_dir)) {}

arrow::Result<std::unique_ptr<ParquetPartitionWriter>> ParquetPartitionWriter::Open(
    std::shared_ptr<const ParquetWriteSettings> settings,
    const PartitionContext& context) {
  const LakeDirectory& lake = *settings->lake;
  std::string staging =
      lake.StagingAttemptDir(context.run, context.partition.id, context.attempt);
  std::string final =
      lake.PartitionDir(context.run, settings->partition_column, context.partition.id);
  const std::string where = "partition '" + context.partition.id + "'";
  // A directory left by a killed process with the same attempt number is garbage.
  JETFLOW_RETURN_NOT_OK_CTX(lake.DeleteDirIfExists(staging), where);
  JETFLOW_RETURN_NOT_OK_CTX(lake.CreateDir(staging), where);
  return std::unique_ptr<ParquetPartitionWriter>(new ParquetPartitionWriter(
      std::move(settings), context, std::move(staging), std::move(final)));
}

ParquetPartitionWriter::~ParquetPartitionWriter() {
  if (state_ == State::kCommitted || state_ == State::kAborted) return;
  spdlog::warn(
      "parquet loader '{}': partition '{}' attempt {} destroyed without Commit or "
      "Abort; aborting it",
      settings_->loader_name, context_.partition.id, context_.attempt);
  arrow::Status status = Abort();
  if (!status.ok()) {
    spdlog::warn("parquet loader '{}': abort failed: {}", settings_->loader_name,
                 status.ToString());
  }
}

std::string ParquetPartitionWriter::Where(const std::string& path) const {
  return "partition '" + context_.partition.id + "', file '" + path + "'";
}

arrow::Status ParquetPartitionWriter::Write(
    const std::shared_ptr<arrow::RecordBatch>& batch) {
  if (state_ != State::kOpen) {
    return arrow::Status::Invalid("parquet loader: Write on a partition writer that is ",
                                  state_ == State::kFailed ? "failed" : "finished",
                                  " (partition '", context_.partition.id, "')");
  }
  arrow::Status status = WriteConformed(batch);
  if (!status.ok()) state_ = State::kFailed;
  return status;
}

arrow::Status ParquetPartitionWriter::WriteConformed(
    const std::shared_ptr<arrow::RecordBatch>& batch) {
  ConformOptions options;
  options.first_row = rows_written_;
  auto conformed = ConformBatch(batch, settings_->output_schema, options);
  if (!conformed.ok()) {
    return AddContext(conformed.status(), "partition '" + context_.partition.id + "'");
  }
  const std::shared_ptr<arrow::RecordBatch>& rows = *conformed;
  const int64_t total = rows->num_rows();
  int64_t offset = 0;
  while (offset < total) {
    if (file_writer_ == nullptr) ARROW_RETURN_NOT_OK(OpenNextFile());
    int64_t take = total - offset;
    if (settings_->max_file_rows > 0) {
      take = std::min(take, settings_->max_file_rows - file_rows_);
    }
    // Stop at row-group boundaries so the size check below runs after every row group,
    // not once per (possibly much larger) batch.
    if (settings_->max_file_bytes > 0) {
      take = std::min(take, settings_->row_group_rows - file_rows_ % settings_->row_group_rows);
    }
    auto slice = (offset == 0 && take == total) ? rows : rows->Slice(offset, take);
    JETFLOW_RETURN_NOT_OK_CTX(
        settings_->lake->IoFailure(file_writer_->WriteRecordBatch(*slice), file_path_),
        Where(file_path_));
    file_rows_ += take;
    rows_written_ += take;
    offset += take;
    // Bytes reach the stream when a row group is flushed, so a file may exceed
    // max_file_bytes by up to one row group.
    bool full = settings_->max_file_rows > 0 && file_rows_ >= settings_->max_file_rows;
    if (!full && settings_->max_file_bytes > 0) {
      auto position = sink_->Tell();
      if (!position.ok()) return AddContext(position.status(), Where(file_path_));
      full = *position >= settings_->max_file_bytes;
    }
    if (full) ARROW_RETURN_NOT_OK(CloseFile());
  }
  return arrow::Status::OK();
}

arrow::Status ParquetPartitionWriter::OpenNextFile() {
  file_path_ = LakeDirectory::Join(staging_dir_, DataFileName(files_.size()));
  auto sink = settings_->lake->filesystem()->OpenOutputStream(file_path_);
  if (!sink.ok()) {
    return AddContext(settings_->lake->IoFailure(sink.status(), file_path_),
                      Where(file_path_));
  }
  sink_ = *std::move(sink);
  auto writer = parquet::arrow::FileWriter::Open(
      *settings_->output_schema, arrow::default_memory_pool(), sink_,
      settings_->writer_properties, settings_->arrow_properties);
  if (!writer.ok()) return AddContext(writer.status(), Where(file_path_));
  file_writer_ = *std::move(writer);
  file_rows_ = 0;
  return arrow::Status::OK();
}

arrow::Status ParquetPartitionWriter::CloseFile() {
  const LakeDirectory& lake = *settings_->lake;
  JETFLOW_RETURN_NOT_OK_CTX(lake.IoFailure(file_writer_->Close(), file_path_),
                            Where(file_path_));
  if (!sink_->closed()) {
    JETFLOW_RETURN_NOT_OK_CTX(lake.IoFailure(sink_->Close(), file_path_),
                              Where(file_path_));
  }
  FileManifest file;
  file.path = DataFileName(files_.size());
  file.rows = file_rows_;
  files_.push_back(std::move(file));
  file_writer_.reset();
  sink_.reset();
  file_rows_ = 0;
  return arrow::Status::OK();
}

arrow::Status ParquetPartitionWriter::CheckFooter(const std::string& path,
                                                  int64_t expected_rows) const {
  const arrow::Schema& expected = *settings_->output_schema;
  // The Parquet reader reports most failures as Status but may throw on corrupt footers;
  // this is the one place that catches them.
  try {
    auto input = settings_->lake->filesystem()->OpenInputFile(path);
    if (!input.ok()) return settings_->lake->IoFailure(input.status(), path);
    ARROW_ASSIGN_OR_RAISE(auto reader,
                          parquet::arrow::OpenFile(*input, arrow::default_memory_pool()));
    std::shared_ptr<arrow::Schema> actual;
    ARROW_RETURN_NOT_OK(reader->GetSchema(&actual));
    if (!actual->Equals(expected, /*check_metadata=*/false)) {
      return arrow::Status::Invalid(
          "footer check failed: the file's schema differs from the "
          "output schema\n  file:   ",
          actual->ToString(), "\n  output: ", expected.ToString());
    }
    int64_t rows = reader->parquet_reader()->metadata()->num_rows();
    if (rows != expected_rows) {
      return arrow::Status::Invalid("footer check failed: the footer counts ", rows,
                                    " rows, ", expected_rows, " were written");
    }
  } catch (const std::exception& e) {
    return arrow::Status::Invalid("footer check failed: ", e.what());
  }
  return arrow::Status::OK();
}

arrow::Result<PartitionManifest> ParquetPartitionWriter::Commit() {
  if (state_ != State::kOpen) {
    return arrow::Status::Invalid(
        "parquet loader: cannot commit a partition writer that is ",
        state_ == State::kFailed ? "failed" : "finished", " (partition '",
        context_.partition.id, "')");
  }
  auto manifest = CommitFiles();
  state_ = manifest.ok() ? State::kCommitted : State::kFailed;
  return manifest;
}

arrow::Result<PartitionManifest> ParquetPartitionWriter::CommitFiles() {
  const LakeDirectory& lake = *settings_->lake;
  if (file_writer_ != nullptr) ARROW_RETURN_NOT_OK(CloseFile());

  PartitionManifest manifest;
  manifest.loader = settings_->loader_name;
  manifest.partition_id = context_.partition.id;
  manifest.location = lake.Relative(final_dir_);
  manifest.schema_fingerprint = settings_->schema_fingerprint;
  for (const FileManifest& file : files_) {
    const std::string path = LakeDirectory::Join(staging_dir_, file.path);
    JETFLOW_RETURN_NOT_OK_CTX(CheckFooter(path, file.rows), Where(path));
    auto digest = lake.DigestFile(path);
    if (!digest.ok()) return AddContext(digest.status(), Where(path));
    JETFLOW_RETURN_NOT_OK_CTX(lake.Sync(path), Where(path));
    manifest.files.push_back({LakeDirectory::Join(manifest.location, file.path),
                              file.rows, digest->bytes, digest->checksum});
    manifest.rows += file.rows;
    manifest.bytes += digest->bytes;
  }
  if (manifest.rows != rows_written_) {
    return arrow::Status::UnknownError(
        "parquet loader: files hold ", manifest.rows, " rows but ", rows_written_,
        " were written (partition '", context_.partition.id, "')");
  }
  const std::string manifest_path =
      LakeDirectory::Join(staging_dir_, LakeDirectory::kPartitionManifestFile);
  JETFLOW_RETURN_NOT_OK_CTX(lake.WriteFile(manifest_path, manifest.ToJson()),
                            Where(manifest_path));
  JETFLOW_RETURN_NOT_OK_CTX(lake.Sync(staging_dir_), Where(staging_dir_));
  JETFLOW_RETURN_NOT_OK_CTX(
      lake.Publish(staging_dir_, final_dir_,
                   lake.TrashPartitionDir(context_.run, context_.partition.id)),
      "publishing partition '" + context_.partition.id + "' to '" + final_dir_ + "'");
  // The attempt directory is gone; drop its now empty parent.
  lake.RemoveIfEmpty(staging_dir_.substr(0, staging_dir_.find_last_of('/')));
  return manifest;
}

arrow::Status ParquetPartitionWriter::Abort() {
  if (state_ == State::kAborted) return arrow::Status::OK();
  if (state_ == State::kCommitted) {
    return arrow::Status::Invalid("parquet loader: cannot abort committed partition '",
                                  context_.partition.id, "'");
  }
  state_ = State::kAborted;
  if (sink_ != nullptr && !sink_->closed()) (void)sink_->Abort();
  file_writer_.reset();
  sink_.reset();
  const LakeDirectory& lake = *settings_->lake;
  JETFLOW_RETURN_NOT_OK_CTX(lake.DeleteDirIfExists(staging_dir_),
                            "aborting partition '" + context_.partition.id + "'");
  lake.RemoveIfEmpty(staging_dir_.substr(0, staging_dir_.find_last_of('/')));
  return arrow::Status::OK();
}

}  // namespace jetflow
