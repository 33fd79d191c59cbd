// Engine tests with small in-memory stages: retries, cancellation, resume, reconciliation
// and the memory budget. The real consumers and loaders have their own tests, and the
// end-to-end suite (tests/e2e) runs them together through the CLI.
#include "jetflow/engine/pipeline_runner.h"

#include <arrow/api.h>
#include <arrow/util/thread_pool.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "jetflow/core/error.h"
#include "jetflow/engine/cancellation.h"
#include "jetflow/state/sqlite/sqlite_state_store.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

std::shared_ptr<arrow::Schema> TestSchema() {
  return arrow::schema({arrow::field("id", arrow::int64(), /*nullable=*/false)});
}

// Partition k has `batches` batches of `rows_per_batch` consecutive ids.
struct FakeSource {
  int partitions = 4;
  int batches = 3;
  int64_t rows_per_batch = 1000;
  std::string fail_partition;  // this partition fails at batch 1 ...
  bool fail_retryable = true;  // ... with a retryable or permanent error ...
  int fail_times = 1;          // ... this many times (then succeeds)
  int64_t promise_rows = -1;   // expected_rows announced at plan time (-1: unknown)
  bool change_values = false;  // every batch reports one changed value of column id
  std::mutex mutex;
  int failures_so_far = 0;
  std::vector<std::string> opened;
  std::set<arrow::MemoryPool*> pools;  // the contexts' memory pools
  int plans = 0;                       // PlanPartitions calls
  // Batches the engine took from every reader: counted when a reader is asked for its
  // next batch, which the engine does only once the last one is reserved in the memory
  // budget and queued (for FakeSink::hold_writes_until).
  std::atomic<int> batches_taken{0};
};

class FakeReader : public PartitionReader {
 public:
  FakeReader(FakeSource* source, int partition, bool fail,
             const PartitionContext& context)
      : source_(source),
        partition_(partition),
        fail_(fail),
        pool_(context.memory_pool),
        value_changes_(context.value_changes) {}
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    if (next_ > 0) ++source_->batches_taken;
    if (next_ == source_->batches) return nullptr;
    if (fail_ && next_ == 1) {
      arrow::Status error = arrow::Status::IOError("connection reset by peer");
      return source_->fail_retryable ? MarkRetryable(error) : error;
    }
    arrow::Int64Builder builder(pool_);
    int64_t first = (static_cast<int64_t>(partition_) * source_->batches + next_) *
                    source_->rows_per_batch;
    for (int64_t i = 0; i < source_->rows_per_batch; ++i) {
      ARROW_RETURN_NOT_OK(builder.Append(first + i));
    }
    ++next_;
    if (source_->change_values) {
      value_changes_->Add({"fake", "id", "-infinity", "clamp", "written as 0", 1});
    }
    ARROW_ASSIGN_OR_RAISE(auto array, builder.Finish());
    return arrow::RecordBatch::Make(TestSchema(), array->length(), {array});
  }

 private:
  FakeSource* source_;
  int partition_;
  bool fail_;
  arrow::MemoryPool* pool_;
  std::shared_ptr<ValueChanges> value_changes_;
  int next_ = 0;
};

class FakeConsumer : public Consumer {
 public:
  explicit FakeConsumer(FakeSource* source) : source_(source) {}
  arrow::Result<std::shared_ptr<arrow::Schema>> InferSchema() override {
    return TestSchema();
  }
  arrow::Result<std::vector<PartitionSpec>> PlanPartitions(const RunInstance&) override {
    ++source_->plans;
    std::vector<PartitionSpec> plan;
    for (int k = 0; k < source_->partitions; ++k) {
      plan.push_back({"p" + std::to_string(k), "partition " + std::to_string(k),
                      source_->promise_rows});
    }
    return plan;
  }
  arrow::Result<std::unique_ptr<PartitionReader>> OpenPartition(
      const PartitionContext& context) override {
    std::lock_guard<std::mutex> lock(source_->mutex);
    source_->opened.push_back(context.partition.id);
    source_->pools.insert(context.memory_pool);
    bool fail = context.partition.id == source_->fail_partition &&
                source_->failures_so_far < source_->fail_times;
    if (fail) ++source_->failures_so_far;
    int k = std::stoi(context.partition.id.substr(1));
    return std::make_unique<FakeReader>(source_, k, fail, context);
  }

 private:
  FakeSource* source_;
};

// Records what was committed; commits are kept per partition id, so a retried partition
// that committed twice would show up as a duplicate.
struct FakeSink {
  std::mutex mutex;
  std::map<std::string, int64_t> committed_rows;
  std::vector<std::string> commits;
  int aborts = 0;
  int finished_runs = 0;
  std::vector<PartitionManifest> finished_with;
  std::string bind_error;
  std::string refused_run_key;  // CheckRunInstance refuses a run instance with this key
  std::string fail_commit;      // Commit of this partition fails (permanently)
  bool hold_rows = false;       // writers keep every row in memory until commit
  std::chrono::milliseconds write_delay{0};  // a slow sink, so batches pile up
  // Writes wait until this holds (at most hold_writes_at_most, once per run): batches
  // pile up by construction, not because of how fast the readers happen to be.
  std::function<bool()> hold_writes_until;
  std::chrono::milliseconds hold_writes_at_most{3000};
  std::atomic<bool> writes_released{false};
  // VerifyCommitted: partitions whose output is found damaged, an error reading any, and
  // the (partition, depth) of every call.
  std::set<std::string> damaged;
  std::string verify_error;
  std::vector<std::pair<std::string, VerifyDepth>> verified;
};

