// `constant`: adds columns holding the same typed value on every row.
//
//   transformers:
//     - type: constant
//       columns:
//         - {name: source_system, value: crm}                 # type: string (default)
//         - {name: schema_version, value: 3, type: int32}
//         - {name: valid_from, value: "2026-01-01", type: date}
//         - {name: note, value: null, type: string}           # a null column
//
// Type names follow core/type_name.h (docs/types.md); the value is parsed as that type
// at plan time, so `{value: abc, type: int32}` is a config error with its location.
#pragma once

#include <arrow/result.h>
#include <arrow/scalar.h>

#include <memory>
#include <string>
#include <vector>

#include "jetflow/core/registry.h"
#include "jetflow/core/transformer.h"

namespace jetflow {

class ConstantTransformer : public Transformer {
 public:
  struct Column {
    std::string name;
    std::shared_ptr<arrow::Scalar> value;  // typed; may be a null scalar
  };
  struct Options {
    std::vector<Column> columns;
  };

  static arrow::Result<Options> ParseOptions(const ConfigNode& node);
  explicit ConstantTransformer(Options options) : options_(std::move(options)) {}

  /// Invalid if a column's name is already an input column.
  arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) override;
  arrow::Result<std::unique_ptr<PartitionTransform>> Open(
      const PartitionContext& context) override;

 private:
  Options options_;
  std::shared_ptr<arrow::Schema> output_;
};

void RegisterConstantTransformer(ComponentRegistry& registry);

}  // namespace jetflow
