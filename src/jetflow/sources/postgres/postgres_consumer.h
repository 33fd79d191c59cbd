// PostgresConsumer (`type: postgres`): a table or a query of a PostgreSQL database,
// streamed with `COPY (SELECT ...) TO STDOUT (FORMAT binary)` and decoded straight into
// Arrow by CopyBinaryDecoder (one decoder per column, chosen once from its type OID).
//
// Schema: from the catalog for a table (types, typmods, NOT NULL, column order), from
// the prepared statement's description for a query (every column nullable). A column
// whose type has no binary decoder is selected as `"col"::text` with a plan-time warning
// (`text_fallback: true`, the default) or rejected (`text_fallback: false`). An array
// column's dimension count (Arrow nests one list per dimension) is `array_dimensions:`
// when declared, else what the source's first rows hold (PostgreSQL does not enforce
// declared dimensions, and a view's or query's columns declare none), else the
// catalog's attndims (1 for views and queries); a value with other dimensions fails its
// partition naming the remedy.
//
// The COPY is `COPY table (columns) TO STDOUT` only for a plain table without
// inheritance children whose selected columns are all plain and none generated; every
// other source (views, materialized views, partitioned and foreign tables, queries,
// partitions with a condition) is read through `COPY (SELECT ...) TO STDOUT`, which
// reads the same rows as a SELECT. Relations no SELECT can read (indexes, composite
// types, sequences) and materialized views never populated fail at plan time.
//
// Consistency: at plan time a coordinator connection opens a REPEATABLE READ READ ONLY
// transaction and exports its snapshot (pg_export_snapshot); planning queries (min/max,
// pages, the incremental window's high bound) run in it, and every partition reader
// imports it (SET TRANSACTION SNAPSHOT) before its COPY. The coordinator stays open for
// the consumer's lifetime. If it is lost, readers cannot import the snapshot: the
// partition fails permanently with a message saying so (never a silent read of another
// snapshot); running the pipeline again resumes with a new snapshot.
//
// The snapshot is the one piece of per-run state that is not in the partitions' splits,
// and cannot be: its id names a transaction of this process's coordinator connection,
// valid only while that connection keeps the transaction open, so a persisted id would
// mean nothing to another process or after a restart. A consumer that opens a partition
// without having planned (a resumed run, a worker that joined) connects its own
// coordinator and exports a snapshot of its own on the first OpenPartition: the
// partitions it reads share that snapshot, and each partition is read whole from one
// snapshot, which the plan's open-ended ranges make safe (see partition_planner.h).
// With `snapshot: false` there is none: each reader reads in its own transaction.
//
// Partitions: "all" (no partition_by); key ranges of an integer, date or timestamp
// column (by count, rows per partition, interval or explicit bounds); CTID page ranges;
// or the table's native (leaf) partitions. See partition_planner.h. Each partition's
// split is its PartitionRead (SplitOf) plus, for an incremental source, the window
// {"low", "high"} it reads; OpenPartition builds its COPY from the split and the options
// alone.
//
// Incremental runs (`incremental: {cursor: ...}`): each run instance reads the window
// (low, high] of the cursor column, pinned in the state store when the run is recorded
// (so a re-run reads the same rows); the high watermark advances only when the run
// succeeds. `high` is the greatest FINITE cursor value: +infinity and NaN (which the
// server orders above every finite value) would otherwise become a watermark that no
// later row can pass. Rows whose cursor is NULL, +infinity or NaN are in no window; every
// plan counts them and reports them (RunStatePlan::warnings) or fails
// (`on_skipped: error`). A watermark that is not finite (stored by an earlier version, or
// `initial:`) fails the plan; one more than a day ahead of the server's clock is
// reported. See docs/sources.md.
//
// Threading: InferSchema, PlanRunState and PlanPartitions from one thread; OpenPartition
// concurrently (each reader has its own connection).
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "jetflow/core/config_node.h"
#include "jetflow/core/consumer.h"
#include "jetflow/core/registry.h"
#include "jetflow/sources/invalid_utf8.h"
#include "jetflow/sources/partition_split.h"
#include "jetflow/sources/postgres/connection.h"
#include "jetflow/sources/postgres/partition_planner.h"
#include "jetflow/sources/postgres/pg_type.h"

namespace jetflow {

/// `type: postgres` (see PostgresConsumer and docs/sources.md).
void RegisterPostgresConsumer(ComponentRegistry& registry);

namespace postgres {

class PostgresConsumer : public Consumer {
 public:
  struct PartitionBy {
    enum class Mode { kNone, kKey, kCtid, kNative };
    Mode mode = Mode::kNone;
    std::string column;
    int64_t partitions = 0;
    int64_t rows_per_partition = 0;
    /// Raw `interval:` text: an integer for integer keys, a duration for time keys.
    std::string interval;
    /// Raw `ranges:` split points, parsed by the server in the key's type.
    std::vector<std::string> ranges;
    int64_t pages_per_partition = 0;
  };

