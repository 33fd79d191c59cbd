// The components that ship with jetflow, registered in one place.
//
// Programs (the CLI) call RegisterBuiltinComponents before they load a pipeline, as
// ClickHouse's programs call registerFormats(): the engine itself links no concrete
// source, sink or state store (docs/architecture.md). A program that wants fewer
// components, or its own, calls the Register* functions it needs instead.
#pragma once

#include "jetflow/core/registry.h"

namespace jetflow {

/// Registers every consumer, transformer, loader and state store that ships with
/// jetflow, and the Parquet loader as the writer of side outputs. This is the one place
/// that lists them.
void RegisterBuiltinComponents(ComponentRegistry& registry);

}  // namespace jetflow
