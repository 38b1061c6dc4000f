// The import flow of stages A and B on an in-memory StageContext, one table
// or case per rule of contract §1, §5 and §9. The regulation each rule
// implements is named where it is tested.

#include "operators/clearance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "model/decode.h"
#include "model/encode.h"
#include "model/event_time.h"
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

// Feeds records as the engine does: each one, then the timers due by the
// watermark (contract §9).
class ClearanceTest : public ::testing::Test {
 protected:
  void Feed(const std::string& record) {
    Document doc;
    DecodeOutcome out = decoder_.Decode(record, &doc);
    ASSERT_TRUE(out.ok()) << out.detail();
    const size_t dead_before = ctx_.dead.size();
    ctx_.Submit(clearance_, doc);
    if (ctx_.dead.size() == dead_before) {
      watermark_ = std::max(watermark_, ToEpochSeconds(HeadOf(doc).appTime));
    }
    FireUpTo(watermark_);
  }
  void FireUpTo(int64_t limit) {
    while (!ctx_.timers.empty() && ctx_.timers.begin()->first <= limit) {
      auto [due, key] = *ctx_.timers.begin();
      ctx_.timers.erase(ctx_.timers.begin());
      clearance_.OnTimeout(key, due, ctx_);
    }
  }
  void Drain() { FireUpTo(INT64_MAX); }
  std::vector<std::string> Codes(const Receipt& r) {
    std::vector<std::string> out;
    for (const Reason& reason : r.reasons) out.push_back(reason.code);
    return out;
  }
  void FeedCompleteOrder() {
    for (const char* type : {"CEB311", "CEB411", "CEB511", "CEB621"}) {
      Feed(ValidRecord(type));
    }
  }

  Decoder decoder_;
  MemoryContext ctx_;
  Clearance clearance_{ClearanceConfig{}};
  int64_t watermark_ = INT64_MIN;
};

TEST_F(ClearanceTest, CompleteListIsReleasedWithTaxInEveryArrivalOrder) {
  // 三单对碰 (财关税〔2016〕18号 clause 2): the order, payment and waybill,
  // in any order around the list.
  std::vector<std::string> types = {"CEB311", "CEB411", "CEB511", "CEB621"};
  std::sort(types.begin(), types.end());
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
    EXPECT_EQ(r.docType, "CEB622");
    EXPECT_EQ(r.returnStatus, "800") << ReasonList::Info(r.reasons);
    // The latest appTime among the four: the list at 11:00.
    EXPECT_EQ(FormatReturnTime(r.returnTime), "20261111110000000");
    // 110.00 dutiable at 9% VAT x 70%: 6.93.
    ASSERT_TRUE(r.tax.has_value());
    EXPECT_EQ(r.tax->dutiableValue.ToFixed2(), "110.00");
    EXPECT_EQ(r.tax->valueAddedTax.ToFixed2(), "6.93");
    EXPECT_EQ(r.annualTotal->ToFixed2(), "110.00");
    EXPECT_TRUE(ctx.timers.empty());
    ++orders;
  } while (std::next_permutation(types.begin(), types.end()));
  EXPECT_EQ(orders, 24);
}

TEST_F(ClearanceTest, DuplicateAndStaleVersionsHaveNoEffect) {
  FeedCompleteOrder();
  Feed(ValidRecord("CEB621"));  // exact duplicate
  Feed(With(ValidRecord("CEB621"), "20261111110000", "20261111100000"));
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_TRUE(ctx_.dead.empty());
}

// With many members the waybill index entry (by logisticsNo) may lag
// the order's own copy of the waybill (the order's task moved, its
// index entry stayed in another task's state): a version older than the
// order's copy is stale even when the index says otherwise.
TEST_F(ClearanceTest, AWaybillOlderThanTheOrdersCopyIsStaleWhateverTheIndex) {
  Feed(ValidRecord("CEB311"));
  Feed(ValidRecord("CEB411"));
  const std::string waybill = ValidRecord("CEB511");  // 10:00
  Feed(waybill);
  // The index made to lag the order's copy by an hour.
  ASSERT_EQ(ctx_.waybills.size(), 1u);
  ctx_.waybills.begin()->second.appTime -= 3600;
  // A version of 09:30 to another address: stale.
  Feed(With(With(waybill, "20261111100000", "20261111093000"),
            R"("consigneeAddress":"北京市朝阳区")",
            R"("consigneeAddress":"北京市海淀区")"));
  Feed(ValidRecord("CEB621"));
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(ctx_.receipts[0].returnStatus, "800")
      << ctx_.receipts[0].returnInfo;
}

// The records of another order, O2, of the fixtures' O1.
std::string OfO2(const std::string& record) {
  return With(record, R"("orderNo":"O1")", R"("orderNo":"O2")");
}

// Contract §1: a waybill's versions are one identity whatever orderNo each
// names; the newest holds. A version naming O2 takes L1 from O1, whose
// list then lacks it, and an older version naming O1 again is stale.
TEST_F(ClearanceTest, AWaybillVersionNamingAnotherOrderLeavesTheFirst) {
  Feed(ValidRecord("CEB311"));
  Feed(ValidRecord("CEB411"));
  const std::string waybill = ValidRecord("CEB511");  // 10:00, O1
  Feed(waybill);
  Feed(OfO2(With(waybill, "20261111100000", "20261111103000")));
  Feed(With(waybill, "20261111100000", "20261111101500"));  // stale
  Feed(ValidRecord("CEB621"));
  EXPECT_TRUE(ctx_.receipts.empty());
  for (const char* type : {"CEB311", "CEB411", "CEB621"}) {
    Feed(OfO2(ValidRecord(type)));
  }
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(ctx_.receipts[0].orderNo, "O2");
  EXPECT_EQ(ctx_.receipts[0].returnStatus, "800");
  Drain();
  ASSERT_EQ(ctx_.receipts.size(), 2u);
  EXPECT_EQ(ctx_.receipts[1].orderNo, "O1");
  EXPECT_EQ(Codes(ctx_.receipts[1]),
            (std::vector<std::string>{"WAYBILL_MISSING"}));
}

