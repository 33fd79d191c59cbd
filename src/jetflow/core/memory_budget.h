// MemoryBudget: a hard cap, in bytes, on the data a pipeline holds in flight.
//
// Every batch a consumer produces reserves its size before it enters a queue and releases
// it once the loaders have taken it. When the budget is exhausted, readers block: this is
// the backpressure that keeps peak memory bounded by configuration, never by table size.
//
// A single reservation larger than the whole budget is granted when nothing else is
// reserved, so one oversized batch slows the pipeline down instead of deadlocking it.
//
// Threading: thread-safe.
#pragma once

#include <arrow/status.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace jetflow {

class MemoryBudget {
 public:
  /// REQUIRES: limit_bytes > 0.
  explicit MemoryBudget(int64_t limit_bytes) : limit_(limit_bytes) {}

  /// Blocks until `bytes` fit, or until `may_exceed()` is true (checked whenever memory
  /// is released; lets a caller that holds nothing in flight always make progress).
  /// Returns Cancelled if Cancel() was called while waiting.
  arrow::Status Reserve(int64_t bytes, const std::function<bool()>& may_exceed = {});
  /// Changes the reserved bytes by `delta` at once, without waiting: for memory that is
  /// already allocated (data a writer holds), or handed from one holder to another.
  /// A positive delta makes later Reserve() calls wait until it is released.
  void Adjust(int64_t delta);
  /// REQUIRES: `bytes` were reserved earlier.
  void Release(int64_t bytes);
  /// Wakes every waiter with Cancelled; later Reserve() calls fail at once.
  void Cancel();

  int64_t limit() const { return limit_; }
  int64_t used() const;
  /// Highest `used()` seen so far.
  int64_t peak() const;

 private:
  const int64_t limit_;
  mutable std::mutex mutex_;
  std::condition_variable released_;
  int64_t used_ = 0;
  int64_t peak_ = 0;
  bool cancelled_ = false;
};

}  // namespace jetflow
