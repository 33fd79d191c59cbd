// Error conventions shared by every jetflow component.
//
// jetflow reports failures as arrow::Status / arrow::Result<T>; no exception crosses a
// jetflow function boundary. Two things are attached to a Status beyond its code and
// text:
//  - whether the failure is *retryable* (a dropped connection, a timeout) or permanent (a
//    bad config, corrupt data). The engine retries a partition only on retryable
//    failures. This is carried in a StatusDetail, never decided by matching message
//    strings.
//  - where it happened (pipeline, stage, partition, batch), appended to the message by
//  the
//    engine with AddContext so the user reads the fixed description first and the runtime
//    values last.
#pragma once

#include <arrow/status.h>

#include <string>
#include <string_view>

namespace jetflow {

/// Marks a Status as worth retrying. Attach with MarkRetryable().
class RetryableDetail : public arrow::StatusDetail {
 public:
  static constexpr const char* kTypeId = "jetflow::RetryableDetail";
  const char* type_id() const override { return kTypeId; }
  std::string ToString() const override { return "retryable"; }
};

/// Returns `status` flagged as retryable. REQUIRES: !status.ok().
arrow::Status MarkRetryable(const arrow::Status& status);

/// True if `status` carries a RetryableDetail.
bool IsRetryable(const arrow::Status& status);

/// Returns `status` with " (context)" appended to its message, keeping its code and
/// detail.
arrow::Status AddContext(const arrow::Status& status, std::string_view context);

}  // namespace jetflow

/// Like ARROW_RETURN_NOT_OK, but appends `context` (a std::string expression evaluated
/// only on failure) to the message.
#define JETFLOW_RETURN_NOT_OK_CTX(expr, context)                     \
  do {                                                               \
    ::arrow::Status _jf_st = (expr);                                 \
    if (!_jf_st.ok()) return ::jetflow::AddContext(_jf_st, context); \
  } while (false)
