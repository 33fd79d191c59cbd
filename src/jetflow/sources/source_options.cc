#include "jetflow/sources/source_options.h"

#include <arrow/type.h>

#include <algorithm>
#include <cctype>
#include <charconv>

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

namespace {

std::string Normalize(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == ' ' || c == '\t') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

bool ParseSmallInt(std::string_view text, int* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

arrow::Status BadTypeName(std::string_view name) {
  return arrow::Status::Invalid(
      "unknown column type '", name,
      "'; expected one of bool, int8, int16, int32, int64, uint8, uint16, uint32, "
      "uint64, "
      "float32, float64, string, large_string, binary, date, timestamp, timestamp[us], "
      "timestamp[us, UTC], decimal(p, s)");
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::DataType>> ParseTypeName(std::string_view name) {
  const std::string n = Normalize(name);
  static const std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>>
      kSimple = {
          {"bool", arrow::boolean()},
          {"boolean", arrow::boolean()},
          {"int8", arrow::int8()},
          {"int16", arrow::int16()},
          {"int32", arrow::int32()},
          {"int", arrow::int32()},
          {"int64", arrow::int64()},
          {"bigint", arrow::int64()},
          {"long", arrow::int64()},
          {"uint8", arrow::uint8()},
          {"uint16", arrow::uint16()},
          {"uint32", arrow::uint32()},
          {"uint64", arrow::uint64()},
          {"float32", arrow::float32()},
          {"float", arrow::float32()},
          {"float64", arrow::float64()},
          {"double", arrow::float64()},
          {"string", arrow::utf8()},
          {"utf8", arrow::utf8()},
          {"text", arrow::utf8()},
          {"large_string", arrow::large_utf8()},
          {"binary", arrow::binary()},
          {"date", arrow::date32()},
          {"date32", arrow::date32()},
          {"timestamp", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")},
      };
  for (const auto& [key, type] : kSimple) {
    if (n == key) return type;
  }
  if (n.rfind("timestamp[", 0) == 0 && n.back() == ']') {
    std::string_view inner(n);
    inner = inner.substr(10, inner.size() - 11);
    std::string_view unit_text = inner.substr(0, inner.find(','));
    std::string timezone;
    if (size_t comma = inner.find(','); comma != std::string_view::npos) {
      std::string_view tz = inner.substr(comma + 1);
      if (tz.rfind("tz=", 0) == 0) tz.remove_prefix(3);
      if (tz != "utc") return BadTypeName(name);  // only UTC: local times are ambiguous
      timezone = "UTC";
    }
    arrow::TimeUnit::type unit;
    if (unit_text == "s") {
      unit = arrow::TimeUnit::SECOND;
    } else if (unit_text == "ms") {
      unit = arrow::TimeUnit::MILLI;
    } else if (unit_text == "us") {
      unit = arrow::TimeUnit::MICRO;
    } else if (unit_text == "ns") {
      unit = arrow::TimeUnit::NANO;
    } else {
      return BadTypeName(name);
    }
    return arrow::timestamp(unit, timezone);
  }
  for (std::string_view prefix : {"decimal128(", "decimal(", "numeric("}) {
    if (n.rfind(prefix, 0) != 0 || n.back() != ')') continue;
    std::string_view inner(n);
    inner = inner.substr(prefix.size(), inner.size() - prefix.size() - 1);
    int precision = 0, scale = 0;
    size_t comma = inner.find(',');
    if (!ParseSmallInt(inner.substr(0, comma), &precision) ||
        (comma != std::string_view::npos &&
         !ParseSmallInt(inner.substr(comma + 1), &scale))) {
      return BadTypeName(name);
    }
    if (precision < 1 || precision > 38 || scale < 0 || scale > precision) {
      return arrow::Status::Invalid(
          "decimal precision must be in [1, 38] and scale in [0, "
          "precision], got '",
          name, "'");
    }
    return arrow::decimal128(precision, scale);
  }
  return BadTypeName(name);
}

std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> ParseColumnTypes(
    const ConfigNode& columns) {
  std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> out;
  for (const auto& [name, node] : columns.Entries()) {
    std::string type_name = node.AsString();
    if (type_name.empty()) continue;  // AsString recorded the error
    auto type = ParseTypeName(type_name);
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
