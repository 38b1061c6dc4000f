// The CEB XML reader (contract §11) on the official and published samples
// of ../shared/ceb-xml (read in place, never copied into the repository;
// the tests that need them skip where they are absent) and on the surprises
// FORMAT.md §6 lists.

#include "model/xml_message.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "model/decode.h"
#include "model/document_codec.h"
#include "model/personal_data.h"
#include "tests/fixtures.h"
#include "tests/test_util.h"

namespace clearlane {
namespace {

namespace fs = std::filesystem;
using ::clearlane::testing::kAllDocTypes;
using ::clearlane::testing::Slurp;
using ::clearlane::testing::ValidRecord;
using ::clearlane::testing::With;

fs::path SamplesDir() {
  const char* dir = std::getenv("CLEARLANE_CEB_XML");
  return fs::path(dir ? dir : CLEARLANE_CEB_XML_DIR) / "samples";
}

// The record element of each declaration message clearlane reads.
const std::map<std::string, std::string>& RecordNames() {
  static const auto* names = new std::map<std::string, std::string>{
      {"CEB311", "Order"},      {"CEB411", "Payment"},
      {"CEB511", "Logistics"},  {"CEB621", "Inventory"},
      {"CEB623", "InvtCancel"}, {"CEB625", "InvtRefund"},
      {"CEB303", "Order"},      {"CEB403", "Receipts"},
      {"CEB505", "Logistics"},  {"CEB507", "Arrival"},
      {"CEB509", "Departure"},  {"CEB603", "Inventory"}};
  return *names;
}

// The leaf elements of an XML text with their text, independently of the
// reader: (local name, text) for every <a>text</a> without children.
std::multiset<std::pair<std::string, std::string>> Leaves(
    const std::string& xml) {
  static const std::regex leaf(
      R"(<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)>([^<]*)</(?:[A-Za-z_][\w.-]*:)?\1>)");
  std::multiset<std::pair<std::string, std::string>> out;
  for (std::sregex_iterator it(xml.begin(), xml.end(), leaf), end; it != end;
       ++it) {
    if ((*it)[2].length() > 0) out.insert({(*it)[1], (*it)[2]});
  }
  return out;
}

// The string members of a record's JSON, top level and items.
std::multiset<std::pair<std::string, std::string>> Members(
    const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.parse(json);
  std::multiset<std::pair<std::string, std::string>> out;
  auto add = [&](simdjson::dom::object o) {
    for (auto [key, value] : o) {
      if (key == "docType" || key == "items") continue;
      out.insert({std::string(key), std::string(std::string_view(value))});
    }
  };
  add(root.get_object());
  simdjson::dom::array items;
  if (!root["items"].get(items)) {
    for (simdjson::dom::element item : items) add(item.get_object());
  }
  return out;
}

// Samples that break a contract rule themselves: the record's dead letter
// and why.
const std::map<std::string, std::string>& KnownBadSamples() {
  static const auto* bad = new std::map<std::string, std::string>{};
  return *bad;
}

TEST(XmlSamples, EveryDeclarationGivesItsRecordsFieldForField) {
  const fs::path dir = SamplesDir();
  if (!fs::is_directory(dir)) {
    GTEST_SKIP() << dir << " is absent: the CEB XML samples did not run";
  }
  int files = 0, records = 0;
  XmlReader reader;
  Decoder decoder;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    std::smatch m;
    static const std::regex type(R"(CEB(\d{3})Message)");
    if (!std::regex_search(name, m, type)) continue;
    const std::string doc_type = "CEB" + m[1].str();
    if (!RecordNames().count(doc_type)) continue;  // not a declaration
    SCOPED_TRACE(name);
    ++files;
    const std::string xml = Slurp(entry.path());
    // Records counted independently: the record's start tags under any
    // prefix.
    const std::regex start("<(?:[A-Za-z_][\\w.-]*:)?" +
                           RecordNames().at(doc_type) + "[\\s>]");
    const auto expected =
        std::distance(std::sregex_iterator(xml.begin(), xml.end(), start),
                      std::sregex_iterator());
    XmlMessage message;
    const DecodeOutcome read = reader.Read(xml, &message);
    ASSERT_TRUE(read.ok()) << read.detail();
    EXPECT_EQ(DocTypeName(message.type), doc_type);
    ASSERT_EQ(static_cast<int64_t>(message.records.size()), expected);
    for (size_t i = 0; i < message.records.size(); ++i) {
      SCOPED_TRACE("record " + std::to_string(i + 1));
      const XmlRecord& r = message.records[i];
      ++records;
      // The raw text is the record element, whole.
      EXPECT_TRUE(std::regex_search(std::string(r.raw.substr(0, 40)), start))
          << r.raw.substr(0, 40);
      EXPECT_TRUE(r.raw.ends_with(RecordNames().at(doc_type) + ">"))
          << r.raw.substr(r.raw.size() - std::min<size_t>(r.raw.size(), 40));
      // Every field is its element's text, and nothing else is there.
      EXPECT_EQ(Members(XmlRecordJson(message.type, r.fields)),
                Leaves(std::string(r.raw)));
      Document doc;
      const DecodeOutcome decoded =
          decoder.DecodeFields(message.type, r.fields, &doc);
      const auto bad = KnownBadSamples().find(name);
      if (bad == KnownBadSamples().end()) {
        EXPECT_TRUE(decoded.ok())
            << DeadLetterCodeName(decoded.code()) << ": " << decoded.detail();
      } else {
        ASSERT_FALSE(decoded.ok());
        EXPECT_EQ(std::string(DeadLetterCodeName(decoded.code())) + ": " +
                      decoded.detail(),
                  bad->second);
      }
    }
  }
  // 36 files and 336 records when this was written.
  EXPECT_GE(files, 36);
  EXPECT_GE(records, 336);
}

// A small CEB311 with one record, in the prefix form (`ceb:`).
std::string Order(const std::string& before_order = "",
                  const std::string& head_extra = "") {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<ceb:CEB311Message guid="G" version="1.0" xmlns:ceb="http://www.chinaport.gov.cn/ceb">
)" + before_order +
         R"(<ceb:Order><ceb:OrderHead><ceb:guid>G</ceb:guid><ceb:appType>1</ceb:appType><ceb:appTime>20261111093000</ceb:appTime><ceb:orderNo>O1</ceb:orderNo><ceb:note></ceb:note>)" +
         head_extra +
         R"(</ceb:OrderHead><ceb:OrderList><ceb:gnum>1</ceb:gnum><ceb:qty>2</ceb:qty></ceb:OrderList><ceb:OrderList><ceb:gnum>2</ceb:gnum></ceb:OrderList></ceb:Order>
<ceb:BaseTransfer><ceb:copCode>X</ceb:copCode></ceb:BaseTransfer></ceb:CEB311Message>
)";
}

