#include "jetflow/core/memory_budget.h"

#include <algorithm>

namespace jetflow {

arrow::Status MemoryBudget::Reserve(int64_t bytes,
                                    const std::function<bool()>& may_exceed) {
  std::unique_lock<std::mutex> lock(mutex_);
  released_.wait(lock, [&] {
    return cancelled_ || used_ == 0 || used_ + bytes <= limit_ ||
           (may_exceed && may_exceed());
  });
  if (cancelled_) return arrow::Status::Cancelled("memory budget wait cancelled");
  used_ += bytes;
  peak_ = std::max(peak_, used_);
  return arrow::Status::OK();
}

void MemoryBudget::Adjust(int64_t delta) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    used_ += delta;
    peak_ = std::max(peak_, used_);
  }
  // Always wake waiters: their may_exceed() condition may have changed with this call.
  released_.notify_all();
}

void MemoryBudget::Release(int64_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    used_ -= bytes;
  }
  released_.notify_all();
}

void MemoryBudget::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
  }
  released_.notify_all();
}

int64_t MemoryBudget::used() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return used_;
}

int64_t MemoryBudget::peak() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_;
}

}  // namespace jetflow
