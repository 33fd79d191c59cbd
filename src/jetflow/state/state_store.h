// StateStore: the durable record of runs, partitions, attempts, manifests and watermarks,
// and the place where the processes working on one run coordinate.
//
// The engine writes every state change here *before* it acts on it, so that a process
// killed at any moment (kill -9) and started again with the same pipeline and run
// instance resumes: partitions recorded as committed are kept, everything else is redone.
// Other systems (schedulers, catalogs) read the same tables (docs/state-store.md).
//
// The multi-process contract. Any number of processes ("workers", named by
// worker_identity.h) may work on one run at once; this interface is all they share.
//
//  1. BeginRun. The first process records the run: a new one, or the latest unfinished
//     run of the same pipeline and instance, resumed. Every process that takes part holds
//     a lease on the run, renewed with RenewLease well within BeginRunOptions::lease; a
//     worker whose lease ran out, or whose process is known to be gone (same machine), is
//     dead. A process that finds live workers on the run *joins* it instead: its plan
//     must equal the recorded one, nothing of the live workers is touched, and it must
//     not clean up after them (no loader BeginRun). The worker that resumes a run checks
//     the output of the committed partitions it kept and reopens damaged ones
//     (ReopenPartition); until it claims the finish itself or dies, no other worker may
//     finish the run, so a run is never published before that check.
//  2. ClaimPartition hands out one partition at a time: pending, or left by a dead worker
//     (its attempt becomes `abandoned`). The claim's attempt number is a fencing token:
//     once another worker has claimed the partition, the old attempt number is refused.
//  3. FinishAttempt with that token records the outcome. Before a writer publishes, the
//     engine renews its lease; a refused renewal or a refused FinishAttempt is LeaseLost
//     (IsLeaseLost): the writer aborts and the attempt is never counted. (A publish is
//     never longer than a lease: the check happens right before it.)
//  4. When nothing is left to claim and every partition is committed, ClaimRunFinish is
//     true for exactly one live worker. It finishes the loaders' run (cleanup, run
//     manifest, completion marker) and calls FinishRun, which marks the run succeeded and
//     writes the commit watermarks in the same transaction. The others wait for the run
//     to end, and take the finish over if the finisher dies.
//  5. A permanent failure ends the run for everyone: FinishRun(kFailed). A process that
//     stops for its own reasons (interrupted, its lease lost) calls LeaveRun: the run
//     goes on with the others, and only the last live worker leaving an unfinished run
//     marks it failed, so that the next BeginRun resumes it.
// Implementations: SQLite (sqlite/sqlite_state_store.h), for processes on one machine.
//
// Threading: implementations are thread-safe; the engine calls them from several threads.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jetflow/core/partition.h"
#include "jetflow/core/run_state.h"

namespace jetflow {

enum class RunStatus { kRunning, kSucceeded, kFailed };
enum class PartitionStatus { kPending, kRunning, kCommitted, kFailed };

const char* ToString(RunStatus status);
const char* ToString(PartitionStatus status);

/// Marks a Status as "this worker's claim is gone": another worker took the partition or
/// the run over, or the run ended. The worker must stop without publishing.
class LeaseLostDetail : public arrow::StatusDetail {
 public:
  static constexpr const char* kTypeId = "jetflow::LeaseLostDetail";
  const char* type_id() const override { return kTypeId; }
  std::string ToString() const override { return "lease lost"; }
};
arrow::Status LeaseLost(const std::string& message);
bool IsLeaseLost(const arrow::Status& status);

struct RunRecord {
  int64_t run_id = 0;
  std::string pipeline;
  std::string instance;  // RunInstance::id(), e.g. "dt=2026-11-25"
  RunStatus status = RunStatus::kRunning;
  std::string started_at;   // ISO-8601 UTC
  std::string finished_at;  // empty while running
  int64_t rows_read = 0;
  int64_t rows_written = 0;
  int64_t bytes_written = 0;
  std::string error;  // first error of a failed run
  /// True if BeginRun continued an earlier run instead of starting a new one (GetRun:
  /// the run has been resumed at least once).
  bool resumed = false;
  /// True if BeginRun found other live workers on the run and joined them.
  bool joined = false;
  /// BeginRun, resuming: committed partitions that are redone because they were written
  /// under another fingerprint (the pipeline changed since).
  int64_t partitions_changed = 0;
};

struct PartitionRecord {
  std::string partition_id;
  std::string description;
  int64_t expected_rows = -1;
  /// PartitionSpec::split as planned.
  std::string split;
  PartitionStatus status = PartitionStatus::kPending;
  int attempts = 0;
  /// The worker that holds (running) or last held (failed) the partition; empty if none.
  std::string owner;
  int64_t rows_read = 0;
  int64_t rows_written = 0;
  int64_t rows_dropped = 0;
  int64_t rows_quarantined = 0;
  int64_t bytes_written = 0;
  double seconds = 0;
  std::string error;
  /// JSON array of PartitionManifest::ToJson(), one per loader; empty until committed.
  std::string manifests_json;

