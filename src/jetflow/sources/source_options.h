// Option parsing shared by the built-in consumers: column type names, `batch_rows`, and
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

/// Parses a column type name, case-insensitively:
///   bool | boolean, int8, int16, int32 | int, int64 | bigint | long, uint8..uint64,
///   float32 | float, float64 | double, string | utf8 | text, large_string, binary,
///   date | date32, timestamp (= timestamp[us, UTC]), timestamp[unit] (no time zone),
///   timestamp[unit, UTC] | timestamp[unit, tz=UTC] (unit: s, ms, us, ns),
///   decimal(p, s) | decimal128(p, s) | decimal(p) (1 <= p <= 38, 0 <= s <= p).
/// Invalid with a message naming the accepted forms otherwise.
arrow::Result<std::shared_ptr<arrow::DataType>> ParseTypeName(std::string_view name);

/// Reads a `columns:` map of column name -> type name (type overrides), in file order.
/// Records an error at the offending node for every bad entry.
std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> ParseColumnTypes(
    const ConfigNode& columns);

/// `batch_rows` of `node` (>= 1), defaulting to context.batch_rows.
int64_t ParseBatchRows(const ConfigNode& node, const ComponentContext& context);

}  // namespace jetflow::sources
