// The import money rules of contract §5 (财关税〔2016〕18号,
// 财关税〔2018〕49号), one case per row of the default tax table.

#include "operators/tax.h"

#include <gtest/gtest.h>

namespace clearlane {
namespace {

Decimal D(const char* s) { return *Decimal::Parse(s); }

struct RowCase {
  const char* gcode;
  const char* value;
  bool full;
  const char* tariff;
  const char* consumption;
  const char* vat;
  const char* total;
};

class TaxPerRow : public ::testing::TestWithParam<RowCase> {};

TEST_P(TaxPerRow, MatchesTheStatutoryFormulas) {
  const RowCase& c = GetParam();
  ListTax tax = ComputeTax({{c.gcode, D(c.value)}}, Decimal(), Decimal(),
                           c.full, TaxRateTable::Default());
  EXPECT_EQ(tax.amounts.dutiableValue, D(c.value)) << c.gcode;
  EXPECT_EQ(tax.amounts.customsTax.ToFixed2(), c.tariff) << c.gcode;
  EXPECT_EQ(tax.amounts.consumptionTax.ToFixed2(), c.consumption) << c.gcode;
  EXPECT_EQ(tax.amounts.valueAddedTax.ToFixed2(), c.vat) << c.gcode;
  EXPECT_EQ(tax.amounts.taxTotal.ToFixed2(), c.total) << c.gcode;
}

INSTANTIATE_TEST_SUITE_P(
    DefaultTable, TaxPerRow,
    ::testing::Values(
        // Within the limits: tariff 0, 70% of statutory VAT and
        // consumption tax. Default row 13/0/10: 9.1%.
        RowCase{"8509809000", "1000", false, "0.00", "0.00", "91.00", "91.00"},
        RowCase{"0401200000", "1000", false, "0.00", "0.00", "63.00", "63.00"},
        RowCase{"0402100000", "1000", false, "0.00", "0.00", "63.00", "63.00"},
        // Cosmetics 13/15/5: 23.06% (domain.md's worked example).
        RowCase{"3303000000", "1000", false, "0.00", "123.53", "107.06",
                "230.59"},
        RowCase{"3304990099", "1000", false, "0.00", "123.53", "107.06",
                "230.59"},
        RowCase{"7113191100", "1000", false, "0.00", "77.78", "101.11",
                "178.89"},
        RowCase{"9101219000", "1000", false, "0.00", "175.00", "113.75",
                "288.75"},
        RowCase{"9102110000", "1000", false, "0.00", "175.00", "113.75",
                "288.75"},
        // A single item over 5000.00: tariff, consumption tax and VAT in
        // full. t = 660, ct = 6660 * 0.2 / 0.8, vat = (6660 + ct) * 0.13.
        RowCase{"9101219000", "6000", true, "660.00", "1665.00", "1082.25",
                "3407.25"},
        RowCase{"4202210090", "5000.01", true, "500.00", "0.00", "715.00",
                "1215.00"}));

TEST(Tax, FreightAndInsuranceAreSpreadInProportion) {
  ListTax tax = ComputeTax({{"8509809000", D("100")}, {"8509809000", D("200")}},
                           D("10"), D("0"), false, TaxRateTable::Default());
  ASSERT_EQ(tax.line_value.size(), 2u);
  EXPECT_EQ(tax.line_value[0], D("103.33"));
  EXPECT_EQ(tax.line_value[1], D("206.67"));
  EXPECT_EQ(tax.amounts.dutiableValue, D("310"));
}

TEST(Tax, ResidueGoesToTheLargestLineLowestGnumOnTies) {
  // Three equal lines share 0.10: 0.03 each, the 0.01 left goes to line 1.
  ListTax tax =
      ComputeTax({{"8509809000", D("100")},
                  {"8509809000", D("100")},
                  {"8509809000", D("100")}},
                 D("0.05"), D("0.05"), false, TaxRateTable::Default());
  EXPECT_EQ(tax.line_value[0], D("100.04"));
  EXPECT_EQ(tax.line_value[1], D("100.03"));
  EXPECT_EQ(tax.line_value[2], D("100.03"));
  // Unequal lines: the residue goes to the largest even when it is not
  // first.
  ListTax t2 = ComputeTax({{"8509809000", D("1")}, {"8509809000", D("2")}},
                          D("0.01"), D("0"), false, TaxRateTable::Default());
  EXPECT_EQ(t2.line_value[0], D("1"));
  EXPECT_EQ(t2.line_value[1], D("2.01"));
}

TEST(Tax, EachLevyIsRoundedPerLineThenSummed) {
  // Two lines of 0.05 at 9.1%: 0.00455 each rounds to 0.00, so VAT is 0.00
  // (rounding the sum 0.0091 would give 0.01).
  ListTax tax =
      ComputeTax({{"8509809000", D("0.05")}, {"8509809000", D("0.05")}}, D("0"),
                 D("0"), false, TaxRateTable::Default());
  EXPECT_EQ(tax.amounts.valueAddedTax.ToFixed2(), "0.00");
}

TEST(TaxRateTable, LongestPrefixWins) {
  auto table = TaxRateTable::Parse(
      "hsPrefix,vatRate,consumptionTaxRate,tariffRate\n*,13,0,10\n"
      "33,9,0,0\n3303,13,15,5\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->RateFor("3303000000").consumption, D("15"));
  EXPECT_EQ(table->RateFor("3304000000").vat, D("9"));
  EXPECT_EQ(table->RateFor("9999999999").tariff, D("10"));
}

TEST(TaxRateTable, BadLinesAreNamed) {
  auto bad = TaxRateTable::Parse(
      "hsPrefix,vatRate,consumptionTaxRate,tariffRate\n*,13,0,10\n33,x,0,0\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 3"), std::string::npos);
  EXPECT_FALSE(TaxRateTable::Parse("a,b\n*,1,1,1\n").ok());
  EXPECT_FALSE(TaxRateTable::Parse(
                   "hsPrefix,vatRate,consumptionTaxRate,tariffRate\n33,1,1,1\n")
                   .ok());
  EXPECT_FALSE(
      TaxRateTable::Parse(
          "hsPrefix,vatRate,consumptionTaxRate,tariffRate\n*,1.234,1,1\n")
          .ok());
}

}  // namespace
}  // namespace clearlane