// The order keeps a deleted waybill's appTime (contract §1), so a staler
// version stays out even when the index lost the deletion (with many
// members, the order's task moved and the index entry, another task's
// state, did not come with it).
TEST_F(ClearanceTest, ADeletedWaybillStaysDeletedWhenTheIndexLostIt) {
  Feed(ValidRecord("CEB311"));
  Feed(ValidRecord("CEB411"));
  const std::string waybill = ValidRecord("CEB511");  // 10:00
  Feed(waybill);
  Feed(With(With(waybill, "20261111100000", "20261111103000"),
            R"("appType":"1")", R"("appType":"3")"));
  ctx_.waybills.clear();
  Feed(With(waybill, "20261111100000", "20261111101500"));  // stale
  Feed(ValidRecord("CEB621"));
  Drain();
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(Codes(ctx_.receipts[0]),
            (std::vector<std::string>{"WAYBILL_MISSING"}));
}

// The index as another task (operators/waybill_index.h): each order takes
// its version at once and the index answers later. Once its records are
// delivered, in either order the versions came, the orders hold what one
// process would, and the lists decided after say the same.
TEST_F(ClearanceTest, TheIndexAnsweringLaterEndsWhereOneProcessDoes) {
  const std::string older = ValidRecord("CEB511");  // 10:00, O1
  const std::string newer =
      OfO2(With(older, "20261111100000", "20261111103000"));
  const std::pair<std::string, std::string> id{"LOG1", "L1"};
  for (const bool newer_first : {false, true}) {
    SCOPED_TRACE(newer_first ? "the newer version first" : "the older first");
    std::vector<std::string> waybills = {older, newer};
    if (newer_first) std::swap(waybills[0], waybills[1]);
    std::vector<std::string> rest;
    for (const char* type : {"CEB311", "CEB411", "CEB621"}) {
      rest.push_back(ValidRecord(type));
      rest.push_back(OfO2(ValidRecord(type)));
    }
    std::vector<Receipt> receipts[2];
    for (const bool elsewhere : {false, true}) {
      MemoryContext ctx;
      ctx.index_elsewhere = elsewhere;
      Clearance rules{ClearanceConfig{}};
      const auto feed = [&](const std::string& record) {
        Document doc;
        ASSERT_TRUE(decoder_.Decode(record, &doc).ok());
        ctx.Submit(rules, doc);
      };
      for (const std::string& w : waybills) feed(w);
      const auto holds = [&](const char* orderNo) {
        const auto& copies = ctx.groups[orderNo].waybills;
        auto it = copies.find(id);
        return it != copies.end() && it->second.present();
      };
      if (elsewhere) {
        // Both orders took their version; the index has heard nothing.
        EXPECT_TRUE(holds("O1"));
        EXPECT_TRUE(holds("O2"));
        EXPECT_TRUE(ctx.waybills.empty());
        ctx.DeliverIndexRecords(rules);
      }
      EXPECT_FALSE(holds("O1"));
      EXPECT_TRUE(holds("O2"));
      EXPECT_EQ(ctx.waybills.at(id).orderNo, "O2");
      for (const std::string& r : rest) feed(r);
      while (!ctx.timers.empty()) {
        const auto [due, key] = *ctx.timers.begin();
        ctx.timers.erase(ctx.timers.begin());
        rules.OnTimeout(key, due, ctx);
      }
      receipts[elsewhere] = ctx.receipts;
    }
    ASSERT_EQ(receipts[1].size(), 2u);
    EXPECT_EQ(receipts[1][0].orderNo, "O2");
    EXPECT_EQ(receipts[1][0].returnStatus, "800");
    EXPECT_EQ(Codes(receipts[1][1]),
              (std::vector<std::string>{"WAYBILL_MISSING"}));
    const auto lines = [](const std::vector<Receipt>& rs) {
      std::vector<std::string> out(rs.size());
      for (size_t i = 0; i < rs.size(); ++i) EncodeReceipt(rs[i], &out[i]);
      return out;
    };
    EXPECT_EQ(lines(receipts[0]), lines(receipts[1]));
  }
}

TEST_F(ClearanceTest, LaterListVersionAfterTheDecisionIsADeadLetter) {
  FeedCompleteOrder();
  Feed(With(ValidRecord("CEB621"), "20261111110000", "20261111120000"));
  ASSERT_EQ(ctx_.dead.size(), 1u);
  EXPECT_EQ(ctx_.dead[0], DeadLetterCode::kListAlreadyDecided);
  EXPECT_EQ(ctx_.receipts.size(), 1u);
}

TEST_F(ClearanceTest, ModifiedOrderReplacesTheOlderVersion) {
  Feed(With(ValidRecord("CEB311"), R"("acturalPaid":"119.1")",
            R"("acturalPaid":"999")"));
  Feed(With(With(ValidRecord("CEB311"), "20261111093000", "20261111093500"),
            R"("appType":"1")", R"("appType":"2")"));
  for (const char* type : {"CEB411", "CEB511", "CEB621"}) {
    Feed(ValidRecord(type));
  }
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(ctx_.receipts[0].returnStatus, "800");
}

TEST_F(ClearanceTest, DeletedPendingListGetsNoReceipt) {
  Feed(ValidRecord("CEB621"));
  Feed(With(With(ValidRecord("CEB621"), "20261111110000", "20261111113000"),
            R"("appType":"1")", R"("appType":"3")"));
  Drain();
  EXPECT_TRUE(ctx_.receipts.empty());
}

