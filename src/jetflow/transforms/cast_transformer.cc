#include "jetflow/transforms/cast_transformer.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/cast.h>

#include "jetflow/core/type_name.h"

namespace jetflow {

namespace {

/// Appends to `bad` the offsets (from `base`) of the values of `values` that do not cast.
void FindFailures(const std::shared_ptr<arrow::Array>& values,
                  const arrow::compute::CastOptions& options, int64_t base,
                  std::vector<int64_t>* bad, std::vector<std::string>* errors) {
  auto cast = arrow::compute::Cast(*values, options.to_type, options);
  if (cast.ok()) return;
  if (values->length() == 1) {
    bad->push_back(base);
    errors->push_back(cast.status().message());
    return;
  }
  int64_t half = values->length() / 2;
  FindFailures(values->Slice(0, half), options, base, bad, errors);
  FindFailures(values->Slice(half), options, base + half, bad, errors);
}

std::string ShowValue(const arrow::Array& array, int64_t row) {
  auto scalar = array.GetScalar(row);
  if (!scalar.ok()) return "?";
  std::string text = (*scalar)->ToString();
  if (text.size() > 80) text = text.substr(0, 80) + "...";
  if (arrow::is_base_binary_like(array.type_id())) return "'" + text + "'";
  return text;
}

class CastPartition : public PartitionTransform {
 public:
  CastPartition(const CastTransformer::Options& options, std::vector<int> indices,
                std::shared_ptr<arrow::Schema> output,
                std::shared_ptr<arrow::Schema> quarantine_schema)
      : options_(options),
        indices_(std::move(indices)),
        output_(std::move(output)),
        quarantine_schema_(std::move(quarantine_schema)),
        failures_(options.columns.size(), 0) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Apply(
      const std::shared_ptr<arrow::RecordBatch>& input) override {
    const int64_t first_row = rows_seen_;
    rows_seen_ += input->num_rows();
    std::shared_ptr<arrow::RecordBatch> batch = input;
    std::vector<std::shared_ptr<arrow::Array>> cast(options_.columns.size());
    for (size_t i = 0; i < options_.columns.size(); ++i) {
      const auto& column = options_.columns[i];
      const int index = indices_[i];
      auto cast_options = arrow::compute::CastOptions::Safe(column.type);
      std::shared_ptr<arrow::Array> values = batch->column(index);
      auto result = arrow::compute::Cast(*values, column.type, cast_options);
      if (result.ok()) {
        cast[i] = *result;
        continue;
      }
      std::vector<int64_t> bad;
      std::vector<std::string> errors;
      FindFailures(values, cast_options, 0, &bad, &errors);
      if (bad.empty()) return result.status();  // fails as a whole only: report that
      const std::string rule = "cast:" + column.name;
      failures_[i] += static_cast<int64_t>(bad.size());
      if (column.on_error == RowPolicy::kFail) {
        return arrow::Status::Invalid(
            "cast: column '", column.name, "' value ", ShowValue(*values, bad[0]),
            " at row ", first_row + bad[0], " cannot be cast to ",
            column.type->ToString(), ": ", errors[0],
            bad.size() > 1
                ? " (and " + std::to_string(bad.size() - 1) + " more rows in this batch)"
                : "");
      }
      arrow::BooleanBuilder mask_builder;
      ARROW_RETURN_NOT_OK(mask_builder.AppendValues(batch->num_rows(), false));
      ARROW_ASSIGN_OR_RAISE(auto mask, mask_builder.Finish());
      auto* bits = mask->data()->GetMutableValues<uint8_t>(1, 0);
      for (int64_t row : bad) arrow::bit_util::SetBit(bits, row);
      if (column.on_error == RowPolicy::kNull) {
        ARROW_ASSIGN_OR_RAISE(
            arrow::Datum nulled,
            arrow::compute::IfElse(mask, arrow::MakeNullScalar(values->type()), values));
        ARROW_ASSIGN_OR_RAISE(cast[i], arrow::compute::Cast(*nulled.make_array(),
                                                            column.type, cast_options));
        continue;
      }
      // Quarantine: the failing rows leave with their original values; the columns
      // cast so far are cut to the rows that stay.
      std::vector<std::string> reasons;
      for (size_t k = 0; k < bad.size(); ++k) {
        reasons.push_back("value " + ShowValue(*values, bad[k]) + " of column '" +
                          column.name + "' cannot be cast to " + column.type->ToString() +
                          ": " + errors[k]);
      }
      ARROW_ASSIGN_OR_RAISE(
          auto rows, QuarantineRows(quarantine_schema_, batch, mask, rule, "", &reasons));
      side_.push_back({0, rows});
      quarantined_ += rows->num_rows();
      ARROW_ASSIGN_OR_RAISE(arrow::Datum keep, arrow::compute::Invert(mask));
      ARROW_ASSIGN_OR_RAISE(arrow::Datum kept, arrow::compute::Filter(batch, keep));
      batch = kept.record_batch();
      for (size_t j = 0; j < i; ++j) {
        ARROW_ASSIGN_OR_RAISE(arrow::Datum cut, arrow::compute::Filter(cast[j], keep));
        cast[j] = cut.make_array();
      }
      ARROW_ASSIGN_OR_RAISE(cast[i], arrow::compute::Cast(*batch->column(index),
                                                          column.type, cast_options));
    }
    std::vector<std::shared_ptr<arrow::Array>> columns = batch->columns();
    for (size_t i = 0; i < cast.size(); ++i) columns[indices_[i]] = cast[i];
    return arrow::RecordBatch::Make(output_, batch->num_rows(), std::move(columns));
  }

