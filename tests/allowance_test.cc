// Stage B on its own (operators/allowance.h): the answers a buyer's task
// gives, and the exchange's records as they would cross a repartition
// topic, including bytes that are not one.

#include "operators/allowance.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "operators/waybill_index.h"
#include "tests/memory_context.h"

namespace clearlane {
namespace {

using ::clearlane::testing::MemoryContext;

AllowanceRequest Request(std::string_view value, std::string buyer = "#B1") {
  AllowanceRequest q;
  q.list = {DocType::kCeb621, "EBP1", "O1"};
  q.buyer = std::move(buyer);
  q.name_hash = "#张三";
  q.year = 2026;
  q.value = *Decimal::Parse(value);
  return q;
}

std::vector<ReasonCode> Codes(const AllowanceAnswer& a) {
  std::vector<ReasonCode> out;
  for (const auto& [code, detail] : a.reasons.entries()) out.push_back(code);
  return out;
}

TEST(AnswerAllowance, CountsUpToTheYearlyLimitAndNotPastIt) {
  // 财关税〔2018〕49号: 26,000.00 a calendar year, the limit included.
  MemoryContext ctx;
  ctx.totals[{"#B1", 2026}] = Decimal::FromInteger(25000);
  AllowanceAnswer a = AnswerAllowance(Request("1000"), ctx);
  EXPECT_TRUE(a.released);
  EXPECT_TRUE(a.reasons.empty());
  EXPECT_EQ(a.total.ToFixed2(), "26000.00");
  EXPECT_EQ(a.list, (ListKey{DocType::kCeb621, "EBP1", "O1"}));
  EXPECT_EQ((ctx.totals[{"#B1", 2026}].ToFixed2()), "26000.00");

  a = AnswerAllowance(Request("0.01"), ctx);
  EXPECT_FALSE(a.released);
  EXPECT_EQ(Codes(a),
            std::vector<ReasonCode>{ReasonCode::kAnnualLimitExceeded});
  EXPECT_EQ(a.reasons.entries()[0].second,
            "the buyer's 2026 total would be 26000.01, over 26000.00");
  EXPECT_EQ(a.total.ToFixed2(), "26000.00");
  EXPECT_EQ((ctx.totals[{"#B1", 2026}].ToFixed2()), "26000.00");
  // Another year, another buyer: their own totals.
  AllowanceRequest next_year = Request("0.01");
  next_year.year = 2027;
  EXPECT_TRUE(AnswerAllowance(next_year, ctx).released);
  EXPECT_TRUE(AnswerAllowance(Request("0.01", "#B2"), ctx).released);
}

TEST(AnswerAllowance, ARequestThatMayNotReleaseCountsNothing) {
  MemoryContext ctx;
  AllowanceRequest q = Request("6000");
  q.may_release = false;
  const AllowanceAnswer a = AnswerAllowance(q, ctx);
  EXPECT_FALSE(a.released);
  EXPECT_TRUE(a.reasons.empty());
  EXPECT_EQ(a.total.ToFixed2(), "0.00");
  EXPECT_EQ((ctx.totals[{"#B1", 2026}].ToFixed2()), "0.00");
}

TEST(AnswerAllowance, TheRegistryIsCheckedWhenThereIsOne) {
  MemoryContext ctx;
  ctx.registry["#B1"] = "#张三";
  EXPECT_TRUE(AnswerAllowance(Request("10"), ctx).released);
  EXPECT_EQ(Codes(AnswerAllowance(Request("10", "#B9"), ctx)),
            std::vector<ReasonCode>{ReasonCode::kIdUnknown});
  AllowanceRequest other_name = Request("10");
  other_name.name_hash = "#李四";
  const AllowanceAnswer a = AnswerAllowance(other_name, ctx);
  EXPECT_FALSE(a.released);
  EXPECT_EQ(Codes(a), std::vector<ReasonCode>{ReasonCode::kIdNameMismatch});
  EXPECT_EQ((ctx.totals[{"#B1", 2026}].ToFixed2()), "10.00");
}

TEST(ApplyGiveBack, TakesTheAmountOutOfTheBuyersYear) {
  MemoryContext ctx;
  ASSERT_TRUE(AnswerAllowance(Request("300.50"), ctx).released);
  ApplyGiveBack({"#B1", 2026, *Decimal::Parse("100.25")}, ctx);
  EXPECT_EQ((ctx.totals[{"#B1", 2026}].ToFixed2()), "200.25");
}

AllowanceAnswer SampleAnswer() {
  AllowanceAnswer a;
  a.list = {DocType::kCeb621, "EBP1", "订单-7"};
  a.released = false;
  a.total = *Decimal::Parse("25999.99");
  a.reasons.Add(ReasonCode::kIdNameMismatch, "CEB621 buyerName differs");
  a.reasons.Add(ReasonCode::kAnnualLimitExceeded, "would be 26000.99");
  return a;
}

TEST(ExchangeRecords, EachRoundTrips) {
  AllowanceRequest q = Request("4999.99");
  q.may_release = false;
  auto q2 = DecodeAllowanceRequest(EncodeAllowanceRequest(q));
  ASSERT_TRUE(q2.ok()) << q2.status();
  EXPECT_EQ(*q2, q);

  const AllowanceAnswer a = SampleAnswer();
  auto a2 = DecodeAllowanceAnswer(EncodeAllowanceAnswer(a));
  ASSERT_TRUE(a2.ok()) << a2.status();
  EXPECT_EQ(*a2, a);

  const GiveBack g{"#B1", 2026, *Decimal::Parse("0.01")};
  auto g2 = DecodeGiveBack(EncodeGiveBack(g));
  ASSERT_TRUE(g2.ok()) << g2.status();
  EXPECT_EQ(*g2, g);

  for (const bool deleted : {false, true}) {
    const WaybillFact f{"LOG1", "L1", 1'793'000'000, deleted, "O1"};
    auto f2 = DecodeWaybillFact(EncodeWaybillFact(f));
    ASSERT_TRUE(f2.ok()) << f2.status();
    EXPECT_EQ(*f2, f);
  }
  const LetGo go{"LOG1", "L1", "O1", 1'793'000'000};
  auto go2 = DecodeLetGo(EncodeLetGo(go));
  ASSERT_TRUE(go2.ok()) << go2.status();
  EXPECT_EQ(*go2, go);
}

// The waybill index's records share the exchange's topics with stage B's.
TEST(ExchangeRecords, WaybillFactsAndLetGosAreToldApartFromStageBs) {
  const std::string fact = EncodeWaybillFact({"LOG1", "L1", 1, false, "O1"});
  const std::string go = EncodeLetGo({"LOG1", "L1", "O1", 1});
  for (const std::string& b :
       {EncodeAllowanceRequest(Request("1")),
        EncodeAllowanceAnswer(SampleAnswer()),
        EncodeGiveBack({"#B1", 2026, Decimal::FromInteger(1)})}) {
    EXPECT_FALSE(IsWaybillFact(b));
    EXPECT_FALSE(IsLetGo(b));
  }
  EXPECT_TRUE(IsWaybillFact(fact));
  EXPECT_FALSE(IsLetGo(fact));
  EXPECT_TRUE(IsLetGo(go));
  EXPECT_FALSE(IsWaybillFact(go));
  EXPECT_FALSE(IsGiveBack(fact) || IsGiveBack(go));
  EXPECT_FALSE(DecodeAllowanceRequest(fact).ok());
  EXPECT_FALSE(DecodeAllowanceAnswer(go).ok());
  EXPECT_FALSE(DecodeLetGo(fact).ok());
  EXPECT_FALSE(DecodeWaybillFact(go).ok());
}

// Every prefix of a record, and the record with a byte more, is refused.
template <typename Decode>
void ExpectOnlyTheWholeRecordDecodes(const std::string& record, Decode decode) {
  EXPECT_TRUE(decode(record).ok());
  for (size_t n = 0; n < record.size(); ++n) {
    EXPECT_FALSE(decode(record.substr(0, n)).ok()) << "prefix of " << n;
  }
  EXPECT_FALSE(decode(record + "x").ok());
  std::string other_version = record;
  other_version[0] = static_cast<char>(other_version[0] + 1);
  EXPECT_FALSE(decode(other_version).ok());
}

TEST(ExchangeRecords, RequestsAndGiveBacksShareATopicAndAreToldApart) {
  const std::string q = EncodeAllowanceRequest(Request("1"));
  const std::string g = EncodeGiveBack({"#B1", 2026, Decimal::FromInteger(1)});
  EXPECT_FALSE(IsGiveBack(q));
  EXPECT_TRUE(IsGiveBack(g));
  EXPECT_FALSE(IsGiveBack(""));
  EXPECT_FALSE(DecodeAllowanceRequest(g).ok());
  EXPECT_FALSE(DecodeGiveBack(q).ok());
  EXPECT_FALSE(DecodeAllowanceAnswer(q).ok());
}

TEST(ExchangeRecords, ACutOrLongerRecordIsRefused) {
  ExpectOnlyTheWholeRecordDecodes(
      EncodeAllowanceRequest(Request("1")),
      [](std::string_view b) { return DecodeAllowanceRequest(b).status(); });
  ExpectOnlyTheWholeRecordDecodes(
      EncodeAllowanceAnswer(SampleAnswer()),
      [](std::string_view b) { return DecodeAllowanceAnswer(b).status(); });
  ExpectOnlyTheWholeRecordDecodes(
      EncodeGiveBack({"#B1", 2026, Decimal::FromInteger(5)}),
      [](std::string_view b) { return DecodeGiveBack(b).status(); });
  ExpectOnlyTheWholeRecordDecodes(
      EncodeWaybillFact({"LOG1", "L1", 1'793'000'000, true, "O1"}),
      [](std::string_view b) { return DecodeWaybillFact(b).status(); });
  ExpectOnlyTheWholeRecordDecodes(
      EncodeLetGo({"LOG1", "L1", "O1", 1'793'000'000}),
      [](std::string_view b) { return DecodeLetGo(b).status(); });
  // A fact's deleted flag is 0 or 1: its byte comes before the orderNo.
  std::string fact = EncodeWaybillFact({"LOG1", "L1", 1, true, "O1"});
  fact[fact.size() - 4] = 2;
  EXPECT_FALSE(DecodeWaybillFact(fact).ok());
}

TEST(ExchangeRecords, FieldsOutOfTheirRangeAreRefused) {
  // The request: version, list type, ebpCode, orderNo, ...
  std::string q = EncodeAllowanceRequest(Request("1"));
  q[1] = static_cast<char>(kDocTypeCount);  // no such document type
  EXPECT_EQ(DecodeAllowanceRequest(q).status().code(),
            absl::StatusCode::kDataLoss);
  q = EncodeAllowanceRequest(Request("1"));
  q.back() = 2;  // may_release is 0 or 1
  EXPECT_FALSE(DecodeAllowanceRequest(q).ok());
  AllowanceRequest far = Request("1");
  far.year = 10000;
  EXPECT_FALSE(DecodeAllowanceRequest(EncodeAllowanceRequest(far)).ok());

  AllowanceAnswer bad = SampleAnswer();
  std::string a = EncodeAllowanceAnswer(bad);
  const std::string code(1, static_cast<char>(ReasonCode::kIdNameMismatch));
  const size_t at = a.find(code + static_cast<char>(24));  // code, length
  ASSERT_NE(at, std::string::npos);
  a[at] = static_cast<char>(kReasonCodeCount);  // no such reason
  EXPECT_FALSE(DecodeAllowanceAnswer(a).ok());
}

TEST(ExchangeRecords, NoBytesCrashTheDecoders) {
  // Random bytes and every one-byte change of valid records: the decoders
  // answer, whatever they get (ASan and UBSan run this too).
  std::mt19937 gen(7);
  std::uniform_int_distribution<int> byte(0, 255), len(0, 64);
  int decoded = 0;
  auto all = [&](std::string_view b) {
    decoded += DecodeAllowanceRequest(b).ok() + DecodeAllowanceAnswer(b).ok() +
               DecodeGiveBack(b).ok() + DecodeWaybillFact(b).ok() +
               DecodeLetGo(b).ok();
  };
  for (int i = 0; i < 20000; ++i) {
    std::string b(len(gen), '\0');
    for (char& c : b) c = static_cast<char>(byte(gen));
    all(b);
  }
  for (const std::string& valid :
       {EncodeAllowanceRequest(Request("123.45")),
        EncodeAllowanceAnswer(SampleAnswer()),
        EncodeGiveBack({"#B1", 2026, Decimal::FromInteger(5)}),
        EncodeWaybillFact({"LOG1", "L1", 1'793'000'000, false, "O1"}),
        EncodeLetGo({"LOG1", "L1", "O1", 1'793'000'000})}) {
    for (size_t i = 0; i < valid.size(); ++i) {
      for (int v : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
        std::string b = valid;
        b[i] = static_cast<char>(v);
        all(b);
      }
    }
  }
  // Some changes (a digit of a string, a value) still decode: the point
  // is that nothing crashed, and the run reached here.
  EXPECT_GT(decoded, 0);
}

}  // namespace
}  // namespace clearlane
