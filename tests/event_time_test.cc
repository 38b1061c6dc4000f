#include "model/event_time.h"

#include <gtest/gtest.h>

namespace clearlane {
namespace {

struct TimeCase {
  const char* text;
  bool ok;
};

class Time14 : public ::testing::TestWithParam<TimeCase> {};

TEST_P(Time14, AcceptsOnlyRealCalendarInstants) {
  EXPECT_EQ(ParseTime14(GetParam().text).ok(), GetParam().ok)
      << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Calendar, Time14,
    ::testing::Values(
        TimeCase{"20261111000000", true},
        TimeCase{"20240229235959", true},  // leap year
        TimeCase{"20230229000000", false}, TimeCase{"20240230000000", false},
        TimeCase{"20241301000000", false}, TimeCase{"20240001000000", false},
        TimeCase{"20240100000000", false}, TimeCase{"20240101240000", false},
        TimeCase{"20240101006000", false}, TimeCase{"20240101000060", false},
        TimeCase{"2024010100000", false}, TimeCase{"202401010000000", false},
        TimeCase{"2024-01-01 00:", false}, TimeCase{"", false}));

TEST(Date8, AcceptsOnlyRealDates) {
  EXPECT_TRUE(ParseDate8("20261111").ok());
  EXPECT_TRUE(ParseDate8("20000229").ok());
  EXPECT_FALSE(ParseDate8("19000229").ok());
  EXPECT_FALSE(ParseDate8("20261131").ok());
  EXPECT_FALSE(ParseDate8("2026111").ok());
  EXPECT_FALSE(ParseDate8("2026111a").ok());
}

TEST(EventTime, FormatsRoundTrip) {
  auto t = ParseTime14("20261111093005");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatTime14(*t), "20261111093005");
  EXPECT_EQ(FormatReturnTime(*t), "20261111093005000");
  EXPECT_EQ(FormatPeriod(absl::CivilMonth(*t)), "202611");
}

TEST(EventTime, CivilArithmeticIsElapsedSeconds) {
  // China Standard Time has no daylight saving: 24 hours later is the same
  // wall-clock time the next day, across month and year ends.
  auto t = *ParseTime14("20261231120000");
  EXPECT_EQ(FormatTime14(t + 24 * 3600), "20270101120000");
  EXPECT_EQ(FromEpochSeconds(ToEpochSeconds(t)), t);
  EXPECT_EQ(ToEpochSeconds(*ParseTime14("19700101000001")), 1);
}

}  // namespace
}  // namespace clearlane