std::string OnlyRecordJson(const std::string& xml) {
  XmlReader reader;
  XmlMessage message;
  const DecodeOutcome out = reader.Read(xml, &message);
  EXPECT_TRUE(out.ok()) << out.detail();
  EXPECT_EQ(message.records.size(), 1u);
  return message.records.empty()
             ? ""
             : XmlRecordJson(message.type, message.records[0].fields);
}

TEST(XmlReader, MapsHeadFieldsAndLinesToTheDocument) {
  EXPECT_EQ(OnlyRecordJson(Order()),
            R"({"docType":"CEB311","guid":"G","appType":"1",)"
            R"("appTime":"20261111093000","orderNo":"O1",)"
            R"("items":[{"gnum":"1","qty":"2"},{"gnum":"2"}]})");
}

TEST(XmlReader, EitherNamespaceFormBomNoDeclarationAndTwoBaseTransfers) {
  const std::string expected = OnlyRecordJson(Order());
  // The default namespace, unprefixed.
  std::string plain = std::regex_replace(Order(), std::regex("ceb:"), "");
  plain = std::regex_replace(plain, std::regex("xmlns:ceb="), "xmlns=");
  EXPECT_EQ(OnlyRecordJson(plain), expected);
  // Another prefix, a BOM, no declaration, a second BaseTransfer, and a
  // signature and ExtendMessage read past.
  std::string other = std::regex_replace(Order(), std::regex("ceb:"), "x:");
  other = std::regex_replace(other, std::regex("xmlns:ceb="), "xmlns:x=");
  other = "\xEF\xBB\xBF" + other.substr(other.find('\n') + 1);
  other = std::regex_replace(
      other, std::regex("</x:CEB311Message>"),
      "<x:BaseTransfer><x:copCode>Y</x:copCode></x:BaseTransfer>"
      "<x:ExtendMessage><x:name>n</x:name></x:ExtendMessage>"
      "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"
      "<ds:SignedInfo/></ds:Signature></x:CEB311Message>");
  EXPECT_EQ(OnlyRecordJson(other), expected);
  EXPECT_TRUE(LooksLikeXml(other));
  EXPECT_TRUE(LooksLikeXml(" \n<a/>"));
  EXPECT_FALSE(LooksLikeXml("{\"docType\":\"CEB311\"}"));
}

