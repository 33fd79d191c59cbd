// RecyclingMemoryPool: an arrow::MemoryPool that keeps large freed blocks and hands them
// out again for allocations of exactly the same size.
//
// Why: some allocations recur with the same large sizes, and each time the kernel has to
// fault in and zero fresh pages. Parquet's dictionary encoders are the case in point:
// every column chunk grows its hash table from scratch (1.5, 6, then 24 MiB for a million
// distinct 8-byte values; 1, 4, 16 MiB for 4-byte ones), memsets it, and frees it when
// the chunk ends. Arrow's jemalloc returns unused pages to the kernel within about a
// second (which keeps peak memory honest), so the next chunk's tables are fresh pages
// again: half of all page faults of a generate -> Parquet run (docs/design/memory.md).
// Keeping a few of those blocks, up to a fixed capacity, makes them warm.
//
// Sizes of at least `min_block_bytes` are rounded up to one of eight classes per power of
// two (at most 12.5% more), so that buffers of nearly the same size (a string column's
// from batch to batch, a builder's after it shrinks to fit) share blocks.
//
// Only blocks of at least `min_block_bytes` are kept, at most `capacity_bytes` in all;
// when a freed block does not fit, the least recently kept blocks go back to the backend
// first. A Reallocate that grows to the size of a kept block moves into it (builders
// grow through the same sizes batch after batch); other Reallocates go to the backend.
//
// The statistics are those of the memory taken from the backend: bytes_allocated() counts
// the kept blocks as well as live ones (they are memory the pool holds, and a memory
// budget must see them); a reused block is not a new allocation.
//
// Threading: thread-safe. Allocations and frees of kept sizes take a mutex and look
// through the kept blocks (a few dozen to a few hundred); they are rare (a few per column
// chunk or per batch). Smaller ones go straight to the backend.
#pragma once

#include <arrow/memory_pool.h>

#include <cstdint>
#include <list>
#include <mutex>
#include <string>

namespace jetflow {

class RecyclingMemoryPool : public arrow::MemoryPool {
 public:
  /// REQUIRES: `backend` outlives this pool; min_block_bytes > 0.
  RecyclingMemoryPool(arrow::MemoryPool* backend, int64_t capacity_bytes,
                      int64_t min_block_bytes);
  /// Returns every kept block to the backend.
  /// REQUIRES: every block allocated from this pool was freed.
  ~RecyclingMemoryPool() override;

  RecyclingMemoryPool(const RecyclingMemoryPool&) = delete;
  RecyclingMemoryPool& operator=(const RecyclingMemoryPool&) = delete;

  arrow::Status Allocate(int64_t size, int64_t alignment, uint8_t** out) override;
  arrow::Status Reallocate(int64_t old_size, int64_t new_size, int64_t alignment,
                           uint8_t** ptr) override;
  void Free(uint8_t* buffer, int64_t size, int64_t alignment) override;
  /// Returns every kept block to the backend.
  void ReleaseUnused() override;
  /// Keeps at most `capacity_bytes` from now on (0: none), returning the least recently
  /// freed blocks over it to the backend.
  void SetCapacity(int64_t capacity_bytes);

  /// Live bytes plus kept bytes.
  int64_t bytes_allocated() const override;
  /// These three count what was taken from the backend: a reused block is not a new
  /// allocation.
  int64_t max_memory() const override;
  int64_t total_bytes_allocated() const override;
  int64_t num_allocations() const override;
  std::string backend_name() const override;

  /// Bytes of freed blocks kept for reuse.
  int64_t kept_bytes() const;
  /// Allocations served from a kept block.
  int64_t reused_blocks() const;

 private:
  struct Block {
    uint8_t* data;
    int64_t size;
    int64_t alignment;
  };

  /// The size of the block that holds `size` bytes.
  int64_t BlockSize(int64_t size) const;
  /// Takes a kept block of exactly this size and alignment into `out`, if there is one.
  bool TakeKept(int64_t size, int64_t alignment, uint8_t** out);
  /// Returns kept blocks to the backend, least recently freed first, until they fit in
  /// the capacity. REQUIRES: mutex_ held.
  void FitKeptLocked();
  /// REQUIRES: mutex_ held.
  void ReleaseKeptLocked(std::list<Block>::iterator first);

  arrow::MemoryPool* const backend_;
  const int64_t min_block_bytes_;

  mutable std::mutex mutex_;
  int64_t capacity_bytes_;
  std::list<Block> kept_;  // most recently freed first
  int64_t kept_bytes_ = 0;
  int64_t reused_blocks_ = 0;

  // Memory taken from the backend and not yet returned: live and kept blocks.
  arrow::internal::MemoryPoolStats stats_;
};

}  // namespace jetflow
