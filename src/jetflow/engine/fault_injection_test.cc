// A run stopped in every window between its steps, then run again: the lake must end up
// exactly as a clean run leaves it, the state store must say the run succeeded once, and
// commit watermarks must advance exactly once. The stops are injected at the seams:
// FaultInjectingStateStore (a crash at a chosen state store call, after which nothing
// more reaches the store, as after a kill -9) and FailingLoader (a commit that fails
// before or after it published). Real stages: the `generate` consumer and the Parquet
// loader, through the pipeline config as a user writes it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "jetflow/builtins/builtin_components.h"
#include "jetflow/config/pipeline_config.h"
#include "jetflow/core/error.h"
#include "jetflow/engine/pipeline_runner.h"
#include "jetflow/state/fault_injecting_state_store.h"
#include "jetflow/state/sqlite/sqlite_state_store.h"
#include "jetflow/testing/failing_loader.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr milliseconds kLease{300};
const RunInstance kDay{"dt", "2026-12-07"};

/// Wraps the generate consumer and gives it run state, so that the tests can see when
/// watermarks are written: at_begin pins "window", at_commit advances "high".
class StatefulConsumer : public Consumer {
 public:
  explicit StatefulConsumer(std::unique_ptr<Consumer> target)
      : target_(std::move(target)) {}
  arrow::Result<std::shared_ptr<arrow::Schema>> InferSchema() override {
    return target_->InferSchema();
  }
  arrow::Result<RunStatePlan> PlanRunState(const RunInstance& run,
                                           WatermarkReader* watermarks) override {
    std::string high = "0";
    if (watermarks != nullptr) {
      ARROW_ASSIGN_OR_RAISE(auto stored, watermarks->Get("test.high"));
      if (stored) high = *stored;
    }
    RunStatePlan plan;
    plan.at_begin = {{"test.window", "after " + high}};
    plan.at_commit = {{"test.high", std::to_string(std::stoi(high) + 1)}};
    return plan;
  }
  arrow::Result<std::vector<PartitionSpec>> PlanPartitions(
      const RunInstance& run) override {
    return target_->PlanPartitions(run);
  }
  arrow::Result<std::unique_ptr<PartitionReader>> OpenPartition(
      const PartitionContext& context) override {
    return target_->OpenPartition(context);
  }

 private:
  std::unique_ptr<Consumer> target_;
};

