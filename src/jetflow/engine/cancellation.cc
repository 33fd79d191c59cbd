#include "jetflow/engine/cancellation.h"

#include <utility>

namespace jetflow {

void Cancellation::Cancel(const arrow::Status& reason) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_.load(std::memory_order_relaxed)) return;
    reason_ = reason;
    cancelled_.store(true, std::memory_order_release);
    // Under the lock, so that a registration being destroyed waits for its callback.
    for (const Callback& callback : callbacks_) callback(reason);
  }
  changed_.notify_all();
}

arrow::Status Cancellation::reason() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reason_;
}

bool Cancellation::WaitFor(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return !changed_.wait_for(lock, timeout, [this] { return cancelled(); });
}

Cancellation::Registration Cancellation::OnCancel(Callback callback) {
  arrow::Status already;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!cancelled()) {
      callbacks_.push_back(std::move(callback));
      return Registration(this, std::prev(callbacks_.end()));
    }
    already = reason_;
  }
  callback(already);
  return Registration();
}

Cancellation::Registration::Registration(Registration&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), it_(other.it_) {}

Cancellation::Registration& Cancellation::Registration::operator=(
    Registration&& other) noexcept {
  if (this != &other) {
    Reset();
    owner_ = std::exchange(other.owner_, nullptr);
    it_ = other.it_;
  }
  return *this;
}

Cancellation::Registration::~Registration() { Reset(); }

void Cancellation::Registration::Reset() {
  if (owner_ == nullptr) return;
  std::lock_guard<std::mutex> lock(owner_->mutex_);
  owner_->callbacks_.erase(it_);
  owner_ = nullptr;
}

}  // namespace jetflow
