// Pipeline YAML -> a runnable Pipeline.
//
//   pipeline: orders                 # name: letters, digits, '_', '-', '.'
//   run_instance: {key: dt, value: "2026-11-25"}
//   consumer: {type: sqlite, ...}
//   transformers: [{type: ..., name: ...}, ...]
//   loaders: [{type: parquet, name: lake, ...}, ...]
//   state: {type: sqlite, path: .jetflow/state.db, lease: 30s}
//   engine: {partitions_in_flight: 0, compute_threads: 0, memory_budget: 1GiB, ...}
//
// Every mistake in the file is reported at once, each as file:line:col
// (docs/configuration.md).
#pragma once

#include <arrow/result.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jetflow/core/partition.h"
#include "jetflow/core/registry.h"
#include "jetflow/engine/pipeline.h"

namespace jetflow {

struct RunInstanceOptions {
  std::string key = "run";
  std::optional<std::string> value;  // from the file; the CLI's --instance wins
};

struct StateOptions {
  std::string type = "sqlite";
  /// How long a process's claims on a run last without renewal (state_store.h).
  std::chrono::milliseconds lease{30'000};
  /// The store, checked but not opened; made by the registry's factory for `type`.
  std::unique_ptr<StateStoreConfig> store;
};

/// What the program, not the file, decides about loading.
struct LoadOptions {
  /// `--state`: replaces the configured state store location.
  std::optional<std::string> state_location;
  /// False: read the pipeline's name, run instance, engine and state settings only, and
  /// build no stage (for commands that only read the state store, such as `status`: a
  /// source's password variable or input files need not be there). The stages' keys are
  /// then not checked.
  bool build_stages = true;
};

struct LoadedPipeline {
  std::string file;
  Pipeline pipeline;
  RunInstanceOptions run_instance;
  StateOptions state;
  /// Formatted "file:line:col: warning: ..." lines.
  std::vector<std::string> warnings;
};

/// Reads, validates and builds the pipeline in `path`. Invalid lists every error.
arrow::Result<LoadedPipeline> LoadPipelineFile(const std::string& path,
                                               const ComponentRegistry& registry,
                                               const LoadOptions& options = {});
/// Same, from text; relative paths in options resolve against `base_dir`.
arrow::Result<LoadedPipeline> LoadPipelineText(const std::string& text,
                                               const std::string& file,
                                               const std::string& base_dir,
                                               const ComponentRegistry& registry,
                                               const LoadOptions& options = {});

/// The run instance to process: `cli_value` if given, else the file's run_instance.value.
arrow::Result<RunInstance> ResolveRunInstance(
    const LoadedPipeline& loaded, const std::optional<std::string>& cli_value);

}  // namespace jetflow