TEST_F(ClearanceTest, TimeoutNamesEveryMissingDocument) {
  Feed(ValidRecord("CEB621"));
  Drain();
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  const Receipt& r = ctx_.receipts[0];
  EXPECT_EQ(r.returnStatus, "100");
  EXPECT_EQ(Codes(r),
            (std::vector<std::string>{"ORDER_MISSING", "PAYMENT_MISSING",
                                      "WAYBILL_MISSING"}));
  // Decided at the time the timeout was due: 24 hours after the list.
  EXPECT_EQ(FormatReturnTime(r.returnTime), "20261112110000000");
  EXPECT_TRUE(r.tax == std::nullopt && r.annualTotal == std::nullopt);
}

TEST_F(ClearanceTest, TimeoutFiresOnTheWatermarkNotBefore) {
  Feed(ValidRecord("CEB621"));
  Feed(With(ValidRecord("CEB411"), "20261111093100", "20261112105959"));
  EXPECT_TRUE(ctx_.receipts.empty());
  // A document of another order moves the watermark to the timeout.
  Feed(With(
      With(ValidRecord("CEB411"), R"("orderNo":"O1")", R"("orderNo":"O2")"),
      "20261111093100", "20261112110000"));
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(Codes(ctx_.receipts[0]),
            (std::vector<std::string>{"ORDER_MISSING", "WAYBILL_MISSING"}));
}

TEST_F(ClearanceTest, CompletingDocumentAtTheTimeoutWinsOverTheTimeout) {
  // Contract §9: the record that completes the list and moves the watermark
  // past its timeout is processed first.
  for (const char* type : {"CEB311", "CEB411", "CEB621"}) {
    Feed(ValidRecord(type));
  }
  Feed(With(ValidRecord("CEB511"), "20261111100000", "20261112120000"));
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(ctx_.receipts[0].returnStatus, "800");
}

TEST_F(ClearanceTest, WaybillOfAnotherParcelIsLogisticsMismatch) {
  for (const char* type : {"CEB311", "CEB411", "CEB621"}) {
    Feed(ValidRecord(type));
  }
  Feed(With(ValidRecord("CEB511"), R"("logisticsNo":"L1")",
            R"("logisticsNo":"L9")"));
  Drain();
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(Codes(ctx_.receipts[0]),
            std::vector<std::string>{"LOGISTICS_MISMATCH"});
}

struct RuleCase {
  const char* name;
  const char* doc;
  const char* from;
  const char* to;
  std::vector<std::string> codes;
};

class ImportRule : public ClearanceTest,
                   public ::testing::WithParamInterface<RuleCase> {};

TEST_P(ImportRule, RejectsWithItsReason) {
  const RuleCase& c = GetParam();
  for (const char* type : {"CEB311", "CEB411", "CEB511", "CEB621"}) {
    std::string r = ValidRecord(type);
    if (std::string_view(type) == c.doc) r = With(r, c.from, c.to);
    Feed(r);
  }
  Drain();
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(ctx_.receipts[0].returnStatus, "100");
  EXPECT_EQ(Codes(ctx_.receipts[0]), c.codes) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Contract5, ImportRule,
    ::testing::Values(
        RuleCase{"required field",
                 "CEB621",
                 R"("buyerTelephone":"13800000000",)",
                 "",
                 {"FIELD_INVALID"}},
        RuleCase{"bonded field",
                 "CEB621",
                 R"("emsNo":"T1234W000001",)",
                 "",
                 {"FIELD_INVALID"}},
        RuleCase{"tradeMode",
                 "CEB621",
                 R"("tradeMode":"1210")",
                 R"("tradeMode":"9710")",
                 {"FIELD_INVALID"}},
        RuleCase{"gcode", "CEB621", "0402100000", "04021", {"FIELD_INVALID"}},
        RuleCase{"currency",
                 "CEB411",
                 R"("currency":"142")",
                 R"("currency":"502")",
                 {"CURRENCY_NOT_CNY"}},
        RuleCase{"acturalPaid",
                 "CEB311",
                 R"("discount":"0")",
                 R"("discount":"1")",
                 {"ORDER_AMOUNT_INCONSISTENT"}},
        RuleCase{"line total",
                 "CEB311",
                 R"("totalPrice":"100")",
                 R"("totalPrice":"100.01")",
                 {"LINE_TOTAL_INCONSISTENT", "LIST_ORDER_MISMATCH"}},
        RuleCase{"amountPaid",
                 "CEB411",
                 R"("amountPaid":"119.1")",
                 R"("amountPaid":"119.2")",
                 {"PAYMENT_AMOUNT_MISMATCH"}},
        RuleCase{"payer",
                 "CEB411",
                 R"("payerName":"张三")",
                 R"("payerName":"李四")",
                 {"BUYER_PAYER_MISMATCH"}},
        RuleCase{"list buyer",
                 "CEB621",
                 R"("buyerName":"张三")",
                 R"("buyerName":"张三丰")",
                 {"LIST_ORDER_MISMATCH"}},
        RuleCase{"list line qty",
                 "CEB621",
                 R"("gnum":1)",
                 R"("gnum":2)",
                 {"LIST_ORDER_MISMATCH"}},
        RuleCase{"consignee",
                 "CEB511",
                 R"("consigneeAddress":"北京市朝阳区")",
                 R"("consigneeAddress":"北京市海淀区")",
                 {"CONSIGNEE_MISMATCH"}},
        RuleCase{"id number",
                 "CEB621",
                 R"("buyerIdNumber":"11010519491231002X")",
                 R"("buyerIdNumber":"110105194912310021")",
                 {"LIST_ORDER_MISMATCH", "ID_INVALID"}}));