TEST(XmlReader, ValuesAreTakenAsWrittenWithEntitiesResolved) {
  const std::string json = OnlyRecordJson(
      Order("",
            "<ceb:copNo>cop1\t</ceb:copNo><ceb:ebpName>A &amp; B</ceb:ebpName>"
            "<ceb:buyerName><![CDATA[<张三>]]></ceb:buyerName>"
            "<ceb:consignee>  </ceb:consignee>"
            "<ceb:freight><ceb:x>1</ceb:x></ceb:freight>"
            "<other:orderNo xmlns:other=\"urn:other\">NOT</other:orderNo>"));
  EXPECT_NE(json.find(R"("copNo":"cop1\t")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("ebpName":"A & B")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("buyerName":"<张三>")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("consignee":"  ")"), std::string::npos) << json;
  // A field holding elements is an object, rejected as JSON would be.
  EXPECT_NE(json.find(R"("freight":{})"), std::string::npos) << json;
  EXPECT_EQ(json.find("NOT"), std::string::npos) << json;
  EXPECT_EQ(json.find("note"), std::string::npos) << json;  // empty: absent
}

TEST(XmlReader, RecordsAreReadInOrderEachWithItsRawText) {
  std::string xml = Order();
  const size_t at = xml.find("<ceb:Order>");
  const size_t end = xml.find("</ceb:Order>") + 12;
  const std::string record = xml.substr(at, end - at);
  std::string second = std::regex_replace(record, std::regex(">O1<"), ">O2<");
  xml.insert(end, "\n" + second);
  XmlReader reader;
  XmlMessage message;
  ASSERT_TRUE(reader.Read(xml, &message).ok());
  ASSERT_EQ(message.records.size(), 2u);
  EXPECT_EQ(message.records[0].raw, record);
  EXPECT_EQ(message.records[1].raw, second);
  EXPECT_NE(
      XmlRecordJson(message.type, message.records[1].fields).find("\"O2\""),
      std::string::npos);
}

TEST(XmlReader, WholeMessageDeadLetters) {
  struct Case {
    std::string xml;
    DeadLetterCode code;
    std::string detail;
  };
  const std::string order = Order();
  const std::vector<Case> cases = {
      {order.substr(0, order.size() - 20), DeadLetterCode::kMalformedXml,
       "at byte"},
      {"<a><b></a>", DeadLetterCode::kMalformedXml, "at byte"},
      {"<a/><b/>", DeadLetterCode::kMalformedXml, "more than one root"},
      {std::regex_replace(order, std::regex(" xmlns:ceb=\"[^\"]*\""), ""),
       DeadLetterCode::kMalformedXml, "is not declared"},
      {std::regex_replace(order, std::regex("UTF-8"), "gb2312"),
       DeadLetterCode::kMalformedXml, "only UTF-8"},
      {std::regex_replace(order, std::regex("CEB311Message"), "CEB312Message"),
       DeadLetterCode::kUnknownDocType, "CEB312Message"},
      {std::regex_replace(order, std::regex("chinaport.gov.cn/ceb"),
                          "example.com/ceb"),
       DeadLetterCode::kUnknownDocType, "not in namespace"},
      {std::regex_replace(order, std::regex("ceb:Order>"), "ceb:Orders>"),
       DeadLetterCode::kMissingKey, "holds no Order record"},
      {"<a>\xff</a>", DeadLetterCode::kNotUtf8, "UTF-8"},
      // Character references to what is no character (the fuzzer's find:
      // the parser wrote bytes that are not UTF-8 for them).
      {std::regex_replace(order, std::regex(">O1<"), ">O&#x4E2DEEEEEEEEEE;<"),
       DeadLetterCode::kMalformedXml, "orderNo is not a character"},
      {std::regex_replace(order, std::regex(">O1<"), ">O&#xD800;<"),
       DeadLetterCode::kMalformedXml, "orderNo is not a character"},
      {std::regex_replace(order, std::regex(">O1<"), ">O&#x110000;<"),
       DeadLetterCode::kMalformedXml, "orderNo is not a character"},
      {"<a>" + std::string(kMaxXmlMessageBytes, ' ') + "</a>",
       DeadLetterCode::kTooLarge, "bytes"},
  };
  XmlReader reader;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.xml.substr(0, 200));
    XmlMessage message;
    const DecodeOutcome out = reader.Read(c.xml, &message);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.code(), c.code) << out.detail();
    EXPECT_NE(out.detail().find(c.detail), std::string::npos) << out.detail();
    EXPECT_TRUE(message.records.empty());
  }
}

