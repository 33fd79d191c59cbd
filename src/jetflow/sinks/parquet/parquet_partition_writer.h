// ParquetPartitionWriter: one attempt at one partition of the `parquet` loader.
//
// Batches are conformed to the output schema and encoded into part-00000.parquet,
// part-00001.parquet, ... in the attempt's staging directory, rolling to a new file at
// max_file_rows / max_file_bytes. A row group is either encoded batch by batch as rows
// arrive (Arrow's buffered row group: its compressed pages stay in memory until it is
// complete) or, with whole row groups, its batches are held and it is encoded column by
// column once complete, pages going straight to the file (ParquetLoader::WriteMode). With
// `partition_by`, each batch is first split by the values of those columns
// (HiveBatchSplitter) and every value combination gets its own directory inside the
// staging directory ("country=DE/"), with its own file sequence. At most max_open_files
// files are open at once: opening one more first closes the least recently written one,
// whose next rows then start its directory's next part file. Every file is checksummed as
// it is written (DigestingOutputStream). Commit() closes the files, checks each one's
// size and reads its footer back to check it against the file schema and row count, and
// hands the partition manifest to the Committer, which makes the files durable, writes
// the manifest next to them and publishes the whole staging directory, column
// directories included, atomically (Committer::Publish). Abort() has the Committer
// delete the staging directory. Every file and directory goes through the Committer
// (committer.h), never the filesystem directly.
//
// Threading: one thread uses a writer; writers of different partitions run concurrently.
#pragma once

#include <arrow/io/interfaces.h>
#include <arrow/memory_pool.h>
#include <arrow/util/key_value_metadata.h>
#include <arrow/util/thread_pool.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "jetflow/core/loader.h"
#include "jetflow/core/recycling_memory_pool.h"
#include "jetflow/sinks/parquet/committer.h"
#include "jetflow/sinks/parquet/file_digest.h"
#include "jetflow/sinks/parquet/hive_partitioning.h"

namespace jetflow {

/// What every writer of one bound loader shares; immutable once built.
struct ParquetWriteSettings {
  /// Stages and publishes the writers' files.
  std::shared_ptr<Committer> committer;
  std::string loader_name;
  /// What batches are conformed to: every output column.
  std::shared_ptr<arrow::Schema> output_schema;
  /// What data files hold: output_schema without the partition_by columns.
  std::shared_ptr<arrow::Schema> file_schema;
  /// Of file_schema.
  std::string schema_fingerprint;
  /// nullptr without partition_by.
  std::shared_ptr<const HivePartitioning> hive;
  /// Files open at once per partition writer (with partition_by).
  int max_open_files = 64;
  std::shared_ptr<parquet::WriterProperties> writer_properties;
  std::shared_ptr<parquet::ArrowWriterProperties> arrow_properties;
  /// 0 = unlimited.
  int64_t max_file_rows = 0;
  int64_t max_file_bytes = 0;
  /// Extra footer key-value pairs written into every file (the spark profile's calendar
  /// marker, see ParquetLoader::Bind).
  std::shared_ptr<const arrow::KeyValueMetadata> footer_metadata;
  /// Rows per row group (the writer's max_row_group_length).
  int64_t row_group_rows = 1 << 20;
  /// A row group also ends when its rows' Arrow size reaches this; 0 = unlimited.
  int64_t row_group_bytes = 0;
  /// Runs column encoding when encode_threads > 1; referenced by arrow_properties.
  std::shared_ptr<arrow::internal::ThreadPool> encode_pool;
};

/// How a partition writer turns rows into row groups (ParquetLoader::WriteMode).
enum class RowGroupEncoding {
  /// Each batch is encoded as it arrives, into Arrow's buffered row group.
  kStreaming,
  /// A row group's batches are held and it is encoded column by column once complete.
  kWhole,
  /// kWhole, falling back to kStreaming for good when the writer waited for rows more
  /// than kSourceBoundIdleFraction of the time its first row group took: the source is
  /// then slower than encoding, and streaming lets the two overlap.
  kAdaptive,
};

class ParquetPartitionWriter : public PartitionWriter {
 public:
  /// kAdaptive streams when the writer waited for rows more than this fraction of the
  /// time its first row group took.
  static constexpr double kSourceBoundIdleFraction = 0.5;
  /// While it holds whole row groups, a writer keeps freed encoder blocks of at least
  /// this size for reuse (the dictionary hash tables of a million-value column chunk are
  /// 4-24 MiB; smaller blocks are cheap to fault in) ...
  static constexpr int64_t kRecycledBlockMinBytes = 2 << 20;
  /// ... up to this much (one chunk's tables at each size: 4 + 16 MiB for 4-byte values,
  /// 6 + 24 MiB for 8-byte ones), when that is at most an eighth of the writer's share of
  /// the memory budget; otherwise none: less would thrash between column types.
  static constexpr int64_t kRecycledBytesMax = 64 << 20;
  static int64_t RecycledBytesCapacity(const PartitionContext& context);

