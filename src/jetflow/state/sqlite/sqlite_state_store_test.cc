#include "jetflow/state/sqlite/sqlite_state_store.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "jetflow/core/error.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kPipeline[] = "orders";
const RunInstance kDay{"dt", "2026-11-25"};

std::vector<PartitionSpec> Plan(const std::vector<std::string>& ids) {
  std::vector<PartitionSpec> plan;
  for (const auto& id : ids) plan.push_back({id, "rows of " + id, -1});
  return plan;
}

AttemptResult Committed(int64_t rows, int64_t bytes) {
  AttemptResult result;
  result.status = PartitionStatus::kCommitted;
  result.rows_read = rows;
  result.rows_written = rows;
  result.bytes_written = bytes;
  result.seconds = 0.5;
  result.manifests_json = R"([{"loader":"lake"}])";
  return result;
}

AttemptResult Failed(const std::string& error) {
  AttemptResult result;
  result.status = PartitionStatus::kFailed;
  result.rows_read = 7;
  result.rows_written = 7;
  result.bytes_written = 70;
  result.error = error;
  return result;
}

/// A clock starting at 2026-11-25T18:03:50.123Z and advancing 1 ms per reading.
SqliteStateStoreOptions FixedClock() {
  auto ticks = std::make_shared<std::atomic<int64_t>>(0);
  SqliteStateStoreOptions options;
  options.clock = [ticks] {
    return std::chrono::system_clock::from_time_t(1795629830) +
           std::chrono::milliseconds(123 + ticks->fetch_add(1));
  };
  return options;
}

/// A plain SQLite connection, as another system reading the state store would use.
class Reader {
 public:
  explicit Reader(const std::string& path) {
    sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
    sqlite3_busy_timeout(db_, 10'000);
  }
  ~Reader() { sqlite3_close_v2(db_); }
  sqlite3* db() { return db_; }

  /// Rows of `sql` as "a|b|c" strings, NULL as "NULL"; a failure as "ERROR: ...".
  std::vector<std::string> Query(const std::string& sql) {
    std::vector<std::string> rows;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      return {std::string("ERROR: ") + sqlite3_errmsg(db_)};
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        if (i > 0) row += "|";
        const auto* text = sqlite3_column_text(stmt, i);
        row += text == nullptr ? "NULL" : reinterpret_cast<const char*>(text);
      }
      rows.push_back(row);
    }
    if (rc != SQLITE_DONE) rows.push_back(std::string("ERROR: ") + sqlite3_errmsg(db_));
    sqlite3_finalize(stmt);
    return rows;
  }
  std::string One(const std::string& sql) {
    auto rows = Query(sql);
    return rows.size() == 1 ? rows[0] : fmt::format("<{} rows>", rows.size());
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           fmt::format("jetflow_state_test_{}_{}", getpid(), info->name());
    fs::remove_all(dir_);
    path_ = (dir_ / "state" / "jetflow.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<SqliteStateStore> MustOpen(SqliteStateStoreOptions options = {}) {
    auto store = SqliteStateStore::Open(path_, std::move(options));
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).ValueUnsafe() : nullptr;
  }

  fs::path dir_;
  std::string path_;
};

std::vector<std::string> Ids(const std::vector<PartitionRecord>& partitions) {
  std::vector<std::string> ids;
  for (const auto& p : partitions) ids.push_back(p.partition_id);
  return ids;
}

const PartitionRecord* Find(const std::vector<PartitionRecord>& partitions,
                            const std::string& id) {
  for (const auto& p : partitions) {
    if (p.partition_id == id) return &p;
  }
  return nullptr;
}

TEST_F(SqliteStateStoreTest, NewRunHasEveryPartitionPending) {
  auto store = MustOpen(FixedClock());
  ASSERT_NE(store, nullptr);
  auto plan = Plan({"p2", "p1", "p3"});
  plan[1].expected_rows = 1000;
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               store->BeginRun(kPipeline, kDay, plan, false));
  EXPECT_GT(run.run_id, 0);
  EXPECT_EQ(run.pipeline, kPipeline);
  EXPECT_EQ(run.instance, "dt=2026-11-25");
  EXPECT_EQ(run.status, RunStatus::kRunning);
  EXPECT_FALSE(run.resumed);
  // The clock's first reading (.123) went to the migration record when the file was made.
  EXPECT_EQ(run.started_at, "2026-11-25T18:03:50.124Z");
  EXPECT_EQ(run.finished_at, "");
  EXPECT_EQ(run.error, "");

  JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, store->ListPartitions(run.run_id));
  EXPECT_THAT(Ids(partitions), ElementsAre("p2", "p1", "p3"));  // plan order
  for (const auto& p : partitions) {
    EXPECT_EQ(p.status, PartitionStatus::kPending);
    EXPECT_EQ(p.attempts, 0);
    EXPECT_EQ(p.description, "rows of " + p.partition_id);
    EXPECT_EQ(p.manifests_json, "");
  }

  Reader reader(path_);
  EXPECT_THAT(reader.Query("SELECT partition_id, ordinal, expected_rows, status, error "
                           "FROM partitions ORDER BY ordinal"),
              ElementsAre("p2|0|NULL|pending|NULL", "p1|1|1000|pending|NULL",
                          "p3|2|NULL|pending|NULL"));
  EXPECT_EQ(reader.One("SELECT finished_at IS NULL AND error IS NULL FROM runs"), "1");
}

