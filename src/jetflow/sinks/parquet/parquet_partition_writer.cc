#include "jetflow/sinks/parquet/parquet_partition_writer.h"

#include <arrow/io/buffered.h>
#include <arrow/io/interfaces.h>
#include <arrow/table.h>
#include <arrow/type.h>
#include <arrow/util/byte_size.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <utility>

#include "jetflow/core/conform_batch.h"
#include "jetflow/core/error.h"

namespace jetflow {

namespace {

constexpr int64_t kFileBufferBytes = 64 << 10;
// A file's write-back is started each time this much more of it was written.
constexpr int64_t kWriteBackBytes = 8 << 20;

std::string DataFileName(size_t index) {
  char name[32];
  std::snprintf(name, sizeof(name), "part-%05zu.parquet", index);
  return name;
}

}  // namespace

ParquetPartitionWriter::ParquetPartitionWriter(
    std::shared_ptr<const ParquetWriteSettings> settings, PartitionContext context,
    StagedAttempt attempt, std::unique_ptr<HiveBatchSplitter> splitter,
    RowGroupEncoding encoding)
    : settings_(std::move(settings)),
      // Only a writer that holds whole row groups keeps blocks: it encodes one column
      // chunk at a time, so one chunk's tables are all it needs, and it is the writer
      // bound by encoding. A streaming one would keep every column's tables at once.
      memory_pool_(
          arrow::default_memory_pool(),
          encoding == RowGroupEncoding::kStreaming ? 0 : RecycledBytesCapacity(context),
          kRecycledBlockMinBytes),
      writer_properties_(parquet::WriterProperties::Builder(*settings_->writer_properties)
                             .memory_pool(&memory_pool_)
                             ->build()),
      context_(std::move(context)),
      attempt_(std::move(attempt)),
      whole_row_groups_(encoding != RowGroupEncoding::kStreaming),
      adaptive_(encoding == RowGroupEncoding::kAdaptive),
      splitter_(std::move(splitter)) {}

int64_t ParquetPartitionWriter::RecycledBytesCapacity(const PartitionContext& context) {
  if (context.memory_budget_bytes <= 0) return kRecycledBytesMax;
  const int64_t share =
      context.memory_budget_bytes / std::max(1, context.partitions_in_flight);
  return share / 8 >= kRecycledBytesMax ? kRecycledBytesMax : 0;
}

arrow::Result<std::unique_ptr<ParquetPartitionWriter>> ParquetPartitionWriter::Open(
    std::shared_ptr<const ParquetWriteSettings> settings, const PartitionContext& context,
    RowGroupEncoding encoding) {
  std::unique_ptr<HiveBatchSplitter> splitter;
  if (settings->hive != nullptr) {
    ARROW_ASSIGN_OR_RAISE(splitter, HiveBatchSplitter::Make(settings->hive));
  }
  // Also removes a directory a killed process left with the same attempt number.
  auto attempt = settings->committer->PrepareAttempt(context.run, context.partition.id,
                                                     context.attempt);
  if (!attempt.ok()) {
    return AddContext(attempt.status(), "partition '" + context.partition.id + "'");
  }
  return std::unique_ptr<ParquetPartitionWriter>(new ParquetPartitionWriter(
      std::move(settings), context, *std::move(attempt), std::move(splitter), encoding));
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
  const bool timed = adaptive_;  // DecideRowGroupEncoding may end the timing
  if (timed) {
    write_start_ = std::chrono::steady_clock::now();
    if (rows_written_ == 0 && busy_.count() == 0) window_start_ = write_start_;
  }
  arrow::Status status = WriteConformed(batch);
  if (!status.ok()) state_ = State::kFailed;
  if (timed) busy_ += std::chrono::steady_clock::now() - write_start_;
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
  if (splitter_ == nullptr) {
    ARROW_ASSIGN_OR_RAISE(FileSequence * sequence, Sequence(""));
    return WriteRows(*sequence, *conformed);
  }
  auto groups = splitter_->Split(*conformed, rows_written_);
  if (!groups.ok()) {
    return AddContext(groups.status(), "partition '" + context_.partition.id + "'");
  }
  for (const HiveGroup& group : *groups) {
    ARROW_ASSIGN_OR_RAISE(FileSequence * sequence, Sequence(group.directory));
    ARROW_RETURN_NOT_OK(WriteRows(*sequence, group.rows));
  }
  return BoundBufferedRows();
}

arrow::Status ParquetPartitionWriter::WriteEmptyFile() {
  if (state_ != State::kOpen || rows_written_ != 0 || !sequences_.empty()) {
    return arrow::Status::Invalid(
        "parquet loader: an empty file is written only by a writer that wrote nothing "
        "(partition '",
        context_.partition.id, "')");
  }
  std::string directory;
  if (settings_->hive != nullptr) {
    for (const auto& field : settings_->hive->partition_fields()) {
      directory = LakeLayout::Join(
          directory, field->name() + "=" + std::string(kHiveDefaultPartition));
    }
  }
  ARROW_ASSIGN_OR_RAISE(FileSequence * sequence, Sequence(directory));
  arrow::Status status = OpenFile(*sequence);
  if (status.ok()) status = CloseFile(*sequence);
  if (!status.ok()) state_ = State::kFailed;
  return status;
}

arrow::Status ParquetPartitionWriter::BoundBufferedRows() {
  int64_t buffered_rows = 0;
  int64_t buffered_bytes = 0;
  for (const FileSequence* sequence : open_) {
    buffered_rows += sequence->buffered_rows;
    buffered_bytes += sequence->buffered_arrow_bytes;
  }
  const int64_t byte_limit = settings_->row_group_bytes;
  while (buffered_rows > settings_->row_group_rows ||
         (byte_limit > 0 && buffered_bytes > byte_limit)) {
    // The fullest row group first, so early flushes make as few small row groups as
    // possible; ties go to the least recently written file (deterministic either way).
    FileSequence* fullest = nullptr;
    for (FileSequence* sequence : open_) {
      if (fullest == nullptr || sequence->buffered_rows > fullest->buffered_rows) {
        fullest = sequence;
      }
    }
    buffered_rows -= fullest->buffered_rows;
    buffered_bytes -= fullest->buffered_arrow_bytes;
    // Written now, to free its pages (if no more rows come for this file, it ends with an
    // empty row group, which readers skip).
    ARROW_RETURN_NOT_OK(FlushRowGroup(*fullest, /*write_now=*/true));
  }
  return arrow::Status::OK();
}

arrow::Result<ParquetPartitionWriter::FileSequence*> ParquetPartitionWriter::Sequence(
    const std::string& directory) {
  auto found = sequences_.find(directory);
  if (found != sequences_.end()) return found->second.get();
  if (!directory.empty()) {
    const std::string path = LakeLayout::Join(attempt_.staging_dir, directory);
    JETFLOW_RETURN_NOT_OK_CTX(settings_->committer->CreateStagedDir(path),
                              "partition '" + context_.partition.id + "'");
  }
  auto sequence = std::make_unique<FileSequence>();
  sequence->directory = directory;
  sequence->lru = open_.end();
  FileSequence* raw = sequence.get();
  sequences_.emplace(directory, std::move(sequence));
  return raw;
}

arrow::Status ParquetPartitionWriter::WriteRows(
    FileSequence& sequence, const std::shared_ptr<arrow::RecordBatch>& rows) {
  const int64_t total = rows->num_rows();
  const int64_t row_group_rows = settings_->row_group_rows;
  const int64_t row_group_bytes = settings_->row_group_bytes;
  int64_t bytes_per_row = 0;
  if (row_group_bytes > 0 && total > 0) {
    ARROW_ASSIGN_OR_RAISE(const int64_t total_bytes,
                          arrow::util::ReferencedBufferSize(*rows));
    bytes_per_row = std::max<int64_t>(1, (total_bytes + total - 1) / total);
  }
  int64_t offset = 0;
  while (offset < total) {
    if (sequence.writer == nullptr) {
      ARROW_RETURN_NOT_OK(OpenFile(sequence));
    } else {
      open_.splice(open_.end(), open_, sequence.lru);  // now the most recently written
    }
    int64_t take = total - offset;
    if (settings_->max_file_rows > 0) {
      take = std::min(take, settings_->max_file_rows - sequence.rows);
    }
    // Stop at row-group boundaries: a row group is written when it is complete, and the
    // size check below then runs after every row group.
    take = std::min(take, row_group_rows - sequence.buffered_rows);
    if (bytes_per_row > 0) {
      // At least one row, so a single row wider than row_group_bytes still moves on.
      const int64_t room = row_group_bytes - sequence.buffered_arrow_bytes;
      take = std::min(take,
                      std::max<int64_t>(1, (room + bytes_per_row - 1) / bytes_per_row));
    }
    auto slice = (offset == 0 && take == total) ? rows : rows->Slice(offset, take);
    if (whole_row_groups_) {
      // Held as they are (no copy) until the row group is complete (FlushRowGroup).
      const int64_t bytes = arrow::util::TotalBufferSize(*slice);
      sequence.held.push_back(std::move(slice));
      sequence.held_bytes += bytes;
      held_arrow_bytes_ += bytes;
    } else {
      // Rows are encoded as they arrive, into Arrow's buffered row group (compressed
      // pages in memory until the row group closes; columns in parallel with
      // encode_threads > 1). Encoding keeps pace with the source, so nothing is left to
      // encode when it ends.
      if (sequence.row_group_complete) {
        JETFLOW_RETURN_NOT_OK_CTX(
            settings_->committer->IoFailure(sequence.writer->NewBufferedRowGroup(),
                                            sequence.path),
            Where(sequence.path));
        sequence.row_group_complete = false;
        ++sequence.row_groups_written;
        // The previous row group just reached the file: its pages go to disk meanwhile.
        settings_->committer->StartWriteBack(sequence.path);
      }
      JETFLOW_RETURN_NOT_OK_CTX(
          settings_->committer->IoFailure(sequence.writer->WriteRecordBatch(*slice),
                                          sequence.path),
          Where(sequence.path));
    }
    sequence.rows += take;
    sequence.buffered_rows += take;
    sequence.buffered_arrow_bytes += take * bytes_per_row;
    rows_written_ += take;
    offset += take;
    if (sequence.buffered_rows == row_group_rows ||
        (bytes_per_row > 0 && sequence.buffered_arrow_bytes >= row_group_bytes)) {
      ARROW_RETURN_NOT_OK(FlushRowGroup(sequence, /*write_now=*/false));
      if (adaptive_) DecideRowGroupEncoding();
    }
    bool full = settings_->max_file_rows > 0 && sequence.rows >= settings_->max_file_rows;
    if (!full && settings_->max_file_bytes > 0) {
      // Only written row groups have reached the stream; a complete one still in memory
      // is estimated at the average size of those. A file may exceed max_file_bytes by
      // about one row group.
      auto position = sequence.sink->Tell();
      if (!position.ok()) return AddContext(position.status(), Where(sequence.path));
      int64_t size = *position;
      if (sequence.row_group_complete && sequence.row_groups_written > 0) {
        size += *position / sequence.row_groups_written;
      }
      full = size >= settings_->max_file_bytes;
    }
    if (full) ARROW_RETURN_NOT_OK(CloseFile(sequence));
  }
  return arrow::Status::OK();
}

arrow::Status ParquetPartitionWriter::FlushRowGroup(FileSequence& sequence,
                                                    bool write_now) {
  if (sequence.buffered_rows == 0) return arrow::Status::OK();
  arrow::Status status;
  if (whole_row_groups_) {
    status = WriteHeldRowGroup(sequence);
  } else if (write_now) {
    status = sequence.writer->NewBufferedRowGroup();
    ++sequence.row_groups_written;
    if (status.ok()) settings_->committer->StartWriteBack(sequence.path);
  } else {
    sequence.row_group_complete = true;
  }
  sequence.buffered_rows = 0;
  sequence.buffered_arrow_bytes = 0;
  return AddContext(settings_->committer->IoFailure(status, sequence.path),
                    Where(sequence.path));
}

void ParquetPartitionWriter::DecideRowGroupEncoding() {
  // Only between row groups of every open file, so that each row group is written in
  // one mode from its first row to its last: the bytes then do not depend on when this
  // happens. (The next WriteRecordBatch starts a buffered row group.)
  const bool between_row_groups = std::all_of(
      open_.begin(), open_.end(),
      [](const FileSequence* sequence) { return sequence->buffered_rows == 0; });
  if (!between_row_groups) return;
  adaptive_ = false;
  // Called inside Write(): the time of the current call so far counts as busy.
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - window_start_).count();
  const double busy = std::chrono::duration<double>(busy_ + (now - write_start_)).count();
  const double idle = elapsed > 0 ? 1.0 - busy / elapsed : 0.0;
  if (idle > kSourceBoundIdleFraction) {
    whole_row_groups_ = false;
    memory_pool_.SetCapacity(0);
    spdlog::debug(
        "parquet loader '{}': partition '{}' streams from now on (the writer waited for "
        "rows {:.0f}% of its first row group)",
        settings_->loader_name, context_.partition.id, 100 * idle);
  }
}

