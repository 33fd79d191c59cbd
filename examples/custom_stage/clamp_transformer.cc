#include "clamp_transformer.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

namespace example {

namespace {

class ClampPartition : public jetflow::PartitionTransform {
 public:
  ClampPartition(int index, std::shared_ptr<arrow::Scalar> min,
                 std::shared_ptr<arrow::Scalar> max)
      : index_(index), min_(std::move(min)), max_(std::move(max)) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Apply(
      const std::shared_ptr<arrow::RecordBatch>& batch) override {
    // skip_nulls=false: a null value stays null instead of becoming a bound.
    arrow::compute::ElementWiseAggregateOptions keep_nulls(/*skip_nulls=*/false);
    ARROW_ASSIGN_OR_RAISE(
        arrow::Datum raised,
        arrow::compute::MaxElementWise({batch->column(index_), min_}, keep_nulls));
    ARROW_ASSIGN_OR_RAISE(arrow::Datum clamped,
                          arrow::compute::MinElementWise({raised, max_}, keep_nulls));
    return batch->SetColumn(index_, batch->schema()->field(index_), clamped.make_array());
  }

 private:
  int index_;
  std::shared_ptr<arrow::Scalar> min_;
  std::shared_ptr<arrow::Scalar> max_;
};

}  // namespace

arrow::Result<ClampTransformer::Options> ClampTransformer::ParseOptions(
    const jetflow::ConfigNode& node) {
  Options options;
  options.column = node.RequireString("column");
  options.min = node.GetDouble("min", 0);
  options.max = node.GetDouble("max", 0);
  if (!node.Has("min") || !node.Has("max"))
    node.Error("clamp needs both 'min' and 'max'");
  if (options.min > options.max) node.Get("min").Error("'min' must not exceed 'max'");
  node.CheckNoUnknownKeys();
  ARROW_RETURN_NOT_OK(node.diagnostics()->ToStatus());
  return options;
}

arrow::Result<std::shared_ptr<arrow::Schema>> ClampTransformer::Bind(
    const std::shared_ptr<arrow::Schema>& input) {
  index_ = input->GetFieldIndex(options_.column);
  if (index_ < 0) {
    auto hint = jetflow::ClosestMatch(options_.column, input->field_names());
    return arrow::Status::Invalid("clamp: no column '", options_.column, "'",
                                  hint ? " (did you mean '" + *hint + "'?)" : "");
  }
  const auto& type = input->field(index_)->type();
  if (!arrow::is_integer(type->id()) && !arrow::is_floating(type->id())) {
    return arrow::Status::Invalid("clamp: column '", options_.column, "' is ",
                                  type->ToString(), ", not a number");
  }
  // Safe casts: a bound that does not fit the column (1.5 for an integer) is an error.
  ARROW_ASSIGN_OR_RAISE(auto min,
                        arrow::compute::Cast(arrow::MakeScalar(options_.min), type));
  ARROW_ASSIGN_OR_RAISE(auto max,
                        arrow::compute::Cast(arrow::MakeScalar(options_.max), type));
  min_ = min.scalar();
  max_ = max.scalar();
  return input;
}

arrow::Result<std::unique_ptr<jetflow::PartitionTransform>> ClampTransformer::Open(
    const jetflow::PartitionContext&) {
  return std::make_unique<ClampPartition>(index_, min_, max_);
}

}  // namespace example
