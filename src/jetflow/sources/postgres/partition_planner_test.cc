// Partition planning without a server: ids, descriptions and SQL of every mode.
#include "jetflow/sources/postgres/partition_planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "jetflow/core/error.h"
#include "jetflow/sources/postgres/catalog.h"
#include "jetflow/sources/postgres/connection.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow::postgres {
namespace {

std::vector<std::string> Ids(const std::vector<PlannedPartition>& plan) {
  std::vector<std::string> ids;
  for (const auto& p : plan) ids.push_back(p.spec.id);
  return ids;
}

TEST(PartitionPlannerTest, IntegerRangesCoverEverythingAndSort) {
  KeyRangeRequest request;
  request.column = "id";
  request.min = 1;
  request.max = 1000;
  request.partitions = 4;
  auto plan = PlanKeyRanges(request);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Ids(*plan),
            (std::vector<std::string>{"id_0001_0250", "id_0251_0500", "id_0501_0750",
                                      "id_0751_1000", "id_null"}));
  EXPECT_EQ((*plan)[0].where, "\"id\" < 251");  // open below
  EXPECT_EQ((*plan)[1].where, "\"id\" >= 251 AND \"id\" < 501");
  EXPECT_EQ((*plan)[3].where, "\"id\" >= 751");  // open above
  EXPECT_EQ((*plan)[4].where, "\"id\" IS NULL");
  EXPECT_EQ((*plan)[1].spec.description, "id in [251, 501)");
  auto sorted = Ids(*plan);
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, Ids(*plan));
}

TEST(PartitionPlannerTest, ExtremeIntegersDoNotOverflow) {
  KeyRangeRequest request;
  request.column = "k";
  request.nullable = false;
  request.min = INT64_MIN;
  request.max = INT64_MAX;
  request.partitions = 3;
  auto plan = PlanKeyRanges(request);
  JETFLOW_ASSERT_OK(plan);
  ASSERT_EQ(plan->size(), 3u);
  EXPECT_EQ((*plan)[0].spec.id.substr(0, 5), "k_0_m");
  EXPECT_EQ((*plan)[1].spec.id.substr(0, 5), "k_1_m");
  EXPECT_EQ((*plan)[2].spec.id.substr((*plan)[2].spec.id.size() - 19),
            "9223372036854775807");
}

TEST(PartitionPlannerTest, MorePartitionsThanKeysGivesOnePerKey) {
  KeyRangeRequest request;
  request.column = "id";
  request.nullable = false;
  request.min = 5;
  request.max = 7;
  request.partitions = 10;
  auto plan = PlanKeyRanges(request);
  JETFLOW_ASSERT_OK(plan);
  EXPECT_EQ(Ids(*plan), (std::vector<std::string>{"id_5_5", "id_6_6", "id_7_7"}));
}

TEST(PartitionPlannerTest, EmptyKeyGivesOneOpenRange) {
  KeyRangeRequest request;
  request.column = "id";
  request.empty = true;
  request.partitions = 4;
  auto plan = PlanKeyRanges(request);
  JETFLOW_ASSERT_OK(plan);
  ASSERT_EQ(plan->size(), 2u);
  EXPECT_EQ((*plan)[0].where, "\"id\" IS NOT NULL");
}

TEST(PartitionPlannerTest, TimestampIntervalsAlignOnTheEpoch) {
  KeyRangeRequest request;
  request.column = "created at";
  request.kind = KeyKind::kTimestampTz;
  request.nullable = false;
  const int64_t day = int64_t{86400} * 1000000;
  request.min = 20000 * day + 5;  // 2024-10-04 00:00:00.000005
  request.max = 20002 * day + 7;
  request.interval = day;
  auto plan = PlanKeyRanges(request);
  JETFLOW_ASSERT_OK(plan);
  EXPECT_EQ(Ids(*plan), (std::vector<std::string>{"created_at_20241004T000000.000005",
                                                  "created_at_20241005T000000",
                                                  "created_at_20241006T000000"}));
  EXPECT_EQ((*plan)[1].where,
            "\"created at\" >= '2024-10-05 00:00:00.000000+00'::timestamptz AND "
            "\"created at\" < '2024-10-06 00:00:00.000000+00'::timestamptz");
}

