#include "jetflow/transforms/derive_transformer.h"

#include <arrow/api.h>

#include "jetflow/transforms/expression_option.h"

namespace jetflow {

namespace {

class DerivePartition : public PartitionTransform {
 public:
  explicit DerivePartition(const std::vector<DeriveTransformer::Step>& steps)
      : steps_(steps) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Apply(
      const std::shared_ptr<arrow::RecordBatch>& input) override {
    std::shared_ptr<arrow::RecordBatch> batch = input;
    for (const auto& step : steps_) {
      ARROW_ASSIGN_OR_RAISE(auto values, step.expression->Evaluate(*batch));
      std::vector<std::shared_ptr<arrow::Array>> columns = batch->columns();
      if (step.replaces) {
        columns[step.index] = std::move(values);
      } else {
        columns.push_back(std::move(values));
      }
      batch =
          arrow::RecordBatch::Make(step.schema, batch->num_rows(), std::move(columns));
    }
    return batch;
  }

 private:
  const std::vector<DeriveTransformer::Step>& steps_;
};

}  // namespace

arrow::Result<DeriveTransformer::Options> DeriveTransformer::ParseOptions(
    const ConfigNode& node) {
  Options options;
  ConfigNode columns = node.Require("columns");
  if (columns.IsDefined() && !columns.IsMap()) {
    columns.Error("'" + columns.path() +
                  "' must map new column names to expressions, e.g. {total: \"a + b\"}");
  } else if (columns.IsDefined()) {
    for (const auto& [name, value] : columns.Entries()) {
      options.columns.emplace_back(name, ExpressionSourceOf(value));
    }
    if (options.columns.empty()) columns.Error("'" + columns.path() + "' is empty");
  }
  node.CheckNoUnknownKeys();
  ARROW_RETURN_NOT_OK(node.diagnostics()->ToStatus());
  return options;
}

arrow::Result<std::shared_ptr<arrow::Schema>> DeriveTransformer::Bind(
    const std::shared_ptr<arrow::Schema>& input) {
  steps_.clear();
  std::shared_ptr<arrow::Schema> schema = input;
  std::string problems;
  for (const auto& [name, source] : options_.columns) {
    auto compiled = CompileExpression(source, *schema, false);
    if (!compiled.ok()) {
      problems += (problems.empty() ? "" : "\n") + compiled.status().message();
      continue;
    }
    Step step;
    step.expression = *compiled;
    auto field = arrow::field(name, step.expression->type(), true);
    step.index = schema->GetFieldIndex(name);
    step.replaces = step.index >= 0;
    if (step.replaces) {
      ARROW_ASSIGN_OR_RAISE(schema, schema->SetField(step.index, field));
    } else {
      step.index = schema->num_fields();
      ARROW_ASSIGN_OR_RAISE(schema, schema->AddField(step.index, field));
    }
    step.schema = schema;
    steps_.push_back(std::move(step));
  }
  if (!problems.empty()) return arrow::Status::Invalid("derive: ", problems);
  output_ = schema;
  return output_;
}

arrow::Result<std::unique_ptr<PartitionTransform>> DeriveTransformer::Open(
    const PartitionContext&) {
  if (output_ == nullptr) return arrow::Status::Invalid("derive: Open() before Bind()");
  return std::make_unique<DerivePartition>(steps_);
}

void RegisterDeriveTransformer(ComponentRegistry& registry) {
  registry.RegisterTransformer(
      "derive",
      [](const ConfigNode& node,
         const ComponentContext&) -> arrow::Result<std::unique_ptr<Transformer>> {
        ARROW_ASSIGN_OR_RAISE(auto options, DeriveTransformer::ParseOptions(node));
        return std::make_unique<DeriveTransformer>(std::move(options));
      });
}

}  // namespace jetflow
