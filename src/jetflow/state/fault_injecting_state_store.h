// FaultInjectingStateStore: a StateStore that forwards to another and fails chosen calls,
// so tests can stop a run in each window between its steps (a partition published but not
// recorded, every partition recorded but the run not finished, the loaders finished but
// the run not marked succeeded, ...) and check that the next run repairs it. LevelDB's
// fault-injection Env is the model.
//
//   FaultInjectingStateStore faulty(real_store);
//   faulty.FailOn(StateCall::kFinishRun, 1, Crash::kBefore);  // dies before the 1st one
//   PipelineRunner::Run(pipeline, run, faulty, options);      // fails, like a kill -9
//   PipelineRunner::Run(pipeline, run, real_store, options);  // resumes
//
// A crash makes the chosen call fail and every later call of any kind too, as if the
// process had died there: nothing more reaches the store (no LeaveRun, no FinishRun), so
// the run is left exactly as a killed process would leave it. kBefore fails the call
// without forwarding it; kAfter forwards it and then reports a failure, as when a process
// dies after the store committed but before it learned so.
//
// Threading: thread-safe, like the store it wraps.
#pragma once

#include <arrow/status.h>

#include <map>
#include <mutex>
#include <string>

#include "jetflow/state/state_store.h"

namespace jetflow {

/// The calls of StateStore that can be made to fail.
enum class StateCall {
  kBeginRun,
  kRenewLease,
  kClaimPartition,
  kFinishAttempt,
  kClaimRunFinish,
  kReopenPartition,
  kFinishRun,
  kLeaveRun,
  kListPartitions,
  kGetRun,
  kOpenRun,
  kIsRunOpen,
};

enum class Crash {
  kBefore,  // the call never reaches the store
  kAfter,   // the call takes effect, then the caller sees a failure
};

class FaultInjectingStateStore final : public StateStore {
 public:
  /// REQUIRES: `target` outlives this object.
  explicit FaultInjectingStateStore(StateStore& target) : target_(target) {}

  /// The `nth` call of `call` from now on (1 = the next one) crashes the store.
  void FailOn(StateCall call, int nth, Crash when);
  bool crashed() const;
  /// Calls of `call` made so far, the failed ones included.
  int calls(StateCall call) const;

  using StateStore::BeginRun;
  using StateStore::ClaimPartition;
  using StateStore::FinishRun;
  arrow::Result<RunRecord> BeginRun(const std::string& pipeline,
                                    const RunInstance& instance,
                                    const std::vector<PartitionSpec>& plan,
                                    const BeginRunOptions& options) override;
  arrow::Status OpenRun(int64_t run_id) override;
  arrow::Result<bool> IsRunOpen(int64_t run_id, const std::string& worker) override;
  arrow::Status RenewLease(int64_t run_id, const std::string& worker,
                           std::chrono::milliseconds lease) override;
  arrow::Result<ClaimResult> ClaimPartition(int64_t run_id, const std::string& worker,
                                            const std::string& partition_id) override;
  arrow::Status FinishAttempt(int64_t run_id, const std::string& partition_id,
                              int attempt, const AttemptResult& result) override;
  arrow::Result<bool> ClaimRunFinish(int64_t run_id, const std::string& worker) override;
  arrow::Status ReopenPartition(int64_t run_id, const std::string& partition_id,
                                const std::string& worker,
                                const std::string& reason) override;
  arrow::Status FinishRun(int64_t run_id, RunStatus status, const std::string& error,
                          const std::vector<WatermarkUpdate>& watermarks) override;
  arrow::Result<bool> LeaveRun(int64_t run_id, const std::string& worker,
                               const std::string& reason) override;
  arrow::Result<std::vector<PartitionRecord>> ListPartitions(int64_t run_id) override;
  arrow::Result<std::vector<RuleCountRecord>> ListRuleCounts(int64_t run_id) override;
  arrow::Result<std::optional<RunRecord>> GetRun(int64_t run_id) override;
  arrow::Result<std::vector<RunRecord>> ListRuns(const std::string& pipeline,
                                                 int limit) override;
  arrow::Result<std::optional<std::string>> GetWatermark(
      const std::string& pipeline, const std::string& name) override;
  arrow::Status SetWatermark(const std::string& pipeline, const std::string& name,
                             const std::string& value) override;

 private:
  /// Counts the call; OK to forward it, or the failure to return before forwarding.
  /// Sets *fail_after when the call must fail once it has been forwarded.
  arrow::Status Enter(StateCall call, bool* fail_after);
  /// `result` of a forwarded call, or the crash if it was to fail afterwards.
  template <typename T>
  T Leave(T result, bool fail_after) {
    if (fail_after) return Crashed();
    return result;
  }
  static arrow::Status Crashed();

  StateStore& target_;
  mutable std::mutex mutex_;
  std::map<StateCall, int> calls_;                       // guarded by mutex_
  std::map<StateCall, std::pair<int, Crash>> failures_;  // guarded by mutex_
  bool crashed_ = false;                                 // guarded by mutex_
};

}  // namespace jetflow
