// StateStore: the durable record of runs, partitions, attempts, manifests and watermarks.
//
// The engine writes every state change here *before* it acts on it, so that a process
// killed at any moment (kill -9) and started again with the same pipeline and run
// instance resumes: partitions recorded as committed are kept, everything else is redone.
// Other systems (schedulers, catalogs) read the same tables (docs/state-store.md).
//
// SQLite is the default implementation (one embedded file); a PostgreSQL-backed store for
// multi-machine runs implements the same interface.
//
// Threading: implementations are thread-safe; the engine calls them from several threads.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jetflow/core/partition.h"

namespace jetflow {

enum class RunStatus { kRunning, kSucceeded, kFailed };
enum class PartitionStatus { kPending, kRunning, kCommitted, kFailed };

const char* ToString(RunStatus status);
const char* ToString(PartitionStatus status);

struct RunRecord {
  int64_t run_id = 0;
  std::string pipeline;
  std::string instance;  // RunInstance::id(), e.g. "dt=2026-11-25"
  RunStatus status = RunStatus::kRunning;
  std::string started_at;   // ISO-8601 UTC
  std::string finished_at;  // empty while running
  int64_t rows_read = 0;
  int64_t rows_written = 0;
  int64_t bytes_written = 0;
  std::string error;  // first error of a failed run
  /// True if BeginRun resumed an unfinished earlier run instead of starting a new one.
  bool resumed = false;
};

struct PartitionRecord {
  std::string partition_id;
  std::string description;
  PartitionStatus status = PartitionStatus::kPending;
  int attempts = 0;
  int64_t rows_read = 0;
  int64_t rows_written = 0;
  int64_t rows_dropped = 0;
  int64_t rows_quarantined = 0;
  int64_t bytes_written = 0;
  double seconds = 0;
  std::string error;
  /// JSON array of PartitionManifest::ToJson(), one per loader; empty until committed.
  std::string manifests_json;
};

/// Rows one rule of one transformer acted on in a partition (see RuleCount in
/// core/transformer.h).
struct RuleCountRecord {
  std::string partition_id;  // empty in run totals
  std::string stage;         // transformer name
  std::string rule;
  std::string action;  // drop, quarantine, null, fail
  int64_t rows = 0;
};

/// Outcome of one partition attempt.
struct AttemptResult {
  PartitionStatus status = PartitionStatus::kFailed;  // kCommitted or kFailed
  int64_t rows_read = 0;
  int64_t rows_written = 0;
  int64_t rows_dropped = 0;
  int64_t rows_quarantined = 0;
  int64_t bytes_written = 0;
  double seconds = 0;
  std::string error;
  std::string manifests_json;
  /// Per-rule counts of the attempt; they replace the partition's earlier counts.
  std::vector<RuleCountRecord> rules;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  /// Starts or resumes the run of (pipeline, instance).
  /// If the latest run of that pair is unfinished (kRunning or kFailed) and `restart` is
  /// false, it is resumed: same run_id, its committed partitions kept if they are still
  /// in `plan` with the same description; every other partition reset to pending.
  /// Otherwise a new run starts with every partition of `plan` pending.
  virtual arrow::Result<RunRecord> BeginRun(const std::string& pipeline,
                                            const RunInstance& instance,
                                            const std::vector<PartitionSpec>& plan,
                                            bool restart) = 0;
  virtual arrow::Result<std::vector<PartitionRecord>> ListPartitions(int64_t run_id) = 0;
  /// Per-rule counts of every partition of the run (of each partition's latest finished
  /// attempt), ordered by partition, stage and rule. A store that does not record them
  /// returns NotImplemented.
  virtual arrow::Result<std::vector<RuleCountRecord>> ListRuleCounts(int64_t run_id) {
    return arrow::Status::NotImplemented("this state store does not record rule counts");
  }
  /// Marks the partition running and returns its attempt number (1, 2, ...).
  virtual arrow::Result<int> StartAttempt(int64_t run_id,
                                          const std::string& partition_id) = 0;
  virtual arrow::Status FinishAttempt(int64_t run_id, const std::string& partition_id,
                                      int attempt, const AttemptResult& result) = 0;
  /// Totals are summed from the partitions by the store.
  virtual arrow::Status FinishRun(int64_t run_id, RunStatus status,
                                  const std::string& error) = 0;
  virtual arrow::Result<std::optional<RunRecord>> GetRun(int64_t run_id) = 0;
  /// Newest first; all pipelines if `pipeline` is empty.
  virtual arrow::Result<std::vector<RunRecord>> ListRuns(const std::string& pipeline,
                                                         int limit) = 0;

  /// Watermarks for incremental runs: an opaque string per (pipeline, name).
  virtual arrow::Result<std::optional<std::string>> GetWatermark(
      const std::string& pipeline, const std::string& name) = 0;
  virtual arrow::Status SetWatermark(const std::string& pipeline, const std::string& name,
                                     const std::string& value) = 0;
};

}  // namespace jetflow
