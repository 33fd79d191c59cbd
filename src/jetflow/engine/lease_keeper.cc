#include "jetflow/engine/lease_keeper.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace jetflow {

LeaseKeeper::LeaseKeeper(StateStore& state, int64_t run_id, std::string worker,
                         std::chrono::milliseconds lease, Cancellation& cancellation)
    : state_(state),
      run_id_(run_id),
      worker_(std::move(worker)),
      lease_(lease),
      cancellation_(cancellation),
      last_renewed_(std::chrono::steady_clock::now()) {
  thread_ = std::thread([this] { Loop(); });
}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  thread_.join();
}

arrow::Status LeaseKeeper::Confirm() { return Renew(); }

arrow::Status LeaseKeeper::Renew() {
  const auto started = std::chrono::steady_clock::now();
  arrow::Status status = state_.RenewLease(run_id_, worker_, lease_);
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    last_renewed_ = std::max(last_renewed_, started);
    return status;
  }
  if (!IsLeaseLost(status)) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (std::chrono::steady_clock::now() - last_renewed_ < lease_) return status;
    status = LeaseLost("the lease on run " + std::to_string(run_id_) +
                       " could not be renewed for longer than it lasts (" +
                       std::to_string(lease_.count()) + " ms): " + status.ToString());
  }
  cancellation_.Cancel(status);
  return status;
}

void LeaseKeeper::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_.wait_for(lock, lease_ / 3, [this] { return stopping_; })) {
    lock.unlock();
    arrow::Status status = Renew();
    if (!status.ok() && !IsLeaseLost(status)) {
      spdlog::warn("could not renew the lease on run {}, will try again: {}", run_id_,
                   status.ToString());
    }
    lock.lock();
    if (cancellation_.cancelled() && IsLeaseLost(cancellation_.reason())) return;
  }
}

}  // namespace jetflow
