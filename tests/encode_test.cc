#include "model/encode.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "model/event_time.h"
#include "model/personal_data.h"

namespace clearlane {
namespace {

TEST(EncodeReceipt, OmitsFieldsThatDoNotApply) {
  Receipt r;
  r.docType = "CEB622";
  r.guid = DeriveGuid("x");
  r.orderNo = "O1";
  r.ebpCode = "EBP1";
  r.returnStatus = "100";
  r.returnTime = *ParseTime14("20261111093000");
  r.returnInfo = "ORDER_MISSING";
  r.reasons.push_back({"ORDER_MISSING", "no CEB311 by the timeout"});
  std::string out;
  EncodeReceipt(r, &out);
  EXPECT_EQ(out,
            "{\"docType\":\"CEB622\",\"guid\":\"" + r.guid +
                "\",\"orderNo\":\"O1\",\"ebpCode\":\"EBP1\",\"returnStatus\":"
                "\"100\",\"returnTime\":\"20261111093000000\",\"returnInfo\":"
                "\"ORDER_MISSING\",\"reasons\":[{\"code\":\"ORDER_MISSING\","
                "\"detail\":\"no CEB311 by the timeout\"}]}");
}

TEST(EncodeReceipt, ReleaseCarriesTaxWithTwoDecimals) {
  Receipt r;
  r.docType = "CEB622";
  r.returnStatus = "800";
  r.returnTime = *ParseTime14("20261111093000");
  r.tax =
      TaxAmounts{*Decimal::Parse("110"), Decimal(), *Decimal::Parse("10.01"),
                 Decimal(), *Decimal::Parse("10.01")};
  r.annualTotal = *Decimal::Parse("110");
  std::string out;
  EncodeReceipt(r, &out);
  EXPECT_NE(out.find("\"reasons\":[],\"tax\":{\"dutiableValue\":\"110.00\","
                     "\"customsTax\":\"0.00\",\"valueAddedTax\":\"10.01\","
                     "\"consumptionTax\":\"0.00\",\"taxTotal\":\"10.01\"},"
                     "\"annualTotal\":\"110.00\"}"),
            std::string::npos)
      << out;
}

TEST(DeriveGuid, IsDeterministicUppercase36) {
  const std::string g = DeriveGuid("CEB621|EBP1|O1|800");
  EXPECT_EQ(g, DeriveGuid("CEB621|EBP1|O1|800"));
  EXPECT_NE(g, DeriveGuid("CEB621|EBP1|O1|100"));
  ASSERT_EQ(g.size(), 36u);
  for (size_t i = 0; i < g.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      EXPECT_EQ(g[i], '-');
    } else {
      EXPECT_TRUE(isdigit(g[i]) || (g[i] >= 'A' && g[i] <= 'F')) << g;
    }
  }
}

TEST(EncodeSummaryForm, WritesIntegersAndPlainDecimals) {
  SummaryForm f;
  f.period = absl::CivilMonth(2026, 11);
  f.ebcCode = "EBC2";
  f.trafMode = "5";
  f.ownerCode = "OWN2";
  f.country = "502";
  f.portCode = "5100";
  f.form = 1;
  f.forms = 2;
  f.listCount = 1;
  f.grossWeight = *Decimal::Parse("7.50");
  f.netWeight = *Decimal::Parse("300");
  f.lists.push_back({"E1", "EL1", "", "C2"});
  f.items.push_back({1, "3926909090", "502", "142", "035",
                     *Decimal::Parse("0.4"), *Decimal::Parse("200"), 1});
  std::string out;
  EncodeSummaryForm(f, &out);
  EXPECT_EQ(
      out,
      R"({"docType":"SUMMARY","period":"202611","ebcCode":"EBC2","trafMode":"5","ownerCode":"OWN2","country":"502","portCode":"5100","form":1,"forms":2,"supplement":0,"listCount":1,"grossWeight":"7.5","netWeight":"300","lists":[{"orderNo":"E1","logisticsNo":"EL1","copNo":"C2"}],"items":[{"gseqno":1,"gcode":"3926909090","country":"502","currency":"142","unit1":"035","qty1":"0.4","totalPrice":"200","listCount":1}]})");
  f.has_owner_code = false;
  out.clear();
  EncodeSummaryForm(f, &out);
  EXPECT_EQ(out.find("ownerCode"), std::string::npos);
}

TEST(EncodeDeadLetter, RepairsAndCutsRaw) {
  DeadLetter d;
  d.source = FileSource{"day.ndjson", 17};
  d.reason = DeadLetterCode::kNotUtf8;
  d.detail = "record is not valid UTF-8";
  d.raw = std::string("{\"a\":\"\xff\"}\x01") + std::string(5000, 'x');
  std::string out;
  EncodeDeadLetter(d, &out);
  EXPECT_TRUE(out.starts_with(
      "{\"source\":{\"file\":\"day.ndjson\",\"line\":17},\"reason\":"
      "\"NOT_UTF8\",\"detail\":\"record is not valid UTF-8\",\"raw\":"
      "\"{\\\"a\\\":\\\"\xEF\xBF\xBD\\\"}\\u0001xxx"))
      << out.substr(0, 150);
  // 4096 bytes of raw: 12 bytes with U+FFFD's 3, then 4084 of the x.
  EXPECT_EQ(std::count(out.begin(), out.end(), 'x'), 4084);
  EXPECT_EQ(out.substr(out.size() - 3), "x\"}");
}

TEST(EncodeDeadLetter, KafkaSource) {
  DeadLetter d;
  d.source = TopicSource{"orders", 3, 42};
  d.reason = DeadLetterCode::kMalformedJson;
  std::string out;
  EncodeDeadLetter(d, &out);
  EXPECT_EQ(out.substr(0, 54),
            R"({"source":{"topic":"orders","partition":3,"offset":42})");
}

TEST(MaskPersonalData, MasksEveryPersonalMemberAndKeepsTheRest) {
  const std::string raw =
      R"({"docType":"CEB311","orderNo":"O-1","buyerName":"张三",)"
      R"("buyerIdNumber":"110101199003077777","buyerTelephone":"13800000000",)"
      R"("buyerRegNo":"u-42","consignee":"李四","consigneeTelephone":"139",)"
      R"("consigneeAddress":"北京市 \"东城\" 1号","payerName":"王五",)"
      R"("payerIdNumber":"X","telephone":"021","items":[{"gname":"tea"}]})";
  EXPECT_EQ(
      MaskPersonalData(raw),
      R"({"docType":"CEB311","orderNo":"O-1","buyerName":"***",)"
      R"("buyerIdNumber":"***","buyerTelephone":"***",)"
      R"("buyerRegNo":"***","consignee":"***","consigneeTelephone":"***",)"
      R"("consigneeAddress":"***","payerName":"***",)"
      R"("payerIdNumber":"***","telephone":"***","items":[{"gname":"tea"}]})");
}

