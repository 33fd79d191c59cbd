// SqliteStateStore: the StateStore in one embedded SQLite file, the default for runs on
// one machine.
//
// Durability: the file uses a write-ahead log with synchronous=FULL, so every state
// change is on disk when the call that made it returns; a kill -9 or a power loss after
// that cannot lose it, and one before it leaves the previous state intact (each call is
// one SQLite transaction).
//
// Sharing: several processes on one machine may open the same file and work on one run
// together (the multi-process contract of state_store.h: leases, claims, joining, one
// finisher). SQLite serialises their writes with a file lock; a call waits up to
// `busy_timeout` for the lock and then fails with an IOError marked retryable
// (core/error.h). WAL needs shared memory, so the file must be on a local filesystem,
// not NFS/SMB, and the processes on the machine that has it. Besides leases, a worker of
// this machine whose process has ended is known dead at once (worker_identity.h), so a
// run killed with kill -9 resumes without waiting for its lease to run out.
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
  /// Open an existing store to read it only: nothing is created, migrated or written
  /// (every writing call fails), and the file may be read-only. A store of an older
  /// schema version is refused with a message saying how to upgrade it.
  bool read_only = false;
};

class SqliteStateStore final : public StateStore {
 public:
  /// Version of the table layout this build writes (the highest migration it knows).
  static constexpr int kSchemaVersion = 4;

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

  using StateStore::BeginRun;
  using StateStore::ClaimPartition;
  using StateStore::FinishRun;

  /// See StateStore::BeginRun. Also:
  ///  - REQUIRES: `pipeline` is not empty; partition ids in `plan` are non-empty and
  ///    unique (otherwise Invalid, nothing written).
  ///  - On resume, the run's totals are recomputed from the partitions it keeps.
  ///  - On restart of an unfinished run, that run is closed as failed ("superseded by run
  ///    N") so that no reader sees it running forever.
  arrow::Result<RunRecord> BeginRun(const std::string& pipeline,
                                    const RunInstance& instance,
                                    const std::vector<PartitionSpec>& plan,
                                    const BeginRunOptions& options) override;
  arrow::Status RenewLease(int64_t run_id, const std::string& worker,
                           std::chrono::milliseconds lease) override;
  /// A worker that never began the run takes part from its first claim, with the
  /// default lease.
  arrow::Result<ClaimResult> ClaimPartition(int64_t run_id, const std::string& worker,
                                            const std::string& partition_id) override;
  arrow::Status FinishAttempt(int64_t run_id, const std::string& partition_id,
                              int attempt, const AttemptResult& result) override;
  arrow::Result<bool> ClaimRunFinish(int64_t run_id, const std::string& worker) override;
  /// See StateStore::ReopenPartition. Also: the run's totals are recomputed, and the
  /// partition's committed attempt keeps its status in `attempts` (the history of what
  /// was done); `partitions.error` says why it is redone.
  arrow::Status ReopenPartition(int64_t run_id, const std::string& partition_id,
                                const std::string& worker,
                                const std::string& reason) override;
  arrow::Status FinishRun(int64_t run_id, RunStatus status, const std::string& error,
                          const std::vector<WatermarkUpdate>& watermarks) override;
  arrow::Result<bool> LeaveRun(int64_t run_id, const std::string& worker,
                               const std::string& reason) override;
  /// In plan order. KeyError if the run does not exist.
  arrow::Result<std::vector<PartitionRecord>> ListPartitions(int64_t run_id) override;
  arrow::Result<std::vector<RuleCountRecord>> ListRuleCounts(int64_t run_id) override;
  /// RunRecord::resumed is true if the run has been resumed at least once.
  arrow::Result<std::optional<RunRecord>> GetRun(int64_t run_id) override;
  arrow::Status OpenRun(int64_t run_id) override;
  arrow::Result<bool> IsRunOpen(int64_t run_id, const std::string& worker) override;
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
  std::chrono::system_clock::time_point NowTime() const;
  /// The current time as ISO-8601 UTC with milliseconds, e.g. "2026-11-25T18:03:50.123Z".
  std::string Now() const;
  /// When a lease of `lease` taken now ends, in the same form.
  std::string LeaseEnd(std::chrono::milliseconds lease) const;

  const std::string path_;
  const SqliteStateStoreOptions options_;
  std::mutex mu_;
  sqlite3* const db_;  // guarded by mu_; owned
};

}  // namespace jetflow
