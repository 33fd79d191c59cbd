// Cancellation: a stop signal shared by the threads of a run.
//
// Cancelled once, with a reason (the first reason wins); from then on cancelled() is
// true, every WaitFor returns at once, and the callbacks registered with OnCancel have
// run. The engine's waits (retry backoff, waiting for other workers, the lease keeper)
// use WaitFor, so a cancelled run stops without polling. A signal handler must not call
// Cancel (it locks a mutex): the CLI cancels from a thread of its own that waits for the
// signal.
//
// Threading: thread-safe. A callback runs on the cancelling thread, once, while the
// object's lock is held (so destroying its registration waits for it): it must be short
// and must not use the same Cancellation.
#pragma once

#include <arrow/status.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>

namespace jetflow {

class Cancellation {
 public:
  using Callback = std::function<void(const arrow::Status& reason)>;
  class Registration;

  /// Cancels with `reason` (REQUIRES: !reason.ok()); a no-op once cancelled.
  void Cancel(const arrow::Status& reason);
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  /// OK until cancelled; then the first reason.
  arrow::Status reason() const;

  /// Waits for `timeout` or until cancelled; true if the time passed uncancelled.
  bool WaitFor(std::chrono::milliseconds timeout) const;

  /// Runs `callback` when this is cancelled (at once, if it already is), until the
  /// returned registration is destroyed. REQUIRES: the registration does not outlive
  /// this object.
  [[nodiscard]] Registration OnCancel(Callback callback);

  /// Keeps a callback registered; unregisters it on destruction.
  class Registration {
   public:
    Registration() = default;
    Registration(Registration&& other) noexcept;
    Registration& operator=(Registration&& other) noexcept;
    ~Registration();

   private:
    friend class Cancellation;
    void Reset();
    Registration(Cancellation* owner, std::list<Callback>::iterator it)
        : owner_(owner), it_(it) {}
    Cancellation* owner_ = nullptr;
    std::list<Callback>::iterator it_;
  };

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::atomic<bool> cancelled_{false};
  arrow::Status reason_;           // guarded by mutex_
  std::list<Callback> callbacks_;  // guarded by mutex_
};

}  // namespace jetflow
