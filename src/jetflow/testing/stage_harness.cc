#include "jetflow/testing/stage_harness.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/initialize.h>

#include <utility>

#include "jetflow/core/error.h"
#include "jetflow/testing/batch_compare.h"

namespace jetflow::testing {

namespace {

class FixtureReader : public PartitionReader {
 public:
  explicit FixtureReader(const std::vector<std::shared_ptr<arrow::RecordBatch>>* batches)
      : batches_(batches) {}
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    if (next_ >= batches_->size()) return nullptr;
    return (*batches_)[next_++];
  }

 private:
  const std::vector<std::shared_ptr<arrow::RecordBatch>>* batches_;
  size_t next_ = 0;
};

std::string StageName(size_t index) { return "transformer #" + std::to_string(index); }

// Most compute kernels need a one-time registration; stages under test expect it done,
// as the jetflow binary does at start-up. Idempotent.
arrow::Status InitializeCompute() {
  static const arrow::Status status = arrow::compute::Initialize();
  return status;
}

}  // namespace

PartitionContext TestPartitionContext(RunInstance run, PartitionSpec partition) {
  PartitionContext context;
  context.pipeline = "test";
  context.run = std::move(run);
  context.partition = std::move(partition);
  return context;
}

arrow::Result<std::shared_ptr<arrow::Schema>> BindTransformers(
    const std::vector<Transformer*>& chain,
    const std::shared_ptr<arrow::Schema>& input_schema) {
  std::shared_ptr<arrow::Schema> schema = input_schema;
  for (size_t i = 0; i < chain.size(); ++i) {
    auto bound = chain[i]->Bind(schema);
    if (!bound.ok()) return AddContext(bound.status(), StageName(i) + " Bind");
    schema = std::move(*bound);
  }
  return schema;
}

arrow::Result<StageOutput> RunBoundTransformers(
    const std::vector<Transformer*>& chain,
    const std::shared_ptr<arrow::Schema>& output_schema,
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
    const PartitionContext& context, const std::vector<std::string>& stage_names) {
  ARROW_RETURN_NOT_OK(InitializeCompute());
  auto StageName = [&](size_t i) {
    return i < stage_names.size() ? "transformer '" + stage_names[i] + "'"
                                  : "transformer #" + std::to_string(i);
  };
  StageOutput out;
  out.schema = output_schema;
  std::vector<std::shared_ptr<arrow::RecordBatch>> current = batches;
  for (size_t i = 0; i < chain.size(); ++i) {
    auto opened = chain[i]->Open(context);
    if (!opened.ok()) return AddContext(opened.status(), StageName(i) + " Open");
    std::unique_ptr<PartitionTransform> transform = std::move(*opened);
    std::vector<SideOutputSpec> outputs = chain[i]->side_outputs();
    const size_t first_side = out.side_rows.size();
    for (const auto& spec : outputs) out.side_rows.push_back({i, spec, {}});
    auto drain = [&]() -> arrow::Status {
      for (auto& side : transform->TakeSideBatches()) {
        if (side.output < 0 || static_cast<size_t>(side.output) >= outputs.size()) {
          return arrow::Status::Invalid(StageName(i), " sent rows to side output #",
                                        side.output, " but declares ", outputs.size());
        }
        out.side_rows[first_side + side.output].batches.push_back(std::move(side.batch));
      }
      return arrow::Status::OK();
    };
    std::vector<std::shared_ptr<arrow::RecordBatch>> next;
    for (size_t b = 0; b < current.size(); ++b) {
      auto applied = transform->Apply(current[b]);
      if (!applied.ok()) {
        return AddContext(applied.status(),
                          StageName(i) + " Apply, batch " + std::to_string(b));
      }
      if (*applied == nullptr) {
        return arrow::Status::Invalid(StageName(i),
                                      " Apply returned nullptr (it must return a batch, "
                                      "possibly empty)");
      }
      next.push_back(std::move(*applied));
      ARROW_RETURN_NOT_OK(drain());
    }
    auto finished = transform->Finish();
    if (!finished.ok()) return AddContext(finished.status(), StageName(i) + " Finish");
    for (auto& b : *finished) next.push_back(std::move(b));
    ARROW_RETURN_NOT_OK(drain());
    out.counters.push_back(transform->counters());
    current = std::move(next);
  }
  for (const auto& b : current) {
    if (!b->schema()->Equals(*output_schema, /*check_metadata=*/false)) {
      return arrow::Status::Invalid(
          "a batch out of the chain does not have the schema Bind() returned:\n  bound: ",
          output_schema->ToString(), "\n  batch: ", b->schema()->ToString());
    }
  }
  out.batches = std::move(current);
  ARROW_ASSIGN_OR_RAISE(out.table, TableFromBatches(output_schema, out.batches));
  return out;
}