TEST(PartitionPlannerTest, ExplicitBoundsMustIncrease) {
  KeyRangeRequest request;
  request.column = "d";
  request.kind = KeyKind::kDate;
  request.bounds = {10, 5};
  EXPECT_TRUE(PlanKeyRanges(request).status().IsInvalid());
  request.bounds = {-1, 0, 365};
  request.min = -800000;  // before 1582
  request.max = 20000;
  auto plan = PlanKeyRanges(request);
  JETFLOW_ASSERT_OK(plan);
  EXPECT_EQ(plan->size(), 5u);  // 4 ranges + null
  EXPECT_EQ((*plan)[2].where,
            "\"d\" >= '1970-01-01'::date AND \"d\" < '1971-01-01'::date");
}

TEST(PartitionPlannerTest, TooManyIntervalsIsAnError) {
  KeyRangeRequest request;
  request.column = "id";
  request.min = 0;
  request.max = INT64_MAX;
  request.interval = 1;
  EXPECT_TRUE(PlanKeyRanges(request).status().IsInvalid());
}

using IdsAndDescriptions = std::vector<std::pair<std::string, std::string>>;

IdsAndDescriptions Pinned(const std::vector<PlannedPartition>& plan) {
  IdsAndDescriptions out;
  for (const auto& p : plan) out.emplace_back(p.spec.id, p.spec.description);
  return out;
}

// Partition ids are directory names in users' lakes and descriptions are part of a run's
// identity on resume: every spelling below is frozen, byte for byte. (More, planned from
// a real server's min/max, in tests/e2e/test_postgres_partitions.py.)
TEST(PartitionPlannerTest, IdsAndDescriptionsArePinned) {
  KeyRangeRequest request;
  request.column = "id";
  request.empty = true;
  request.partitions = 4;
  EXPECT_EQ(
      Pinned(PlanKeyRanges(request).ValueOrDie()),
      (IdsAndDescriptions{{"id_0_0", "id is not null"}, {"id_null", "id is null"}}));
  request.bounds = {10, 20};
  request.nullable = false;
  EXPECT_EQ(Pinned(PlanKeyRanges(request).ValueOrDie()),
            (IdsAndDescriptions{{"id_10_09", "id < 10"},
                                {"id_10_19", "id in [10, 20)"},
                                {"id_20_20", "id >= 20"}}));
  request = KeyRangeRequest{};
  request.column = "id";
  request.nullable = false;
  request.min = 5;
  request.max = 7;
  request.partitions = 10;
  EXPECT_EQ(
      Pinned(PlanKeyRanges(request).ValueOrDie()),
      (IdsAndDescriptions{
          {"id_5_5", "id < 6"}, {"id_6_6", "id in [6, 7)"}, {"id_7_7", "id >= 7"}}));
  request.min = 1;
  request.max = 10;
  request.partitions = 4;
  EXPECT_EQ(Pinned(PlanKeyRanges(request).ValueOrDie()),
            (IdsAndDescriptions{{"id_01_03", "id < 4"},
                                {"id_04_06", "id in [4, 7)"},
                                {"id_07_09", "id in [7, 10)"},
                                {"id_10_10", "id >= 10"}}));
  request.min = INT64_MIN;
  request.max = INT64_MAX;
  request.partitions = 3;
  EXPECT_EQ(Pinned(PlanKeyRanges(request).ValueOrDie()),
            (IdsAndDescriptions{{"id_0_m9223372036854775808_m3074457345618258603",
                                 "id < -3074457345618258602"},
                                {"id_1_m3074457345618258602_3074457345618258603",
                                 "id in [-3074457345618258602, 3074457345618258604)"},
                                {"id_2_3074457345618258604_9223372036854775807",
                                 "id >= 3074457345618258604"}}));
  for (const auto& [column, prefix] :
       std::vector<std::pair<std::string, std::string>>{{"order id", "order_id_"},
                                                        {"1st", "k1st_"},
                                                        {"a.b-c", "a.b-c_"},
                                                        {"\xc3\xa9", "k___"},
                                                        {"", "k_"}}) {
    request = KeyRangeRequest{};
    request.column = column;
    request.min = 1;
    request.max = 2;
    request.partitions = 1;
    EXPECT_EQ(Pinned(PlanKeyRanges(request).ValueOrDie()),
              (IdsAndDescriptions{{prefix + "1_2", column + " is not null"},
                                  {prefix + "null", column + " is null"}}))
        << column;
  }
  request = KeyRangeRequest{};
  request.column = "d";
  request.kind = KeyKind::kDate;
  request.nullable = false;
  request.min = -3;
  request.max = 20;
  request.interval = 7;
  EXPECT_EQ(Pinned(PlanKeyRanges(request).ValueOrDie()),
            (IdsAndDescriptions{{"d_19691229", "d < 1970-01-01"},
                                {"d_19700101", "d in [1970-01-01, 1970-01-08)"},
                                {"d_19700108", "d in [1970-01-08, 1970-01-15)"},
                                {"d_19700115", "d >= 1970-01-15"}}));
  request.kind = KeyKind::kTimestamp;
  request.min = -1;
  request.max = 1;
  request.interval = 1000000;
  EXPECT_EQ(
      Pinned(PlanKeyRanges(request).ValueOrDie()),
      (IdsAndDescriptions{{"d_19691231T235959.999999", "d < 1970-01-01 00:00:00.000000"},
                          {"d_19700101T000000", "d >= 1970-01-01 00:00:00.000000"}}));
  EXPECT_EQ(Pinned(PlanCtidRanges(25, 10).ValueOrDie()),
            (IdsAndDescriptions{
                {"ctid_0000000000_0000000009",
                 "pages [0, 10) (ctid >= '(0,0)' and < '(10,0)')"},
                {"ctid_0000000010_0000000019",
                 "pages [10, 20) (ctid >= '(10,0)' and < '(20,0)')"},
                {"ctid_0000000020_0000000029", "pages >= 20 (ctid >= '(20,0)')"}}));
  EXPECT_EQ(Pinned(PlanNativePartitions({"public.m 2024", "x.1"}, {"a", "b"})),
            (IdsAndDescriptions{{"part_public.m_2024", "native partition public.m 2024"},
                                {"part_x.1", "native partition x.1"}}));
}

