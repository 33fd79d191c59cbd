// Registration of the built-in consumers (sources) with a ComponentRegistry.
//
// Each function registers one `type:` name; the engine calls all of them from
// RegisterBuiltinComponents(). Options of each consumer are documented in
// docs/sources.md.
#pragma once

#include "jetflow/core/registry.h"

namespace jetflow {

/// `type: generate` — deterministic synthetic data (see GenerateConsumer).
void RegisterGenerateConsumer(ComponentRegistry& registry);
/// `type: file` — CSV, JSON Lines and Parquet files (see FileConsumer).
void RegisterFileConsumer(ComponentRegistry& registry);
/// `type: sqlite` — a table or query of a SQLite database file (see SqliteConsumer).
void RegisterSqliteConsumer(ComponentRegistry& registry);

}  // namespace jetflow
