// The multi-process contract of StateStore (state_store.h), as tests that every
// implementation runs: leases, claims and their fencing tokens, joining a live run, one
// finisher, leaving, and commit watermarks written with the run's end.
//
// An implementation instantiates the suite with a factory that opens a fresh store of its
// kind, reading time from the given clock:
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StateStoreContractTest,
//                            ::testing::Values(StateStoreFactoryForTest{"sqlite", ...}));
// Workers in these tests are named like another machine's ("hostA/1/00000000/1"), so
// only their leases say whether they live.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "jetflow/state/state_store.h"

namespace jetflow {

using TestClock = std::function<std::chrono::system_clock::time_point()>;

struct StateStoreFactoryForTest {
  std::string name;
  /// Opens a store in `dir` (an empty folder the test owns) reading time from `clock`;
  /// opening twice in the same folder gives two connections to the same store.
  std::function<arrow::Result<std::unique_ptr<StateStore>>(const std::string& dir,
                                                           TestClock clock)>
      open;
};

inline std::string PrintToString(const StateStoreFactoryForTest& factory) {
  return factory.name;
}

class StateStoreContractTest : public ::testing::TestWithParam<StateStoreFactoryForTest> {
 protected:
  void SetUp() override;
  void TearDown() override;

  /// A new connection to the test's store.
  std::unique_ptr<StateStore> Open();
  /// Moves the store's clock forward.
  void Advance(std::chrono::milliseconds by) { now_ms_ += by.count(); }

  std::string dir_;
  std::shared_ptr<std::atomic<int64_t>> now_ms_base_;
  std::atomic<int64_t> now_ms_{0};
};

}  // namespace jetflow
