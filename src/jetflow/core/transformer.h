// Transformer: reshapes or validates batches between the consumer and the loaders.
//
// Bind() runs at plan time with the schema flowing in and returns the schema flowing out,
// so a config that cannot work fails before any data moves. Per partition attempt the
// engine Open()s a PartitionTransform (local state, one thread) and feeds it every batch.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "jetflow/core/partition.h"
#include "jetflow/core/side_output.h"

namespace jetflow {

/// How many rows of a partition one rule (a validation rule, a cast's failure policy, a
/// filter, a de-duplication) acted on, and what it did with them.
struct RuleCount {
  /// Unique within the transformer, e.g. "id_not_null", "cast:amount", "where".
  std::string rule;
  /// "drop", "quarantine", "null" (values replaced by null, row kept) or "fail".
  std::string action;
  int64_t rows = 0;
};

/// Rows a transform removed from the stream, for the partition's reconciliation:
/// rows read = rows written + rows_dropped + rows_quarantined. `rules` breaks them down
/// (and lists rules that kept the row, such as a cast to null); the engine records them
/// in the state store and the run summary.
struct TransformCounters {
  int64_t rows_dropped = 0;
  int64_t rows_quarantined = 0;
  std::vector<RuleCount> rules;
};

class PartitionTransform {
 public:
  virtual ~PartitionTransform() = default;
  /// Maps one batch; may return a batch with zero rows. Never returns nullptr on success.
  virtual arrow::Result<std::shared_ptr<arrow::RecordBatch>> Apply(
      const std::shared_ptr<arrow::RecordBatch>& batch) = 0;
  /// Called once after the last batch; may flush rows held back (e.g. de-duplication).
  virtual arrow::Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> Finish() {
    return std::vector<std::shared_ptr<arrow::RecordBatch>>{};
  }
  virtual TransformCounters counters() const { return {}; }
  /// Rows sent to the transformer's side outputs since the last call (see
  /// side_output.h). The engine calls it after every Apply() and after Finish().
  virtual std::vector<SideBatch> TakeSideBatches() { return {}; }
};

class Transformer {
 public:
  virtual ~Transformer() = default;
  /// Plan time: the output schema for `input`, or Invalid naming every problem.
  virtual arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) = 0;
  /// Thread-safe; REQUIRES: Bind() succeeded.
  virtual arrow::Result<std::unique_ptr<PartitionTransform>> Open(
      const PartitionContext& context) = 0;
  /// Side outputs the transformer writes to (e.g. a quarantine). Before Bind(): their
  /// names and paths, with no schema (enough to find their published output, as
  /// `jetflow verify` does); after a successful Bind(), with their schemas.
  virtual std::vector<SideOutputSpec> side_outputs() const { return {}; }
};

}  // namespace jetflow
