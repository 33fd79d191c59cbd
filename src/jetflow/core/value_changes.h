// Value changes: values a stage writes otherwise than it read them, counted per column.
//
// Some values have no exact counterpart in Arrow or Parquet, and a stage's policy then
// writes another value in their place: PostgreSQL's -infinity date becomes 0001-01-01
// (`infinity: clamp`), a NaN numeric becomes NULL (`numeric.on_invalid: null`), a
// string that is not UTF-8 gets U+FFFD in place of its bad bytes. Such a change is never
// silent: the stage counts it here, per column and kind, and the engine reports the
// counts of every committed partition
//   - in the log, one warning per partition and (column, change),
//   - in the run summary (RunSummary::value_changes, totals over the committed
//     partitions),
//   - in every partition manifest the partition's loaders write
//     (PartitionManifest::value_changes, docs/formats/manifest.md), and so in the state
//     store and `jetflow status`.
// Counts of an attempt that failed are dropped with it: a retried partition reports its
// committing attempt only.
//
// How a stage reports: PartitionContext::value_changes is the tally of one partition
// attempt, shared by the stages of that attempt. A stage calls Add() any time before
// its part of the attempt ends (a consumer at the latest when Next() returns nullptr;
// counting locally per value and adding once per batch or partition keeps the hot path
// free of locks). A loader reads Counts() in Commit, to write them into its manifest.
//
// Threading: ValueChanges is thread-safe (the reader thread adds while nobody reads;
// the engine reads after the reader thread ended).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace jetflow {

/// How many values of one column one stage changed one way.
struct ValueChangeCount {
  /// The stage that changed them: the consumer's or transformer's name in the pipeline
  /// (PartitionContext::source for a consumer).
  std::string stage;
  /// The column as the stage writes it (a consumer: the source column).
  std::string column;
  /// What the values were, short and stable (a key for counting): "-infinity",
  /// "infinity", "24:00:00", "NaN", "invalid UTF-8". Unique per (stage, column).
  std::string change;
  /// What was done with them, one word: "clamp", "null", "replace", "drop".
  std::string action;
  /// For people, one phrase that completes "<values> <change> values of column <column>
  /// ...": e.g. "written as 0001-01-01 (infinity: clamp)", naming the setting that
  /// chose it.
  std::string detail;
  /// Values changed. A column holding lists or structs counts each changed element.
  int64_t values = 0;

  bool SameKind(const ValueChangeCount& other) const {
    return stage == other.stage && column == other.column && change == other.change;
  }
};

/// The value changes of one partition attempt (see the top of this file).
class ValueChanges {
 public:
  /// Adds `count.values` to the entry of the same (stage, column, change), or appends
  /// `count` as a new entry. Entries with no values are ignored.
  void Add(const ValueChangeCount& count);
  void Add(const std::vector<ValueChangeCount>& counts);
  /// Every entry, in the order of first Add.
  std::vector<ValueChangeCount> Counts() const;

 private:
  mutable std::mutex mutex_;
  std::vector<ValueChangeCount> counts_;
};

/// Adds `count` into `totals` (summing entries of the same kind, appending new kinds in
/// order): how run totals are made from partitions' counts.
void AddValueChange(const ValueChangeCount& count, std::vector<ValueChangeCount>* totals);

/// "3 -infinity values of column created_at written as 0001-01-01 (infinity: clamp)"
/// (without the detail when it is empty).
std::string DescribeValueChange(const ValueChangeCount& count);

}  // namespace jetflow