TEST_F(SqliteStateStoreTest, TimestampsAreIso8601UtcWithMilliseconds) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               store->BeginRun(kPipeline, kDay, Plan({"p1"}), false));
  const std::regex iso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
  EXPECT_TRUE(std::regex_match(run.started_at, iso)) << run.started_at;
  JETFLOW_ASSERT_OK_AND_ASSIGN(int attempt, store->StartAttempt(run.run_id, "p1"));
  JETFLOW_ASSERT_OK(store->FinishAttempt(run.run_id, "p1", attempt, Committed(1, 1)));
  JETFLOW_ASSERT_OK(store->FinishRun(run.run_id, RunStatus::kSucceeded, ""));
  JETFLOW_ASSERT_OK(store->SetWatermark(kPipeline, "cursor", "42"));
  Reader reader(path_);
  for (const char* sql :
       {"SELECT started_at FROM runs", "SELECT finished_at FROM runs",
        "SELECT updated_at FROM partitions", "SELECT started_at FROM attempts",
        "SELECT finished_at FROM attempts", "SELECT updated_at FROM watermarks",
        "SELECT max(applied_at) FROM schema_version"}) {
    const std::string value = reader.One(sql);
    EXPECT_TRUE(std::regex_match(value, iso)) << sql << " -> " << value;
  }
}

TEST_F(SqliteStateStoreTest, AttemptsAreCountedAndRecorded) {
  auto store = MustOpen(FixedClock());
  ASSERT_NE(store, nullptr);
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      RunRecord run, store->BeginRun(kPipeline, kDay, Plan({"p1", "p2"}), false));

  JETFLOW_ASSERT_OK_AND_ASSIGN(int first, store->StartAttempt(run.run_id, "p1"));
  EXPECT_EQ(first, 1);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, store->ListPartitions(run.run_id));
  EXPECT_EQ(partitions[0].status, PartitionStatus::kRunning);
  EXPECT_EQ(partitions[0].attempts, 1);
  JETFLOW_ASSERT_OK(
      store->FinishAttempt(run.run_id, "p1", first, Failed("connection reset")));
  JETFLOW_ASSERT_OK_AND_ASSIGN(partitions, store->ListPartitions(run.run_id));
  EXPECT_EQ(partitions[0].status, PartitionStatus::kFailed);
  EXPECT_EQ(partitions[0].error, "connection reset");

  JETFLOW_ASSERT_OK_AND_ASSIGN(int second, store->StartAttempt(run.run_id, "p1"));
  EXPECT_EQ(second, 2);
  JETFLOW_ASSERT_OK(store->FinishAttempt(run.run_id, "p1", second, Committed(100, 4096)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(partitions, store->ListPartitions(run.run_id));
  const PartitionRecord& p1 = partitions[0];
  EXPECT_EQ(p1.status, PartitionStatus::kCommitted);
  EXPECT_EQ(p1.attempts, 2);
  EXPECT_EQ(p1.rows_read, 100);
  EXPECT_EQ(p1.rows_written, 100);
  EXPECT_EQ(p1.bytes_written, 4096);
  EXPECT_DOUBLE_EQ(p1.seconds, 0.5);
  EXPECT_EQ(p1.error, "");
  EXPECT_EQ(p1.manifests_json, R"([{"loader":"lake"}])");
  EXPECT_EQ(partitions[1].status, PartitionStatus::kPending);

  Reader reader(path_);
  EXPECT_THAT(
      reader.Query("SELECT attempt, status, rows_read, error, finished_at IS NOT NULL "
                   "FROM attempts WHERE partition_id = 'p1' ORDER BY attempt"),
      ElementsAre("1|failed|7|connection reset|1", "2|committed|100|NULL|1"));

  // Contract violations are refused and change nothing.
  auto again = store->StartAttempt(run.run_id, "p1");
  EXPECT_TRUE(again.status().IsInvalid()) << again.status().ToString();
  EXPECT_TRUE(store->StartAttempt(run.run_id, "nope").status().IsKeyError());
  EXPECT_TRUE(store->StartAttempt(run.run_id + 100, "p1").status().IsKeyError());
  JETFLOW_ASSERT_OK_AND_ASSIGN(int p2_attempt, store->StartAttempt(run.run_id, "p2"));
  EXPECT_TRUE(store->FinishAttempt(run.run_id, "p2", p2_attempt + 1, Committed(1, 1))
                  .IsKeyError());
  AttemptResult pending;
  pending.status = PartitionStatus::kPending;
  EXPECT_TRUE(store->FinishAttempt(run.run_id, "p2", p2_attempt, pending).IsInvalid());
  JETFLOW_ASSERT_OK(store->FinishAttempt(run.run_id, "p2", p2_attempt, Committed(1, 1)));
  EXPECT_TRUE(
      store->FinishAttempt(run.run_id, "p2", p2_attempt, Committed(1, 1)).IsInvalid());
}

TEST_F(SqliteStateStoreTest, StartingAgainAbandonsAnUnfinishedAttempt) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               store->BeginRun(kPipeline, kDay, Plan({"p1"}), false));
  JETFLOW_ASSERT_OK_AND_ASSIGN(int first, store->StartAttempt(run.run_id, "p1"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(int second, store->StartAttempt(run.run_id, "p1"));
  EXPECT_EQ(second, 2);
  // The first attempt's worker reports late: its lease is lost, the partition follows
  // attempt 2.
  EXPECT_TRUE(
      IsLeaseLost(store->FinishAttempt(run.run_id, "p1", first, Committed(1, 1))));
  JETFLOW_ASSERT_OK(store->FinishAttempt(run.run_id, "p1", second, Committed(2, 2)));
  Reader reader(path_);
  EXPECT_THAT(reader.Query("SELECT attempt, status FROM attempts ORDER BY attempt"),
              ElementsAre("1|abandoned", "2|committed"));
}

TEST_F(SqliteStateStoreTest, ResumeKeepsCommittedAndResetsTheRest) {
  auto store = MustOpen(FixedClock());
  ASSERT_NE(store, nullptr);
  const auto plan = Plan({"p1", "p2", "p3", "p4"});
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               store->BeginRun(kPipeline, kDay, plan, false));
  JETFLOW_ASSERT_OK_AND_ASSIGN(int a1, store->StartAttempt(run.run_id, "p1"));
  JETFLOW_ASSERT_OK(store->FinishAttempt(run.run_id, "p1", a1, Committed(100, 1000)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(int a2, store->StartAttempt(run.run_id, "p2"));
  JETFLOW_ASSERT_OK(store->FinishAttempt(run.run_id, "p2", a2, Failed("disk full")));
  JETFLOW_ASSERT_OK_AND_ASSIGN(int a3, store->StartAttempt(run.run_id, "p3"));
  (void)a3;  // the process dies here, p3 still running

  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord resumed,
                               store->BeginRun(kPipeline, kDay, plan, false));
  EXPECT_EQ(resumed.run_id, run.run_id);
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.status, RunStatus::kRunning);
  EXPECT_EQ(resumed.started_at, run.started_at);
  EXPECT_EQ(resumed.rows_written, 100);  // what it has published so far

  JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, store->ListPartitions(run.run_id));
  EXPECT_THAT(Ids(partitions), ElementsAre("p1", "p2", "p3", "p4"));
  EXPECT_EQ(partitions[0].status, PartitionStatus::kCommitted);
  EXPECT_EQ(partitions[0].rows_written, 100);
  EXPECT_EQ(partitions[0].manifests_json, R"([{"loader":"lake"}])");
  for (int i : {1, 2, 3}) {
    SCOPED_TRACE(partitions[i].partition_id);
    EXPECT_EQ(partitions[i].status, PartitionStatus::kPending);
    EXPECT_EQ(partitions[i].rows_written, 0);
    EXPECT_EQ(partitions[i].error, "");
  }
  EXPECT_EQ(partitions[1].attempts, 1);  // attempt counters kept
  EXPECT_EQ(partitions[2].attempts, 1);
  EXPECT_EQ(partitions[3].attempts, 0);

  Reader reader(path_);
  EXPECT_THAT(reader.Query("SELECT partition_id, attempt, status FROM attempts "
                           "ORDER BY partition_id, attempt"),
              ElementsAre("p1|1|committed", "p2|1|failed", "p3|1|abandoned"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(int next, store->StartAttempt(run.run_id, "p3"));
  EXPECT_EQ(next, 2);

  JETFLOW_ASSERT_OK_AND_ASSIGN(auto got, store->GetRun(run.run_id));
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->resumed);
  EXPECT_EQ(reader.One("SELECT resumes FROM runs"), "1");
}

