#include "model/decode.h"

#include <gtest/gtest.h>

#include "model/event_time.h"
#include "tests/fixtures.h"
#include "tests/test_util.h"

namespace clearlane {
namespace {

using ::clearlane::testing::kAllDocTypes;
using ::clearlane::testing::ValidRecord;
using ::clearlane::testing::With;

TEST(Decode, EveryDocumentTypeDecodes) {
  Decoder decoder;
  for (std::string_view type : kAllDocTypes) {
    Document doc;
    DecodeOutcome out = decoder.Decode(ValidRecord(type), &doc);
    ASSERT_TRUE(out.ok()) << type << ": " << out.detail();
    EXPECT_EQ(DocTypeName(TypeOf(doc)), type);
    EXPECT_EQ(HeadOf(doc).appType, AppType::kAdd);
  }
}

TEST(Decode, ReadsFieldsIntoTheStruct) {
  Decoder decoder;
  Document doc;
  ASSERT_TRUE(decoder.Decode(ValidRecord("CEB311"), &doc).ok());
  const auto& order = std::get<Ceb311Order>(doc);
  EXPECT_EQ(order.orderNo, "O1");
  EXPECT_EQ(order.buyerName, "张三");
  EXPECT_EQ(*order.acturalPaid, *Decimal::Parse("119.1"));
  EXPECT_EQ(order.appTime, *ParseTime14("20261111093000"));
  ASSERT_EQ(order.items.size(), 1u);
  EXPECT_EQ(order.items[0].gnum, 1);
  EXPECT_EQ(order.items[0].country, "116");
}

TEST(Decode, NumbersAndIntegersAreReadFromTheirText) {
  Decoder decoder;
  Document doc;
  std::string r =
      With(ValidRecord("CEB311"), R"("currency":"142")", R"("currency":142)");
  r = With(r, R"("acturalPaid":"119.1")", R"("acturalPaid":119.10)");
  r = With(r, R"("gnum":1)", R"("gnum":"0001")");
  r = With(r, R"("appType":"1")", R"("appType":2)");
  ASSERT_TRUE(decoder.Decode(r, &doc).ok());
  const auto& order = std::get<Ceb311Order>(doc);
  EXPECT_EQ(order.currency, "142");
  EXPECT_EQ(*order.acturalPaid, *Decimal::Parse("119.1"));
  EXPECT_EQ(order.items[0].gnum, 1);
  EXPECT_EQ(order.appType, AppType::kModify);
}

TEST(Decode, NullAndEmptyAreAbsent) {
  Decoder decoder;
  Document doc;
  std::string r = With(ValidRecord("CEB311"), R"("buyerName":"张三")",
                       R"("buyerName":null)");
  r = With(r, R"("freight":"10")", R"("freight":"")");
  r = With(r, R"("ebcName":"电商")", R"("ebcName":"")");
  ASSERT_TRUE(decoder.Decode(r, &doc).ok());
  const auto& order = std::get<Ceb311Order>(doc);
  EXPECT_TRUE(order.buyerName.empty());
  EXPECT_FALSE(order.freight.has_value());
  EXPECT_TRUE(order.ebcName.empty());
}

TEST(Decode, ItemsNullMeansNoLines) {
  Decoder decoder;
  Document doc;
  std::string r = ValidRecord("CEB311");
  r = r.substr(0, r.find(",\"items\"")) + R"(,"items":null})";
  ASSERT_TRUE(decoder.Decode(r, &doc).ok());
  EXPECT_TRUE(std::get<Ceb311Order>(doc).items.empty());
}

TEST(Decode, UnknownFieldsAreIgnored) {
  Decoder decoder;
  Document doc;
  std::string r = With(ValidRecord("CEB411"), R"({"docType")",
                       R"({"x":{"y":[1,2,{"z":null}]},"docType")");
  EXPECT_TRUE(decoder.Decode(r, &doc).ok());
}

TEST(Decode, ReusedDocumentIsReset) {
  Decoder decoder;
  Document doc;
  ASSERT_TRUE(decoder.Decode(ValidRecord("CEB311"), &doc).ok());
  std::string r = With(ValidRecord("CEB311"), R"("buyerName":"张三",)", "");
  r = With(r, R"(,"items":[)", R"(,"items":[{"gnum":2},)");
  ASSERT_TRUE(decoder.Decode(r, &doc).ok());
  const auto& order = std::get<Ceb311Order>(doc);
  EXPECT_TRUE(order.buyerName.empty());
  ASSERT_EQ(order.items.size(), 2u);
  EXPECT_TRUE(order.items[0].itemName.empty());
  EXPECT_EQ(order.items[1].itemName, "奶粉");
}

struct RejectCase {
  std::string name;
  std::string record;
  DeadLetterCode code;
  std::string detail;  // a substring the detail must contain
};

class DecodeRejects : public ::testing::TestWithParam<RejectCase> {};

TEST_P(DecodeRejects, WithTheContractCodeAndAPath) {
  Decoder decoder;
  Document doc;
  const RejectCase& c = GetParam();
  DecodeOutcome out = decoder.Decode(c.record, &doc);
  ASSERT_FALSE(out.ok()) << c.name;
  EXPECT_EQ(DeadLetterCodeName(out.code()), DeadLetterCodeName(c.code))
      << c.name << ": " << out.detail();
  EXPECT_NE(out.detail().find(c.detail), std::string::npos)
      << c.name << ": " << out.detail();
}

std::string Nested(int depth) {
  std::string open, close;
  for (int i = 1; i < depth; ++i) {
    open += "[";
    close += "]";
  }
  return R"({"docType":"CEB411","x":)" + open + "1" + close + "}";
}

std::vector<RejectCase> RejectCases() {
  const std::string order = ValidRecord("CEB311");
  const std::string list = ValidRecord("CEB621");
  using C = DeadLetterCode;
  return {
      {"too large", "{\"a\":\"" + std::string(kMaxRecordBytes, 'a') + "\"}",
       C::kTooLarge, "bytes"},
      {"not utf8", With(order, "张三", "\xff\xfe"), C::kNotUtf8, "UTF-8"},
      {"truncated", order.substr(0, 100), C::kMalformedJson, ""},
      {"array root", "[1,2]", C::kMalformedJson, ""},
      {"string root", "\"CEB311\"", C::kMalformedJson, ""},
      {"trailing text", order + " x", C::kMalformedJson, ""},
      {"two objects", order + order, C::kMalformedJson, ""},
      {"double comma",
       With(order, R"("orderType")", R"("x":[1,,2],"orderType")"),
       C::kMalformedJson, ""},
      {"leading zero number",
       With(order, R"("discount":"0")", R"("discount":01)"), C::kMalformedJson,
       ""},
      {"bare minus", With(order, R"("discount":"0")", R"("discount":-)"),
       C::kMalformedJson, ""},
      {"lone surrogate in unknown field",
       With(order, R"({"docType")", R"({"x":"\ud800","docType")"),
       C::kMalformedJson, ""},
      {"raw control character",
       With(order, R"("ebpName":"平台")", "\"ebpName\":\"a\x01b\""),
       C::kMalformedJson, ""},
      {"bad literal", With(order, R"({"docType")", R"({"x":tru,"docType")"),
       C::kMalformedJson, ""},
      {"form feed as space", order + "\f", C::kMalformedJson, ""},
      {"nested 65 deep", Nested(65), C::kMalformedJson, ""},
      {"malformed beats unknown type", R"({"docType":"X","a":[})",
       C::kMalformedJson, ""},
      {"malformed beats invalid field",
       With(With(order, R"("discount":"0")", R"("discount":"x")"), "}]}", "}]"),
       C::kMalformedJson, ""},
      {"empty object", "{}", C::kUnknownDocType, "docType"},
      {"unknown docType", R"({"docType":"CEB999","appTime":"20261111000000"})",
       C::kUnknownDocType, "CEB999"},
      {"lowercase docType", With(order, "CEB311", "ceb311"), C::kUnknownDocType,
       "ceb311"},
      {"numeric docType", With(order, R"("CEB311")", "311"), C::kUnknownDocType,
       "docType"},
      {"null docType", With(order, R"("CEB311")", "null"), C::kUnknownDocType,
       "docType"},
      {"conflicting docType",
       With(order, R"("orderType")", R"("docType":"CEB411","orderType")"),
       C::kUnknownDocType, "twice"},
      {"unknown beats invalid field", R"({"docType":"CEB000","appTime":"x"})",
       C::kUnknownDocType, ""},
      {"six fractional digits",
       With(order, R"("qty":"1")", R"("qty":"1.234567")"), C::kInvalidField,
       "items[0].qty: expected a decimal"},
      {"negative decimal", With(order, R"("freight":"10")", R"("freight":-10)"),
       C::kInvalidField, "freight"},
      {"exponent decimal", With(order, R"("freight":"10")", R"("freight":1e1)"),
       C::kInvalidField, "freight"},
      {"decimal as boolean",
       With(order, R"("freight":"10")", R"("freight":true)"), C::kInvalidField,
       "freight: expected a decimal"},
      {"code as fraction",
       With(order, R"("currency":"142")", R"("currency":142.0)"),
       C::kInvalidField, "currency: expected a string or an integer"},
      {"code as exponent",
       With(order, R"("currency":"142")", R"("currency":1e0)"),
       C::kInvalidField, "currency"},
      {"code as object", With(order, R"("currency":"142")", R"("currency":{})"),
       C::kInvalidField, "currency"},
      {"identifier as number",
       With(order, R"("orderNo":"O1")", R"("orderNo":1)"), C::kInvalidField,
       "orderNo: expected a string"},
      {"ebcCode as number",
       With(order, R"("ebcCode":"EBC1")", R"("ebcCode":7)"), C::kInvalidField,
       "ebcCode"},
      {"impossible appTime", With(order, "20261111093000", "20240230093000"),
       C::kInvalidField, "appTime"},
      {"month 13 payTime",
       With(ValidRecord("CEB411"), "20261111093055", "20261311093055"),
       C::kInvalidField, "payTime"},
      {"declTime not a date",
       With(list, R"("declTime":"20261111")", R"("declTime":"2026-11-11")"),
       C::kInvalidField, "declTime"},
      {"time as number",
       With(ValidRecord("CEB411"), R"("payTime":"20261111093055")",
            R"("payTime":20261111093055)"),
       C::kInvalidField, "payTime"},
      {"appTime absent", With(order, R"("appTime":"20261111093000",)", ""),
       C::kInvalidField, "appTime"},
      {"appTime null",
       With(order, R"("appTime":"20261111093000")", R"("appTime":null)"),
       C::kInvalidField, "appTime"},
      {"appTime empty",
       With(order, R"("appTime":"20261111093000")", R"("appTime":"")"),
       C::kInvalidField, "appTime"},
      {"appType 4", With(order, R"("appType":"1")", R"("appType":"4")"),
       C::kInvalidField, "appType: expected 1, 2 or 3"},
      {"appType absent", With(order, R"("appType":"1",)", ""), C::kInvalidField,
       "appType"},
      {"appType fraction", With(order, R"("appType":"1")", R"("appType":1.0)"),
       C::kInvalidField, "appType"},
      {"items not an array", With(order, R"("items":[)", R"("items":7,"x":[)"),
       C::kInvalidField, "items: expected an array"},
      {"item not an object", With(order, R"("items":[)", R"("items":[1,)"),
       C::kInvalidField, "items[0]: expected an object"},
      {"gnum negative", With(order, R"("gnum":1)", R"("gnum":-1)"),
       C::kInvalidField, "items[0].gnum"},
      {"gnum letters", With(order, R"("gnum":1)", R"("gnum":"1a")"),
       C::kInvalidField, "items[0].gnum"},
      {"invalid beats missing key",
       With(With(order, R"("orderNo":"O1",)", ""), R"("freight":"10")",
            R"("freight":"x")"),
       C::kInvalidField, "freight"},
      {"orderNo absent", With(order, R"("orderNo":"O1",)", ""), C::kMissingKey,
       "orderNo"},
      {"ebpCode empty", With(order, R"("ebpCode":"EBP1")", R"("ebpCode":"")"),
       C::kMissingKey, "ebpCode"},
      {"list orderNo null",
       With(list, R"("orderNo":"O1")", R"("orderNo":null)"), C::kMissingKey,
       "orderNo"},
      {"waybill logisticsNo absent",
       With(ValidRecord("CEB511"), R"("logisticsNo":"L1",)", ""),
       C::kMissingKey, "logisticsNo"},
      {"export waybill logisticsCode empty",
       With(ValidRecord("CEB505"), R"("logisticsCode":"LOG2")",
            R"("logisticsCode":"")"),
       C::kMissingKey, "logisticsCode"},
      {"arrival line without logisticsNo",
       With(ValidRecord("CEB507"), R"("logisticsNo":"EL2")", R"("note":"x")"),
       C::kMissingKey, "items[1].logisticsNo"},
      {"departure without lines",
       With(ValidRecord("CEB509"), R"([{"gnum":1,"logisticsNo":"EL1"}])", "[]"),
       C::kMissingKey, "items"},
      {"cancel without orderNo",
       With(ValidRecord("CEB623"), R"("orderNo":"O1",)", ""), C::kMissingKey,
       "orderNo"},
  };
}

INSTANTIATE_TEST_SUITE_P(DeadLetters, DecodeRejects,
                         ::testing::ValuesIn(RejectCases()),
                         [](const ::testing::TestParamInfo<RejectCase>& info) {
                           std::string name;
                           for (char c : info.param.name)
                             name += isalnum(c) ? c : '_';
                           return name;
                         });

TEST(Decode, RelocatedDocumentOutlivesTheNextDecode) {
  Decoder decoder;
  Document first, second;
  std::string storage;
  ASSERT_TRUE(decoder.Decode(ValidRecord("CEB311"), &first).ok());
  RelocateDocument(&first, &storage);
  ASSERT_TRUE(decoder.Decode(ValidRecord("CEB603"), &second).ok());
  const auto& order = std::get<Ceb311Order>(first);
  EXPECT_EQ(order.buyerName, "张三");
  EXPECT_EQ(order.items[0].gmodel, "900g");
  EXPECT_EQ(order.guid, "4CDE1CFD-EDED-46B1-946C-B8022E42FC94");
  EXPECT_GE(order.buyerName.data(), storage.data());
  EXPECT_LT(order.buyerName.data(), storage.data() + storage.size());
}

TEST(Decode, SixtyFourLevelsAreAllowed) {
  Decoder decoder;
  Document doc;
  DecodeOutcome out = decoder.Decode(Nested(64), &doc);
  // Well-formed: it fails later, for lack of appTime, not as malformed.
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.code(), DeadLetterCode::kInvalidField);
}

TEST(Decode, EscapedSurrogatePairIsAccepted) {
  Decoder decoder;
  Document doc;
  std::string r = With(ValidRecord("CEB311"), R"("ebpName":"平台")",
                       R"("ebpName":"\ud83d\ude00 \u5e73")");
  ASSERT_TRUE(decoder.Decode(r, &doc).ok());
  EXPECT_EQ(std::get<Ceb311Order>(doc).ebpName, "\xF0\x9F\x98\x80 平");
}

TEST(Decode, DetailsNeverEchoPersonalData) {
  Decoder decoder;
  Document doc;
  std::string r =
      With(ValidRecord("CEB311"), R"("buyerIdNumber":"11010519491231002X")",
           R"("buyerIdNumber":110105194912310021)");
  DecodeOutcome out = decoder.Decode(r, &doc);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.code(), DeadLetterCode::kInvalidField);
  EXPECT_NE(out.detail().find("buyerIdNumber"), std::string::npos);
  EXPECT_EQ(out.detail().find("1101051949"), std::string::npos);
}

TEST(Decode, OverLongRecordPassedAsPrefixIsTooLarge) {
  Decoder decoder;
  Document doc;
  DecodeOutcome out =
      decoder.Decode(ValidRecord("CEB311"), kMaxRecordBytes + 1, &doc);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.code(), DeadLetterCode::kTooLarge);
}

TEST(Decode, ExactlyTheLimitIsNotTooLarge) {
  Decoder decoder;
  Document doc;
  std::string r = ValidRecord("CEB411");
  r.insert(1, R"("pad":")" + std::string(kMaxRecordBytes - r.size() - 9, 'a') +
                  "\",");
  ASSERT_EQ(r.size(), kMaxRecordBytes);
  EXPECT_TRUE(decoder.Decode(r, &doc).ok());
}

}  // namespace
}  // namespace clearlane
