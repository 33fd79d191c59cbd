// Typed comparison of tables with a readable diff: which rows are missing or extra, and
// for each mismatching cell its row, column, expected and actual value.
//
// Values are compared as Arrow values of the actual column's type. When the expected
// column has another type (e.g. expected rows written as JSON), it is first cast to the
// actual type with a safe cast, so 12.5 matches decimal(10,2) 12.50 and
// "2024-01-01T00:00:00Z" matches a timestamp. Floating-point values are equal when
// |e - a| <= tolerance * max(|e|, |a|) (both NaN counts as equal, as do 0.0 and -0.0).
//
// Threading: pure functions.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <string>
#include <vector>

namespace jetflow::testing {

struct CompareOptions {
  /// true: row i of expected must equal row i of actual. false: the rows are compared as
  /// multisets (each expected row matches one distinct equal actual row).
  bool ordered = true;
  /// true: actual must have exactly the expected columns, in the same order (types may
  /// differ only if the expected values cast to the actual type). false: only the columns
  /// of `expected` are compared and actual may have more.
  bool same_columns = true;
  /// Relative tolerance for float64 cells (float32 cells use max(this, 1e-6)).
  double float_tolerance = 1e-9;
  /// At most this many cell diffs and missing/extra rows are kept (counts stay exact).
  int64_t max_reported = 50;
};

/// One cell that differs. For unordered comparisons, a missing expected row and an extra
/// actual row that agree on most columns are reported as cell diffs of that pair.
struct CellDiff {
  int64_t expected_row = 0;
  int64_t actual_row = 0;
  std::string column;
  std::string expected;
  std::string actual;
};

/// A row shown as {col: value, ...} over the compared columns.
struct RowDiff {
  int64_t row = 0;  // index in expected (missing) or actual (extra)
  std::string values;
};

struct TableDiff {
  /// Schema-level problems: missing or extra columns, column order, types.
  std::vector<std::string> problems;
  int64_t expected_rows = 0;
  int64_t actual_rows = 0;
  std::vector<CellDiff> cells;
  std::vector<RowDiff> missing_rows;
  std::vector<RowDiff> extra_rows;
  int64_t cells_total = 0;  // before truncation to max_reported
  int64_t missing_total = 0;
  int64_t extra_total = 0;
  bool ordered = true;

  bool empty() const {
    return problems.empty() && cells_total == 0 && missing_total == 0 && extra_total == 0;
  }
  /// Multi-line text, one difference a line, e.g.
  ///   row 2, column 'total': expected 12.5, actual 12
  ///   missing row (expected row 3): {id: 4, name: "d"}
  std::string ToString() const;
};

/// Compares `expected` with `actual` (see CompareOptions). Fails only if an expected
/// column cannot be converted to the actual column's type (Invalid naming the column and
/// the row); every other difference is in the returned TableDiff.
arrow::Result<TableDiff> CompareTables(const arrow::Table& expected,
                                       const arrow::Table& actual,
                                       const CompareOptions& options = {});

arrow::Result<TableDiff> CompareBatches(const arrow::RecordBatch& expected,
                                        const arrow::RecordBatch& actual,
                                        const CompareOptions& options = {});

/// A table of the batches (which must share one schema); an empty table of `schema` if
/// there is none.
arrow::Result<std::shared_ptr<arrow::Table>> TableFromBatches(
    const std::shared_ptr<arrow::Schema>& schema,
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches);

/// A value as shown in diffs: null, numbers as Arrow prints them, strings quoted.
std::string FormatValue(const arrow::Array& array, int64_t row);

}  // namespace jetflow::testing
