// Key-range cuts without a database: ids, descriptions and bounds of both cuts, at the
// limits of int64 and uint64, and their split encoding. (The spellings each source has
// always produced are pinned in sqlite_consumer_test.cc, partition_planner_test.cc and
// the e2e tests of the server sources.)
#include "jetflow/sources/key_ranges.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <tuple>

#include "jetflow/testing/status_assertions.h"

namespace jetflow::sources {
namespace {

constexpr IdSpelling kUnderscores{false, 'k'};   // sqlite's
constexpr IdSpelling kDotsAndDashes{true, 'c'};  // clickhouse's

using Plan = std::vector<std::tuple<std::string, std::string, KeyBounds>>;

Plan PlanOf(const arrow::Result<std::vector<KeyRange>>& ranges) {
  EXPECT_TRUE(ranges.ok()) << ranges.status().ToString();
  Plan plan;
  if (!ranges.ok()) return plan;
  for (const auto& r : *ranges) plan.emplace_back(r.id, r.description, r.bounds);
  return plan;
}

KeyBounds Closed(KeyValue lo, KeyValue hi) { return KeyBounds{false, lo, hi}; }
KeyBounds NullKeys() { return KeyBounds{true, std::nullopt, std::nullopt}; }

ClosedCut MakeClosed(std::string column, std::optional<KeyValue> min,
                     std::optional<KeyValue> max, int64_t partitions,
                     bool null_keys = false) {
  ClosedCut cut;
  cut.column = std::move(column);
  cut.spelling = kUnderscores;
  cut.min = min;
  cut.max = max;
  cut.partitions = partitions;
  cut.null_keys = null_keys;
  return cut;
}

TEST(IdTextTest, EachSpellingKeepsItsCharacters) {
  EXPECT_EQ(IdText("order-id.x", kUnderscores), "order_id_x");
  EXPECT_EQ(IdText("order-id.x", kDotsAndDashes), "order-id.x");
  EXPECT_EQ(IdText("9 lives", kDotsAndDashes), "c9_lives");
  EXPECT_EQ(IdText("_x", kUnderscores), "k_x");
  EXPECT_EQ(IdText("", kUnderscores), "k");
  EXPECT_EQ(IdText("\xc3\xa9t\xc3\xa9", kUnderscores),
            "k__t__");  // never locale-dependent
  EXPECT_EQ(IdText("Id", IdSpelling{}), "Id");
}

TEST(CutClosedRangesTest, EqualRangesCoverMinToMax) {
  EXPECT_EQ(PlanOf(CutClosedRanges(MakeClosed("id", 1, 1000, 4, true))),
            (Plan{{"id_0001_0250", "id in [1, 250]", Closed(1, 250)},
                  {"id_0251_0500", "id in [251, 500]", Closed(251, 500)},
                  {"id_0501_0750", "id in [501, 750]", Closed(501, 750)},
                  {"id_0751_1000", "id in [751, 1000]", Closed(751, 1000)},
                  {"id_null", "id is null", NullKeys()}}));
  // Widths differ by at most one; the padding follows the wider bound, signs are 'm'.
  EXPECT_EQ(PlanOf(CutClosedRanges(MakeClosed("k", -50, 9, 3))),
            (Plan{{"k_m50_m31", "k in [-50, -31]", Closed(-50, -31)},
                  {"k_m30_m11", "k in [-30, -11]", Closed(-30, -11)},
                  {"k_m10_09", "k in [-10, 9]", Closed(-10, 9)}}));
}

TEST(CutClosedRangesTest, FewerValuesThanPartitionsGiveOneRangePerValue) {
  EXPECT_EQ(PlanOf(CutClosedRanges(MakeClosed("id", 5, 6, 10))),
            (Plan{{"id_5_5", "id in [5, 5]", Closed(5, 5)},
                  {"id_6_6", "id in [6, 6]", Closed(6, 6)}}));
  EXPECT_EQ(PlanOf(CutClosedRanges(MakeClosed("id", 7, 7, 1000000))),
            (Plan{{"id_7_7", "id in [7, 7]", Closed(7, 7)}}));
}

TEST(CutClosedRangesTest, EmptyTableHasOnlyTheNullPartition) {
  EXPECT_TRUE(
      PlanOf(CutClosedRanges(MakeClosed("id", std::nullopt, std::nullopt, 4))).empty());
  EXPECT_EQ(
      PlanOf(CutClosedRanges(MakeClosed("id", std::nullopt, std::nullopt, 4, true))),
      (Plan{{"id_null", "id is null", NullKeys()}}));
}

TEST(CutClosedRangesTest, LimitsOfInt64AndUint64DoNotOverflow) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  auto all = PlanOf(CutClosedRanges(MakeClosed("k", kMin, kMax, 3)));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(std::get<0>(all[0]), "k_m9223372036854775808_m3074457345618258604");
  EXPECT_EQ(std::get<2>(all[0]), Closed(kMin, KeyValue{-3074457345618258604}));
  EXPECT_EQ(std::get<2>(all[2]), Closed(KeyValue{3074457345618258602}, kMax));
  constexpr KeyValue kU64Max = std::numeric_limits<uint64_t>::max();
  ClosedCut unsigned_cut = MakeClosed("my.key-1", 0, kU64Max, 2);
  unsigned_cut.spelling = kDotsAndDashes;
  EXPECT_EQ(PlanOf(CutClosedRanges(unsigned_cut)),
            (Plan{{"my.key-1_00000000000000000000_09223372036854775807",
                   "my.key-1 in [0, 9223372036854775807]",
                   Closed(0, KeyValue{std::numeric_limits<int64_t>::max()})},
                  {"my.key-1_09223372036854775808_18446744073709551615",
                   "my.key-1 in [9223372036854775808, 18446744073709551615]",
                   Closed(KeyValue{std::numeric_limits<int64_t>::max()} + 1, kU64Max)}}));
  // One key at each limit, many partitions: still one range per value at the ends.
  auto single = PlanOf(CutClosedRanges(MakeClosed("k", kMax, kMax, 5)));
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(std::get<0>(single[0]), "k_9223372036854775807_9223372036854775807");
}

TEST(CutClosedRangesTest, RangesAreContiguousAndCountIsBounded) {
  for (KeyValue lo : {KeyValue{-7}, KeyValue{0}, KeyValue{1},
                      KeyValue{std::numeric_limits<int64_t>::min()}}) {
    for (KeyValue length : {KeyValue{1}, KeyValue{2}, KeyValue{9}, KeyValue{1000}}) {
      for (int64_t n : {1, 2, 3, 7, 1000}) {
        auto plan = CutClosedRanges(MakeClosed("k", lo, lo + length - 1, n));
        JETFLOW_ASSERT_OK(plan);
        ASSERT_EQ(static_cast<KeyValue>(plan->size()), std::min<KeyValue>(n, length));
        KeyValue next = lo;
        for (const auto& range : *plan) {
          ASSERT_EQ(*range.bounds.lo, next);
          ASSERT_LE(*range.bounds.lo, *range.bounds.hi);
          next = *range.bounds.hi + 1;
        }
        EXPECT_EQ(next, lo + length);
      }
    }
  }
}

TEST(CutClosedRangesTest, RejectsImpossibleRequests) {
  EXPECT_TRUE(CutClosedRanges(MakeClosed("k", 1, 2, 0)).status().IsInvalid());
  EXPECT_TRUE(CutClosedRanges(MakeClosed("k", 3, 2, 1)).status().IsInvalid());
  EXPECT_TRUE(CutClosedRanges(MakeClosed("k", 3, std::nullopt, 1)).status().IsInvalid());
  EXPECT_TRUE(
      CutClosedRanges(MakeClosed("k", 0, KeyValue{1} << 65, 1)).status().IsInvalid());
}

TEST(CutOpenRangesTest, EndsAreOpenAndBoundsMatchTheDescriptions) {
  OpenCut cut;
  cut.column = "id";
  cut.min = 1;
  cut.max = 1000;
  cut.partitions = 4;
  EXPECT_EQ(PlanOf(CutOpenRanges(cut)),
            (Plan{{"id_0001_0250", "id < 251", KeyBounds{false, std::nullopt, 250}},
                  {"id_0251_0500", "id in [251, 501)", Closed(251, 500)},
                  {"id_0501_0750", "id in [501, 751)", Closed(501, 750)},
                  {"id_0751_1000", "id >= 751", KeyBounds{false, 751, std::nullopt}},
                  {"id_null", "id is null", NullKeys()}}));
  cut.empty = true;
  EXPECT_EQ(PlanOf(CutOpenRanges(cut)), (Plan{{"id_0_0", "id is not null", KeyBounds{}},
                                              {"id_null", "id is null", NullKeys()}}));
}

TEST(CutOpenRangesTest, TooManyPartitionsOrUnorderedBoundsAreInvalid) {
  OpenCut cut;
  cut.column = "id";
  cut.max = std::numeric_limits<int64_t>::max();
  cut.interval = 1;
  EXPECT_TRUE(CutOpenRanges(cut).status().IsInvalid());
  cut.interval = 0;
  cut.partitions = 100001;
  EXPECT_TRUE(CutOpenRanges(cut).status().IsInvalid());
  cut.partitions = 0;
  cut.bounds = {3, 3};
  EXPECT_TRUE(CutOpenRanges(cut).status().IsInvalid());
}

TEST(PartitionsForRowsTest, RoundsUpWithinLimits) {
  EXPECT_EQ(PartitionsForRows(20003, 6000, 100000), 4);
  EXPECT_EQ(PartitionsForRows(18000, 6000, 100000), 3);
  EXPECT_EQ(PartitionsForRows(0, 10, 100), 1);
  EXPECT_EQ(PartitionsForRows(-1, 10, 100), 1);  // unknown
  EXPECT_EQ(PartitionsForRows(std::numeric_limits<int64_t>::max(), 1, 100000), 100000);
  EXPECT_EQ(PartitionsForRows(std::numeric_limits<int64_t>::max(),
                              std::numeric_limits<int64_t>::max(), 10),
            1);
}

TEST(KeyValueTextTest, RoundTripsAndRejectsGarbage) {
  for (KeyValue v :
       {KeyValue{0}, KeyValue{-1}, KeyValue{std::numeric_limits<int64_t>::min()},
        KeyValue{std::numeric_limits<uint64_t>::max()}}) {
    EXPECT_EQ(ParseKeyValue(KeyValueText(v)), v);
  }
  EXPECT_EQ(KeyValueText(std::numeric_limits<int64_t>::min()), "-9223372036854775808");
  for (const char* bad : {"", "-", "+1", "1a", " 1", "1.0", "1e3",
                          "123456789012345678901234567890123456789"}) {
    EXPECT_FALSE(ParseKeyValue(bad).has_value()) << bad;
  }
}

arrow::Result<KeyBounds> RoundTrip(const KeyBounds& bounds) {
  nlohmann::json split = {{"kind", "key"}};
  WriteKeyBounds(bounds, &split);
  PartitionSpec spec{"p", "", -1, SplitText(split)};
  ARROW_ASSIGN_OR_RAISE(auto reader, SplitReader::Parse(spec, "test"));
  return ReadKeyBounds(reader);
}

TEST(KeyBoundsSplitTest, RoundTripsExactly) {
  for (const KeyBounds& bounds :
       {KeyBounds{}, NullKeys(), Closed(std::numeric_limits<int64_t>::min(), -1),
        Closed(0, std::numeric_limits<uint64_t>::max()),
        KeyBounds{false, std::nullopt, 5}, KeyBounds{false, 5, std::nullopt}}) {
    auto back = RoundTrip(bounds);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, bounds);
  }
}

TEST(KeyBoundsSplitTest, MalformedBoundsNameThePartition) {
  for (const char* split :
       {R"({"lo": 5})", R"({"lo": "5x"})", R"({"lo": "9", "hi": "1"})",
        R"({"null": true, "lo": "1"})", R"({"null": "yes"})"}) {
    PartitionSpec spec{"id_1_9", "", -1, split};
    auto reader = SplitReader::Parse(spec, "sqlite");
    JETFLOW_ASSERT_OK(reader);
    auto bounds = ReadKeyBounds(*reader);
    ASSERT_TRUE(bounds.status().IsInvalid()) << split;
    EXPECT_NE(
        bounds.status().message().find("malformed split of sqlite partition 'id_1_9'"),
        std::string::npos)
        << bounds.status().ToString();
  }
}

}  // namespace
}  // namespace jetflow::sources
