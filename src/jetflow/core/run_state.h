// Run state: what a consumer carries from one run of a pipeline to the next (the window
// of an incremental cursor, Kafka offsets), kept in the state store's watermarks.
//
// The engine asks the consumer at plan time (Consumer::PlanRunState), before it plans
// partitions, and hands it read access to the pipeline's watermarks. The consumer answers
// with two lists of watermark updates that the engine persists at fixed points of the
// run, so that a run instance is repeatable and a watermark never advances past data that
// is not in the lake:
//  - at_begin: written when the run is recorded in the state store, before any data
//    moves. Used to pin what a run instance covers (e.g. its cursor window), so that a
//    resumed or re-run instance reads exactly the same rows.
//  - at_commit: written only after every partition committed and every loader finished
//    the run (just before the run is marked succeeded). Used to advance a high watermark.
// A failed run writes at_begin only. Names are free-form strings scoped to the pipeline;
// a consumer should prefix them with its type ("postgres.cursor").
//
// A consumer also says here what its run state leaves out, so that nothing is lost
// without a message: rows that no window will ever read (an incremental cursor that is
// NULL or +infinity), a watermark that stopped advancing. The engine logs these warnings
// once per run and shows them in the run summary; `jetflow plan` and `validate` print
// them.
#pragma once

#include <arrow/result.h>

#include <optional>
#include <string>
#include <vector>

namespace jetflow {

/// Read access to the watermarks of one pipeline. Used from the planning thread only.
class WatermarkReader {
 public:
  virtual ~WatermarkReader() = default;
  /// The value stored under `name`, or nullopt if there is none.
  virtual arrow::Result<std::optional<std::string>> Get(const std::string& name) = 0;
};

struct WatermarkUpdate {
  std::string name;
  std::string value;
};

/// The watermark updates a consumer asks for, and when (see the top of this file).
struct RunStatePlan {
  std::vector<WatermarkUpdate> at_begin;
  std::vector<WatermarkUpdate> at_commit;
  /// What the run leaves out or cannot move past, one sentence each, naming the table,
  /// column and row count (see the top of this file). Not persisted.
  std::vector<std::string> warnings{};
};

}  // namespace jetflow
