// `dedupe`: keeps one row per key within each partition.
//
//   transformers:
//     - type: dedupe
//       keys: [id]
//       keep: last              # first (default) | last
//       order_by: updated_at    # optional: keep the row with the smallest (first) or
//                               # largest (last) value; ties keep the earlier (first)
//                               # or later (last) row in stream order; nulls never win
//       max_bytes: 1GiB         # memory the partition's dedupe state may hold
//
// De-duplication is per partition (the unit of retry); rows with equal keys in different
// partitions are not compared. Nulls in keys are equal to each other. Removed rows are
// counted as dropped (rule "duplicates").
//
// Memory: with `keep: first` and no `order_by`, rows stream through and only the encoded
// keys of the partition are held (key bytes + ~40 bytes per distinct key). Otherwise the
// winner of a key is only known at the end of the partition: the batches holding current
// winners are kept until Finish() (a batch is released as soon as none of its rows is a
// winner any more), so memory grows with the partition's distinct rows. `max_bytes`
// bounds keys plus held batches; going over fails the partition with a message
// (partition the source finer, or raise it) instead of exhausting memory. This memory is
// outside the engine's memory budget.
#pragma once

#include <arrow/result.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jetflow/core/registry.h"
#include "jetflow/core/transformer.h"
#include "jetflow/transforms/row_key.h"

namespace jetflow {

class DedupeTransformer : public Transformer {
 public:
  struct Options {
    std::vector<std::string> keys;
    bool keep_last = false;
    std::optional<std::string> order_by;
    int64_t max_bytes = int64_t{1} << 30;
  };

  static arrow::Result<Options> ParseOptions(const ConfigNode& node);
  explicit DedupeTransformer(Options options) : options_(std::move(options)) {}

  /// Invalid if a key or order_by column is missing or of a type it cannot be.
  arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) override;
  arrow::Result<std::unique_ptr<PartitionTransform>> Open(
      const PartitionContext& context) override;

 private:
  Options options_;
  std::optional<RowKeyEncoder> keys_;
  int order_index_ = -1;
  std::shared_ptr<arrow::Schema> schema_;
};

void RegisterDedupeTransformer(ComponentRegistry& registry);

}  // namespace jetflow
