#include "jetflow/state/state_store_contract_test.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "jetflow/testing/status_assertions.h"

namespace jetflow {

void StateStoreContractTest::SetUp() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = fmt::format("jetflow_contract_{}_{}", getpid(), info->name());
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  dir_ = (std::filesystem::temp_directory_path() / name).string();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
}

void StateStoreContractTest::TearDown() { std::filesystem::remove_all(dir_); }

std::unique_ptr<StateStore> StateStoreContractTest::Open() {
  TestClock clock = [this] {
    return std::chrono::system_clock::from_time_t(1795564800) +  // 2026-11-25T00:00Z
           std::chrono::milliseconds(now_ms_.load());
  };
  auto store = GetParam().open(dir_, clock);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).ValueUnsafe() : nullptr;
}

namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

constexpr char kPipeline[] = "orders";
const RunInstance kDay{"dt", "2026-11-25"};
const std::string kWorkerA = "hostA/101/0000000a/1";
const std::string kWorkerB = "hostB/202/0000000b/2";
constexpr milliseconds kLease{10'000};

std::vector<PartitionSpec> Plan(const std::vector<std::string>& ids) {
  std::vector<PartitionSpec> plan;
  for (const auto& id : ids) {
    plan.push_back({id, "rows of " + id, -1, R"({"from":")" + id + R"("})"});
  }
  return plan;
}

BeginRunOptions As(const std::string& worker) {
  BeginRunOptions options;
  options.worker = worker;
  options.lease = kLease;
  return options;
}

AttemptResult Committed(int64_t rows) {
  AttemptResult result;
  result.status = PartitionStatus::kCommitted;
  result.rows_read = rows;
  result.rows_written = rows;
  result.manifests_json = R"([{"loader":"lake"}])";
  return result;
}

AttemptResult Failed(bool will_retry) {
  AttemptResult result;
  result.status = PartitionStatus::kFailed;
  result.error = "connection reset";
  result.will_retry = will_retry;
  return result;
}

TEST_P(StateStoreContractTest, ClaimsHandOutEachPartitionOnceWithItsSplit) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      RunRecord run, store->BeginRun(kPipeline, kDay, Plan({"p1", "p2"}), As(kWorkerA)));
  JETFLOW_ASSERT_OK(store->RenewLease(run.run_id, kWorkerA, kLease));
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult first,
                               store->ClaimPartition(run.run_id, kWorkerA));
  ASSERT_TRUE(first.claim.has_value());
  EXPECT_EQ(first.claim->partition.id, "p1");
  EXPECT_EQ(first.claim->partition.split, R"({"from":"p1"})");
  EXPECT_EQ(first.claim->attempt, 1);
  EXPECT_EQ(first.held_here, 1);
  EXPECT_EQ(first.not_committed, 2);
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult second,
                               store->ClaimPartition(run.run_id, kWorkerA));
  ASSERT_TRUE(second.claim.has_value());
  EXPECT_EQ(second.claim->partition.id, "p2");
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult none,
                               store->ClaimPartition(run.run_id, kWorkerA));
  EXPECT_FALSE(none.claim.has_value());
  EXPECT_EQ(none.held_here, 2);
  EXPECT_EQ(none.held_elsewhere, 0);

  JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, store->ListPartitions(run.run_id));
  EXPECT_EQ(partitions[0].owner, kWorkerA);
  EXPECT_EQ(partitions[1].split, R"({"from":"p2"})");
}

