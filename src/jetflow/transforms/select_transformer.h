// `select`: keep, drop, reorder and rename columns.
//
//   transformers:
//     - type: select
//       columns: [id, amount, ordered_at]   # keep these, in this order (default: all)
//       drop: [note]                         # or drop these
//       rename: {ordered_at: order_time}     # then rename
//
// Zero-copy: batches keep their column buffers; only the schema changes.
#pragma once

#include <arrow/result.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "jetflow/core/registry.h"
#include "jetflow/core/transformer.h"

namespace jetflow {

class SelectTransformer : public Transformer {
 public:
  struct Options {
    std::vector<std::string> columns;  // empty: every column
    std::vector<std::string> drop;
    std::map<std::string, std::string> rename;
  };

  static arrow::Result<Options> ParseOptions(const ConfigNode& node);
  explicit SelectTransformer(Options options) : options_(std::move(options)) {}

  /// Invalid listing every unknown column (with a "did you mean") and every name clash.
  arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) override;
  arrow::Result<std::unique_ptr<PartitionTransform>> Open(
      const PartitionContext&) override;

 private:
  Options options_;
  std::vector<int> indices_;  // input column of each output column
  std::shared_ptr<arrow::Schema> output_;
};

void RegisterSelectTransformer(ComponentRegistry& registry);

}  // namespace jetflow