  struct Incremental {
    std::string cursor;
    /// Raw `lookback:` text (an integer for integer cursors, a duration for time ones);
    /// empty for none.
    std::string lookback;
    /// Lower bound (exclusive) of the first run; empty: from the first row.
    std::string initial;
    /// Rows whose cursor no window can hold (NULL, +infinity, NaN): counted at every plan
    /// and reported as a warning (kWarn), or the plan fails naming them (kError).
    enum class OnSkipped { kWarn, kError };
    OnSkipped on_skipped = OnSkipped::kWarn;
  };

  struct Options {
    std::string component;  // the component's name, for watermark names
    ConnectionOptions connection;
    /// Exactly one of table and query.
    std::string table;
    std::string query;
    std::vector<std::string> columns;
    /// `array_dimensions: {col: 2}`: the dimensions of array columns, declared; every
    /// other array column's are read from a sample of the source (see DescribeLocked).
    std::map<std::string, int> array_dimensions;
    PartitionBy partition_by;
    std::optional<Incremental> incremental;
    PgDecodeOptions decode;
    /// What text values that are not valid UTF-8 (a SQL_ASCII database) become, per
    /// column.
    sources::InvalidUtf8Options invalid_utf8;
    bool text_fallback = true;
    bool snapshot = true;
    bool reconcile_counts = false;
    int64_t batch_rows = 131072;
    int64_t batch_bytes = int64_t{8} << 20;
  };

  /// Reads every option (docs/sources.md); records all errors in the node's Diagnostics.
  static arrow::Result<Options> ParseOptions(const ConfigNode& node,
                                             const ComponentContext& context);
  static arrow::Result<std::unique_ptr<PostgresConsumer>> Make(Options options);
  ~PostgresConsumer() override;

  arrow::Result<std::shared_ptr<arrow::Schema>> InferSchema() override;
  arrow::Result<RunStatePlan> PlanRunState(const RunInstance& run,
                                           WatermarkReader* watermarks) override;
  arrow::Result<std::vector<PartitionSpec>> PlanPartitions(
      const RunInstance& run) override;
  arrow::Result<std::unique_ptr<PartitionReader>> OpenPartition(
      const PartitionContext& context) override;

  const Options& options() const { return options_; }

 private:
  explicit PostgresConsumer(Options options) : options_(std::move(options)) {}

  struct SelectedColumn {
    PgColumn column;     // as decoded (text for a fallback column)
    std::string select;  // SQL expression in the COPY's select list
  };
  struct Window {
    std::optional<std::string> low;   // exclusive; nullopt: unbounded
    std::optional<std::string> high;  // inclusive; nullopt: empty window
  };

  // REQUIRES: mutex_ held.
  arrow::Status EnsureCoordinatorLocked();
  arrow::Status DescribeLocked();
  std::string SourceSql() const;   // FROM target: quoted table or (query) AS q
  std::string SourceName() const;  // "table x" or "query", for messages
  // The incremental window's condition, or "" when the source is not incremental.
  std::string WindowSql(const std::optional<Window>& window) const;
  arrow::Result<std::vector<PlannedPartition>> PlanKeyLocked();
  // What a partition's split says it reads: Invalid naming the partition if the split
  // is malformed or does not match the options. Needs no server.
  struct SplitRead {
    PartitionRead read;
    std::optional<Window> window;  // set iff the source is incremental
  };
  arrow::Result<SplitRead> ReadSplit(const sources::SplitReader& split) const;
  // Its SQL. REQUIRES: mutex_ held, described.
  PartitionSql SqlOfRead(const SplitRead& split) const;
  std::string CopySql(const PartitionSql& partition) const;

  Options options_;
  std::mutex mutex_;
  std::unique_ptr<PgConnection> coordinator_;
  std::string snapshot_id_;
  bool described_ = false;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<SelectedColumn> selected_;
  std::vector<PgColumn> source_columns_;  // every column of the table / query
  std::string qualified_table_;           // quoted, as resolved by the server
  char relkind_ = 'r';
  bool has_children_ = false;  // pg_class.relhassubclass of the table
  // `COPY table (columns) TO` reads exactly the rows and columns of the SELECT: a plain
  // table without inheritance children, and no generated column selected.
  bool plain_copy_ = false;
  // REQUIRES: mutex_ held, source_columns_ described. Plans the dimensions of the array
  // columns of `selected_` (array_dimensions, else a sample of the source, else the
  // catalog's); Invalid naming the column if a sample holds several.
  arrow::Status PlanArrayDimensionsLocked(const std::vector<int32_t>& declared);
  // REQUIRES: mutex_ held, described, incremental. Rows no window can hold, as a
  // warning for the run (nullopt if there are none), or Invalid with on_skipped: error.
  arrow::Result<std::optional<std::string>> SkippedRowsLocked();
  // REQUIRES: as above. Invalid if `value` (a window bound or watermark) is +infinity or
  // NaN; `what` names where it comes from.
  arrow::Status CheckFiniteLocked(const std::string& value, const std::string& what);
  // REQUIRES: as above. A warning if watermark `value` of a time cursor is more than a
  // day ahead of the server's clock.
  arrow::Result<std::optional<std::string>> AheadOfClockLocked(const std::string& value,
                                                               const std::string& name);

  std::optional<Window> window_;  // of the last plan
  std::string cursor_type_;       // format_type of the cursor column
  uint32_t cursor_oid_ = 0;       // its type's OID (a domain's base type)
};

}  // namespace postgres
}  // namespace jetflow