TEST_F(SqliteStateStoreTest, ResumeFollowsAChangedPlan) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      RunRecord run, store->BeginRun(kPipeline, kDay, Plan({"p1", "p2", "p3"}), false));
  for (const char* id : {"p1", "p2", "p3"}) {
    JETFLOW_ASSERT_OK_AND_ASSIGN(int attempt, store->StartAttempt(run.run_id, id));
    JETFLOW_ASSERT_OK(store->FinishAttempt(run.run_id, id, attempt, Committed(10, 100)));
  }
  JETFLOW_ASSERT_OK(store->FinishRun(run.run_id, RunStatus::kFailed, "loader p9 failed"));

  // New plan: p4 added first, p1 unchanged, p2's bounds changed, p3 gone.
  auto plan = Plan({"p4", "p1", "p2"});
  plan[2].description = "rows of p2, widened";
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord resumed,
                               store->BeginRun(kPipeline, kDay, plan, false));
  EXPECT_EQ(resumed.run_id, run.run_id);
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.status, RunStatus::kRunning);
  EXPECT_EQ(resumed.finished_at, "");
  EXPECT_EQ(resumed.error, "");
  EXPECT_EQ(resumed.rows_written, 10);  // p1 only

  JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, store->ListPartitions(run.run_id));
  EXPECT_THAT(Ids(partitions), ElementsAre("p4", "p1", "p2"));
  EXPECT_EQ(partitions[0].status, PartitionStatus::kPending);
  EXPECT_EQ(partitions[0].attempts, 0);
  EXPECT_EQ(partitions[1].status, PartitionStatus::kCommitted);
  EXPECT_EQ(partitions[1].attempts, 1);
  EXPECT_EQ(partitions[2].status, PartitionStatus::kPending);
  EXPECT_EQ(partitions[2].description, "rows of p2, widened");
  EXPECT_EQ(partitions[2].attempts, 1);
  EXPECT_EQ(partitions[2].manifests_json, "");

  Reader reader(path_);
  EXPECT_EQ(reader.One("SELECT count(*) FROM attempts WHERE partition_id = 'p3'"), "0");
  EXPECT_THAT(
      reader.Query("SELECT partition_id, ordinal FROM partitions ORDER BY ordinal"),
      ElementsAre("p4|0", "p1|1", "p2|2"));
}

TEST_F(SqliteStateStoreTest, RestartStartsANewRunAndClosesTheOldOne) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  const auto plan = Plan({"p1", "p2"});
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord first,
                               store->BeginRun(kPipeline, kDay, plan, false));
  JETFLOW_ASSERT_OK_AND_ASSIGN(int attempt, store->StartAttempt(first.run_id, "p1"));
  JETFLOW_ASSERT_OK(store->FinishAttempt(first.run_id, "p1", attempt, Committed(5, 5)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(int running, store->StartAttempt(first.run_id, "p2"));
  (void)running;

  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord second,
                               store->BeginRun(kPipeline, kDay, plan, true));
  EXPECT_GT(second.run_id, first.run_id);
  EXPECT_FALSE(second.resumed);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, store->ListPartitions(second.run_id));
  for (const auto& p : partitions) {
    EXPECT_EQ(p.status, PartitionStatus::kPending);
    EXPECT_EQ(p.attempts, 0);
  }

  JETFLOW_ASSERT_OK_AND_ASSIGN(auto old, store->GetRun(first.run_id));
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->status, RunStatus::kFailed);
  EXPECT_NE(old->finished_at, "");
  EXPECT_THAT(old->error, HasSubstr(fmt::format("superseded by run {}", second.run_id)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto old_partitions, store->ListPartitions(first.run_id));
  EXPECT_EQ(Find(old_partitions, "p1")->status, PartitionStatus::kCommitted);
  EXPECT_EQ(Find(old_partitions, "p2")->status, PartitionStatus::kFailed);
  // The old run's attempts can no longer report.
  EXPECT_TRUE(store->StartAttempt(first.run_id, "p2").status().IsInvalid());

  // Without restart, the next BeginRun resumes the new run, not the superseded one.
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord third,
                               store->BeginRun(kPipeline, kDay, plan, false));
  EXPECT_EQ(third.run_id, second.run_id);
  EXPECT_TRUE(third.resumed);
}

