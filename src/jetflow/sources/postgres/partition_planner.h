// Partition planning for the PostgreSQL consumer: pure functions from a few numbers read
// at plan time (key min/max, relation pages, native partition names) to partitions, each
// a deterministic PartitionSpec plus the SQL that selects exactly its rows.
//
// Every plan covers all rows, including rows outside the bounds seen at plan time: the
// first key range is open below, the last open above, NULL keys get their own partition,
// the last CTID range is open-ended. A run resumed in a new process (hence a new
// snapshot) therefore never misses a row that appeared since the first plan.
//
// Ids are stable and sort like the ranges: bounds zero-padded to one width
// ("id_000001_250000"); when the key range includes negative numbers (written with 'm',
// which does not sort), the range's ordinal comes first ("id_0_m00100_000099",
// "id_1_000100_000299"). The NULL partition "<key>_null" sorts last.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>
#include <vector>

#include "jetflow/core/partition.h"

namespace jetflow::postgres {

/// One planned partition: its spec and how to select its rows.
struct PlannedPartition {
  PartitionSpec spec;
  /// A table (quoted) to read instead of the configured one (native partitions), or
  /// empty.
  std::string from;
  /// An SQL condition on the source's rows, or empty for all rows.
  std::string where;
};

/// The kind of a partition key; values are int64 in the kind's unit.
enum class KeyKind {
  kInteger,      // smallint, integer, bigint
  kTimestamp,    // timestamp: microseconds since 1970-01-01 00:00:00
  kTimestampTz,  // timestamptz: microseconds since 1970-01-01 00:00:00 UTC
  kDate,         // days since 1970-01-01
};

struct KeyRangeRequest {
  /// The key column (unquoted) and its kind.
  std::string column;
  KeyKind kind = KeyKind::kInteger;
  bool nullable = true;
  /// Finite min and max of the key at plan time; `empty` if there are no finite values.
  bool empty = false;
  int64_t min = 0;
  int64_t max = 0;
  /// Exactly one way to cut: `partitions` > 0 (equal widths of [min, max]), `interval`
  /// > 0 (ranges aligned on multiples of it from the epoch / zero), or `bounds` (explicit
  /// split points, strictly increasing).
  int64_t partitions = 0;
  int64_t interval = 0;
  std::vector<int64_t> bounds;
  /// Refuses plans with more partitions than this.
  int64_t max_partitions = 100000;
};

/// Key ranges. Invalid if the request asks for more than max_partitions or its bounds
/// are not strictly increasing.
arrow::Result<std::vector<PlannedPartition>> PlanKeyRanges(
    const KeyRangeRequest& request);

/// CTID page ranges [a, b) of `pages_per_partition` pages over `pages` pages (the last
/// one open-ended): ids "ctid_<first page>_<last page>".
arrow::Result<std::vector<PlannedPartition>> PlanCtidRanges(int64_t pages,
                                                            int64_t pages_per_partition);

/// One partition per native (leaf) partition, `names` as "schema.table" (quoted for SQL
/// in `quoted`), sorted by name: ids "part_<name with other characters than
/// [A-Za-z0-9._-] replaced by '_'>", made unique with a numeric suffix if needed.
std::vector<PlannedPartition> PlanNativePartitions(
    const std::vector<std::string>& names, const std::vector<std::string>& quoted);

/// A key value as an SQL literal of its kind ('2026-01-01 00:00:00+00'::timestamptz).
std::string KeyLiteral(KeyKind kind, int64_t value);
/// A key value as text for ids and descriptions (20260101T000000, 2026-01-01, 42).
std::string KeyText(KeyKind kind, int64_t value, bool for_id);

}  // namespace jetflow::postgres
