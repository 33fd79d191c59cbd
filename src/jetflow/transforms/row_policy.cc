#include "jetflow/transforms/row_policy.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

namespace jetflow {

namespace {

/// `mask` with nulls replaced by false.
arrow::Result<std::shared_ptr<arrow::Array>> NullsAsFalse(
    const std::shared_ptr<arrow::Array>& mask) {
  if (mask->null_count() == 0) return mask;
  ARROW_ASSIGN_OR_RAISE(
      arrow::Datum filled,
      arrow::compute::CallFunction(
          "coalesce",
          {mask, arrow::Datum(std::make_shared<arrow::BooleanScalar>(false))}));
  return filled.make_array();
}

std::string Shorten(std::string text, size_t limit = 60) {
  if (text.size() > limit) text = text.substr(0, limit) + "...";
  return text;
}

}  // namespace

const char* ToString(RowPolicy policy) {
  switch (policy) {
    case RowPolicy::kFail:
      return "fail";
    case RowPolicy::kDrop:
      return "drop";
    case RowPolicy::kQuarantine:
      return "quarantine";
    case RowPolicy::kNull:
      return "null";
  }
  return "?";
}

std::optional<std::string> ParseQuarantinePath(const ConfigNode& transformer_node,
                                               const ComponentContext& context,
                                               bool needed) {
  ConfigNode quarantine = transformer_node.Get("quarantine");
  if (!quarantine.IsDefined()) {
    if (needed) {
      transformer_node.Error(
          "a rule sends rows to the quarantine, but there is no 'quarantine: {path: "
          "...}' to write them to");
    }
    return std::nullopt;
  }
  if (!quarantine.IsMap()) {
    quarantine.Error("'" + quarantine.path() +
                     "' must be a map, e.g. {path: ./quarantine}");
    return std::nullopt;
  }
  std::string path = quarantine.RequireString("path");
  quarantine.CheckNoUnknownKeys();
  if (!needed) {
    quarantine.Warning(
        "'" + quarantine.path() +
        "' is unused: no rule of this transformer has the quarantine policy");
    return std::nullopt;
  }
  if (path.empty()) return std::nullopt;
  return context.ResolvePath(path);
}

SideOutputSpec QuarantineSpec(const std::string& path, const arrow::Schema* input) {
  if (input == nullptr) return SideOutputSpec{"quarantine", path, nullptr};
  std::vector<std::shared_ptr<arrow::Field>> fields = input->fields();
  fields.push_back(arrow::field(kQuarantineRuleColumn, arrow::utf8(), false));
  fields.push_back(arrow::field(kQuarantineReasonColumn, arrow::utf8(), false));
  return SideOutputSpec{"quarantine", path, arrow::schema(std::move(fields))};
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> QuarantineRows(
    const std::shared_ptr<arrow::Schema>& schema,
    const std::shared_ptr<arrow::RecordBatch>& batch,
    const std::shared_ptr<arrow::Array>& selected, const std::string& rule,
    const std::string& reason, const std::vector<std::string>* reasons) {
  ARROW_ASSIGN_OR_RAISE(arrow::Datum kept, arrow::compute::Filter(batch, selected));
  const std::shared_ptr<arrow::RecordBatch>& rows = kept.record_batch();
  std::vector<std::shared_ptr<arrow::Array>> columns = rows->columns();
  ARROW_ASSIGN_OR_RAISE(
      auto rule_column,
      arrow::MakeArrayFromScalar(arrow::StringScalar(rule), rows->num_rows()));
  columns.push_back(rule_column);
  if (reasons != nullptr) {
    if (static_cast<int64_t>(reasons->size()) != rows->num_rows()) {
      return arrow::Status::Invalid("quarantine: ", reasons->size(), " reasons for ",
                                    rows->num_rows(), " rows");
    }
    arrow::StringBuilder builder;
    ARROW_RETURN_NOT_OK(builder.AppendValues(*reasons));
    ARROW_ASSIGN_OR_RAISE(auto reason_column, builder.Finish());
    columns.push_back(reason_column);
  } else {
    ARROW_ASSIGN_OR_RAISE(
        auto reason_column,
        arrow::MakeArrayFromScalar(arrow::StringScalar(reason), rows->num_rows()));
    columns.push_back(reason_column);
  }
  return arrow::RecordBatch::Make(schema, rows->num_rows(), std::move(columns));
}

std::string DescribeRows(const arrow::RecordBatch& batch, const arrow::Array& selected,
                         int64_t first_row, int limit, const arrow::Array* row_numbers) {
  const auto& mask = static_cast<const arrow::BooleanArray&>(selected);
  std::string text;
  int shown = 0;
  int64_t total = 0;
  for (int64_t row = 0; row < mask.length(); ++row) {
    if (!mask.IsValid(row) || !mask.Value(row)) continue;
    ++total;
    if (shown >= limit) continue;
    ++shown;
    text += (text.empty() ? "" : "; ") + std::string("row ") +
            std::to_string(
                row_numbers != nullptr
                    ? static_cast<const arrow::Int64Array&>(*row_numbers).Value(row)
                    : first_row + row) +
            " {";
    for (int c = 0; c < batch.num_columns(); ++c) {
      auto scalar = batch.column(c)->GetScalar(row);
      std::string value = scalar.ok() ? (*scalar)->ToString() : "?";
      if (scalar.ok() && (*scalar)->is_valid &&
          (batch.column(c)->type_id() == arrow::Type::STRING ||
           batch.column(c)->type_id() == arrow::Type::LARGE_STRING)) {
        value = "'" + value + "'";
      }
      text += (c ? ", " : "") + batch.schema()->field(c)->name() + ": " + Shorten(value);
    }
    text += "}";
  }
  if (total > shown) text += "; and " + std::to_string(total - shown) + " more";
  return text;
}

int64_t CountTrue(const arrow::Array& mask) {
  return static_cast<const arrow::BooleanArray&>(mask).true_count();
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> RemoveRows(
    const std::shared_ptr<arrow::RecordBatch>& batch,
    const std::shared_ptr<arrow::Array>& remove) {
  ARROW_ASSIGN_OR_RAISE(auto filled, NullsAsFalse(remove));
  if (CountTrue(*filled) == 0) return batch;
  ARROW_ASSIGN_OR_RAISE(arrow::Datum keep, arrow::compute::Invert(filled));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum kept, arrow::compute::Filter(batch, keep));
  return kept.record_batch();
}

}  // namespace jetflow