  PartitionSpec spec() const { return {partition_id, description, expected_rows, split}; }
};

/// Rows one rule of one transformer acted on in a partition (see RuleCount in
/// core/transformer.h).
struct RuleCountRecord {
  std::string partition_id;  // empty in run totals
  std::string stage;         // transformer name
  std::string rule;
  std::string action;  // drop, quarantine, null, fail
  int64_t rows = 0;
};

/// Outcome of one partition attempt.
struct AttemptResult {
  PartitionStatus status = PartitionStatus::kFailed;  // kCommitted or kFailed
  int64_t rows_read = 0;
  int64_t rows_written = 0;
  int64_t rows_dropped = 0;
  int64_t rows_quarantined = 0;
  int64_t bytes_written = 0;
  double seconds = 0;
  std::string error;
  std::string manifests_json;
  /// Per-rule counts of the attempt; they replace the partition's earlier counts.
  std::vector<RuleCountRecord> rules;
  /// For kFailed: the worker retries the partition itself (it keeps its claim, so no
  /// other worker takes it meanwhile); false gives the partition up.
  bool will_retry = false;
};

struct BeginRunOptions {
  /// Start a new run even if an unfinished one could be resumed or joined; the old one is
  /// closed as failed, and its live workers lose their leases.
  bool restart = false;
  /// The calling process; ThisWorker() when empty.
  std::string worker;
  /// How long the worker's lease on the run lasts without RenewLease.
  std::chrono::milliseconds lease{30'000};
  /// Watermarks to write in the same transaction as the run record (RunStatePlan::
  /// at_begin). Not written when joining: the live workers wrote them.
  std::vector<WatermarkUpdate> watermarks;
  /// Identifies everything that shaped the partitions' output (the pipeline's config and
  /// schemas). Recorded with each partition: a resume keeps a committed partition only
  /// if it was written under the same fingerprint, and joining requires the same.
  std::string fingerprint;
};

/// A partition handed to one worker, and the attempt number that fences it.
struct PartitionClaim {
  PartitionSpec partition;
  int attempt = 0;
};

/// What ClaimPartition found.
struct ClaimResult {
  /// The claimed partition, if one was claimable.
  std::optional<PartitionClaim> claim;
  /// Partitions held (running, or failed and about to be retried) by the calling worker,
  /// the claimed one included.
  int64_t held_here = 0;
  /// Partitions held by other live workers.
  int64_t held_elsewhere = 0;
  /// Partitions not yet committed, the claimed and held ones included.
  int64_t not_committed = 0;
  /// The run's status. When it is not kRunning nothing is claimed: the run ended,
  /// finished by another worker or failed (`run_error`).
  RunStatus run_status = RunStatus::kRunning;
  std::string run_error;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  /// Starts, resumes or joins the run of (pipeline, instance); see the top of this file.
  /// If the latest run of that pair is unfinished and `options.restart` is false:
  ///  - with other live workers on it, the call joins: `plan` and the fingerprint must
  ///    equal the recorded ones (ids, order, descriptions, splits), else Invalid naming
  ///    the first difference; RunRecord::joined is true.
  ///  - otherwise it is resumed: same run_id, its committed partitions kept if they are
  ///    still in `plan` with the same description and split and were written under the
  ///    same `options.fingerprint`; every other partition reset to pending, attempts of
  ///    dead workers abandoned. The run's finish is reserved for the calling worker
  ///    (ClaimRunFinish), so that it can check the kept partitions' output first
  ///    (ReopenPartition).
  /// Otherwise a new run starts with every partition of `plan` pending.
  /// The calling worker's lease on the run starts here.
  virtual arrow::Result<RunRecord> BeginRun(const std::string& pipeline,
                                            const RunInstance& instance,
                                            const std::vector<PartitionSpec>& plan,
                                            const BeginRunOptions& options) = 0;
  /// BeginRun as the calling process, with the default lease.
  arrow::Result<RunRecord> BeginRun(const std::string& pipeline,
                                    const RunInstance& instance,
                                    const std::vector<PartitionSpec>& plan, bool restart);

  /// The worker that began or resumed the run (RunRecord::joined false) has prepared its
  /// output (Loader::BeginRun, which clears what dead attempts of the run instance
  /// left): workers that joined may start attempts now. Until then they wait
  /// (IsRunOpen), since that cleanup would delete what they stage. KeyError if the run
  /// does not exist.
  virtual arrow::Status OpenRun(int64_t run_id) = 0;
  /// True once OpenRun was called since the run began or was last resumed. False while
  /// it was not and a live worker other than `worker` remains (the one preparing it);
  /// Invalid if none remains: the worker that began the run stopped before it prepared
  /// the output. LeaseLost if the run is no longer running; KeyError if it does not
  /// exist.
  virtual arrow::Result<bool> IsRunOpen(int64_t run_id, const std::string& worker) = 0;

  /// Extends `worker`'s lease on the run to `lease` from now. LeaseLost if another worker
  /// found it dead and took its partitions over, if the run is no longer running, or if
  /// the worker never began (or left) the run.
  virtual arrow::Status RenewLease(int64_t run_id, const std::string& worker,
                                   std::chrono::milliseconds lease) = 0;