// PostgreSQL refuses a negative ISO year ('-3042-07-03'): years before 1 AD are sent
// as BC years, and ids of plans with a BC start lead with the range's ordinal, since
// "3043...BC" does not sort before "1354...BC" as text.
TEST(PartitionPlannerTest, BcDatesAreSentAsBcYearsAndTheirIdsSortLikeTheRanges) {
  KeyRangeRequest request;
  request.column = "d";
  request.kind = KeyKind::kDate;
  request.min = -1830412;  // 3043-07-03 BC (ISO year -3042)
  request.max = 20454;     // 2026-01-01
  request.partitions = 3;
  auto plan = PlanKeyRanges(request);
  JETFLOW_ASSERT_OK(plan);
  EXPECT_EQ(Pinned(*plan),
            (IdsAndDescriptions{{"d_0_30430703BC", "d < 1354-09-03 BC"},
                                {"d_1_13540903BC", "d in [1354-09-03 BC, 0336-11-03)"},
                                {"d_2_03361103", "d >= 0336-11-03"},
                                {"d_null", "d is null"}}));
  EXPECT_EQ((*plan)[0].where, "\"d\" < '1354-09-03 BC'::date");
  EXPECT_EQ((*plan)[1].where,
            "\"d\" >= '1354-09-03 BC'::date AND \"d\" < '0336-11-03'::date");
  auto sorted = Ids(*plan);
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, Ids(*plan));

  // Astronomical year 0 is 1 BC; year 1 AD needs no ordinal.
  EXPECT_EQ(KeyLiteral(KeyKind::kDate, -719528), "'0001-01-01 BC'::date");
  EXPECT_EQ(KeyLiteral(KeyKind::kDate, -719528 + 366), "'0001-01-01'::date");
  request.min = -719528 + 366;
  request.max = 20454;
  request.partitions = 2;
  EXPECT_EQ(Ids(PlanKeyRanges(request).ValueOrDie()),
            (std::vector<std::string>{"d_00010101", "d_10130704", "d_null"}));

  // Five-digit years keep the ids they always had (existing lakes hold them), and their
  // bounds are sent as is.
  request.min = 20454;
  request.max = 2932897 + 10;  // 10000-01-11
  request.partitions = 0;
  request.bounds = {2932897};  // 10000-01-01
  plan = PlanKeyRanges(request);
  JETFLOW_ASSERT_OK(plan);
  EXPECT_EQ(Pinned(*plan), (IdsAndDescriptions{{"d_20260101", "d < 10000-01-01"},
                                               {"d_100000101", "d >= 10000-01-01"},
                                               {"d_null", "d is null"}}));
  EXPECT_EQ((*plan)[1].where, "\"d\" >= '10000-01-01'::date");
}