class Limits : public ClearanceTest {
 protected:
  // A complete order whose one line costs `price` (qty `qty`), freight 0.
  void FeedOrder(const std::string& orderNo, const std::string& price,
                 const std::string& qty, const std::string& day) {
    const Decimal total = Decimal::MultiplyRoundToFen(*Decimal::Parse(price),
                                                      *Decimal::Parse(qty));
    auto patch = [&](std::string r) {
      r = With(r, R"("orderNo":"O1")", "\"orderNo\":\"" + orderNo + "\"");
      r = With(r, "20261111", day);
      if (r.find(R"("logisticsNo":"L1")") != std::string::npos) {
        r = With(r, R"("logisticsNo":"L1")",
                 "\"logisticsNo\":\"L-" + orderNo + "\"");
      }
      return r;
    };
    std::string order = patch(ValidRecord("CEB311"));
    order = With(order, R"("goodsValue":"100")",
                 "\"goodsValue\":\"" + total.ToPlain() + "\"");
    order = With(order, R"("freight":"10")", R"("freight":"0")");
    order = With(order, R"("taxTotal":"9.1")", R"("taxTotal":"0")");
    order = With(order, R"("acturalPaid":"119.1")",
                 "\"acturalPaid\":\"" + total.ToPlain() + "\"");
    order = With(order, R"("qty":"1","price":"100","totalPrice":"100")",
                 "\"qty\":\"" + qty + "\",\"price\":\"" + price +
                     "\",\"totalPrice\":\"" + total.ToPlain() + "\"");
    std::string payment = patch(ValidRecord("CEB411"));
    payment = With(payment, R"("amountPaid":"119.1")",
                   "\"amountPaid\":\"" + total.ToPlain() + "\"");
    std::string list = patch(ValidRecord("CEB621"));
    list = With(list, R"("freight":"10")", R"("freight":"0")");
    list = With(list, R"("qty":"1")", "\"qty\":\"" + qty + "\"");
    list = With(list, R"("price":"100","totalPrice":"100")",
                "\"price\":\"" + price + "\",\"totalPrice\":\"" +
                    total.ToPlain() + "\"");
    Feed(order);
    Feed(payment);
    Feed(patch(ValidRecord("CEB511")));
    Feed(list);
  }
  const Receipt& Last() {
    EXPECT_FALSE(ctx_.receipts.empty());
    return ctx_.receipts.back();
  }
  std::string AnnualTotal() {
    return Last().annualTotal ? Last().annualTotal->ToFixed2() : "none";
  }
};

TEST_F(Limits, ExactlyTheSingleLimitIsReleased) {
  // 财关税〔2018〕49号: 5000.00 per transaction.
  FeedOrder("A", "2500", "2", "20261111");
  EXPECT_EQ(Last().returnStatus, "800");
  EXPECT_EQ(Last().tax->customsTax.ToFixed2(), "0.00");
}

TEST_F(Limits, OneFenOverTheSingleLimitIsRejected) {
  FeedOrder("A", "2500.005", "2", "20261111");
  EXPECT_EQ(Codes(Last()), std::vector<std::string>{"SINGLE_LIMIT_EXCEEDED"});
}

TEST_F(Limits, SingleItemOver5000IsTaxedInFull) {
  // 49号 clause 2: one item over 5000.00 is released with full tariff,
  // VAT and consumption tax, and counts toward the year.
  FeedOrder("A", "6000", "1", "20261111");
  ASSERT_EQ(Last().returnStatus, "800");
  // 0402 row: tariff 15%, VAT 9% on (v + t): 900.00 and 621.00.
  EXPECT_EQ(Last().tax->customsTax.ToFixed2(), "900.00");
  EXPECT_EQ(Last().tax->valueAddedTax.ToFixed2(), "621.00");
  EXPECT_EQ(AnnualTotal(), "6000.00");
}

TEST_F(Limits, TheYearsAllowanceEndsAt26000) {
  for (int i = 0; i < 5; ++i)
    FeedOrder(absl::StrCat("A", i), "5000", "1", "20261111");
  EXPECT_EQ(AnnualTotal(), "25000.00");
  FeedOrder("B", "1000", "1", "20261112");
  EXPECT_EQ(Last().returnStatus, "800");
  EXPECT_EQ(AnnualTotal(), "26000.00");
  FeedOrder("C", "0.01", "1", "20261113");
  EXPECT_EQ(Codes(Last()), std::vector<std::string>{"ANNUAL_LIMIT_EXCEEDED"});
}

TEST_F(Limits, TwoListsOnOneDayCrossingTheAllowance) {
  for (int i = 0; i < 5; ++i)
    FeedOrder(absl::StrCat("A", i), "5000", "1", "20261111");
  FeedOrder("B", "600", "1", "20261112");
  FeedOrder("C", "600", "1", "20261112");
  const size_t n = ctx_.receipts.size();
  EXPECT_EQ(ctx_.receipts[n - 2].returnStatus, "800");
  EXPECT_EQ(Codes(ctx_.receipts[n - 1]),
            std::vector<std::string>{"ANNUAL_LIMIT_EXCEEDED"});
}

TEST_F(Limits, EachCalendarYearHasItsOwnAllowance) {
  for (int i = 0; i < 5; ++i)
    FeedOrder(absl::StrCat("A", i), "5000", "1", "20261231");
  FeedOrder("B", "2000", "1", "20270101");
  EXPECT_EQ(Last().returnStatus, "800");
  EXPECT_EQ(AnnualTotal(), "2000.00");
}

TEST_F(Limits, SingleAndAnnualAreBothReported) {
  for (int i = 0; i < 5; ++i)
    FeedOrder(absl::StrCat("A", i), "5000", "1", "20261111");
  FeedOrder("B", "3000", "2", "20261112");
  EXPECT_EQ(Codes(Last()), (std::vector<std::string>{"SINGLE_LIMIT_EXCEEDED",
                                                     "ANNUAL_LIMIT_EXCEEDED"}));
}