// A decoder's answer: the state form of its document, or its dead letter.
std::string Verdict(const DecodeOutcome& out, const Document& doc) {
  if (!out.ok()) {
    return std::string(DeadLetterCodeName(out.code())) + ": " + out.detail();
  }
  return EncodeDocument(doc, [](std::string_view v) { return std::string(v); });
}

// What the Decoder makes of a record, as JSON or as the fields of an XML
// record: its state form, or its dead letter.
std::string Judged(Decoder& decoder, const std::string& json) {
  Document doc;
  return Verdict(decoder.Decode(json, &doc), doc);
}
std::string Judged(Decoder& decoder, const XmlMessage& message,
                   const XmlRecord& r) {
  Document doc;
  return Verdict(decoder.DecodeFields(message.type, r.fields, &doc), doc);
}

// Each record of a message is judged from its fields as its JSON form is:
// the same state form, or the same dead letter with the same detail, for
// the forms XML can give that JSON strings alone would not show.
TEST(XmlReader, RecordsAreJudgedAsTheirJson) {
  const std::vector<std::pair<std::string, std::string>> heads = {
      {"", ""},
      {"items as a head field", "<ceb:items>x</ceb:items>"},
      {"items holding elements", "<ceb:items><ceb:a>1</ceb:a></ceb:items>"},
      {"its own docType", "<ceb:docType>CEB311</ceb:docType>"},
      {"another docType", "<ceb:docType>CEB411</ceb:docType>"},
      {"docType holding elements", "<ceb:docType><ceb:a/></ceb:docType>"},
      {"guid holding elements", "<ceb:guid><ceb:a/></ceb:guid>"},
      {"appTime holding elements", "<ceb:appTime><ceb:a/></ceb:appTime>"},
      {"appType 7", "<ceb:appType>7</ceb:appType>"},
      {"a decimal holding elements", "<ceb:freight><ceb:a/></ceb:freight>"},
      {"a decimal in pieces",
       "<ceb:freight>1<!-- c --><![CDATA[2.5]]></ceb:freight>"},
      {"a bad decimal", "<ceb:freight>1,5</ceb:freight>"},
      {"a blank time", "<ceb:appTime> </ceb:appTime>"},
      {"no orderNo", "<ceb:orderNo></ceb:orderNo>"},
      {"a second orderNo", "<ceb:orderNo>O9</ceb:orderNo>"},
      {"an unknown field", "<ceb:noSuchField>1</ceb:noSuchField>"},
  };
  const std::vector<std::pair<std::string, std::string>> lines = {
      {"", ""},
      {"a line field holding elements", "<ceb:qty><ceb:a/></ceb:qty>"},
      {"a bad gnum", "<ceb:gnum>x</ceb:gnum>"},
      {"items in a line", "<ceb:items>1</ceb:items>"},
  };
  XmlReader reader;
  Decoder decoder;
  int judged = 0;
  for (const auto& [head_case, head] : heads) {
    for (const auto& [line_case, line] : lines) {
      SCOPED_TRACE(head_case + " / " + line_case);
      std::string xml = Order("", head);
      xml.insert(xml.find("</ceb:OrderList>"), line);
      XmlMessage message;
      ASSERT_TRUE(reader.Read(xml, &message).ok());
      ASSERT_EQ(message.records.size(), 1u);
      const std::string json =
          XmlRecordJson(message.type, message.records[0].fields);
      EXPECT_EQ(Judged(decoder, message, message.records[0]),
                Judged(decoder, json))
          << json;
      ++judged;
    }
  }
  EXPECT_EQ(judged, 64);
  // Not every case is accepted: the comparison covers rejections.
  XmlMessage message;
  ASSERT_TRUE(
      reader.Read(Order("", "<ceb:docType>CEB411</ceb:docType>"), &message)
          .ok());
  EXPECT_EQ(Judged(decoder, message, message.records[0]),
            "UNKNOWN_DOC_TYPE: docType given twice with different values");
}

