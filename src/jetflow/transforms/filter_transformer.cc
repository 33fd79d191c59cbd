#include "jetflow/transforms/filter_transformer.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include "jetflow/transforms/expression_option.h"

namespace jetflow {

namespace {

class FilterPartition : public PartitionTransform {
 public:
  explicit FilterPartition(std::shared_ptr<expression::CompiledExpression> where)
      : where_(std::move(where)) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Apply(
      const std::shared_ptr<arrow::RecordBatch>& batch) override {
    if (batch->num_rows() == 0) return batch;
    ARROW_ASSIGN_OR_RAISE(auto keep, where_->Evaluate(*batch));
    if (keep->type_id() == arrow::Type::NA) {  // `where: null`
      dropped_ += batch->num_rows();
      return batch->Slice(0, 0);
    }
    const int64_t kept = static_cast<const arrow::BooleanArray&>(*keep).true_count();
    if (kept == batch->num_rows()) return batch;
    // Filter drops the rows whose selection is null, as WHERE does.
    ARROW_ASSIGN_OR_RAISE(arrow::Datum filtered, arrow::compute::Filter(batch, keep));
    dropped_ += batch->num_rows() - kept;
    return filtered.record_batch();
  }

  TransformCounters counters() const override {
    TransformCounters counters;
    counters.rows_dropped = dropped_;
    counters.rules.push_back({"where", "drop", dropped_});
    return counters;
  }

 private:
  std::shared_ptr<expression::CompiledExpression> where_;
  int64_t dropped_ = 0;
};

}  // namespace

arrow::Result<FilterTransformer::Options> FilterTransformer::ParseOptions(
    const ConfigNode& node) {
  Options options;
  ConfigNode where = node.Require("where");
  if (where.IsDefined()) options.where = ExpressionSourceOf(where);
  node.CheckNoUnknownKeys();
  ARROW_RETURN_NOT_OK(node.diagnostics()->ToStatus());
  return options;
}

arrow::Result<std::shared_ptr<arrow::Schema>> FilterTransformer::Bind(
    const std::shared_ptr<arrow::Schema>& input) {
  ARROW_ASSIGN_OR_RAISE(where_, CompileExpression(options_.where, *input, true));
  return input;
}

arrow::Result<std::unique_ptr<PartitionTransform>> FilterTransformer::Open(
    const PartitionContext&) {
  if (where_ == nullptr) return arrow::Status::Invalid("filter: Open() before Bind()");
  return std::make_unique<FilterPartition>(where_);
}

void RegisterFilterTransformer(ComponentRegistry& registry) {
  registry.RegisterTransformer(
      "filter",
      [](const ConfigNode& node,
         const ComponentContext&) -> arrow::Result<std::unique_ptr<Transformer>> {
        ARROW_ASSIGN_OR_RAISE(auto options, FilterTransformer::ParseOptions(node));
        return std::make_unique<FilterTransformer>(std::move(options));
      });
}

}  // namespace jetflow
