// Receipts as official CEB receipt messages (contract §11): the preNo rule,
// returnInfo's cut, and each message's elements in its schema's order.
// Validation of whole days against the official XSD is in
// xml_replay_test.cc.

#include "model/receipt_xml.h"

#include <gtest/gtest.h>

#include <regex>

#include "absl/strings/str_format.h"
#include "model/event_time.h"
#include "model/xml_message.h"

namespace clearlane {
namespace {

Receipt ImportList() {
  Receipt r;
  r.docType = "CEB622";
  r.guid = "7A091BFC-EE8E-648A-B75F-D7240A05DBE8";
  r.orderNo = "O1";
  r.ebpCode = "EBP1";
  r.ebcCode = "EBC1";
  r.agentCode = "AG1";
  r.customsCode = "2244";
  r.copNo = "C1";
  r.returnStatus = "800";
  r.returnTime = absl::CivilSecond(2026, 11, 11, 0, 14, 45);
  r.returnInfo = "released";
  return r;
}

// The element names of `xml` in document order (start tags only).
std::vector<std::string> Elements(const std::string& xml) {
  static const std::regex tag(R"(<([A-Za-z0-9:]+)[ >])");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(xml.begin(), xml.end(), tag);
       it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1].str());
  }
  return out;
}

TEST(AssignedPreNo, IsTheFlowLetterTheFirstDecisionsDateAndNineDigits) {
  const std::string b =
      AssignedPreNo(false, absl::CivilDay(2026, 11, 11), "EBP1", "O1");
  EXPECT_TRUE(std::regex_match(b, std::regex("B20261111[0-9]{9}"))) << b;
  const std::string p =
      AssignedPreNo(true, absl::CivilDay(2026, 12, 1), "EBP1", "O1");
  EXPECT_TRUE(std::regex_match(p, std::regex("P20261201[0-9]{9}"))) << p;
  // The digits depend on the list's identity only.
  EXPECT_EQ(b.substr(9), p.substr(9));
  EXPECT_NE(b,
            AssignedPreNo(false, absl::CivilDay(2026, 11, 11), "EBP1", "O2"));
  EXPECT_NE(b,
            AssignedPreNo(false, absl::CivilDay(2026, 11, 11), "EBP2", "O1"));
}

TEST(EncodeReceiptXml, ImportListInTheSchemasOrderWithAnAssignedPreNo) {
  std::string xml;
  EncodeReceiptXml(ImportList(), &xml);
  EXPECT_EQ(xml.find('\n'), std::string::npos) << "one message, one line";
  EXPECT_TRUE(xml.starts_with(
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
      "<CEB622Message guid=\""));
  EXPECT_NE(xml.find("xmlns=\"http://www.chinaport.gov.cn/ceb\""),
            std::string::npos);
  EXPECT_EQ(Elements(xml),
            (std::vector<std::string>{
                "CEB622Message", "InventoryReturn", "guid", "customsCode",
                "ebpCode", "ebcCode", "agentCode", "copNo", "preNo",
                "returnStatus", "returnTime", "returnInfo"}));
  EXPECT_NE(xml.find("<preNo>B20261111"), std::string::npos);
  EXPECT_NE(xml.find("<returnTime>20261111001445000</returnTime>"),
            std::string::npos);
  // The list's own preNo and invtNo are echoed.
  Receipt r = ImportList();
  r.preNo = "B20260101000000001";
  r.invtNo = "I20260101000000001";
  xml.clear();
  EncodeReceiptXml(r, &xml);
  EXPECT_NE(xml.find("<preNo>B20260101000000001</preNo><invtNo>"
                     "I20260101000000001</invtNo>"),
            std::string::npos);
}

TEST(EncodeReceiptXml, CancelPutsTheAgentFirstAndKeepsTheListsPreNoDate) {
  Receipt r = ImportList();
  r.docType = "CEB624";
  r.returnStatus = "399";
  r.customsCode.clear();
  r.copNo.clear();
  r.returnTime = absl::CivilSecond(2026, 11, 20, 8, 0, 0);
  r.first_decided = absl::CivilSecond(2026, 11, 11, 0, 14, 45);
  std::string xml;
  EncodeReceiptXml(r, &xml);
  EXPECT_EQ(Elements(xml),
            (std::vector<std::string>{"CEB624Message", "InvtCancelReturn",
                                      "guid", "agentCode", "ebpCode", "ebcCode",
                                      "copNo", "preNo", "returnStatus",
                                      "returnTime", "returnInfo"}));
  // copNo, required, takes the orderNo; the preNo is the release's.
  EXPECT_NE(xml.find("<copNo>O1</copNo>"), std::string::npos);
  std::string release;
  EncodeReceiptXml(ImportList(), &release);
  const auto pre = [](const std::string& x) {
    const size_t at = x.find("<preNo>");
    return x.substr(at, 25);
  };
  EXPECT_EQ(pre(xml), pre(release));
}

