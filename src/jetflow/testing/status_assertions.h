// gtest assertions on arrow::Status and arrow::Result: the one family of such macros in
// jetflow's tests. On failure they print the expression and the status, never just
// "Value of: x.ok()".
//
//   JETFLOW_ASSERT_OK(store->FinishRun(...));
//   JETFLOW_EXPECT_OK(writer->Write(batch));
//   JETFLOW_ASSERT_OK_AND_ASSIGN(auto plan, PipelineRunner::Plan(...));
//   JETFLOW_ASSERT_RAISES(Invalid, Parse("x"));   // and the status code is Invalid
//
// Header-only; include it from test files only.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>
#include <gtest/gtest.h>

#include <utility>

/// ASSERT that an arrow::Status or arrow::Result is OK, printing the status otherwise.
#define JETFLOW_ASSERT_OK(expr)                                     \
  do {                                                              \
    ::arrow::Status _jf_st = ::arrow::ToStatus((expr));             \
    ASSERT_TRUE(_jf_st.ok()) << #expr << ": " << _jf_st.ToString(); \
  } while (false)

/// `lhs = *rexpr`, or a fatal failure printing the status.
#define JETFLOW_ASSERT_OK_AND_ASSIGN(lhs, rexpr)                                         \
  JETFLOW_ASSERT_OK_AND_ASSIGN_IMPL(ARROW_ASSIGN_OR_RAISE_NAME(_jf_r, __COUNTER__), lhs, \
                                    rexpr)
#define JETFLOW_ASSERT_OK_AND_ASSIGN_IMPL(result, lhs, rexpr)               \
  auto result = (rexpr);                                                    \
  ASSERT_TRUE(result.ok()) << #rexpr << ": " << result.status().ToString(); \
  lhs = std::move(result).ValueUnsafe()

/// EXPECT that an arrow::Status or arrow::Result is OK, printing the status otherwise.
#define JETFLOW_EXPECT_OK(expr)                                     \
  do {                                                              \
    ::arrow::Status _jf_st = ::arrow::ToStatus((expr));             \
    EXPECT_TRUE(_jf_st.ok()) << #expr << ": " << _jf_st.ToString(); \
  } while (false)

/// ASSERT that `expr` (a Status or Result) failed with StatusCode::k<code>.
#define JETFLOW_ASSERT_RAISES(code, expr)                              \
  do {                                                                 \
    ::arrow::Status _jf_st = ::arrow::ToStatus((expr));                \
    ASSERT_TRUE(_jf_st.Is##code())                                     \
        << #expr << ": expected " #code ", got " << _jf_st.ToString(); \
  } while (false)
