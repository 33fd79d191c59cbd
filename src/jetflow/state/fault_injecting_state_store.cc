#include "jetflow/state/fault_injecting_state_store.h"

namespace jetflow {

void FaultInjectingStateStore::FailOn(StateCall call, int nth, Crash when) {
  std::lock_guard<std::mutex> lock(mutex_);
  failures_[call] = {calls_[call] + nth, when};
}

bool FaultInjectingStateStore::crashed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return crashed_;
}

int FaultInjectingStateStore::calls(StateCall call) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = calls_.find(call);
  return it == calls_.end() ? 0 : it->second;
}

arrow::Status FaultInjectingStateStore::Crashed() {
  return arrow::Status::IOError("state store unreachable: injected crash");
}

arrow::Status FaultInjectingStateStore::Enter(StateCall call, bool* fail_after) {
  std::lock_guard<std::mutex> lock(mutex_);
  *fail_after = false;
  const int count = ++calls_[call];
  if (crashed_) return Crashed();
  auto it = failures_.find(call);
  if (it == failures_.end() || it->second.first != count) return arrow::Status::OK();
  crashed_ = true;
  if (it->second.second == Crash::kBefore) return Crashed();
  *fail_after = true;
  return arrow::Status::OK();
}

arrow::Result<RunRecord> FaultInjectingStateStore::BeginRun(
    const std::string& pipeline, const RunInstance& instance,
    const std::vector<PartitionSpec>& plan, const BeginRunOptions& options) {
  bool fail_after = false;
  ARROW_RETURN_NOT_OK(Enter(StateCall::kBeginRun, &fail_after));
  return Leave(target_.BeginRun(pipeline, instance, plan, options), fail_after);
}

arrow::Status FaultInjectingStateStore::RenewLease(int64_t run_id,
                                                   const std::string& worker,
                                                   std::chrono::milliseconds lease) {
  bool fail_after = false;
  ARROW_RETURN_NOT_OK(Enter(StateCall::kRenewLease, &fail_after));
  return Leave(target_.RenewLease(run_id, worker, lease), fail_after);
}

arrow::Result<ClaimResult> FaultInjectingStateStore::ClaimPartition(
    int64_t run_id, const std::string& worker, const std::string& partition_id) {
  bool fail_after = false;
  ARROW_RETURN_NOT_OK(Enter(StateCall::kClaimPartition, &fail_after));
  return Leave(target_.ClaimPartition(run_id, worker, partition_id), fail_after);
}

arrow::Status FaultInjectingStateStore::FinishAttempt(int64_t run_id,
                                                      const std::string& partition_id,
                                                      int attempt,
                                                      const AttemptResult& result) {
  bool fail_after = false;
  ARROW_RETURN_NOT_OK(Enter(StateCall::kFinishAttempt, &fail_after));
  return Leave(target_.FinishAttempt(run_id, partition_id, attempt, result), fail_after);
}

arrow::Result<bool> FaultInjectingStateStore::ClaimRunFinish(int64_t run_id,
                                                             const std::string& worker) {
  bool fail_after = false;
  ARROW_RETURN_NOT_OK(Enter(StateCall::kClaimRunFinish, &fail_after));
  return Leave(target_.ClaimRunFinish(run_id, worker), fail_after);
}

arrow::Status FaultInjectingStateStore::ReopenPartition(int64_t run_id,
                                                        const std::string& partition_id,
                                                        const std::string& worker,
                                                        const std::string& reason) {
  bool fail_after = false;
  ARROW_RETURN_NOT_OK(Enter(StateCall::kReopenPartition, &fail_after));
  return Leave(target_.ReopenPartition(run_id, partition_id, worker, reason), fail_after);
}

arrow::Status FaultInjectingStateStore::FinishRun(
    int64_t run_id, RunStatus status, const std::string& error,
    const std::vector<WatermarkUpdate>& watermarks) {
  bool fail_after = false;
  ARROW_RETURN_NOT_OK(Enter(StateCall::kFinishRun, &fail_after));
  return Leave(target_.FinishRun(run_id, status, error, watermarks), fail_after);
}

arrow::Result<bool> FaultInjectingStateStore::LeaveRun(int64_t run_id,
                                                       const std::string& worker,
                                                       const std::string& reason) {
  bool fail_after = false;
  ARROW_RETURN_NOT_OK(Enter(StateCall::kLeaveRun, &fail_after));
  return Leave(target_.LeaveRun(run_id, worker, reason), fail_after);
}

arrow::Result<std::vector<PartitionRecord>> FaultInjectingStateStore::ListPartitions(
    int64_t run_id) {
  bool fail_after = false;
  ARROW_RETURN_NOT_OK(Enter(StateCall::kListPartitions, &fail_after));
  return Leave(target_.ListPartitions(run_id), fail_after);
}

arrow::Result<std::vector<RuleCountRecord>> FaultInjectingStateStore::ListRuleCounts(
    int64_t run_id) {
  if (crashed()) return Crashed();
  return target_.ListRuleCounts(run_id);
}

arrow::Status FaultInjectingStateStore::OpenRun(int64_t run_id) {
  bool fail_after = false;
  ARROW_RETURN_NOT_OK(Enter(StateCall::kOpenRun, &fail_after));
  return Leave(target_.OpenRun(run_id), fail_after);
}

arrow::Result<bool> FaultInjectingStateStore::IsRunOpen(int64_t run_id,
                                                        const std::string& worker) {
  bool fail_after = false;
  ARROW_RETURN_NOT_OK(Enter(StateCall::kIsRunOpen, &fail_after));
  return Leave(target_.IsRunOpen(run_id, worker), fail_after);
}

arrow::Result<std::optional<RunRecord>> FaultInjectingStateStore::GetRun(int64_t run_id) {
  bool fail_after = false;
  ARROW_RETURN_NOT_OK(Enter(StateCall::kGetRun, &fail_after));
  return Leave(target_.GetRun(run_id), fail_after);
}

arrow::Result<std::vector<RunRecord>> FaultInjectingStateStore::ListRuns(
    const std::string& pipeline, int limit) {
  if (crashed()) return Crashed();
  return target_.ListRuns(pipeline, limit);
}

arrow::Result<std::optional<std::string>> FaultInjectingStateStore::GetWatermark(
    const std::string& pipeline, const std::string& name) {
  if (crashed()) return Crashed();
  return target_.GetWatermark(pipeline, name);
}

arrow::Status FaultInjectingStateStore::SetWatermark(const std::string& pipeline,
                                                     const std::string& name,
                                                     const std::string& value) {
  if (crashed()) return Crashed();
  return target_.SetWatermark(pipeline, name, value);
}

}  // namespace jetflow
