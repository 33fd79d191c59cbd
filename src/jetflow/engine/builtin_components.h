#pragma once

#include "jetflow/core/registry.h"

namespace jetflow {

/// Registers every consumer, transformer and loader that ships with jetflow. This is the
/// one place that lists them.
void RegisterBuiltinComponents(ComponentRegistry& registry);

}  // namespace jetflow