TEST_F(Limits, OverTheSingleLimitTheBuyerIsAskedButNothingCounts) {
  // The receipt names every failed check, stage B's too, but a list
  // stage A rejects must not count in the year.
  FeedOrder("A", "3000", "2", "20261111");
  ASSERT_EQ(ctx_.requests.size(), 1u);
  EXPECT_FALSE(ctx_.requests[0].may_release);
  EXPECT_EQ(ctx_.requests[0].value.ToFixed2(), "6000.00");
  EXPECT_EQ(ctx_.totals.begin()->second.ToFixed2(), "0.00");
  EXPECT_EQ(Last().returnStatus, "100");
}

TEST_F(ClearanceTest, RegistryUnknownAndMismatchingNames) {
  ctx_.registry["#110105194912310021"] = "#张三";
  FeedCompleteOrder();
  EXPECT_EQ(Codes(ctx_.receipts.back()),
            std::vector<std::string>{"ID_UNKNOWN"});
  ctx_.registry["#11010519491231002X"] = "#李四";
  MemoryContext& ctx = ctx_;
  ctx.groups.clear();
  ctx.waybills.clear();
  FeedCompleteOrder();
  EXPECT_EQ(Codes(ctx_.receipts.back()),
            std::vector<std::string>{"ID_NAME_MISMATCH"});
}

TEST_F(ClearanceTest, CancelAfterReleaseGivesTheValueBack) {
  FeedCompleteOrder();
  Feed(ValidRecord("CEB623"));
  ASSERT_EQ(ctx_.receipts.size(), 2u);
  EXPECT_EQ(ctx_.receipts[1].docType, "CEB624");
  EXPECT_EQ(ctx_.receipts[1].returnStatus, "399");
  EXPECT_EQ(ctx_.receipts[1].tradeMode, "1210");  // echoes the list
  EXPECT_EQ(ctx_.totals.begin()->second.ToFixed2(), "0.00");
  // A second cancel: the list is no longer released.
  Feed(With(ValidRecord("CEB623"), "20261112110000", "20261112120000"));
  EXPECT_EQ(Codes(ctx_.receipts.back()),
            std::vector<std::string>{"NOT_RELEASED"});
}

// Stage A reaches the buyer's total only through the exchange
// (operators/allowance.h): one request per list that passed its checks,
// one give-back per accepted cancel or return.
TEST_F(ClearanceTest, ACompleteListAsksItsBuyersTaskOnce) {
  FeedCompleteOrder();
  ASSERT_EQ(ctx_.requests.size(), 1u);
  const AllowanceRequest& q = ctx_.requests[0];
  EXPECT_EQ(q.list, (ListKey{DocType::kCeb621, "EBP1", "O1"}));
  EXPECT_EQ(q.buyer, "#11010519491231002X");  // the keyed hash: B's key
  EXPECT_EQ(q.name_hash, "#张三");
  EXPECT_EQ(q.year, 2026);
  EXPECT_EQ(q.value.ToFixed2(), "110.00");
  EXPECT_TRUE(q.may_release);
  EXPECT_TRUE(ctx_.give_backs.empty());
}

TEST_F(ClearanceTest, AListStageARejectsNeverReachesItsBuyer) {
  Feed(ValidRecord("CEB621"));
  Drain();  // the timeout: order, payment and waybill missing
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(ctx_.receipts[0].returnStatus, "100");
  EXPECT_TRUE(ctx_.requests.empty());
  EXPECT_TRUE(ctx_.totals.empty());
}

TEST_F(ClearanceTest, AnAcceptedCancelSendsTheValueBackToTheBuyer) {
  FeedCompleteOrder();
  Feed(ValidRecord("CEB623"));
  ASSERT_EQ(ctx_.give_backs.size(), 1u);
  EXPECT_EQ(ctx_.give_backs[0],
            (GiveBack{"#11010519491231002X", 2026, Decimal::FromInteger(110)}));
  // A refused cancel sends nothing.
  Feed(With(ValidRecord("CEB623"), "20261112110000", "20261112120000"));
  EXPECT_EQ(ctx_.give_backs.size(), 1u);
}

// The buyer's task in another process answers later (docs/engine.md
// "Stage B across processes"): the list waits, decided but for the answer,
// and ends exactly as it would have with the answer at once.
class LaterAnswer : public ClearanceTest {
 protected:
  // The receipts of `records` fed with answers at once, as lines.
  std::vector<std::string> AtOnce(const std::vector<std::string>& records) {
    // The same feeding, in a fixture of its own.
    struct Run : LaterAnswer {
      void TestBody() override {}
    } at_once;
    for (const std::string& r : records) at_once.Feed(r);
    return Lines(at_once.ctx_);
  }
  static std::vector<std::string> Lines(const MemoryContext& ctx) {
    std::vector<std::string> out;
    for (const Receipt& r : ctx.receipts) {
      out.emplace_back();
      EncodeReceipt(r, &out.back());
    }
    return out;
  }
  std::vector<std::string> Timers() {
    std::vector<std::string> out;
    for (const auto& [orderNo, g] : ctx_.groups) {
      clearance_.ForEachTimer(orderNo, g, [&](int64_t, const ListKey& k) {
        out.push_back(k.orderNo);
      });
    }
    return out;
  }
  const std::vector<std::string> complete_ = {
      ValidRecord("CEB311"), ValidRecord("CEB411"), ValidRecord("CEB511"),
      ValidRecord("CEB621")};
};

