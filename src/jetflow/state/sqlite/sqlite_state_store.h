// SqliteStateStore: the StateStore in one embedded SQLite file, the default for runs on
// one machine.
//
// Durability: the file uses a write-ahead log with synchronous=FULL, so every state
// change is on disk when the call that made it returns; a kill -9 or a power loss after
// that cannot lose it, and one before it leaves the previous state intact (each call is
// one SQLite transaction).
//
// Sharing: several processes on one machine may open the same file. SQLite serialises
// their writes with a file lock; a call waits up to `busy_timeout` for the lock and then
// fails with an IOError marked retryable (core/error.h). WAL needs shared memory, so the
// file must be on a local filesystem, not NFS/SMB: runs spread over machines use the
// PostgreSQL store, which also has partition leases. This store has no leases: two
// processes running the same run instance at once would both work on it.
//
// Readers: the tables are a public interface for schedulers and catalogs
// (docs/state-store.md). They only change through numbered migrations, recorded in the
// `schema_version` table; a file written by a newer jetflow is refused, not rewritten.
//
// Threading: thread-safe. One connection, guarded by a mutex; calls are short (one
// transaction each) and made per run and per partition attempt, never per batch.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "jetflow/state/state_store.h"

struct sqlite3;

namespace jetflow {

struct SqliteStateStoreOptions {
  /// How long a call waits for a lock held by another connection before it fails with a
  /// retryable IOError.
  std::chrono::milliseconds busy_timeout{30'000};
  /// Source of the timestamps written to the tables; the system clock if empty. Tests
  /// inject a fixed clock.
  std::function<std::chrono::system_clock::time_point()> clock;
};

class SqliteStateStore final : public StateStore {
 public:
  /// Version of the table layout this build writes (the highest migration it knows).
  static constexpr int kSchemaVersion = 2;

  /// Opens the state store at `path`, creating its parent directories and the file if
  /// needed, and migrates an older layout to kSchemaVersion.
  /// Fails with a message naming `path` if the file is not a SQLite database, is corrupt,
  /// is a SQLite database of something other than jetflow, or was written by a newer
  /// jetflow (schema version above kSchemaVersion).
  static arrow::Result<std::unique_ptr<SqliteStateStore>> Open(const std::string& path);
  static arrow::Result<std::unique_ptr<SqliteStateStore>> Open(
      const std::string& path, SqliteStateStoreOptions options);

  ~SqliteStateStore() override;
  SqliteStateStore(const SqliteStateStore&) = delete;
  SqliteStateStore& operator=(const SqliteStateStore&) = delete;

  const std::string& path() const { return path_; }

  /// See StateStore::BeginRun. Also:
  ///  - REQUIRES: `pipeline` is not empty; partition ids in `plan` are non-empty and
  ///    unique (otherwise Invalid, nothing written).
  ///  - On resume, attempts left `running` by a dead process become `abandoned`, and the
  ///    run's totals are recomputed from the partitions it keeps.
  ///  - On restart of an unfinished run, that run is closed as failed ("superseded by run
  ///    N") so that no reader sees it running forever.
  arrow::Result<RunRecord> BeginRun(const std::string& pipeline,
                                    const RunInstance& instance,
                                    const std::vector<PartitionSpec>& plan,
                                    bool restart) override;
  /// In plan order. KeyError if the run does not exist.
  arrow::Result<std::vector<PartitionRecord>> ListPartitions(int64_t run_id) override;
  arrow::Result<std::vector<RuleCountRecord>> ListRuleCounts(int64_t run_id) override;
  /// REQUIRES: the run is running and the partition is not committed (otherwise Invalid;
  /// KeyError if either does not exist). A previous attempt still `running` (its worker
  /// never reported) becomes `abandoned`. The partition's counters are cleared until the
  /// attempt finishes.
  arrow::Result<int> StartAttempt(int64_t run_id,
                                  const std::string& partition_id) override;
  /// REQUIRES: `attempt` is the partition's latest attempt and still running;
  /// result.status is kCommitted or kFailed (otherwise Invalid, nothing written; KeyError
  /// if the partition or the attempt does not exist).
  arrow::Status FinishAttempt(int64_t run_id, const std::string& partition_id,
                              int attempt, const AttemptResult& result) override;
  /// REQUIRES: `status` is kSucceeded or kFailed; kSucceeded only if every partition is
  /// committed (otherwise Invalid). The run's totals are the sums over its committed
  /// partitions, i.e. over the output it published.
  arrow::Status FinishRun(int64_t run_id, RunStatus status,
                          const std::string& error) override;
  /// RunRecord::resumed is true if the run has been resumed at least once.
  arrow::Result<std::optional<RunRecord>> GetRun(int64_t run_id) override;
  /// Newest first (by run_id); all pipelines if `pipeline` is empty; no limit if
  /// `limit` <= 0.
  arrow::Result<std::vector<RunRecord>> ListRuns(const std::string& pipeline,
                                                 int limit) override;

  arrow::Result<std::optional<std::string>> GetWatermark(
      const std::string& pipeline, const std::string& name) override;
  arrow::Status SetWatermark(const std::string& pipeline, const std::string& name,
                             const std::string& value) override;

 private:
  SqliteStateStore(std::string path, sqlite3* db, SqliteStateStoreOptions options);

  /// Connection settings and schema migration; called once by Open().
  arrow::Status Initialize();
  /// The current time as ISO-8601 UTC with milliseconds, e.g. "2026-11-25T18:03:50.123Z".
  std::string Now() const;

  const std::string path_;
  const SqliteStateStoreOptions options_;
  std::mutex mu_;
  sqlite3* const db_;  // guarded by mu_; owned
};

}  // namespace jetflow