class FakeWriter : public PartitionWriter {
 public:
  FakeWriter(FakeSink* sink, std::string id) : sink_(sink), id_(std::move(id)) {}
  arrow::Status Write(const std::shared_ptr<arrow::RecordBatch>& batch) override {
    if (sink_->hold_writes_until && !sink_->writes_released) {
      const auto deadline = std::chrono::steady_clock::now() + sink_->hold_writes_at_most;
      while (!sink_->hold_writes_until() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      sink_->writes_released = true;
    }
    if (sink_->write_delay.count() > 0) std::this_thread::sleep_for(sink_->write_delay);
    rows_ += batch->num_rows();
    return arrow::Status::OK();
  }
  int64_t rows_written() const override { return rows_; }
  int64_t buffered_bytes() const override { return sink_->hold_rows ? rows_ * 8 : 0; }
  arrow::Result<PartitionManifest> Commit() override {
    std::lock_guard<std::mutex> lock(sink_->mutex);
    if (id_ == sink_->fail_commit) return arrow::Status::IOError("disk full");
    sink_->committed_rows[id_] = rows_;
    sink_->commits.push_back(id_);
    PartitionManifest manifest;
    manifest.partition_id = id_;
    manifest.rows = rows_;
    manifest.bytes = rows_ * 8;
    return manifest;
  }
  arrow::Status Abort() override {
    std::lock_guard<std::mutex> lock(sink_->mutex);
    ++sink_->aborts;
    return arrow::Status::OK();
  }

 private:
  FakeSink* sink_;
  std::string id_;
  int64_t rows_ = 0;
};

class FakeLoader : public Loader {
 public:
  explicit FakeLoader(FakeSink* sink) : sink_(sink) {}
  arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) override {
    if (!sink_->bind_error.empty()) return arrow::Status::Invalid(sink_->bind_error);
    return input;
  }
  arrow::Status CheckRunInstance(const RunInstance& run) override {
    if (run.key == sink_->refused_run_key) {
      return arrow::Status::Invalid("column '", run.key, "' is named like the run key");
    }
    return arrow::Status::OK();
  }
  arrow::Status BeginRun(const RunContext&) override { return arrow::Status::OK(); }
  arrow::Result<std::unique_ptr<PartitionWriter>> OpenPartition(
      const PartitionContext& context) override {
    return std::make_unique<FakeWriter>(sink_, context.partition.id);
  }
  arrow::Status FinishRun(const RunContext&,
                          const std::vector<PartitionManifest>& partitions) override {
    std::lock_guard<std::mutex> lock(sink_->mutex);
    ++sink_->finished_runs;
    sink_->finished_with = partitions;
    return arrow::Status::OK();
  }
  arrow::Result<std::vector<ManifestDifference>> VerifyCommitted(
      const PartitionManifest& manifest, VerifyDepth depth) override {
    std::lock_guard<std::mutex> lock(sink_->mutex);
    sink_->verified.emplace_back(manifest.partition_id, depth);
    if (!sink_->verify_error.empty()) return arrow::Status::IOError(sink_->verify_error);
    if (!sink_->damaged.count(manifest.partition_id)) {
      return std::vector<ManifestDifference>{};
    }
    return std::vector<ManifestDifference>{
        {manifest.partition_id + "/part-0.bin", "size", "8 bytes", "16 bytes"}};
  }

 private:
  FakeSink* sink_;
};

// Passes every row on and counts each under one rule whose action keeps the row.
class CountingTransformer : public Transformer {
 public:
  arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) override {
    return input;
  }
  arrow::Result<std::unique_ptr<PartitionTransform>> Open(
      const PartitionContext&) override {
    class Counting : public PartitionTransform {
     public:
      arrow::Result<std::shared_ptr<arrow::RecordBatch>> Apply(
          const std::shared_ptr<arrow::RecordBatch>& batch) override {
        rows_ += batch->num_rows();
        return batch;
      }
      TransformCounters counters() const override {
        return {0, 0, {{"cast:id", "null", rows_}}};
      }

     private:
      int64_t rows_ = 0;
    };
    return std::make_unique<Counting>();
  }
};

class PipelineRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jetflow_engine_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto store = SqliteStateStore::Open((dir_ / "state.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    state_ = std::move(*store);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Pipeline MakePipeline(int loaders = 1) {
    Pipeline pipeline;
    pipeline.name = "test";
    pipeline.consumer = std::make_unique<FakeConsumer>(&source_);
    for (int i = 0; i < loaders; ++i) {
      pipeline.loaders.push_back(
          {"sink" + std::to_string(i), std::make_unique<FakeLoader>(&sink_)});
    }
    pipeline.engine.partitions_in_flight = 2;
    pipeline.engine.compute_threads = 1;
    pipeline.engine.retry_backoff = std::chrono::milliseconds(1);
    return pipeline;
  }

  RunSummary RunOnce(Pipeline& pipeline, bool restart = false,
                     RunProgress* progress = nullptr) {
    RunOptions options;
    options.restart = restart;
    options.progress = progress;
    auto summary = PipelineRunner::Run(pipeline, run_, *state_, options);
    EXPECT_TRUE(summary.ok()) << summary.status().ToString();
    return summary.ok() ? *summary : RunSummary{};
  }

  std::filesystem::path dir_;
  std::unique_ptr<StateStore> state_;
  RunInstance run_{"dt", "2026-11-25"};
  FakeSource source_;
  FakeSink sink_;
};

