// FileConsumer (`type: file`): CSV, JSON Lines and Parquet files through Arrow's
// streaming readers.
//
// `path` names one file, a directory (every file of the format below it, skipping names
// that start with '.' or '_'), or a glob ("data/*.csv", "logs/2024-*/part-?.jsonl"; `*`,
// `?` and `[...]` within one path component). Every file is one partition, in path order;
// its id is "f_" + the path relative to the base folder (the glob's or directory's fixed
// prefix, or the file's folder) with characters outside [A-Za-z0-9._-] replaced by '_',
// e.g. "f_2024-01-01.csv" or "f_eu_orders.csv" for eu/orders.csv.
//
// The schema comes from the first file: Arrow's type inference on its first block for CSV
// and JSON Lines (columns with no value there become strings), the footer for Parquet;
// `columns` overrides the type of named columns. Every file is then read with exactly
// that schema: a file whose columns differ (names, order, or Parquet types) is Invalid,
// naming the file and the column. Files are never loaded whole: memory per reader is one
// block (CSV/JSON) or one row group's column chunks (Parquet) plus one batch.
//
// Each partition's split {"path": ..., "format": "csv" | "jsonl" | "parquet"} names its
// file: OpenPartition reads that file, with the schema inferred (once per consumer) from
// the first file of the pattern, never a file list of its own planning.
//
// Threading: InferSchema/PlanPartitions from one thread; OpenPartition concurrently. The
// file list and schema are computed once, at plan time, then only read.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jetflow/core/config_node.h"
#include "jetflow/core/consumer.h"
#include "jetflow/core/registry.h"

namespace jetflow {

class FileConsumer : public Consumer {
 public:
  enum class Format { kCsv, kJsonLines, kParquet };

  struct Options {
    /// Resolved path: a file, a directory or a glob.
    std::string path;
    /// nullopt: from the file extension (.csv .tsv .txt, .jsonl .ndjson .json,
    /// .parquet .pq; csv and jsonl may end in .gz or .zst).
    std::optional<Format> format;
    /// CSV only. nullopt: ',' (tab for .tsv files).
    std::optional<char> delimiter;
    /// CSV only: false = no header line, columns are named f0, f1, ...
    bool header = true;
    /// CSV only: nullopt = no quoting at all.
    std::optional<char> quote = '"';
    /// CSV only: strings read as null. nullopt = Arrow's defaults ("", "NULL", "null",
    /// "NaN", "N/A", ...). Quoted values are never null.
    std::optional<std::vector<std::string>> null_values;
    /// Type overrides, column name -> type.
    std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> column_types;
    int64_t batch_rows = 65536;
    /// CSV/JSON bytes parsed at a time (and used for type inference). 0 = from
    /// batch_rows.
    int64_t block_size = 0;
  };

  /// Reads path, format, delimiter, header, quote, null_values, columns, batch_rows and
  /// block_size; records every error in the node's Diagnostics.
  static arrow::Result<Options> ParseOptions(const ConfigNode& node,
                                             const ComponentContext& context);
  static arrow::Result<std::unique_ptr<FileConsumer>> Make(Options options);

  /// Invalid naming the pattern if no file matches; Invalid/IOError naming the first
  /// file if it cannot be read or an override names a column it lacks.
  arrow::Result<std::shared_ptr<arrow::Schema>> InferSchema() override;
  arrow::Result<std::vector<PartitionSpec>> PlanPartitions(
      const RunInstance& run) override;
  arrow::Result<std::unique_ptr<PartitionReader>> OpenPartition(
      const PartitionContext& context) override;

  const Options& options() const { return options_; }

  /// One input file.
  struct FileEntry {
    std::string path;      // as opened
    std::string relative;  // to the base folder, for the partition id
    std::string id;        // partition id
    Format format;
  };

 private:
  explicit FileConsumer(Options options) : options_(std::move(options)) {}

  // Lists the files and infers the schema once. REQUIRES: mutex_ held.
  arrow::Status PlanLocked();

  Options options_;
  std::mutex mutex_;
  bool planned_ = false;
  std::vector<FileEntry> files_;
  // As read from the first file (with null-typed columns made strings) ...
  std::shared_ptr<arrow::Schema> read_schema_;
  // ... and with the `columns` overrides applied: the output schema.
  std::shared_ptr<arrow::Schema> schema_;
};

}  // namespace jetflow
