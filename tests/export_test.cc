// The 9610 export flow on an in-memory StageContext: release (800) when the
// order, payment received, waybill and arrival agree with the list, close
// (899) on departure, the rejections of contract §5, stage L's handling of
// arrivals and departures, and stage C's monthly summaries (contract §4,
// §9, §10 "Months"; 海关总署公告2018年第194号).

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "model/decode.h"
#include "model/event_time.h"
#include "operators/clearance.h"
#include "operators/reasons.h"
#include "tests/fixtures.h"
#include "tests/memory_context.h"
#include "tests/test_util.h"

namespace clearlane {
namespace {

using ::clearlane::testing::All;
using ::clearlane::testing::With;

using ::clearlane::testing::MemoryContext;
using ::clearlane::testing::ValidRecord;

// The fixture's documents of one export order, renamed and moved to `day`
// (YYYYMMDD; the times of day stay: order 09:30, payment 09:35, waybill
// 10:00, list 11:00, arrival 15:00, departure 22:00).
std::string Doc(const char* type, std::string_view orderNo = "E1",
                std::string_view logisticsNo = "EL1",
                std::string_view day = "20261111") {
  std::string d = ValidRecord(type);
  d = All(d, "\"E1\"", absl::StrFormat("\"%s\"", orderNo));
  d = All(d, "\"EL1\"", absl::StrFormat("\"%s\"", logisticsNo));
  return All(d, "20261111", day);
}

class ExportTest : public ::testing::Test {
 protected:
  ExportTest() { config_.forms.max_lines = 50; }

  // As the engine does: the record with the watermark before it, then the
  // list timers and then the month closes due by the new watermark.
  void Feed(const std::string& record) {
    Document doc;
    DecodeOutcome out = decoder_.Decode(record, &doc);
    ASSERT_TRUE(out.ok()) << out.detail() << record;
    ctx_.watermark = watermark_;
    const size_t dead_before = ctx_.dead.size();
    ctx_.Submit(clearance_, doc);
    if (ctx_.dead.size() == dead_before) {
      const int64_t t = ToEpochSeconds(HeadOf(doc).appTime);
      if (!watermark_ || t > *watermark_) watermark_ = t;
    }
    FireUpTo(*watermark_);
  }
  void FireUpTo(int64_t limit) {
    while (true) {
      if (!ctx_.timers.empty() && ctx_.timers.begin()->first <= limit) {
        auto [due, key] = *ctx_.timers.begin();
        ctx_.timers.erase(ctx_.timers.begin());
        clearance_.OnTimeout(key, due, ctx_);
        continue;
      }
      int64_t due = 0;
      int32_t period = 0;
      for (const auto& [p, m] : ctx_.months) {
        if (m.close_due != 0 && (due == 0 || m.close_due < due)) {
          due = m.close_due;
          period = p;
        }
      }
      if (due == 0 || due > limit) return;
      clearance_.OnMonthClose(period, ctx_);
    }
  }
  void Drain() {
    FireUpTo(INT64_MAX);
    clearance_.OnEndOfInput(ctx_);
  }
  // A document of an unrelated order at `time14`, to move the watermark.
  void AdvanceTo(std::string_view time14) {
    Feed(With(Doc("CEB303", "CLOCK"), "20261111093000", time14));
  }
  void FeedReleased(std::string_view orderNo = "E1",
                    std::string_view logisticsNo = "EL1",
                    std::string_view day = "20261111") {
    for (const char* t : {"CEB303", "CEB403", "CEB505", "CEB603", "CEB507"}) {
      Feed(Doc(t, orderNo, logisticsNo, day));
    }
  }
  std::vector<std::string> Statuses() const {
    std::vector<std::string> out;
    for (const Receipt& r : ctx_.receipts) out.push_back(r.returnStatus);
    return out;
  }
  static std::vector<std::string> Codes(const Receipt& r) {
    std::vector<std::string> out;
    for (const Reason& reason : r.reasons) out.push_back(reason.code);
    return out;
  }