TEST_F(LaterAnswer, TheListWaitsDecidedButForTheAnswer) {
  ctx_.defer_answers = true;
  for (const std::string& r : complete_) Feed(r);
  EXPECT_TRUE(ctx_.receipts.empty());
  ASSERT_EQ(ctx_.waiting.size(), 1u);
  // No timer runs for it, none is rebuilt at a restart, and a later
  // version of the list is refused as a decided one would be.
  EXPECT_TRUE(ctx_.timers.empty());
  EXPECT_TRUE(Timers().empty());
  Feed(With(ValidRecord("CEB621"), "20261111110000", "20261111120000"));
  EXPECT_EQ(ctx_.dead,
            std::vector<DeadLetterCode>{DeadLetterCode::kListAlreadyDecided});
  // A new order version completes nothing a second time.
  Feed(With(ValidRecord("CEB311"), "20261111093000", "20261111103000"));
  EXPECT_EQ(ctx_.requests.size(), 1u);

  ctx_.AnswerOldest(clearance_);
  EXPECT_EQ(Lines(ctx_), AtOnce(complete_));
  EXPECT_EQ(ctx_.receipts.back().returnStatus, "800");
  EXPECT_EQ(ctx_.totals.begin()->second.ToFixed2(), "110.00");
}

TEST_F(LaterAnswer, ACopyOfTheAnswerIsDropped) {
  ctx_.defer_answers = true;
  for (const std::string& r : complete_) Feed(r);
  const auto q = std::get<AllowanceRequest>(ctx_.waiting.front());
  ctx_.waiting.clear();
  EXPECT_TRUE(clearance_.OnAllowanceAnswer(AnswerAllowance(q, ctx_), ctx_));
  AllowanceAnswer copy;
  copy.list = q.list;
  copy.released = false;  // whatever it says: the list no longer waits
  EXPECT_FALSE(clearance_.OnAllowanceAnswer(copy, ctx_));
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(ctx_.receipts[0].returnStatus, "800");
}

TEST_F(LaterAnswer, CancelsAndReturnsMeanwhileAreAnsweredAfterIt) {
  std::vector<std::string> records = complete_;
  records.push_back(ValidRecord("CEB625"));  // a return of the list
  records.push_back(ValidRecord("CEB623"));
  records.push_back(
      With(ValidRecord("CEB623"), "20261112110000", "20261112120000"));
  ctx_.defer_answers = true;
  for (const std::string& r : records) Feed(r);
  EXPECT_TRUE(ctx_.receipts.empty());
  EXPECT_TRUE(ctx_.give_backs.empty());
  ctx_.AnswerOldest(clearance_);
  const std::vector<std::string> at_once = AtOnce(records);
  ASSERT_EQ(at_once.size(), 4u);
  EXPECT_EQ(Lines(ctx_), at_once);
  // The first of them was accepted and sent the value back, after the
  // answer.
  ASSERT_EQ(ctx_.give_backs.size(), 1u);
  ASSERT_EQ(ctx_.waiting.size(), 1u);
  ctx_.AnswerOldest(clearance_);
  EXPECT_EQ(ctx_.totals.begin()->second.ToFixed2(), "0.00");
}

TEST_F(LaterAnswer, AWaitingListAndWhatWaitsOnItSurviveARestart) {
  std::vector<std::string> records = complete_;
  records.push_back(ValidRecord("CEB623"));
  ctx_.defer_answers = true;
  for (const std::string& r : records) Feed(r);
  // A new process: the state as stored, new operators, the answer then.
  MemoryContext restarted;
  restarted.defer_answers = true;
  for (const auto& [orderNo, g] : ctx_.groups) {
    auto stored = DecodeOrderGroup(EncodeOrderGroup(g));
    ASSERT_TRUE(stored.ok()) << stored.status();
    restarted.groups[orderNo] = *std::move(stored);
  }
  restarted.waiting = ctx_.waiting;
  Clearance clearance{ClearanceConfig{}};
  restarted.AnswerOldest(clearance);
  EXPECT_EQ(Lines(restarted), AtOnce(records));
}

TEST_F(LaterAnswer, ARejectionByTheBuyersTaskNamesItsReasons) {
  ctx_.registry["#110105194912310021"] = "#张三";
  ctx_.defer_answers = true;
  for (const std::string& r : complete_) Feed(r);
  ctx_.AnswerOldest(clearance_);
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(Codes(ctx_.receipts[0]), std::vector<std::string>{"ID_UNKNOWN"});
}