TEST_P(StateStoreContractTest, ASecondProcessJoinsALiveRunAndLeavesItsClaimsAlone) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  const auto plan = Plan({"p1", "p2", "p3"});
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               a->BeginRun(kPipeline, kDay, plan, As(kWorkerA)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult held, a->ClaimPartition(run.run_id, kWorkerA));
  ASSERT_TRUE(held.claim.has_value());

  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord joined,
                               b->BeginRun(kPipeline, kDay, plan, As(kWorkerB)));
  EXPECT_EQ(joined.run_id, run.run_id);
  EXPECT_TRUE(joined.joined);
  EXPECT_FALSE(joined.resumed);
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult claimed,
                               b->ClaimPartition(run.run_id, kWorkerB));
  ASSERT_TRUE(claimed.claim.has_value());
  EXPECT_EQ(claimed.claim->partition.id, "p2");
  EXPECT_EQ(claimed.held_elsewhere, 1);
  // A's attempt is untouched: it still finishes.
  JETFLOW_ASSERT_OK(
      a->FinishAttempt(run.run_id, "p1", held.claim->attempt, Committed(5)));

  // A third process with another plan may not join.
  auto different =
      b->BeginRun(kPipeline, kDay, Plan({"p1", "p2", "p9"}), As("hostC/3/0000000c/3"));
  ASSERT_TRUE(different.status().IsInvalid()) << different.status().ToString();
  EXPECT_THAT(different.status().message(), HasSubstr("different plan"));
  EXPECT_THAT(different.status().message(), HasSubstr("p9"));
}

// The worker that begins (or resumes) a run clears what dead attempts staged
// (Loader::BeginRun) before it opens the run; a worker that joins meanwhile must not
// stage anything until then, and must not wait for a preparer that died.
TEST_P(StateStoreContractTest, AJoiningWorkerWaitsUntilTheRunIsOpened) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  const auto plan = Plan({"p1", "p2"});
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               a->BeginRun(kPipeline, kDay, plan, As(kWorkerA)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord joined,
                               b->BeginRun(kPipeline, kDay, plan, As(kWorkerB)));
  ASSERT_TRUE(joined.joined);
  JETFLOW_ASSERT_OK_AND_ASSIGN(bool open, b->IsRunOpen(run.run_id, kWorkerB));
  EXPECT_FALSE(open);
  JETFLOW_ASSERT_OK(a->OpenRun(run.run_id));
  JETFLOW_ASSERT_OK_AND_ASSIGN(open, b->IsRunOpen(run.run_id, kWorkerB));
  EXPECT_TRUE(open);
  JETFLOW_ASSERT_OK(a->OpenRun(run.run_id));  // again: no change, no error

  // A resumed run is closed again until the resuming worker has prepared it.
  JETFLOW_ASSERT_OK(b->LeaveRun(run.run_id, kWorkerB, "done").status());
  JETFLOW_ASSERT_OK(a->FinishRun(run.run_id, RunStatus::kFailed, "killed"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord resumed,
                               a->BeginRun(kPipeline, kDay, plan, As(kWorkerA)));
  ASSERT_TRUE(resumed.resumed);
  JETFLOW_ASSERT_OK_AND_ASSIGN(joined, b->BeginRun(kPipeline, kDay, plan, As(kWorkerB)));
  ASSERT_TRUE(joined.joined);
  JETFLOW_ASSERT_OK_AND_ASSIGN(open, b->IsRunOpen(run.run_id, kWorkerB));
  EXPECT_FALSE(open);

  // The preparing worker's lease runs out: the joiner is told so instead of waiting.
  Advance(kLease / 2);
  JETFLOW_ASSERT_OK(b->RenewLease(run.run_id, kWorkerB, kLease));
  Advance(kLease / 2 + milliseconds(1));
  auto orphaned = b->IsRunOpen(run.run_id, kWorkerB);
  ASSERT_TRUE(orphaned.status().IsInvalid()) << orphaned.status().ToString();
  EXPECT_THAT(orphaned.status().message(), HasSubstr("stopped before it prepared"));

  // An ended run is no longer anyone's to wait for.
  JETFLOW_ASSERT_OK(b->FinishRun(run.run_id, RunStatus::kFailed, "given up"));
  EXPECT_TRUE(IsLeaseLost(b->IsRunOpen(run.run_id, kWorkerB).status()));
  EXPECT_TRUE(b->IsRunOpen(run.run_id + 100, kWorkerB).status().IsKeyError());
  EXPECT_TRUE(b->OpenRun(run.run_id + 100).IsKeyError());
}

