// `derive`: adds (or replaces) columns computed by expressions (docs/expressions.md).
//
//   transformers:
//     - type: derive
//       columns:
//         full_name: "concat(first_name, ' ', last_name)"
//         amount_eur: "amount * 0.92"
//         big: "amount_eur > 1000"          # may use columns derived above it
//
// Columns are computed in the order written; each expression sees the input columns and
// the columns derived before it. A name that already exists replaces that column in
// place (same position, new type); a new name is appended at the end.
#pragma once

#include <arrow/result.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jetflow/core/registry.h"
#include "jetflow/core/transformer.h"
#include "jetflow/transforms/expression/expression.h"

namespace jetflow {

class DeriveTransformer : public Transformer {
 public:
  struct Options {
    std::vector<std::pair<std::string, expression::ExpressionSource>> columns;
  };

  static arrow::Result<Options> ParseOptions(const ConfigNode& node);
  explicit DeriveTransformer(Options options) : options_(std::move(options)) {}

  /// Compiles every expression; Invalid listing every one that does not compile.
  arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) override;
  arrow::Result<std::unique_ptr<PartitionTransform>> Open(
      const PartitionContext& context) override;

  struct Step {
    std::shared_ptr<expression::CompiledExpression> expression;
    int index;  // column it writes in the schema after this step
    bool replaces;
    std::shared_ptr<arrow::Schema> schema;  // schema after this step
  };

 private:
  Options options_;
  std::vector<Step> steps_;
  std::shared_ptr<arrow::Schema> output_;
};

void RegisterDeriveTransformer(ComponentRegistry& registry);

}  // namespace jetflow
