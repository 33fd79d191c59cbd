#include "jetflow/engine/partition_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "jetflow/core/error.h"
#include "jetflow/engine/partition_attempt.h"

namespace jetflow {
namespace {

using Clock = std::chrono::steady_clock;

std::string ManifestsToJson(const std::vector<PartitionManifest>& manifests) {
  std::string json = "[";
  for (size_t i = 0; i < manifests.size(); ++i) {
    json += (i ? "," : "") + manifests[i].ToJson();
  }
  return json + "]";
}

}  // namespace

PartitionPool::PartitionPool(Pipeline& pipeline, const PipelinePlan& plan,
                             StateStore& state, RunProgress* progress, PoolRun run,
                             Cancellation& cancellation, LeaseKeeper& lease)
    : pipeline_(pipeline),
      plan_(plan),
      state_(state),
      progress_(progress),
      run_(std::move(run)),
      cancellation_(cancellation),
      lease_(lease),
      budget_(std::max<int64_t>(1, pipeline.engine.memory_budget_bytes)) {}

arrow::Status PartitionPool::Execute(int threads) {
  threads = std::max(1, threads);
  // A cancelled run stops readers waiting for memory too.
  Cancellation::Registration stop_readers =
      cancellation_.OnCancel([this](const arrow::Status&) { budget_.Cancel(); });
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([this, threads] { WorkerLoop(threads); });
  }
  for (auto& worker : workers) worker.join();
  return cancellation_.cancelled() ? cancellation_.reason() : arrow::Status::OK();
}

void PartitionPool::Fail(const arrow::Status& status) { cancellation_.Cancel(status); }

void PartitionPool::WorkerLoop(int partitions_in_flight) {
  while (!cancellation_.cancelled()) {
    auto claimed = state_.ClaimPartition(run_.run_id, run_.worker);
    if (!claimed.ok()) {
      Fail(IsLeaseLost(claimed.status())
               ? claimed.status()
               : AddContext(claimed.status(), "state store, claiming a partition"));
      return;
    }
    if (progress_ != nullptr) {
      progress_->partitions_done = run_.partitions_total - claimed->not_committed;
    }
    if (claimed->claim) {
      RunClaimed(std::move(*claimed->claim), partitions_in_flight);
      continue;
    }
    // Nothing to claim. The run ended elsewhere, or is complete, or the rest is held
    // by this process's other threads: done. Held by other workers: wait, since one
    // that dies leaves its partitions to be claimed.
    if (claimed->run_status != RunStatus::kRunning || claimed->not_committed == 0 ||
        claimed->held_elsewhere == 0) {
      return;
    }
    if (!cancellation_.WaitFor(run_.poll_interval)) return;
  }
}

void PartitionPool::RunClaimed(PartitionClaim claim, int partitions_in_flight) {
  const EngineOptions& engine = pipeline_.engine;
  AttemptServices services{pipeline_,     plan_,     budget_,
                           cancellation_, progress_, [this] { return lease_.Confirm(); }};
  for (int local_attempt = 1;; ++local_attempt) {
    PartitionContext context;
    context.pipeline = pipeline_.name;
    context.run = plan_.run;
    context.partition = claim.partition;
    context.attempt = claim.attempt;
    context.run_id = run_.run_id;
    context.run_started_us = run_.run_started_us;
    context.source = pipeline_.consumer_name;
    context.partitions_in_flight = partitions_in_flight;
    context.memory_budget_bytes = engine.memory_budget_bytes;

    AttemptResult result;
    std::vector<PartitionManifest> manifests;
    const auto started = Clock::now();
    const arrow::Status status =
        RunPartitionAttempt(services, context, &result, &manifests);
    result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (IsLeaseLost(status)) {
      // Another worker has the partition now: nothing to record, nothing published.
      Fail(status);
      return;
    }
    const bool retry = !status.ok() && IsRetryable(status) &&
                       local_attempt < engine.max_attempts && !cancellation_.cancelled();
    if (!status.ok() && !retry && !cancellation_.cancelled()) {
      // Permanent: stop the other partitions before this one is given up, so that none
      // of them claims it meanwhile.
      Fail(status);
    }
    result.status = status.ok() ? PartitionStatus::kCommitted : PartitionStatus::kFailed;
    result.error = status.ok() ? "" : status.ToString();
    result.manifests_json = status.ok() ? ManifestsToJson(manifests) : "";
    result.will_retry = retry;
    const arrow::Status recorded =
        state_.FinishAttempt(run_.run_id, claim.partition.id, claim.attempt, result);
    if (!recorded.ok()) {
      if (IsLeaseLost(recorded) && status.ok()) {
        spdlog::warn(
            "partition {} was published by attempt {}, but another worker took the "
            "partition over meanwhile; its attempt replaces this output: {}",
            claim.partition.id, claim.attempt, recorded.ToString());
      }
      Fail(IsLeaseLost(recorded)
               ? recorded
               : AddContext(recorded, "state store, partition " + claim.partition.id));
      return;
    }
    if (status.ok()) {
      spdlog::debug("partition {} committed: {} rows in {:.2f}s", claim.partition.id,
                    result.rows_written, result.seconds);
      if (progress_ != nullptr) ++progress_->partitions_done;
      return;
    }
    if (!retry) return;

    auto wait = engine.retry_backoff * (int64_t{1} << std::min(local_attempt - 1, 16));
    wait = std::min<std::chrono::milliseconds>(wait, std::chrono::seconds(60));
    spdlog::warn("partition {} attempt {} failed, retrying in {} ms: {}",
                 claim.partition.id, claim.attempt, wait.count(), status.ToString());
    ++attempts_retried_;
    if (!cancellation_.WaitFor(wait)) return;
    auto again = state_.ClaimPartition(run_.run_id, run_.worker, claim.partition.id);
    if (!again.ok()) {
      Fail(IsLeaseLost(again.status())
               ? again.status()
               : AddContext(again.status(),
                            "state store, partition " + claim.partition.id));
      return;
    }
    if (!again->claim) return;  // the run ended, or another worker took the partition
    claim = std::move(*again->claim);
  }
}

}  // namespace jetflow
