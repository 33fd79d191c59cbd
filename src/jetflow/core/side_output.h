// Side outputs: rows a transformer takes out of the main stream but must not lose, e.g.
// rows that failed validation or a cast and go to a quarantine.
//
// A transformer declares its side outputs at Bind time (Transformer::side_outputs(): a
// name, where they go and their schema). Per partition attempt, its PartitionTransform
// hands the rows over as SideBatch values (PartitionTransform::TakeSideBatches()); the
// engine drains them after every Apply() and Finish() and writes them with a loader of
// their own, made by the pipeline's SideOutputLoaderFactory (the registry's: the Parquet
// loader) and committed and aborted together with the partition's loaders. So a side
// output has the same guarantees as the lake: staged files, atomic publish, manifest,
// replaced on retry and re-run (docs/transforms.md, docs/semantics.md).
//
// Transformers never see a loader, and the engine never names one: dependencies stay
// core -> transforms / sinks -> engine, and config/ wires the factory in.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/type_fwd.h>

#include <functional>
#include <memory>
#include <string>

#include "jetflow/core/loader.h"

namespace jetflow {

/// One side output of a transformer, known after Bind().
struct SideOutputSpec {
  /// Short name, unique within the transformer, e.g. "quarantine". The engine names the
  /// side output "<transformer name>.<name>" in manifests and the state store.
  std::string name;
  /// Root directory (or URI) of the side output's lake, already resolved against the
  /// pipeline's directory.
  std::string path;
  /// Schema of every SideBatch sent to it.
  std::shared_ptr<arrow::Schema> schema;
};

/// Rows sent to side output `output` (an index into Transformer::side_outputs()).
struct SideBatch {
  int output = 0;
  std::shared_ptr<arrow::RecordBatch> batch;
};

/// Makes the loader that writes one side output: `name` is "<transformer>.<output>" (in
/// manifests and the state store), `path` the root of its dataset, `run_key` the
/// pipeline's run instance key (a directory key of its dataset too, like
/// ComponentContext::run_key). The loader is then bound to the side output's schema
/// like any other.
using SideOutputLoaderFactory = std::function<arrow::Result<std::unique_ptr<Loader>>(
    const std::string& name, const std::string& path, const std::string& run_key)>;

}  // namespace jetflow
