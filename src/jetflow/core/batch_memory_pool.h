// BatchMemoryPool: the Arrow memory pool consumers allocate their batches from.
//
// A batch is freed by the loader that writes it, on another thread and often a whole row
// group after it was made. By then Arrow's jemalloc has given many of those pages back to
// the kernel (it keeps unused pages for about a second), so the next batches fault in and
// zero fresh pages: in a long generate -> Parquet run, three quarters of all page faults
// (docs/benchmarks.md). This pool keeps freed batch buffers of at least 64 KiB and hands
// them to the next batches of the same size (fixed-width columns and most string buffers
// repeat their sizes from batch to batch).
//
// Only for consumers that allocate each buffer once at its final size: it keeps up to its
// capacity whatever is freed, so a consumer whose builders grow step by step fills it
// with blocks of every step (PostgreSQL's decoder on it measured +260 MB with one
// partition; docs/benchmarks.md). A consumer opts in with
// Consumer::AllocatesBatchesOnce(); `generate` does.
//
// How much it keeps is set by the engine for each run of such a consumer
// (RecycledBatchBytesFor), and taken out of the run's memory budget; for other consumers,
// and between runs, it keeps nothing. It is one pool for the whole process and is never
// destroyed, so a buffer that outlives a run can always be freed into it. Consumers
// receive it as PartitionContext::memory_pool.
//
// Threading: thread-safe (RecyclingMemoryPool).
#pragma once

#include <cstdint>

#include "jetflow/core/recycling_memory_pool.h"

namespace jetflow {

RecyclingMemoryPool* BatchMemoryPool();

/// Bytes of freed batch buffers BatchMemoryPool() may keep during a run with this memory
/// budget: a quarter of it, at most 256 MiB.
int64_t RecycledBatchBytesFor(int64_t memory_budget_bytes);

}  // namespace jetflow
