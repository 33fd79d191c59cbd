#include "jetflow/state/state_store.h"

#include <memory>
#include <string_view>

#include "jetflow/state/worker_identity.h"

namespace jetflow {

const char* ToString(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kSucceeded:
      return "succeeded";
    case RunStatus::kFailed:
      return "failed";
  }
  return "unknown";
}

const char* ToString(PartitionStatus status) {
  switch (status) {
    case PartitionStatus::kPending:
      return "pending";
    case PartitionStatus::kRunning:
      return "running";
    case PartitionStatus::kCommitted:
      return "committed";
    case PartitionStatus::kFailed:
      return "failed";
  }
  return "unknown";
}

arrow::Status LeaseLost(const std::string& message) {
  return arrow::Status::Cancelled("lease lost: ", message)
      .WithDetail(std::make_shared<LeaseLostDetail>());
}

bool IsLeaseLost(const arrow::Status& status) {
  const auto& detail = status.detail();
  return detail != nullptr &&
         std::string_view(detail->type_id()) == LeaseLostDetail::kTypeId;
}

arrow::Result<RunRecord> StateStore::BeginRun(const std::string& pipeline,
                                              const RunInstance& instance,
                                              const std::vector<PartitionSpec>& plan,
                                              bool restart) {
  BeginRunOptions options;
  options.restart = restart;
  return BeginRun(pipeline, instance, plan, options);
}

arrow::Result<int> StateStore::StartAttempt(int64_t run_id,
                                            const std::string& partition_id) {
  ARROW_ASSIGN_OR_RAISE(ClaimResult claimed,
                        ClaimPartition(run_id, ThisWorker(), partition_id));
  if (!claimed.claim) {
    if (claimed.run_status != RunStatus::kRunning) {
      return arrow::Status::Invalid("StartAttempt: the run is not running (run ", run_id,
                                    " is ", ToString(claimed.run_status), ", partition ",
                                    partition_id, ")");
    }
    return arrow::Status::Invalid(
        "StartAttempt: the partition is committed or held by another live worker (run ",
        run_id, ", partition ", partition_id, ")");
  }
  return claimed.claim->attempt;
}

}  // namespace jetflow
