#include "jetflow/state/sqlite/sqlite_state_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <set>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "jetflow/core/error.h"
#include "jetflow/state/worker_identity.h"

namespace jetflow {
namespace {

/// PRAGMA application_id of a jetflow state store ("JFLW"), so that `file` and other
/// tools can tell it from other SQLite files.
constexpr int32_t kApplicationId = 0x4A464C57;

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

/// The schema's history, from migrations/NNNN_*.sql (cmake/EmbedSqlMigrations.cmake).
/// Every layout change is a new file, never an edit of an old one: a store is brought
/// from its recorded version to kSchemaVersion by running the missing ones in order.
/// Readers outside jetflow depend on these tables (docs/state-store.md): add columns and
/// tables, do not rename or drop them.
constexpr Migration kMigrations[] = {
#include "jetflow/state/sqlite/sqlite_migrations.inc"
};

static_assert(std::size(kMigrations) == SqliteStateStore::kSchemaVersion,
              "kSchemaVersion must be the version of the last migration file");

constexpr const char* kRunColumns =
    "run_id, pipeline, instance, status, started_at, finished_at, rows_read, "
    "rows_written, "
    "bytes_written, error, resumes";
constexpr const char* kPartitionColumns =
    "partition_id, description, status, attempts, rows_read, rows_written, rows_dropped, "
    "rows_quarantined, bytes_written, seconds, error, manifests_json, expected_rows, "
    "split, owner";

/// Sets a run's totals to the sums over its committed partitions. ?1 = run_id.
constexpr const char* kUpdateRunTotals = R"sql(
UPDATE runs SET
  rows_read = (SELECT coalesce(sum(rows_read), 0) FROM partitions
               WHERE run_id = ?1 AND status = 'committed'),
  rows_written = (SELECT coalesce(sum(rows_written), 0) FROM partitions
                  WHERE run_id = ?1 AND status = 'committed'),
  bytes_written = (SELECT coalesce(sum(bytes_written), 0) FROM partitions
                   WHERE run_id = ?1 AND status = 'committed')
WHERE run_id = ?1)sql";

/// Inserts a pending partition: ?1 run_id, ?2 partition_id, ?3 ordinal, ?4 description,
/// ?5 expected_rows, ?6 now, ?7 split, ?8 config_fingerprint.
constexpr const char* kInsertPartition = R"sql(
INSERT INTO partitions (run_id, partition_id, ordinal, description, expected_rows, status,
                        updated_at, split, config_fingerprint)
VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?8))sql";

/// The one place SQLite result codes become a Status. `operation` says what jetflow was
/// doing ("update partition"); the path of the file comes last.
arrow::Status StatusFromSqlite(int rc, sqlite3* db, std::string_view operation,
                               const std::string& path) {
  // sqlite3_errmsg() describes the last call on `db`, which is the one that returned `rc`
  // unless `rc` came from elsewhere.
  const bool same_call = db != nullptr && sqlite3_extended_errcode(db) == rc;
  const std::string detail = same_call ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return MarkRetryable(arrow::Status::IOError(
          "state store is locked by another connection: cannot ", operation, ": ", detail,
          " (SQLite code ", rc, ", file ", path, ")"));
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return arrow::Status::IOError(
          "state store file is corrupt or not a SQLite database: cannot ", operation,
          ": ", detail, " (SQLite code ", rc, ", file ", path, ")");
    default:
      return arrow::Status::IOError("state store: cannot ", operation, ": ", detail,
                                    " (SQLite code ", rc, ", file ", path, ")");
  }
}

/// Binds NULL for an empty string: "no value" in the tables is NULL, not ''.
struct TextOrNull {
  std::string_view text;
};

/// One prepared statement; finalized on destruction.
class Statement {
 public:
  Statement(sqlite3_stmt* stmt, sqlite3* db, const std::string* path,
            std::string_view operation)
      : stmt_(stmt), db_(db), path_(path), operation_(operation) {}
  Statement(Statement&& other) noexcept
      : stmt_(std::exchange(other.stmt_, nullptr)),
        db_(other.db_),
        path_(other.path_),
        operation_(other.operation_) {}
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  /// Binds `args` to ?1, ?2, ... after clearing the previous execution, so one statement
  /// can run several times.
  template <typename... Args>
  arrow::Status Bind(const Args&... args) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    int index = 0;
    int rc = SQLITE_OK;
    ((rc = (rc == SQLITE_OK ? BindOne(++index, args) : rc)), ...);
    if (rc != SQLITE_OK) return Error(rc);
    return arrow::Status::OK();
  }

  /// True if a row is available, false once the statement is done.
  arrow::Result<bool> Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return Error(rc);
  }

  /// Runs a statement that returns no rows.
  arrow::Status Run() { return Step().status(); }

  int64_t Int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool IsNull(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
  }
  double Double(int column) const { return sqlite3_column_double(stmt_, column); }
  /// "" for NULL.
  std::string Text(int column) const {
    const auto* text = sqlite3_column_text(stmt_, column);
    if (text == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }

 private:
  int BindOne(int index, int64_t value) {
    return sqlite3_bind_int64(stmt_, index, value);
  }
  int BindOne(int index, int value) { return sqlite3_bind_int64(stmt_, index, value); }
  int BindOne(int index, double value) {
    return sqlite3_bind_double(stmt_, index, value);
  }
  int BindOne(int index, std::string_view value) {
    return sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8);
  }
  int BindOne(int index, const std::string& value) {
    return BindOne(index, std::string_view(value));
  }
  int BindOne(int index, const char* value) {
    return BindOne(index, std::string_view(value));
  }
  int BindOne(int index, TextOrNull value) {
    if (value.text.empty()) return sqlite3_bind_null(stmt_, index);
    return BindOne(index, value.text);
  }
  int BindOne(int index, std::optional<int64_t> value) {
    if (!value) return sqlite3_bind_null(stmt_, index);
    return BindOne(index, *value);
  }

  arrow::Status Error(int rc) const {
    return StatusFromSqlite(rc, db_, operation_, *path_);
  }

  sqlite3_stmt* stmt_;
  sqlite3* db_;
  const std::string* path_;
  std::string_view operation_;  // a literal
};

/// A connection seen through jetflow's error conventions. Cheap; made per call.
class Db {
 public:
  Db(sqlite3* handle, const std::string& path) : handle_(handle), path_(path) {}

  /// `operation` must be a string literal; it names the statement in error messages.
  arrow::Result<Statement> Prepare(std::string_view operation, std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v2(handle_, sql.data(), static_cast<int>(sql.size()),
                                      &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return Error(rc, operation);
    }
    return Statement(stmt, handle_, &path_, operation);
  }