/// Every file of a lake: relative path -> content, with the one non-deterministic value
/// (the run manifest's finished_at) blanked.
std::map<std::string, std::string> LakeFiles(const fs::path& root) {
  std::map<std::string, std::string> files;
  if (!fs::exists(root)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    std::string text = content.str();
    if (entry.path().filename() == "_jetflow_run.json") {
      text = std::regex_replace(text, std::regex(R"("finished_at"\s*:\s*"[^"]*")"),
                                R"("finished_at":"")");
    }
    files[fs::relative(entry.path(), root).string()] = text;
  }
  return files;
}

std::vector<std::string> Names(const std::map<std::string, std::string>& files) {
  std::vector<std::string> names;
  for (const auto& [name, content] : files) names.push_back(name);
  return names;
}

class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("jetflow_faults_" + std::to_string(getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    RegisterBuiltinComponents(registry_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// The pipeline, loaded afresh as each process would; its loader wrapped so that
  /// commits can be made to fail.
  std::unique_ptr<LoadedPipeline> Load(const std::string& lake) {
    const std::string yaml = R"yaml(
pipeline: faults
run_instance: {key: dt}
consumer:
  type: generate
  rows: 6000
  partitions: 6
  seed: 7
  columns:
    - {name: id, type: int64, sequence: true}
    - {name: name, type: string, min_length: 3, max_length: 12}
    - {name: amount, type: "decimal(12,2)", min: "0.01", max: "999.99"}
loaders:
  - {type: parquet, name: lake, path: )yaml" +
                             lake + R"yaml(}
engine: {partitions_in_flight: 2, batch_rows: 500}
)yaml";
    auto loaded = LoadPipelineText(yaml, "faults.yaml", dir_.string(), registry_);
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    if (!loaded.ok()) return nullptr;
    auto result = std::make_unique<LoadedPipeline>(std::move(*loaded));
    Pipeline& pipeline = result->pipeline;
    pipeline.consumer = std::make_unique<StatefulConsumer>(std::move(pipeline.consumer));
    auto failing =
        std::make_unique<testing::FailingLoader>(std::move(pipeline.loaders[0].stage));
    loader_ = failing.get();
    pipeline.loaders[0].stage = std::move(failing);
    return result;
  }

  std::unique_ptr<SqliteStateStore> OpenStore(const std::string& name) {
    auto store = SqliteStateStore::Open((dir_ / name).string());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  /// Runs the pipeline once as worker `worker` (a name of another machine, so that only
  /// its lease tells whether it lives).
  arrow::Result<RunSummary> RunOnce(const std::string& lake, StateStore& store,
                                    const std::string& worker,
                                    testing::FailingLoader** loader = nullptr) {
    auto loaded = Load(lake);
    if (loaded == nullptr) return arrow::Status::Invalid("pipeline did not load");
    if (loader != nullptr) *loader = loader_;
    RunOptions options;
    options.worker = worker;
    options.lease = kLease;
    return PipelineRunner::Run(loaded->pipeline, kDay, store, options);
  }

  /// The lake and state of a run that nothing stopped.
  void CleanRun() {
    auto store = OpenStore("clean.db");
    ASSERT_NE(store, nullptr);
    JETFLOW_ASSERT_OK_AND_ASSIGN(
        RunSummary summary, RunOnce((dir_ / "clean").string(), *store, "clean/1/0/1"));
    ASSERT_TRUE(summary.succeeded) << summary.error;
    clean_ = LakeFiles(dir_ / "clean");
    ASSERT_FALSE(clean_.empty());
  }

  /// Runs again after a stop, once the stopped worker's lease ran out (as a new process
  /// would find it), and checks the lake, the run record and the watermarks.
  void ResumeAndCheck(StateStore& store, const std::string& lake) {
    std::this_thread::sleep_for(kLease + milliseconds(100));
    JETFLOW_ASSERT_OK_AND_ASSIGN(RunSummary resumed,
                                 RunOnce(lake, store, "resumer/2/0/2"));
    ASSERT_TRUE(resumed.succeeded) << resumed.error;
    EXPECT_TRUE(resumed.resumed);
    EXPECT_EQ(resumed.rows_written, 6000);
    const auto files = LakeFiles(lake);
    EXPECT_EQ(Names(files), Names(clean_));
    for (const auto& [name, content] : clean_) {
      auto it = files.find(name);
      if (it != files.end()) {
        EXPECT_TRUE(it->second == content) << name << " differs";
      }
    }
    JETFLOW_ASSERT_OK_AND_ASSIGN(auto runs, store.ListRuns("faults", 0));
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].status, RunStatus::kSucceeded);
    EXPECT_EQ(runs[0].rows_written, 6000);
    // Advanced once, by the run that succeeded; pinned at its first begin.
    JETFLOW_ASSERT_OK_AND_ASSIGN(auto high, store.GetWatermark("faults", "test.high"));
    EXPECT_EQ(high, "1");
    JETFLOW_ASSERT_OK_AND_ASSIGN(auto window,
                                 store.GetWatermark("faults", "test.window"));
    EXPECT_EQ(window, "after 0");
  }

  /// Stops a run with a crash at `call` (the `nth` one, `when`), then resumes it.
  void CrashAndResume(StateCall call, int nth, Crash when) {
    CleanRun();
    const std::string lake = (dir_ / "lake").string();
    auto store = OpenStore("state.db");
    ASSERT_NE(store, nullptr);
    FaultInjectingStateStore faulty(*store);
    faulty.FailOn(call, nth, when);
    auto stopped = RunOnce(lake, faulty, "crashed/1/0/1");
    ASSERT_TRUE(faulty.crashed());
    // The crash surfaces as an error of the store (or, when the store failed inside an
    // attempt, as a failed run): never as success.
    EXPECT_TRUE(!stopped.ok() || !stopped->succeeded);
    JETFLOW_ASSERT_OK_AND_ASSIGN(auto high, store->GetWatermark("faults", "test.high"));
    EXPECT_FALSE(high.has_value()) << "the commit watermark advanced before success";
    ResumeAndCheck(*store, lake);
  }

  fs::path dir_;
  ComponentRegistry registry_;
  testing::FailingLoader* loader_ = nullptr;
  std::map<std::string, std::string> clean_;
};

TEST_F(FaultInjectionTest, PublishedButNotRecorded) {
  // The loader published partition 3; the process dies before the store records it.
  CrashAndResume(StateCall::kFinishAttempt, 3, Crash::kBefore);
}

TEST_F(FaultInjectionTest, RecordedButTheProcessDiedBeforeItLearnedSo) {
  CrashAndResume(StateCall::kFinishAttempt, 2, Crash::kAfter);
}

TEST_F(FaultInjectionTest, EveryPartitionRecordedButTheRunNotFinished) {
  CrashAndResume(StateCall::kClaimRunFinish, 1, Crash::kBefore);
}

TEST_F(FaultInjectionTest, LoadersFinishedButTheRunNotMarkedSucceeded) {
  // The run manifest and _SUCCESS are written; the store never hears of it: the commit
  // watermark must not advance, and the resume writes the same lake again.
  CrashAndResume(StateCall::kFinishRun, 1, Crash::kBefore);
}

TEST_F(FaultInjectionTest, DiedWhileClaimingAPartition) {
  CrashAndResume(StateCall::kClaimPartition, 4, Crash::kAfter);
}

TEST_F(FaultInjectionTest, DiedRightAfterTheRunWasRecorded) {
  CrashAndResume(StateCall::kBeginRun, 1, Crash::kAfter);
}

TEST_F(FaultInjectionTest, ACommitFailingBeforeItPublishesIsRetried) {
  CleanRun();
  const std::string lake = (dir_ / "lake").string();
  auto store = OpenStore("state.db");
  ASSERT_NE(store, nullptr);
  auto loaded = Load(lake);
  ASSERT_NE(loaded, nullptr);
  loaded->pipeline.engine.retry_backoff = milliseconds(10);
  loader_->FailCommit(2, testing::FailingLoader::kBeforePublish,
                      MarkRetryable(arrow::Status::IOError("disk went away")));
  RunOptions options;
  options.worker = "retrier/1/0/1";
  options.lease = kLease;
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      RunSummary summary, PipelineRunner::Run(loaded->pipeline, kDay, *store, options));
  ASSERT_TRUE(summary.succeeded) << summary.error;
  EXPECT_EQ(summary.attempts_retried, 1);
  EXPECT_EQ(LakeFiles(lake).size(), clean_.size());
  EXPECT_TRUE(LakeFiles(lake) == clean_);
}

