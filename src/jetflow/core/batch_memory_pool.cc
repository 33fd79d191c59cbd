#include "jetflow/core/batch_memory_pool.h"

#include <arrow/memory_pool.h>

#include <algorithm>

namespace jetflow {

namespace {
// Smaller buffers (validity bitmaps of a few KiB) are cheap for jemalloc to reuse.
constexpr int64_t kRecycledBatchBlockMinBytes = 64 << 10;
constexpr int64_t kRecycledBatchBytesMax = int64_t{256} << 20;
}  // namespace

RecyclingMemoryPool* BatchMemoryPool() {
  // Leaked on purpose: buffers may be freed into it until the process exits.
  static auto* pool =
      new RecyclingMemoryPool(arrow::default_memory_pool(),
                              /*capacity_bytes=*/0, kRecycledBatchBlockMinBytes);
  return pool;
}

int64_t RecycledBatchBytesFor(int64_t memory_budget_bytes) {
  return std::clamp<int64_t>(memory_budget_bytes / 4, 0, kRecycledBatchBytesMax);
}

}  // namespace jetflow
