#include "jetflow/sources/postgres/partition_planner.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "jetflow/sources/postgres/connection.h"

namespace jetflow::postgres {

namespace {

constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;

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

std::string IdSafe(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || !std::isalpha(static_cast<unsigned char>(out[0]))) out = "k" + out;
  return out;
}

std::string PaddedInteger(int64_t value, int width) {
  if (value < 0) {
    // -value overflows for INT64_MIN; print through unsigned.
    const uint64_t magnitude = static_cast<uint64_t>(-(value + 1)) + 1;
    return "m" + fmt::format("{:0{}}", magnitude, width);
  }
  return fmt::format("{:0{}}", value, width);
}

int Digits(int64_t value) {
  uint64_t magnitude =
      value < 0 ? static_cast<uint64_t>(-(value + 1)) + 1 : static_cast<uint64_t>(value);
  int digits = 1;
  while (magnitude >= 10) {
    magnitude /= 10;
    ++digits;
  }
  return digits;
}

}  // namespace

std::string KeyText(KeyKind kind, int64_t value, bool for_id) {
  switch (kind) {
    case KeyKind::kInteger:
      return std::to_string(value);
    case KeyKind::kDate: {
      int64_t y;
      unsigned m, d;
      CivilFromDays(value, &y, &m, &d);
      return for_id ? fmt::format("{:04}{:02}{:02}", y, m, d)
                    : fmt::format("{:04}-{:02}-{:02}", y, m, d);
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
      if (for_id) {
        std::string id =
            fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}", y, m, d, hh, mm, ss);
        if (micros != 0) id += fmt::format(".{:06}", micros);
        return id;
      }
      return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}{}", y, m, d, hh, mm,
                         ss, micros, kind == KeyKind::kTimestampTz ? "+00" : "");
    }
  }
  return std::to_string(value);
}

std::string KeyLiteral(KeyKind kind, int64_t value) {
  switch (kind) {
    case KeyKind::kInteger:
      return std::to_string(value);
    case KeyKind::kDate:
      return QuoteLiteral(KeyText(kind, value, false)) + "::date";
    case KeyKind::kTimestamp:
      return QuoteLiteral(KeyText(kind, value, false)) + "::timestamp";
    case KeyKind::kTimestampTz:
      return QuoteLiteral(KeyText(kind, value, false)) + "::timestamptz";
  }
  return std::to_string(value);
}