TEST_F(PipelineRunnerTest, CommitsEveryPartitionOnceAndReconciles) {
  Pipeline pipeline = MakePipeline();
  RunSummary summary = RunOnce(pipeline);
  ASSERT_TRUE(summary.succeeded) << summary.error;
  EXPECT_EQ(summary.partitions_total, 4);
  EXPECT_EQ(summary.rows_read, 4 * 3 * 1000);
  EXPECT_EQ(summary.rows_written, summary.rows_read);
  EXPECT_EQ(sink_.commits.size(), 4u);
  EXPECT_EQ(sink_.finished_runs, 1);
  EXPECT_EQ(sink_.finished_with.size(), 4u);
  for (const auto& [id, rows] : sink_.committed_rows) EXPECT_EQ(rows, 3000) << id;
}

TEST_F(PipelineRunnerTest, RetryableFailureRetriesOnlyThatPartition) {
  source_.fail_partition = "p2";
  Pipeline pipeline = MakePipeline();
  RunSummary summary = RunOnce(pipeline);
  ASSERT_TRUE(summary.succeeded) << summary.error;
  EXPECT_EQ(summary.attempts_retried, 1);
  EXPECT_EQ(sink_.aborts, 1);
  EXPECT_EQ(sink_.commits.size(), 4u);  // p2 committed once, by its second attempt
  EXPECT_EQ(summary.rows_written, 12000);
  auto partitions = state_->ListPartitions(summary.run_id);
  JETFLOW_ASSERT_OK(partitions);
  for (const auto& p : *partitions) {
    EXPECT_EQ(p.status, PartitionStatus::kCommitted);
    EXPECT_EQ(p.attempts, p.partition_id == "p2" ? 2 : 1) << p.partition_id;
  }
}

// The live counters (the progress line and log) count a partition's rows once, by the
// attempt that committed it; what failed attempts read is counted apart.
TEST_F(PipelineRunnerTest, ProgressCountsOnlyTheRowsOfAttemptsThatCommitted) {
  source_.fail_partition = "p2";  // its first attempt reads batch 0, then fails
  Pipeline pipeline = MakePipeline();
  RunProgress progress;
  RunSummary summary = RunOnce(pipeline, /*restart=*/false, &progress);
  ASSERT_TRUE(summary.succeeded) << summary.error;
  ASSERT_EQ(summary.attempts_retried, 1);
  EXPECT_EQ(progress.rows_read.load(), 12000);
  EXPECT_EQ(progress.rows_written.load(), 12000);
  EXPECT_EQ(progress.bytes_read.load(), 12000 * 8);
  EXPECT_EQ(progress.rows_discarded.load(), 1000);
  EXPECT_EQ(progress.partitions_done.load(), 4);
  EXPECT_EQ(summary.rows_read, 12000);
}

// Values a stage changed are reported for the attempts that committed: in every
// manifest, in the state store and summed in the summary.
TEST_F(PipelineRunnerTest, ValueChangesOfCommittedAttemptsReachManifestsAndSummary) {
  source_.change_values = true;
  source_.fail_partition = "p2";  // its failed attempt counted a change: dropped
  Pipeline pipeline = MakePipeline(/*loaders=*/2);
  RunSummary summary = RunOnce(pipeline);
  ASSERT_TRUE(summary.succeeded) << summary.error;
  ASSERT_EQ(summary.value_changes.size(), 1u);
  EXPECT_EQ(summary.value_changes[0].stage, "fake");
  EXPECT_EQ(summary.value_changes[0].column, "id");
  EXPECT_EQ(summary.value_changes[0].change, "-infinity");
  EXPECT_EQ(summary.value_changes[0].action, "clamp");
  EXPECT_EQ(summary.value_changes[0].detail, "written as 0");
  EXPECT_EQ(summary.value_changes[0].values, 4 * 3);
  ASSERT_EQ(sink_.finished_with.size(), 4u);
  for (const PartitionManifest& manifest : sink_.finished_with) {
    ASSERT_EQ(manifest.value_changes.size(), 1u) << manifest.partition_id;
    EXPECT_EQ(manifest.value_changes[0].values, 3) << manifest.partition_id;
  }
  auto partitions = state_->ListPartitions(summary.run_id);
  JETFLOW_ASSERT_OK(partitions);
  for (const auto& p : *partitions) {
    EXPECT_NE(p.manifests_json.find("\"values\": 3"), std::string::npos)
        << p.manifests_json;
  }
  // Running the instance again counts its own attempts, not added to the earlier run's.
  Pipeline unchanged = MakePipeline(/*loaders=*/2);
  summary = RunOnce(unchanged);
  ASSERT_TRUE(summary.succeeded);
  ASSERT_EQ(summary.value_changes.size(), 1u);
  EXPECT_EQ(summary.value_changes[0].values, 4 * 3);
}

