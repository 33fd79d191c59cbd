// An example of a custom transformer: `clamp` limits a numeric column to [min, max].
//
//   transformers:
//     - type: clamp
//       column: amount
//       min: 0
//       max: 1000
//
// It works on whole Arrow arrays with two compute kernels (max_element_wise,
// min_element_wise); nulls stay null. See docs/extending.md.
#pragma once

#include <arrow/result.h>

#include <memory>
#include <string>

#include "jetflow/core/registry.h"
#include "jetflow/core/transformer.h"

namespace example {

class ClampTransformer : public jetflow::Transformer {
 public:
  struct Options {
    std::string column;
    double min = 0;
    double max = 0;
  };

  /// Reads column, min and max; records every problem in the node's Diagnostics.
  static arrow::Result<Options> ParseOptions(const jetflow::ConfigNode& node);
  explicit ClampTransformer(Options options) : options_(std::move(options)) {}

  /// Invalid if the column is missing (with a "did you mean") or not numeric, or if
  /// min or max does not fit its type.
  arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) override;
  arrow::Result<std::unique_ptr<jetflow::PartitionTransform>> Open(
      const jetflow::PartitionContext& context) override;

 private:
  Options options_;
  int index_ = -1;
  std::shared_ptr<arrow::Scalar> min_;
  std::shared_ptr<arrow::Scalar> max_;
};

}  // namespace example
