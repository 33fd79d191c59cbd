// PipelineRunner: plans and runs one run instance of a pipeline. The engine's entry
// point; this comment is the map of the engine.
//
// The engine knows the stage interfaces (core/consumer.h, transformer.h, loader.h) and
// the state store's contract (state/state_store.h), never a concrete source, sink or
// store: programs register those (builtins/) and config/ hands the engine a Pipeline.
//
// The life of a run, one process's view (docs/architecture.md draws it):
//
//  1. Plan (PipelineRunner::Plan). Infer the consumer's schema, bind every transformer,
//     make and bind a loader per side output (Pipeline::side_output_loader), bind every
//     loader and check it against the run instance (all mismatches reported at once), ask
//     the consumer for its run state (watermarks, run_state.h) and plan the partitions.
//     Moves no data, writes nothing: a config that cannot work fails here.
//  2. Record (StateStore::BeginRun). The run and its partitions, with their splits, are
//     recorded before anything moves, with the `at_begin` watermarks in the same
//     transaction. The latest unfinished run of the instance is resumed (committed
//     partitions kept if their bounds and the plan's fingerprint — configuration and
//     schemas — are unchanged); if other processes are working on it, this one joins
//     them instead. A process that did not join starts every loader's run
//     (Loader::BeginRun: removing dead attempts' leftovers). A resuming process then
//     checks the output of every committed partition it would keep against its
//     manifests (Loader::VerifyCommitted, to engine.verify_on_resume) and reopens the
//     ones that differ (StateStore::ReopenPartition): they are redone, never kept.
//  3. Attempts (PartitionPool, partition_attempt.h). Worker threads claim partitions from
//     the store and run attempts: a reader thread streams batches through a bounded
//     queue, within the run's memory budget, into transformers and writers; rows are
//     reconciled; the lease is confirmed; side outputs and loaders commit; the outcome is
//     recorded with the claim's fencing token. Retryable failures retry with backoff; a
//     permanent one cancels the run. A LeaseKeeper renews this process's lease meanwhile.
//  4. Finish. When every partition is committed, exactly one process wins
//     StateStore::ClaimRunFinish: its loaders finish the run (stale partitions removed,
//     run manifest, completion marker), then StateStore::FinishRun marks the run
//     succeeded and writes the `at_commit` watermarks, in one transaction. The others
//     wait for the run to end.
//  5. End of the record, on every path: a permanent failure marks the run failed; an
//     interrupted process, or one whose lease was lost, leaves the run (the last one out
//     marks it failed), so the next `jetflow run` resumes.
//
// A crash between any two steps leaves a state that step 2 of the next run resumes from;
// the fault-injection tests (engine/fault_injection_test.cc) kill the run at each window.
//
// Threading: one Run() at a time per Pipeline; the runner owns all threads it starts.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "jetflow/core/partition.h"
#include "jetflow/engine/cancellation.h"
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

/// Live counters, readable from another thread for progress reports. Rows and bytes
/// count the attempts in flight and those that committed: when an attempt fails, what
/// it counted is taken back (its retry reads it again) and its rows read are added to
/// rows_discarded.
struct RunProgress {
  std::atomic<int64_t> rows_read{0};
  std::atomic<int64_t> rows_written{0};
  std::atomic<int64_t> bytes_read{0};  // in-memory Arrow bytes of batches read
  /// Rows read by attempts that failed (and were aborted), not in rows_read.
  std::atomic<int64_t> rows_discarded{0};
  std::atomic<int64_t> partitions_total{0};
  std::atomic<int64_t> partitions_done{0};  // committed, including ones kept from earlier
};

struct RunSummary {
  int64_t run_id = 0;
  bool resumed = false;
  /// This process joined other live processes on the run.
  bool joined = false;
  bool succeeded = false;
  std::string error;  // first error when !succeeded
  int64_t partitions_total = 0;
  int64_t partitions_kept = 0;  // committed by an earlier attempt of this run, not redone
  /// Committed by an earlier attempt under another configuration: redone.
  int64_t partitions_changed = 0;
  /// Committed by an earlier attempt, but their output was no longer as their manifests
  /// describe (a file deleted, truncated, replaced; the directory gone): redone.
  int64_t partitions_damaged = 0;
  int64_t partitions_failed = 0;
  int64_t attempts_retried = 0;
  /// Rows of the committed partitions (each counted once, by the attempt that committed
  /// it): what a failed attempt or a failed partition read is not here.
  int64_t rows_read = 0;
  int64_t rows_written = 0;
  int64_t rows_dropped = 0;
  int64_t rows_quarantined = 0;
  /// Values the stages wrote otherwise than they read them (core/value_changes.h),
  /// summed over the committed partitions, in order of first appearance.
  std::vector<ValueChangeCount> value_changes;
  /// The consumer's run-state warnings (RunStatePlan::warnings): rows no run will read,
  /// a watermark that cannot advance. Also logged once when the run starts.
  std::vector<std::string> warnings;
  /// Per-rule counts summed over the run's committed partitions (partition_id empty),
  /// in order of first appearance.
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
  /// Cancel it (e.g. from the thread that waits for SIGINT) to stop the run: attempts in
  /// flight abort, this process leaves the run, and the summary's error is the reason.
  Cancellation* cancellation = nullptr;
  /// This process in the state store; ThisWorker() when empty (tests set others).
  std::string worker;
  /// How long this process's claims last without renewal; it renews every third of it.
  std::chrono::milliseconds lease{30'000};
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

  /// Plans (or takes options.plan), then runs (steps 2-5 at the top of this file). A
  /// failed run is not an error of Run() itself: it returns a summary with succeeded ==
  /// false. Errors of the state store (which make resuming unsafe) are, and so are a plan
  /// that differs from that of a live run it would join and a loader that refuses its
  /// target in BeginRun, before writing anything (both Invalid). Either way, once the
  /// run is recorded its record is ended (failed, or left) before Run() returns.
  static arrow::Result<RunSummary> Run(Pipeline& pipeline, const RunInstance& run,
                                       StateStore& state, const RunOptions& options);
};

/// Makes the loaders of the transformers' side outputs (Pipeline::side_loaders), not
/// bound: Plan() binds them; `jetflow verify` only reads what they published.
arrow::Status MakeSideLoaders(Pipeline& pipeline, const RunInstance& run);

/// Peak resident set size of this process (VmHWM), in bytes; 0 if unknown.
int64_t PeakRssBytes();

}  // namespace jetflow