TEST_P(StateStoreContractTest, AnExpiredLeaseIsTakenOverAndFencesTheOldAttempt) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  const auto plan = Plan({"p1"});
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               a->BeginRun(kPipeline, kDay, plan, As(kWorkerA)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult old_claim,
                               a->ClaimPartition(run.run_id, kWorkerA));
  ASSERT_TRUE(old_claim.claim.has_value());
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord joined,
                               b->BeginRun(kPipeline, kDay, plan, As(kWorkerB)));
  ASSERT_TRUE(joined.joined);
  // While A's lease lasts, its partition is not B's to take.
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult nothing,
                               b->ClaimPartition(run.run_id, kWorkerB));
  EXPECT_FALSE(nothing.claim.has_value());
  EXPECT_EQ(nothing.held_elsewhere, 1);

  Advance(kLease / 2);
  JETFLOW_ASSERT_OK(b->RenewLease(run.run_id, kWorkerB, kLease));
  Advance(kLease / 2 + milliseconds(1));  // A's lease ran out, B's did not
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult taken,
                               b->ClaimPartition(run.run_id, kWorkerB));
  ASSERT_TRUE(taken.claim.has_value());
  EXPECT_EQ(taken.claim->attempt, old_claim.claim->attempt + 1);

  // A wakes up: it can neither renew nor finish its attempt, and publishes nothing.
  auto renewed = a->RenewLease(run.run_id, kWorkerA, kLease);
  EXPECT_TRUE(IsLeaseLost(renewed)) << renewed.ToString();
  auto late = a->FinishAttempt(run.run_id, "p1", old_claim.claim->attempt, Committed(1));
  EXPECT_TRUE(IsLeaseLost(late)) << late.ToString();
  JETFLOW_ASSERT_OK(
      b->FinishAttempt(run.run_id, "p1", taken.claim->attempt, Committed(2)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, b->ListPartitions(run.run_id));
  EXPECT_EQ(partitions[0].status, PartitionStatus::kCommitted);
  EXPECT_EQ(partitions[0].rows_written, 2);
  EXPECT_EQ(partitions[0].owner, kWorkerB);
}

TEST_P(StateStoreContractTest, AWorkerRetryingItsPartitionKeepsIt) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  const auto plan = Plan({"p1", "p2"});
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               a->BeginRun(kPipeline, kDay, plan, As(kWorkerA)));
  JETFLOW_ASSERT_OK(b->BeginRun(kPipeline, kDay, plan, As(kWorkerB)).status());
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult first,
                               a->ClaimPartition(run.run_id, kWorkerA));
  JETFLOW_ASSERT_OK(
      a->FinishAttempt(run.run_id, "p1", first.claim->attempt, Failed(true)));
  // p1 waits for A's retry: B gets p2.
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult other,
                               b->ClaimPartition(run.run_id, kWorkerB));
  ASSERT_TRUE(other.claim.has_value());
  EXPECT_EQ(other.claim->partition.id, "p2");
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult retry,
                               a->ClaimPartition(run.run_id, kWorkerA, "p1"));
  ASSERT_TRUE(retry.claim.has_value());
  EXPECT_EQ(retry.claim->attempt, 2);
  // Given up, a failed partition is anyone's.
  JETFLOW_ASSERT_OK(a->FinishAttempt(run.run_id, "p1", 2, Failed(false)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult adopted,
                               b->ClaimPartition(run.run_id, kWorkerB));
  ASSERT_TRUE(adopted.claim.has_value());
  EXPECT_EQ(adopted.claim->partition.id, "p1");
  EXPECT_EQ(adopted.claim->attempt, 3);
}

