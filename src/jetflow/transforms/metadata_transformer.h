// `metadata`: adds columns that say where each row came from.
//
//   transformers:
//     - type: metadata
//       columns:                         # optional; default: all four, named as below
//         run_instance: _jetflow_run       # string: the run instance's value,
//         "2026-11-25" partition: _jetflow_partition    # string: the partition id,
//         "p00003" ingested_at: _jetflow_ingested_at  # timestamp[us, UTC]: when the run
//         started source: _jetflow_source          # string: the consumer's name
//
// `ingested_at` is the start time of the run (of its first start, when it was resumed),
// not a clock read per batch: every partition and every retry of a run writes the same
// value, so a retried partition's output equals what the first attempt would have
// written. A new run (e.g. `--restart`, or the next run of the instance) gets a new
// time.
#pragma once

#include <arrow/result.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jetflow/core/registry.h"
#include "jetflow/core/transformer.h"

namespace jetflow {

class MetadataTransformer : public Transformer {
 public:
  enum class Kind { kRunInstance, kPartition, kIngestedAt, kSource };
  struct Options {
    std::vector<std::pair<Kind, std::string>> columns;
  };

  static arrow::Result<Options> ParseOptions(const ConfigNode& node);
  explicit MetadataTransformer(Options options) : options_(std::move(options)) {}

  /// Invalid if a metadata column's name is already an input column.
  arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) override;
  arrow::Result<std::unique_ptr<PartitionTransform>> Open(
      const PartitionContext& context) override;

 private:
  Options options_;
  std::shared_ptr<arrow::Schema> output_;
};

void RegisterMetadataTransformer(ComponentRegistry& registry);

}  // namespace jetflow
