// The three divisions of the data a pipeline moves (see docs/semantics.md):
//
//  - RunInstance: the business unit of one run (one day, one hour, one cursor window).
//    Re-running a RunInstance replaces its previous output; it never appends a second
//    copy.
//  - Partition: a deterministic subset of a RunInstance, self-evident from the row data
//    (a key range, a file, a table partition). Unit of parallelism, retry, atomic commit
//    and cleanup: retrying a partition replaces exactly that partition's output.
//  - Batch: a non-deterministic chunk of a partition (an arrow::RecordBatch). Unit of
//    memory, never of correctness.
#pragma once

#include <arrow/memory_pool.h>

#include <cstdint>
#include <memory>
#include <string>

#include "jetflow/core/value_changes.h"

namespace jetflow {

/// One run instance, e.g. {key: "dt", value: "2026-11-25"}. It becomes the Hive-style
/// directory "dt=2026-11-25" in lake outputs.
struct RunInstance {
  std::string key;
  std::string value;
  /// "key=value"
  std::string id() const { return key + "=" + value; }
};

/// One partition of a run instance, as planned by a consumer. Plans are deterministic:
/// the same consumer config and run instance always yield the same partitions in the same
/// order.
struct PartitionSpec {
  /// Unique within the run instance and stable across runs. Starts with a letter and uses
  /// only [A-Za-z0-9._-], so it can be a directory name and is not mistaken for a number
  /// by readers that infer Hive partition-column types (e.g. "p00003", "id_0_99999").
  std::string id;
  /// Human-readable bounds of the partition, e.g. "id in [0, 99999]" or a file path.
  /// Recorded in the state store; part of the plan's identity on resume.
  std::string description;
  /// Rows the source promises for this partition, or -1 when unknown at plan time. When
  /// known, the engine reconciles it against rows read.
  int64_t expected_rows = -1;
  /// What the consumer needs to read exactly this partition (key bounds, a file path, a
  /// Kafka offset range), serialised by the consumer in a form only it reads (JSON
  /// recommended); empty if the id says it all. Persisted with the partition when the run
  /// is recorded and handed back in PartitionContext::partition, so OpenPartition never
  /// re-derives bounds from its own planning state: a process that did not plan the run
  /// (a resumed run, a worker that joined) opens the partition from the record alone.
  /// Part of the plan's identity on resume, like `description`.
  std::string split{};
};

/// Everything a stage needs to know about the partition attempt it works on.
struct PartitionContext {
  std::string pipeline;
  RunInstance run;
  PartitionSpec partition;
  /// 1 for the first attempt of this partition in this run, 2 for the first retry, ...
  int attempt = 1;
  /// Identifier of the run in the state store (0 when there is none, e.g. in tests).
  int64_t run_id = 0;
  /// When the run started (first started, for a resumed run), in microseconds since the
  /// Unix epoch, UTC: the same for every partition and attempt of the run.
  int64_t run_started_us = 0;
  /// Name of the pipeline's consumer (`name:` or its type).
  std::string source;
  /// Partition attempts the run processes at once, and its memory budget in bytes (0 =
  /// none given, e.g. in tests): a loader may choose how to buffer by them.
  int partitions_in_flight = 1;
  int64_t memory_budget_bytes = 0;
  /// Where a consumer allocates its batches: Arrow's default pool, or one a test or a
  /// program passes to account for them.
  arrow::MemoryPool* memory_pool = arrow::default_memory_pool();
  /// The tally of values this attempt's stages write otherwise than they read them
  /// (core/value_changes.h): a consumer adds to it, the engine reports it, a loader
  /// writes it into its manifest. Fresh for every attempt; copies of the context share
  /// it.
  std::shared_ptr<ValueChanges> value_changes = std::make_shared<ValueChanges>();
};

/// What a loader needs to know about a whole run.
struct RunContext {
  std::string pipeline;
  RunInstance run;
  /// Identifier of this run in the state store (stable across resumes of the same run).
  int64_t run_id = 0;
};

}  // namespace jetflow