arrow::Status ParquetPartitionWriter::WriteHeldRowGroup(FileSequence& sequence) {
  // By column, so that each column's buffers are freed as soon as it is encoded.
  const int num_columns = settings_->file_schema->num_fields();
  std::vector<arrow::ArrayVector> columns(num_columns);
  for (const auto& batch : sequence.held) {
    for (int i = 0; i < num_columns; ++i) columns[i].push_back(batch->column(i));
  }
  sequence.held.clear();
  held_arrow_bytes_ -= sequence.held_bytes;
  sequence.held_bytes = 0;
  ARROW_RETURN_NOT_OK(sequence.writer->NewRowGroup());
  for (int i = 0; i < num_columns; ++i) {
    auto column = std::make_shared<arrow::ChunkedArray>(
        std::move(columns[i]), settings_->file_schema->field(i)->type());
    ARROW_RETURN_NOT_OK(sequence.writer->WriteColumnChunk(column));
    // Pages go to disk while the next columns are encoded, a few MiB at a time (not per
    // column: a wide table's small chunks would each cost a call), so the fsync at commit
    // waits for little more than the last of them.
    ARROW_ASSIGN_OR_RAISE(const int64_t position, sequence.sink->Tell());
    if (position - sequence.write_back_position >= kWriteBackBytes) {
      settings_->committer->StartWriteBack(sequence.path);
      sequence.write_back_position = position;
    }
  }
  ++sequence.row_groups_written;
  return arrow::Status::OK();
}