// A partition that failed published nothing: its last attempt's rows and rule counts,
// which the state store keeps for the record, are not in the run's totals.
TEST_F(PipelineRunnerTest, SummaryCountsOnlyCommittedPartitions) {
  sink_.fail_commit = "p1";
  Pipeline pipeline = MakePipeline();
  pipeline.engine.partitions_in_flight = 1;  // p0 commits, then p1 fails at its commit
  pipeline.transformers.push_back({"counting", std::make_unique<CountingTransformer>()});
  RunSummary summary = RunOnce(pipeline);
  ASSERT_FALSE(summary.succeeded);
  EXPECT_EQ(summary.partitions_failed, 1);
  EXPECT_EQ(summary.rows_read, 3000);
  EXPECT_EQ(summary.rows_written, 3000);
  ASSERT_EQ(summary.rules.size(), 1u);
  EXPECT_EQ(summary.rules[0].rows, 3000);
  // The store still tells what the failed attempt did.
  auto partitions = state_->ListPartitions(summary.run_id);
  JETFLOW_ASSERT_OK(partitions);
  for (const auto& p : *partitions) {
    if (p.partition_id == "p1") {
      EXPECT_EQ(p.status, PartitionStatus::kFailed);
      EXPECT_EQ(p.rows_read, 3000);
    }
  }
}

TEST_F(PipelineRunnerTest, RetriesStopAtMaxAttempts) {
  source_.fail_partition = "p1";
  source_.fail_times = 100;
  Pipeline pipeline = MakePipeline();
  pipeline.engine.max_attempts = 3;
  RunSummary summary = RunOnce(pipeline);
  EXPECT_FALSE(summary.succeeded);
  EXPECT_EQ(source_.failures_so_far, 3);
  EXPECT_EQ(sink_.finished_runs, 0);
}

TEST_F(PipelineRunnerTest, PermanentFailureFailsRunWithContext) {
  source_.fail_partition = "p1";
  source_.fail_retryable = false;
  Pipeline pipeline = MakePipeline();
  RunSummary summary = RunOnce(pipeline);
  EXPECT_FALSE(summary.succeeded);
  EXPECT_EQ(source_.failures_so_far, 1);  // not retried
  EXPECT_NE(summary.error.find("connection reset by peer"), std::string::npos);
  EXPECT_NE(summary.error.find("partition p1"), std::string::npos) << summary.error;
  EXPECT_NE(summary.error.find("stage consumer, batch 1"), std::string::npos)
      << summary.error;
  EXPECT_EQ(sink_.committed_rows.count("p1"), 0u);
  EXPECT_EQ(sink_.finished_runs, 0);
  auto run = state_->GetRun(summary.run_id);
  ASSERT_TRUE(run.ok() && run->has_value());
  EXPECT_EQ((*run)->status, RunStatus::kFailed);
}

TEST_F(PipelineRunnerTest, ResumeKeepsCommittedPartitions) {
  source_.fail_partition = "p2";
  source_.fail_retryable = false;
  {
    Pipeline pipeline = MakePipeline();
    pipeline.engine.partitions_in_flight = 1;  // p0, p1 commit before p2 fails
    RunSummary failed = RunOnce(pipeline);
    ASSERT_FALSE(failed.succeeded);
  }
  source_.opened.clear();
  sink_.commits.clear();
  Pipeline pipeline = MakePipeline();
  RunSummary resumed = RunOnce(pipeline);
  ASSERT_TRUE(resumed.succeeded) << resumed.error;
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.partitions_kept, 2);
  EXPECT_EQ(std::set<std::string>(source_.opened.begin(), source_.opened.end()),
            (std::set<std::string>{"p2", "p3"}));
  EXPECT_EQ(resumed.rows_written, 12000);  // totals include the kept partitions
  EXPECT_EQ(sink_.finished_with.size(), 4u);

  // A finished run is not resumed: the next run of the instance redoes everything.
  source_.opened.clear();
  Pipeline again = MakePipeline();
  RunSummary rerun = RunOnce(again);
  ASSERT_TRUE(rerun.succeeded);
  EXPECT_FALSE(rerun.resumed);
  EXPECT_EQ(source_.opened.size(), 4u);
}

TEST_F(PipelineRunnerTest, ResumeRedoesACommittedPartitionWhoseOutputIsDamaged) {
  source_.fail_partition = "p2";
  source_.fail_retryable = false;
  {
    Pipeline pipeline = MakePipeline();
    pipeline.engine.partitions_in_flight = 1;  // p0, p1 commit before p2 fails
    ASSERT_FALSE(RunOnce(pipeline).succeeded);
  }
  EXPECT_TRUE(sink_.verified.empty()) << "a fresh run has nothing to check";
  source_.opened.clear();
  sink_.damaged = {"p1"};
  Pipeline pipeline = MakePipeline();
  RunSummary resumed = RunOnce(pipeline);
  ASSERT_TRUE(resumed.succeeded) << resumed.error;
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.partitions_kept, 1);
  EXPECT_EQ(resumed.partitions_damaged, 1);
  EXPECT_EQ(resumed.partitions_changed, 0);
  EXPECT_EQ(std::set<std::string>(source_.opened.begin(), source_.opened.end()),
            (std::set<std::string>{"p1", "p2", "p3"}));
  // Only the committed partitions were checked, at the default depth.
  std::sort(sink_.verified.begin(), sink_.verified.end());
  EXPECT_EQ(sink_.verified,
            (std::vector<std::pair<std::string, VerifyDepth>>{
                {"p0", VerifyDepth::kChecksum}, {"p1", VerifyDepth::kChecksum}}));
  EXPECT_EQ(resumed.rows_written, 12000);
  EXPECT_EQ(sink_.finished_with.size(), 4u);
  auto partitions = state_->ListPartitions(resumed.run_id);
  JETFLOW_ASSERT_OK(partitions);
  EXPECT_EQ((*partitions)[1].attempts, 2);  // attempt numbers continue
  EXPECT_EQ((*partitions)[1].status, PartitionStatus::kCommitted);
}

