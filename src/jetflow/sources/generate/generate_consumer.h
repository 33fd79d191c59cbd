// GenerateConsumer (`type: generate`): deterministic synthetic data for the quickstart,
// tests and benchmarks.
//
// Every value is a pure function of (seed, column name, global row index): a
// counter-based hash (splitmix64 of seed, column and row) picks it, so the output is
// identical whatever the batch size or the number of partitions, and any partition can be
// regenerated alone. Timestamp and date columns without explicit bounds also depend on
// the run instance's day (run value "YYYY-MM-DD"; 2024-01-01 when the value is not a
// date).
//
// Partition k of `partitions` covers global rows [k*rows/partitions,
// (k+1)*rows/partitions) and has id "p00000", "p00001", ... (zero-padded to at least five
// digits so ids sort). Its split {"first": a, "end": b} holds that row range, which is
// all OpenPartition reads of it.
//
// Speed matters: the main benchmark compares generate -> Parquet with pyarrow writing the
// same data, so generation fills Arrow buffers directly in tight per-column loops, with
// no builders and no allocation per row.
//
// Threading: InferSchema/PlanPartitions from one thread; OpenPartition concurrently. The
// consumer is immutable after Make; each reader owns its own position.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jetflow/core/config_node.h"
#include "jetflow/core/consumer.h"
#include "jetflow/core/registry.h"

namespace jetflow {

namespace generate_internal {
class ColumnGenerator;
}  // namespace generate_internal

class GenerateConsumer : public Consumer {
 public:
  /// One generated column. Which fields apply depends on `type`.
  struct ColumnSpec {
    std::string name;
    /// int32, int64, float64, boolean, decimal128(p, s), timestamp(us, "UTC"), date32 or
    /// utf8.
    std::shared_ptr<arrow::DataType> type;
    /// Fraction of rows that are null, in [0, 1]. Fields with 0 are non-nullable.
    double null_fraction = 0.0;
    /// Integers only: value = min (default 0) + global row index.
    bool sequence = false;
    /// Inclusive bounds. int32/int64: the value; decimal: the unscaled value (value *
    /// 10^scale); date32: days since 1970-01-01; timestamp: microseconds since the epoch
    /// (upper bound exclusive). Defaults: integers [0, 1000000], decimal [0, 10^6),
    /// date the 365 days ending on the run day, timestamp the run day.
    std::optional<int64_t> min;
    std::optional<int64_t> max;
    /// float64 only: values in [min_float, max_float).
    double min_float = 0.0;
    double max_float = 1000.0;
    /// utf8 only: length range of random strings (inclusive).
    int32_t min_length = 8;
    int32_t max_length = 24;
    /// utf8 only: when > 0, values are drawn from this many distinct random strings.
    int64_t cardinality = 0;
    /// utf8 only: when not empty, values are drawn from this list (overrides
    /// cardinality).
    std::vector<std::string> values;
    /// utf8 only: kAlnum = [A-Za-z0-9]; kText = lowercase words separated by spaces.
    enum class Charset { kAlnum, kText };
    Charset charset = Charset::kAlnum;
  };

  struct Options {
    /// Total rows of the run instance.
    int64_t rows = 0;
    int64_t partitions = 1;
    uint64_t seed = 42;
    int64_t batch_rows = 65536;
    /// In output order; ParseOptions fills in Mixed10() when the config names none.
    std::vector<ColumnSpec> columns;
  };

  /// The `mixed10` preset: id int64 (sequence), account_id int32, amount decimal(18,4),
  /// price float64, created_at timestamp[us, UTC], name string, country string (50
  /// values), is_active bool, score float64 (10% null), comment string (30% null).
  static std::vector<ColumnSpec> Mixed10();

  /// Reads rows, partitions, seed, batch_rows, and either `preset: mixed10` (default) or
  /// `columns: [{name, type, null_fraction, min, max, sequence, min_length, max_length,
  /// cardinality, values, charset}, ...]`. Records every error in the node's Diagnostics.
  static arrow::Result<Options> ParseOptions(const ConfigNode& node,
                                             const ComponentContext& context);
  /// Invalid if the options are inconsistent (unknown type, empty range, duplicates...).
  static arrow::Result<std::unique_ptr<GenerateConsumer>> Make(Options options);

  ~GenerateConsumer() override;

  arrow::Result<std::shared_ptr<arrow::Schema>> InferSchema() override;
  arrow::Result<std::vector<PartitionSpec>> PlanPartitions(
      const RunInstance& run) override;
  arrow::Result<std::unique_ptr<PartitionReader>> OpenPartition(
      const PartitionContext& context) override;
  /// Every buffer is allocated once, at its final size, from the context's pool.

  const Options& options() const { return options_; }

 private:
  GenerateConsumer(
      Options options, std::shared_ptr<arrow::Schema> schema,
      std::vector<std::shared_ptr<const generate_internal::ColumnGenerator>> generators);

  /// Global row range [first, end) of partition `index`.
  void PartitionRange(int64_t index, int64_t* first, int64_t* end) const;
  std::string PartitionId(int64_t index) const;

  Options options_;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::shared_ptr<const generate_internal::ColumnGenerator>> generators_;
};

}  // namespace jetflow
