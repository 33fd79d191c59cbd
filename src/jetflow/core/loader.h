// Loader: the stage with persistent effect (first of all, Parquet files in a lake).
//
// Commit protocol, per partition attempt:
//   writer = OpenPartition(ctx); writer->Write(batch)...; then exactly one of
//   writer->Commit()  -- durable and visible to readers once it returns OK, replacing any
//                        earlier output of the same partition;
//   writer->Abort()   -- leaves no trace in the output.
// Destroying a PartitionWriter without either is a bug (the writer aborts and logs).
//
// At plan time: Bind() (the output schema), then CheckRunInstance() (the run instance).
// Per run: BeginRun() before the first partition (e.g. remove the run's completion marker
// and leftovers of dead attempts); FinishRun() after every partition committed (remove
// output of partitions no longer in the plan, write the run manifest and marker).
//
// Threading: Bind, CheckRunInstance, BeginRun and FinishRun are called from one thread;
// OpenPartition is called concurrently; each PartitionWriter is used by one thread.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/status.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "jetflow/core/manifest.h"
#include "jetflow/core/partition.h"

namespace jetflow {

class PartitionWriter {
 public:
  virtual ~PartitionWriter() = default;
  virtual arrow::Status Write(const std::shared_ptr<arrow::RecordBatch>& batch) = 0;
  /// Rows accepted by Write() so far (for reconciliation before Commit).
  virtual int64_t rows_written() const = 0;
  /// Bytes the writer holds in memory for accepted data (e.g. the encoded pages of a row
  /// group not yet written out). The engine counts them in the memory budget.
  virtual int64_t buffered_bytes() const { return 0; }
  virtual arrow::Result<PartitionManifest> Commit() = 0;
  virtual arrow::Status Abort() = 0;
};

class Loader {
 public:
  virtual ~Loader() = default;
  /// Plan time: checks that `input` (the stream schema after transformers) can be written
  /// and returns the output schema, or Invalid listing every mismatching column.
  virtual arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) = 0;
  /// Plan time, after a successful Bind: Invalid if this loader cannot write run
  /// instance `run` as bound (e.g. an output column named like a directory key of the
  /// lake, which readers would take from the path instead of the file). Moves nothing.
  virtual arrow::Status CheckRunInstance(const RunInstance& run) {
    (void)run;
    return arrow::Status::OK();
  }
  virtual arrow::Status BeginRun(const RunContext& run) = 0;
  virtual arrow::Result<std::unique_ptr<PartitionWriter>> OpenPartition(
      const PartitionContext& context) = 0;
  /// REQUIRES: every partition of the plan committed; `partitions` are their manifests.
  virtual arrow::Status FinishRun(const RunContext& run,
                                  const std::vector<PartitionManifest>& partitions) = 0;
};

}  // namespace jetflow