TEST_F(PipelineRunnerTest, ResumeChecksAtTheConfiguredDepth) {
  source_.fail_partition = "p1";
  source_.fail_retryable = false;
  {
    Pipeline pipeline = MakePipeline();
    pipeline.engine.partitions_in_flight = 1;
    ASSERT_FALSE(RunOnce(pipeline).succeeded);
  }
  Pipeline pipeline = MakePipeline();
  pipeline.engine.verify_on_resume = VerifyDepth::kSize;
  RunSummary resumed = RunOnce(pipeline);
  ASSERT_TRUE(resumed.succeeded) << resumed.error;
  EXPECT_EQ(resumed.partitions_kept, 1);
  EXPECT_EQ(
      sink_.verified,
      (std::vector<std::pair<std::string, VerifyDepth>>{{"p0", VerifyDepth::kSize}}));
}

TEST_F(PipelineRunnerTest, OutputThatCannotBeReadFailsTheResumeInsteadOfBeingKept) {
  source_.fail_partition = "p2";
  source_.fail_retryable = false;
  {
    Pipeline pipeline = MakePipeline();
    pipeline.engine.partitions_in_flight = 1;
    ASSERT_FALSE(RunOnce(pipeline).succeeded);
  }
  source_.opened.clear();
  sink_.verify_error = "permission denied";
  Pipeline pipeline = MakePipeline();
  RunSummary resumed = RunOnce(pipeline);
  EXPECT_FALSE(resumed.succeeded);
  EXPECT_NE(resumed.error.find("permission denied"), std::string::npos) << resumed.error;
  EXPECT_NE(resumed.error.find("checking committed partition"), std::string::npos)
      << resumed.error;
  EXPECT_TRUE(source_.opened.empty());
  EXPECT_EQ(sink_.finished_runs, 0);
  // Once it can be read, the next resume keeps what matches.
  sink_.verify_error.clear();
  Pipeline again = MakePipeline();
  RunSummary fixed = RunOnce(again);
  ASSERT_TRUE(fixed.succeeded) << fixed.error;
  EXPECT_EQ(fixed.partitions_kept, 2);
}

TEST_F(PipelineRunnerTest, ReconciliationCatchesMissingRows) {
  source_.promise_rows = 3001;  // the source promised one row more than it yields
  Pipeline pipeline = MakePipeline();
  RunSummary summary = RunOnce(pipeline);
  EXPECT_FALSE(summary.succeeded);
  EXPECT_NE(summary.error.find("reconciliation failed"), std::string::npos)
      << summary.error;
  EXPECT_TRUE(sink_.commits.empty());
  // Nothing was committed, so nothing was read or written as far as the summary goes
  // (the failed attempts' rows were aborted).
  EXPECT_EQ(summary.rows_read, 0);
  EXPECT_EQ(summary.rows_written, 0);
  EXPECT_GE(summary.partitions_failed, 1);
}

TEST_F(PipelineRunnerTest, MemoryBudgetBoundsBatchesInFlight) {
  source_.partitions = 4;
  source_.batches = 12;
  source_.rows_per_batch = 16384;  // 128 KiB per batch
  // No batch is written before 12 (1.5 MiB) were read, or 3 s passed: with the small
  // budget, readers cannot get there and wait for the writers; without it, they do.
  sink_.hold_writes_until = [&] { return source_.batches_taken >= 12; };
  auto peak_with_budget = [&](int64_t budget) {
    sink_.writes_released = false;
    source_.batches_taken = 0;
    Pipeline pipeline = MakePipeline();
    pipeline.engine.memory_budget_bytes = budget;
    pipeline.engine.queue_batches = 64;
    RunSummary summary = RunOnce(pipeline, /*restart=*/true);
    EXPECT_TRUE(summary.succeeded) << summary.error;
    return summary.peak_budget_bytes;
  };
  const int64_t bounded = peak_with_budget(512 * 1024);
  EXPECT_GT(bounded, 0);
  EXPECT_LE(bounded, 512 * 1024);
  // The control: with room, the same run holds far more, so the budget is what bounded
  // it.
  EXPECT_GT(peak_with_budget(int64_t{1} << 30), 1024 * 1024);
}

TEST_F(PipelineRunnerTest, ConsumersAllocateFromTheDefaultPoolWithinTheWholeBudget) {
  source_.partitions = 4;
  source_.batches = 12;
  source_.rows_per_batch = 16384;  // 128 KiB per batch
  // Readers fill the budget before any batch is written (7 batches, or 3 s).
  sink_.hold_writes_until = [&] { return source_.batches_taken >= 7; };
  Pipeline pipeline = MakePipeline();
  const int64_t budget = 1024 * 1024;
  pipeline.engine.memory_budget_bytes = budget;
  pipeline.engine.queue_batches = 64;
  RunSummary summary = RunOnce(pipeline);
  ASSERT_TRUE(summary.succeeded) << summary.error;
  EXPECT_EQ(source_.pools, std::set<arrow::MemoryPool*>{arrow::default_memory_pool()});
  // Batches in flight fill the budget (nothing of it is set aside) and stay within it.
  EXPECT_GT(summary.peak_budget_bytes, budget * 3 / 4);
  EXPECT_LE(summary.peak_budget_bytes, budget);
}

