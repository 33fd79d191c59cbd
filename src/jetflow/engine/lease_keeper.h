// LeaseKeeper: keeps this process's lease on a run alive while it works on the run (the
// multi-process contract in state/state_store.h).
//
// A thread renews the lease every third of its length. When the store answers LeaseLost
// (another worker found this one dead and took its partitions, the run was restarted or
// ended), or when no renewal has succeeded for a whole lease (the store unreachable), the
// run's Cancellation is cancelled with a LeaseLost status: every attempt of this process
// aborts its writers instead of publishing. Confirm() renews at once; the engine calls it
// right before a partition is published, so that a publish never starts on a lost lease.
//
// Threading: Confirm() is thread-safe; the object is made and destroyed by one thread.
#pragma once

#include <arrow/status.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "jetflow/engine/cancellation.h"
#include "jetflow/state/state_store.h"

namespace jetflow {

class LeaseKeeper {
 public:
  /// Starts renewing `worker`'s lease on run `run_id`. REQUIRES: the worker began or
  /// joined the run (StateStore::BeginRun); `state` and `cancellation` outlive this.
  LeaseKeeper(StateStore& state, int64_t run_id, std::string worker,
              std::chrono::milliseconds lease, Cancellation& cancellation);
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  /// Renews the lease now. LeaseLost (and the run cancelled) if it is gone; another
  /// failure of the store as the store reported it.
  arrow::Status Confirm();

 private:
  void Loop();
  arrow::Status Renew();

  StateStore& state_;
  const int64_t run_id_;
  const std::string worker_;
  const std::chrono::milliseconds lease_;
  Cancellation& cancellation_;

  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;                               // guarded by mutex_
  std::chrono::steady_clock::time_point last_renewed_;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace jetflow
