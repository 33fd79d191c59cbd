#include "jetflow/transforms/select_transformer.h"

#include <arrow/api.h>

#include <set>

namespace jetflow {

namespace {

class SelectPartition : public PartitionTransform {
 public:
  SelectPartition(std::vector<int> indices, std::shared_ptr<arrow::Schema> output)
      : indices_(std::move(indices)), output_(std::move(output)) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Apply(
      const std::shared_ptr<arrow::RecordBatch>& batch) override {
    std::vector<std::shared_ptr<arrow::Array>> columns;
    columns.reserve(indices_.size());
    for (int index : indices_) columns.push_back(batch->column(index));
    return arrow::RecordBatch::Make(output_, batch->num_rows(), std::move(columns));
  }

 private:
  std::vector<int> indices_;
  std::shared_ptr<arrow::Schema> output_;
};

}  // namespace

arrow::Result<SelectTransformer::Options> SelectTransformer::ParseOptions(
    const ConfigNode& node) {
  Options options;
  options.columns = node.GetStringList("columns");
  options.drop = node.GetStringList("drop");
  for (const auto& [from, to] : node.Get("rename").Entries())
    options.rename[from] = to.AsString();
  if (node.Has("columns") && options.columns.empty()) {
    node.Get("columns").Error(
        "'columns' is empty: list the columns to keep (a select keeps at least one)");
  }
  if (!options.columns.empty() && !options.drop.empty()) {
    node.Error(
        "'columns' and 'drop' cannot be used together: list the columns to keep, or "
        "the ones to drop");
  }
  node.CheckNoUnknownKeys();
  ARROW_RETURN_NOT_OK(node.diagnostics()->ToStatus());
  return options;
}

arrow::Result<std::shared_ptr<arrow::Schema>> SelectTransformer::Bind(
    const std::shared_ptr<arrow::Schema>& input) {
  std::vector<std::string> names = input->field_names();
  std::vector<std::string> problems;
  auto find = [&](const std::string& name) -> int {
    int index = input->GetFieldIndex(name);
    if (index < 0) {
      auto hint = ClosestMatch(name, names);
      problems.push_back("no column '" + name + "'" +
                         (hint ? " (did you mean '" + *hint + "'?)" : ""));
    }
    return index;
  };

  indices_.clear();
  if (!options_.columns.empty()) {
    for (const auto& name : options_.columns) indices_.push_back(find(name));
  } else {
    std::set<int> dropped;
    for (const auto& name : options_.drop) dropped.insert(find(name));
    for (int i = 0; i < input->num_fields(); ++i) {
      if (!dropped.count(i)) indices_.push_back(i);
    }
  }
  for (const auto& [from, to] : options_.rename) find(from);
  if (!problems.empty()) {
    std::string message = "select: ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    return arrow::Status::Invalid(message);
  }

  std::vector<std::shared_ptr<arrow::Field>> fields;
  std::set<std::string> seen;
  for (int index : indices_) {
    auto field = input->field(index);
    auto renamed = options_.rename.find(field->name());
    if (renamed != options_.rename.end()) field = field->WithName(renamed->second);
    if (!seen.insert(field->name()).second) {
      problems.push_back("column '" + field->name() + "' appears twice in the output");
    }
    fields.push_back(field);
  }
  if (!problems.empty()) return arrow::Status::Invalid("select: ", problems.front());
  if (fields.empty()) {
    return arrow::Status::Invalid(
        "select: 'drop' removes every column; keep at least one");
  }
  output_ = arrow::schema(std::move(fields));
  return output_;
}

arrow::Result<std::unique_ptr<PartitionTransform>> SelectTransformer::Open(
    const PartitionContext&) {
  if (output_ == nullptr) return arrow::Status::Invalid("select: Open() before Bind()");
  return std::make_unique<SelectPartition>(indices_, output_);
}

void RegisterSelectTransformer(ComponentRegistry& registry) {
  registry.RegisterTransformer(
      "select",
      [](const ConfigNode& node,
         const ComponentContext&) -> arrow::Result<std::unique_ptr<Transformer>> {
        ARROW_ASSIGN_OR_RAISE(auto options, SelectTransformer::ParseOptions(node));
        return std::make_unique<SelectTransformer>(std::move(options));
      });
}

}  // namespace jetflow