TEST(MaskPersonalData, LeavesADocumentWithoutPersonalDataByteForByte) {
  const std::string raw =
      "{ \"docType\" : \"CEB511\",\n\t\"logisticsNo\":\"L1\", \"note\": "
      "\"buyerName\", \"x\":[1, {\"y\": null}] }";
  EXPECT_EQ(MaskPersonalData(raw), raw);
}

TEST(MaskPersonalData, MasksValuesOfAnyShapeAndKeepsTheSpacing) {
  EXPECT_EQ(MaskPersonalData(R"({"buyerIdNumber" :  110101199003077777 })"),
            R"({"buyerIdNumber" :  "***" })");
  EXPECT_EQ(MaskPersonalData(R"({"consignee":{"first":"A","last":"B"},"a":1})"),
            R"({"consignee":"***","a":1})");
  EXPECT_EQ(MaskPersonalData(R"({"payerName":["A",["B}"]],"a":1})"),
            R"({"payerName":"***","a":1})");
  EXPECT_EQ(MaskPersonalData(R"({"telephone":null})"),
            R"({"telephone":"***"})");
  // Nested at any depth.
  EXPECT_EQ(MaskPersonalData(R"({"a":{"b":[{"buyerName":"C"}]}})"),
            R"({"a":{"b":[{"buyerName":"***"}]}})");
}

TEST(MaskPersonalData, NamesAreReadWithTheirEscapesDecoded) {
  // simdjson reads "buyer\u004eame" as buyerName: so does the mask.
  EXPECT_EQ(MaskPersonalData(R"({"buyer\u004eame":"张三"})"),
            R"({"buyer\u004eame":"***"})");
  EXPECT_EQ(MaskPersonalData(R"({"consignee\/":"x"})"),
            R"({"consignee\/":"x"})");
  // An escaped quote inside a value does not end it.
  EXPECT_EQ(MaskPersonalData(R"({"buyerName":"a\"b","c":"d"})"),
            R"({"buyerName":"***","c":"d"})");
}

TEST(MaskPersonalData, RecordsThatDoNotParseLoseOnlyTheirPersonalValues) {
  // Cut off inside the value: masked to the end.
  EXPECT_EQ(MaskPersonalData(R"({"orderNo":"O1","buyerName":"张)"),
            R"({"orderNo":"O1","buyerName":"***")");
  EXPECT_EQ(MaskPersonalData(R"({"consignee":{"a":"b")"),
            R"({"consignee":"***")");
  // Missing quotes and commas.
  EXPECT_EQ(MaskPersonalData(R"({"buyerName":Zhang San, "orderNo":O1})"),
            R"({"buyerName":"***" San, "orderNo":O1})");
  EXPECT_EQ(MaskPersonalData(R"({"buyerName":"A" "payerName":"B"})"),
            R"({"buyerName":"***" "payerName":"***"})");
  // A name with no value, or no colon, masks nothing and loses nothing.
  EXPECT_EQ(MaskPersonalData(R"({"buyerName":)"), R"({"buyerName":)");
  EXPECT_EQ(MaskPersonalData(R"({"buyerName")"), R"({"buyerName")");
  EXPECT_EQ(MaskPersonalData("\"buyerName\":\"\xff\xfe\""),
            "\"buyerName\":\"***\"");
  EXPECT_EQ(MaskPersonalData(""), "");
  EXPECT_EQ(MaskPersonalData("\""), "\"");
  EXPECT_EQ(MaskPersonalData(R"("buyer\u004)"), R"("buyer\u004)");
}

TEST(EncodeDeadLetter, MasksTheRawRecordWhenAsked) {
  DeadLetter d;
  d.source = FileSource{"day.ndjson", 3};
  d.reason = DeadLetterCode::kInvalidField;
  d.detail = "buyerIdNumber: expected a string, got a number";
  d.raw = R"({"docType":"CEB311","buyerIdNumber":110101199003077777})";
  std::string kept, masked;
  EncodeDeadLetter(d, &kept);
  EncodeDeadLetter(d, &masked, /*mask_personal_data=*/true);
  EXPECT_NE(kept.find("110101199003077777"), std::string::npos);
  EXPECT_EQ(masked.find("110101199003077777"), std::string::npos);
  EXPECT_NE(masked.find(R"(\"buyerIdNumber\":\"***\")"), std::string::npos)
      << masked;
  EXPECT_NE(masked.find(d.detail), std::string::npos);
}

}  // namespace
}  // namespace clearlane