arrow::Status ParquetPartitionWriter::OpenFile(FileSequence& sequence) {
  // Bounded memory: every open file buffers a row group.
  const auto limit = static_cast<size_t>(settings_->max_open_files);
  while (!open_.empty() && open_.size() >= limit) {
    ARROW_RETURN_NOT_OK(CloseFile(*open_.front()));
  }
  const std::string name = DataFileName(sequence.next_index);
  sequence.path =
      LakeLayout::Join(sequence.directory.empty()
                           ? attempt_.staging_dir
                           : LakeLayout::Join(attempt_.staging_dir, sequence.directory),
                       name);
  auto file = settings_->committer->OpenStagedOutput(sequence.path);
  if (!file.ok()) return AddContext(file.status(), Where(sequence.path));
  // Parquet writes each page header and page separately: coalesce the small writes.
  auto buffered = arrow::io::BufferedOutputStream::Create(kFileBufferBytes, &memory_pool_,
                                                          *std::move(file));
  if (!buffered.ok()) return AddContext(buffered.status(), Where(sequence.path));
  auto sink = DigestingOutputStream::Make(*std::move(buffered));
  if (!sink.ok()) return AddContext(sink.status(), Where(sequence.path));
  sequence.sink = *std::move(sink);
  auto writer = parquet::arrow::FileWriter::Open(*settings_->file_schema, &memory_pool_,
                                                 sequence.sink, writer_properties_,
                                                 settings_->arrow_properties);
  if (!writer.ok()) {
    (void)sequence.sink->Abort();
    sequence.sink.reset();
    return AddContext(writer.status(), Where(sequence.path));
  }
  sequence.writer = *std::move(writer);
  if (settings_->footer_metadata != nullptr) {
    JETFLOW_RETURN_NOT_OK_CTX(
        sequence.writer->AddKeyValueMetadata(settings_->footer_metadata),
        Where(sequence.path));
  }
  sequence.rows = 0;
  sequence.buffered_rows = 0;
  sequence.buffered_arrow_bytes = 0;
  sequence.row_group_complete = false;
  sequence.row_groups_written = 0;
  sequence.write_back_position = 0;
  sequence.lru = open_.insert(open_.end(), &sequence);
  return arrow::Status::OK();
}

