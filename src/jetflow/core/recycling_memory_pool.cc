#include "jetflow/core/recycling_memory_pool.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace jetflow {

RecyclingMemoryPool::RecyclingMemoryPool(arrow::MemoryPool* backend,
                                         int64_t capacity_bytes, int64_t min_block_bytes)
    : backend_(backend),
      min_block_bytes_(min_block_bytes),
      capacity_bytes_(capacity_bytes) {}

RecyclingMemoryPool::~RecyclingMemoryPool() { ReleaseUnused(); }

int64_t RecyclingMemoryPool::BlockSize(int64_t size) const {
  if (size < min_block_bytes_) return size;
  // Eight classes per power of two: at most 12.5% more than asked for.
  const int64_t step = std::bit_floor(static_cast<uint64_t>(size)) / 8;
  return (size + step - 1) / step * step;
}

bool RecyclingMemoryPool::TakeKept(int64_t size, int64_t alignment, uint8_t** out) {
  if (size < min_block_bytes_) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  auto kept = std::find_if(kept_.begin(), kept_.end(), [&](const Block& block) {
    return block.size == size && block.alignment == alignment;
  });
  if (kept == kept_.end()) return false;
  *out = kept->data;
  kept_bytes_ -= size;
  ++reused_blocks_;
  kept_.erase(kept);
  return true;
}

arrow::Status RecyclingMemoryPool::Allocate(int64_t size, int64_t alignment,
                                            uint8_t** out) {
  size = BlockSize(size);
  // A kept block goes from kept to live: the held bytes do not change.
  if (TakeKept(size, alignment, out)) return arrow::Status::OK();
  ARROW_RETURN_NOT_OK(backend_->Allocate(size, alignment, out));
  stats_.DidAllocateBytes(size);
  return arrow::Status::OK();
}

arrow::Status RecyclingMemoryPool::Reallocate(int64_t old_size, int64_t new_size,
                                              int64_t alignment, uint8_t** ptr) {
  old_size = BlockSize(old_size);
  new_size = BlockSize(new_size);
  if (new_size == old_size) return arrow::Status::OK();  // the block already fits
  // A buffer that grows by doubling (an Arrow builder's) passes through the same sizes
  // batch after batch: take a kept block of the new size if there is one.
  uint8_t* kept = nullptr;
  if (new_size > old_size && TakeKept(new_size, alignment, &kept)) {
    std::memcpy(kept, *ptr, static_cast<size_t>(old_size));
    Free(*ptr, old_size, alignment);
    *ptr = kept;
  } else {
    ARROW_RETURN_NOT_OK(backend_->Reallocate(old_size, new_size, alignment, ptr));
    stats_.DidReallocateBytes(old_size, new_size);
  }
  return arrow::Status::OK();
}

void RecyclingMemoryPool::Free(uint8_t* buffer, int64_t size, int64_t alignment) {
  size = BlockSize(size);
  if (size >= min_block_bytes_) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (size <= capacity_bytes_) {
      kept_.push_front(Block{buffer, size, alignment});
      kept_bytes_ += size;
      FitKeptLocked();  // the new block fits: only older ones go
      return;
    }
  }
  backend_->Free(buffer, size, alignment);
  stats_.DidFreeBytes(size);
}

void RecyclingMemoryPool::SetCapacity(int64_t capacity_bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  capacity_bytes_ = capacity_bytes;
  FitKeptLocked();
}

void RecyclingMemoryPool::FitKeptLocked() {
  auto first_dropped = kept_.end();
  int64_t bytes = kept_bytes_;
  while (bytes > capacity_bytes_) {
    --first_dropped;
    bytes -= first_dropped->size;
  }
  ReleaseKeptLocked(first_dropped);
}

void RecyclingMemoryPool::ReleaseUnused() {
  std::lock_guard<std::mutex> lock(mutex_);
  ReleaseKeptLocked(kept_.begin());
}

void RecyclingMemoryPool::ReleaseKeptLocked(std::list<Block>::iterator first) {
  for (auto it = first; it != kept_.end(); ++it) {
    backend_->Free(it->data, it->size, it->alignment);
    kept_bytes_ -= it->size;
    stats_.DidFreeBytes(it->size);
  }
  kept_.erase(first, kept_.end());
}

int64_t RecyclingMemoryPool::bytes_allocated() const { return stats_.bytes_allocated(); }
int64_t RecyclingMemoryPool::max_memory() const { return stats_.max_memory(); }
int64_t RecyclingMemoryPool::total_bytes_allocated() const {
  return stats_.total_bytes_allocated();
}
int64_t RecyclingMemoryPool::num_allocations() const { return stats_.num_allocations(); }
std::string RecyclingMemoryPool::backend_name() const { return backend_->backend_name(); }

int64_t RecyclingMemoryPool::kept_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return kept_bytes_;
}

int64_t RecyclingMemoryPool::reused_blocks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reused_blocks_;
}

}  // namespace jetflow
