#include <gtest/gtest.h>

#include "model/decode.h"
#include "tests/fixtures.h"

namespace clearlane {
namespace {

using ::clearlane::testing::kAllDocTypes;
using ::clearlane::testing::ValidRecord;

std::vector<std::string> Missing(const std::string& record) {
  Decoder decoder;
  Document doc;
  DecodeOutcome out = decoder.Decode(record, &doc);
  EXPECT_TRUE(out.ok()) << out.detail();
  return MissingRequiredFields(doc);
}

TEST(RequiredFields, FixturesHaveEveryAppendixAField) {
  for (std::string_view type : kAllDocTypes) {
    EXPECT_TRUE(Missing(ValidRecord(type)).empty()) << type;
  }
}

// Removes `"field":value` (a string value) from a fixture.
std::string Without(std::string record, const std::string& field) {
  const size_t at = record.find("\"" + field + "\":\"");
  EXPECT_NE(at, std::string::npos) << field;
  const size_t end = record.find('"', at + field.size() + 4);
  record.replace(at, end + 1 - at, "\"unused\":0");
  return record;
}

struct MissingCase {
  const char* doc_type;
  const char* field;
  const char* path;
};

class RequiredField : public ::testing::TestWithParam<MissingCase> {};

TEST_P(RequiredField, IsReportedByPath) {
  const MissingCase& c = GetParam();
  EXPECT_EQ(Missing(Without(ValidRecord(c.doc_type), c.field)),
            std::vector<std::string>{c.path});
}

INSTANTIATE_TEST_SUITE_P(
    AppendixA, RequiredField,
    ::testing::Values(
        MissingCase{"CEB311", "buyerName", "buyerName"},
        MissingCase{"CEB311", "consigneeAddress", "consigneeAddress"},
        MissingCase{"CEB311", "gmodel", "items[0].gmodel"},
        MissingCase{"CEB411", "payTransactionId", "payTransactionId"},
        MissingCase{"CEB511", "consignee", "consignee"},
        MissingCase{"CEB621", "assureCode", "assureCode"},
        MissingCase{"CEB621", "emsNo", "emsNo"},  // 1210
        MissingCase{"CEB621", "itemRecordNo", "items[0].itemRecordNo"},
        MissingCase{"CEB303", "itemNo", "items[0].itemNo"},
        MissingCase{"CEB403", "payName", "payName"},
        MissingCase{"CEB505", "goodsInfo", "goodsInfo"},
        MissingCase{"CEB603", "POD", "POD"},
        MissingCase{"CEB603", "barCode", "items[0].barCode"}));

TEST(RequiredFields, TradeModeSelectsTheListExtras) {
  // A 9610 import list needs trafNo, voyageNo and billNo, not the bonded
  // fields.
  std::string r = ValidRecord("CEB621");
  r.replace(r.find("\"1210\""), 6, "\"9610\"");
  EXPECT_EQ(Missing(r),
            (std::vector<std::string>{"trafNo", "voyageNo", "billNo"}));
}

TEST(RequiredFields, ExportBondedListNeedsIacFields) {
  std::string r = ValidRecord("CEB603");
  r.replace(r.find("\"9610\""), 6, "\"1210\"");
  EXPECT_EQ(Missing(r), (std::vector<std::string>{"iacCode", "iacName",
                                                  "items[0].itemRecordNo"}));
}

TEST(RequiredFields, AListWithoutLinesLacksItems) {
  std::string r = ValidRecord("CEB621");
  r = r.substr(0, r.find(",\"items\"")) + "}";
  EXPECT_EQ(Missing(r), std::vector<std::string>{"items"});
}

TEST(RequiredFields, NullCountsAsAbsent) {
  std::string r = ValidRecord("CEB311");
  r.replace(r.find(R"("buyerTelephone":"13800000000")"), 30,
            R"("buyerTelephone":null)");
  EXPECT_EQ(Missing(r), std::vector<std::string>{"buyerTelephone"});
}

}  // namespace
}  // namespace clearlane