TEST_F(PipelineRunnerTest, WriterHeldMemoryCountsInBudgetWithoutDeadlock) {
  source_.partitions = 4;
  source_.batches = 3;
  source_.rows_per_batch = 16384;  // 128 KiB per batch; a writer ends up holding 384 KiB
  sink_.hold_rows = true;
  Pipeline pipeline = MakePipeline();
  pipeline.engine.memory_budget_bytes = 256 * 1024;  // less than one writer holds
  RunSummary summary = RunOnce(pipeline);
  ASSERT_TRUE(summary.succeeded) << summary.error;
  EXPECT_EQ(summary.rows_written, 4 * 3 * 16384);
  // The writers' data was counted: more than the queues alone could ever reserve.
  EXPECT_GE(summary.peak_budget_bytes, 3 * 16384 * 8);
}

TEST_F(PipelineRunnerTest, PlanReportsEveryLoaderError) {
  sink_.bind_error = "column 'x' is missing";
  Pipeline pipeline = MakePipeline(/*loaders=*/2);
  auto plan = PipelineRunner::Plan(pipeline, run_);
  ASSERT_TRUE(plan.status().IsInvalid());
  EXPECT_NE(plan.status().message().find("loader 'sink0'"), std::string::npos);
  EXPECT_NE(plan.status().message().find("loader 'sink1'"), std::string::npos);
}

TEST_F(PipelineRunnerTest, PlanChecksEveryLoaderAgainstTheRunInstance) {
  sink_.refused_run_key = "dt";
  Pipeline pipeline = MakePipeline(/*loaders=*/2);
  auto plan = PipelineRunner::Plan(pipeline, run_);
  ASSERT_TRUE(plan.status().IsInvalid());
  EXPECT_NE(plan.status().message().find(
                "loader 'sink0': column 'dt' is named like the run key"),
            std::string::npos)
      << plan.status().ToString();
  EXPECT_NE(plan.status().message().find("loader 'sink1'"), std::string::npos);
  // Run refuses it before anything is recorded.
  RunOptions options;
  EXPECT_TRUE(PipelineRunner::Run(pipeline, run_, *state_, options).status().IsInvalid());
  EXPECT_TRUE(state_->ListRuns("test", 10)->empty());
  EXPECT_EQ(sink_.commits.size(), 0u);
  JETFLOW_ASSERT_OK(PipelineRunner::Plan(pipeline, RunInstance{"day", "2026-11-25"}));
}

TEST_F(PipelineRunnerTest, InterruptCancelsRunAndTheRecordEnds) {
  Cancellation interrupt;
  interrupt.Cancel(arrow::Status::Cancelled("interrupted by SIGINT"));
  Pipeline pipeline = MakePipeline();
  RunOptions options;
  options.cancellation = &interrupt;
  auto summary = PipelineRunner::Run(pipeline, run_, *state_, options);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_FALSE(summary->succeeded);
  EXPECT_NE(summary->error.find("interrupted by SIGINT"), std::string::npos)
      << summary->error;
  EXPECT_EQ(sink_.finished_runs, 0);
  // The only worker left the run: it is failed, not running, and resumes next time.
  auto run = state_->GetRun(summary->run_id);
  ASSERT_TRUE(run.ok() && run->has_value());
  EXPECT_EQ((*run)->status, RunStatus::kFailed);
  Pipeline again = MakePipeline();
  RunSummary resumed = RunOnce(again);
  EXPECT_TRUE(resumed.succeeded) << resumed.error;
  EXPECT_TRUE(resumed.resumed);
}

/// A loader whose BeginRun fails: an error before any partition ran.
class FailingBeginLoader : public FakeLoader {
 public:
  using FakeLoader::FakeLoader;
  arrow::Status BeginRun(const RunContext&) override {
    return arrow::Status::IOError("cannot clean the staging directory");
  }
};

TEST_F(PipelineRunnerTest, AnEarlyErrorStillEndsTheRunRecord) {
  Pipeline pipeline = MakePipeline(0);
  pipeline.loaders.push_back({"sink0", std::make_unique<FailingBeginLoader>(&sink_)});
  RunSummary summary = RunOnce(pipeline);
  EXPECT_FALSE(summary.succeeded);
  EXPECT_NE(summary.error.find("cannot clean the staging directory"), std::string::npos)
      << summary.error;
  auto run = state_->GetRun(summary.run_id);
  ASSERT_TRUE(run.ok() && run->has_value());
  EXPECT_EQ((*run)->status, RunStatus::kFailed);
  EXPECT_EQ((*run)->error, summary.error);
}

TEST_F(PipelineRunnerTest, RunLeavesArrowsCpuPoolAlone) {
  // A process-wide setting: the program applies engine.compute_threads, not the engine.
  const int before = arrow::GetCpuThreadPoolCapacity();
  Pipeline pipeline = MakePipeline();
  pipeline.engine.compute_threads = before + 3;
  EXPECT_TRUE(RunOnce(pipeline).succeeded);
  EXPECT_EQ(arrow::GetCpuThreadPoolCapacity(), before);
}

