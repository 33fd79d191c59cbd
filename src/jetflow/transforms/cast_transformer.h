// `cast`: converts columns to other types, with a policy for values that do not convert.
//
//   transformers:
//     - type: cast
//       columns:
//         amount: {type: "decimal(18,2)", on_error: quarantine}
//         quantity: int32                 # short form: on_error: error
//       quarantine: {path: ./quarantine}  # needed by on_error: quarantine
//
// Type names follow core/type_name.h (docs/types.md).
// Casts are Arrow compute casts with safe options: overflow, truncation, unparsable
// text and lost precision are failures, never silent. A batch whose cast fails is cut in
// halves until the failing rows are found (O(failures * log rows) casts), then:
//   error      -> the partition fails naming the column, row and value;
//   null       -> the value becomes null, the row stays (counted as rule "cast:<col>");
//   quarantine -> the row goes to the quarantine with its original values.
#pragma once

#include <arrow/result.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jetflow/core/registry.h"
#include "jetflow/core/transformer.h"
#include "jetflow/transforms/row_policy.h"

namespace jetflow {

class CastTransformer : public Transformer {
 public:
  struct Column {
    std::string name;
    std::shared_ptr<arrow::DataType> type;
    RowPolicy on_error = RowPolicy::kFail;
  };
  struct Options {
    std::vector<Column> columns;
    std::optional<std::string> quarantine_path;
  };

  static arrow::Result<Options> ParseOptions(const ConfigNode& node,
                                             const ComponentContext& context);
  explicit CastTransformer(Options options) : options_(std::move(options)) {}

  /// Invalid listing every unknown column and every cast Arrow cannot do.
  arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) override;
  arrow::Result<std::unique_ptr<PartitionTransform>> Open(
      const PartitionContext& context) override;
  std::vector<SideOutputSpec> side_outputs() const override;

 private:
  Options options_;
  std::vector<int> indices_;  // input column of each options_.columns entry
  std::shared_ptr<arrow::Schema> input_;
  std::shared_ptr<arrow::Schema> output_;
};

void RegisterCastTransformer(ComponentRegistry& registry);

}  // namespace jetflow
