// What a transformer does with a row that breaks one of its rules (a validation rule, a
// cast that fails), and the quarantine side output those rows may go to.
//
//   on_fail: fail | drop | quarantine      (validate rules)
//   on_error: error | null | quarantine    (cast columns)
//   quarantine: {path: ./quarantine}       (needed by any quarantine policy)
//
// A quarantine is a Parquet side output (core/side_output.h) with the transformer's input
// columns, then `_jetflow_rule` (which rule) and `_jetflow_reason` (why), both non-null
// strings. Rows are published with the same staging and atomic replace as the lake.
#pragma once

#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jetflow/core/registry.h"
#include "jetflow/core/side_output.h"

namespace jetflow {

enum class RowPolicy {
  kFail,        // fail the partition, naming the first offending rows
  kDrop,        // drop the row (counted as dropped)
  kQuarantine,  // move the row to the quarantine (counted as quarantined)
  kNull,        // casts only: keep the row, the value becomes null
};

/// "fail", "drop", "quarantine", "null".
const char* ToString(RowPolicy policy);

/// Column names the quarantine adds to the input columns.
inline constexpr const char* kQuarantineRuleColumn = "_jetflow_rule";
inline constexpr const char* kQuarantineReasonColumn = "_jetflow_reason";

/// Reads the transformer's optional `quarantine: {path: ...}` map. `needed` says whether
/// a rule uses the quarantine policy: then the map is required, otherwise it is an
/// error to give one (nothing would ever be written there). The path resolves against
/// the pipeline's directory. Records problems in the node's Diagnostics.
std::optional<std::string> ParseQuarantinePath(const ConfigNode& transformer_node,
                                               const ComponentContext& context,
                                               bool needed);

/// The quarantine's side output for a transformer whose input is `input`; without a
/// schema while `input` is null (before Bind).
SideOutputSpec QuarantineSpec(const std::string& path, const arrow::Schema* input);

/// The rows of `batch` where `selected` is true (nulls count as false), with the
/// quarantine's two columns: `rule` on every row, and `reasons` (one per selected row,
/// in order) or else `reason` on every row. REQUIRES: `schema` is QuarantineSpec's schema
/// for batch.schema().
arrow::Result<std::shared_ptr<arrow::RecordBatch>> QuarantineRows(
    const std::shared_ptr<arrow::Schema>& schema,
    const std::shared_ptr<arrow::RecordBatch>& batch,
    const std::shared_ptr<arrow::Array>& selected, const std::string& rule,
    const std::string& reason, const std::vector<std::string>* reasons = nullptr);

/// Up to `limit` rows of `batch` where `selected` is true, for error messages:
/// "row 17 {id: 3, amount: -1}; row 20 {...}". Rows are numbered from
/// `first_row` (the batch's first row within its partition), or by `row_numbers` (one
/// int64 per row of `batch`) when given; values are shortened.
std::string DescribeRows(const arrow::RecordBatch& batch, const arrow::Array& selected,
                         int64_t first_row, int limit = 5,
                         const arrow::Array* row_numbers = nullptr);

/// Number of true values (nulls excluded).
int64_t CountTrue(const arrow::Array& mask);

/// `batch` without the rows where `remove` is true (nulls count as false).
arrow::Result<std::shared_ptr<arrow::RecordBatch>> RemoveRows(
    const std::shared_ptr<arrow::RecordBatch>& batch,
    const std::shared_ptr<arrow::Array>& remove);

}  // namespace jetflow