TEST(PartitionPlannerTest, BcTimestampsAreSentAsBcYearsAndTheirIdsSortLikeTheRanges) {
  const int64_t day = int64_t{86400} * 1000000;
  for (const auto& [kind, suffix, cast] :
       std::vector<std::tuple<KeyKind, std::string, std::string>>{
           {KeyKind::kTimestamp, "", "timestamp"},
           {KeyKind::kTimestampTz, "+00", "timestamptz"}}) {
    KeyRangeRequest request;
    request.column = "t";
    request.kind = kind;
    request.nullable = false;
    request.min = -158147553599500000;  // 3043-07-03 12:00:00.5 BC
    request.max = 20454 * day;
    request.bounds = {-719528 * day, 0};  // 0001-01-01 BC, 1970-01-01
    auto plan = PlanKeyRanges(request);
    JETFLOW_ASSERT_OK(plan);
    EXPECT_EQ(Pinned(*plan),
              (IdsAndDescriptions{
                  {"t_0_30430703T120000.500000BC",
                   "t < 0001-01-01 00:00:00.000000" + suffix + " BC"},
                  {"t_1_00010101T000000BC", "t in [0001-01-01 00:00:00.000000" + suffix +
                                                " BC, 1970-01-01 00:00:00.000000" +
                                                suffix + ")"},
                  {"t_2_19700101T000000", "t >= 1970-01-01 00:00:00.000000" + suffix}}));
    EXPECT_EQ((*plan)[1].where, "\"t\" >= '0001-01-01 00:00:00.000000" + suffix +
                                    " BC'::" + cast + " AND \"t\" < '1970-01-01 " +
                                    "00:00:00.000000" + suffix + "'::" + cast);
    EXPECT_EQ(KeyLiteral(kind, -158147553599500000),
              "'3043-07-03 12:00:00.500000" + suffix + " BC'::" + cast);
  }
}

TEST(PartitionPlannerTest, NegativeIntegerKeysSortAndRoundTripThroughTheSplit) {
  KeyRangeRequest request;
  request.column = "k";
  request.min = -1000;
  request.max = -1;
  request.partitions = 3;
  auto plan = PlanKeyRanges(request);
  JETFLOW_ASSERT_OK(plan);
  EXPECT_EQ(Pinned(*plan), (IdsAndDescriptions{{"k_0_m1000_m0667", "k < -666"},
                                               {"k_1_m0666_m0333", "k in [-666, -332)"},
                                               {"k_2_m0332_m0001", "k >= -332"},
                                               {"k_null", "k is null"}}));
  for (const auto& partition : *plan) {
    auto split = sources::SplitReader::Parse(
        PartitionSpec{partition.spec.id, "", -1, SplitOf(partition.read).dump()},
        "postgres");
    JETFLOW_ASSERT_OK(split);
    auto read = ReadOfSplit(*split);
    JETFLOW_ASSERT_OK(read);
    EXPECT_EQ(read->key, partition.read.key) << partition.spec.id;
    EXPECT_EQ(SqlOf(*read, "k", KeyKind::kInteger).where, partition.where);
  }
  EXPECT_EQ((*plan)[1].where, "\"k\" >= -666 AND \"k\" < -332");
}

// Equal widths of ceil(span / N) left small spans with fewer ranges than asked for (ids
// 1-4 in 3 partitions: widths of 2, so 2 ranges); the keys are then spread evenly.
TEST(PartitionPlannerTest, SmallSpansGetThePartitionsAskedFor) {
  KeyRangeRequest request;
  request.column = "id";
  request.nullable = false;
  request.min = 1;
  request.max = 4;
  request.partitions = 3;
  EXPECT_EQ(
      Pinned(PlanKeyRanges(request).ValueOrDie()),
      (IdsAndDescriptions{
          {"id_1_2", "id < 3"}, {"id_3_3", "id in [3, 4)"}, {"id_4_4", "id >= 4"}}));
  request.max = 10;
  request.partitions = 8;
  EXPECT_EQ(Ids(PlanKeyRanges(request).ValueOrDie()),
            (std::vector<std::string>{"id_01_02", "id_03_03", "id_04_04", "id_05_05",
                                      "id_06_07", "id_08_08", "id_09_09", "id_10_10"}));
  for (int64_t max = 1; max <= 60; ++max) {
    for (int64_t partitions = 1; partitions <= 12; ++partitions) {
      request.max = max;
      request.partitions = partitions;
      auto plan = PlanKeyRanges(request);
      JETFLOW_ASSERT_OK(plan);
      EXPECT_EQ(static_cast<int64_t>(plan->size()), std::min(max, partitions))
          << "ids 1-" << max << " in " << partitions << " partitions";
    }
  }
}

