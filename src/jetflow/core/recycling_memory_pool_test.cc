#include "jetflow/core/recycling_memory_pool.h"

#include <arrow/memory_pool.h>
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

constexpr int64_t kMiB = 1 << 20;
constexpr int64_t kAlignment = 64;

class RecyclingMemoryPoolTest : public ::testing::Test {
 protected:
  uint8_t* Allocate(RecyclingMemoryPool& pool, int64_t size) {
    uint8_t* data = nullptr;
    JETFLOW_EXPECT_OK(pool.Allocate(size, kAlignment, &data));
    EXPECT_NE(data, nullptr);
    return data;
  }

  // A pool of its own as the backend, so its counters show what reached the backend.
  arrow::ProxyMemoryPool backend_{arrow::default_memory_pool()};
};

TEST_F(RecyclingMemoryPoolTest, ReusesAFreedBlockOfTheSameSize) {
  RecyclingMemoryPool pool(&backend_, 64 * kMiB, 2 * kMiB);
  uint8_t* first = Allocate(pool, 24 * kMiB);
  std::memset(first, 7, 24 * kMiB);
  pool.Free(first, 24 * kMiB, kAlignment);
  EXPECT_EQ(pool.kept_bytes(), 24 * kMiB);
  EXPECT_EQ(backend_.bytes_allocated(), 24 * kMiB);

  uint8_t* second = Allocate(pool, 24 * kMiB);
  EXPECT_EQ(second, first);
  EXPECT_EQ(pool.reused_blocks(), 1);
  EXPECT_EQ(pool.kept_bytes(), 0);
  EXPECT_EQ(backend_.num_allocations(), 1);
  pool.Free(second, 24 * kMiB, kAlignment);
}

TEST_F(RecyclingMemoryPoolTest, OtherSizesAndAlignmentsGoToTheBackend) {
  RecyclingMemoryPool pool(&backend_, 64 * kMiB, 2 * kMiB);
  uint8_t* block = Allocate(pool, 6 * kMiB);
  pool.Free(block, 6 * kMiB, kAlignment);

  uint8_t* larger = Allocate(pool, 6 * kMiB + 64);
  uint8_t* aligned = nullptr;
  JETFLOW_ASSERT_OK(pool.Allocate(6 * kMiB, 4096, &aligned));
  EXPECT_EQ(pool.reused_blocks(), 0);
  EXPECT_EQ(pool.kept_bytes(), 6 * kMiB);
  pool.Free(larger, 6 * kMiB + 64, kAlignment);
  pool.Free(aligned, 6 * kMiB, 4096);
}

TEST_F(RecyclingMemoryPoolTest, NearlyEqualSizesShareABlock) {
  RecyclingMemoryPool pool(&backend_, 64 * kMiB, 2 * kMiB);
  // Both round up to 3.25 MiB (eight classes between 2 and 4 MiB).
  uint8_t* first = Allocate(pool, 3 * kMiB + 100);
  EXPECT_EQ(pool.bytes_allocated(), 3 * kMiB + kMiB / 4);
  pool.Free(first, 3 * kMiB + 100, kAlignment);
  EXPECT_EQ(Allocate(pool, 3 * kMiB + 200 * 1024), first);
  // Growing within the class keeps the block where it is.
  uint8_t* data = first;
  JETFLOW_ASSERT_OK(
      pool.Reallocate(3 * kMiB + 200 * 1024, 3 * kMiB + 250 * 1024, kAlignment, &data));
  EXPECT_EQ(data, first);
  pool.Free(data, 3 * kMiB + 250 * 1024, kAlignment);
  EXPECT_EQ(pool.kept_bytes(), 3 * kMiB + kMiB / 4);
}

TEST_F(RecyclingMemoryPoolTest, SmallBlocksAreNotKept) {
  RecyclingMemoryPool pool(&backend_, 64 * kMiB, 2 * kMiB);
  uint8_t* small = Allocate(pool, 2 * kMiB - 1);
  pool.Free(small, 2 * kMiB - 1, kAlignment);
  EXPECT_EQ(pool.kept_bytes(), 0);
  EXPECT_EQ(backend_.bytes_allocated(), 0);
  EXPECT_EQ(pool.bytes_allocated(), 0);
}

TEST_F(RecyclingMemoryPoolTest, DropsTheLeastRecentlyFreedBlocksWhenFull) {
  RecyclingMemoryPool pool(&backend_, 32 * kMiB, 2 * kMiB);
  uint8_t* a = Allocate(pool, 16 * kMiB);
  uint8_t* b = Allocate(pool, 12 * kMiB);
  uint8_t* c = Allocate(pool, 8 * kMiB);
  uint8_t* too_large = Allocate(pool, 40 * kMiB);
  pool.Free(a, 16 * kMiB, kAlignment);
  pool.Free(b, 12 * kMiB, kAlignment);
  EXPECT_EQ(pool.kept_bytes(), 28 * kMiB);
  // 8 more do not fit: the oldest (a, 16 MiB) goes back to the backend.
  pool.Free(c, 8 * kMiB, kAlignment);
  EXPECT_EQ(pool.kept_bytes(), 20 * kMiB);
  // Larger than the whole capacity: never kept.
  pool.Free(too_large, 40 * kMiB, kAlignment);
  EXPECT_EQ(pool.kept_bytes(), 20 * kMiB);
  EXPECT_EQ(backend_.bytes_allocated(), 20 * kMiB);

  EXPECT_EQ(Allocate(pool, 12 * kMiB), b);
  uint8_t* fresh = Allocate(pool, 16 * kMiB);  // a was dropped: a new block
  EXPECT_EQ(pool.reused_blocks(), 1);
  pool.Free(b, 12 * kMiB, kAlignment);
  pool.Free(fresh, 16 * kMiB, kAlignment);
}