arrow::Result<std::vector<PlannedPartition>> PlanKeyRanges(
    const KeyRangeRequest& request) {
  const std::string column = QuoteIdentifier(request.column);
  const std::string prefix = IdSafe(request.column);
  // Split points s_1 < ... < s_k cut the key space into (-inf, s_1), [s_1, s_2), ...,
  // [s_k, +inf).
  std::vector<int64_t> splits;
  if (!request.bounds.empty()) {
    for (size_t i = 1; i < request.bounds.size(); ++i) {
      if (request.bounds[i] <= request.bounds[i - 1]) {
        return arrow::Status::Invalid(
            "partition_by.ranges must be strictly increasing (",
            KeyText(request.kind, request.bounds[i - 1], false), " is followed by ",
            KeyText(request.kind, request.bounds[i], false), ")");
      }
    }
    splits = request.bounds;
  } else if (!request.empty) {
    const __int128 lo = request.min;
    const __int128 hi = request.max;
    if (request.interval > 0) {
      const __int128 first =
          static_cast<__int128>(FloorDiv(request.min, request.interval)) *
              request.interval +
          request.interval;
      const __int128 count = (hi - first) / request.interval + 1;
      if (count + 1 > request.max_partitions) {
        return arrow::Status::Invalid("partition_by.interval cuts ", request.column,
                                      " into more than ", request.max_partitions,
                                      " partitions: choose a larger interval");
      }
      for (__int128 s = first; s <= hi; s += request.interval) {
        splits.push_back(static_cast<int64_t>(s));
      }
    } else {
      const int64_t n = std::max<int64_t>(1, request.partitions);
      if (n > request.max_partitions) {
        return arrow::Status::Invalid("partition_by.partitions is larger than ",
                                      request.max_partitions);
      }
      const __int128 span = hi - lo + 1;
      const __int128 width = std::max<__int128>(1, (span + n - 1) / n);
      for (__int128 s = lo + width;
           s <= hi && static_cast<int64_t>(splits.size()) < n - 1; s += width) {
        splits.push_back(static_cast<int64_t>(s));
      }
    }
  }

  std::vector<PlannedPartition> out;
  const size_t ranges = splits.size() + 1;
  // Bounds for ids: the first range starts at the planned min (or its first split below),
  // every other at its split point.
  const bool integer = request.kind == KeyKind::kInteger;
  int64_t first_lo =
      request.empty
          ? (splits.empty() ? 0 : splits.front())
          : std::min(request.min, splits.empty() ? request.min : splits.front());
  if (!request.bounds.empty() && !request.empty)
    first_lo = std::min(first_lo, request.min);
  int64_t last_hi = request.empty ? (splits.empty() ? 0 : splits.back()) : request.max;
  if (!splits.empty()) last_hi = std::max(last_hi, splits.back());
  int width = 1;
  if (integer) width = std::max({Digits(first_lo), Digits(last_hi)});
  // Negative bounds do not sort as text: such plans put the range's ordinal first.
  const bool ordinal = integer && first_lo < 0;
  const int ordinal_width = Digits(static_cast<int64_t>(ranges));
  for (size_t i = 0; i < ranges; ++i) {
    PlannedPartition p;
    const bool open_below = i == 0;
    const bool open_above = i + 1 == ranges;
    const int64_t lo = open_below ? first_lo : splits[i - 1];
    std::vector<std::string> conditions;
    std::string description;
    if (!open_below) conditions.push_back(column + " >= " + KeyLiteral(request.kind, lo));
    if (!open_above) {
      conditions.push_back(column + " < " + KeyLiteral(request.kind, splits[i]));
    }
    if (conditions.empty()) conditions.push_back(column + " IS NOT NULL");
    p.where =
        conditions.size() == 1 ? conditions[0] : conditions[0] + " AND " + conditions[1];
    if (integer) {
      const int64_t hi = open_above ? last_hi : splits[i] - 1;
      p.spec.id = prefix + "_" +
                  (ordinal ? fmt::format("{:0{}}_", i, ordinal_width) : std::string()) +
                  PaddedInteger(lo, width) + "_" + PaddedInteger(hi, width);
    } else {
      p.spec.id = prefix + "_" + KeyText(request.kind, lo, true);
    }
    if (open_below && !open_above) {
      description = request.column + " < " + KeyText(request.kind, splits[i], false);
    } else if (open_above && !open_below) {
      description = request.column + " >= " + KeyText(request.kind, lo, false);
    } else if (open_above && open_below) {
      description = request.column + " is not null";
    } else {
      description = request.column + " in [" + KeyText(request.kind, lo, false) + ", " +
                    KeyText(request.kind, splits[i], false) + ")";
    }
    p.spec.description = description;
    out.push_back(std::move(p));
  }
  if (request.nullable) {
    PlannedPartition p;
    p.spec.id = prefix + "_null";
    p.spec.description = request.column + " is null";
    p.where = column + " IS NULL";
    out.push_back(std::move(p));
  }
  return out;
}

arrow::Result<std::vector<PlannedPartition>> PlanCtidRanges(int64_t pages,
                                                            int64_t pages_per_partition) {
  if (pages_per_partition <= 0) {
    return arrow::Status::Invalid("pages_per_partition must be positive");
  }
  const int64_t count =
      std::max<int64_t>(1, (pages + pages_per_partition - 1) / pages_per_partition);
  if (count > 1000000) {
    return arrow::Status::Invalid("CTID ranges of ", pages_per_partition, " pages over ",
                                  pages, " pages make more than 1,000,000 partitions");
  }
  std::vector<PlannedPartition> out;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t a = i * pages_per_partition;
    const int64_t b = a + pages_per_partition;
    const bool last = i + 1 == count;
    PlannedPartition p;
    p.spec.id = fmt::format("ctid_{:010}_{:010}", a, b - 1);
    if (last) {
      p.where = fmt::format("ctid >= '({},0)'::tid", a);
      p.spec.description = fmt::format("pages >= {} (ctid >= '({},0)')", a, a);
    } else {
      p.where = fmt::format("ctid >= '({},0)'::tid AND ctid < '({},0)'::tid", a, b);
      p.spec.description =
          fmt::format("pages [{}, {}) (ctid >= '({},0)' and < '({},0)')", a, b, a, b);
    }
    if (a == 0 && last) p.where.clear();
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<PlannedPartition> PlanNativePartitions(
    const std::vector<std::string>& names, const std::vector<std::string>& quoted) {
  std::vector<size_t> order(names.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return names[a] < names[b]; });
  std::map<std::string, int> used;
  std::vector<PlannedPartition> out;
  for (size_t i : order) {
    PlannedPartition p;
    std::string id = "part_" + IdSafe(names[i]);
    if (int n = used[id]++; n > 0) id += "_" + std::to_string(n + 1);
    p.spec.id = id;
    p.spec.description = "native partition " + names[i];
    p.from = "ONLY " + quoted[i];
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace jetflow::postgres