// JSON documents written as XML and read back are judged as the JSON
// was: equal documents, or the same dead letter with the same detail.
TEST(XmlWriter, DocumentsRoundTripThroughXml) {
  std::vector<std::pair<std::string, std::string>> records;  // type, json
  for (std::string_view type : kAllDocTypes) {
    const std::string valid = ValidRecord(type);
    records.push_back({std::string(type), valid});
    // Numbers instead of strings, and fields that fail their checks.
    records.push_back(
        {std::string(type), With(valid, R"("appType":"1")", R"("appType":1)")});
    const size_t at = valid.find(R"("appTime":")") + 11;
    records.push_back({std::string(type),
                       valid.substr(0, at) + "2026x" + valid.substr(at + 5)});
    records.push_back({std::string(type),
                       With(valid, R"("appType":"1")", R"("appType":"7")")});
    records.push_back(
        {std::string(type), With(valid, R"("appType":"1")",
                                 R"("appType":"1","note":"a & <b> \r")")});
  }
  XmlReader reader;
  Decoder decoder;
  int compared = 0;
  for (const auto& [type, json] : records) {
    SCOPED_TRACE(json);
    for (int copies : {1, 3}) {
      const std::vector<std::string> batch(copies, json);
      std::string xml;
      const absl::Status written = WriteXmlMessage(type, batch, &xml);
      ASSERT_TRUE(written.ok()) << written;
      XmlMessage message;
      const DecodeOutcome read = reader.Read(xml, &message);
      ASSERT_TRUE(read.ok()) << read.detail() << "\n" << xml;
      ASSERT_EQ(message.records.size(), batch.size());
      for (const XmlRecord& r : message.records) {
        EXPECT_EQ(Judged(decoder, message, r), Judged(decoder, json)) << xml;
        EXPECT_EQ(Judged(decoder, XmlRecordJson(message.type, r.fields)),
                  Judged(decoder, json))
            << xml;
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, static_cast<int>(records.size()) * 4);
  // What XML cannot carry is refused, not written wrong.
  std::string xml;
  EXPECT_FALSE(WriteXmlMessage("CEB311",
                               {With(ValidRecord("CEB311"), R"("orderNo":"O1")",
                                     R"("orderNo":"O\u0001")")},
                               &xml)
                   .ok());
  EXPECT_FALSE(WriteXmlMessage("CEB999", {ValidRecord("CEB311")}, &xml).ok());
}

TEST(XmlInput, SplitsMessagesWithTheLineEachBeginsOn) {
  const std::string a =
      "<?xml version=\"1.0\"?>\n<a:M xmlns:a=\"u\">\n<a:x/>"
      "<a:Ma/></a:M>";
  const std::string b = "<!-- b -->\n<M>\n</M >";
  const std::string c = "<M><open>";
  const std::string input = "\xEF\xBB\xBF\n" + a + "\n\n" + b + c;
  const std::vector<XmlMessageText> m = SplitXmlMessages(input);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].text, a);
  EXPECT_EQ(m[0].line, 2);
  EXPECT_EQ(m[1].text, b);
  EXPECT_EQ(m[1].line, 6);
  EXPECT_EQ(m[2].text, c);  // never closed: the rest, rejected by the reader
  EXPECT_EQ(m[2].line, 8);
  EXPECT_TRUE(SplitXmlMessages(" \n ").empty());
  EXPECT_EQ(SplitXmlMessages("<a/><b/>").size(), 2u);
}

TEST(XmlInput, PersonalDataIsMaskedInXmlText) {
  EXPECT_EQ(MaskPersonalDataXml(
                "<ceb:buyerName>张三</ceb:buyerName><orderNo>O1</orderNo>"
                "<consigneeTelephone a=\"1\">138</consigneeTelephone>"
                "<buyerIdNumber/><payerIdNumber>1101"),
            "<ceb:buyerName>***</ceb:buyerName><orderNo>O1</orderNo>"
            "<consigneeTelephone a=\"1\">***</consigneeTelephone>"
            "<buyerIdNumber/><payerIdNumber>***");
}

}  // namespace
}  // namespace clearlane