TEST_P(StateStoreContractTest, ExactlyOneWorkerFinishesTheRun) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  const auto plan = Plan({"p1", "p2"});
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               a->BeginRun(kPipeline, kDay, plan, As(kWorkerA)));
  JETFLOW_ASSERT_OK(b->BeginRun(kPipeline, kDay, plan, As(kWorkerB)).status());
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult p1, a->ClaimPartition(run.run_id, kWorkerA));
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult p2, b->ClaimPartition(run.run_id, kWorkerB));
  JETFLOW_ASSERT_OK(a->FinishAttempt(run.run_id, "p1", p1.claim->attempt, Committed(1)));
  // Not while a partition is still open.
  JETFLOW_ASSERT_OK_AND_ASSIGN(bool early, a->ClaimRunFinish(run.run_id, kWorkerA));
  EXPECT_FALSE(early);
  JETFLOW_ASSERT_OK(b->FinishAttempt(run.run_id, "p2", p2.claim->attempt, Committed(1)));

  JETFLOW_ASSERT_OK_AND_ASSIGN(bool a_finishes, a->ClaimRunFinish(run.run_id, kWorkerA));
  JETFLOW_ASSERT_OK_AND_ASSIGN(bool b_finishes, b->ClaimRunFinish(run.run_id, kWorkerB));
  EXPECT_TRUE(a_finishes);
  EXPECT_FALSE(b_finishes);
  // The finisher dies: its claim on the finish passes on.
  Advance(kLease / 2);
  JETFLOW_ASSERT_OK(b->RenewLease(run.run_id, kWorkerB, kLease));
  Advance(kLease / 2 + milliseconds(1));
  JETFLOW_ASSERT_OK_AND_ASSIGN(b_finishes, b->ClaimRunFinish(run.run_id, kWorkerB));
  EXPECT_TRUE(b_finishes);
  JETFLOW_ASSERT_OK(b->FinishRun(run.run_id, RunStatus::kSucceeded, "", {}));
  JETFLOW_ASSERT_OK_AND_ASSIGN(b_finishes, b->ClaimRunFinish(run.run_id, kWorkerB));
  EXPECT_FALSE(b_finishes);
  auto again = a->FinishRun(run.run_id, RunStatus::kSucceeded, "", {});
  EXPECT_TRUE(again.IsInvalid()) << again.ToString();
  // Ended: claims report the run's status instead of a partition.
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult after,
                               a->ClaimPartition(run.run_id, kWorkerA));
  EXPECT_FALSE(after.claim.has_value());
  EXPECT_EQ(after.run_status, RunStatus::kSucceeded);
}

TEST_P(StateStoreContractTest, CommitWatermarksAreWrittenWithSuccessOnly) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  BeginRunOptions options = As(kWorkerA);
  options.watermarks = {{"cursor.window", "(0, 10]"}};
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               store->BeginRun(kPipeline, kDay, Plan({"p1"}), options));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto window,
                               store->GetWatermark(kPipeline, "cursor.window"));
  EXPECT_EQ(window, "(0, 10]");
  const std::vector<WatermarkUpdate> high = {{"cursor.high", "10"}, {"k.p0", "7"}};
  // Refused while a partition is open: nothing is written.
  EXPECT_TRUE(store->FinishRun(run.run_id, RunStatus::kSucceeded, "", high).IsInvalid());
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto none, store->GetWatermark(kPipeline, "cursor.high"));
  EXPECT_FALSE(none.has_value());
  // A failed run writes none of them.
  JETFLOW_ASSERT_OK(store->FinishRun(run.run_id, RunStatus::kFailed, "bad row", high));
  JETFLOW_ASSERT_OK_AND_ASSIGN(none, store->GetWatermark(kPipeline, "cursor.high"));
  EXPECT_FALSE(none.has_value());

  JETFLOW_ASSERT_OK_AND_ASSIGN(
      RunRecord resumed, store->BeginRun(kPipeline, kDay, Plan({"p1"}), As(kWorkerA)));
  EXPECT_TRUE(resumed.resumed);
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult p1,
                               store->ClaimPartition(run.run_id, kWorkerA));
  JETFLOW_ASSERT_OK(
      store->FinishAttempt(run.run_id, "p1", p1.claim->attempt, Committed(1)));
  JETFLOW_ASSERT_OK(store->FinishRun(run.run_id, RunStatus::kSucceeded, "", high));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto written,
                               store->GetWatermark(kPipeline, "cursor.high"));
  EXPECT_EQ(written, "10");
  JETFLOW_ASSERT_OK_AND_ASSIGN(written, store->GetWatermark(kPipeline, "k.p0"));
  EXPECT_EQ(written, "7");
}