TEST_F(SqliteStateStoreTest, SucceededRunIsNotResumed) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  const auto plan = Plan({"p1", "p2"});
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord first,
                               store->BeginRun(kPipeline, kDay, plan, false));
  for (const auto& spec : plan) {
    JETFLOW_ASSERT_OK_AND_ASSIGN(int attempt, store->StartAttempt(first.run_id, spec.id));
    JETFLOW_ASSERT_OK(
        store->FinishAttempt(first.run_id, spec.id, attempt, Committed(1, 1)));
  }
  JETFLOW_ASSERT_OK(store->FinishRun(first.run_id, RunStatus::kSucceeded, ""));

  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord second,
                               store->BeginRun(kPipeline, kDay, plan, false));
  EXPECT_NE(second.run_id, first.run_id);
  EXPECT_FALSE(second.resumed);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, store->ListPartitions(second.run_id));
  for (const auto& p : partitions) EXPECT_EQ(p.status, PartitionStatus::kPending);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto old, store->GetRun(first.run_id));
  EXPECT_EQ(old->status, RunStatus::kSucceeded);  // untouched

  // Another run instance of the same pipeline is a separate run.
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      RunRecord other,
      store->BeginRun(kPipeline, RunInstance{"dt", "2026-11-26"}, plan, false));
  EXPECT_NE(other.run_id, second.run_id);
  EXPECT_FALSE(other.resumed);
}

TEST_F(SqliteStateStoreTest, FinishRunSumsCommittedPartitions) {
  auto store = MustOpen(FixedClock());
  ASSERT_NE(store, nullptr);
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      RunRecord run, store->BeginRun(kPipeline, kDay, Plan({"p1", "p2", "p3"}), false));
  JETFLOW_ASSERT_OK_AND_ASSIGN(int a1, store->StartAttempt(run.run_id, "p1"));
  JETFLOW_ASSERT_OK(store->FinishAttempt(run.run_id, "p1", a1, Committed(100, 1000)));
  JETFLOW_ASSERT_OK_AND_ASSIGN(int a2, store->StartAttempt(run.run_id, "p2"));
  AttemptResult p2 = Committed(250, 2500);
  p2.rows_read = 260;
  p2.rows_dropped = 10;
  JETFLOW_ASSERT_OK(store->FinishAttempt(run.run_id, "p2", a2, p2));
  JETFLOW_ASSERT_OK_AND_ASSIGN(int a3, store->StartAttempt(run.run_id, "p3"));
  JETFLOW_ASSERT_OK(store->FinishAttempt(run.run_id, "p3", a3, Failed("timeout")));

  // Not every partition is committed: it cannot succeed.
  EXPECT_TRUE(store->FinishRun(run.run_id, RunStatus::kSucceeded, "").IsInvalid());
  EXPECT_TRUE(store->FinishRun(run.run_id, RunStatus::kRunning, "").IsInvalid());
  EXPECT_TRUE(store->FinishRun(run.run_id + 1, RunStatus::kFailed, "x").IsKeyError());

  JETFLOW_ASSERT_OK(store->FinishRun(run.run_id, RunStatus::kFailed, "p3: timeout"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto finished, store->GetRun(run.run_id));
  ASSERT_TRUE(finished.has_value());
  EXPECT_EQ(finished->status, RunStatus::kFailed);
  EXPECT_EQ(finished->error, "p3: timeout");
  EXPECT_FALSE(finished->finished_at.empty());
  EXPECT_GT(finished->finished_at, finished->started_at);
  EXPECT_EQ(finished->rows_read, 360);  // the failed p3 published nothing
  EXPECT_EQ(finished->rows_written, 350);
  EXPECT_EQ(finished->bytes_written, 3500);

  // Resumed and finished: the totals cover every partition.
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      RunRecord resumed,
      store->BeginRun(kPipeline, kDay, Plan({"p1", "p2", "p3"}), false));
  JETFLOW_ASSERT_OK_AND_ASSIGN(int a3b, store->StartAttempt(run.run_id, "p3"));
  EXPECT_EQ(a3b, 2);
  JETFLOW_ASSERT_OK(store->FinishAttempt(run.run_id, "p3", a3b, Committed(50, 500)));
  JETFLOW_ASSERT_OK(store->FinishRun(resumed.run_id, RunStatus::kSucceeded, ""));
  JETFLOW_ASSERT_OK_AND_ASSIGN(finished, store->GetRun(run.run_id));
  EXPECT_EQ(finished->status, RunStatus::kSucceeded);
  EXPECT_EQ(finished->error, "");
  EXPECT_EQ(finished->rows_read, 410);
  EXPECT_EQ(finished->rows_written, 400);
  EXPECT_EQ(finished->bytes_written, 4000);
}

