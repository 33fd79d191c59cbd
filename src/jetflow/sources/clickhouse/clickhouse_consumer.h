// ClickHouseConsumer (`type: clickhouse`): a table or a SELECT of a ClickHouse server,
// read over the HTTP interface in ClickHouse's columnar `FORMAT Native`, block by block,
// straight into Arrow (NativeBlockReader).
//
// Schema: `SELECT <columns> FROM <table | (query)> LIMIT 0 FORMAT TSVWithNamesAndTypes`
// gives names and ClickHouse types; ParseClickHouseType + ArrowTypeFor give the Arrow
// schema before any data moves. A type the decoder does not support is a plan-time
// Invalid naming the column and its type and what works instead, or, with
// `cast_unsupported_to_string: true`, the column is read as toString(column) and becomes
// a String. A String holds any bytes: `invalid_utf8` says per column what values that
// are not UTF-8 become (an error naming column, partition and row; U+FFFD, counted as
// value changes (core/value_changes.h); or a binary column).
//
// Partitions (all deterministic for the same data):
//  - none: one partition "all" (expected_rows = count() for a table);
//  - `partition_by: parts`: one partition per partition of the MergeTree table
//    (system.parts, active parts), id "part_<partition_id>", read with
//    `WHERE _partition_id = '<id>'`; expected_rows = the rows of its active parts, which
//    merges do not change, so it reconciles what was read;
//  - `partition_by: {column: k, partitions: N}`: [min(k), max(k)] of an integer column
//    (Int8..UInt64) cut into N closed ranges "<k>_<lo>_<hi>" (sources::CutClosedRanges,
//    as the sqlite source, but k keeps '.' and '-' and is led by 'c' when it does not
//    start with a letter), plus "<k>_null";
//  - `partition_by: {column: ts, interval: 1h}`: time slices of a DateTime/Date column
//    aligned to multiples of the interval since 1970-01-01 UTC, one per non-empty slice,
//    id "<ts>_<YYYYMMDDTHHMMSS>" (the slice's start in UTC), plus "<ts>_null".
// Each partition's split says what it reads ({"kind": "all" | "part" | "key" | "slice"}
// with the partition id and key, the key bounds, or the slice's [start, end) seconds);
// OpenPartition builds its WHERE from the split and the options alone.
//
// An answer of the server that is not what the query asks for (a count that is not a
// number, a row of the wrong width) is a SerializationError naming the query and the
// table.
//
// Errors: connection problems, timeouts, 5xx and a connection dropped mid-partition are
// retryable (the engine retries the partition; the loader's staging keeps the lake free
// of duplicates); SQL errors and bad credentials are permanent (see http_client.h).
//
// Threading: InferSchema/PlanPartitions from one thread; OpenPartition concurrently, each
// reader with its own HTTP connection.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "jetflow/core/config_node.h"
#include "jetflow/core/consumer.h"
#include "jetflow/core/registry.h"
#include "jetflow/sources/clickhouse/http_client.h"
#include "jetflow/sources/clickhouse/native_format.h"
#include "jetflow/sources/invalid_utf8.h"
#include "jetflow/sources/key_ranges.h"
#include "jetflow/sources/partition_split.h"

namespace jetflow {

class ClickHouseConsumer : public Consumer {
 public:
  enum class PartitionKind { kNone, kParts, kKeyRange, kTimeInterval };

  struct Options {
    /// url, user, password, database, settings, compression, timeouts.
    clickhouse::HttpOptions http;
    /// Exactly one of table and query is set.
    std::string table;
    std::string query;
    /// Columns to read, in this order; empty = all columns of the table or query.
    std::vector<std::string> columns;
    PartitionKind partition_kind = PartitionKind::kNone;
    /// The key (kKeyRange) or time (kTimeInterval) column.
    std::string partition_column;
    int64_t partitions = 1;
    std::chrono::seconds interval{3600};
    /// Read columns of unsupported types as toString(column) instead of failing.
    bool cast_unsupported_to_string = false;
    /// What String values that are not valid UTF-8 become, per column.
    sources::InvalidUtf8Options invalid_utf8;
    /// Blocks with more rows are cut into batches of this many rows.
    int64_t batch_rows = 131072;
  };

  /// Reads url, user, password_env, database, table | query, columns, partition_by,
  /// settings, compression, connect_timeout, receive_timeout, cast_unsupported_to_string,
  /// invalid_utf8, batch_rows; records every error in the node's Diagnostics.
  static arrow::Result<Options> ParseOptions(const ConfigNode& node,
                                             const ComponentContext& context);
  static arrow::Result<std::unique_ptr<ClickHouseConsumer>> Make(Options options);

  /// Invalid naming the column for unsupported types; the server's error otherwise.
  arrow::Result<std::shared_ptr<arrow::Schema>> InferSchema() override;
  arrow::Result<std::vector<PartitionSpec>> PlanPartitions(
      const RunInstance& run) override;
  arrow::Result<std::unique_ptr<PartitionReader>> OpenPartition(
      const PartitionContext& context) override;

  const Options& options() const { return options_; }

 private:
  explicit ClickHouseConsumer(Options options) : options_(std::move(options)) {}

  // Reads the columns and their types once. REQUIRES: mutex_ held.
  arrow::Status DescribeLocked();
  // REQUIRES (all three): mutex_ held, described.
  arrow::Result<std::vector<PartitionSpec>> PlanParts();
  arrow::Result<std::vector<PartitionSpec>> PlanKeyRanges();
  arrow::Result<std::vector<PartitionSpec>> PlanTimeSlices();
  // What a partition's split says it reads: Invalid naming the partition if the split
  // is malformed or does not match the options. Needs no server.
  struct SplitRead {
    PartitionKind kind = PartitionKind::kNone;
    std::string partition_id, partition, partition_key;  // kParts
    sources::KeyBounds key;  // kKeyRange; null_keys also for kTimeInterval
    int64_t start = 0;       // kTimeInterval: [start, end) in seconds since the epoch
    int64_t end = 0;
  };
  arrow::Result<SplitRead> ReadSplit(const sources::SplitReader& split) const;
  // Its WHERE condition ("" for all rows). REQUIRES: mutex_ held, described.
  std::string PredicateOf(const SplitRead& read) const;
  // Whether the partition_by column is a Date (else a DateTime). REQUIRES: described.
  bool IsDateColumn() const;
  // "table default.t at http://host:port", for messages.
  std::string Describe() const;
  // "`t`" or "(SELECT ...)".
  std::string SourceSql() const;

  Options options_;
  std::mutex mutex_;
  bool described_ = false;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<clickhouse::NativeColumnSpec> specs_;
  // What SELECT reads: `c` or toString(`c`) AS `c`, comma-separated.
  std::string select_list_;
  // ClickHouse type spelling of each column by name (for partition_by checks).
  std::map<std::string, std::string> type_names_;
};

/// `type: clickhouse` — a table or query of a ClickHouse server (see ClickHouseConsumer).
void RegisterClickHouseConsumer(ComponentRegistry& registry);

}  // namespace jetflow
