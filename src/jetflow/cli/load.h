// Shared first steps of every subcommand: load the pipeline file, pick the run instance,
// open the state store, print config diagnostics.
#pragma once

#include <arrow/result.h>

#include <memory>
#include <string>

#include "jetflow/cli/commands.h"
#include "jetflow/config/pipeline_config.h"
#include "jetflow/state/state_store.h"

namespace jetflow::cli {

/// Loads and validates the pipeline with the built-in components; prints warnings and
/// errors to stderr. Returns nullptr after printing when the file is invalid. Applies
/// the pipeline's process-wide settings (Arrow's CPU pool size), once per process.
/// `build_stages` false: LoadOptions::build_stages, for commands that only read the
/// store.
std::unique_ptr<LoadedPipeline> LoadOrReport(const CommonOptions& options,
                                             bool build_stages = true);

/// Opens the state store of the pipeline's `state:` (or --state, which LoadOrReport
/// passed on); prints errors. With `create` false, a store that does not exist yet is
/// left so, and *missing is set instead (nullptr returned, no error).
std::unique_ptr<StateStore> OpenStateOrReport(const LoadedPipeline& loaded,
                                              bool create = true,
                                              bool* missing = nullptr);

/// The exit code of a failed plan: kExitTransient when the failure may pass by itself
/// (a source that is down or unreachable: a retryable Status), kExitConfigError
/// otherwise.
int PlanFailureExitCode(const arrow::Status& status);

/// "12.3 MiB"
std::string FormatBytes(int64_t bytes);
/// "1,234,567"
std::string FormatCount(int64_t count);

}  // namespace jetflow::cli
