// PartitionPool: this process's worker threads on one recorded run.
//
// Each worker thread loops:
//   claim a partition (StateStore::ClaimPartition) -> run an attempt
//   (partition_attempt.h)
//   -> record it (FinishAttempt, with the claim's attempt number as fencing token)
//   -> on a retryable failure: keep the partition, wait retries.backoff x 2^(k-1) (at
//      most 60 s), claim it again, up to retries.max_attempts
// until nothing is left for it: every partition committed, the run ended, or the run
// cancelled. When nothing is claimable but other live workers hold partitions, a thread
// waits and claims again, so that the partitions of a worker that dies are taken over.
//
// A permanent failure cancels the run's Cancellation with its status, which stops the
// other threads (their attempts abort, nothing of theirs is published). So does an
// interrupt, or a lost lease (LeaseKeeper). Execute() returns the reason the pool
// stopped early, or OK.
//
// Threading: Execute() blocks its caller; the pool owns every thread it starts.
#pragma once

#include <arrow/status.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "jetflow/core/memory_budget.h"
#include "jetflow/engine/cancellation.h"
#include "jetflow/engine/lease_keeper.h"
#include "jetflow/engine/pipeline.h"
#include "jetflow/engine/pipeline_runner.h"
#include "jetflow/state/state_store.h"

namespace jetflow {

/// What identifies this process's part in a run.
struct PoolRun {
  int64_t run_id = 0;
  /// When the run first started, in microseconds since the epoch (PartitionContext).
  int64_t run_started_us = 0;
  std::string worker;
  int64_t partitions_total = 0;
  /// How long a thread waits before it claims again while other workers hold partitions.
  std::chrono::milliseconds poll_interval{1000};
};

class PartitionPool {
 public:
  /// REQUIRES: everything referenced outlives the pool; `run` was begun or joined by
  /// `run.worker` and `lease` keeps that worker's lease.
  PartitionPool(Pipeline& pipeline, const PipelinePlan& plan, StateStore& state,
                RunProgress* progress, PoolRun run, Cancellation& cancellation,
                LeaseKeeper& lease);

  /// Works on the run with up to `threads` threads until nothing is left for this
  /// process. OK, or why it stopped early (the run's Cancellation reason).
  arrow::Status Execute(int threads);

  int64_t attempts_retried() const { return attempts_retried_; }
  int64_t peak_budget_bytes() const { return budget_.peak(); }

 private:
  void WorkerLoop(int partitions_in_flight);
  /// Runs `claim` and its retries.
  void RunClaimed(PartitionClaim claim, int partitions_in_flight);
  /// Stops the run because of `status` (the first reason wins).
  void Fail(const arrow::Status& status);

  Pipeline& pipeline_;
  const PipelinePlan& plan_;
  StateStore& state_;
  RunProgress* const progress_;
  const PoolRun run_;
  Cancellation& cancellation_;
  LeaseKeeper& lease_;
  MemoryBudget budget_;

  std::atomic<int64_t> attempts_retried_{0};
};

}  // namespace jetflow