TEST_F(SqliteStateStoreTest, ListRunsIsNewestFirstAndFiltered) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  std::vector<int64_t> ids;
  for (const auto& [pipeline, day] : std::vector<std::pair<std::string, std::string>>{
           {"orders", "2026-11-24"}, {"users", "2026-11-24"}, {"orders", "2026-11-25"}}) {
    JETFLOW_ASSERT_OK_AND_ASSIGN(
        RunRecord run,
        store->BeginRun(pipeline, RunInstance{"dt", day}, Plan({"p"}), false));
    ids.push_back(run.run_id);
  }
  auto run_ids = [](const std::vector<RunRecord>& runs) {
    std::vector<int64_t> out;
    for (const auto& r : runs) out.push_back(r.run_id);
    return out;
  };
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto all, store->ListRuns("", 0));
  EXPECT_THAT(run_ids(all), ElementsAre(ids[2], ids[1], ids[0]));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto orders, store->ListRuns("orders", 10));
  EXPECT_THAT(run_ids(orders), ElementsAre(ids[2], ids[0]));
  EXPECT_EQ(orders[0].instance, "dt=2026-11-25");
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto latest, store->ListRuns("", 1));
  EXPECT_THAT(run_ids(latest), ElementsAre(ids[2]));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto none, store->ListRuns("nope", 5));
  EXPECT_TRUE(none.empty());
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto missing, store->GetRun(ids[2] + 100));
  EXPECT_FALSE(missing.has_value());
  EXPECT_TRUE(store->ListPartitions(ids[2] + 100).status().IsKeyError());
}

TEST_F(SqliteStateStoreTest, WatermarksGetSetOverwrite) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto missing, store->GetWatermark("orders", "updated_at"));
  EXPECT_FALSE(missing.has_value());
  JETFLOW_ASSERT_OK(store->SetWatermark("orders", "updated_at", "2026-11-25T00:00:00Z"));
  JETFLOW_ASSERT_OK(store->SetWatermark("users", "updated_at", "7"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto value, store->GetWatermark("orders", "updated_at"));
  EXPECT_EQ(value, "2026-11-25T00:00:00Z");
  JETFLOW_ASSERT_OK(store->SetWatermark("orders", "updated_at", "2026-11-26T00:00:00Z"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(value, store->GetWatermark("orders", "updated_at"));
  EXPECT_EQ(value, "2026-11-26T00:00:00Z");
  JETFLOW_ASSERT_OK_AND_ASSIGN(value, store->GetWatermark("users", "updated_at"));
  EXPECT_EQ(value, "7");
  // Opaque: any bytes of text, including the empty string, come back as written.
  const std::string odd = "{\"lsn\": \"0/16B3748\", \"name\": \"Ærø 'quoted'\"}";
  JETFLOW_ASSERT_OK(store->SetWatermark("orders", "state", odd));
  JETFLOW_ASSERT_OK_AND_ASSIGN(value, store->GetWatermark("orders", "state"));
  EXPECT_EQ(value, odd);
  JETFLOW_ASSERT_OK(store->SetWatermark("orders", "empty", ""));
  JETFLOW_ASSERT_OK_AND_ASSIGN(value, store->GetWatermark("orders", "empty"));
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(*value, "");
  Reader reader(path_);
  EXPECT_EQ(reader.One("SELECT count(*) FROM watermarks"), "4");
}

TEST_F(SqliteStateStoreTest, StatePersistsAcrossCloseAndReopen) {
  int64_t run_id = 0;
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    JETFLOW_ASSERT_OK_AND_ASSIGN(
        RunRecord run, store->BeginRun(kPipeline, kDay, Plan({"p1", "p2"}), false));
    run_id = run.run_id;
    JETFLOW_ASSERT_OK_AND_ASSIGN(int attempt, store->StartAttempt(run_id, "p1"));
    JETFLOW_ASSERT_OK(store->FinishAttempt(run_id, "p1", attempt, Committed(3, 30)));
    JETFLOW_ASSERT_OK(store->SetWatermark(kPipeline, "cursor", "99"));
  }
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto run, store->GetRun(run_id));
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->status, RunStatus::kRunning);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, store->ListPartitions(run_id));
  EXPECT_EQ(Find(partitions, "p1")->status, PartitionStatus::kCommitted);
  EXPECT_EQ(Find(partitions, "p1")->rows_written, 3);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto watermark, store->GetWatermark(kPipeline, "cursor"));
  EXPECT_EQ(watermark, "99");

  Reader reader(path_);
  EXPECT_EQ(reader.One("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(reader.One("PRAGMA user_version"),
            std::to_string(SqliteStateStore::kSchemaVersion));
  EXPECT_EQ(reader.One("PRAGMA application_id"), std::to_string(0x4A464C57));
  EXPECT_THAT(
      reader.Query("SELECT version, description FROM schema_version"),
      ElementsAre("1|runs, partitions, attempts, watermarks",
                  "2|per-rule counts of partitions (partition_rules)",
                  "3|workers and their leases, partition claims, splits and config "
                  "fingerprints",
                  "4|when the run's output was prepared (runs.opened_at): workers that "
                  "join wait for it"));
}

TEST_F(SqliteStateStoreTest, ConcurrentAttemptsFromFourThreads) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  constexpr int kPartitions = 200;
  constexpr int kThreads = 4;
  std::vector<std::string> ids;
  for (int i = 0; i < kPartitions; ++i) ids.push_back(fmt::format("p{:03}", i));
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               store->BeginRun(kPipeline, kDay, Plan(ids), false));

  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kPartitions; i += kThreads) {
        // Every third partition fails once and is retried.
        const int tries = i % 3 == 0 ? 2 : 1;
        for (int k = 1; k <= tries; ++k) {
          auto attempt = store->StartAttempt(run.run_id, ids[i]);
          if (!attempt.ok() || *attempt != k) {
            ++failures;
            continue;
          }
          const AttemptResult result =
              k < tries ? Failed("retry me") : Committed(i, 10 * i);
          if (!store->FinishAttempt(run.run_id, ids[i], *attempt, result).ok())
            ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);

  JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, store->ListPartitions(run.run_id));
  ASSERT_EQ(partitions.size(), static_cast<size_t>(kPartitions));
  int64_t expected_rows = 0;
  for (int i = 0; i < kPartitions; ++i) {
    EXPECT_EQ(partitions[i].partition_id, ids[i]);
    EXPECT_EQ(partitions[i].status, PartitionStatus::kCommitted);
    EXPECT_EQ(partitions[i].attempts, i % 3 == 0 ? 2 : 1);
    expected_rows += i;
  }
  JETFLOW_ASSERT_OK(store->FinishRun(run.run_id, RunStatus::kSucceeded, ""));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto finished, store->GetRun(run.run_id));
  EXPECT_EQ(finished->rows_written, expected_rows);
  EXPECT_EQ(finished->bytes_written, 10 * expected_rows);
  Reader reader(path_);
  EXPECT_EQ(reader.One("SELECT count(*) FROM attempts"),
            std::to_string(kPartitions + 67));
}

