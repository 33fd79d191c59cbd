// Option parsing shared by the built-in consumers: column types, `batch_rows`, and
// the end-of-parse check that turns recorded diagnostics into a Status.
//
// Internal to src/jetflow/sources/; not part of the public API.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>
#include <arrow/type_fwd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jetflow/core/config_node.h"
#include "jetflow/core/registry.h"

namespace jetflow::sources {

/// Errors (not warnings) recorded in `diagnostics` so far.
size_t ErrorCount(const Diagnostics& diagnostics);

/// Calls node.CheckNoUnknownKeys(), then returns Invalid listing the errors recorded in
/// the node's Diagnostics since `errors_before` (errors of other components don't count).
arrow::Status FinishOptions(const ConfigNode& node, size_t errors_before);

/// Parses the type of a source column (a `columns:` override or a generated column):
/// any type name (core/type_name.h, docs/types.md), where timestamps are UTC instants or
/// have no time zone and decimals fit decimal128 (precision <= 38), as sources produce
/// them. Invalid naming the accepted forms otherwise.
arrow::Result<std::shared_ptr<arrow::DataType>> ParseColumnType(std::string_view name);

/// Reads a `columns:` map of column name -> type name (type overrides), in file order.
/// Records an error at the offending node for every bad entry.
std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> ParseColumnTypes(
    const ConfigNode& columns);

/// `batch_rows` of `node` (>= 1), defaulting to context.batch_rows.
int64_t ParseBatchRows(const ConfigNode& node, const ComponentContext& context);

}  // namespace jetflow::sources