TEST_P(StateStoreContractTest, TheLastWorkerLeavingAnUnfinishedRunFailsIt) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  const auto plan = Plan({"p1", "p2"});
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               a->BeginRun(kPipeline, kDay, plan, As(kWorkerA)));
  JETFLOW_ASSERT_OK(b->BeginRun(kPipeline, kDay, plan, As(kWorkerB)).status());
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult p1, a->ClaimPartition(run.run_id, kWorkerA));
  JETFLOW_ASSERT_OK(a->FinishAttempt(run.run_id, "p1", p1.claim->attempt, Failed(true)));

  // A is interrupted: B goes on, and may take p1, which A no longer holds.
  JETFLOW_ASSERT_OK_AND_ASSIGN(bool ended,
                               a->LeaveRun(run.run_id, kWorkerA, "interrupted"));
  EXPECT_FALSE(ended);
  EXPECT_TRUE(IsLeaseLost(a->RenewLease(run.run_id, kWorkerA, kLease)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult adopted,
                               b->ClaimPartition(run.run_id, kWorkerB));
  ASSERT_TRUE(adopted.claim.has_value());
  EXPECT_EQ(adopted.claim->partition.id, "p1");

  // B leaves too, holding p1: the run fails, and p1 is free for the resume.
  JETFLOW_ASSERT_OK_AND_ASSIGN(ended, b->LeaveRun(run.run_id, kWorkerB, "interrupted"));
  EXPECT_TRUE(ended);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto record, b->GetRun(run.run_id));
  EXPECT_EQ(record->status, RunStatus::kFailed);
  EXPECT_EQ(record->error, "interrupted");
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, b->ListPartitions(run.run_id));
  EXPECT_EQ(partitions[0].status, PartitionStatus::kFailed);
  EXPECT_EQ(partitions[0].owner, "");
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord resumed,
                               a->BeginRun(kPipeline, kDay, plan, As(kWorkerA)));
  EXPECT_TRUE(resumed.resumed);
  EXPECT_FALSE(resumed.joined);
}

TEST_P(StateStoreContractTest, RestartTakesTheLeasesOfTheOldRun) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  const auto plan = Plan({"p1"});
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord old_run,
                               a->BeginRun(kPipeline, kDay, plan, As(kWorkerA)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult p1,
                               a->ClaimPartition(old_run.run_id, kWorkerA));
  BeginRunOptions restart = As(kWorkerB);
  restart.restart = true;
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord new_run,
                               b->BeginRun(kPipeline, kDay, plan, restart));
  EXPECT_NE(new_run.run_id, old_run.run_id);
  EXPECT_FALSE(new_run.joined);
  EXPECT_TRUE(IsLeaseLost(a->RenewLease(old_run.run_id, kWorkerA, kLease)));
  EXPECT_TRUE(IsLeaseLost(
      a->FinishAttempt(old_run.run_id, "p1", p1.claim->attempt, Committed(1))));
}

TEST_P(StateStoreContractTest, AResumeKeepsACommittedPartitionOnlyWithTheSameSplit) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto plan = Plan({"p1", "p2"});
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               store->BeginRun(kPipeline, kDay, plan, As(kWorkerA)));
  for (const char* id : {"p1", "p2"}) {
    JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult claimed,
                                 store->ClaimPartition(run.run_id, kWorkerA, id));
    JETFLOW_ASSERT_OK(
        store->FinishAttempt(run.run_id, id, claimed.claim->attempt, Committed(1)));
  }
  JETFLOW_ASSERT_OK(store->FinishRun(run.run_id, RunStatus::kFailed, "loader failed"));
  plan[1].split = R"({"from":"elsewhere"})";
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord resumed,
                               store->BeginRun(kPipeline, kDay, plan, As(kWorkerA)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, store->ListPartitions(resumed.run_id));
  EXPECT_EQ(partitions[0].status, PartitionStatus::kCommitted);
  EXPECT_EQ(partitions[1].status, PartitionStatus::kPending);
  EXPECT_EQ(partitions[1].split, R"({"from":"elsewhere"})");
}

