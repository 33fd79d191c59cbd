#include "jetflow/sources/iso_time.h"

#include <gtest/gtest.h>

namespace jetflow::sources {
namespace {

constexpr int64_t kSecond = 1000000;

TEST(IsoTimeTest, Dates) {
  EXPECT_EQ(ParseIsoDate("1970-01-01"), 0);
  EXPECT_EQ(ParseIsoDate("2024-02-29"), 19782);
  EXPECT_EQ(ParseIsoDate("1969-12-31"), -1);
  for (const char* bad :
       {"2023-02-29", "2024-13-01", "2024-1-01", "2024-01-01 ", "", "x"}) {
    EXPECT_FALSE(ParseIsoDate(bad).has_value()) << bad;
  }
}

TEST(IsoTimeTest, Timestamps) {
  const int64_t day = int64_t{19723} * 86400 * kSecond;  // 2024-01-01
  EXPECT_EQ(ParseIsoTimestamp("2024-01-01"), day);
  EXPECT_EQ(ParseIsoTimestamp("2024-01-01T10:30"), day + (10 * 3600 + 30 * 60) * kSecond);
  EXPECT_EQ(ParseIsoTimestamp("2024-01-01 00:00:01.5"), day + kSecond + 500000);
  EXPECT_EQ(ParseIsoTimestamp("2024-01-01T00:00:00.000001Z"), day + 1);
  EXPECT_EQ(ParseIsoTimestamp("2024-01-01T00:00:00.123456000"), day + 123456);
  EXPECT_EQ(ParseIsoTimestamp("2024-01-01T02:00:00+02:00"), day);
  EXPECT_EQ(ParseIsoTimestamp("2024-01-01T02:00:00+0200"), day);
  EXPECT_EQ(ParseIsoTimestamp("2023-12-31T22:00:00-02"), day);
  for (const char* bad : {"2024-01-01T24:00:00", "2024-01-01T10", "2024-01-01T10:00:00.",
                          "2024-01-01T10:00:00.1234567", "2024-01-01T10:00:00+02:",
                          "2024-01-01T10:00:00Zx", "2024-01-01X10:00"}) {
    EXPECT_FALSE(ParseIsoTimestamp(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace jetflow::sources
