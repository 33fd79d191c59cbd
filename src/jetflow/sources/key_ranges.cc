#include "jetflow/sources/key_ranges.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <utility>

namespace jetflow::sources {

namespace {

constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;

// Keys the cuts accept: every int64 and uint64 value. Their spans and the products below
// then stay far inside 128 bits.
constexpr KeyValue kLowestKey = std::numeric_limits<int64_t>::min();
constexpr KeyValue kHighestKey = std::numeric_limits<uint64_t>::max();

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Civil date from days since 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm).
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t year = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = year + (*m <= 2 ? 1 : 0);
}

// The calendar year of astronomical year `y` (year 0 is 1 BC, -1 is 2 BC) and whether it
// is BC: PostgreSQL reads and writes years that way ("3043-07-03 BC"), and refuses a
// negative ISO year ("-3042-07-03").
struct CalendarYear {
  int64_t year;
  bool bc;
};
CalendarYear CalendarYearOf(int64_t y) {
  return y > 0 ? CalendarYear{y, false} : CalendarYear{1 - y, true};
}

// The astronomical year of a date or timestamp key value.
int64_t YearOf(KeyKind kind, int64_t value) {
  const int64_t days = kind == KeyKind::kDate ? value : FloorDiv(value, kMicrosPerDay);
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  return y;
}

// The decimal digits of |value|.
std::string Magnitude(KeyValue value) {
  unsigned __int128 magnitude = value < 0
                                    ? static_cast<unsigned __int128>(-(value + 1)) + 1
                                    : static_cast<unsigned __int128>(value);
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  } while (magnitude > 0);
  std::reverse(digits.begin(), digits.end());
  return digits;
}

// A bound of an id: |value| zero-padded to `width` digits, 'm' for a minus sign.
std::string PaddedBound(KeyValue value, size_t width) {
  const std::string digits = Magnitude(value);
  return (value < 0 ? "m" : "") +
         std::string(width - std::min(width, digits.size()), '0') + digits;
}

std::string Prefix(const std::string& column, const IdSpelling& spelling) {
  return IdText(column, spelling) + "_";
}

KeyRange NullKeyRange(const std::string& column, const std::string& prefix) {
  KeyRange range;
  range.id = prefix + "null";
  range.description = column + " is null";
  range.bounds.null_keys = true;
  return range;
}

}  // namespace

std::string IdText(std::string_view text, const IdSpelling& spelling) {
  std::string out;
  out.reserve(text.size() + 1);
  for (char c : text) {
    const bool kept = IsAsciiLetter(c) || IsAsciiDigit(c) || c == '_' ||
                      (spelling.keep_dot_and_dash && (c == '.' || c == '-'));
    out.push_back(kept ? c : '_');
  }
  if (out.empty() || !IsAsciiLetter(out[0])) out.insert(out.begin(), spelling.lead);
  return out;
}

arrow::Result<std::vector<KeyRange>> CutClosedRanges(const ClosedCut& cut) {
  if (cut.partitions < 1) {
    return arrow::Status::Invalid("key ranges of ", cut.column,
                                  ": the number of partitions must be at least 1, got ",
                                  cut.partitions);
  }
  if (cut.min.has_value() != cut.max.has_value()) {
    return arrow::Status::Invalid("key ranges of ", cut.column,
                                  ": min and max must both be known or both unknown");
  }
  std::vector<KeyRange> out;
  const std::string prefix = Prefix(cut.column, cut.spelling);
  if (cut.min) {
    const KeyValue lo = *cut.min;
    const KeyValue hi = *cut.max;
    if (lo > hi || lo < kLowestKey || hi > kHighestKey) {
      return arrow::Status::Invalid("key ranges of ", cut.column, ": bad key range [",
                                    KeyValueText(lo), ", ", KeyValueText(hi), "]");
    }
    const KeyValue span = hi - lo + 1;
    const KeyValue count = std::min<KeyValue>(cut.partitions, span);
    const size_t width = std::max(Magnitude(lo).size(), Magnitude(hi).size());
    for (KeyValue k = 0; k < count; ++k) {
      KeyRange range;
      range.bounds.lo = lo + span * k / count;
      range.bounds.hi = lo + span * (k + 1) / count - 1;
      range.id = prefix + PaddedBound(*range.bounds.lo, width) + "_" +
                 PaddedBound(*range.bounds.hi, width);
      range.description = cut.column + " in [" + KeyValueText(*range.bounds.lo) + ", " +
                          KeyValueText(*range.bounds.hi) + "]";
      out.push_back(std::move(range));
    }
  }
  if (cut.null_keys) out.push_back(NullKeyRange(cut.column, prefix));
  return out;
}

