// Partition planning for the PostgreSQL consumer: pure functions from a few numbers read
// at plan time (key min/max, relation pages, native partition names) to partitions, each
// a deterministic PartitionSpec plus a PartitionRead: what the partition reads. The read
// is also the partition's split (SplitOf), from which OpenPartition rebuilds the SQL
// that selects exactly its rows (SqlOf), without any state of the planning.
//
// Every plan covers all rows, including rows outside the bounds seen at plan time: the
// first key range is open below, the last open above, NULL keys get their own partition,
// the last CTID range is open-ended. A run resumed in a new process (hence a new
// snapshot) therefore never misses a row that appeared since the first plan.
//
// Key ranges are sources::CutOpenRanges (key_ranges.h): ids stable and sorting like the
// ranges, bounds zero-padded to one width ("id_000001_250000"); when the key range
// includes negative numbers (written with 'm', which does not sort), the range's ordinal
// comes first ("id_0_m00100_000099", "id_1_000100_000299"), and so it does for date and
// timestamp ranges when the first starts BC ("day_0_30430703BC", "day_1_00010101"). The
// NULL partition "<key>_null" sorts last. Date and timestamp
// bounds are sent as literals the server parses in any DateStyle, BC years as such
// ('3043-07-03 BC'::date: PostgreSQL refuses a negative year).
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "jetflow/core/partition.h"
#include "jetflow/sources/key_ranges.h"
#include "jetflow/sources/partition_split.h"

namespace jetflow::postgres {

using sources::KeyKind;

/// What one partition reads; stored as its split.
struct PartitionRead {
  enum class Kind { kAll, kKey, kCtid, kNative };
  Kind kind = Kind::kAll;
  /// kKey: the rows of the key within these bounds, or whose key is NULL. Bounds lie in
  /// int64 (and hi below its maximum).
  sources::KeyBounds key;
  /// kCtid: pages [first_page, end_page); no end_page: to the end of the table.
  int64_t first_page = 0;
  std::optional<int64_t> end_page;
  /// kNative: the leaf partition, quoted for SQL ("public"."m_2024").
  std::string relation;
};

/// The split of `read`: {"kind": "all" | "key" | "ctid" | "native", ...}.
nlohmann::json SplitOf(const PartitionRead& read);
/// What SplitOf wrote; Invalid naming the partition if it is malformed.
arrow::Result<PartitionRead> ReadOfSplit(const sources::SplitReader& split);

/// The SQL of the rows of one partition.
struct PartitionSql {
  /// A table (quoted) to read instead of the configured one (native partitions), or
  /// empty.
  std::string from;
  /// An SQL condition on the source's rows, or empty for all rows.
  std::string where;
};

/// The SQL of `read`; `key_column` (unquoted) and `kind` name the key of kKey reads.
PartitionSql SqlOf(const PartitionRead& read, const std::string& key_column,
                   KeyKind kind);

/// One planned partition: its spec (without its split, which the consumer completes),
/// what it reads, and that read's SQL (SqlOf).
struct PlannedPartition {
  PartitionSpec spec;
  PartitionRead read;
  std::string from;
  std::string where;
};

/// What PlanKeyRanges cuts (its `spelling` is ignored: PostgreSQL ids keep '.' and '-'
/// and are led by 'k' when the column does not start with a letter).
using KeyRangeRequest = sources::OpenCut;

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

}  // namespace jetflow::postgres