  /// Has the committer prepare the attempt's (empty) staging directory.
  static arrow::Result<std::unique_ptr<ParquetPartitionWriter>> Open(
      std::shared_ptr<const ParquetWriteSettings> settings,
      const PartitionContext& context,
      RowGroupEncoding encoding = RowGroupEncoding::kStreaming);
  ~ParquetPartitionWriter() override;

  arrow::Status Write(const std::shared_ptr<arrow::RecordBatch>& batch) override;
  /// Writes one data file without rows (the file schema, no row group), so that readers
  /// that infer the schema from the files find one: part-00000.parquet in the partition
  /// directory, or, with partition_by, in the directory of null values
  /// (`c1=__HIVE_DEFAULT_PARTITION__/...`), at the depth of every other file.
  /// REQUIRES: nothing written yet. Commit() then publishes it like any file.
  arrow::Status WriteEmptyFile();
  int64_t rows_written() const override { return rows_written_; }
  /// What the Parquet encoders hold right now (pages of open row groups, dictionaries,
  /// encoder buffers, and freed blocks kept for reuse; everything they allocate comes
  /// from this writer's own pool), plus the Arrow size of rows held for whole row groups.
  int64_t buffered_bytes() const override {
    return memory_pool_.bytes_allocated() + held_arrow_bytes_;
  }
  arrow::Result<PartitionManifest> Commit() override;
  arrow::Status Abort() override;

  /// Where the attempt's files are written before Commit (for tests and messages).
  const std::string& staging_dir() const { return attempt_.staging_dir; }
  /// The pool the encoders allocate from (for tests and statistics).
  const RecyclingMemoryPool& memory_pool() const { return memory_pool_; }
  /// Whether row groups are now held whole (kWhole, or kAdaptive until it streams).
  bool holds_whole_row_groups() const { return whole_row_groups_; }

 private:
  enum class State { kOpen, kFailed, kCommitted, kAborted };

  /// The sequence of data files of one directory: the staging directory itself, or one
  /// partition_by value directory inside it.
  struct FileSequence {
    /// Relative to the staging directory; "" for the staging directory itself.
    std::string directory;
    /// Number of the next part file.
    size_t next_index = 0;
    // The open file, if any.
    std::shared_ptr<DigestingOutputStream> sink;
    std::unique_ptr<parquet::arrow::FileWriter> writer;
    std::string path;
    int64_t rows = 0;
    /// Rows of the open file's current row group, not yet written out, and their Arrow
    /// size (each batch's size spread evenly over its rows).
    int64_t buffered_rows = 0;
    int64_t buffered_arrow_bytes = 0;
    /// The current row group is full and stays open (its pages in memory) until more
    /// rows arrive or the file closes: starting the next one eagerly would leave an empty
    /// row group at the end of a file whose rows end on a row-group boundary.
    bool row_group_complete = false;
    /// With whole row groups: the rows of the current row group, written by
    /// FlushRowGroup, and their Arrow size.
    std::vector<std::shared_ptr<arrow::RecordBatch>> held;
    int64_t held_bytes = 0;
    /// Row groups of the open file already written to its stream.
    int64_t row_groups_written = 0;
    /// With whole row groups: the stream position up to which write-back was started.
    int64_t write_back_position = 0;
    /// Position in open_, while a file is open.
    std::list<FileSequence*>::iterator lru;
  };