arrow::Result<std::vector<KeyRange>> CutOpenRanges(const OpenCut& cut) {
  const std::string prefix = Prefix(cut.column, cut.spelling);
  // Split points s_1 < ... < s_k cut the key space into (-inf, s_1), [s_1, s_2), ...,
  // [s_k, +inf).
  std::vector<int64_t> splits;
  if (!cut.bounds.empty()) {
    for (size_t i = 1; i < cut.bounds.size(); ++i) {
      if (cut.bounds[i] <= cut.bounds[i - 1]) {
        return arrow::Status::Invalid("partition_by.ranges must be strictly increasing (",
                                      KeyText(cut.kind, cut.bounds[i - 1], false),
                                      " is followed by ",
                                      KeyText(cut.kind, cut.bounds[i], false), ")");
      }
    }
    splits = cut.bounds;
  } else if (!cut.empty) {
    const KeyValue lo = cut.min;
    const KeyValue hi = cut.max;
    if (cut.interval > 0) {
      const KeyValue first =
          static_cast<KeyValue>(FloorDiv(cut.min, cut.interval)) * cut.interval +
          cut.interval;
      const KeyValue count = (hi - first) / cut.interval + 1;
      if (count + 1 > cut.max_partitions) {
        return arrow::Status::Invalid("partition_by.interval cuts ", cut.column,
                                      " into more than ", cut.max_partitions,
                                      " partitions: choose a larger interval");
      }
      for (KeyValue s = first; s <= hi; s += cut.interval) {
        splits.push_back(static_cast<int64_t>(s));
      }
    } else {
      const int64_t n = std::max<int64_t>(1, cut.partitions);
      if (n > cut.max_partitions) {
        return arrow::Status::Invalid("partition_by.partitions is larger than ",
                                      cut.max_partitions);
      }
      const KeyValue span = hi - lo + 1;
      const KeyValue width = std::max<KeyValue>(1, (span + n - 1) / n);
      for (KeyValue s = lo + width;
           s <= hi && static_cast<int64_t>(splits.size()) < n - 1; s += width) {
        splits.push_back(static_cast<int64_t>(s));
      }
      // Widths of ceil(span / N) can leave the last ranges empty when the span is small
      // (below about N * N keys: 4 keys in widths of 2 make 2 ranges, not 3). Then the
      // keys are spread evenly instead: range k starts at min + ceil(span * k / N), N
      // ranges of ceil or floor(span / N) keys, or one per key when there are fewer
      // than N. Plans the first rule cuts into N ranges keep their ids.
      if (static_cast<int64_t>(splits.size()) < n - 1) {
        splits.clear();
        const KeyValue count = std::min<KeyValue>(n, span);
        for (KeyValue k = 1; k < count; ++k) {
          splits.push_back(static_cast<int64_t>(lo + (span * k + count - 1) / count));
        }
      }
    }
  }

  std::vector<KeyRange> out;
  const size_t ranges = splits.size() + 1;
  // Bounds for ids: the first range starts at the planned min (or its first split
  // below), every other at its split point.
  const bool integer = cut.kind == KeyKind::kInteger;
  int64_t first_lo = cut.empty
                         ? (splits.empty() ? 0 : splits.front())
                         : std::min(cut.min, splits.empty() ? cut.min : splits.front());
  if (!cut.bounds.empty() && !cut.empty) first_lo = std::min(first_lo, cut.min);
  int64_t last_hi = cut.empty ? (splits.empty() ? 0 : splits.back()) : cut.max;
  if (!splits.empty()) last_hi = std::max(last_hi, splits.back());
  size_t width = 1;
  if (integer) width = std::max(Magnitude(first_lo).size(), Magnitude(last_hi).size());
  // Negative bounds do not sort as text, nor do BC years ("30430703BC" would sort after
  // "13540903BC"): such plans put the range's ordinal first. (Ranges with five-digit
  // years keep the ids they always had, which do not sort either: changing them would
  // rename the partitions of existing lakes.)
  const bool ordinal = integer ? first_lo < 0 : YearOf(cut.kind, first_lo) < 1;
  const size_t ordinal_width = Magnitude(static_cast<KeyValue>(ranges)).size();
  for (size_t i = 0; i < ranges; ++i) {
    KeyRange range;
    const bool open_below = i == 0;
    const bool open_above = i + 1 == ranges;
    const int64_t lo = open_below ? first_lo : splits[i - 1];
    if (!open_below) range.bounds.lo = lo;
    if (!open_above) range.bounds.hi = static_cast<KeyValue>(splits[i]) - 1;
    range.id =
        prefix + (ordinal ? fmt::format("{:0{}}_", i, ordinal_width) : std::string());
    if (integer) {
      const int64_t hi = open_above ? last_hi : splits[i] - 1;
      range.id += PaddedBound(lo, width) + "_" + PaddedBound(hi, width);
    } else {
      range.id += KeyText(cut.kind, lo, true);
    }
    if (open_below && !open_above) {
      range.description = cut.column + " < " + KeyText(cut.kind, splits[i], false);
    } else if (open_above && !open_below) {
      range.description = cut.column + " >= " + KeyText(cut.kind, lo, false);
    } else if (open_above && open_below) {
      range.description = cut.column + " is not null";
    } else {
      range.description = cut.column + " in [" + KeyText(cut.kind, lo, false) + ", " +
                          KeyText(cut.kind, splits[i], false) + ")";
    }
    out.push_back(std::move(range));
  }
  if (cut.nullable) out.push_back(NullKeyRange(cut.column, prefix));
  return out;
}

