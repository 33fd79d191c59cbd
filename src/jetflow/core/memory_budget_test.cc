#include "jetflow/core/memory_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

TEST(MemoryBudgetTest, BlocksUntilReleased) {
  MemoryBudget budget(100);
  JETFLOW_ASSERT_OK(budget.Reserve(80));
  std::atomic<bool> granted{false};
  std::thread waiter([&] {
    JETFLOW_ASSERT_OK(budget.Reserve(40));
    granted = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(granted.load());
  budget.Release(80);
  waiter.join();
  EXPECT_TRUE(granted.load());
  EXPECT_EQ(budget.used(), 40);
  EXPECT_EQ(budget.peak(), 80);
}

TEST(MemoryBudgetTest, OversizedReservationGrantedWhenEmpty) {
  MemoryBudget budget(10);
  JETFLOW_ASSERT_OK(budget.Reserve(1000));
  EXPECT_EQ(budget.used(), 1000);
  budget.Release(1000);
  EXPECT_EQ(budget.used(), 0);
}

TEST(MemoryBudgetTest, CancelWakesWaiters) {
  MemoryBudget budget(10);
  JETFLOW_ASSERT_OK(budget.Reserve(10));
  arrow::Status result;
  std::thread waiter([&] { result = budget.Reserve(5); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  budget.Cancel();
  waiter.join();
  EXPECT_TRUE(result.IsCancelled());
  EXPECT_TRUE(budget.Reserve(1).IsCancelled());
}

}  // namespace
}  // namespace jetflow

namespace jetflow {
namespace {

TEST(MemoryBudgetTest, ForcedReservationMakesOthersWaitUnlessTheyMayExceed) {
  MemoryBudget budget(100);
  budget.Adjust(150);  // over the limit, granted at once
  EXPECT_EQ(budget.used(), 150);
  std::atomic<bool> alone{false};
  std::atomic<bool> granted{false};
  std::thread reader([&] {
    ASSERT_TRUE(budget.Reserve(10, [&] { return alone.load(); }).ok());
    granted = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_FALSE(granted.load());
  alone = true;
  budget.Release(0);  // any release re-checks the waiters
  reader.join();
  EXPECT_TRUE(granted.load());
  EXPECT_EQ(budget.used(), 160);
  EXPECT_EQ(budget.peak(), 160);
}

}  // namespace
}  // namespace jetflow