  /// Runs `sql` (one or more statements, no parameters, rows ignored).
  arrow::Status Exec(std::string_view operation, const std::string& sql) {
    const int rc = sqlite3_exec(handle_, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return Error(rc, operation);
    return arrow::Status::OK();
  }

  /// Runs `fn` in one write transaction: committed if it returns OK, rolled back
  /// otherwise. BEGIN IMMEDIATE takes the write lock up front, so a read-then-write
  /// inside `fn` cannot race another process, and a busy file fails here, before any
  /// work.
  template <typename Fn>
  arrow::Status InTransaction(Fn&& fn) {
    return InTransaction("BEGIN IMMEDIATE", std::forward<Fn>(fn));
  }
  /// Same with another BEGIN: "BEGIN DEFERRED" for a consistent read of several
  /// statements.
  template <typename Fn>
  arrow::Status InTransaction(const std::string& begin, Fn&& fn) {
    ARROW_RETURN_NOT_OK(Exec("begin a transaction", begin));
    arrow::Status status = fn();
    if (status.ok()) {
      status = Exec("commit a transaction", "COMMIT");
      if (status.ok()) return status;
    }
    // SQLite may already have rolled back (e.g. after an I/O error).
    if (sqlite3_get_autocommit(handle_) == 0) {
      sqlite3_exec(handle_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    return status;
  }

  /// Runs a query returning one integer.
  arrow::Result<int64_t> QueryInt64(std::string_view operation, std::string_view sql) {
    ARROW_ASSIGN_OR_RAISE(Statement stmt, Prepare(operation, sql));
    ARROW_ASSIGN_OR_RAISE(bool row, stmt.Step());
    if (!row) return Corrupt("query returned no row: ", sql);
    return stmt.Int64(0);
  }

  int64_t LastInsertRowid() const { return sqlite3_last_insert_rowid(handle_); }

  arrow::Status Error(int rc, std::string_view operation) const {
    return StatusFromSqlite(rc, handle_, operation, path_);
  }

  /// The file holds something jetflow never writes (another program edited it).
  template <typename... Args>
  arrow::Status Corrupt(Args&&... args) const {
    return arrow::Status::IOError("state store holds unexpected data: ",
                                  std::forward<Args>(args)..., " (file ", path_, ")");
  }

  arrow::Result<RunStatus> ParseRunStatus(std::string_view text) const {
    for (RunStatus status :
         {RunStatus::kRunning, RunStatus::kSucceeded, RunStatus::kFailed}) {
      if (text == ToString(status)) return status;
    }
    return Corrupt("unknown run status '", text, "'");
  }

  arrow::Result<PartitionStatus> ParsePartitionStatus(std::string_view text) const {
    for (PartitionStatus status :
         {PartitionStatus::kPending, PartitionStatus::kRunning,
          PartitionStatus::kCommitted, PartitionStatus::kFailed}) {
      if (text == ToString(status)) return status;
    }
    return Corrupt("unknown partition status '", text, "'");
  }

  /// Reads a row selected with kRunColumns.
  arrow::Result<RunRecord> ReadRun(const Statement& stmt) const {
    RunRecord run;
    run.run_id = stmt.Int64(0);
    run.pipeline = stmt.Text(1);
    run.instance = stmt.Text(2);
    ARROW_ASSIGN_OR_RAISE(run.status, ParseRunStatus(stmt.Text(3)));
    run.started_at = stmt.Text(4);
    run.finished_at = stmt.Text(5);
    run.rows_read = stmt.Int64(6);
    run.rows_written = stmt.Int64(7);
    run.bytes_written = stmt.Int64(8);
    run.error = stmt.Text(9);
    run.resumed = stmt.Int64(10) > 0;
    return run;
  }

  /// Reads a row selected with kPartitionColumns.
  arrow::Result<PartitionRecord> ReadPartition(const Statement& stmt) const {
    PartitionRecord partition;
    partition.partition_id = stmt.Text(0);
    partition.description = stmt.Text(1);
    ARROW_ASSIGN_OR_RAISE(partition.status, ParsePartitionStatus(stmt.Text(2)));
    partition.attempts = static_cast<int>(stmt.Int64(3));
    partition.rows_read = stmt.Int64(4);
    partition.rows_written = stmt.Int64(5);
    partition.rows_dropped = stmt.Int64(6);
    partition.rows_quarantined = stmt.Int64(7);
    partition.bytes_written = stmt.Int64(8);
    partition.seconds = stmt.Double(9);
    partition.error = stmt.Text(10);
    partition.manifests_json = stmt.Text(11);
    partition.expected_rows = stmt.IsNull(12) ? -1 : stmt.Int64(12);
    partition.split = stmt.Text(13);
    partition.owner = stmt.Text(14);
    return partition;
  }

  arrow::Result<std::optional<RunRecord>> LoadRun(int64_t run_id) {
    ARROW_ASSIGN_OR_RAISE(
        Statement stmt,
        Prepare("read run",
                fmt::format("SELECT {} FROM runs WHERE run_id = ?1", kRunColumns)));
    ARROW_RETURN_NOT_OK(stmt.Bind(run_id));
    ARROW_ASSIGN_OR_RAISE(bool row, stmt.Step());
    if (!row) return std::nullopt;
    return ReadRun(stmt);
  }

 private:
  sqlite3* handle_;
  const std::string& path_;
};

std::string FormatIso8601Millis(std::chrono::system_clock::time_point time) {
  using std::chrono::floor;
  const auto millis = floor<std::chrono::milliseconds>(time);
  const auto seconds = floor<std::chrono::seconds>(millis);
  const std::time_t t = std::chrono::system_clock::to_time_t(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (millis - seconds).count());
}

arrow::Status ValidatePlan(const std::string& pipeline,
                           const std::vector<PartitionSpec>& plan) {
  if (pipeline.empty())
    return arrow::Status::Invalid("BeginRun: the pipeline name is empty");
  std::unordered_set<std::string_view> ids;
  for (size_t i = 0; i < plan.size(); ++i) {
    if (plan[i].id.empty()) {
      return arrow::Status::Invalid("BeginRun: partition id is empty (pipeline ",
                                    pipeline, ", plan position ", i, ")");
    }
    if (!ids.insert(plan[i].id).second) {
      return arrow::Status::Invalid(
          "BeginRun: partition id appears twice in the plan (pipeline ", pipeline,
          ", partition ", plan[i].id, ")");
    }
  }
  return arrow::Status::OK();
}

std::optional<int64_t> ExpectedRows(const PartitionSpec& spec) {
  if (spec.expected_rows < 0) return std::nullopt;
  return spec.expected_rows;
}

/// Inserts `plan` as pending partitions of `run_id`.
arrow::Status InsertPartitions(Db& db, int64_t run_id,
                               const std::vector<PartitionSpec>& plan,
                               const std::string& fingerprint, const std::string& now) {
  ARROW_ASSIGN_OR_RAISE(Statement insert,
                        db.Prepare("insert partition", kInsertPartition));
  for (size_t i = 0; i < plan.size(); ++i) {
    ARROW_RETURN_NOT_OK(insert.Bind(run_id, plan[i].id, static_cast<int64_t>(i),
                                    plan[i].description, ExpectedRows(plan[i]), now,
                                    TextOrNull{plan[i].split}, TextOrNull{fingerprint}));
    ARROW_RETURN_NOT_OK(insert.Run());
  }
  return arrow::Status::OK();
}

/// The workers of a run that are alive at `now`: active, within their lease, and not
/// known to be gone (worker_identity.h).
arrow::Result<std::set<std::string>> LiveWorkers(Db& db, int64_t run_id,
                                                 const std::string& now) {
  ARROW_ASSIGN_OR_RAISE(Statement select, db.Prepare("read workers", R"sql(
SELECT worker FROM workers
WHERE run_id = ?1 AND status = 'active' AND lease_expires_at > ?2)sql"));
  ARROW_RETURN_NOT_OK(select.Bind(run_id, now));
  std::set<std::string> live;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(bool row, select.Step());
    if (!row) break;
    std::string worker = select.Text(0);
    if (CheckWorkerLiveness(worker) != WorkerLiveness::kDead) {
      live.insert(std::move(worker));
    }
  }
  return live;
}

/// Marks every active worker of `run_id` outside `live` as lost: another worker is about
/// to take its partitions (or the run) over, so its lease can no longer be renewed.
arrow::Status MarkLostWorkers(Db& db, int64_t run_id, const std::set<std::string>& live,
                              const std::string& now) {
  ARROW_ASSIGN_OR_RAISE(Statement select,
                        db.Prepare("read workers",
                                   "SELECT worker FROM workers WHERE run_id = ?1 AND "
                                   "status = 'active'"));
  ARROW_RETURN_NOT_OK(select.Bind(run_id));
  std::vector<std::string> lost;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(bool row, select.Step());
    if (!row) break;
    if (!live.count(select.Text(0))) lost.push_back(select.Text(0));
  }
  ARROW_ASSIGN_OR_RAISE(Statement update, db.Prepare("mark a worker lost", R"sql(
UPDATE workers SET status = 'lost', left_at = ?3 WHERE run_id = ?1 AND worker = ?2)sql"));
  for (const std::string& worker : lost) {
    ARROW_RETURN_NOT_OK(update.Bind(run_id, worker, now));
    ARROW_RETURN_NOT_OK(update.Run());
  }
  return arrow::Status::OK();
}

/// Makes `worker` an active worker of `run_id` with a lease until `expires`.
arrow::Status ActivateWorker(Db& db, int64_t run_id, const std::string& worker,
                             const std::string& now, const std::string& expires) {
  ARROW_ASSIGN_OR_RAISE(Statement upsert, db.Prepare("register a worker", R"sql(
INSERT INTO workers (run_id, worker, status, joined_at, renewed_at, lease_expires_at)
VALUES (?1, ?2, 'active', ?3, ?3, ?4)
ON CONFLICT (run_id, worker) DO UPDATE SET status = 'active', renewed_at = ?3,
  lease_expires_at = ?4, left_at = NULL)sql"));
  ARROW_RETURN_NOT_OK(upsert.Bind(run_id, worker, now, expires));
  return upsert.Run();
}

/// Marks the running attempts of `run_id` (of one partition if `partition_id` is not
/// empty) abandoned: their worker is gone.
arrow::Status AbandonRunningAttempts(Db& db, int64_t run_id,
                                     const std::string& partition_id,
                                     const std::string& reason) {
  ARROW_ASSIGN_OR_RAISE(Statement abandon, db.Prepare("abandon running attempts", R"sql(
UPDATE attempts SET status = 'abandoned', error = coalesce(error, ?3)
WHERE run_id = ?1 AND (?2 = '' OR partition_id = ?2) AND status = 'running')sql"));
  ARROW_RETURN_NOT_OK(abandon.Bind(run_id, partition_id, reason));
  return abandon.Run();
}

/// The first difference between `plan` (with `fingerprint`) and the partitions recorded
/// for `run_id`, or "" if they are the same (ids, order, descriptions, splits and config
/// fingerprints).
arrow::Result<std::string> PlanDifference(Db& db, int64_t run_id,
                                          const std::vector<PartitionSpec>& plan,
                                          const std::string& fingerprint) {
  ARROW_ASSIGN_OR_RAISE(Statement select,
                        db.Prepare("read partitions",
                                   "SELECT partition_id, description, split, "
                                   "config_fingerprint FROM partitions WHERE run_id = ?1 "
                                   "ORDER BY ordinal"));
  ARROW_RETURN_NOT_OK(select.Bind(run_id));
  size_t index = 0;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(bool row, select.Step());
    if (!row) break;
    if (index >= plan.size()) {
      return fmt::format("it has partition {} (at position {}), this plan only {}",
                         select.Text(0), index, plan.size());
    }
    const PartitionSpec& spec = plan[index];
    if (select.Text(0) != spec.id) {
      return fmt::format("partition {} there is {} here (position {})", select.Text(0),
                         spec.id, index);
    }
    if (select.Text(1) != spec.description || select.Text(2) != spec.split) {
      return fmt::format("partition {} covers '{}' there and '{}' here", spec.id,
                         select.Text(1), spec.description);
    }
    if (select.Text(3) != fingerprint) {
      return fmt::format(
          "the pipeline's configuration or schemas differ (configuration fingerprint {} "
          "there, {} here)",
          select.Text(3), fingerprint);
    }
    ++index;
  }
  if (index < plan.size()) {
    return fmt::format("this plan has partition {} (at position {}), it has only {}",
                       plan[index].id, index, index);
  }
  return std::string();
}

/// Resumes unfinished run `run_id`, whose workers are all gone, with `plan` written
/// under `fingerprint` (see StateStore::BeginRun), for `worker`, which gets the run's
/// finish reserved. Sets *changed to the committed partitions redone because they were
/// written under another fingerprint.
arrow::Status ResumeRun(Db& db, int64_t run_id, const std::vector<PartitionSpec>& plan,
                        const std::string& fingerprint, const std::string& worker,
                        const std::string& now, int64_t* changed) {
  struct Existing {
    std::string description;
    std::string split;
    std::string status;
    std::string fingerprint;
  };
  std::unordered_map<std::string, Existing> existing;
  {
    ARROW_ASSIGN_OR_RAISE(
        Statement select,
        db.Prepare("read partitions",
                   "SELECT partition_id, description, split, status, "
                   "config_fingerprint FROM partitions WHERE run_id = ?1"));
    ARROW_RETURN_NOT_OK(select.Bind(run_id));
    while (true) {
      ARROW_ASSIGN_OR_RAISE(bool row, select.Step());
      if (!row) break;
      existing.emplace(select.Text(0), Existing{select.Text(1), select.Text(2),
                                                select.Text(3), select.Text(4)});
    }
  }

  ARROW_ASSIGN_OR_RAISE(Statement keep, db.Prepare("keep committed partition", R"sql(
UPDATE partitions SET ordinal = ?3, expected_rows = ?4
WHERE run_id = ?1 AND partition_id = ?2)sql"));
  // Attempt counters stay: attempt numbers remain unique in the attempts history.
  ARROW_ASSIGN_OR_RAISE(Statement reset, db.Prepare("reset partition", R"sql(
UPDATE partitions SET ordinal = ?3, description = ?4, expected_rows = ?5,
  status = 'pending', rows_read = 0, rows_written = 0, rows_dropped = 0,
  rows_quarantined = 0, bytes_written = 0, seconds = 0, error = NULL,
  manifests_json = NULL, updated_at = ?6, split = ?7, owner = NULL,
  config_fingerprint = ?8
WHERE run_id = ?1 AND partition_id = ?2)sql"));
  ARROW_ASSIGN_OR_RAISE(Statement insert,
                        db.Prepare("insert partition", kInsertPartition));
  for (size_t i = 0; i < plan.size(); ++i) {
    const PartitionSpec& spec = plan[i];
    const auto ordinal = static_cast<int64_t>(i);
    auto it = existing.find(spec.id);
    if (it == existing.end()) {
      ARROW_RETURN_NOT_OK(insert.Bind(run_id, spec.id, ordinal, spec.description,
                                      ExpectedRows(spec), now, TextOrNull{spec.split},
                                      TextOrNull{fingerprint}));
      ARROW_RETURN_NOT_OK(insert.Run());
      continue;
    }
    const Existing& old = it->second;
    const bool committed = old.status == ToString(PartitionStatus::kCommitted);
    const bool same_bounds =
        old.description == spec.description && old.split == spec.split;
    if (committed && same_bounds && old.fingerprint == fingerprint) {
      ARROW_RETURN_NOT_OK(keep.Bind(run_id, spec.id, ordinal, ExpectedRows(spec)));
      ARROW_RETURN_NOT_OK(keep.Run());
    } else {
      if (committed && same_bounds) ++*changed;
      ARROW_RETURN_NOT_OK(reset.Bind(run_id, spec.id, ordinal, spec.description,
                                     ExpectedRows(spec), now, TextOrNull{spec.split},
                                     TextOrNull{fingerprint}));
      ARROW_RETURN_NOT_OK(reset.Run());
    }
    existing.erase(it);
  }

  // Partitions no longer planned: gone with their attempt history (ON DELETE CASCADE).
  ARROW_ASSIGN_OR_RAISE(
      Statement remove,
      db.Prepare("delete partition",
                 "DELETE FROM partitions WHERE run_id = ?1 AND partition_id = ?2"));
  for (const auto& [partition_id, unused] : existing) {
    ARROW_RETURN_NOT_OK(remove.Bind(run_id, partition_id));
    ARROW_RETURN_NOT_OK(remove.Run());
  }

  ARROW_RETURN_NOT_OK(AbandonRunningAttempts(
      db, run_id, "",
      "abandoned: the process ended before the attempt finished; run resumed at " + now));

  ARROW_ASSIGN_OR_RAISE(Statement reopen, db.Prepare("reopen run", R"sql(
UPDATE runs SET status = 'running', finished_at = NULL, error = NULL, finisher = ?2,
  resumes = resumes + 1, opened_at = NULL
WHERE run_id = ?1)sql"));
  ARROW_RETURN_NOT_OK(reopen.Bind(run_id, worker));
  ARROW_RETURN_NOT_OK(reopen.Run());
  ARROW_ASSIGN_OR_RAISE(Statement totals,
                        db.Prepare("update run totals", kUpdateRunTotals));
  ARROW_RETURN_NOT_OK(totals.Bind(run_id));
  return totals.Run();
}

/// Closes unfinished run `old_run_id`, replaced by `new_run_id` (BeginRun with restart).
/// Its workers lose their leases.
arrow::Status SupersedeRun(Db& db, int64_t old_run_id, int64_t new_run_id,
                           const std::string& now) {
  const std::string reason = fmt::format("superseded by run {} (restart)", new_run_id);
  ARROW_ASSIGN_OR_RAISE(Statement close_run, db.Prepare("close superseded run", R"sql(
UPDATE runs SET status = 'failed', finished_at = coalesce(finished_at, ?2),
  error = coalesce(error, ?3)
WHERE run_id = ?1)sql"));
  ARROW_RETURN_NOT_OK(close_run.Bind(old_run_id, now, reason));
  ARROW_RETURN_NOT_OK(close_run.Run());
  ARROW_ASSIGN_OR_RAISE(Statement close_partitions,
                        db.Prepare("close partitions of superseded run", R"sql(
UPDATE partitions SET status = 'failed', error = coalesce(error, ?2), updated_at = ?3
WHERE run_id = ?1 AND status = 'running')sql"));
  ARROW_RETURN_NOT_OK(close_partitions.Bind(old_run_id, reason, now));
  ARROW_RETURN_NOT_OK(close_partitions.Run());
  ARROW_RETURN_NOT_OK(MarkLostWorkers(db, old_run_id, {}, now));
  return AbandonRunningAttempts(db, old_run_id, "", "abandoned: " + reason);
}

/// Writes watermark updates of `pipeline`.
arrow::Status WriteWatermarks(Db& db, const std::string& pipeline,
                              const std::vector<WatermarkUpdate>& watermarks,
                              const std::string& now) {
  if (watermarks.empty()) return arrow::Status::OK();
  ARROW_ASSIGN_OR_RAISE(Statement upsert, db.Prepare("write watermark", R"sql(
INSERT INTO watermarks (pipeline, name, value, updated_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (pipeline, name) DO UPDATE SET value = excluded.value,
                                           updated_at = excluded.updated_at)sql"));
  for (const WatermarkUpdate& update : watermarks) {
    ARROW_RETURN_NOT_OK(upsert.Bind(pipeline, update.name, update.value, now));
    ARROW_RETURN_NOT_OK(upsert.Run());
  }
  return arrow::Status::OK();
}

/// The schema version of the file: 0 for an empty file, which migration 1 initialises.
/// Invalid for a SQLite database that is not a jetflow state store, or one written by a
/// newer jetflow.
arrow::Result<int64_t> ReadSchemaVersion(Db& db, const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(int64_t application_id, db.QueryInt64("read the application id",
                                                              "PRAGMA application_id"));
  ARROW_ASSIGN_OR_RAISE(
      int64_t objects,
      db.QueryInt64("read the schema", "SELECT count(*) FROM sqlite_master"));
  ARROW_ASSIGN_OR_RAISE(int64_t has_version_table, db.QueryInt64("read the schema", R"sql(
SELECT count(*) FROM sqlite_master
WHERE type = 'table' AND name = 'schema_version')sql"));
  if (application_id == 0 && objects == 0) return 0;
  if (application_id != kApplicationId || has_version_table == 0) {
    return arrow::Status::Invalid(
        "not a jetflow state store: the file is a SQLite database without jetflow's "
        "application id and schema_version table (file ",
        path, ")");
  }
  ARROW_ASSIGN_OR_RAISE(
      int64_t version,
      db.QueryInt64("read the schema version",
                    "SELECT coalesce(max(version), 0) FROM schema_version"));
  if (version > SqliteStateStore::kSchemaVersion) {
    return arrow::Status::Invalid(
        "state store was written by a newer jetflow: its schema version is ", version,
        ", this build knows up to ", SqliteStateStore::kSchemaVersion, " (file ", path,
        ")");
  }
  return version;
}

arrow::Status EnableWal(Db& db, const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(
      Statement wal, db.Prepare("enable WAL journal mode", "PRAGMA journal_mode = WAL"));
  ARROW_ASSIGN_OR_RAISE(bool row, wal.Step());
  const std::string mode = row ? wal.Text(0) : "";
  if (mode != "wal") {
    return arrow::Status::IOError(
        "state store: cannot enable the WAL journal mode (is the file on a network "
        "filesystem?): SQLite kept journal mode '",
        mode, "' (file ", path, ")");
  }
  return arrow::Status::OK();
}

}  // namespace

SqliteStateStore::SqliteStateStore(std::string path, sqlite3* db,
                                   SqliteStateStoreOptions options)
    : path_(std::move(path)), options_(std::move(options)), db_(db) {}

SqliteStateStore::~SqliteStateStore() { sqlite3_close_v2(db_); }

arrow::Result<std::unique_ptr<SqliteStateStore>> SqliteStateStore::Open(
    const std::string& path) {
  return Open(path, SqliteStateStoreOptions{});
}

arrow::Result<std::unique_ptr<SqliteStateStore>> SqliteStateStore::Open(
    const std::string& path, SqliteStateStoreOptions options) {
  if (path.empty()) return arrow::Status::Invalid("state store path is empty");
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !options.read_only) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return arrow::Status::IOError("cannot create the state store's directory: ",
                                    ec.message(), " (directory ", parent.string(), ")");
    }
  }
  sqlite3* handle = nullptr;
  const int flags = options.read_only ? SQLITE_OPEN_READONLY
                                      : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  const int rc =
      sqlite3_open_v2(path.c_str(), &handle, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  // The store owns the handle from here on, even on failure (sqlite3_open_v2 allocates it
  // whenever it can, to carry the error message).
  std::unique_ptr<SqliteStateStore> store(
      new SqliteStateStore(path, handle, std::move(options)));
  if (rc != SQLITE_OK) return StatusFromSqlite(rc, handle, "open the file", path);
  ARROW_RETURN_NOT_OK(store->Initialize());
  return store;
}

arrow::Status SqliteStateStore::Initialize() {
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  sqlite3_extended_result_codes(db_, 1);
  const auto timeout_ms = options_.busy_timeout.count();
  sqlite3_busy_timeout(db_,
                       static_cast<int>(std::clamp<int64_t>(timeout_ms, 0, INT32_MAX)));

  // Identify the file before changing anything in it (the journal mode is persistent):
  // a file that is not a SQLite database fails on this first read. One read transaction,
  // so that a concurrent opener's migration is seen entirely or not at all.
  int64_t found_version = 0;
  ARROW_RETURN_NOT_OK(db.InTransaction("BEGIN DEFERRED", [&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(found_version, ReadSchemaVersion(db, path_));
    return arrow::Status::OK();
  }));
  if (options_.read_only) {
    if (found_version == kSchemaVersion) return arrow::Status::OK();
    return arrow::Status::Invalid(
        "state store has schema version ", found_version, " and this jetflow reads ",
        kSchemaVersion,
        "; it is opened read-only here, so it cannot be upgraded: run "
        "`jetflow run` once (which upgrades it) or open it with write access (file ",
        path_, ")");
  }

  // Switching to WAL needs an exclusive lock, and SQLite reports a conflict with another
  // opener doing the same at once as busy without waiting: retry until the busy timeout.
  const auto deadline = std::chrono::steady_clock::now() + options_.busy_timeout;
  while (true) {
    arrow::Status status = EnableWal(db, path_);
    if (status.ok()) break;
    if (!IsRetryable(status) || std::chrono::steady_clock::now() >= deadline)
      return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // FULL: the WAL is synced at every commit, so a commit survives power loss too.
  ARROW_RETURN_NOT_OK(db.Exec("set synchronous = FULL", "PRAGMA synchronous = FULL"));
  ARROW_RETURN_NOT_OK(db.Exec("enable foreign keys", "PRAGMA foreign_keys = ON"));
  if (found_version == kSchemaVersion) return arrow::Status::OK();

  const std::string now = Now();
  return db.InTransaction([&]() -> arrow::Status {
    // Again under the write lock: another opener may have migrated the file meanwhile.
    ARROW_ASSIGN_OR_RAISE(int64_t version, ReadSchemaVersion(db, path_));
    for (const Migration& migration : kMigrations) {
      if (migration.version <= version) continue;
      ARROW_RETURN_NOT_OK(
          db.Exec(fmt::format("migrate the schema to version {}", migration.version),
                  migration.sql));
      ARROW_ASSIGN_OR_RAISE(Statement record, db.Prepare("record a migration", R"sql(
INSERT INTO schema_version (version, description, applied_at) VALUES (?1, ?2, ?3))sql"));
      ARROW_RETURN_NOT_OK(record.Bind(migration.version, migration.description, now));
      ARROW_RETURN_NOT_OK(record.Run());
    }
    if (version == kSchemaVersion) return arrow::Status::OK();
    ARROW_RETURN_NOT_OK(
        db.Exec("set the application id",
                fmt::format("PRAGMA application_id = {}", kApplicationId)));
    // user_version mirrors max(schema_version.version) for tools that only read the
    // header.
    return db.Exec("set the user version",
                   fmt::format("PRAGMA user_version = {}", kSchemaVersion));
  });
}

std::chrono::system_clock::time_point SqliteStateStore::NowTime() const {
  return options_.clock ? options_.clock() : std::chrono::system_clock::now();
}

std::string SqliteStateStore::Now() const { return FormatIso8601Millis(NowTime()); }

std::string SqliteStateStore::LeaseEnd(std::chrono::milliseconds lease) const {
  return FormatIso8601Millis(NowTime() + lease);
}

arrow::Result<RunRecord> SqliteStateStore::BeginRun(
    const std::string& pipeline, const RunInstance& instance,
    const std::vector<PartitionSpec>& plan, const BeginRunOptions& options) {
  ARROW_RETURN_NOT_OK(ValidatePlan(pipeline, plan));
  const std::string instance_id = instance.id();
  const std::string& worker = options.worker.empty() ? ThisWorker() : options.worker;
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  const std::string now = Now();
  const std::string lease_end = LeaseEnd(options.lease);
  RunRecord result;
  ARROW_RETURN_NOT_OK(db.InTransaction([&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(Statement latest, db.Prepare("find the latest run", R"sql(
SELECT run_id, status FROM runs WHERE pipeline = ?1 AND instance = ?2
ORDER BY run_id DESC LIMIT 1)sql"));
    ARROW_RETURN_NOT_OK(latest.Bind(pipeline, instance_id));
    ARROW_ASSIGN_OR_RAISE(bool found, latest.Step());
    std::optional<int64_t> unfinished;
    if (found) {
      ARROW_ASSIGN_OR_RAISE(RunStatus status, db.ParseRunStatus(latest.Text(1)));
      if (status != RunStatus::kSucceeded) unfinished = latest.Int64(0);
    }

    int64_t run_id = 0;
    bool joined = false;
    int64_t changed = 0;
    if (unfinished && !options.restart) {
      run_id = *unfinished;
      ARROW_ASSIGN_OR_RAISE(std::set<std::string> live, LiveWorkers(db, run_id, now));
      live.erase(worker);  // an earlier Run() of this same process is over
      if (!live.empty()) {
        ARROW_ASSIGN_OR_RAISE(std::string difference,
                              PlanDifference(db, run_id, plan, options.fingerprint));
        if (!difference.empty()) {
          return arrow::Status::Invalid(
              "cannot join run ", run_id, " of pipeline ", pipeline, ", instance ",
              instance_id, ": another process (worker ", *live.begin(),
              ") is running it with a different plan: ", difference,
              ". Wait for it to finish, or stop it and run again");
        }
        joined = true;
      } else {
        ARROW_RETURN_NOT_OK(MarkLostWorkers(db, run_id, {}, now));
        ARROW_RETURN_NOT_OK(
            ResumeRun(db, run_id, plan, options.fingerprint, worker, now, &changed));
      }
    } else {
      ARROW_ASSIGN_OR_RAISE(Statement insert, db.Prepare("insert run", R"sql(
INSERT INTO runs (pipeline, instance, status, started_at)
VALUES (?1, ?2, 'running', ?3))sql"));
      ARROW_RETURN_NOT_OK(insert.Bind(pipeline, instance_id, now));
      ARROW_RETURN_NOT_OK(insert.Run());
      run_id = db.LastInsertRowid();
      ARROW_RETURN_NOT_OK(InsertPartitions(db, run_id, plan, options.fingerprint, now));
      if (unfinished) ARROW_RETURN_NOT_OK(SupersedeRun(db, *unfinished, run_id, now));
    }
    ARROW_RETURN_NOT_OK(ActivateWorker(db, run_id, worker, now, lease_end));
    if (!joined)
      ARROW_RETURN_NOT_OK(WriteWatermarks(db, pipeline, options.watermarks, now));

    ARROW_ASSIGN_OR_RAISE(std::optional<RunRecord> run, db.LoadRun(run_id));
    if (!run) return arrow::Status::UnknownError("BeginRun: run ", run_id, " vanished");
    result = std::move(*run);
    result.resumed = unfinished && !options.restart && !joined;
    result.joined = joined;
    result.partitions_changed = changed;
    return arrow::Status::OK();
  }));
  return result;
}

arrow::Status SqliteStateStore::RenewLease(int64_t run_id, const std::string& worker,
                                           std::chrono::milliseconds lease) {
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  const std::string now = Now();
  const std::string lease_end = LeaseEnd(lease);
  return db.InTransaction([&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(Statement select, db.Prepare("read the worker's lease", R"sql(
SELECT r.status, r.error, w.status FROM runs r
LEFT JOIN workers w ON w.run_id = r.run_id AND w.worker = ?2
WHERE r.run_id = ?1)sql"));
    ARROW_RETURN_NOT_OK(select.Bind(run_id, worker));
    ARROW_ASSIGN_OR_RAISE(bool found, select.Step());
    if (!found) return arrow::Status::KeyError("RenewLease: no run ", run_id);
    if (select.Text(0) != ToString(RunStatus::kRunning)) {
      return LeaseLost(fmt::format("run {} is no longer running (it {}{}{})", run_id,
                                   select.Text(0), select.Text(1).empty() ? "" : ": ",
                                   select.Text(1)));
    }
    const std::string worker_status = select.Text(2);
    if (worker_status != "active") {
      return LeaseLost(fmt::format(
          "worker {} {} run {}", worker,
          worker_status == "lost" ? "let its lease expire and another worker took over"
                                  : (worker_status.empty() ? "never began" : "has left"),
          run_id));
    }
    ARROW_ASSIGN_OR_RAISE(Statement renew, db.Prepare("renew the worker's lease", R"sql(
UPDATE workers SET renewed_at = ?3, lease_expires_at = ?4
WHERE run_id = ?1 AND worker = ?2)sql"));
    ARROW_RETURN_NOT_OK(renew.Bind(run_id, worker, now, lease_end));
    return renew.Run();
  });
}

arrow::Result<ClaimResult> SqliteStateStore::ClaimPartition(
    int64_t run_id, const std::string& worker, const std::string& partition_id) {
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  const std::string now = Now();
  ClaimResult result;
  ARROW_RETURN_NOT_OK(db.InTransaction([&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(std::optional<RunRecord> run, db.LoadRun(run_id));
    if (!run) return arrow::Status::KeyError("ClaimPartition: no run ", run_id);
    result.run_status = run->status;
    result.run_error = run->error;
    if (run->status != RunStatus::kRunning) return arrow::Status::OK();

    ARROW_ASSIGN_OR_RAISE(Statement worker_status, db.Prepare("read the worker", R"sql(
SELECT status FROM workers WHERE run_id = ?1 AND worker = ?2)sql"));
    ARROW_RETURN_NOT_OK(worker_status.Bind(run_id, worker));
    ARROW_ASSIGN_OR_RAISE(bool registered, worker_status.Step());
    if (registered && worker_status.Text(0) == "lost") {
      return LeaseLost(fmt::format(
          "worker {} let its lease on run {} expire and another worker took over", worker,
          run_id));
    }
    if (!registered) {
      // A process that works on a run it did not begin (StartAttempt in tools and
      // tests): it takes part with the default lease.
      ARROW_RETURN_NOT_OK(
          ActivateWorker(db, run_id, worker, now, LeaseEnd(BeginRunOptions{}.lease)));
    }
    ARROW_ASSIGN_OR_RAISE(std::set<std::string> live, LiveWorkers(db, run_id, now));
    live.insert(worker);

    struct Row {
      PartitionSpec spec;
      PartitionStatus status;
      std::string owner;
    };
    std::vector<Row> rows;
    {
      ARROW_ASSIGN_OR_RAISE(Statement select, db.Prepare("read partitions", R"sql(
SELECT partition_id, description, expected_rows, split, status, owner FROM partitions
WHERE run_id = ?1 ORDER BY ordinal)sql"));
      ARROW_RETURN_NOT_OK(select.Bind(run_id));
      while (true) {
        ARROW_ASSIGN_OR_RAISE(bool row, select.Step());
        if (!row) break;
        Row r;
        r.spec = {select.Text(0), select.Text(1), select.IsNull(2) ? -1 : select.Int64(2),
                  select.Text(3)};
        ARROW_ASSIGN_OR_RAISE(r.status, db.ParsePartitionStatus(select.Text(4)));
        r.owner = select.Text(5);
        rows.push_back(std::move(r));
      }
    }

    // Held: running, or failed and waiting for its owner's retry.
    auto held = [](const Row& r) {
      return r.status == PartitionStatus::kRunning ||
             (r.status == PartitionStatus::kFailed && !r.owner.empty());
    };
    auto orphaned = [&](const Row& r) { return held(r) && !live.count(r.owner); };
    const Row* chosen = nullptr;
    if (!partition_id.empty()) {
      auto it = std::find_if(rows.begin(), rows.end(),
                             [&](const Row& r) { return r.spec.id == partition_id; });
      if (it == rows.end()) {
        return arrow::Status::KeyError("ClaimPartition: no such partition (run ", run_id,
                                       ", partition ", partition_id, ")");
      }
      if (it->status == PartitionStatus::kPending ||
          (it->status != PartitionStatus::kCommitted &&
           (!held(*it) || it->owner == worker || orphaned(*it)))) {
        chosen = &*it;
      }
    } else {
      for (const Row& r : rows) {
        if (r.status == PartitionStatus::kPending ||
            (r.status == PartitionStatus::kFailed && r.owner.empty()) || orphaned(r)) {
          chosen = &r;
          break;
        }
      }
    }

    if (chosen != nullptr) {
      if (orphaned(*chosen)) {
        ARROW_RETURN_NOT_OK(MarkLostWorkers(db, run_id, live, now));
      }
      ARROW_ASSIGN_OR_RAISE(Statement attempts, db.Prepare("read partition", R"sql(
SELECT attempts FROM partitions WHERE run_id = ?1 AND partition_id = ?2)sql"));
      ARROW_RETURN_NOT_OK(attempts.Bind(run_id, chosen->spec.id));
      ARROW_ASSIGN_OR_RAISE(bool row, attempts.Step());
      if (!row) return db.Corrupt("partition ", chosen->spec.id, " vanished");
      const int attempt = static_cast<int>(attempts.Int64(0)) + 1;
      ARROW_RETURN_NOT_OK(AbandonRunningAttempts(
          db, run_id, chosen->spec.id,
          fmt::format("abandoned: its worker stopped reporting; attempt {} (worker {}) "
                      "took over",
                      attempt, worker)));

      ARROW_ASSIGN_OR_RAISE(Statement update, db.Prepare("start partition attempt", R"sql(
UPDATE partitions SET status = 'running', attempts = ?3, rows_read = 0, rows_written = 0,
  rows_dropped = 0, rows_quarantined = 0, bytes_written = 0, seconds = 0, error = NULL,
  manifests_json = NULL, updated_at = ?4, owner = ?5
WHERE run_id = ?1 AND partition_id = ?2)sql"));
      ARROW_RETURN_NOT_OK(update.Bind(run_id, chosen->spec.id, attempt, now, worker));
      ARROW_RETURN_NOT_OK(update.Run());

      ARROW_ASSIGN_OR_RAISE(Statement clear, db.Prepare("clear rule counts", R"sql(
DELETE FROM partition_rules WHERE run_id = ?1 AND partition_id = ?2)sql"));
      ARROW_RETURN_NOT_OK(clear.Bind(run_id, chosen->spec.id));
      ARROW_RETURN_NOT_OK(clear.Run());

      ARROW_ASSIGN_OR_RAISE(Statement insert, db.Prepare("insert attempt", R"sql(
INSERT INTO attempts (run_id, partition_id, attempt, status, started_at, worker)
VALUES (?1, ?2, ?3, 'running', ?4, ?5))sql"));
      ARROW_RETURN_NOT_OK(insert.Bind(run_id, chosen->spec.id, attempt, now, worker));
      ARROW_RETURN_NOT_OK(insert.Run());
      result.claim = PartitionClaim{chosen->spec, attempt};
    }

    for (const Row& r : rows) {
      const bool claimed = chosen == &r;
      if (r.status != PartitionStatus::kCommitted) ++result.not_committed;
      if (claimed || (held(r) && r.owner == worker)) {
        ++result.held_here;
      } else if (held(r) && live.count(r.owner)) {
        ++result.held_elsewhere;
      }
    }
    return arrow::Status::OK();
  }));
  return result;
}

arrow::Status SqliteStateStore::FinishAttempt(int64_t run_id,
                                              const std::string& partition_id,
                                              int attempt, const AttemptResult& result) {
  if (result.status != PartitionStatus::kCommitted &&
      result.status != PartitionStatus::kFailed) {
    return arrow::Status::Invalid(
        "FinishAttempt: the result status must be committed or failed (run ", run_id,
        ", partition ", partition_id, ", attempt ", attempt, ", status ",
        ToString(result.status), ")");
  }
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  const std::string now = Now();
  return db.InTransaction([&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(Statement select, db.Prepare("read attempt", R"sql(
SELECT p.attempts, a.status, p.owner FROM partitions p
LEFT JOIN attempts a
  ON a.run_id = p.run_id AND a.partition_id = p.partition_id AND a.attempt = ?3
WHERE p.run_id = ?1 AND p.partition_id = ?2)sql"));
    ARROW_RETURN_NOT_OK(select.Bind(run_id, partition_id, attempt));
    ARROW_ASSIGN_OR_RAISE(bool found, select.Step());
    if (!found) {
      return arrow::Status::KeyError("FinishAttempt: no such partition (run ", run_id,
                                     ", partition ", partition_id, ")");
    }
    const int64_t latest = select.Int64(0);
    const std::string attempt_status = select.Text(1);
    if (attempt_status.empty()) {
      return arrow::Status::KeyError("FinishAttempt: no such attempt (run ", run_id,
                                     ", partition ", partition_id, ", attempt ", attempt,
                                     ")");
    }
    if (latest != attempt || attempt_status == "abandoned") {
      return LeaseLost(fmt::format(
          "attempt {} of partition {} (run {}) was taken over: the partition's latest "
          "attempt is {}",
          attempt, partition_id, run_id, latest));
    }
    if (attempt_status != "running") {
      return arrow::Status::Invalid("FinishAttempt: the attempt already finished (run ",
                                    run_id, ", partition ", partition_id, ", attempt ",
                                    attempt, " is ", attempt_status, ")");
    }

    const char* status = ToString(result.status);
    // A failed partition stays with its worker while that worker retries it.
    const bool keep_owner =
        result.status == PartitionStatus::kCommitted ||
        (result.status == PartitionStatus::kFailed && result.will_retry);
    ARROW_ASSIGN_OR_RAISE(Statement update, db.Prepare("finish partition attempt", R"sql(
UPDATE partitions SET status = ?3, rows_read = ?4, rows_written = ?5, rows_dropped = ?6,
  rows_quarantined = ?7, bytes_written = ?8, seconds = ?9, error = ?10,
  manifests_json = ?11, updated_at = ?12, owner = CASE WHEN ?13 THEN owner END
WHERE run_id = ?1 AND partition_id = ?2)sql"));
    ARROW_RETURN_NOT_OK(
        update.Bind(run_id, partition_id, status, result.rows_read, result.rows_written,
                    result.rows_dropped, result.rows_quarantined, result.bytes_written,
                    result.seconds, TextOrNull{result.error},
                    TextOrNull{result.manifests_json}, now, keep_owner ? 1 : 0));
    ARROW_RETURN_NOT_OK(update.Run());

    ARROW_ASSIGN_OR_RAISE(Statement clear, db.Prepare("clear rule counts", R"sql(
DELETE FROM partition_rules WHERE run_id = ?1 AND partition_id = ?2)sql"));
    ARROW_RETURN_NOT_OK(clear.Bind(run_id, partition_id));
    ARROW_RETURN_NOT_OK(clear.Run());
    for (const RuleCountRecord& rule : result.rules) {
      ARROW_ASSIGN_OR_RAISE(Statement insert, db.Prepare("record rule counts", R"sql(
INSERT INTO partition_rules (run_id, partition_id, stage, rule, action, rows)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (run_id, partition_id, stage, rule) DO UPDATE SET rows = rows + excluded.rows)sql"));
      ARROW_RETURN_NOT_OK(insert.Bind(run_id, partition_id, rule.stage, rule.rule,
                                      rule.action, rule.rows));
      ARROW_RETURN_NOT_OK(insert.Run());
    }

    ARROW_ASSIGN_OR_RAISE(Statement finish, db.Prepare("finish attempt", R"sql(
UPDATE attempts SET status = ?4, finished_at = ?5, rows_read = ?6, rows_written = ?7,
  error = ?8
WHERE run_id = ?1 AND partition_id = ?2 AND attempt = ?3)sql"));
    ARROW_RETURN_NOT_OK(finish.Bind(run_id, partition_id, attempt, status, now,
                                    result.rows_read, result.rows_written,
                                    TextOrNull{result.error}));
    return finish.Run();
  });
}

arrow::Result<bool> SqliteStateStore::ClaimRunFinish(int64_t run_id,
                                                     const std::string& worker) {
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  const std::string now = Now();
  bool claimed = false;
  ARROW_RETURN_NOT_OK(db.InTransaction([&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(Statement select, db.Prepare("read the run's finisher", R"sql(
SELECT status, finisher,
       (SELECT count(*) FROM partitions WHERE run_id = ?1 AND status != 'committed')
FROM runs WHERE run_id = ?1)sql"));
    ARROW_RETURN_NOT_OK(select.Bind(run_id));
    ARROW_ASSIGN_OR_RAISE(bool found, select.Step());
    if (!found) return arrow::Status::KeyError("ClaimRunFinish: no run ", run_id);
    if (select.Text(0) != ToString(RunStatus::kRunning) || select.Int64(2) > 0) {
      return arrow::Status::OK();
    }
    const std::string finisher = select.Text(1);
    if (!finisher.empty() && finisher != worker) {
      ARROW_ASSIGN_OR_RAISE(std::set<std::string> live, LiveWorkers(db, run_id, now));
      if (live.count(finisher)) return arrow::Status::OK();
    }
    ARROW_ASSIGN_OR_RAISE(Statement update, db.Prepare("claim the run's finish", R"sql(
UPDATE runs SET finisher = ?2 WHERE run_id = ?1)sql"));
    ARROW_RETURN_NOT_OK(update.Bind(run_id, worker));
    ARROW_RETURN_NOT_OK(update.Run());
    claimed = true;
    return arrow::Status::OK();
  }));
  return claimed;
}

arrow::Status SqliteStateStore::ReopenPartition(int64_t run_id,
                                                const std::string& partition_id,
                                                const std::string& worker,
                                                const std::string& reason) {
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  const std::string now = Now();
  return db.InTransaction([&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(Statement select,
                          db.Prepare("read the partition to reopen", R"sql(
SELECT r.status, r.finisher, p.status FROM runs r
LEFT JOIN partitions p ON p.run_id = r.run_id AND p.partition_id = ?2
WHERE r.run_id = ?1)sql"));
    ARROW_RETURN_NOT_OK(select.Bind(run_id, partition_id));
    ARROW_ASSIGN_OR_RAISE(bool found, select.Step());
    if (!found) return arrow::Status::KeyError("ReopenPartition: no run ", run_id);
    if (select.IsNull(2)) {
      return arrow::Status::KeyError("ReopenPartition: no such partition (run ", run_id,
                                     ", partition ", partition_id, ")");
    }
    if (select.Text(0) != ToString(RunStatus::kRunning)) {
      return arrow::Status::Invalid("ReopenPartition: run ", run_id, " is ",
                                    select.Text(0), ", not running (partition ",
                                    partition_id, ")");
    }
    const std::string finisher = select.Text(1);
    if (!finisher.empty() && finisher != worker) {
      ARROW_ASSIGN_OR_RAISE(std::set<std::string> live, LiveWorkers(db, run_id, now));
      if (live.count(finisher)) {
        return arrow::Status::Invalid(
            "ReopenPartition: worker ", finisher, " claimed the finish of run ", run_id,
            " and may be publishing it (partition ", partition_id, ")");
      }
    }
    if (select.Text(2) != ToString(PartitionStatus::kCommitted)) {
      return arrow::Status::OK();
    }
    ARROW_ASSIGN_OR_RAISE(Statement reset,
                          db.Prepare("reopen a committed partition", R"sql(
UPDATE partitions SET status = 'pending', rows_read = 0, rows_written = 0,
  rows_dropped = 0, rows_quarantined = 0, bytes_written = 0, seconds = 0, error = ?3,
  manifests_json = NULL, updated_at = ?4, owner = NULL
WHERE run_id = ?1 AND partition_id = ?2)sql"));
    ARROW_RETURN_NOT_OK(reset.Bind(run_id, partition_id, TextOrNull{reason}, now));
    ARROW_RETURN_NOT_OK(reset.Run());
    ARROW_ASSIGN_OR_RAISE(Statement clear, db.Prepare("clear rule counts", R"sql(
DELETE FROM partition_rules WHERE run_id = ?1 AND partition_id = ?2)sql"));
    ARROW_RETURN_NOT_OK(clear.Bind(run_id, partition_id));
    ARROW_RETURN_NOT_OK(clear.Run());
    ARROW_ASSIGN_OR_RAISE(Statement totals,
                          db.Prepare("update run totals", kUpdateRunTotals));
    ARROW_RETURN_NOT_OK(totals.Bind(run_id));
    return totals.Run();
  });
}

arrow::Status SqliteStateStore::FinishRun(
    int64_t run_id, RunStatus status, const std::string& error,
    const std::vector<WatermarkUpdate>& watermarks) {
  if (status == RunStatus::kRunning) {
    return arrow::Status::Invalid(
        "FinishRun: the final status must be succeeded or failed (run ", run_id, ")");
  }
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  const std::string now = Now();
  return db.InTransaction([&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(Statement select, db.Prepare("read run partitions", R"sql(
SELECT status, pipeline,
       (SELECT count(*) FROM partitions WHERE run_id = ?1 AND status != 'committed')
FROM runs WHERE run_id = ?1)sql"));
    ARROW_RETURN_NOT_OK(select.Bind(run_id));
    ARROW_ASSIGN_OR_RAISE(bool row, select.Step());
    if (!row) return arrow::Status::KeyError("FinishRun: no run ", run_id);
    if (select.Text(0) != ToString(RunStatus::kRunning)) {
      return arrow::Status::Invalid("FinishRun: the run already ended (run ", run_id,
                                    " is ", select.Text(0), ")");
    }
    const std::string pipeline = select.Text(1);
    const int64_t not_committed = select.Int64(2);
    if (status == RunStatus::kSucceeded && not_committed > 0) {
      return arrow::Status::Invalid(
          "FinishRun: a run succeeds only when every partition is committed (run ",
          run_id, ", partitions not committed: ", not_committed, ")");
    }
    ARROW_ASSIGN_OR_RAISE(Statement update, db.Prepare("finish run", R"sql(
UPDATE runs SET status = ?2, finished_at = ?3, error = ?4 WHERE run_id = ?1)sql"));
    ARROW_RETURN_NOT_OK(update.Bind(run_id, ToString(status), now, TextOrNull{error}));
    ARROW_RETURN_NOT_OK(update.Run());
    ARROW_ASSIGN_OR_RAISE(Statement totals,
                          db.Prepare("update run totals", kUpdateRunTotals));
    ARROW_RETURN_NOT_OK(totals.Bind(run_id));
    ARROW_RETURN_NOT_OK(totals.Run());
    if (status != RunStatus::kSucceeded) return arrow::Status::OK();
    return WriteWatermarks(db, pipeline, watermarks, now);
  });
}

arrow::Result<bool> SqliteStateStore::LeaveRun(int64_t run_id, const std::string& worker,
                                               const std::string& reason) {
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  const std::string now = Now();
  bool ended = false;
  ARROW_RETURN_NOT_OK(db.InTransaction([&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(std::optional<RunRecord> run, db.LoadRun(run_id));
    if (!run) return arrow::Status::KeyError("LeaveRun: no run ", run_id);
    ARROW_ASSIGN_OR_RAISE(Statement leave, db.Prepare("leave the run", R"sql(
UPDATE workers SET status = 'left', left_at = ?3
WHERE run_id = ?1 AND worker = ?2 AND status = 'active')sql"));
    ARROW_RETURN_NOT_OK(leave.Bind(run_id, worker, now));
    ARROW_RETURN_NOT_OK(leave.Run());
    // Whatever the worker still holds is free for others; an attempt it never finished
    // is over.
    ARROW_ASSIGN_OR_RAISE(Statement abandon,
                          db.Prepare("abandon the worker's attempts", R"sql(
UPDATE attempts SET status = 'abandoned', error = coalesce(error, ?3)
WHERE run_id = ?1 AND worker = ?2 AND status = 'running')sql"));
    ARROW_RETURN_NOT_OK(
        abandon.Bind(run_id, worker, "abandoned: its worker left: " + reason));
    ARROW_RETURN_NOT_OK(abandon.Run());
    ARROW_ASSIGN_OR_RAISE(Statement release,
                          db.Prepare("release the worker's partitions", R"sql(
UPDATE partitions SET status = CASE status WHEN 'running' THEN 'failed' ELSE status END,
  error = CASE status WHEN 'running' THEN ?3 ELSE error END, owner = NULL, updated_at = ?4
WHERE run_id = ?1 AND owner = ?2 AND status IN ('running', 'failed'))sql"));
    ARROW_RETURN_NOT_OK(release.Bind(run_id, worker, "its worker left: " + reason, now));
    ARROW_RETURN_NOT_OK(release.Run());
    if (run->status != RunStatus::kRunning) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(std::set<std::string> live, LiveWorkers(db, run_id, now));
    live.erase(worker);
    if (!live.empty()) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(Statement fail, db.Prepare("fail the abandoned run", R"sql(
UPDATE runs SET status = 'failed', finished_at = ?2, error = ?3 WHERE run_id = ?1)sql"));
    ARROW_RETURN_NOT_OK(fail.Bind(run_id, now, reason));
    ARROW_RETURN_NOT_OK(fail.Run());
    ARROW_ASSIGN_OR_RAISE(Statement totals,
                          db.Prepare("update run totals", kUpdateRunTotals));
    ARROW_RETURN_NOT_OK(totals.Bind(run_id));
    ARROW_RETURN_NOT_OK(totals.Run());
    ended = true;
    return arrow::Status::OK();
  }));
  return ended;
}

arrow::Result<std::vector<PartitionRecord>> SqliteStateStore::ListPartitions(
    int64_t run_id) {
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  ARROW_ASSIGN_OR_RAISE(std::optional<RunRecord> run, db.LoadRun(run_id));
  if (!run) return arrow::Status::KeyError("ListPartitions: no run ", run_id);
  ARROW_ASSIGN_OR_RAISE(
      Statement select,
      db.Prepare(
          "read partitions",
          fmt::format("SELECT {} FROM partitions WHERE run_id = ?1 ORDER BY ordinal",
                      kPartitionColumns)));
  ARROW_RETURN_NOT_OK(select.Bind(run_id));
  std::vector<PartitionRecord> partitions;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(bool row, select.Step());
    if (!row) break;
    ARROW_ASSIGN_OR_RAISE(PartitionRecord partition, db.ReadPartition(select));
    partitions.push_back(std::move(partition));
  }
  return partitions;
}

arrow::Result<std::vector<RuleCountRecord>> SqliteStateStore::ListRuleCounts(
    int64_t run_id) {
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  ARROW_ASSIGN_OR_RAISE(std::optional<RunRecord> run, db.LoadRun(run_id));
  if (!run) return arrow::Status::KeyError("ListRuleCounts: no run ", run_id);
  ARROW_ASSIGN_OR_RAISE(Statement select, db.Prepare("read rule counts", R"sql(
SELECT r.partition_id, r.stage, r.rule, r.action, r.rows FROM partition_rules r
JOIN partitions p ON p.run_id = r.run_id AND p.partition_id = r.partition_id
WHERE r.run_id = ?1 ORDER BY p.ordinal, r.stage, r.rule)sql"));
  ARROW_RETURN_NOT_OK(select.Bind(run_id));
  std::vector<RuleCountRecord> rules;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(bool row, select.Step());
    if (!row) break;
    rules.push_back({select.Text(0), select.Text(1), select.Text(2), select.Text(3),
                     select.Int64(4)});
  }
  return rules;
}

arrow::Result<std::optional<RunRecord>> SqliteStateStore::GetRun(int64_t run_id) {
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  return db.LoadRun(run_id);
}

arrow::Status SqliteStateStore::OpenRun(int64_t run_id) {
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  ARROW_ASSIGN_OR_RAISE(Statement open, db.Prepare("open the run", R"sql(
UPDATE runs SET opened_at = coalesce(opened_at, ?2) WHERE run_id = ?1)sql"));
  ARROW_RETURN_NOT_OK(open.Bind(run_id, Now()));
  ARROW_RETURN_NOT_OK(open.Run());
  if (sqlite3_changes(db_) == 0)
    return arrow::Status::KeyError("OpenRun: no run ", run_id);
  return arrow::Status::OK();
}

arrow::Result<bool> SqliteStateStore::IsRunOpen(int64_t run_id,
                                                const std::string& worker) {
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  ARROW_ASSIGN_OR_RAISE(Statement select,
                        db.Prepare("read whether the run is open", R"sql(
SELECT status, opened_at IS NOT NULL FROM runs WHERE run_id = ?1)sql"));
  ARROW_RETURN_NOT_OK(select.Bind(run_id));
  ARROW_ASSIGN_OR_RAISE(bool found, select.Step());
  if (!found) return arrow::Status::KeyError("IsRunOpen: no run ", run_id);
  ARROW_ASSIGN_OR_RAISE(RunStatus status, db.ParseRunStatus(select.Text(0)));
  if (status != RunStatus::kRunning) {
    return LeaseLost("run " + std::to_string(run_id) + " is " + ToString(status));
  }
  if (select.Int64(1) != 0) return true;
  ARROW_ASSIGN_OR_RAISE(std::set<std::string> live, LiveWorkers(db, run_id, Now()));
  live.erase(worker);
  if (live.empty()) {
    return arrow::Status::Invalid(
        "the process that began run ", run_id,
        " stopped before it prepared the run's output; run the pipeline again to resume "
        "it");
  }
  return false;
}

arrow::Result<std::vector<RunRecord>> SqliteStateStore::ListRuns(
    const std::string& pipeline, int limit) {
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  ARROW_ASSIGN_OR_RAISE(Statement select,
                        db.Prepare("list runs", fmt::format(R"sql(
SELECT {} FROM runs WHERE ?1 = '' OR pipeline = ?1 ORDER BY run_id DESC LIMIT ?2)sql",
                                                            kRunColumns)));
  // LIMIT -1 is no limit.
  ARROW_RETURN_NOT_OK(select.Bind(pipeline, limit > 0 ? limit : -1));
  std::vector<RunRecord> runs;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(bool row, select.Step());
    if (!row) break;
    ARROW_ASSIGN_OR_RAISE(RunRecord run, db.ReadRun(select));
    runs.push_back(std::move(run));
  }
  return runs;
}

arrow::Result<std::optional<std::string>> SqliteStateStore::GetWatermark(
    const std::string& pipeline, const std::string& name) {
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  ARROW_ASSIGN_OR_RAISE(
      Statement select,
      db.Prepare("read watermark",
                 "SELECT value FROM watermarks WHERE pipeline = ?1 AND name = ?2"));
  ARROW_RETURN_NOT_OK(select.Bind(pipeline, name));
  ARROW_ASSIGN_OR_RAISE(bool row, select.Step());
  if (!row) return std::nullopt;
  return select.Text(0);
}

arrow::Status SqliteStateStore::SetWatermark(const std::string& pipeline,
                                             const std::string& name,
                                             const std::string& value) {
  std::lock_guard lock(mu_);
  Db db(db_, path_);
  ARROW_ASSIGN_OR_RAISE(Statement upsert, db.Prepare("write watermark", R"sql(
INSERT INTO watermarks (pipeline, name, value, updated_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (pipeline, name) DO UPDATE SET value = excluded.value,
                                           updated_at = excluded.updated_at)sql"));
  ARROW_RETURN_NOT_OK(upsert.Bind(pipeline, name, value, Now()));
  return upsert.Run();
}

}  // namespace jetflow
