#include "jetflow/transforms/constant_transformer.h"

#include <arrow/api.h>

#include <set>

#include "jetflow/core/type_name.h"

namespace jetflow {

namespace {

class ConstantPartition : public PartitionTransform {
 public:
  ConstantPartition(std::shared_ptr<arrow::Schema> output,
                    const std::vector<ConstantTransformer::Column>& columns)
      : output_(std::move(output)), columns_(columns) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Apply(
      const std::shared_ptr<arrow::RecordBatch>& batch) override {
    const int64_t rows = batch->num_rows();
    if (rows > cached_rows_ || cached_.empty()) {
      cached_.clear();
      for (const auto& column : columns_) {
        ARROW_ASSIGN_OR_RAISE(auto array,
                              arrow::MakeArrayFromScalar(*column.value, rows));
        cached_.push_back(std::move(array));
      }
      cached_rows_ = rows;
    }
    std::vector<std::shared_ptr<arrow::Array>> arrays = batch->columns();
    for (const auto& array : cached_) arrays.push_back(array->Slice(0, rows));
    return arrow::RecordBatch::Make(output_, rows, std::move(arrays));
  }

 private:
  std::shared_ptr<arrow::Schema> output_;
  const std::vector<ConstantTransformer::Column>& columns_;
  std::vector<std::shared_ptr<arrow::Array>> cached_;
  int64_t cached_rows_ = 0;
};

}  // namespace

arrow::Result<ConstantTransformer::Options> ConstantTransformer::ParseOptions(
    const ConfigNode& node) {
  Options options;
  ConfigNode columns = node.Require("columns");
  if (columns.IsDefined() && !columns.IsSequence()) {
    columns.Error("'" + columns.path() +
                  "' must be a list of {name, value, type}, e.g. [{name: source_system, "
                  "value: crm}]");
  } else if (columns.IsDefined()) {
    std::set<std::string> names;
    for (const ConfigNode& entry : columns.Elements()) {
      if (!entry.IsMap()) {
        entry.Error("'" + entry.path() + "' must be a map {name, value, type}");
        continue;
      }
      Column column;
      column.name = entry.RequireString("name");
      ConfigNode value = entry.Get("value");
      if (!value.IsDefined()) entry.Require("value");
      std::string type_name = entry.GetString("type", "string");
      entry.CheckNoUnknownKeys();
      if (!column.name.empty() && !names.insert(column.name).second) {
        entry.Get("name").Error("column '" + column.name + "' is listed twice");
      }
      auto type = ParseTypeName(type_name);
      if (!type.ok()) {
        entry.Get("type").Error(type.status().message());
        continue;
      }
      if (!value.IsDefined()) continue;
      if (value.IsNull()) {
        column.value = arrow::MakeNullScalar(*type);
      } else if (!value.IsScalar()) {
        value.Error("'" + value.path() + "' must be a single value");
        continue;
      } else {
        auto parsed = arrow::Scalar::Parse(*type, value.AsString());
        if (!parsed.ok()) {
          value.Error("'" + value.path() + "' is not a valid " + (*type)->ToString() +
                      ": " + parsed.status().message());
          continue;
        }
        column.value = *parsed;
      }
      options.columns.push_back(std::move(column));
    }
    if (columns.Elements().empty()) columns.Error("'" + columns.path() + "' is empty");
  }
  node.CheckNoUnknownKeys();
  ARROW_RETURN_NOT_OK(node.diagnostics()->ToStatus());
  return options;
}

arrow::Result<std::shared_ptr<arrow::Schema>> ConstantTransformer::Bind(
    const std::shared_ptr<arrow::Schema>& input) {
  std::vector<std::shared_ptr<arrow::Field>> fields = input->fields();
  for (const auto& column : options_.columns) {
    if (input->GetFieldIndex(column.name) >= 0) {
      return arrow::Status::Invalid("constant: column '", column.name,
                                    "' already exists (use select to drop or rename it "
                                    "first)");
    }
    fields.push_back(
        arrow::field(column.name, column.value->type, !column.value->is_valid));
  }
  output_ = arrow::schema(std::move(fields), input->metadata());
  return output_;
}

arrow::Result<std::unique_ptr<PartitionTransform>> ConstantTransformer::Open(
    const PartitionContext&) {
  if (output_ == nullptr) return arrow::Status::Invalid("constant: Open() before Bind()");
  return std::make_unique<ConstantPartition>(output_, options_.columns);
}

void RegisterConstantTransformer(ComponentRegistry& registry) {
  registry.RegisterTransformer(
      "constant",
      [](const ConfigNode& node,
         const ComponentContext&) -> arrow::Result<std::unique_ptr<Transformer>> {
        ARROW_ASSIGN_OR_RAISE(auto options, ConstantTransformer::ParseOptions(node));
        return std::make_unique<ConstantTransformer>(std::move(options));
      });
}

}  // namespace jetflow