  TransformCounters counters() const override {
    TransformCounters counters;
    counters.rows_quarantined = quarantined_;
    for (size_t i = 0; i < options_.columns.size(); ++i) {
      if (options_.columns[i].on_error == RowPolicy::kFail) continue;
      counters.rules.push_back({"cast:" + options_.columns[i].name,
                                ToString(options_.columns[i].on_error), failures_[i]});
    }
    return counters;
  }

  std::vector<SideBatch> TakeSideBatches() override { return std::move(side_); }

 private:
  const CastTransformer::Options& options_;
  std::vector<int> indices_;
  std::shared_ptr<arrow::Schema> output_;
  std::shared_ptr<arrow::Schema> quarantine_schema_;
  std::vector<int64_t> failures_;
  int64_t quarantined_ = 0;
  int64_t rows_seen_ = 0;
  std::vector<SideBatch> side_;
};

}  // namespace

arrow::Result<CastTransformer::Options> CastTransformer::ParseOptions(
    const ConfigNode& node, const ComponentContext& context) {
  Options options;
  ConfigNode columns = node.Require("columns");
  bool quarantine = false;
  if (columns.IsDefined() && !columns.IsMap()) {
    columns.Error("'" + columns.path() +
                  "' must map column names to types, e.g. {amount: \"decimal(18,2)\"}");
  } else if (columns.IsDefined()) {
    for (const auto& [name, spec] : columns.Entries()) {
      Column column;
      column.name = name;
      const ConfigNode type_node = spec.IsMap() ? spec.Require("type") : spec;
      if (spec.IsMap()) {
        // `on_error: null` is YAML's null: it means the null policy.
        const bool null_policy =
            spec.Get("on_error").IsDefined() && spec.Get("on_error").IsNull();
        const std::string policy =
            null_policy
                ? "null"
                : spec.GetEnum("on_error", "error", {"error", "null", "quarantine"});
        column.on_error = policy == "null"         ? RowPolicy::kNull
                          : policy == "quarantine" ? RowPolicy::kQuarantine
                                                   : RowPolicy::kFail;
        spec.CheckNoUnknownKeys();
      }
      if (!type_node.IsDefined()) continue;
      std::string type_name = type_node.AsString();
      auto type = ParseTypeName(type_name);
      if (!type.ok()) {
        type_node.Error(type.status().message());
        continue;
      }
      column.type = *type;
      quarantine |= column.on_error == RowPolicy::kQuarantine;
      options.columns.push_back(std::move(column));
    }
    if (columns.Entries().empty()) columns.Error("'" + columns.path() + "' is empty");
  }
  options.quarantine_path = ParseQuarantinePath(node, context, quarantine);
  node.CheckNoUnknownKeys();
  ARROW_RETURN_NOT_OK(node.diagnostics()->ToStatus());
  return options;
}

arrow::Result<std::shared_ptr<arrow::Schema>> CastTransformer::Bind(
    const std::shared_ptr<arrow::Schema>& input) {
  std::vector<std::string> problems;
  std::vector<std::shared_ptr<arrow::Field>> fields = input->fields();
  indices_.clear();
  for (const auto& column : options_.columns) {
    int index = input->GetFieldIndex(column.name);
    if (index < 0) {
      auto hint = ClosestMatch(column.name, input->field_names());
      problems.push_back("no column '" + column.name + "'" +
                         (hint ? " (did you mean '" + *hint + "'?)" : ""));
      continue;
    }
    const auto& from = input->field(index)->type();
    if (!arrow::compute::CanCast(*from, *column.type)) {
      problems.push_back("column '" + column.name + "' of type " + from->ToString() +
                         " cannot be cast to " + column.type->ToString());
      continue;
    }
    indices_.push_back(index);
    // A cast to null keeps the row with a null value: the column becomes nullable.
    fields[index] = input->field(index)->WithType(column.type);
    if (column.on_error == RowPolicy::kNull)
      fields[index] = fields[index]->WithNullable(true);
  }
  if (!problems.empty()) {
    std::string message = "cast: ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    return arrow::Status::Invalid(message);
  }
  input_ = input;
  output_ = arrow::schema(std::move(fields), input->metadata());
  return output_;
}

arrow::Result<std::unique_ptr<PartitionTransform>> CastTransformer::Open(
    const PartitionContext&) {
  if (output_ == nullptr) return arrow::Status::Invalid("cast: Open() before Bind()");
  std::shared_ptr<arrow::Schema> quarantine;
  if (options_.quarantine_path)
    quarantine = QuarantineSpec(*options_.quarantine_path, input_.get()).schema;
  return std::make_unique<CastPartition>(options_, indices_, output_, quarantine);
}

std::vector<SideOutputSpec> CastTransformer::side_outputs() const {
  if (!options_.quarantine_path) return {};
  return {QuarantineSpec(*options_.quarantine_path, input_.get())};
}

void RegisterCastTransformer(ComponentRegistry& registry) {
  registry.RegisterTransformer(
      "cast",
      [](const ConfigNode& node,
         const ComponentContext& context) -> arrow::Result<std::unique_ptr<Transformer>> {
        ARROW_ASSIGN_OR_RAISE(auto options, CastTransformer::ParseOptions(node, context));
        return std::make_unique<CastTransformer>(std::move(options));
      });
}

}  // namespace jetflow
