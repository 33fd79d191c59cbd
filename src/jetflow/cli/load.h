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

/// Loads and validates the pipeline; prints warnings and errors to stderr.
/// Returns nullptr after printing when the file is invalid.
std::unique_ptr<LoadedPipeline> LoadOrReport(const CommonOptions& options);

/// Opens the state store named by --state or the pipeline's `state:`; prints errors.
std::unique_ptr<StateStore> OpenStateOrReport(const CommonOptions& options,
                                              const LoadedPipeline& loaded);

/// "12.3 MiB"
std::string FormatBytes(int64_t bytes);
/// "1,234,567"
std::string FormatCount(int64_t count);

}  // namespace jetflow::cli
