#include "model/decimal.h"

#include <gtest/gtest.h>

namespace clearlane {
namespace {

struct ParseCase {
  const char* text;
  bool ok;
  Decimal::Units units;
};

class DecimalParse : public ::testing::TestWithParam<ParseCase> {};

TEST_P(DecimalParse, ReadsTheContractGrammarExactly) {
  const ParseCase& c = GetParam();
  auto d = Decimal::Parse(c.text);
  ASSERT_EQ(d.ok(), c.ok) << c.text;
  if (c.ok) EXPECT_TRUE(d->units() == c.units) << c.text << " " << d->ToPlain();
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, DecimalParse,
    ::testing::Values(
        ParseCase{"19050", true, 1905000000},
        ParseCase{"19050.0", true, 1905000000},
        ParseCase{"19050.00", true, 1905000000}, ParseCase{"0.5", true, 50000},
        ParseCase{"0", true, 0}, ParseCase{"0.00001", true, 1},
        ParseCase{"007", true, 700000},
        ParseCase{"12345678912345.12345", true, 1234567891234512345},
        ParseCase{"92233720368547.75807", true, INT64_MAX},
        // Past 64-bit units, inside the standard's N19,5 (contract §1).
        ParseCase{"92233720368547.75808", true, Decimal::Units{INT64_MAX} + 1},
        ParseCase{"99999999999999.99999", true,
                  Decimal::Units{9999999999999999999u}},
        ParseCase{"123456789012345", false, 0},  // 15 integer digits
        ParseCase{"1.234567", false, 0}, ParseCase{"1.", false, 0},
        ParseCase{".5", false, 0}, ParseCase{"-1", false, 0},
        ParseCase{"+1", false, 0}, ParseCase{"1e5", false, 0},
        ParseCase{"1E5", false, 0}, ParseCase{"NaN", false, 0},
        ParseCase{"", false, 0}, ParseCase{" 1", false, 0},
        ParseCase{"1 ", false, 0}, ParseCase{"1 000", false, 0},
        ParseCase{"1,5", false, 0}, ParseCase{"abc", false, 0},
        ParseCase{"0x10", false, 0}, ParseCase{"1.2.3", false, 0}));

TEST(Decimal, RoundToFenIsHalfUp) {
  EXPECT_EQ(Decimal::Parse("0.005")->RoundToFen(), *Decimal::Parse("0.01"));
  EXPECT_EQ(Decimal::Parse("0.00499")->RoundToFen(), *Decimal::Parse("0"));
  EXPECT_EQ(Decimal::Parse("2.675")->RoundToFen(), *Decimal::Parse("2.68"));
  EXPECT_EQ(Decimal::Parse("2.67499")->RoundToFen(), *Decimal::Parse("2.67"));
  EXPECT_EQ(Decimal::FromUnits(-500).RoundToFen(), Decimal::FromUnits(-1000));
}

TEST(Decimal, MultiplyRoundsTheExactProductHalfUp) {
  // 3 x 33.335 = 100.005 -> 100.01, where binary floating point gives 100.00.
  EXPECT_EQ(Decimal::MultiplyRoundToFen(*Decimal::Parse("3"),
                                        *Decimal::Parse("33.335")),
            *Decimal::Parse("100.01"));
  EXPECT_EQ(Decimal::MultiplyRoundToFen(*Decimal::Parse("0.33333"),
                                        *Decimal::Parse("3")),
            *Decimal::Parse("1.00"));
  EXPECT_EQ(Decimal::MultiplyRoundToFen(*Decimal::Parse("12345678.12345"),
                                        *Decimal::Parse("99999.99999")),
            *Decimal::Parse("1234567812221.54"));
}

// The standard's largest values: products past 128 bits divide exactly.
TEST(Decimal, MulDivIsExactPast128Bits) {
  const Decimal::Units m = 9999999999999999999u;  // 99999999999999.99999
  EXPECT_EQ(Decimal::MulDivRoundToFen(m, m, m).ToPlain(), "100000000000000");
  EXPECT_EQ(Decimal::MulDivRoundToFen(m, m, 7).ToFixed2(),
            "142857142857142857114285714285714.29");
  EXPECT_EQ(
      Decimal::MultiplyRoundToFen(Decimal::FromUnits(m), Decimal::FromUnits(m))
          .ToFixed2(),
      "9999999999999999998000000000.00");
  // Where the product fits, the same answer as the plain ratio.
  for (Decimal::Units a :
       {Decimal::Units{0}, Decimal::Units{1}, Decimal::Units{123456789}, m}) {
    for (Decimal::Units c :
         {Decimal::Units{1}, Decimal::Units{3}, Decimal::Units{100000}, m}) {
      EXPECT_EQ(Decimal::MulDivRoundToFen(a, 77777, c),
                Decimal::RatioRoundToFen(a * 77777, c))
          << Decimal::FromUnits(a).ToPlain() << " "
          << Decimal::FromUnits(c).ToPlain();
    }
  }
}

// Sums of the largest values stay exact, and print whole.
TEST(Decimal, SumsPastSixtyFourBitsPrintExactly) {
  const Decimal max = *Decimal::Parse("99999999999999.99999");
  Decimal sum;
  for (int i = 0; i < 1000; ++i) sum += max;
  EXPECT_EQ(sum.ToPlain(), "99999999999999999.99");
  EXPECT_EQ(sum.ToFixed2(), "99999999999999999.99");
  EXPECT_EQ((max + max).ToPlain(), "199999999999999.99998");
  EXPECT_EQ((max + max).ToFixed2(), "200000000000000.00");
  EXPECT_EQ((Decimal() - max).ToPlain(), "-99999999999999.99999");
}

TEST(Decimal, ToFixed2WritesTwoDecimals) {
  EXPECT_EQ(Decimal::Parse("123.4")->ToFixed2(), "123.40");
  EXPECT_EQ(Decimal::Parse("0")->ToFixed2(), "0.00");
  EXPECT_EQ(Decimal::Parse("0.005")->ToFixed2(), "0.01");
  EXPECT_EQ(Decimal::Parse("26000")->ToFixed2(), "26000.00");
  EXPECT_EQ(Decimal::FromUnits(-123400).ToFixed2(), "-1.23");
}

TEST(Decimal, ToPlainDropsTrailingZeros) {
  EXPECT_EQ(Decimal::Parse("7.50")->ToPlain(), "7.5");
  EXPECT_EQ(Decimal::Parse("300.00000")->ToPlain(), "300");
  EXPECT_EQ(Decimal::Parse("0.00001")->ToPlain(), "0.00001");
  EXPECT_EQ(Decimal::Parse("0")->ToPlain(), "0");
  EXPECT_EQ(Decimal::Parse("10.01")->ToPlain(), "10.01");
}

TEST(Decimal, EqualTextsAreEqualValues) {
  EXPECT_EQ(*Decimal::Parse("19050"), *Decimal::Parse("19050.00"));
  EXPECT_LT(*Decimal::Parse("5000.00"), *Decimal::Parse("5000.01"));
}

}  // namespace
}  // namespace clearlane
