// FailingLoader: a Loader that forwards to another and fails a chosen partition commit,
// for tests of what a failed or half-done commit leaves behind.
//
//   auto loader = std::make_unique<FailingLoader>(std::move(parquet_loader));
//   loader->FailCommit(2, FailingLoader::kBeforePublish, MarkRetryable(IOError(..)));
//
// kBeforePublish fails the commit without publishing (the inner writer is aborted), as a
// full disk would; kAfterPublish lets the inner writer publish and then reports the
// failure, as when a process dies right after its output became visible: the engine must
// then treat the partition as not committed and the next attempt must replace the output.
//
// Threading: as the wrapped loader; the commit counter is shared by all its writers.
#pragma once

#include <arrow/status.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "jetflow/core/loader.h"

namespace jetflow::testing {

class FailingLoader final : public Loader {
 public:
  enum When { kBeforePublish, kAfterPublish };

  explicit FailingLoader(std::unique_ptr<Loader> target) : target_(std::move(target)) {}

  /// The `nth` PartitionWriter::Commit from now on (1 = the next) fails with `error`.
  void FailCommit(int nth, When when, arrow::Status error);
  /// Commits attempted so far, failed ones included.
  int commits() const { return commits_.load(); }

  arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) override {
    return target_->Bind(input);
  }
  arrow::Status BeginRun(const RunContext& run) override {
    return target_->BeginRun(run);
  }
  arrow::Result<std::unique_ptr<PartitionWriter>> OpenPartition(
      const PartitionContext& context) override;
  arrow::Status FinishRun(const RunContext& run,
                          const std::vector<PartitionManifest>& partitions) override {
    return target_->FinishRun(run, partitions);
  }

 private:
  friend class FailingWriter;
  /// Counts a commit; the failure to inject into it, if it is the chosen one.
  std::optional<std::pair<When, arrow::Status>> NextCommit();

  std::unique_ptr<Loader> target_;
  std::atomic<int> commits_{0};
  std::mutex mutex_;
  int fail_at_ = 0;  // guarded by mutex_; 0 = none
  When when_ = kBeforePublish;
  arrow::Status error_;
};

}  // namespace jetflow::testing
