// `state: {type: sqlite, path: FILE}`: the SQLite state store as a pipeline configures
// it.
//
//   state:
//     type: sqlite              # the default
//     path: .jetflow/state.db   # the default; relative to the pipeline file's folder
//
// `--state FILE` on the command line replaces `path`. Registered by
// RegisterBuiltinComponents (builtins/).
#pragma once

#include "jetflow/core/registry.h"

namespace jetflow {

/// Registers `type: sqlite` with the registry's state store factories.
void RegisterSqliteStateStore(ComponentRegistry& registry);

}  // namespace jetflow
