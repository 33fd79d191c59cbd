// Consumer: the source stage of a pipeline.
//
// A consumer knows its output schema before any data moves (InferSchema), splits a run
// instance into deterministic partitions (PlanPartitions), and streams one partition as
// arrow::RecordBatches (OpenPartition). Batches are the unit of memory; their size is a
// hint (ComponentContext::batch_rows), their boundaries carry no meaning.
//
// Threading: InferSchema and PlanPartitions are called once, at plan time, from one
// thread. OpenPartition is called concurrently from several engine threads (one per
// partition in flight); each PartitionReader is then used by exactly one thread.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <memory>
#include <string>
#include <vector>

#include "jetflow/core/partition.h"
#include "jetflow/core/rule_count.h"
#include "jetflow/core/run_state.h"

namespace jetflow {

class PartitionReader {
 public:
  virtual ~PartitionReader() = default;
  /// The next batch, or nullptr at the end of the partition. Every batch has exactly the
  /// schema returned by Consumer::InferSchema(). A failure that a retry may fix (network,
  /// timeout) is returned MarkRetryable(); corrupt data is SerializationError.
  virtual arrow::Result<std::shared_ptr<arrow::RecordBatch>> Next() = 0;
  /// What the reader did to values on the way in, per rule (core/rule_count.h), e.g.
  /// {"invalid_utf8:payload", "replace", 3}: three values of column `payload` had
  /// invalid UTF-8 replaced. The engine asks once, after Next() returned nullptr, and
  /// records them like a transformer's counts, under the consumer's name.
  virtual std::vector<RuleCount> counters() const { return {}; }
};

class Consumer {
 public:
  virtual ~Consumer() = default;
  /// The schema of every batch this consumer will produce.
  virtual arrow::Result<std::shared_ptr<arrow::Schema>> InferSchema() = 0;
  /// Optional, for sources that carry state from run to run (see run_state.h). Called
  /// once per plan, before PlanPartitions. `watermarks` is nullptr when the pipeline is
  /// planned without a state store (`jetflow plan`, `schema`): plan as a first run
  /// would. The default carries no state.
  virtual arrow::Result<RunStatePlan> PlanRunState(const RunInstance& run,
                                                   WatermarkReader* watermarks) {
    (void)run;
    (void)watermarks;
    return RunStatePlan{};
  }
  /// Deterministic partitions of `run`, in a stable order. May be empty (nothing to do).
  virtual arrow::Result<std::vector<PartitionSpec>> PlanPartitions(
      const RunInstance& run) = 0;
  /// Opens one partition for reading. Thread-safe.
  virtual arrow::Result<std::unique_ptr<PartitionReader>> OpenPartition(
      const PartitionContext& context) = 0;
};

}  // namespace jetflow