TEST_F(FaultInjectionTest,
       ACommitFailingAfterItPublishedFailsTheRunAndTheResumeRepairsIt) {
  CleanRun();
  const std::string lake = (dir_ / "lake").string();
  auto store = OpenStore("state.db");
  ASSERT_NE(store, nullptr);
  testing::FailingLoader* loader = nullptr;
  auto loaded = Load(lake);
  ASSERT_NE(loaded, nullptr);
  loader = loader_;
  loader->FailCommit(3, testing::FailingLoader::kAfterPublish,
                     arrow::Status::IOError("checksum mismatch on read-back"));
  RunOptions options;
  options.worker = "failer/1/0/1";
  options.lease = kLease;
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      RunSummary failed, PipelineRunner::Run(loaded->pipeline, kDay, *store, options));
  EXPECT_FALSE(failed.succeeded);
  EXPECT_NE(failed.error.find("checksum mismatch"), std::string::npos) << failed.error;
  // The run record ended: failed, not left running.
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto record, store->GetRun(failed.run_id));
  EXPECT_EQ(record->status, RunStatus::kFailed);
  // No completion marker while the run is not complete.
  EXPECT_FALSE(fs::exists(fs::path(lake) / "dt=2026-12-07" / "_SUCCESS"));
  ResumeAndCheck(*store, lake);
}

}  // namespace
}  // namespace jetflow
