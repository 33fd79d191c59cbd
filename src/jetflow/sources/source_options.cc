#include "jetflow/sources/source_options.h"

#include <arrow/type.h>

#include <algorithm>

#include "jetflow/core/type_name.h"

namespace jetflow::sources {

size_t ErrorCount(const Diagnostics& diagnostics) {
  return static_cast<size_t>(std::count_if(
      diagnostics.entries().begin(), diagnostics.entries().end(),
      [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::kError; }));
}

arrow::Status FinishOptions(const ConfigNode& node, size_t errors_before) {
  node.CheckNoUnknownKeys();
  const Diagnostics& diagnostics = *node.diagnostics();
  std::string text;
  size_t seen = 0;
  for (const auto& d : diagnostics.entries()) {
    if (d.severity != Diagnostic::Severity::kError) continue;
    if (seen++ < errors_before) continue;
    if (!text.empty()) text += "\n";
    text += d.ToString();
  }
  if (text.empty()) return arrow::Status::OK();
  return arrow::Status::Invalid(text);
}

arrow::Result<std::shared_ptr<arrow::DataType>> ParseColumnType(std::string_view name) {
  ARROW_ASSIGN_OR_RAISE(auto type, ParseTypeName(name));
  switch (type->id()) {
    case arrow::Type::TIMESTAMP: {
      // Sources read instants as UTC; another zone would only relabel them.
      const auto& timestamp = static_cast<const arrow::TimestampType&>(*type);
      if (!timestamp.timezone().empty() && timestamp.timezone() != "UTC") {
        return arrow::Status::Invalid(
            "column type '", name, "': a source's timestamps are UTC instants or have ",
            "no time zone; write timestamp[", timestamp.unit(),
            ", UTC] and convert in a transformer");
      }
      return type;
    }
    case arrow::Type::DECIMAL32:
    case arrow::Type::DECIMAL64:
    case arrow::Type::DECIMAL256:
      return arrow::Status::Invalid("column type '", name,
                                    "': source columns hold decimal(p, s) with ",
                                    "1 <= p <= 38 (decimal128)");
    default:
      return type;
  }
}

std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> ParseColumnTypes(
    const ConfigNode& columns) {
  std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> out;
  for (const auto& [name, node] : columns.Entries()) {
    std::string type_name = node.AsString();
    if (type_name.empty()) continue;  // AsString recorded the error
    auto type = ParseColumnType(type_name);
    if (!type.ok()) {
      node.Error("'" + node.path() + "': " + type.status().message());
      continue;
    }
    out.emplace_back(name, *type);
  }
  return out;
}

int64_t ParseBatchRows(const ConfigNode& node, const ComponentContext& context) {
  return node.GetInt("batch_rows", std::max<int64_t>(1, context.batch_rows), 1);
}

}  // namespace jetflow::sources