TEST(OrderStateWithAWaitingList, KeepsItAndItsDeferredDocuments) {
  OrderGroup g;
  ListEntry& e = g.lists[{DocType::kCeb621, "EBP1"}];
  e.version = {1000, false, "list"};
  // Without a waiting list the group keeps the version binaries before it
  // read.
  EXPECT_EQ(EncodeOrderGroup(g)[0], 2);
  e.pending.emplace();
  e.pending->decided_at = 1234;
  e.pending->deferred = {"cancel", "return"};
  const std::string bytes = EncodeOrderGroup(g);
  EXPECT_EQ(bytes[0], 3);
  auto back = DecodeOrderGroup(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  const ListEntry& b = back->lists.at({DocType::kCeb621, "EBP1"});
  ASSERT_TRUE(b.pending.has_value());
  EXPECT_EQ(b.pending->decided_at, 1234);
  EXPECT_EQ(b.pending->deferred,
            (std::vector<std::string>{"cancel", "return"}));
  EXPECT_FALSE(b.decision.has_value());
  EXPECT_EQ(EncodeOrderGroup(*back), bytes);
  // A waiting list in a state of version 2 is corrupt.
  std::string v2 = bytes;
  v2[0] = 2;
  EXPECT_FALSE(DecodeOrderGroup(v2).ok());
}

TEST_F(ClearanceTest, CancelOfAPendingOrUnknownListIsNotReleased) {
  Feed(ValidRecord("CEB623"));
  ASSERT_EQ(ctx_.receipts.size(), 1u);
  EXPECT_EQ(Codes(ctx_.receipts[0]), std::vector<std::string>{"NOT_RELEASED"});
  EXPECT_TRUE(ctx_.receipts[0].tradeMode.empty());  // echoes the cancel
  Feed(ValidRecord("CEB621"));
  Feed(With(ValidRecord("CEB623"), "20261112110000", "20261112120000"));
  EXPECT_EQ(Codes(ctx_.receipts.back()),
            std::vector<std::string>{"NOT_RELEASED"});
}

TEST_F(ClearanceTest, ReturnWithinThirtyDaysIsAccepted) {
  // 海关总署公告2020年第45号: within 30 days of release.
  FeedCompleteOrder();
  Feed(With(ValidRecord("CEB625"), "20261112110000", "20261211110000"));
  EXPECT_EQ(ctx_.receipts.back().returnStatus, "399");
  EXPECT_EQ(ctx_.totals.begin()->second.ToFixed2(), "0.00");
}

TEST_F(ClearanceTest, ReturnAfterThirtyDaysIsRejected) {
  FeedCompleteOrder();
  Feed(With(ValidRecord("CEB625"), "20261112110000", "20261211110001"));
  EXPECT_EQ(Codes(ctx_.receipts.back()),
            std::vector<std::string>{"RETURN_WINDOW_EXPIRED"});
  EXPECT_EQ(ctx_.totals.begin()->second.ToFixed2(), "110.00");
}

TEST_F(ClearanceTest, PartialReturnGivesBackTheReturnedShare) {
  // Two of three units: 2/3 of v = 110.00 -> 73.33 given back.
  std::string order = ValidRecord("CEB311");
  order = With(order, R"("goodsValue":"100")", R"("goodsValue":"300")");
  order = With(order, R"("acturalPaid":"119.1")", R"("acturalPaid":"319.1")");
  order = With(order, R"("qty":"1","price":"100","totalPrice":"100")",
               R"("qty":"3","price":"100","totalPrice":"300")");
  Feed(order);
  Feed(With(ValidRecord("CEB411"), R"("amountPaid":"119.1")",
            R"("amountPaid":"319.1")"));
  Feed(ValidRecord("CEB511"));
  std::string list =
      With(ValidRecord("CEB621"), R"("qty":"1")", R"("qty":"3")");
  list = With(list, R"("price":"100","totalPrice":"100")",
              R"("price":"100","totalPrice":"300")");
  Feed(list);
  ASSERT_EQ(ctx_.receipts.back().returnStatus, "800");
  EXPECT_EQ(ctx_.receipts.back().annualTotal->ToFixed2(), "310.00");
  Feed(With(ValidRecord("CEB625"), R"("qty":"1")", R"("qty":"2")"));
  EXPECT_EQ(ctx_.receipts.back().returnStatus, "399");
  EXPECT_EQ(ctx_.totals.begin()->second.ToFixed2(), "103.33");
}

TEST_F(ClearanceTest, ReturnOfALineTheListLacksIsFieldInvalid) {
  FeedCompleteOrder();
  Feed(With(ValidRecord("CEB625"), R"("gnum":1)", R"("gnum":7)"));
  EXPECT_EQ(Codes(ctx_.receipts.back()),
            std::vector<std::string>{"FIELD_INVALID"});
  Feed(With(With(ValidRecord("CEB625"), "20261112110000", "20261112120000"),
            R"("qty":"1")", R"("qty":"2")"));
  EXPECT_EQ(Codes(ctx_.receipts.back()),
            std::vector<std::string>{"FIELD_INVALID"});
}

// Contract §10 "Returns": a failed line check and NOT_RELEASED are both
// reported, whether the list waits, was rejected or is unknown.
TEST(ReturnsReportEveryFailedCheck, LineChecksAndNotReleasedTogether) {
  struct Case {
    const char* list;    // "waiting", "rejected" or "unknown"
    const char* change;  // of the return's line
    const char* to;
    std::vector<std::string> want;
  };
  const std::vector<std::string> both = {"FIELD_INVALID", "NOT_RELEASED"};
  const std::vector<std::string> only = {"NOT_RELEASED"};
  const Case cases[] = {
      {"waiting", R"("gnum":1)", R"("gnum":7)", both},    // not on the list
      {"waiting", R"("qty":"1")", R"("qty":"2")", both},  // more than listed
      {"waiting", R"(,"qty":"1")", "", both},             // no qty
      {"waiting", R"("gnum":1)", R"("gnum":1)", only},    // lines agree
      {"rejected", R"("gnum":1)", R"("gnum":7)", both},
      {"rejected", R"("qty":"1")", R"("qty":"2")", both},
      {"rejected", R"("gnum":1)", R"("gnum":1)", only},
      {"unknown", R"(,"qty":"1")", "", both},
      {"unknown", R"("gnum":1)", R"("gnum":7)", only},  // no lines to check
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.list) + " " + c.change + " -> " + c.to);
    MemoryContext ctx;
    Clearance clearance{ClearanceConfig{}};
    Decoder decoder;
    auto feed = [&](const std::string& record) {
      Document doc;
      ASSERT_TRUE(decoder.Decode(record, &doc).ok()) << record;
      ctx.Submit(clearance, doc);
    };
    std::string ret = With(ValidRecord("CEB625"), c.change, c.to);
    if (std::string_view(c.list) == "waiting") {
      feed(ValidRecord("CEB621"));
      ret = With(ret, "20261112110000", "20261111120000");
    } else if (std::string_view(c.list) == "rejected") {
      feed(ValidRecord("CEB621"));
      // Its timeout, fired as the engine would at a watermark a day on.
      ASSERT_EQ(ctx.timers.size(), 1u);
      auto [due, key] = *ctx.timers.begin();
      ctx.timers.clear();
      clearance.OnTimeout(key, due, ctx);
      ASSERT_EQ(ctx.receipts.size(), 1u);
      ASSERT_EQ(ctx.receipts[0].returnStatus, "100");
    }
    feed(ret);
    ASSERT_FALSE(ctx.receipts.empty());
    const Receipt& r = ctx.receipts.back();
    EXPECT_EQ(r.docType, "CEB626");
    EXPECT_EQ(r.returnStatus, "100");
    std::vector<std::string> codes;
    for (const Reason& reason : r.reasons) codes.push_back(reason.code);
    EXPECT_EQ(codes, c.want) << ReasonList::Info(r.reasons);
  }
}