  ClearanceConfig config_;
  Decoder decoder_;
  MemoryContext ctx_;
  Clearance clearance_{config_};
  std::optional<int64_t> watermark_;
};

TEST_F(ExportTest, ReleasedInEveryArrivalOrderOfTheFiveDocuments) {
  std::vector<std::string> types = {"CEB303", "CEB403", "CEB505", "CEB507",
                                    "CEB603"};
  int orders = 0;
  do {
    MemoryContext ctx;
    Clearance clearance{ClearanceConfig{}};
    Decoder decoder;
    for (const std::string& t : types) {
      Document doc;
      ASSERT_TRUE(decoder.Decode(ValidRecord(t), &doc).ok());
      ctx.Submit(clearance, doc);
    }
    ASSERT_EQ(ctx.receipts.size(), 1u);
    const Receipt& r = ctx.receipts[0];
    EXPECT_EQ(r.docType, "CEB604");
    EXPECT_EQ(r.returnStatus, "800") << ReasonList::Info(r.reasons);
    EXPECT_EQ(r.orderNo, "E1");
    EXPECT_EQ(r.copNo, "C2");
    EXPECT_EQ(r.tradeMode, "9610");
    // The latest appTime among the five: the arrival at 15:00.
    EXPECT_EQ(FormatReturnTime(r.returnTime), "20261111150000000");
    EXPECT_FALSE(r.tax.has_value());
    // No list timeout is left; the arrival's other line (EL2) waits in
    // stage L for the export timeout.
    ASSERT_EQ(ctx.timers.size(), 1u);
    EXPECT_EQ(ctx.timers.begin()->second.type, DocType::kCeb505);
    EXPECT_EQ(ctx.timers.begin()->second.orderNo, "EL2");
    ++orders;
  } while (std::next_permutation(types.begin(), types.end()));
  EXPECT_EQ(orders, 120);
}

TEST_F(ExportTest, DepartureClosesTheReleasedList) {
  FeedReleased();
  Feed(Doc("CEB509"));
  ASSERT_EQ(Statuses(), (std::vector<std::string>{"800", "899"}));
  const Receipt& closed = ctx_.receipts[1];
  EXPECT_EQ(closed.docType, "CEB604");
  EXPECT_EQ(FormatReturnTime(closed.returnTime), "20261111220000000");
  EXPECT_NE(closed.guid, ctx_.receipts[0].guid);
  // A duplicate departure changes nothing.
  Feed(Doc("CEB509"));
  EXPECT_EQ(ctx_.receipts.size(), 2u);
}

TEST_F(ExportTest, DepartureBeforeTheArrivalClosesRightAfterTheRelease) {
  for (const char* t : {"CEB303", "CEB403", "CEB505", "CEB603", "CEB509"}) {
    Feed(Doc(t));
  }
  EXPECT_TRUE(ctx_.receipts.empty());
  // The arrival, later than the departure in event time.
  Feed(With(Doc("CEB507"), "20261111150000", "20261111230000"));
  ASSERT_EQ(Statuses(), (std::vector<std::string>{"800", "899"}));
  // Contract §9: the close takes the release's returnTime.
  EXPECT_EQ(FormatReturnTime(ctx_.receipts[0].returnTime), "20261111230000000");
  EXPECT_EQ(FormatReturnTime(ctx_.receipts[1].returnTime), "20261111230000000");
}

TEST_F(ExportTest, MissingArrivalAtTheTimeout) {
  for (const char* t : {"CEB303", "CEB403", "CEB505", "CEB603"}) {
    Feed(Doc(t));
  }
  AdvanceTo("20261118105959");
  EXPECT_TRUE(ctx_.receipts.empty());
  AdvanceTo("20261118110000");  // the list's appTime plus 7 days
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  const Receipt& r = ctx_.receipts[0];
  EXPECT_EQ(r.returnStatus, "100");
  EXPECT_EQ(Codes(r), std::vector<std::string>{"ARRIVAL_MISSING"});
  EXPECT_EQ(FormatReturnTime(r.returnTime), "20261118110000000");
}

TEST_F(ExportTest, TimeoutNamesEveryMissingDocument) {
  Feed(Doc("CEB603"));
  Drain();
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(Codes(ctx_.receipts[0]),
            (std::vector<std::string>{"ORDER_MISSING", "PAYMENT_MISSING",
                                      "WAYBILL_MISSING", "ARRIVAL_MISSING"}));
}

TEST_F(ExportTest, ArrivalOfAnotherCarrierIsNotTheListsArrival) {
  for (const char* t : {"CEB303", "CEB403", "CEB505", "CEB603"}) {
    Feed(Doc(t));
  }
  Feed(With(Doc("CEB507"), R"("logisticsCode":"LOG2")",
            R"("logisticsCode":"LOG9")"));
  Drain();
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(Codes(ctx_.receipts[0]),
            std::vector<std::string>{"ARRIVAL_MISSING"});
}

TEST_F(ExportTest, WaybillOfAnotherCarrierIsNotTheListsWaybill) {
  for (const char* t : {"CEB303", "CEB403", "CEB603", "CEB507"}) {
    Feed(Doc(t));
  }
  Feed(With(Doc("CEB505"), R"("logisticsCode":"LOG2")",
            R"("logisticsCode":"LOG9")"));
  Drain();
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(Codes(ctx_.receipts[0]),
            std::vector<std::string>{"WAYBILL_MISSING"});
}

struct RuleCase {
  const char* name;
  const char* type;  // the document changed
  const char* from;
  const char* to;
  std::vector<std::string> codes;
};

class ExportRule : public ExportTest,
                   public ::testing::WithParamInterface<RuleCase> {};

TEST_P(ExportRule, IsReportedWhenTheListCompletes) {
  const RuleCase& c = GetParam();
  for (const char* t : {"CEB303", "CEB403", "CEB505", "CEB603", "CEB507"}) {
    Feed(std::string_view(t) == c.type ? With(Doc(t), c.from, c.to) : Doc(t));
  }
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  const Receipt& r = ctx_.receipts[0];
  EXPECT_EQ(r.returnStatus, "100");
  EXPECT_EQ(Codes(r), c.codes) << r.returnInfo;
  // A rejected list never closes.
  Feed(Doc("CEB509"));
  EXPECT_EQ(ctx_.receipts.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Contract5, ExportRule,
    ::testing::Values(RuleCase{"ChargeIsNotGoodsValuePlusFreight",
                               "CEB403",
                               R"("charge":"220")",
                               R"("charge":"221")",
                               {"PAYMENT_AMOUNT_MISMATCH"}},
                      RuleCase{"ListLineNotOnTheOrder",
                               "CEB303",
                               R"("gnum":1)",
                               R"("gnum":2)",
                               {"LIST_ORDER_MISMATCH"}},
                      RuleCase{"ListPriceDiffersFromTheOrder",
                               "CEB603",
                               R"("price":"20","totalPrice":"200")",
                               R"("price":"21","totalPrice":"210")",
                               {"LIST_ORDER_MISMATCH"}},
                      RuleCase{
                          "LineTotalIsNotPriceTimesQty",
                          "CEB603",
                          R"("totalPrice":"200")",
                          R"("totalPrice":"201")",
                          {"LINE_TOTAL_INCONSISTENT", "LIST_ORDER_MISMATCH"}},
                      RuleCase{"StatisticsFlagNeitherAOrB",
                               "CEB603",
                               R"("statisticsFlag":"B")",
                               R"("statisticsFlag":"C")",
                               {"FIELD_INVALID"}},
                      RuleCase{"WaybillWithoutGrossWeight",
                               "CEB505",
                               R"("grossWeight":"0.5",)",
                               "",
                               {"FIELD_INVALID"}},
                      RuleCase{"TradeModeNotACrossBorderMode",
                               "CEB603",
                               R"("tradeMode":"9610")",
                               R"("tradeMode":"0110")",
                               {"FIELD_INVALID"}}),
    [](const auto& info) { return info.param.name; });

TEST_F(ExportTest, LaterListVersionAfterTheDecisionIsADeadLetter) {
  FeedReleased();
  Feed(With(Doc("CEB603"), "20261111110000", "20261111120000"));
  ASSERT_EQ(ctx_.dead.size(), 1u);
  EXPECT_EQ(ctx_.dead[0], DeadLetterCode::kListAlreadyDecided);
  // Stale and duplicate versions produce nothing.
  Feed(Doc("CEB603"));
  EXPECT_EQ(ctx_.dead.size(), 1u);
  EXPECT_EQ(ctx_.receipts.size(), 1u);
}

TEST_F(ExportTest, DeletedArrivalDoesNotCount) {
  for (const char* t : {"CEB303", "CEB403", "CEB505", "CEB507"}) {
    Feed(Doc(t));
  }
  Feed(With(With(Doc("CEB507"), "20261111150000", "20261111150100"),
            R"("appType":"1")", R"("appType":"3")"));
  Feed(Doc("CEB603"));
  Drain();
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(Codes(ctx_.receipts[0]),
            std::vector<std::string>{"ARRIVAL_MISSING"});
}

TEST_F(ExportTest, FactsNobodyDeclaredExpireAfterTheExportTimeout) {
  Feed(Doc("CEB507"));  // EL1 and EL2, no list names them
  Feed(Doc("CEB509"));
  ASSERT_EQ(ctx_.shipments.size(), 2u);
  EXPECT_FALSE(ctx_.shipments["EL1"].empty());
  // The departure (22:00) is EL1's latest fact: it goes 7 days later.
  AdvanceTo("20261118215959");
  EXPECT_FALSE(ctx_.shipments["EL1"].empty());
  EXPECT_TRUE(ctx_.shipments["EL2"].empty());
  AdvanceTo("20261118220000");
  EXPECT_TRUE(ctx_.shipments["EL1"].empty());
  EXPECT_TRUE(ctx_.receipts.empty());
  // A list after that finds no arrival. (Its waybill is recent: one older
  // than the export timeout would expire at once, as nothing waits on it.)
  for (const char* t : {"CEB303", "CEB403"}) Feed(Doc(t));
  Feed(With(Doc("CEB505"), "20261111100000", "20261119100000"));
  Feed(With(Doc("CEB603"), "20261111110000", "20261119110000"));
  Drain();
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(Codes(ctx_.receipts[0]),
            std::vector<std::string>{"ARRIVAL_MISSING"});
  for (const auto& [no, s] : ctx_.shipments) EXPECT_TRUE(s.empty()) << no;
}

// ---- Stage C --------------------------------------------------------------

TEST_F(ExportTest, MonthClosesFortyEightHoursAfterItEnds) {
  FeedReleased();
  Feed(Doc("CEB509"));
  AdvanceTo("20261202235959");
  EXPECT_TRUE(ctx_.summaries.empty());
  AdvanceTo("20261203000000");
  ASSERT_EQ(ctx_.summaries.size(), 1u);
  const SummaryForm& f = ctx_.summaries[0];
  EXPECT_EQ(f.period, absl::CivilMonth(2026, 11));
  EXPECT_EQ(f.ebcCode, "EBC2");
  EXPECT_EQ(f.trafMode, "5");
  EXPECT_EQ(f.ownerCode, "OWN2");
  EXPECT_EQ(f.country, "502");
  EXPECT_EQ(f.portCode, "5100");
  EXPECT_EQ(f.supplement, 0);
  EXPECT_EQ(f.listCount, 1);
  EXPECT_EQ(f.grossWeight.ToPlain(), "0.5");
  EXPECT_EQ(f.netWeight.ToPlain(), "0.4");
  ASSERT_EQ(f.lists.size(), 1u);
  EXPECT_EQ(f.lists[0].orderNo, "E1");
  EXPECT_EQ(f.lists[0].logisticsNo, "EL1");
  ASSERT_EQ(f.items.size(), 1u);
  EXPECT_EQ(f.items[0].gcode, "3926909090");
  EXPECT_EQ(f.items[0].qty1.ToPlain(), "0.4");
  EXPECT_EQ(f.items[0].totalPrice.ToPlain(), "200");
  // Written once.
  Drain();
  EXPECT_EQ(ctx_.summaries.size(), 1u);
}

TEST_F(ExportTest, ReleasedButNotDepartedListIsNotSummarised) {
  FeedReleased();
  Drain();
  EXPECT_EQ(Statuses(), std::vector<std::string>{"800"});
  EXPECT_TRUE(ctx_.summaries.empty());
}

TEST_F(ExportTest, StatisticsFlagAIsNotSummarised) {
  for (const char* t : {"CEB303", "CEB403", "CEB505", "CEB507", "CEB509"}) {
    Feed(Doc(t));
  }
  Feed(With(Doc("CEB603"), R"("statisticsFlag":"B")",
            R"("statisticsFlag":"A")"));
  Drain();
  EXPECT_EQ(Statuses(), (std::vector<std::string>{"800", "899"}));
  EXPECT_TRUE(ctx_.summaries.empty());
}

TEST_F(ExportTest, ListClosingAfterItsMonthWasWrittenGoesToASupplement) {
  FeedReleased("E1", "EL1");
  Feed(Doc("CEB509", "E1", "EL1"));
  // A second list of November, whose departure is late in event time.
  FeedReleased("E2", "ELX");
  AdvanceTo("20261203000000");
  ASSERT_EQ(ctx_.summaries.size(), 1u);
  EXPECT_EQ(ctx_.summaries[0].lists.size(), 1u);
  Feed(All(Doc("CEB509", "E2", "ELX"), "\"EL1\"", "\"ELX\""));
  // It closed in November, after November's forms: a supplement, written
  // at the next month close, before that month's own forms.
  FeedReleased("E3", "ELY", "20261215");
  Feed(Doc("CEB509", "E3", "ELY", "20261215"));
  AdvanceTo("20270102235959");
  EXPECT_EQ(ctx_.summaries.size(), 1u);
  AdvanceTo("20270103000000");
  ASSERT_EQ(ctx_.summaries.size(), 3u);
  EXPECT_EQ(ctx_.summaries[1].period, absl::CivilMonth(2026, 11));
  EXPECT_EQ(ctx_.summaries[1].supplement, 1);
  EXPECT_EQ(ctx_.summaries[1].lists[0].orderNo, "E2");
  EXPECT_EQ(ctx_.summaries[2].period, absl::CivilMonth(2026, 12));
  EXPECT_EQ(ctx_.summaries[2].supplement, 0);
  EXPECT_EQ(ctx_.summaries[2].lists[0].orderNo, "E3");
}

TEST_F(ExportTest, PendingSupplementIsWrittenAtTheEndOfInput) {
  FeedReleased("E1", "EL1");
  Feed(Doc("CEB509", "E1", "EL1"));
  FeedReleased("E2", "ELX");
  AdvanceTo("20261203000000");
  Feed(All(Doc("CEB509", "E2", "ELX"), "\"EL1\"", "\"ELX\""));
  EXPECT_EQ(ctx_.summaries.size(), 1u);
  Drain();
  ASSERT_EQ(ctx_.summaries.size(), 2u);
  EXPECT_EQ(ctx_.summaries[1].supplement, 1);
  EXPECT_EQ(ctx_.summaries[1].lists[0].orderNo, "E2");
}

TEST_F(ExportTest, FirstListOfAMonthAlreadyDueIsWrittenRightAfterIts899) {
  FeedReleased();
  AdvanceTo("20261205000000");  // November's close was due on the 3rd
  Feed(Doc("CEB509"));          // closes on 11 November
  ASSERT_EQ(Statuses(), (std::vector<std::string>{"800", "899"}));
  ASSERT_EQ(ctx_.summaries.size(), 1u);
  EXPECT_EQ(ctx_.summaries[0].period, absl::CivilMonth(2026, 11));
  EXPECT_EQ(ctx_.summaries[0].supplement, 0);
}

TEST_F(ExportTest, YearBoundary) {
  // Closing at 23:59:59 on 31 December counts in December; a second later,
  // in January of the next year.
  FeedReleased("E1", "EL1", "20261231");
  Feed(With(Doc("CEB509", "E1", "EL1", "20261231"), "20261231220000",
            "20261231235959"));
  FeedReleased("E2", "EL9", "20261231");
  Feed(With(Doc("CEB509", "E2", "EL9", "20261231"), "20261231220000",
            "20270101000000"));
  Drain();
  ASSERT_EQ(ctx_.summaries.size(), 2u);
  EXPECT_EQ(ctx_.summaries[0].period, absl::CivilMonth(2026, 12));
  EXPECT_EQ(ctx_.summaries[0].lists[0].orderNo, "E1");
  EXPECT_EQ(ctx_.summaries[1].period, absl::CivilMonth(2027, 1));
  EXPECT_EQ(ctx_.summaries[1].lists[0].orderNo, "E2");
}

TEST_F(ExportTest, ListsOfOneHeadGroupShareAFormSortedByOrderNo) {
  FeedReleased("E2", "EL2");
  Feed(Doc("CEB509", "E2", "EL2"));
  FeedReleased("E1", "EL1");
  Feed(Doc("CEB509", "E1", "EL1"));
  // Another ownerCode: another head group, another form.
  for (const char* t : {"CEB303", "CEB403", "CEB505", "CEB507", "CEB509"}) {
    Feed(Doc(t, "E3", "EL3"));
  }
  Feed(With(Doc("CEB603", "E3", "EL3"), R"("ownerCode":"OWN2")",
            R"("ownerCode":"OWN1")"));
  Drain();
  ASSERT_EQ(ctx_.summaries.size(), 2u);
  // Head groups sort bytewise: OWN1 before OWN2.
  EXPECT_EQ(ctx_.summaries[0].ownerCode, "OWN1");
  ASSERT_EQ(ctx_.summaries[1].lists.size(), 2u);
  EXPECT_EQ(ctx_.summaries[1].lists[0].orderNo, "E1");
  EXPECT_EQ(ctx_.summaries[1].lists[1].orderNo, "E2");
  EXPECT_EQ(ctx_.summaries[1].listCount, 2);
  ASSERT_EQ(ctx_.summaries[1].items.size(), 1u);
  EXPECT_EQ(ctx_.summaries[1].items[0].listCount, 2);
  EXPECT_EQ(ctx_.summaries[1].items[0].totalPrice.ToPlain(), "400");
}

}  // namespace
}  // namespace clearlane