TEST_F(SqliteStateStoreTest, TwoConnectionsShareOneFile) {
  auto first = MustOpen();
  auto second = MustOpen();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  constexpr int kPartitions = 60;
  std::vector<std::string> ids;
  for (int i = 0; i < kPartitions; ++i) ids.push_back(fmt::format("p{:02}", i));
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               first->BeginRun(kPipeline, kDay, Plan(ids), false));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto seen, second->GetRun(run.run_id));
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->pipeline, kPipeline);

  // Two threads per connection, as two processes with two workers each.
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    SqliteStateStore* store = t % 2 == 0 ? first.get() : second.get();
    threads.emplace_back([&, store, t] {
      for (int i = t; i < kPartitions; i += 4) {
        auto attempt = store->StartAttempt(run.run_id, ids[i]);
        if (!attempt.ok() ||
            !store->FinishAttempt(run.run_id, ids[i], *attempt, Committed(1, 1)).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  JETFLOW_ASSERT_OK(second->FinishRun(run.run_id, RunStatus::kSucceeded, ""));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto finished, first->GetRun(run.run_id));
  EXPECT_EQ(finished->status, RunStatus::kSucceeded);
  EXPECT_EQ(finished->rows_written, kPartitions);
}

TEST_F(SqliteStateStoreTest, ConcurrentOpensOfANewFile) {
  std::vector<std::thread> threads;
  std::vector<arrow::Status> results(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto store = SqliteStateStore::Open(path_);
      results[t] =
          store.ok() ? (*store)->SetWatermark(kPipeline, "cursor", "1") : store.status();
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& status : results) EXPECT_TRUE(status.ok()) << status.ToString();
  Reader reader(path_);
  EXPECT_EQ(reader.One("SELECT count(*) FROM schema_version"),
            std::to_string(SqliteStateStore::kSchemaVersion));
}

TEST_F(SqliteStateStoreTest, EmptyFileIsInitialised) {
  fs::create_directories(fs::path(path_).parent_path());
  std::ofstream(path_).close();
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  JETFLOW_ASSERT_OK(store->SetWatermark(kPipeline, "cursor", "1"));
}

/// Runs `body` in a child process; returns its exit status as waitpid() reports it.
template <typename Body>
int InChildProcess(Body body) {
  const pid_t pid = fork();
  if (pid == 0) {
    body();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST_F(SqliteStateStoreTest, KilledProcessIsResumedWithItsCommittedPartitions) {
  const auto plan = Plan({"p1", "p2", "p3"});
  const int status = InChildProcess([&] {
    auto store = SqliteStateStore::Open(path_);
    if (!store.ok()) _exit(10);
    auto run = (*store)->BeginRun(kPipeline, kDay, plan, false);
    if (!run.ok()) _exit(11);
    auto attempt = (*store)->StartAttempt(run->run_id, "p1");
    if (!attempt.ok()) _exit(12);
    if (!(*store)->FinishAttempt(run->run_id, "p1", *attempt, Committed(42, 420)).ok()) {
      _exit(13);
    }
    if (!(*store)->StartAttempt(run->run_id, "p2").ok()) _exit(14);
    raise(SIGKILL);  // kill -9 in the middle of p2
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);

  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                               store->BeginRun(kPipeline, kDay, plan, false));
  EXPECT_TRUE(run.resumed);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, store->ListPartitions(run.run_id));
  EXPECT_EQ(partitions[0].status, PartitionStatus::kCommitted);
  EXPECT_EQ(partitions[0].rows_written, 42);
  EXPECT_EQ(partitions[1].status, PartitionStatus::kPending);
  EXPECT_EQ(partitions[1].attempts, 1);
  EXPECT_EQ(partitions[2].status, PartitionStatus::kPending);
  Reader reader(path_);
  EXPECT_EQ(reader.One("SELECT status FROM attempts WHERE partition_id = 'p2'"),
            "abandoned");
}

TEST_F(SqliteStateStoreTest, TwoProcessesWorkOnOneRun) {
  constexpr int kPartitions = 40;
  std::vector<std::string> ids;
  for (int i = 0; i < kPartitions; ++i) ids.push_back(fmt::format("p{:02}", i));
  int64_t run_id = 0;
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                                 store->BeginRun(kPipeline, kDay, Plan(ids), false));
    run_id = run.run_id;
  }
  auto work = [&](int parity) {
    auto store = SqliteStateStore::Open(path_);
    if (!store.ok()) return false;
    for (int i = parity; i < kPartitions; i += 2) {
      auto attempt = (*store)->StartAttempt(run_id, ids[i]);
      if (!attempt.ok()) return false;
      if (!(*store)->FinishAttempt(run_id, ids[i], *attempt, Committed(1, 1)).ok())
        return false;
    }
    return true;
  };
  const pid_t pid = fork();
  if (pid == 0) _exit(work(1) ? 0 : 1);
  const bool parent_ok = work(0);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(parent_ok);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);

  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  JETFLOW_ASSERT_OK(store->FinishRun(run_id, RunStatus::kSucceeded, ""));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto run, store->GetRun(run_id));
  EXPECT_EQ(run->rows_written, kPartitions);
}

