// Forms of a summary declaration (contract §4): the merge rule, the 50-line
// limit, lists on the forms holding their lines, and the encoding of a
// closed list.

#include "operators/summary.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_format.h"

namespace clearlane {
namespace {

ClosedLine Line(std::string gcode, std::string country = "502",
                std::string currency = "142", std::string unit1 = "035",
                int64_t qty1 = 1, int64_t price = 10) {
  return {std::move(gcode),           std::move(country),
          std::move(currency),        std::move(unit1),
          Decimal::FromInteger(qty1), Decimal::FromInteger(price)};
}

ClosedList List(std::string orderNo, std::vector<ClosedLine> lines) {
  ClosedList c;
  c.ebcCode = "EBC";
  c.trafMode = "5";
  c.ownerCode = "OWN";
  c.country = "502";
  c.portCode = "5100";
  c.orderNo = std::move(orderNo);
  c.logisticsNo = "L" + c.orderNo;
  c.copNo = "C" + c.orderNo;
  c.grossWeight = Decimal::FromInteger(2);
  c.netWeight = Decimal::FromInteger(1);
  c.lines = std::move(lines);
  return c;
}

const int32_t kNovember = 2026 * 12 + 10;

TEST(SummaryTest, LinesMergeOnGcodeCountryCurrencyAndUnit) {
  // Same key in two lists: one line, summed, counting two lists. Each of
  // the four fields different: a line of its own.
  const std::vector<ClosedList> lists = {
      List("O1", {Line("1111111111", "502", "142", "035", 2, 10)}),
      List("O2",
           {Line("1111111111", "502", "142", "035", 3, 15),
            Line("1111111111", "116"), Line("1111111111", "502", "502"),
            Line("1111111111", "502", "142", "007"), Line("2222222222")})};
  const auto forms = BuildForms(kNovember, 0, lists, {});
  ASSERT_EQ(forms.size(), 1u);
  const SummaryForm& f = forms[0];
  ASSERT_EQ(f.items.size(), 5u);
  // Sorted bytewise by gcode, country, currency, unit1.
  EXPECT_EQ(f.items[0].country, "116");
  EXPECT_EQ(f.items[1].unit1, "007");
  EXPECT_EQ(f.items[2].qty1.ToPlain(), "5");
  EXPECT_EQ(f.items[2].totalPrice.ToPlain(), "25");
  EXPECT_EQ(f.items[2].listCount, 2);
  EXPECT_EQ(f.items[3].currency, "502");
  EXPECT_EQ(f.items[4].gcode, "2222222222");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(f.items[i].gseqno, i + 1);
  EXPECT_EQ(f.listCount, 2);
  EXPECT_EQ(f.grossWeight.ToPlain(), "4");
  EXPECT_EQ(f.form, 1);
  EXPECT_EQ(f.forms, 1);
  EXPECT_EQ(f.period, absl::CivilMonth(2026, 11));
}

TEST(SummaryTest, TwoLinesOfOneListWithTheSameKeyCountTheListOnce) {
  const auto forms = BuildForms(
      kNovember, 0, {List("O1", {Line("1111111111"), Line("1111111111")})}, {});
  ASSERT_EQ(forms[0].items.size(), 1u);
  EXPECT_EQ(forms[0].items[0].listCount, 1);
  EXPECT_EQ(forms[0].items[0].qty1.ToPlain(), "2");
}

std::vector<ClosedList> OneListPerGcode(int n) {
  std::vector<ClosedList> lists;
  for (int i = 0; i < n; ++i) {
    lists.push_back(
        List(absl::StrFormat("O%03d", i), {Line(absl::StrFormat("%010d", i))}));
  }
  return lists;
}

TEST(SummaryTest, FiftyLinesFitOneForm) {
  const auto forms = BuildForms(kNovember, 0, OneListPerGcode(50), {});
  ASSERT_EQ(forms.size(), 1u);
  EXPECT_EQ(forms[0].items.size(), 50u);
  EXPECT_EQ(forms[0].listCount, 50);
}

TEST(SummaryTest, FiftyOneLinesTakeTwoForms) {
  const auto forms = BuildForms(kNovember, 0, OneListPerGcode(51), {});
  ASSERT_EQ(forms.size(), 2u);
  EXPECT_EQ(forms[0].items.size(), 50u);
  EXPECT_EQ(forms[1].items.size(), 1u);
  EXPECT_EQ(forms[1].items[0].gseqno, 1);  // restarts on each form
  EXPECT_EQ(forms[1].items[0].gcode, "0000000050");
  EXPECT_EQ(forms[0].form, 1);
  EXPECT_EQ(forms[1].form, 2);
  EXPECT_EQ(forms[0].forms, 2);
  EXPECT_EQ(forms[1].forms, 2);
  EXPECT_EQ(forms[0].listCount, 50);
  EXPECT_EQ(forms[1].listCount, 1);
  EXPECT_EQ(forms[1].lists[0].orderNo, "O050");
}

TEST(SummaryTest, ListWhoseLinesSpanFormsIsOnEachWithItsWeights) {
  FormOptions options;
  options.max_lines = 2;
  const auto forms =
      BuildForms(kNovember, 3,
                 {List("O1", {Line("1111111111"), Line("3333333333")}),
                  List("O2", {Line("2222222222")})},
                 options);
  ASSERT_EQ(forms.size(), 2u);
  // Form 1: lines 111 and 222, lists O1 and O2; form 2: line 333, list O1.
  EXPECT_EQ(forms[0].listCount, 2);
  EXPECT_EQ(forms[0].grossWeight.ToPlain(), "4");
  EXPECT_EQ(forms[1].listCount, 1);
  EXPECT_EQ(forms[1].lists[0].orderNo, "O1");
  EXPECT_EQ(forms[1].grossWeight.ToPlain(), "2");
  EXPECT_EQ(forms[0].supplement, 3);
  EXPECT_EQ(forms[1].supplement, 3);
}

TEST(SummaryTest, SummaryFlagOneDropsOwnerCodeFromTheHeadGroup) {
  ClosedList a = List("O1", {Line("1111111111")});
  ClosedList b = List("O2", {Line("1111111111")});
  b.ownerCode = "OTHER";
  EXPECT_FALSE(SameHeadGroup(a, b, 2));
  EXPECT_TRUE(SameHeadGroup(a, b, 1));
  EXPECT_NE(ClosedListKey(a, 2).substr(0, 20),
            ClosedListKey(b, 2).substr(0, 20));
  FormOptions options;
  options.summary_flag = 1;
  const auto forms = BuildForms(kNovember, 0, {a, b}, options);
  ASSERT_EQ(forms.size(), 1u);
  EXPECT_FALSE(forms[0].has_owner_code);
  EXPECT_TRUE(forms[0].ownerCode.empty());
  EXPECT_EQ(forms[0].listCount, 2);
}

TEST(SummaryTest, EachHeadFieldSeparatesGroups) {
  const ClosedList base = List("O1", {Line("1111111111")});
  for (std::string ClosedList::*field :
       {&ClosedList::ebcCode, &ClosedList::trafMode, &ClosedList::ownerCode,
        &ClosedList::country, &ClosedList::portCode}) {
    ClosedList other = base;
    other.*field += "X";
    EXPECT_FALSE(SameHeadGroup(base, other, 2));
    // The key puts the head group first: the other list sorts after every
    // list of the base group, whatever its orderNo.
    other.orderNo = "A";
    EXPECT_LT(ClosedListKey(base, 2), ClosedListKey(other, 2));
  }
}

TEST(SummaryTest, KeysSortByHeadGroupThenOrderNoThenLogisticsNoBytewise) {
  ClosedList a = List("AB", {});
  ClosedList b = List("B", {});
  EXPECT_LT(ClosedListKey(a, 2), ClosedListKey(b, 2));  // not by length
  ClosedList c = List("AB", {});
  c.logisticsNo = "LAC";
  EXPECT_LT(ClosedListKey(a, 2), ClosedListKey(c, 2));
  ClosedList d = List("A", {});
  d.ebcCode = std::string("EB\0C", 4);  // a NUL sorts before any byte
  EXPECT_LT(ClosedListKey(d, 2), ClosedListKey(a, 2));
}

TEST(SummaryTest, ClosedListRoundTrips) {
  const ClosedList a =
      List("O1", {Line("1111111111", "502", "142", "035", 7, 99)});
  auto b = DecodeClosedList(EncodeClosedList(a));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->orderNo, "O1");
  EXPECT_EQ(b->lines.size(), 1u);
  EXPECT_EQ(b->lines[0].qty1.ToPlain(), "7");
  EXPECT_EQ(b->grossWeight.ToPlain(), "2");
  EXPECT_FALSE(DecodeClosedList("\x01\x02").ok());
}

// Stage C's exchange records read back as themselves; a cut, longer or
// other record, and a closing that is no closed list, are refused.
TEST(SummaryExchange, RecordsReadBackAndAnythingElseIsRefused) {
  const std::string closing = EncodeClosedList(
      List("O1", {Line("1111111111", "502", "142", "035", 7, 99)}));
  for (const ClosedListRecord& r :
       {ClosedListRecord{closing, 1794000000, 1793990000},
        ClosedListRecord{closing, -5, std::nullopt}}) {
    const std::string bytes = EncodeClosedListRecord(r);
    EXPECT_FALSE(IsWatermarkMark(bytes));
    auto back = DecodeClosedListRecord(bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, r);
    for (size_t n = 0; n < bytes.size(); ++n) {
      EXPECT_FALSE(DecodeClosedListRecord(bytes.substr(0, n)).ok()) << n;
    }
    EXPECT_FALSE(DecodeClosedListRecord(bytes + "x").ok());
    EXPECT_FALSE(DecodeWatermarkMark(bytes).ok());
  }
  EXPECT_FALSE(
      DecodeClosedListRecord(EncodeClosedListRecord({"not a list", 1, 2}))
          .ok());
  for (int64_t w : {int64_t{0}, int64_t{1794000000}, int64_t{-1}}) {
    const std::string mark = EncodeWatermarkMark(w);
    EXPECT_TRUE(IsWatermarkMark(mark));
    auto back = DecodeWatermarkMark(mark);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, w);
    EXPECT_FALSE(DecodeWatermarkMark(mark + "x").ok());
    EXPECT_FALSE(DecodeWatermarkMark(mark.substr(0, 1)).ok());
    EXPECT_FALSE(DecodeClosedListRecord(mark).ok());
  }
}

}  // namespace
}  // namespace clearlane
