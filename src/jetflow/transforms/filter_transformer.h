// `filter`: keeps the rows for which an expression is true.
//
//   transformers:
//     - type: filter
//       where: "status != 'cancelled' AND amount > 0"
//
// Rows where the expression is false or null are dropped (as SQL's WHERE does); they are
// counted as dropped (rule "where") for the partition's reconciliation.
#pragma once

#include <arrow/result.h>

#include <memory>
#include <string>

#include "jetflow/core/registry.h"
#include "jetflow/core/transformer.h"
#include "jetflow/transforms/expression/expression.h"

namespace jetflow {

class FilterTransformer : public Transformer {
 public:
  struct Options {
    expression::ExpressionSource where;
  };

  static arrow::Result<Options> ParseOptions(const ConfigNode& node);
  explicit FilterTransformer(Options options) : options_(std::move(options)) {}

  /// Compiles the expression against `input`; the output schema is `input`.
  arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) override;
  arrow::Result<std::unique_ptr<PartitionTransform>> Open(
      const PartitionContext& context) override;

 private:
  Options options_;
  std::shared_ptr<expression::CompiledExpression> where_;
};

void RegisterFilterTransformer(ComponentRegistry& registry);

}  // namespace jetflow