TEST_F(PipelineRunnerTest, TwoWorkersOnOneRunCommitEachPartitionOnceAndFinishOnce) {
  source_.partitions = 12;
  sink_.write_delay = std::chrono::milliseconds(5);
  Pipeline first = MakePipeline();
  Pipeline second = MakePipeline();
  auto other = SqliteStateStore::Open((dir_ / "state.db").string());
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  arrow::Result<RunSummary> a, b;
  std::thread worker_a([&] {
    RunOptions options;
    options.worker = "hostA/1/0000000a/1";
    a = PipelineRunner::Run(first, run_, *state_, options);
  });
  std::thread worker_b([&] {
    RunOptions options;
    options.worker = "hostB/2/0000000b/2";
    b = PipelineRunner::Run(second, run_, **other, options);
  });
  worker_a.join();
  worker_b.join();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(a->succeeded) << a->error;
  EXPECT_TRUE(b->succeeded) << b->error;
  EXPECT_EQ(a->run_id, b->run_id);
  EXPECT_TRUE(a->joined || b->joined);
  EXPECT_EQ(sink_.committed_rows.size(), 12u);
  EXPECT_EQ(sink_.commits.size(), 12u);  // no partition committed twice
  EXPECT_EQ(sink_.finished_runs, 1);     // one finisher
  EXPECT_EQ(a->rows_written, 12 * 3000);
}

}  // namespace
}  // namespace jetflow

namespace jetflow {
namespace {

// An incremental source: pins a window per run instance at begin, advances a cursor at
// commit (the shape of the PostgreSQL consumer's `incremental` and of Kafka offsets).
class WindowedConsumer : public FakeConsumer {
 public:
  using FakeConsumer::FakeConsumer;
  arrow::Result<RunStatePlan> PlanRunState(const RunInstance& run,
                                           WatermarkReader* watermarks) override {
    saw_state = watermarks != nullptr;
    std::string low = "0";
    if (watermarks != nullptr) {
      ARROW_ASSIGN_OR_RAISE(auto window, watermarks->Get("test.window/" + run.id()));
      if (window) {
        window_seen = *window;
        return RunStatePlan{{}, {{"test.cursor", *window}}};
      }
      ARROW_ASSIGN_OR_RAISE(auto cursor, watermarks->Get("test.cursor"));
      if (cursor) low = *cursor;
    }
    const std::string high = std::to_string(std::stoi(low) + 10);
    return RunStatePlan{{{"test.window/" + run.id(), high}}, {{"test.cursor", high}}};
  }
  bool saw_state = false;
  std::string window_seen;
};

TEST_F(PipelineRunnerTest, RunReusesAPlanMadeWithoutStateOnlyIfTheConsumerHasNoRunState) {
  // A consumer without run state: the plan made before the state store was opened is
  // the one that runs; the source is planned once.
  Pipeline pipeline = MakePipeline();
  auto plan = PipelineRunner::Plan(pipeline, run_);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(source_.plans, 1);
  RunOptions options;
  options.plan = &*plan;
  auto summary = PipelineRunner::Run(pipeline, run_, *state_, options);
  ASSERT_TRUE(summary.ok() && summary->succeeded);
  EXPECT_EQ(source_.plans, 1);
  EXPECT_EQ(summary->partitions_total, source_.partitions);
  // A plan of another run instance is not taken for this one.
  RunInstance later{"dt", "2026-11-28"};
  summary = PipelineRunner::Run(pipeline, later, *state_, options);
  ASSERT_TRUE(summary.ok() && summary->succeeded);
  EXPECT_EQ(source_.plans, 2);

  // One that carries run state plans again, with the watermarks.
  Pipeline windowed_pipeline = MakePipeline();
  auto consumer = std::make_unique<WindowedConsumer>(&source_);
  WindowedConsumer* windowed = consumer.get();
  windowed_pipeline.consumer = std::move(consumer);
  RunInstance other{"dt", "2026-11-27"};
  auto stateless = PipelineRunner::Plan(windowed_pipeline, other);
  ASSERT_TRUE(stateless.ok()) << stateless.status().ToString();
  EXPECT_FALSE(windowed->saw_state);
  options.plan = &*stateless;
  summary = PipelineRunner::Run(windowed_pipeline, other, *state_, options);
  ASSERT_TRUE(summary.ok() && summary->succeeded);
  EXPECT_TRUE(windowed->saw_state);
  EXPECT_EQ(source_.plans, 4);
}

TEST_F(PipelineRunnerTest, PlanWithoutStateLeavesAStatefulConsumersPartitionsToRun) {
  // What `jetflow run` plans before it opens the state store: everything for a consumer
  // without run state...
  Pipeline pipeline = MakePipeline();
  auto plan =
      PipelineRunner::Plan(pipeline, run_, nullptr, PlanScope::kPartitionsIfStateless);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->partitions_planned);
  EXPECT_EQ(plan->partitions.size(), static_cast<size_t>(source_.partitions));
  EXPECT_EQ(source_.plans, 1);