arrow::Result<StageOutput> RunTransformers(
    const std::vector<Transformer*>& chain,
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
    const PartitionContext& context) {
  if (batches.empty()) {
    return arrow::Status::Invalid(
        "RunTransformers needs at least one (possibly empty) batch");
  }
  ARROW_ASSIGN_OR_RAISE(auto schema, BindTransformers(chain, batches[0]->schema()));
  return RunBoundTransformers(chain, schema, batches, context);
}

arrow::Result<StageOutput> RunTransformer(
    Transformer& transformer,
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
    const PartitionContext& context) {
  return RunTransformers({&transformer}, batches, context);
}

arrow::Result<std::shared_ptr<arrow::Table>> ReadPartition(
    Consumer& consumer, const RunInstance& run, const PartitionSpec& partition,
    const std::string& sort_column) {
  ARROW_RETURN_NOT_OK(InitializeCompute());
  ARROW_ASSIGN_OR_RAISE(auto schema, consumer.InferSchema());
  PartitionContext context = TestPartitionContext(run, partition);
  ARROW_ASSIGN_OR_RAISE(auto reader, consumer.OpenPartition(context));
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  int64_t rows = 0;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (batch == nullptr) break;
    if (!batch->schema()->Equals(*schema, /*check_metadata=*/false)) {
      return arrow::Status::Invalid("partition ", partition.id,
                                    ": batch schema differs from InferSchema():\n  "
                                    "inferred: ",
                                    schema->ToString(),
                                    "\n  batch: ", batch->schema()->ToString());
    }
    rows += batch->num_rows();
    batches.push_back(std::move(batch));
  }
  if (partition.expected_rows >= 0 && rows != partition.expected_rows) {
    return arrow::Status::Invalid("partition ", partition.id, ": planned ",
                                  partition.expected_rows, " rows, read ", rows);
  }
  ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(schema, batches));
  if (sort_column.empty()) return table;
  ARROW_ASSIGN_OR_RAISE(
      auto order,
      arrow::compute::SortIndices(
          table, arrow::compute::SortOptions({arrow::compute::SortKey(sort_column)})));
  ARROW_ASSIGN_OR_RAISE(auto sorted, arrow::compute::Take(table, order));
  return sorted.table();
}

arrow::Result<std::shared_ptr<arrow::Table>> ReadConsumer(Consumer& consumer,
                                                          const RunInstance& run) {
  ARROW_ASSIGN_OR_RAISE(auto schema, consumer.InferSchema());
  ARROW_ASSIGN_OR_RAISE(auto partitions, consumer.PlanPartitions(run));
  std::vector<std::shared_ptr<arrow::Table>> tables;
  for (const auto& partition : partitions) {
    ARROW_ASSIGN_OR_RAISE(auto table, ReadPartition(consumer, run, partition));
    tables.push_back(std::move(table));
  }
  if (tables.empty()) return arrow::Table::MakeEmpty(schema);
  return arrow::ConcatenateTables(tables);
}

arrow::Result<PartitionManifest> WriteToLoader(
    Loader& loader, const std::shared_ptr<arrow::Schema>& schema,
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
    const PartitionContext& context) {
  ARROW_RETURN_NOT_OK(InitializeCompute());
  ARROW_RETURN_NOT_OK(loader.Bind(schema).status());
  RunContext run{context.pipeline, context.run, 1};
  ARROW_RETURN_NOT_OK(loader.BeginRun(run));
  ARROW_ASSIGN_OR_RAISE(auto writer, loader.OpenPartition(context));
  for (const auto& batch : batches) {
    arrow::Status status = writer->Write(batch);
    if (!status.ok()) {
      arrow::Status aborted = writer->Abort();
      return aborted.ok() ? status : AddContext(status, "abort: " + aborted.ToString());
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto manifest, writer->Commit());
  ARROW_RETURN_NOT_OK(loader.FinishRun(run, {manifest}));
  return manifest;
}

FixtureConsumer::FixtureConsumer(std::shared_ptr<arrow::Schema> schema,
                                 std::vector<std::shared_ptr<arrow::RecordBatch>> batches,
                                 std::string partition_id)
    : schema_(std::move(schema)),
      batches_(std::move(batches)),
      partition_id_(std::move(partition_id)) {}

arrow::Result<std::vector<PartitionSpec>> FixtureConsumer::PlanPartitions(
    const RunInstance&) {
  int64_t rows = 0;
  for (const auto& b : batches_) rows += b->num_rows();
  return std::vector<PartitionSpec>{{partition_id_, "test fixture", rows}};
}

arrow::Result<std::unique_ptr<PartitionReader>> FixtureConsumer::OpenPartition(
    const PartitionContext& context) {
  if (context.partition.id != partition_id_) {
    return arrow::Status::Invalid("fixture consumer has no partition '",
                                  context.partition.id, "'");
  }
  return std::make_unique<FixtureReader>(&batches_);
}

}  // namespace jetflow::testing