TEST_F(RecyclingMemoryPoolTest, CountsKeptBytesAsAllocatedAndReleasesThem) {
  RecyclingMemoryPool pool(&backend_, 64 * kMiB, 2 * kMiB);
  uint8_t* live = Allocate(pool, 4 * kMiB);
  uint8_t* freed = Allocate(pool, 16 * kMiB);
  pool.Free(freed, 16 * kMiB, kAlignment);
  // A budget must see the kept block: the process still holds it.
  EXPECT_EQ(pool.bytes_allocated(), 20 * kMiB);
  EXPECT_EQ(pool.max_memory(), 20 * kMiB);

  pool.ReleaseUnused();
  EXPECT_EQ(pool.kept_bytes(), 0);
  EXPECT_EQ(pool.bytes_allocated(), 4 * kMiB);
  EXPECT_EQ(backend_.bytes_allocated(), 4 * kMiB);
  pool.Free(live, 4 * kMiB, kAlignment);
  EXPECT_EQ(pool.bytes_allocated(), 4 * kMiB);  // kept, no longer live
  EXPECT_EQ(pool.kept_bytes(), 4 * kMiB);
}

TEST_F(RecyclingMemoryPoolTest, AGrowingBufferMovesIntoAKeptBlockOfItsNewSize) {
  RecyclingMemoryPool pool(&backend_, 64 * kMiB, 2 * kMiB);
  // First time: nothing kept, the backend reallocates; the result is kept once freed.
  uint8_t* data = Allocate(pool, 1 * kMiB);
  std::memset(data, 3, 1 * kMiB);
  JETFLOW_ASSERT_OK(pool.Reallocate(1 * kMiB, 8 * kMiB, kAlignment, &data));
  EXPECT_EQ(data[kMiB - 1], 3);
  EXPECT_EQ(pool.bytes_allocated(), 8 * kMiB);
  uint8_t* grown = data;
  pool.Free(data, 8 * kMiB, kAlignment);
  EXPECT_EQ(pool.kept_bytes(), 8 * kMiB);
  // Second time: the same growth lands in the kept block, contents copied.
  data = Allocate(pool, 1 * kMiB);
  std::memset(data, 5, 1 * kMiB);
  JETFLOW_ASSERT_OK(pool.Reallocate(1 * kMiB, 8 * kMiB, kAlignment, &data));
  EXPECT_EQ(data, grown);
  EXPECT_EQ(data[0], 5);
  EXPECT_EQ(data[kMiB - 1], 5);
  EXPECT_EQ(pool.reused_blocks(), 1);
  EXPECT_EQ(pool.kept_bytes(), 0);
  EXPECT_EQ(pool.bytes_allocated(), 8 * kMiB);
  // Shrinking goes to the backend.
  JETFLOW_ASSERT_OK(pool.Reallocate(8 * kMiB, 4 * kMiB, kAlignment, &data));
  EXPECT_EQ(pool.bytes_allocated(), 4 * kMiB);
  pool.Free(data, 4 * kMiB, kAlignment);
}

TEST_F(RecyclingMemoryPoolTest, ALowerCapacityReturnsTheOldestBlocks) {
  RecyclingMemoryPool pool(&backend_, 64 * kMiB, 2 * kMiB);
  uint8_t* older = Allocate(pool, 16 * kMiB);
  uint8_t* newer = Allocate(pool, 8 * kMiB);
  pool.Free(older, 16 * kMiB, kAlignment);
  pool.Free(newer, 8 * kMiB, kAlignment);
  pool.SetCapacity(10 * kMiB);
  EXPECT_EQ(pool.kept_bytes(), 8 * kMiB);
  EXPECT_EQ(Allocate(pool, 8 * kMiB), newer);
  pool.SetCapacity(0);
  pool.Free(newer, 8 * kMiB, kAlignment);
  EXPECT_EQ(pool.kept_bytes(), 0);
  EXPECT_EQ(backend_.bytes_allocated(), 0);
}

TEST_F(RecyclingMemoryPoolTest, DestructorReturnsKeptBlocks) {
  {
    RecyclingMemoryPool pool(&backend_, 64 * kMiB, 2 * kMiB);
    pool.Free(Allocate(pool, 6 * kMiB), 6 * kMiB, kAlignment);
    EXPECT_EQ(backend_.bytes_allocated(), 6 * kMiB);
  }
  EXPECT_EQ(backend_.bytes_allocated(), 0);
}

TEST_F(RecyclingMemoryPoolTest, ConcurrentAllocateAndFreeKeepTheCountsExact) {
  RecyclingMemoryPool pool(&backend_, 24 * kMiB, 2 * kMiB);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool, t] {
      for (int i = 0; i < 200; ++i) {
        const int64_t size = (2 + (i + t) % 4) * kMiB;
        uint8_t* data = nullptr;
        JETFLOW_ASSERT_OK(pool.Allocate(size, kAlignment, &data));
        data[0] = static_cast<uint8_t>(i);
        data[size - 1] = static_cast<uint8_t>(t);
        pool.Free(data, size, kAlignment);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(pool.bytes_allocated(), pool.kept_bytes());
  EXPECT_LE(pool.kept_bytes(), 24 * kMiB);
  EXPECT_GT(pool.reused_blocks(), 0);
  pool.ReleaseUnused();
  EXPECT_EQ(backend_.bytes_allocated(), 0);
}

}  // namespace
}  // namespace jetflow
