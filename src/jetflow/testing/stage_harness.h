// Harnesses that run one stage, or a chain of transformers, over fixture batches the way
// the engine does, without a pipeline file, threads or a state store:
//
//   Transformer:  Bind(input schema) -> Open(context) -> Apply(batch)... -> Finish()
//   Consumer:     InferSchema -> PlanPartitions(run) -> OpenPartition -> Next()...
//   Loader:       Bind -> BeginRun -> OpenPartition -> Write... -> Commit -> FinishRun
//
// A chain feeds every batch a transformer returns (from Apply, then from Finish) to the
// next one, so each stage sees exactly the batch sequence it would see in a run.
//
//   JETFLOW_ASSERT_OK_AND_ASSIGN(auto input, BatchFromJson(schema, R"([{"id": 1}])"));
//   JETFLOW_ASSERT_OK_AND_ASSIGN(auto out, RunTransformer(my_transformer, {input}));
//   JETFLOW_EXPECT_TABLES_EQUAL(*expected, *out.table);
//
// Each harness initialises Arrow compute's kernel registry (arrow::compute::Initialize)
// first, as the jetflow binary does at start-up.
//
// Threading: a harness call uses the stage from the calling thread only.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <memory>
#include <string>
#include <vector>

#include "jetflow/core/consumer.h"
#include "jetflow/core/loader.h"
#include "jetflow/core/partition.h"
#include "jetflow/core/transformer.h"

namespace jetflow::testing {

/// The PartitionContext stages see in harness runs: pipeline "test", by default run
/// "run=test" and partition "p00000", first attempt.
PartitionContext TestPartitionContext(RunInstance run = RunInstance{"run", "test"},
                                      PartitionSpec partition = PartitionSpec{
                                          "p00000", "test fixture", -1});

/// What a chain of transformers produced.
struct StageOutput {
  /// Schema returned by the last Bind() (the input schema for an empty chain).
  std::shared_ptr<arrow::Schema> schema;
  /// Every batch out of the last stage, in order (including empty ones).
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  /// The batches as one table of `schema`.
  std::shared_ptr<arrow::Table> table;
  /// counters() of each stage after Finish(), in chain order.
  std::vector<TransformCounters> counters;
  /// Rows each stage sent to its side outputs (e.g. a quarantine), drained after every
  /// Apply() and Finish() as the engine does.
  struct SideRows {
    size_t stage = 0;       // position in the chain
    SideOutputSpec output;  // Transformer::side_outputs()[SideBatch::output]
    std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  };
  std::vector<SideRows> side_rows;
};

/// Binds every transformer in order, starting from `input_schema`; returns the schema
/// out of the last one. Bind errors name the stage's position in the chain.
arrow::Result<std::shared_ptr<arrow::Schema>> BindTransformers(
    const std::vector<Transformer*>& chain,
    const std::shared_ptr<arrow::Schema>& input_schema);

/// Runs already-bound transformers over `batches` (one partition).
/// REQUIRES: BindTransformers(chain, ...) succeeded with the batches' schema;
/// `output_schema` is what it returned. Errors name the stage by `stage_names[i]` when
/// given, else by its position ("transformer #1").
arrow::Result<StageOutput> RunBoundTransformers(
    const std::vector<Transformer*>& chain,
    const std::shared_ptr<arrow::Schema>& output_schema,
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
    const PartitionContext& context = TestPartitionContext(),
    const std::vector<std::string>& stage_names = {});

/// Bind + run of a chain; the input schema is that of the first batch.
/// REQUIRES: !batches.empty().
arrow::Result<StageOutput> RunTransformers(
    const std::vector<Transformer*>& chain,
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
    const PartitionContext& context = TestPartitionContext());

/// One transformer: Bind, Open, Apply each batch, Finish. REQUIRES: !batches.empty().
arrow::Result<StageOutput> RunTransformer(
    Transformer& transformer,
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
    const PartitionContext& context = TestPartitionContext());

/// Reads every planned partition of `consumer` for `run`, in plan order, and checks the
/// consumer's contract on the way: every batch has exactly the inferred schema, and a
/// partition with expected_rows >= 0 yields that many rows.
arrow::Result<std::shared_ptr<arrow::Table>> ReadConsumer(Consumer& consumer,
                                                          const RunInstance& run);

/// Reads one partition of `consumer` for `run`, with ReadConsumer's checks; its rows
/// sorted by `sort_column` when one is given (a server sends rows in its own order).
arrow::Result<std::shared_ptr<arrow::Table>> ReadPartition(
    Consumer& consumer, const RunInstance& run, const PartitionSpec& partition,
    const std::string& sort_column = "");

/// Binds `loader` to the batches' schema, then writes them as one partition of one run
/// and commits it (BeginRun, OpenPartition, Write..., Commit, FinishRun). Returns the
/// partition's manifest. On a failed Write, the partition is aborted.
arrow::Result<PartitionManifest> WriteToLoader(
    Loader& loader, const std::shared_ptr<arrow::Schema>& schema,
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
    const PartitionContext& context = TestPartitionContext());

/// A consumer that yields fixed batches as one partition (id "p00000" unless given):
/// the source of a pipeline test, where the real consumer is replaced by fixtures.
class FixtureConsumer : public Consumer {
 public:
  FixtureConsumer(std::shared_ptr<arrow::Schema> schema,
                  std::vector<std::shared_ptr<arrow::RecordBatch>> batches,
                  std::string partition_id = "p00000");

  arrow::Result<std::shared_ptr<arrow::Schema>> InferSchema() override { return schema_; }
  arrow::Result<std::vector<PartitionSpec>> PlanPartitions(
      const RunInstance& run) override;
  arrow::Result<std::unique_ptr<PartitionReader>> OpenPartition(
      const PartitionContext& context) override;

 private:
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches_;
  std::string partition_id_;
};

}  // namespace jetflow::testing
