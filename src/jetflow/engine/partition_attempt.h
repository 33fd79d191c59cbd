// One attempt at one partition: read -> transform -> write, reconcile, commit.
//
//   reader thread:  consumer.OpenPartition -> Next() ... -> bounded queue
//                   (each batch first reserves its bytes from the run's memory budget)
//   calling thread: queue -> transformers -> every loader's PartitionWriter
//                   (rows a transformer sends to a side output -> its side writer)
//   then:           transformers flush (Finish) -> reconcile the row counts ->
//                   before_publish() -> commit side writers -> commit loader writers
//
// Reconciliation, before anything is published: rows read = written + dropped +
// quarantined; every loader accepted exactly the rows sent to it; side outputs accepted
// exactly the quarantined rows; and rows read = the count the source promised at plan
// time, when it promised one. An attempt that fails at any step aborts every writer it
// opened, so it leaves nothing visible; a failure after some writers committed leaves
// their output, which the partition's next attempt replaces.
//
// Threading: RunPartitionAttempt blocks its caller, uses one reader thread of its own,
// and shares nothing with other attempts but the services (thread-safe).
#pragma once

#include <arrow/status.h>

#include <functional>
#include <vector>

#include "jetflow/core/loader.h"
#include "jetflow/core/memory_budget.h"
#include "jetflow/core/partition.h"
#include "jetflow/engine/cancellation.h"
#include "jetflow/engine/pipeline.h"
#include "jetflow/engine/pipeline_runner.h"
#include "jetflow/state/state_store.h"

namespace jetflow {

/// What the attempts of one run share.
struct AttemptServices {
  Pipeline& pipeline;
  const PipelinePlan& plan;
  /// Batches in flight and what writers hold, all partitions together.
  MemoryBudget& budget;
  /// Checked between batches: a cancelled run stops reading.
  const Cancellation& cancellation;
  /// Live counters (rows_read, bytes_read, rows_written); may be nullptr.
  RunProgress* progress = nullptr;
  /// Called once the attempt reconciled, right before its first output is published;
  /// an error aborts the attempt instead (the run's lease was lost).
  std::function<arrow::Status()> before_publish;
};

/// Runs one attempt of `context.partition`. On OK every side output and loader has
/// committed and `manifests` holds their manifests (side outputs first); `result` has the
/// attempt's counters either way (status, seconds and error are the caller's to set).
arrow::Status RunPartitionAttempt(const AttemptServices& services,
                                  const PartitionContext& context, AttemptResult* result,
                                  std::vector<PartitionManifest>* manifests);

}  // namespace jetflow
