#include "jetflow/state/state_store.h"

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

}  // namespace jetflow