  /// Claims a partition of a running run for `worker` and starts its next attempt.
  /// With `partition_id` empty: the first partition in plan order that is pending, or
  /// running or failed under a dead worker (or under none). With `partition_id`: that
  /// partition, if it is pending, failed, or held by `worker` itself or a dead worker
  /// (a worker retrying its own partition). A previous attempt still `running` becomes
  /// `abandoned`. No claim (not an error) when nothing is claimable.
  /// KeyError if the run or the partition does not exist.
  virtual arrow::Result<ClaimResult> ClaimPartition(int64_t run_id,
                                                    const std::string& worker,
                                                    const std::string& partition_id) = 0;
  arrow::Result<ClaimResult> ClaimPartition(int64_t run_id, const std::string& worker) {
    return ClaimPartition(run_id, worker, "");
  }
  /// Claims `partition_id` as the calling process and returns the attempt number; Invalid
  /// if it is not claimable. A convenience for single-process callers and tests.
  arrow::Result<int> StartAttempt(int64_t run_id, const std::string& partition_id);

  /// Records the outcome of `attempt`. REQUIRES: result.status is kCommitted or kFailed
  /// (otherwise Invalid, nothing written). LeaseLost (nothing written) if `attempt` is no
  /// longer the partition's running attempt: another worker claimed the partition since.
  /// KeyError if the partition or the attempt does not exist.
  virtual arrow::Status FinishAttempt(int64_t run_id, const std::string& partition_id,
                                      int attempt, const AttemptResult& result) = 0;

  /// True for exactly one live worker per run: the run is running, every partition is
  /// committed, and no other live worker claimed the finish before (or resumed the run:
  /// BeginRun reserves the finish for it). A dead finisher's claim passes to the next
  /// caller.
  virtual arrow::Result<bool> ClaimRunFinish(int64_t run_id,
                                             const std::string& worker) = 0;

  /// Ends the run. REQUIRES: `status` is kSucceeded or kFailed; kSucceeded only if every
  /// partition is committed (otherwise Invalid, nothing written). With kSucceeded,
  /// `watermarks` (RunStatePlan::at_commit) are written in the same transaction, so they
  /// advance if and only if the run is recorded succeeded. Totals are the sums over the
  /// committed partitions. Ending a run that already ended changes nothing and is
  /// Invalid.
  virtual arrow::Status FinishRun(int64_t run_id, RunStatus status,
                                  const std::string& error,
                                  const std::vector<WatermarkUpdate>& watermarks) = 0;
  arrow::Status FinishRun(int64_t run_id, RunStatus status, const std::string& error) {
    return FinishRun(run_id, status, error, {});
  }

  /// Resuming: committed partition `partition_id` of running run `run_id` is redone,
  /// because its output is no longer as its manifests describe (`reason` says what
  /// differs; it becomes the partition's error until the next attempt). The partition
  /// becomes pending with its counters, manifests and rule counts cleared; its attempts
  /// counter stays, so attempt numbers continue. A partition that is not committed is
  /// left as it is. Invalid (nothing written) if the run is not running, or if a live
  /// worker other than `worker` claimed the run's finish: that worker may be publishing
  /// the partition's output. KeyError if the run or the partition does not exist.
  virtual arrow::Status ReopenPartition(int64_t run_id, const std::string& partition_id,
                                        const std::string& worker,
                                        const std::string& reason) = 0;

  /// `worker` stops working on the run. Partitions it still holds (failed, awaiting its
  /// retry) become claimable by others. If the run is still running and no other live
  /// worker remains, the run is marked failed with `reason` and true is returned.
  virtual arrow::Result<bool> LeaveRun(int64_t run_id, const std::string& worker,
                                       const std::string& reason) = 0;

  /// In plan order. KeyError if the run does not exist.
  virtual arrow::Result<std::vector<PartitionRecord>> ListPartitions(int64_t run_id) = 0;
  /// Per-rule counts of every partition of the run (of each partition's latest finished
  /// attempt), ordered by partition, stage and rule. A store that does not record them
  /// returns NotImplemented.
  virtual arrow::Result<std::vector<RuleCountRecord>> ListRuleCounts(int64_t run_id) {
    return arrow::Status::NotImplemented("this state store does not record rule counts");
  }
  virtual arrow::Result<std::optional<RunRecord>> GetRun(int64_t run_id) = 0;
  /// Newest first; all pipelines if `pipeline` is empty; no limit if `limit` <= 0.
  virtual arrow::Result<std::vector<RunRecord>> ListRuns(const std::string& pipeline,
                                                         int limit) = 0;

  /// Watermarks for incremental runs: an opaque string per (pipeline, name).
  virtual arrow::Result<std::optional<std::string>> GetWatermark(
      const std::string& pipeline, const std::string& name) = 0;
  virtual arrow::Status SetWatermark(const std::string& pipeline, const std::string& name,
                                     const std::string& value) = 0;
};

}  // namespace jetflow