TEST_P(StateStoreContractTest, AResumeRedoesWhatAnotherConfigurationWrote) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const auto plan = Plan({"p1", "p2", "p3"});
  BeginRunOptions old_config = As(kWorkerA);
  old_config.fingerprint = "config-1";
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               store->BeginRun(kPipeline, kDay, plan, old_config));
  for (const char* id : {"p1", "p2"}) {
    JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult claimed,
                                 store->ClaimPartition(run.run_id, kWorkerA, id));
    JETFLOW_ASSERT_OK(
        store->FinishAttempt(run.run_id, id, claimed.claim->attempt, Committed(1)));
  }
  // While A lives, a process with the edited configuration may not join.
  BeginRunOptions new_config = As(kWorkerB);
  new_config.fingerprint = "config-2";
  auto join = store->BeginRun(kPipeline, kDay, plan, new_config);
  ASSERT_TRUE(join.status().IsInvalid()) << join.status().ToString();
  EXPECT_THAT(join.status().message(), HasSubstr("config-1"));
  // A is gone: the resume redoes the partitions written under config-1.
  Advance(kLease + milliseconds(1));
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord resumed,
                               store->BeginRun(kPipeline, kDay, plan, new_config));
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.partitions_changed, 2);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, store->ListPartitions(run.run_id));
  for (const auto& p : partitions) {
    EXPECT_EQ(p.status, PartitionStatus::kPending) << p.partition_id;
  }
  // Resumed again under the same configuration, nothing more is redone.
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult p1,
                               store->ClaimPartition(run.run_id, kWorkerB, "p1"));
  JETFLOW_ASSERT_OK(
      store->FinishAttempt(run.run_id, "p1", p1.claim->attempt, Committed(1)));
  JETFLOW_ASSERT_OK(store->FinishRun(run.run_id, RunStatus::kFailed, "stopped"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord again,
                               store->BeginRun(kPipeline, kDay, plan, new_config));
  EXPECT_EQ(again.partitions_changed, 0);
  JETFLOW_ASSERT_OK_AND_ASSIGN(partitions, store->ListPartitions(run.run_id));
  EXPECT_EQ(partitions[0].status, PartitionStatus::kCommitted);
}

