#include "jetflow/core/error.h"

#include <memory>

namespace jetflow {

arrow::Status MarkRetryable(const arrow::Status& status) {
  return status.WithDetail(std::make_shared<RetryableDetail>());
}

bool IsRetryable(const arrow::Status& status) {
  const auto& detail = status.detail();
  return detail != nullptr &&
         std::string_view(detail->type_id()) == RetryableDetail::kTypeId;
}

arrow::Status AddContext(const arrow::Status& status, std::string_view context) {
  if (status.ok() || context.empty()) return status;
  return arrow::Status(status.code(),
                       status.message() + " (" + std::string(context) + ")",
                       status.detail());
}

}  // namespace jetflow
