// SqliteConsumer (`type: sqlite`): a table or query of a SQLite database file.
//
// Column types come from the declared types with SQLite's own affinity rules, refined for
// types SQLite lacks (booleans, decimals, dates, timestamps); `columns` overrides them.
// SQLite is dynamically typed, so every value is checked against its column's type as it
// is read: 'abc' in an INTEGER column, 12.345 in a DECIMAL(10,2) column or a malformed
// date is Invalid, naming the table, the column, the row (key or rowid) and the value —
// never a silent null, truncation or a trip through double.
//
// Partitions: without `partition_by`, one partition "all". With
// `partition_by: {column: k, partitions: N}` (k must hold integers), [MIN(k), MAX(k)] is
// cut into N contiguous closed ranges that cover it (sources::CutClosedRanges); ids are
// "<k>_<lo>_<hi>" with both bounds zero-padded to the same width (a negative bound is
// written with 'm' instead of '-'), e.g. "id_000001_050000", and characters of k outside
// [A-Za-z0-9_] written '_'; descriptions "k in [1, 50000]". Rows whose key is NULL form
// one more partition, "<k>_null". expected_rows of every partition comes from COUNT(*)
// at plan time. Each partition's split ({"kind": "all"} or {"kind": "key"} with its
// bounds, see key_ranges.h) is all OpenPartition reads of it, with the options.
//
// The database is only ever opened read-only (and never created): InferSchema and
// PlanPartitions use a short-lived connection, each reader opens its own.
//
// Threading: InferSchema/PlanPartitions from one thread; OpenPartition concurrently.
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

class SqliteConsumer : public Consumer {
 public:
  struct PartitionBy {
    /// An integer column of the table or query.
    std::string column;
    int64_t partitions = 1;
  };

  struct Options {
    /// Resolved path of the database file.
    std::string path;
    /// Exactly one of table and query is set.
    std::string table;
    std::string query;
    /// Type overrides, column name -> type. Supported: bool, int8..int64, float32,
    /// float64, string, binary, date32, timestamp (any unit, with or without UTC),
    /// decimal128.
    std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> column_types;
    std::optional<PartitionBy> partition_by;
    int64_t batch_rows = 65536;
  };

  /// Reads path, table | query, columns, partition_by {column, partitions}, batch_rows;
  /// records every error in the node's Diagnostics.
  static arrow::Result<Options> ParseOptions(const ConfigNode& node,
                                             const ComponentContext& context);
  static arrow::Result<std::unique_ptr<SqliteConsumer>> Make(Options options);

  /// The Arrow type SQLite's declared column type maps to (see docs/sources.md):
  /// INT* -> int64; CHAR/CLOB/TEXT -> string; BLOB -> binary; REAL/FLOA/DOUB -> float64;
  /// BOOL* -> bool; DECIMAL(p,s)/NUMERIC(p,s) -> decimal128(p,s); DATETIME/TIMESTAMP ->
  /// timestamp[us, UTC]; DATE -> date32; bare NUMERIC/DECIMAL -> float64; none or any
  /// other -> string.
  static std::shared_ptr<arrow::DataType> TypeForDeclaredType(
      const std::string& declared);

  /// IOError naming the path if the file is missing or unreadable; Invalid if the table,
  /// a column named in options or the query does not exist / prepare.
  arrow::Result<std::shared_ptr<arrow::Schema>> InferSchema() override;
  /// Invalid if the partition_by column holds a value that is not an integer.
  arrow::Result<std::vector<PartitionSpec>> PlanPartitions(
      const RunInstance& run) override;
  arrow::Result<std::unique_ptr<PartitionReader>> OpenPartition(
      const PartitionContext& context) override;

  const Options& options() const { return options_; }

 private:
  explicit SqliteConsumer(Options options) : options_(std::move(options)) {}

  // Reads the columns and their types once. REQUIRES: mutex_ held.
  arrow::Status DescribeLocked();

  Options options_;
  std::mutex mutex_;
  bool described_ = false;
  std::shared_ptr<arrow::Schema> schema_;
  // Whether `SELECT _rowid_` works on the table (for error messages without a key).
  bool has_rowid_ = false;
};

}  // namespace jetflow
