// PipelineRunner: plans and runs one run instance of a pipeline.
//
// Plan: infer the consumer's schema, bind every transformer and loader (so a config that
// cannot work fails before any data moves), and plan the partitions.
//
// Run: record the plan in the state store (resuming an unfinished run of the same
// instance), then process pending partitions, `partitions_in_flight` at a time. Each
// partition attempt runs a reader thread (consumer -> bounded queue, every batch
// reserving its bytes from the memory budget) and a writer thread (transformers -> every
// loader). Before commit, rows are reconciled: read = written + dropped + quarantined
// (and = the count the source promised at plan time, when it did). A retryable failure
// retries the partition with exponential backoff; a permanent one cancels the other
// partitions. When every partition is committed, each loader finishes the run
// (stale-partition cleanup, run manifest, completion marker) and the run is marked
// succeeded.
//
// Threading: one Run() at a time per Pipeline; the runner owns all threads it starts.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "jetflow/core/partition.h"
#include "jetflow/engine/pipeline.h"
#include "jetflow/state/state_store.h"

namespace jetflow {

/// How far Plan() goes for a consumer that carries run state (watermarks) when it is
/// given no state store.
enum class PlanScope {
  /// Everything, partitions included, as for a first run.
  kEverything,
  /// Schemas and run state only: the partitions of such a consumer depend on the
  /// watermarks, so they come from a plan with the store (Run() makes one), and the
  /// source's planning queries (row counts, key ranges) run once, for the right window.
  /// A consumer without run state is planned in full.
  kPartitionsIfStateless,
};

struct PipelinePlan {
  RunInstance run;
  std::shared_ptr<arrow::Schema> source_schema;
  /// Schema after all transformers (what loaders receive).
  std::shared_ptr<arrow::Schema> stream_schema;
  /// One per loader, in config order: what it writes.
  std::vector<std::shared_ptr<arrow::Schema>> output_schemas;
  std::vector<PartitionSpec> partitions;
  /// False when PlanScope::kPartitionsIfStateless left the partitions out.
  bool partitions_planned = true;
  /// Whether Plan() was given a state store (the consumer saw its watermarks).
  bool planned_with_state = false;
  /// Watermarks the consumer asked to persist (Consumer::PlanRunState); Run() writes
  /// at_begin once the run is recorded and at_commit when the run succeeds.
  RunStatePlan run_state;
};

/// Live counters, readable from another thread for progress reports.
struct RunProgress {
  std::atomic<int64_t> rows_read{0};
  std::atomic<int64_t> rows_written{0};
  std::atomic<int64_t> bytes_read{0};  // in-memory Arrow bytes of batches read
  std::atomic<int64_t> partitions_total{0};
  std::atomic<int64_t> partitions_done{0};  // committed, including ones kept from earlier
};

struct RunSummary {
  int64_t run_id = 0;
  bool resumed = false;
  bool succeeded = false;
  std::string error;  // first error when !succeeded
  int64_t partitions_total = 0;
  int64_t partitions_kept = 0;  // committed by an earlier attempt of this run, not redone
  int64_t partitions_failed = 0;
  int64_t attempts_retried = 0;
  int64_t rows_read = 0;
  int64_t rows_written = 0;
  int64_t rows_dropped = 0;
  int64_t rows_quarantined = 0;
  /// Per-rule counts summed over the run's partitions (partition_id empty), in order of
  /// first appearance.
  std::vector<RuleCountRecord> rules;
  int64_t bytes_written = 0;  // file bytes, summed over loaders
  double seconds = 0;
  int64_t peak_budget_bytes = 0;
  int64_t peak_rss_bytes = 0;
  /// Highest number of bytes allocated from Arrow's default memory pool at once.
  int64_t peak_arrow_pool_bytes = 0;
};

struct RunOptions {
  /// Start a new run even if an unfinished one could be resumed.
  bool restart = false;
  RunProgress* progress = nullptr;  // optional
  /// Checked between batches; set it (e.g. from a signal handler) to stop the run.
  const std::atomic<bool>* interrupt = nullptr;
  /// A plan of the same pipeline object made by Plan(), e.g. to reject a bad config
  /// before the store is opened. Run() uses it instead of planning again when it is of
  /// the run instance being run, has its partitions, and either the consumer carries no
  /// run state (its RunStatePlan is empty: the watermarks could change nothing) or it
  /// was planned with `state`, the store given to Run(). The source's planning queries
  /// (row counts, key ranges) then run once. Optional.
  const PipelinePlan* plan = nullptr;
};

class PipelineRunner {
 public:
  /// Binds every stage and plans partitions. Moves no data and writes nothing. `state`
  /// (optional) gives the consumer read access to the pipeline's watermarks; without it,
  /// `scope` says whether a consumer with run state is planned as for a first run.
  static arrow::Result<PipelinePlan> Plan(Pipeline& pipeline, const RunInstance& run,
                                          StateStore* state = nullptr,
                                          PlanScope scope = PlanScope::kEverything);

  /// Plans (or takes options.plan), then runs. A failed run is not an error of Run()
  /// itself: it returns a summary with succeeded == false. Errors of the state store
  /// (which make resuming unsafe) are.
  static arrow::Result<RunSummary> Run(Pipeline& pipeline, const RunInstance& run,
                                       StateStore& state, const RunOptions& options);
};

/// Peak resident set size of this process (VmHWM), in bytes; 0 if unknown.
int64_t PeakRssBytes();

}  // namespace jetflow
