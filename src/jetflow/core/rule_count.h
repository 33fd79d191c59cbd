// RuleCount: how many rows or values one rule of a stage acted on in a partition. The
// engine records them per partition in the state store and sums them in the run summary
// (`rules` of `jetflow run --json`, `jetflow status`), under the stage's name.
//
// Threading: a plain value.
#pragma once

#include <cstdint>
#include <string>

namespace jetflow {

/// How many rows of a partition one rule (a validation rule, a cast's failure policy, a
/// filter, a de-duplication) acted on, and what it did with them. A consumer's rules
/// (PartitionReader::counters) count values it changed on the way in, e.g. text that was
/// not valid UTF-8 (an array element counts alone).
struct RuleCount {
  /// Unique within the stage, e.g. "id_not_null", "cast:amount", "where",
  /// "invalid_utf8:payload".
  std::string rule;
  /// "drop", "quarantine", "null" (values replaced by null, row kept), "fail", or, for a
  /// consumer, what it did to the values ("replace", "clamp").
  std::string action;
  int64_t rows = 0;
};

}  // namespace jetflow
