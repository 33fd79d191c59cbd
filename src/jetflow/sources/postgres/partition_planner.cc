#include "jetflow/sources/postgres/partition_planner.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <map>

#include "jetflow/sources/postgres/connection.h"

namespace jetflow::postgres {

namespace {

// How names become ids: fixed forever, ids are directory names in lakes.
constexpr sources::IdSpelling kIdSpelling{/*keep_dot_and_dash=*/true, /*lead=*/'k'};

const char* KindName(PartitionRead::Kind kind) {
  switch (kind) {
    case PartitionRead::Kind::kAll:
      return "all";
    case PartitionRead::Kind::kKey:
      return "key";
    case PartitionRead::Kind::kCtid:
      return "ctid";
    case PartitionRead::Kind::kNative:
      return "native";
  }
  return "?";
}

PlannedPartition Planned(PartitionSpec spec, PartitionRead read, const std::string& key,
                         KeyKind kind) {
  PartitionSql sql = SqlOf(read, key, kind);
  return {std::move(spec), std::move(read), std::move(sql.from), std::move(sql.where)};
}

}  // namespace

std::string KeyLiteral(KeyKind kind, int64_t value) {
  switch (kind) {
    case KeyKind::kInteger:
      return std::to_string(value);
    case KeyKind::kDate:
      return QuoteLiteral(sources::KeyText(kind, value, false)) + "::date";
    case KeyKind::kTimestamp:
      return QuoteLiteral(sources::KeyText(kind, value, false)) + "::timestamp";
    case KeyKind::kTimestampTz:
      return QuoteLiteral(sources::KeyText(kind, value, false)) + "::timestamptz";
  }
  return std::to_string(value);
}

nlohmann::json SplitOf(const PartitionRead& read) {
  nlohmann::json split = {{"kind", KindName(read.kind)}};
  switch (read.kind) {
    case PartitionRead::Kind::kAll:
      break;
    case PartitionRead::Kind::kKey:
      sources::WriteKeyBounds(read.key, &split);
      break;
    case PartitionRead::Kind::kCtid:
      split["first_page"] = read.first_page;
      if (read.end_page) split["end_page"] = *read.end_page;
      break;
    case PartitionRead::Kind::kNative:
      split["relation"] = read.relation;
      break;
  }
  return split;
}

arrow::Result<PartitionRead> ReadOfSplit(const sources::SplitReader& split) {
  ARROW_ASSIGN_OR_RAISE(std::string kind, split.String("kind"));
  PartitionRead read;
  if (kind == "all") {
    read.kind = PartitionRead::Kind::kAll;
  } else if (kind == "key") {
    read.kind = PartitionRead::Kind::kKey;
    ARROW_ASSIGN_OR_RAISE(read.key, sources::ReadKeyBounds(split));
    constexpr sources::KeyValue kMin = std::numeric_limits<int64_t>::min();
    constexpr sources::KeyValue kMax = std::numeric_limits<int64_t>::max();
    if ((read.key.lo && *read.key.lo < kMin) || (read.key.hi && *read.key.hi >= kMax)) {
      return split.Malformed("key bounds beyond 64-bit integers");
    }
  } else if (kind == "ctid") {
    read.kind = PartitionRead::Kind::kCtid;
    ARROW_ASSIGN_OR_RAISE(read.first_page, split.Int("first_page"));
    ARROW_ASSIGN_OR_RAISE(read.end_page, split.OptionalInt("end_page"));
    if (read.first_page < 0 || (read.end_page && *read.end_page <= read.first_page)) {
      return split.Malformed("a page range needs 0 <= first_page < end_page");
    }
  } else if (kind == "native") {
    read.kind = PartitionRead::Kind::kNative;
    ARROW_ASSIGN_OR_RAISE(read.relation, split.String("relation"));
    if (read.relation.empty()) return split.Malformed("'relation' is empty");
  } else {
    return split.Malformed("unknown kind '" + kind + "'");
  }
  return read;
}

PartitionSql SqlOf(const PartitionRead& read, const std::string& key_column,
                   KeyKind kind) {
  PartitionSql sql;
  switch (read.kind) {
    case PartitionRead::Kind::kAll:
      break;
    case PartitionRead::Kind::kKey: {
      const std::string column = QuoteIdentifier(key_column);
      if (read.key.null_keys) {
        sql.where = column + " IS NULL";
        break;
      }
      std::vector<std::string> conditions;
      if (read.key.lo) {
        conditions.push_back(
            column + " >= " + KeyLiteral(kind, static_cast<int64_t>(*read.key.lo)));
      }
      if (read.key.hi) {
        conditions.push_back(column + " < " +
                             KeyLiteral(kind, static_cast<int64_t>(*read.key.hi + 1)));
      }
      if (conditions.empty()) conditions.push_back(column + " IS NOT NULL");
      sql.where = conditions.size() == 1 ? conditions[0]
                                         : conditions[0] + " AND " + conditions[1];
      break;
    }
    case PartitionRead::Kind::kCtid:
      if (read.end_page) {
        sql.where = fmt::format("ctid >= '({},0)'::tid AND ctid < '({},0)'::tid",
                                read.first_page, *read.end_page);
      } else if (read.first_page > 0) {
        sql.where = fmt::format("ctid >= '({},0)'::tid", read.first_page);
      }
      break;
    case PartitionRead::Kind::kNative:
      sql.from = "ONLY " + read.relation;
      break;
  }
  return sql;
}

arrow::Result<std::vector<PlannedPartition>> PlanKeyRanges(
    const KeyRangeRequest& request) {
  KeyRangeRequest cut = request;
  cut.spelling = kIdSpelling;
  ARROW_ASSIGN_OR_RAISE(auto ranges, sources::CutOpenRanges(cut));
  // N partitions are cut whenever the key has N values in [min, max]; say why not.
  const int64_t key_ranges = static_cast<int64_t>(ranges.size()) - (cut.nullable ? 1 : 0);
  if (request.partitions > 0 && request.bounds.empty() && request.interval <= 0 &&
      key_ranges < request.partitions) {
    spdlog::info("partitions of {}: {} asked for, {} planned: {}", request.column,
                 request.partitions, key_ranges,
                 request.empty
                     ? "the key has no value at plan time (one range reads every row)"
                     : "the key spans only " + std::to_string(key_ranges) + " values (" +
                           sources::KeyText(request.kind, request.min, false) + " to " +
                           sources::KeyText(request.kind, request.max, false) +
                           ") at plan time, one range each");
  }
  std::vector<PlannedPartition> out;
  for (auto& range : ranges) {
    PartitionRead read;
    read.kind = PartitionRead::Kind::kKey;
    read.key = range.bounds;
    out.push_back(Planned({std::move(range.id), std::move(range.description), -1, ""},
                          std::move(read), request.column, request.kind));
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
    PartitionSpec spec{fmt::format("ctid_{:010}_{:010}", a, b - 1), "", -1, ""};
    PartitionRead read;
    read.kind = PartitionRead::Kind::kCtid;
    read.first_page = a;
    if (last) {
      spec.description = fmt::format("pages >= {} (ctid >= '({},0)')", a, a);
    } else {
      read.end_page = b;
      spec.description =
          fmt::format("pages [{}, {}) (ctid >= '({},0)' and < '({},0)')", a, b, a, b);
    }
    out.push_back(Planned(std::move(spec), std::move(read), "", KeyKind::kInteger));
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
    std::string id = "part_" + sources::IdText(names[i], kIdSpelling);
    if (int n = used[id]++; n > 0) id += "_" + std::to_string(n + 1);
    PartitionRead read;
    read.kind = PartitionRead::Kind::kNative;
    read.relation = quoted[i];
    out.push_back(Planned({std::move(id), "native partition " + names[i], -1, ""},
                          std::move(read), "", KeyKind::kInteger));
  }
  return out;
}

}  // namespace jetflow::postgres