  // ... and, for one with run state, the schemas and the run state but not the
  // partitions, which depend on the watermarks.
  Pipeline windowed_pipeline = MakePipeline();
  auto consumer = std::make_unique<WindowedConsumer>(&source_);
  WindowedConsumer* windowed = consumer.get();
  windowed_pipeline.consumer = std::move(consumer);
  auto partial = PipelineRunner::Plan(windowed_pipeline, run_, nullptr,
                                      PlanScope::kPartitionsIfStateless);
  ASSERT_TRUE(partial.ok()) << partial.status().ToString();
  EXPECT_FALSE(partial->partitions_planned);
  EXPECT_TRUE(partial->partitions.empty());
  EXPECT_NE(partial->stream_schema, nullptr);
  EXPECT_EQ(source_.plans, 1);
  // Run does not take an incomplete plan: it plans with the store.
  RunOptions options;
  options.plan = &*partial;
  auto summary = PipelineRunner::Run(windowed_pipeline, run_, *state_, options);
  ASSERT_TRUE(summary.ok() && summary->succeeded);
  EXPECT_TRUE(windowed->saw_state);
  EXPECT_EQ(source_.plans, 2);
  EXPECT_EQ(summary->partitions_total, source_.partitions);

  // A plan made with the store, as `jetflow run` makes once the store is open, is
  // complete whatever the scope, and Run takes it.
  RunInstance next{"dt", "2026-11-26"};
  windowed->saw_state = false;
  auto full = PipelineRunner::Plan(windowed_pipeline, next, state_.get(),
                                   PlanScope::kPartitionsIfStateless);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_TRUE(full->partitions_planned);
  EXPECT_TRUE(windowed->saw_state);
  EXPECT_EQ(source_.plans, 3);
  options.plan = &*full;
  summary = PipelineRunner::Run(windowed_pipeline, next, *state_, options);
  ASSERT_TRUE(summary.ok() && summary->succeeded);
  EXPECT_EQ(source_.plans, 3);
  // The window it planned was pinned and the cursor advanced past it.
  EXPECT_EQ(state_->GetWatermark("test", "test.window/dt=2026-11-26")->value_or(""),
            "20");
  EXPECT_EQ(state_->GetWatermark("test", "test.cursor")->value_or(""), "20");
}

TEST_F(PipelineRunnerTest, RunStateWarningsReachTheSummaryOfEveryRun) {
  class WarningConsumer : public FakeConsumer {
   public:
    using FakeConsumer::FakeConsumer;
    arrow::Result<RunStatePlan> PlanRunState(const RunInstance&,
                                             WatermarkReader*) override {
      RunStatePlan plan;
      plan.at_commit.push_back({"test.cursor", "5"});
      plan.warnings.push_back("table t, column c: 3 rows are in no window");
      return plan;
    }
  };
  Pipeline pipeline = MakePipeline();
  pipeline.consumer = std::make_unique<WarningConsumer>(&source_);
  auto plan = PipelineRunner::Plan(pipeline, run_);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->run_state.warnings,
            std::vector<std::string>{"table t, column c: 3 rows are in no window"});
  RunSummary summary = RunOnce(pipeline);
  ASSERT_TRUE(summary.succeeded) << summary.error;
  EXPECT_EQ(summary.warnings, plan->run_state.warnings);
  summary = RunOnce(pipeline, /*restart=*/true);
  EXPECT_EQ(summary.warnings, plan->run_state.warnings);
}

TEST_F(PipelineRunnerTest, RunStateAtBeginIsPinnedAndAtCommitOnlyAfterSuccess) {
  source_.fail_partition = "p1";
  source_.fail_retryable = false;
  Pipeline pipeline = MakePipeline();
  auto consumer = std::make_unique<WindowedConsumer>(&source_);
  WindowedConsumer* windowed = consumer.get();
  pipeline.consumer = std::move(consumer);

  // Planning alone writes nothing and sees no state store.
  JETFLOW_ASSERT_OK(PipelineRunner::Plan(pipeline, run_));
  EXPECT_FALSE(windowed->saw_state);
  EXPECT_FALSE(state_->GetWatermark("test", "test.window/dt=2026-11-25")->has_value());

  // A failed run pins the window but does not advance the cursor.
  RunSummary failed = RunOnce(pipeline);
  EXPECT_FALSE(failed.succeeded);
  EXPECT_TRUE(windowed->saw_state);
  EXPECT_EQ(state_->GetWatermark("test", "test.window/dt=2026-11-25")->value_or(""),
            "10");
  EXPECT_FALSE(state_->GetWatermark("test", "test.cursor")->has_value());

  // The resumed run reuses the pinned window, and its success advances the cursor.
  source_.fail_partition.clear();
  RunSummary resumed = RunOnce(pipeline);
  ASSERT_TRUE(resumed.succeeded) << resumed.error;
  EXPECT_EQ(windowed->window_seen, "10");
  EXPECT_EQ(state_->GetWatermark("test", "test.cursor")->value_or(""), "10");

  // The next instance starts from the committed cursor.
  RunInstance next{"dt", "2026-11-26"};
  RunOptions options;
  auto summary = PipelineRunner::Run(pipeline, next, *state_, options);
  ASSERT_TRUE(summary.ok() && summary->succeeded);
  EXPECT_EQ(state_->GetWatermark("test", "test.window/dt=2026-11-26")->value_or(""),
            "20");
  EXPECT_EQ(state_->GetWatermark("test", "test.cursor")->value_or(""), "20");
}

}  // namespace
}  // namespace jetflow
