// Key ranges: how the table sources (sqlite, postgres, clickhouse) cut a key column into
// partitions.
//
// Pure functions from what a source reads at plan time (the key's min and max, a number
// of partitions or of rows) to ranges of the key, each with its partition id and its
// description. No I/O and no SQL: each source turns KeyBounds into its own query.
//
// Ids are directory names in users' lakes and, with the descriptions, part of a run's
// identity on resume, so their spelling is frozen. The sources have always cut in one of
// two ways, and both stay as they were (but for small PostgreSQL key spans, which used
// to get fewer ranges than asked for):
//
//  - CutClosedRanges (sqlite, clickhouse): [min, max] cut into count = min(N, max - min +
//    1) contiguous closed ranges, range k = [min + span*k/count, min + span*(k+1)/count -
//    1] with span = max - min + 1 (so fewer distinct values than partitions give one
//    range per value). Ids "<prefix><lo>_<hi>", both bounds zero-padded to the digits of
//    the wider of min and max, a minus sign written 'm' ("id_m0050_0099");
//    descriptions "id in [-50, 99]". No non-null key (an empty table): no range. Rows
//    whose key lies outside [min, max] when the partition is read are not in the plan.
//  - CutOpenRanges (postgres): split points s_1 < ... < s_k (equal widths ceil(span / N),
//    or, where those leave fewer than N ranges, s_k = min + ceil(span * k / N): N ranges
//    whenever [min, max] holds N keys, one per key otherwise; multiples of an interval
//    counted from zero / the epoch; or explicit bounds) cut the whole key space into
//    (-inf, s_1), [s_1, s_2), ..., [s_k, +inf), so rows outside the planned [min, max]
//    are still read. Integer ids "<prefix><lo>_<hi>" padded as above, with the range's
//    ordinal first when the first bound is negative ('m' does not sort:
//    "id_0_m00100_000099", "id_1_000100_000299"); date and timestamp ids
//    "<prefix><start>" ("created_20260101T000000"), with the range's ordinal first
//    when the first range starts BC, since BC years do not sort as text
//    ("day_0_30430703BC", "day_1_00010101"; five-digit years do not sort either, and
//    keep their ids); descriptions "id < 251", "id in [251, 501)", "id >= 751", or
//    "id is not null" for a single range. No finite key (an empty table): one range
//    covering every non-null key.
//
// Both end with "<prefix>null" ("id is null") for the rows whose key is NULL when asked.
// The prefix is the column name made safe for a directory name (IdText) plus '_'.
//
// Bounds are computed in 128-bit arithmetic: keys at the limits of int64 (and of uint64
// for clickhouse) neither overflow nor lose a row.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jetflow/sources/partition_split.h"

namespace jetflow::sources {

/// A key value: wide enough for every integer key of every source (int64 and uint64)
/// and for the difference of two of them.
using KeyValue = __int128;

/// The kind of a key; its values are integers in the kind's unit.
enum class KeyKind {
  kInteger,
  kTimestamp,    // microseconds since 1970-01-01 00:00:00 (no time zone)
  kTimestampTz,  // microseconds since 1970-01-01 00:00:00 UTC
  kDate,         // days since 1970-01-01
};

/// How text becomes part of a partition id. Each source has its own, fixed forever.
struct IdSpelling {
  /// Keep '.' and '-'; otherwise they become '_' like every character outside
  /// [A-Za-z0-9_].
  bool keep_dot_and_dash = true;
  /// Put in front of text that is empty or does not start with an ASCII letter.
  char lead = 'k';
};

/// `text` with every character outside [A-Za-z0-9_] (and '.', '-' when the spelling
/// keeps them) replaced by '_', led by spelling.lead unless it starts with a letter.
std::string IdText(std::string_view text, const IdSpelling& spelling);

/// Which rows of the key a partition holds.
struct KeyBounds {
  /// The rows whose key is NULL; lo and hi are then unset.
  bool null_keys = false;
  /// Inclusive bounds; unset: unbounded on that side.
  std::optional<KeyValue> lo;
  std::optional<KeyValue> hi;

  bool operator==(const KeyBounds&) const = default;
};

/// One planned range.
struct KeyRange {
  std::string id;
  std::string description;
  KeyBounds bounds;
};

/// What CutClosedRanges cuts.
struct ClosedCut {
  /// The key column as the user named it (descriptions show it as is).
  std::string column;
  IdSpelling spelling;
  /// Min and max of the non-null keys; both unset when there is none.
  std::optional<KeyValue> min;
  std::optional<KeyValue> max;
  /// At least 1.
  int64_t partitions = 1;
  /// Adds the "<prefix>null" range.
  bool null_keys = false;
};

/// Closed ranges (see the top of this file). Invalid if partitions < 1, only one of min
/// and max is set, or min > max.
arrow::Result<std::vector<KeyRange>> CutClosedRanges(const ClosedCut& cut);

/// What CutOpenRanges cuts.
struct OpenCut {
  std::string column;
  IdSpelling spelling;
  KeyKind kind = KeyKind::kInteger;
  /// Adds the "<prefix>null" range.
  bool nullable = true;
  /// Finite min and max of the key at plan time; `empty` if there is no finite value.
  bool empty = false;
  int64_t min = 0;
  int64_t max = 0;
  /// Exactly one way to cut: `partitions` > 0 (equal widths of [min, max]), `interval`
  /// > 0 (ranges aligned on multiples of it from zero / the epoch), or `bounds` (split
  /// points, strictly increasing). With none, one range.
  int64_t partitions = 0;
  int64_t interval = 0;
  std::vector<int64_t> bounds;
  /// Refuses plans with more partitions than this.
  int64_t max_partitions = 100000;
};

/// Open ranges (see the top of this file). Invalid if the cut gives more than
/// max_partitions ranges or its bounds are not strictly increasing.
arrow::Result<std::vector<KeyRange>> CutOpenRanges(const OpenCut& cut);

/// How many partitions hold `rows` rows at `rows_per_partition` each:
/// ceil(rows / rows_per_partition) within [1, max_partitions]. Unknown rows (< 0) count
/// as none. REQUIRES: rows_per_partition >= 1, max_partitions >= 1.
int64_t PartitionsForRows(int64_t rows, int64_t rows_per_partition,
                          int64_t max_partitions);

/// A key value as text: for an id ("42", "20260101", "20260101T000000",
/// "20260101T000000.000005", "30430703BC") or for a description ("42", "2026-01-01",
/// "2026-01-01 00:00:00.000000", with "+00" for kTimestampTz). Years before 1 AD are
/// written as PostgreSQL reads and writes them, as BC years (astronomical year 0 is
/// "0001-01-01 BC", -3042 is "3043-... BC"), never as a negative year.
std::string KeyText(KeyKind kind, int64_t value, bool for_id);

/// Decimal text of a value ("-9223372036854775808", "18446744073709551615").
std::string KeyValueText(KeyValue value);
/// Parses what KeyValueText writes (an optional '-' and 1 to 38 digits); nullopt
/// otherwise.
std::optional<KeyValue> ParseKeyValue(std::string_view text);

/// Stores `bounds` in a split object: "null": true, or "lo" / "hi" as decimal strings
/// (JSON numbers would round beyond 2^53 in many readers).
void WriteKeyBounds(const KeyBounds& bounds, nlohmann::json* split);
/// What WriteKeyBounds stored; Invalid naming the partition if it is malformed.
arrow::Result<KeyBounds> ReadKeyBounds(const SplitReader& split);

}  // namespace jetflow::sources