TEST(PartitionPlannerTest, CtidRangesEndOpen) {
  auto plan = PlanCtidRanges(25, 10);
  JETFLOW_ASSERT_OK(plan);
  EXPECT_EQ(Ids(*plan), (std::vector<std::string>{"ctid_0000000000_0000000009",
                                                  "ctid_0000000010_0000000019",
                                                  "ctid_0000000020_0000000029"}));
  EXPECT_EQ((*plan)[0].where, "ctid >= '(0,0)'::tid AND ctid < '(10,0)'::tid");
  EXPECT_EQ((*plan)[2].where, "ctid >= '(20,0)'::tid");
  auto empty = PlanCtidRanges(0, 10);
  JETFLOW_ASSERT_OK(empty);
  ASSERT_EQ(empty->size(), 1u);
  EXPECT_EQ((*empty)[0].where, "");
  EXPECT_FALSE(PlanCtidRanges(10, 0).ok());
}

TEST(PartitionPlannerTest, NativePartitionsSortedWithSafeUniqueIds) {
  auto plan = PlanNativePartitions({"public.m_2024", "public.m 2024", "public.a"},
                                   {"public.m_2024", "public.\"m 2024\"", "public.a"});
  EXPECT_EQ(Ids(plan), (std::vector<std::string>{"part_public.a", "part_public.m_2024",
                                                 "part_public.m_2024_2"}));
  EXPECT_EQ(plan[0].from, "ONLY public.a");
}

TEST(ConnectionTest, RedactDsnHidesPasswords) {
  EXPECT_EQ(RedactDsn("postgresql://joe:s3cret@db:5432/x?sslmode=require"),
            "postgresql://joe:***@db:5432/x?sslmode=require");
  EXPECT_EQ(RedactDsn("postgres://db/x?user=joe&password=s3cret"),
            "postgres://db/x?user=joe&password=***");
  EXPECT_EQ(RedactDsn("host=db password=s3cret user=joe"),
            "host=db password=*** user=joe");
  EXPECT_EQ(RedactDsn("host=db password='s3 cret' user=joe"),
            "host=db password=*** user=joe");
  EXPECT_EQ(RedactDsn("host=db user=joe"), "host=db user=joe");
}

TEST(ConnectionTest, ServerDownIsRetryable) {
  ConnectionOptions options;
  options.dsn = "postgresql://nobody:pw@127.0.0.1:1/x";
  options.connect_timeout = std::chrono::seconds(2);
  auto conn = PgConnection::Connect(options);
  ASSERT_FALSE(conn.ok());
  EXPECT_TRUE(conn.status().IsIOError());
  EXPECT_TRUE(IsRetryable(conn.status()));
  EXPECT_EQ(conn.status().message().find("pw"), std::string::npos)
      << conn.status().message();
}

TEST(CatalogTest, TableNames) {
  auto plain = ParseTableName("Orders");
  JETFLOW_ASSERT_OK(plain);
  EXPECT_EQ(plain->name, "orders");
  EXPECT_EQ(plain->Quoted(), "\"orders\"");
  auto quoted = ParseTableName("\"My Schema\".\"T.1\"\"x\"");
  JETFLOW_ASSERT_OK(quoted);
  EXPECT_EQ(quoted->schema, "My Schema");
  EXPECT_EQ(quoted->name, "T.1\"x");
  EXPECT_FALSE(ParseTableName("a.b.c").ok());
  EXPECT_FALSE(ParseTableName("\"open").ok());
  EXPECT_FALSE(ParseTableName("a.").ok());
}

}  // namespace
}  // namespace jetflow::postgres