TEST_F(SqliteStateStoreTest, LockedFileIsARetryableIOError) {
  SqliteStateStoreOptions options;
  options.busy_timeout = std::chrono::milliseconds(50);
  auto store = MustOpen(options);
  ASSERT_NE(store, nullptr);
  Reader other(path_);
  ASSERT_EQ(sqlite3_exec(other.db(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr),
            SQLITE_OK);
  const arrow::Status status = store->SetWatermark(kPipeline, "cursor", "1");
  EXPECT_TRUE(status.IsIOError()) << status.ToString();
  EXPECT_TRUE(IsRetryable(status)) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr(path_));
  ASSERT_EQ(sqlite3_exec(other.db(), "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  JETFLOW_ASSERT_OK(store->SetWatermark(kPipeline, "cursor", "1"));
}

TEST_F(SqliteStateStoreTest, GarbageFileIsAClearError) {
  fs::create_directories(fs::path(path_).parent_path());
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>('a' + i % 26);
  std::ofstream(path_, std::ios::binary) << garbage;

  auto store = SqliteStateStore::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsIOError()) << store.status().ToString();
  EXPECT_THAT(store.status().message(), HasSubstr("not a SQLite database"));
  EXPECT_THAT(store.status().message(), HasSubstr(path_));
  EXPECT_FALSE(IsRetryable(store.status()));
  // The file is left as it was.
  std::ifstream in(path_, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), garbage);
}

TEST_F(SqliteStateStoreTest, OtherSqliteDatabaseIsRefused) {
  fs::create_directories(fs::path(path_).parent_path());
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE customers (id INTEGER)", nullptr, nullptr,
                           nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = SqliteStateStore::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("not a jetflow state store"));
  EXPECT_THAT(store.status().message(), HasSubstr(path_));
  Reader reader(path_);
  EXPECT_EQ(reader.One("SELECT count(*) FROM sqlite_master"), "1");  // untouched
  EXPECT_EQ(reader.One("PRAGMA journal_mode"), "delete");
}

TEST_F(SqliteStateStoreTest, NewerSchemaVersionIsRefused) {
  { ASSERT_NE(MustOpen(), nullptr); }
  {
    Reader reader(path_);
    ASSERT_EQ(sqlite3_exec(reader.db(),
                           "INSERT INTO schema_version VALUES (99, 'from the future', "
                           "'2027-01-01T00:00:00.000Z')",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
  }
  auto store = SqliteStateStore::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("newer jetflow"));
  EXPECT_THAT(store.status().message(), HasSubstr(path_));
}

TEST_F(SqliteStateStoreTest, UnopenablePathNamesThePath) {
  fs::create_directories(path_);  // a directory where the file should be
  auto store = SqliteStateStore::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsIOError()) << store.status().ToString();
  EXPECT_THAT(store.status().message(), HasSubstr(path_));
  EXPECT_TRUE(SqliteStateStore::Open("").status().IsInvalid());
}

TEST_F(SqliteStateStoreTest, InvalidPlanIsRefused) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(
      store->BeginRun(kPipeline, kDay, Plan({"p1", "p1"}), false).status().IsInvalid());
  EXPECT_TRUE(store->BeginRun(kPipeline, kDay, Plan({""}), false).status().IsInvalid());
  EXPECT_TRUE(store->BeginRun("", kDay, Plan({"p1"}), false).status().IsInvalid());
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto runs, store->ListRuns("", 0));
  EXPECT_TRUE(runs.empty());
}

/// docs/state-store.md's example queries are part of the contract with other systems: run
/// every ```sql block against a populated store.
TEST_F(SqliteStateStoreTest, DocumentedQueriesRun) {
  fs::path doc;
  if (const char* source_dir = std::getenv("JETFLOW_SOURCE_DIR")) {
    doc = fs::path(source_dir) / "docs" / "state-store.md";
  } else {
    doc = fs::path(__FILE__).parent_path() / ".." / ".." / ".." / ".." / "docs" /
          "state-store.md";
  }
  std::ifstream in(doc);
  ASSERT_TRUE(in.good()) << "cannot read " << doc;

  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      RunRecord run, store->BeginRun(kPipeline, kDay, Plan({"p1", "p2"}), false));
  for (const char* id : {"p1", "p2"}) {
    JETFLOW_ASSERT_OK_AND_ASSIGN(int attempt, store->StartAttempt(run.run_id, id));
    JETFLOW_ASSERT_OK(store->FinishAttempt(run.run_id, id, attempt, Committed(10, 100)));
  }
  JETFLOW_ASSERT_OK(store->FinishRun(run.run_id, RunStatus::kSucceeded, ""));
  JETFLOW_ASSERT_OK(store->SetWatermark(kPipeline, "updated_at", "2026-11-25T00:00:00Z"));

  std::vector<std::string> queries;
  std::string line, block;
  bool in_sql = false;
  while (std::getline(in, line)) {
    if (!in_sql && line.rfind("```sql", 0) == 0) {
      in_sql = true;
      block.clear();
    } else if (in_sql && line.rfind("```", 0) == 0) {
      in_sql = false;
      queries.push_back(block);
    } else if (in_sql) {
      block += line + "\n";
    }
  }
  ASSERT_GE(queries.size(), 4u);

  Reader reader(path_);
  const std::map<std::string, std::string> params = {
      {":pipeline", kPipeline},
      {":instance", kDay.id()},
      {":run_id", std::to_string(run.run_id)}};
  int total_rows = 0;
  for (const auto& sql : queries) {
    const char* tail = sql.c_str();
    while (*tail != '\0') {
      sqlite3_stmt* stmt = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(reader.db(), tail, -1, &stmt, &tail), SQLITE_OK)
          << sqlite3_errmsg(reader.db()) << "\n"
          << sql;
      if (stmt == nullptr) break;  // only whitespace or comments left
      for (int i = 1; i <= sqlite3_bind_parameter_count(stmt); ++i) {
        const char* name = sqlite3_bind_parameter_name(stmt, i);
        ASSERT_NE(name, nullptr) << sql;
        auto it = params.find(name);
        ASSERT_NE(it, params.end()) << "unknown parameter " << name << " in\n" << sql;
        sqlite3_bind_text(stmt, i, it->second.c_str(), -1, SQLITE_TRANSIENT);
      }
      int rc;
      int rows = 0;
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) ++rows;
      EXPECT_EQ(rc, SQLITE_DONE) << sqlite3_errmsg(reader.db()) << "\n" << sql;
      total_rows += rows;
      sqlite3_finalize(stmt);
    }
  }
  EXPECT_GT(total_rows, 10);
}

}  // namespace
}  // namespace jetflow

