#include "jetflow/transforms/metadata_transformer.h"

#include <arrow/api.h>

namespace jetflow {

namespace {

constexpr const char* kKindNames[] = {"run_instance", "partition", "ingested_at",
                                      "source"};
constexpr const char* kDefaultNames[] = {"_jetflow_run", "_jetflow_partition",
                                         "_jetflow_ingested_at", "_jetflow_source"};

std::shared_ptr<arrow::DataType> TypeOf(MetadataTransformer::Kind kind) {
  return kind == MetadataTransformer::Kind::kIngestedAt
             ? arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")
             : arrow::utf8();
}

/// Appends constant columns; the arrays are built once per length and reused.
class MetadataPartition : public PartitionTransform {
 public:
  MetadataPartition(std::shared_ptr<arrow::Schema> output,
                    std::vector<std::shared_ptr<arrow::Scalar>> values)
      : output_(std::move(output)), values_(std::move(values)) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Apply(
      const std::shared_ptr<arrow::RecordBatch>& batch) override {
    const int64_t rows = batch->num_rows();
    if (rows > cached_rows_ || cached_.empty()) {
      cached_.clear();
      for (const auto& value : values_) {
        ARROW_ASSIGN_OR_RAISE(auto array, arrow::MakeArrayFromScalar(*value, rows));
        cached_.push_back(std::move(array));
      }
      cached_rows_ = rows;
    }
    std::vector<std::shared_ptr<arrow::Array>> columns = batch->columns();
    for (const auto& array : cached_) columns.push_back(array->Slice(0, rows));
    return arrow::RecordBatch::Make(output_, rows, std::move(columns));
  }

 private:
  std::shared_ptr<arrow::Schema> output_;
  std::vector<std::shared_ptr<arrow::Scalar>> values_;
  std::vector<std::shared_ptr<arrow::Array>> cached_;
  int64_t cached_rows_ = 0;
};

}  // namespace

arrow::Result<MetadataTransformer::Options> MetadataTransformer::ParseOptions(
    const ConfigNode& node) {
  Options options;
  ConfigNode columns = node.Get("columns");
  if (!columns.IsDefined()) {
    for (int k = 0; k < 4; ++k) {
      options.columns.emplace_back(static_cast<Kind>(k), kDefaultNames[k]);
    }
  } else if (!columns.IsMap()) {
    columns.Error("'" + columns.path() +
                  "' must map run_instance, partition, ingested_at or source to column "
                  "names");
  } else {
    for (int k = 0; k < 4; ++k) {
      if (columns.Has(kKindNames[k])) {
        std::string name = columns.RequireString(kKindNames[k]);
        if (!name.empty()) options.columns.emplace_back(static_cast<Kind>(k), name);
      }
    }
    columns.CheckNoUnknownKeys();
    if (options.columns.empty() && !node.diagnostics()->has_errors()) {
      columns.Error("'" + columns.path() + "' names no metadata column");
    }
  }
  node.CheckNoUnknownKeys();
  ARROW_RETURN_NOT_OK(node.diagnostics()->ToStatus());
  return options;
}

arrow::Result<std::shared_ptr<arrow::Schema>> MetadataTransformer::Bind(
    const std::shared_ptr<arrow::Schema>& input) {
  std::vector<std::shared_ptr<arrow::Field>> fields = input->fields();
  for (const auto& column : options_.columns) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    const auto& kind = column.first;
    const std::string& name = column.second;
    if (input->GetFieldIndex(name) >= 0 ||
        std::count_if(fields.begin(), fields.end(),
                      [&](const auto& f) { return f->name() == name; }) > 0) {
      return arrow::Status::Invalid("metadata: column '", name,
                                    "' already exists; choose another name under "
                                    "'columns'");
    }
    fields.push_back(arrow::field(name, TypeOf(kind), false));
  }
  output_ = arrow::schema(std::move(fields), input->metadata());
  return output_;
}

arrow::Result<std::unique_ptr<PartitionTransform>> MetadataTransformer::Open(
    const PartitionContext& context) {
  if (output_ == nullptr) return arrow::Status::Invalid("metadata: Open() before Bind()");
  std::vector<std::shared_ptr<arrow::Scalar>> values;
  for (const auto& [kind, name] : options_.columns) {
    switch (kind) {
      case Kind::kRunInstance:
        values.push_back(std::make_shared<arrow::StringScalar>(context.run.value));
        break;
      case Kind::kPartition:
        values.push_back(std::make_shared<arrow::StringScalar>(context.partition.id));
        break;
      case Kind::kIngestedAt:
        values.push_back(std::make_shared<arrow::TimestampScalar>(context.run_started_us,
                                                                  TypeOf(kind)));
        break;
      case Kind::kSource:
        values.push_back(std::make_shared<arrow::StringScalar>(context.source));
        break;
    }
  }
  return std::make_unique<MetadataPartition>(output_, std::move(values));
}

void RegisterMetadataTransformer(ComponentRegistry& registry) {
  registry.RegisterTransformer(
      "metadata",
      [](const ConfigNode& node,
         const ComponentContext&) -> arrow::Result<std::unique_ptr<Transformer>> {
        ARROW_ASSIGN_OR_RAISE(auto options, MetadataTransformer::ParseOptions(node));
        return std::make_unique<MetadataTransformer>(std::move(options));
      });
}

}  // namespace jetflow
