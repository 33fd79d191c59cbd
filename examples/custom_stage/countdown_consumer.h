// An example of a custom consumer: `countdown` yields one int64 column `n` counting down
// from `from` to 1, split into `partitions` deterministic partitions.
//
//   consumer:
//     type: countdown
//     from: 100
//     partitions: 2
//
// See docs/extending.md for the contract every consumer follows.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "jetflow/core/consumer.h"
#include "jetflow/core/registry.h"

namespace example {

class CountdownConsumer : public jetflow::Consumer {
 public:
  struct Options {
    int64_t from = 10;
    int64_t partitions = 1;
    int64_t batch_rows = 131072;
  };

  static arrow::Result<Options> ParseOptions(const jetflow::ConfigNode& node,
                                             const jetflow::ComponentContext& context);
  explicit CountdownConsumer(Options options) : options_(options) {}

  arrow::Result<std::shared_ptr<arrow::Schema>> InferSchema() override;
  /// Partition k holds the values of rows [k*from/partitions, (k+1)*from/partitions).
  arrow::Result<std::vector<jetflow::PartitionSpec>> PlanPartitions(
      const jetflow::RunInstance& run) override;
  arrow::Result<std::unique_ptr<jetflow::PartitionReader>> OpenPartition(
      const jetflow::PartitionContext& context) override;

 private:
  Options options_;
};

/// Registers `countdown` and `clamp`: what a program that uses them calls before it
/// loads a pipeline.
void RegisterExampleStages(jetflow::ComponentRegistry& registry);

}  // namespace example