TEST(EncodeReceiptXml, ExportListHasEveryRequiredElement) {
  Receipt r = ImportList();
  r.docType = "CEB604";
  r.agentCode.clear();
  r.statisticsFlag = "B";
  std::string xml;
  EncodeReceiptXml(r, &xml);
  EXPECT_EQ(
      Elements(xml),
      (std::vector<std::string>{
          "ceb:CEB604Message", "ceb:InventoryReturn", "ceb:guid",
          "ceb:agentCode", "ceb:copNo", "ceb:preNo", "ceb:invtNo",
          "ceb:ebcCode", "ceb:ebpCode", "ceb:orderNo", "ceb:statisticsFlag",
          "ceb:returnStatus", "ceb:returnTime", "ceb:returnInfo"}));
  EXPECT_NE(xml.find("<ceb:preNo>P20261111"), std::string::npos);
  EXPECT_NE(xml.find("<ceb:invtNo>O1</ceb:invtNo>"), std::string::npos);
  EXPECT_NE(xml.find("<ceb:agentCode></ceb:agentCode>"), std::string::npos);
  EXPECT_NE(xml.find("<ceb:statisticsFlag>B</ceb:statisticsFlag>"),
            std::string::npos);
}

TEST(EncodeReceiptXml, TextIsEscapedAndReadsBack) {
  Receipt r = ImportList();
  r.copNo = "C<1>&\"2\"\x01";
  std::string xml;
  EncodeReceiptXml(r, &xml);
  EXPECT_NE(xml.find("<copNo>C&lt;1&gt;&amp;\"2\"\xEF\xBF\xBD</copNo>"),
            std::string::npos)
      << xml;
}

TEST(XmlReturnInfo, NamesEveryReasonWhenItFits) {
  Receipt r = ImportList();
  r.returnStatus = "100";
  r.reasons = {{"ORDER_MISSING", "no CEB311"}, {"ID_UNKNOWN", "buyer"}};
  EXPECT_EQ(XmlReturnInfo(r), "ORDER_MISSING: no CEB311; ID_UNKNOWN: buyer");
  EXPECT_EQ(XmlReturnInfo(ImportList()), "released");
}

TEST(XmlReturnInfo, CutAtAReasonBoundaryToAThousandCharacters) {
  Receipt r = ImportList();
  r.returnStatus = "100";
  // 30 reasons of 40 characters: 30 * 40 + 29 * 2 = 1258 characters.
  for (int i = 0; i < 30; ++i) {
    r.reasons.push_back({absl::StrFormat("CODE%02d", i), std::string(32, 'x')});
  }
  const std::string info = XmlReturnInfo(r);
  EXPECT_LE(info.size(), kMaxReturnInfoChars);
  // 23 reasons take 23 * 40 + 22 * 2 = 964; "; +7 more" makes 973, and a
  // 24th would make 1006.
  EXPECT_TRUE(info.ends_with("CODE22: " + std::string(32, 'x') + "; +7 more"))
      << info;
  // Characters, not bytes: a detail of Chinese text is cut by characters.
  Receipt c = ImportList();
  c.returnStatus = "100";
  for (int i = 0; i < 5; ++i) {
    std::string detail;
    for (int k = 0; k < 300; ++k) detail.append("缺");  // 3 bytes each
    c.reasons.push_back({absl::StrFormat("C%d", i), detail});
  }
  const std::string chinese = XmlReturnInfo(c);
  EXPECT_GT(chinese.size(), kMaxReturnInfoChars);  // bytes
  // Three reasons: 3 * 304 + 2 * 2 = 916 characters, then "; +2 more".
  EXPECT_TRUE(chinese.ends_with("缺; +2 more")) << chinese.substr(0, 40);
  // One reason longer than everything: its head, marked as cut.
  Receipt one = ImportList();
  one.returnStatus = "100";
  one.reasons = {{"C", std::string(5000, 'y')}, {"D", "z"}};
  const std::string head = XmlReturnInfo(one);
  EXPECT_TRUE(head.starts_with("C: yyy"));
  EXPECT_TRUE(head.ends_with("\xE2\x80\xA6; +1 more"));
  size_t chars = 0;
  for (char ch : head) chars += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  EXPECT_EQ(chars, kMaxReturnInfoChars);
}

}  // namespace
}  // namespace clearlane