int64_t PartitionsForRows(int64_t rows, int64_t rows_per_partition,
                          int64_t max_partitions) {
  rows = std::max<int64_t>(rows, 0);
  const int64_t partitions =
      rows / rows_per_partition + (rows % rows_per_partition != 0 ? 1 : 0);
  return std::clamp<int64_t>(partitions, 1, max_partitions);
}

std::string KeyText(KeyKind kind, int64_t value, bool for_id) {
  switch (kind) {
    case KeyKind::kInteger:
      return std::to_string(value);
    case KeyKind::kDate: {
      int64_t y;
      unsigned m, d;
      CivilFromDays(value, &y, &m, &d);
      const CalendarYear year = CalendarYearOf(y);
      return for_id
                 ? fmt::format("{:04}{:02}{:02}{}", year.year, m, d, year.bc ? "BC" : "")
                 : fmt::format("{:04}-{:02}-{:02}{}", year.year, m, d,
                               year.bc ? " BC" : "");
    }
    case KeyKind::kTimestamp:
    case KeyKind::kTimestampTz: {
      const int64_t days = FloorDiv(value, kMicrosPerDay);
      int64_t micros = value - days * kMicrosPerDay;
      int64_t y;
      unsigned m, d;
      CivilFromDays(days, &y, &m, &d);
      const int64_t hh = micros / 3600000000;
      micros %= 3600000000;
      const int64_t mm = micros / 60000000;
      micros %= 60000000;
      const int64_t ss = micros / 1000000;
      micros %= 1000000;
      const CalendarYear year = CalendarYearOf(y);
      if (for_id) {
        std::string id =
            fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}", year.year, m, d, hh, mm, ss);
        if (micros != 0) id += fmt::format(".{:06}", micros);
        return year.bc ? id + "BC" : id;
      }
      return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}{}{}", year.year, m, d,
                         hh, mm, ss, micros, kind == KeyKind::kTimestampTz ? "+00" : "",
                         year.bc ? " BC" : "");
    }
  }
  return std::to_string(value);
}

std::string KeyValueText(KeyValue value) {
  return (value < 0 ? "-" : "") + Magnitude(value);
}

std::optional<KeyValue> ParseKeyValue(std::string_view text) {
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty() || text.size() > 38) return std::nullopt;
  KeyValue value = 0;  // 38 digits stay below 2^127
  for (char c : text) {
    if (!IsAsciiDigit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return negative ? -value : value;
}

void WriteKeyBounds(const KeyBounds& bounds, nlohmann::json* split) {
  if (bounds.null_keys) {
    (*split)["null"] = true;
    return;
  }
  if (bounds.lo) (*split)["lo"] = KeyValueText(*bounds.lo);
  if (bounds.hi) (*split)["hi"] = KeyValueText(*bounds.hi);
}

arrow::Result<KeyBounds> ReadKeyBounds(const SplitReader& split) {
  KeyBounds bounds;
  ARROW_ASSIGN_OR_RAISE(bounds.null_keys, split.Bool("null", false));
  for (auto [key, bound] : {std::pair{"lo", &bounds.lo}, std::pair{"hi", &bounds.hi}}) {
    ARROW_ASSIGN_OR_RAISE(auto text, split.OptionalString(key));
    if (!text) continue;
    *bound = ParseKeyValue(*text);
    if (!*bound) return split.Malformed(std::string("'") + key + "' is not an integer");
  }
  if (bounds.null_keys && (bounds.lo || bounds.hi)) {
    return split.Malformed("the partition of NULL keys has no bounds");
  }
  if (bounds.lo && bounds.hi && *bounds.lo > *bounds.hi) {
    return split.Malformed("'lo' is above 'hi'");
  }
  return bounds;
}

}  // namespace jetflow::sources