namespace jetflow {
namespace {

TEST_F(SqliteStateStoreTest, RuleCountsAreReplacedPerAttempt) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      RunRecord run, store->BeginRun(kPipeline, kDay, Plan({"p1", "p2"}), false));
  JETFLOW_ASSERT_OK_AND_ASSIGN(int attempt, store->StartAttempt(run.run_id, "p1"));
  AttemptResult failed;
  failed.status = PartitionStatus::kFailed;
  failed.error = "boom";
  failed.rules = {{"", "checks", "id_not_null", "fail", 2}};
  JETFLOW_ASSERT_OK(store->FinishAttempt(run.run_id, "p1", attempt, failed));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto rules, store->ListRuleCounts(run.run_id));
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].rows, 2);

  JETFLOW_ASSERT_OK_AND_ASSIGN(attempt, store->StartAttempt(run.run_id, "p1"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(rules, store->ListRuleCounts(run.run_id));
  EXPECT_TRUE(rules.empty());  // a new attempt starts from zero
  AttemptResult committed = Committed(3, 30);
  committed.rows_quarantined = 1;
  committed.rules = {{"", "checks", "range_amount", "quarantine", 1},
                     {"", "checks", "unique_id", "drop", 0}};
  JETFLOW_ASSERT_OK(store->FinishAttempt(run.run_id, "p1", attempt, committed));
  JETFLOW_ASSERT_OK_AND_ASSIGN(rules, store->ListRuleCounts(run.run_id));
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].partition_id, "p1");
  EXPECT_EQ(rules[0].stage, "checks");
  EXPECT_EQ(rules[0].rule, "range_amount");
  EXPECT_EQ(rules[0].action, "quarantine");
  EXPECT_EQ(rules[0].rows, 1);
  EXPECT_EQ(rules[1].rule, "unique_id");
  Reader reader(path_);
  EXPECT_EQ(reader.One("SELECT sum(rows) FROM partition_rules"), "1");
}

/// The text of migration file `version` (state/sqlite/migrations/NNNN_*.sql).
std::string MigrationSql(int version) {
  const char* source = std::getenv("JETFLOW_SOURCE_DIR");
  if (source == nullptr) return "";
  const fs::path folder = fs::path(source) / "src/jetflow/state/sqlite/migrations";
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().filename().string().rfind(fmt::format("{:04}_", version), 0) == 0) {
      std::ifstream in(entry.path());
      return std::string(std::istreambuf_iterator<char>(in),
                         std::istreambuf_iterator<char>());
    }
  }
  return "";
}

TEST_F(SqliteStateStoreTest, OlderFilesAreMigrated) {
  for (int old_version = 1; old_version < SqliteStateStore::kSchemaVersion;
       ++old_version) {
    SCOPED_TRACE(fmt::format("from version {}", old_version));
    fs::remove_all(dir_);
    fs::create_directories(fs::path(path_).parent_path());
    { std::ofstream empty(path_); }  // SQLite takes an empty file as a new database
    {
      // The file as a jetflow of that version left it, with one finished run.
      Reader reader(path_);
      std::string sql;
      for (int v = 1; v <= old_version; ++v) {
        const std::string migration = MigrationSql(v);
        ASSERT_FALSE(migration.empty()) << "set JETFLOW_SOURCE_DIR";
        sql += migration + fmt::format(
                               ";INSERT INTO schema_version VALUES ({}, 'm{}', "
                               "'2026-01-01T00:00:00.000Z');",
                               v, v);
      }
      sql += fmt::format(
          "PRAGMA application_id = {}; PRAGMA user_version = {};"
          "INSERT INTO runs (pipeline, instance, status, started_at) VALUES "
          "('orders', 'dt=2026-11-25', 'succeeded', '2026-01-01T00:00:00.000Z');"
          "INSERT INTO partitions (run_id, partition_id, ordinal, description, status, "
          "updated_at) VALUES (1, 'p1', 0, 'rows of p1', 'committed', "
          "'2026-01-01T00:00:00.000Z');",
          0x4A464C57, old_version);
      char* error = nullptr;
      ASSERT_EQ(sqlite3_exec(reader.db(), sql.c_str(), nullptr, nullptr, &error),
                SQLITE_OK)
          << (error ? error : "");
    }
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    Reader reader(path_);
    EXPECT_EQ(reader.One("PRAGMA user_version"),
              std::to_string(SqliteStateStore::kSchemaVersion));
    EXPECT_EQ(reader.One("SELECT count(*) FROM partition_rules"), "0");
    EXPECT_EQ(reader.One("SELECT count(*) FROM workers"), "0");
    // Runs recorded before migration 4 count as opened (prepared) when they started.
    EXPECT_EQ(reader.One("SELECT opened_at FROM runs WHERE run_id = 1"),
              "2026-01-01T00:00:00.000Z");
    JETFLOW_ASSERT_OK_AND_ASSIGN(auto partitions, store->ListPartitions(1));
    ASSERT_EQ(partitions.size(), 1u);
    EXPECT_EQ(partitions[0].split, "");
    EXPECT_EQ(partitions[0].owner, "");
    // The migrated file works as a new one: the next run of the instance starts afresh.
    JETFLOW_ASSERT_OK_AND_ASSIGN(RunRecord run,
                                 store->BeginRun(kPipeline, kDay, Plan({"p1"}), false));
    EXPECT_EQ(run.run_id, 2);
  }
}

}  // namespace
}  // namespace jetflow