arrow::Status ParquetPartitionWriter::CloseFile(FileSequence& sequence) {
  Committer& committer = *settings_->committer;
  arrow::Status flushed = FlushRowGroup(sequence, /*write_now=*/false);
  // Whatever happens below, the file is no longer open.
  open_.erase(sequence.lru);
  sequence.lru = open_.end();
  auto writer = std::move(sequence.writer);
  auto sink = std::move(sequence.sink);
  ARROW_RETURN_NOT_OK(flushed);
  JETFLOW_RETURN_NOT_OK_CTX(committer.IoFailure(writer->Close(), sequence.path),
                            Where(sequence.path));
  if (!sink->closed()) {
    JETFLOW_RETURN_NOT_OK_CTX(committer.IoFailure(sink->Close(), sequence.path),
                              Where(sequence.path));
  }
  ClosedFile file;
  file.directory = sequence.directory;
  file.index = sequence.next_index;
  file.path =
      sequence.directory.empty()
          ? DataFileName(sequence.next_index)
          : LakeLayout::Join(sequence.directory, DataFileName(sequence.next_index));
  file.rows = sequence.rows;
  file.digest = sink->digest();
  files_.push_back(std::move(file));
  ++sequence.next_index;
  sequence.rows = 0;
  sequence.buffered_rows = 0;
  sequence.buffered_arrow_bytes = 0;
  return arrow::Status::OK();
}