// Contract §10 "Checks read only what is there": a list or an order
// without lines is FIELD_INVALID (items) and nothing else; in particular
// no LIST_ORDER_MISMATCH from comparing lines with nothing. Import and
// 9610 export alike.
TEST(ChecksReadOnlyWhatIsThere, DocumentWithoutLinesIsFieldInvalidOnly) {
  const std::vector<const char*> import = {"CEB311", "CEB411", "CEB511",
                                           "CEB621"};
  const std::vector<const char*> export_ = {"CEB303", "CEB403", "CEB505",
                                            "CEB507", "CEB603"};
  struct Case {
    const std::vector<const char*>* flow;
    const char* type;   // the document without lines
    const char* items;  // what its "items" holds
  };
  for (const Case& c :
       {Case{&import, "CEB621", "[]"}, Case{&import, "CEB621", "null"},
        Case{&import, "CEB311", "[]"}, Case{&import, "CEB311", "null"},
        Case{&export_, "CEB603", "[]"}, Case{&export_, "CEB603", "null"},
        Case{&export_, "CEB303", "[]"}, Case{&export_, "CEB303", "null"}}) {
    SCOPED_TRACE(std::string(c.type) + " items " + c.items);
    MemoryContext ctx;
    Clearance clearance{ClearanceConfig{}};
    Decoder decoder;
    for (const char* t : *c.flow) {
      std::string record = ValidRecord(t);
      if (std::string_view(t) == c.type) {
        record = ::clearlane::testing::WithItems(record, c.items);
      }
      Document doc;
      ASSERT_TRUE(decoder.Decode(record, &doc).ok()) << record;
      ctx.Submit(clearance, doc);
    }
    ASSERT_EQ(ctx.receipts.size(), 1u);
    const Receipt& r = ctx.receipts[0];
    EXPECT_EQ(r.returnStatus, "100");
    ASSERT_EQ(r.reasons.size(), 1u) << ReasonList::Info(r.reasons);
    EXPECT_EQ(r.reasons[0].code, "FIELD_INVALID");
    EXPECT_NE(r.reasons[0].detail.find("items"), std::string::npos)
        << r.reasons[0].detail;
  }
}

// Contract §1: a decimal is 1 to 14 integer digits and 1 to 5 fraction
// digits, as a JSON number or a string; the largest, 99999999999999.99999,
// is valid wherever a decimal is, and the rules compute with it exactly.
TEST(DecimalsOfTheStandardsRange, FourteenAndFiveDigitsAreValid) {
  const std::string max = "99999999999999.99999";
  struct Case {
    const char* type;
    const char* field;  // as the fixture writes it
  };
  for (const bool as_number : {true, false}) {
    const std::string value = as_number ? max : "\"" + max + "\"";
    for (const Case& c : {Case{"CEB311", R"("taxTotal":"9.1")"},
                          Case{"CEB311", R"("totalPrice":"100")"},
                          Case{"CEB411", R"("amountPaid":"119.1")"},
                          Case{"CEB511", R"("weight":"1.2")"},
                          Case{"CEB621", R"("grossWeight":"1.2")"},
                          Case{"CEB621", R"("qty1":"0.9")"},
                          Case{"CEB621", R"("insuredFee":"0")"}}) {
      const std::string field(c.field);
      const std::string name = field.substr(0, field.find(':') + 1);
      SCOPED_TRACE(std::string(c.type) + " " + name + value);
      Decoder decoder;
      Document doc;
      const std::string record = With(ValidRecord(c.type), field, name + value);
      const DecodeOutcome out = decoder.Decode(record, &doc);
      ASSERT_TRUE(out.ok()) << out.detail();
      if (name == R"("grossWeight":)") {
        EXPECT_EQ(std::get<Ceb621List>(doc).grossWeight->ToPlain(), max);
      }
    }

    // An import order of one item at nearly the largest price (its total,
    // price x qty to the fen, must have 14 integer digits too): decided,
    // the dutiable value exact to the fen (the total plus 10 freight), over
    // the annual limit and nothing else wrong with its decimals.
    const auto quoted = [&](const std::string& v) {
      return as_number ? v : "\"" + v + "\"";
    };
    MemoryContext ctx;
    Clearance clearance{ClearanceConfig{}};
    Decoder decoder;
    for (const char* t : {"CEB311", "CEB411", "CEB511", "CEB621"}) {
      std::string record = ValidRecord(t);
      record = All(record, R"("price":"100")",
                   R"("price":)" + quoted("99999999999999.99499"));
      record = All(record, R"("totalPrice":"100")",
                   R"("totalPrice":)" + quoted("99999999999999.99"));
      Document doc;
      ASSERT_TRUE(decoder.Decode(record, &doc).ok()) << record;
      ctx.Submit(clearance, doc);
    }
    ASSERT_EQ(ctx.receipts.size(), 1u);
    const Receipt& r = ctx.receipts[0];
    EXPECT_EQ(r.returnStatus, "100") << r.returnInfo;
    std::vector<std::string> codes;
    for (const Reason& reason : r.reasons) codes.push_back(reason.code);
    EXPECT_NE(std::find(codes.begin(), codes.end(), "ANNUAL_LIMIT_EXCEEDED"),
              codes.end())
        << ReasonList::Info(r.reasons);
    EXPECT_EQ(std::find(codes.begin(), codes.end(), "FIELD_INVALID"),
              codes.end())
        << ReasonList::Info(r.reasons);
    EXPECT_NE(ReasonList::Info(r.reasons).find("100000000000009.99"),
              std::string::npos)
        << ReasonList::Info(r.reasons);
  }
}

}  // namespace
}  // namespace clearlane
