#include "jetflow/testing/failing_loader.h"

#include <optional>
#include <utility>

namespace jetflow::testing {

class FailingWriter final : public PartitionWriter {
 public:
  FailingWriter(FailingLoader* loader, std::unique_ptr<PartitionWriter> target)
      : loader_(loader), target_(std::move(target)) {}

  arrow::Status Write(const std::shared_ptr<arrow::RecordBatch>& batch) override {
    return target_->Write(batch);
  }
  int64_t rows_written() const override { return target_->rows_written(); }
  int64_t buffered_bytes() const override { return target_->buffered_bytes(); }
  arrow::Result<PartitionManifest> Commit() override {
    auto failure = loader_->NextCommit();
    if (!failure) return target_->Commit();
    if (failure->first == FailingLoader::kBeforePublish) {
      (void)target_->Abort();
      return failure->second;
    }
    ARROW_RETURN_NOT_OK(target_->Commit().status());
    return failure->second;
  }
  arrow::Status Abort() override { return target_->Abort(); }

 private:
  FailingLoader* loader_;
  std::unique_ptr<PartitionWriter> target_;
};

void FailingLoader::FailCommit(int nth, When when, arrow::Status error) {
  std::lock_guard<std::mutex> lock(mutex_);
  fail_at_ = commits_.load() + nth;
  when_ = when;
  error_ = std::move(error);
}

std::optional<std::pair<FailingLoader::When, arrow::Status>> FailingLoader::NextCommit() {
  std::lock_guard<std::mutex> lock(mutex_);
  const int count = ++commits_;
  if (count != fail_at_) return std::nullopt;
  return std::make_pair(when_, error_);
}

arrow::Result<std::unique_ptr<PartitionWriter>> FailingLoader::OpenPartition(
    const PartitionContext& context) {
  ARROW_ASSIGN_OR_RAISE(auto writer, target_->OpenPartition(context));
  return std::make_unique<FailingWriter>(this, std::move(writer));
}

}  // namespace jetflow::testing