arrow::Status ParquetPartitionWriter::CheckFile(const std::string& path,
                                                const ClosedFile& file) const {
  const arrow::Schema& expected = *settings_->file_schema;
  // The Parquet reader reports most failures as Status but may throw on corrupt footers;
  // this is the one place that catches them.
  try {
    auto input = settings_->committer->OpenStagedInput(path);
    if (!input.ok()) return input.status();
    auto size = (*input)->GetSize();
    if (!size.ok()) return settings_->committer->IoFailure(size.status(), path);
    if (*size != file.digest.bytes) {
      return arrow::Status::IOError("file check failed: the file holds ", *size,
                                    " bytes, ", file.digest.bytes, " were written");
    }
    ARROW_ASSIGN_OR_RAISE(auto reader,
                          parquet::arrow::OpenFile(*input, arrow::default_memory_pool()));
    std::shared_ptr<arrow::Schema> actual;
    ARROW_RETURN_NOT_OK(reader->GetSchema(&actual));
    if (!actual->Equals(expected, /*check_metadata=*/false)) {
      return arrow::Status::Invalid(
          "footer check failed: the file's schema differs from the "
          "output schema\n  file:   ",
          actual->ToString(), "\n  output: ", expected.ToString(),
          settings_->hive == nullptr ? "" : "\n  (without the partition_by columns)");
    }
    int64_t rows = reader->parquet_reader()->metadata()->num_rows();
    if (rows != file.rows) {
      return arrow::Status::Invalid("footer check failed: the footer counts ", rows,
                                    " rows, ", file.rows, " were written");
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
  Committer& committer = *settings_->committer;
  while (!open_.empty()) ARROW_RETURN_NOT_OK(CloseFile(*open_.front()));
  // Nothing encodes any more: the kept blocks can go before the slow part of the commit.
  memory_pool_.ReleaseUnused();
  // Name order: by directory, then by part number (not by text: part-100000 follows
  // part-99999).
  std::sort(files_.begin(), files_.end(), [](const ClosedFile& a, const ClosedFile& b) {
    return a.directory != b.directory ? a.directory < b.directory : a.index < b.index;
  });

  PartitionManifest manifest;
  manifest.loader = settings_->loader_name;
  manifest.partition_id = context_.partition.id;
  manifest.location = committer.layout().Relative(attempt_.partition_dir);
  manifest.schema_fingerprint = settings_->schema_fingerprint;
  // The reader has ended: the attempt's value changes are final.
  manifest.value_changes = context_.value_changes->Counts();
  for (const ClosedFile& file : files_) {
    const std::string path = LakeLayout::Join(attempt_.staging_dir, file.path);
    JETFLOW_RETURN_NOT_OK_CTX(CheckFile(path, file), Where(path));
    manifest.files.push_back({LakeLayout::Join(manifest.location, file.path), file.rows,
                              file.digest.bytes, file.digest.checksum});
    manifest.rows += file.rows;
    manifest.bytes += file.digest.bytes;
  }
  if (manifest.rows != rows_written_) {
    return arrow::Status::UnknownError(
        "parquet loader: files hold ", manifest.rows, " rows but ", rows_written_,
        " were written (partition '", context_.partition.id, "')");
  }
  // Makes the files durable, writes the manifest next to them and switches.
  JETFLOW_RETURN_NOT_OK_CTX(committer.Publish(attempt_, manifest),
                            "publishing partition '" + context_.partition.id + "' to '" +
                                attempt_.partition_dir + "'");
  return manifest;
}

arrow::Status ParquetPartitionWriter::Abort() {
  if (state_ == State::kAborted) return arrow::Status::OK();
  if (state_ == State::kCommitted) {
    return arrow::Status::Invalid("parquet loader: cannot abort committed partition '",
                                  context_.partition.id, "'");
  }
  state_ = State::kAborted;
  for (FileSequence* sequence : open_) {
    if (sequence->sink != nullptr && !sequence->sink->closed()) {
      (void)sequence->sink->Abort();
    }
    sequence->writer.reset();
    sequence->sink.reset();
    sequence->held.clear();
  }
  open_.clear();
  held_arrow_bytes_ = 0;
  memory_pool_.ReleaseUnused();
  JETFLOW_RETURN_NOT_OK_CTX(settings_->committer->Abort(attempt_),
                            "aborting partition '" + context_.partition.id + "'");
  return arrow::Status::OK();
}

}  // namespace jetflow