  /// A closed data file.
  struct ClosedFile {
    std::string directory;  // FileSequence::directory
    size_t index = 0;       // part-<index>.parquet
    std::string path;       // relative to the staging directory
    int64_t rows = 0;
    FileDigest digest;
  };

  ParquetPartitionWriter(std::shared_ptr<const ParquetWriteSettings> settings,
                         PartitionContext context, StagedAttempt attempt,
                         std::unique_ptr<HiveBatchSplitter> splitter,
                         RowGroupEncoding encoding);

  arrow::Status WriteConformed(const std::shared_ptr<arrow::RecordBatch>& batch);
  /// Appends `rows` (file schema) to the files of `sequence`, rolling as configured.
  arrow::Status WriteRows(FileSequence& sequence,
                          const std::shared_ptr<arrow::RecordBatch>& rows);
  /// The sequence of `directory`, creating it (and its directory) on first use.
  arrow::Result<FileSequence*> Sequence(const std::string& directory);
  /// Opens the next file of `sequence`, first closing the least recently written file if
  /// max_open_files are open.
  arrow::Status OpenFile(FileSequence& sequence);
  /// Ends the current row group of `sequence`'s open file, if it has rows. With
  /// `write_now` it goes to the stream (freeing its pages) and a new one starts at once;
  /// otherwise it is marked complete and written when the next rows or Close come.
  arrow::Status FlushRowGroup(FileSequence& sequence, bool write_now);
  /// kAdaptive, from Write() once the first row group is written: streams from then on
  /// if the writer mostly waited for rows during it.
  void DecideRowGroupEncoding();
  /// With whole row groups: writes the held rows as one row group, column by column.
  arrow::Status WriteHeldRowGroup(FileSequence& sequence);
  /// With partition_by, many files buffer a row group each: keeps the rows buffered by
  /// all of them at most row_group_rows (and their Arrow size at most row_group_bytes)
  /// by flushing the fullest row groups early.
  arrow::Status BoundBufferedRows();
  arrow::Status CloseFile(FileSequence& sequence);
  arrow::Result<PartitionManifest> CommitFiles();
  /// Reads the written file's footer back: schema, row count and size must be what was
  /// written.
  arrow::Status CheckFile(const std::string& path, const ClosedFile& file) const;
  /// " (partition 'p', file '...')" context for messages.
  std::string Where(const std::string& path) const;

  std::shared_ptr<const ParquetWriteSettings> settings_;
  // Declared before the file writers that allocate from it, so it outlives them. It keeps
  // the encoders' large freed blocks (dictionary hash tables) for the next column chunk.
  RecyclingMemoryPool memory_pool_;
  /// settings_->writer_properties with memory_pool_.
  std::shared_ptr<parquet::WriterProperties> writer_properties_;
  PartitionContext context_;
  StagedAttempt attempt_;
  State state_ = State::kOpen;
  bool whole_row_groups_;
  /// kAdaptive, not yet decided: time spent in Write() since the first one, to tell
  /// whether the writer waits for its source.
  bool adaptive_;
  std::chrono::steady_clock::time_point window_start_;
  std::chrono::steady_clock::time_point write_start_;
  std::chrono::steady_clock::duration busy_{};

  std::unique_ptr<HiveBatchSplitter> splitter_;  // nullptr without partition_by
  std::map<std::string, std::unique_ptr<FileSequence>> sequences_;
  std::list<FileSequence*> open_;  // sequences with an open file, least recent first

  std::vector<ClosedFile> files_;
  int64_t rows_written_ = 0;
  /// Sum of FileSequence::held_bytes.
  int64_t held_arrow_bytes_ = 0;
};

}  // namespace jetflow
