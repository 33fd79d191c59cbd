#include "jetflow/testing/batch_from_json.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/json/from_string.h>

#include <algorithm>

#include "jetflow/testing/batch_compare.h"

namespace jetflow::testing {

namespace {

bool IsNested(const arrow::DataType& type) {
  return type.id() != arrow::Type::DICTIONARY && type.num_fields() > 0;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// True if an ISO-8601 text carries a zone: "Z" or a "+hh..."/"-hh..." after the time.
bool HasZoneOffset(const std::string& text) {
  if (text.size() <= 10) return false;
  if (text.back() == 'Z' || text.back() == 'z') return true;
  return text.find_first_of("+-", 11) != std::string::npos;
}

// The text Arrow's cast parses for one JSON scalar of a column of `type`.
std::string ScalarText(const nlohmann::json& value, const arrow::DataType& type) {
  std::string text;
  if (value.is_string()) {
    text = value.get<std::string>();
  } else if (value.is_boolean()) {
    text = value.get<bool>() ? "true" : "false";
  } else {
    text = value.dump();
  }
  if (type.id() == arrow::Type::TIMESTAMP && value.is_string() &&
      !static_cast<const arrow::TimestampType&>(type).timezone().empty() &&
      !HasZoneOffset(text)) {
    // A zoned column takes an offset-less value as UTC.
    text += text.size() == 10 ? "T00:00:00Z" : "Z";
  }
  return text;
}

arrow::Result<std::shared_ptr<arrow::Array>> CastText(
    const std::shared_ptr<arrow::Array>& text,
    const std::shared_ptr<arrow::DataType>& type) {
  ARROW_ASSIGN_OR_RAISE(
      auto datum, arrow::compute::Cast(text, type, arrow::compute::CastOptions::Safe()));
  return datum.make_array();
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Array>> ArrayFromJsonValues(
    const std::shared_ptr<arrow::DataType>& type,
    const std::vector<nlohmann::json>& values) {
  if (IsNested(*type)) {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& v : values) array.push_back(v);
    auto result = arrow::json::ArrayFromJSONString(type, array.dump());
    if (result.ok()) return result;
    for (size_t i = 0; i < values.size(); ++i) {
      if (!arrow::json::ArrayFromJSONString(type, "[" + values[i].dump() + "]").ok()) {
        return arrow::Status::Invalid("row ", i, ": value ", values[i].dump(),
                                      " is not a valid ", type->ToString());
      }
    }
    return result;
  }
  arrow::StringBuilder builder;
  ARROW_RETURN_NOT_OK(builder.Reserve(static_cast<int64_t>(values.size())));
  for (const auto& v : values) {
    if (v.is_null()) {
      ARROW_RETURN_NOT_OK(builder.AppendNull());
    } else if (v.is_object() || v.is_array()) {
      return arrow::Status::Invalid("value ", v.dump(), " is not a valid ",
                                    type->ToString(), " (a list or object for a scalar)");
    } else {
      ARROW_RETURN_NOT_OK(builder.Append(ScalarText(v, *type)));
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto text, builder.Finish());
  if (type->id() == arrow::Type::STRING) return text;
  auto cast = CastText(text, type);
  if (cast.ok()) return cast;
  {
    // Arrow's own JSON conventions also hold: integers for dates, timestamps and times
    // in the type's unit, base64-free binary, etc.
    nlohmann::json array = nlohmann::json::array();
    for (const auto& v : values) array.push_back(v);
    auto strict = arrow::json::ArrayFromJSONString(type, array.dump());
    if (strict.ok()) return strict;
  }
  // Find the first value that does not fit, to name it.
  for (int64_t i = 0; i < text->length(); ++i) {
    if (!CastText(text->Slice(i, 1), type).ok()) {
      return arrow::Status::Invalid("row ", i, ": value ", values[i].dump(),
                                    " is not a valid ", type->ToString());
    }
  }
  return cast.status();
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> BatchFromJsonRows(
    const std::shared_ptr<arrow::Schema>& schema,
    const std::vector<nlohmann::json>& rows) {
  for (size_t r = 0; r < rows.size(); ++r) {
    if (!rows[r].is_object()) {
      return arrow::Status::Invalid("row ", r, " is not an object of column: value");
    }
    for (const auto& item : rows[r].items()) {
      if (schema->GetFieldIndex(item.key()) < 0) {
        return arrow::Status::Invalid(
            "row ", r, ": no column '", item.key(),
            "' in the schema (columns: ", JoinNames(schema->field_names()), ")");
      }
    }
  }
  std::vector<std::shared_ptr<arrow::Array>> columns;
  for (const auto& field : schema->fields()) {
    std::vector<nlohmann::json> values;
    values.reserve(rows.size());
    for (const auto& row : rows) {
      auto it = row.find(field->name());
      values.push_back(it == row.end() ? nlohmann::json() : *it);
    }
    auto array = ArrayFromJsonValues(field->type(), values);
    if (!array.ok()) {
      return arrow::Status::Invalid("column '", field->name(),
                                    "': ", array.status().message());
    }
    columns.push_back(std::move(*array));
  }
  return arrow::RecordBatch::Make(schema, static_cast<int64_t>(rows.size()),
                                  std::move(columns));
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> BatchFromJson(
    const std::shared_ptr<arrow::Schema>& schema, const std::string& json_rows) {
  nlohmann::json parsed =
      nlohmann::json::parse(json_rows, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_array()) {
    return arrow::Status::Invalid("expected a JSON array of row objects, got: ",
                                  json_rows.substr(0, 200));
  }
  std::vector<nlohmann::json> rows(parsed.begin(), parsed.end());
  return BatchFromJsonRows(schema, rows);
}

arrow::Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> BatchesFromJson(
    const std::shared_ptr<arrow::Schema>& schema, const std::string& json_rows,
    int64_t batch_rows) {
  if (batch_rows <= 0) return arrow::Status::Invalid("batch_rows must be positive");
  ARROW_ASSIGN_OR_RAISE(auto batch, BatchFromJson(schema, json_rows));
  return SliceBatch(batch, batch_rows);
}

std::vector<std::shared_ptr<arrow::RecordBatch>> SliceBatch(
    const std::shared_ptr<arrow::RecordBatch>& batch, int64_t batch_rows) {
  std::vector<std::shared_ptr<arrow::RecordBatch>> out;
  for (int64_t offset = 0; offset < batch->num_rows(); offset += batch_rows) {
    out.push_back(batch->Slice(offset, std::min(batch_rows, batch->num_rows() - offset)));
  }
  if (out.empty()) out.push_back(batch);
  return out;
}

std::string DiffBatches(const arrow::RecordBatch& expected,
                        const arrow::RecordBatch& actual) {
  if (!expected.schema()->Equals(*actual.schema(), /*check_metadata=*/false)) {
    return "schema differs:\n  expected: " + expected.schema()->ToString() +
           "\n  actual:   " + actual.schema()->ToString() + "\n";
  }
  CompareOptions options;
  options.float_tolerance = 0;
  auto diff = CompareBatches(expected, actual, options);
  if (!diff.ok()) return diff.status().ToString();
  return diff->empty() ? "" : diff->ToString();
}

}  // namespace jetflow::testing
