// gtest assertions on batches and tables, with the readable diff of CompareTables():
//
//   JETFLOW_EXPECT_TABLES_EQUAL(*expected, *actual);
//   JETFLOW_ASSERT_BATCHES_EQUAL(*expected, *actual);
//   EXPECT_TRUE(TablesEqual(*expected, *actual, {.ordered = false}));
//
// On failure the message lists the schema problems, then every differing cell as
//   row 2, column 'total': expected 12.5, actual 12
// and missing/extra rows. Header-only, so the jetflow_testing library itself does not
// depend on gtest; include it from test files only.
#pragma once

#include <gtest/gtest.h>

#include "jetflow/testing/batch_compare.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow::testing {

inline ::testing::AssertionResult DiffToAssertion(const arrow::Result<TableDiff>& diff) {
  if (!diff.ok()) {
    return ::testing::AssertionFailure()
           << "cannot compare: " << diff.status().ToString();
  }
  if (diff->empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "tables differ:\n" << diff->ToString();
}

inline ::testing::AssertionResult TablesEqual(const arrow::Table& expected,
                                              const arrow::Table& actual,
                                              const CompareOptions& options = {}) {
  return DiffToAssertion(CompareTables(expected, actual, options));
}

inline ::testing::AssertionResult BatchesEqual(const arrow::RecordBatch& expected,
                                               const arrow::RecordBatch& actual,
                                               const CompareOptions& options = {}) {
  return DiffToAssertion(CompareBatches(expected, actual, options));
}

}  // namespace jetflow::testing

#define JETFLOW_EXPECT_TABLES_EQUAL(expected, actual) \
  EXPECT_TRUE(::jetflow::testing::TablesEqual((expected), (actual)))
#define JETFLOW_ASSERT_TABLES_EQUAL(expected, actual) \
  ASSERT_TRUE(::jetflow::testing::TablesEqual((expected), (actual)))
#define JETFLOW_EXPECT_BATCHES_EQUAL(expected, actual) \
  EXPECT_TRUE(::jetflow::testing::BatchesEqual((expected), (actual)))
#define JETFLOW_ASSERT_BATCHES_EQUAL(expected, actual) \
  ASSERT_TRUE(::jetflow::testing::BatchesEqual((expected), (actual)))