TEST_P(StateStoreContractTest, AResumeReopensACommittedPartitionWhoseOutputIsDamaged) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  const auto plan = Plan({"p1", "p2", "p3"});
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               a->BeginRun(kPipeline, kDay, plan, As(kWorkerA)));
  for (const char* id : {"p1", "p2"}) {
    JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult claimed,
                                 a->ClaimPartition(run.run_id, kWorkerA, id));
    JETFLOW_ASSERT_OK(
        a->FinishAttempt(run.run_id, id, claimed.claim->attempt, Committed(7)));
  }
  JETFLOW_ASSERT_OK(a->FinishRun(run.run_id, RunStatus::kFailed, "killed"));
  // Ended runs are not reopened.
  auto ended = a->ReopenPartition(run.run_id, "p1", kWorkerA, "file missing");
  EXPECT_TRUE(ended.IsInvalid()) << ended.ToString();

  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord resumed,
                               a->BeginRun(kPipeline, kDay, plan, As(kWorkerA)));
  ASSERT_TRUE(resumed.resumed);
  // The resuming worker holds the finish until it has checked what it keeps: a worker
  // that joins now cannot publish the run, even once every partition is committed.
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord joined,
                               b->BeginRun(kPipeline, kDay, plan, As(kWorkerB)));
  ASSERT_TRUE(joined.joined);
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult p3, b->ClaimPartition(run.run_id, kWorkerB));
  ASSERT_TRUE(p3.claim.has_value());
  EXPECT_EQ(p3.claim->partition.id, "p3");
  JETFLOW_ASSERT_OK(b->FinishAttempt(run.run_id, "p3", p3.claim->attempt, Committed(7)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(bool b_finishes, b->ClaimRunFinish(run.run_id, kWorkerB));
  EXPECT_FALSE(b_finishes);

  JETFLOW_ASSERT_OK(
      a->ReopenPartition(run.run_id, "p2", kWorkerA, "part-00000.parquet: size differs"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, a->ListPartitions(run.run_id));
  EXPECT_EQ(partitions[0].status, PartitionStatus::kCommitted);
  EXPECT_EQ(partitions[1].status, PartitionStatus::kPending);
  EXPECT_EQ(partitions[1].rows_written, 0);
  EXPECT_EQ(partitions[1].manifests_json, "");
  EXPECT_THAT(partitions[1].error, HasSubstr("size differs"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto totals, a->GetRun(run.run_id));
  EXPECT_EQ(totals->rows_written, 14);  // p1 and p3
  // Reopening what is not committed changes nothing; unknown partitions are KeyErrors.
  JETFLOW_ASSERT_OK(a->ReopenPartition(run.run_id, "p2", kWorkerA, "again"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(partitions, a->ListPartitions(run.run_id));
  EXPECT_THAT(partitions[1].error, HasSubstr("size differs"));
  EXPECT_TRUE(a->ReopenPartition(run.run_id, "p9", kWorkerA, "x").IsKeyError());
  EXPECT_TRUE(a->ReopenPartition(run.run_id + 100, "p1", kWorkerA, "x").IsKeyError());

  // Redone under the next attempt number, by anyone; then A may finish.
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult redo, b->ClaimPartition(run.run_id, kWorkerB));
  ASSERT_TRUE(redo.claim.has_value());
  EXPECT_EQ(redo.claim->partition.id, "p2");
  EXPECT_EQ(redo.claim->attempt, 2);
  JETFLOW_ASSERT_OK(
      b->FinishAttempt(run.run_id, "p2", redo.claim->attempt, Committed(7)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(b_finishes, b->ClaimRunFinish(run.run_id, kWorkerB));
  EXPECT_FALSE(b_finishes);
  JETFLOW_ASSERT_OK_AND_ASSIGN(bool a_finishes, a->ClaimRunFinish(run.run_id, kWorkerA));
  EXPECT_TRUE(a_finishes);
  // The finisher's partitions are not reopened by another worker.
  auto refused = b->ReopenPartition(run.run_id, "p1", kWorkerB, "checksum differs");
  EXPECT_TRUE(refused.IsInvalid()) << refused.ToString();
  EXPECT_THAT(refused.message(), HasSubstr(kWorkerA));
  JETFLOW_ASSERT_OK(a->FinishRun(run.run_id, RunStatus::kSucceeded, "", {}));
}

TEST_P(StateStoreContractTest, AResumingWorkerThatDiesPassesTheFinishOn) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  const auto plan = Plan({"p1"});
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               a->BeginRun(kPipeline, kDay, plan, As(kWorkerA)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(ClaimResult p1, a->ClaimPartition(run.run_id, kWorkerA));
  JETFLOW_ASSERT_OK(a->FinishAttempt(run.run_id, "p1", p1.claim->attempt, Committed(1)));
  JETFLOW_ASSERT_OK(a->FinishRun(run.run_id, RunStatus::kFailed, "killed"));
  JETFLOW_ASSERT_OK(a->BeginRun(kPipeline, kDay, plan, As(kWorkerA)).status());
  JETFLOW_ASSERT_OK(b->BeginRun(kPipeline, kDay, plan, As(kWorkerB)).status());
  JETFLOW_ASSERT_OK_AND_ASSIGN(bool b_finishes, b->ClaimRunFinish(run.run_id, kWorkerB));
  EXPECT_FALSE(b_finishes);
  Advance(kLease / 2);
  JETFLOW_ASSERT_OK(b->RenewLease(run.run_id, kWorkerB, kLease));
  Advance(kLease / 2 + milliseconds(1));  // A's lease ran out
  JETFLOW_ASSERT_OK_AND_ASSIGN(b_finishes, b->ClaimRunFinish(run.run_id, kWorkerB));
  EXPECT_TRUE(b_finishes);
}

}  // namespace
}  // namespace jetflow
