// The state form of a document (model/document_codec.h): the values that
// operators read, personal ones keyed-hashed; every other text field only
// as present or absent.

#include "model/document_codec.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "model/decode.h"
#include "tests/fixtures.h"

namespace clearlane {
namespace {

using ::clearlane::testing::kAllDocTypes;
using ::clearlane::testing::ValidRecord;

// A keyed hash stand-in: shows which fields were hashed, without their
// value.
std::string Tag(std::string_view v) {
  return "H" + std::to_string(std::hash<std::string_view>()(v));
}

// A decoded document whose text lives as long as the object (the
// decoder's own buffer does not outlive the decoder).
struct Decoded {
  explicit Decoded(const std::string& record) {
    Decoder decoder;
    DecodeOutcome out = decoder.Decode(record, &doc);
    EXPECT_TRUE(out.ok()) << out.detail();
    if (out.ok()) RelocateDocument(&doc, &storage);
  }
  Decoded(const Decoded&) = delete;
  Document doc;
  std::string storage;
};

TEST(DocumentCodecTest, KeepsWhatTheRulesReadAndMarksTheRest) {
  const std::string record = ValidRecord("CEB621");
  Decoder decoder;
  Document doc;
  ASSERT_TRUE(decoder.Decode(record, &doc).ok());
  const std::string state = EncodeDocument(doc, Tag);
  Document back;
  ASSERT_TRUE(DecodeDocument(state, &back).ok());
  const auto& in = std::get<Ceb621List>(doc);
  const auto& out = std::get<Ceb621List>(back);
  // Values the rules and the receipts read.
  EXPECT_EQ(out.orderNo, in.orderNo);
  EXPECT_EQ(out.ebpCode, in.ebpCode);
  EXPECT_EQ(out.copNo, in.copNo);
  EXPECT_EQ(out.tradeMode, in.tradeMode);
  EXPECT_EQ(out.logisticsNo, in.logisticsNo);
  EXPECT_EQ(out.items[0].gcode, in.items[0].gcode);
  EXPECT_EQ(out.items[0].totalPrice, in.items[0].totalPrice);
  EXPECT_EQ(out.freight, in.freight);
  EXPECT_EQ(out.appTime, in.appTime);
  // Personal fields the rules compare: hashed, never in clear.
  EXPECT_EQ(out.buyerIdNumber, Tag(in.buyerIdNumber));
  EXPECT_EQ(out.buyerName, Tag(in.buyerName));
  EXPECT_EQ(state.find(in.buyerIdNumber), std::string::npos);
  // Names and descriptions nothing reads: present, value not kept.
  ASSERT_FALSE(in.ebpName.empty());
  EXPECT_EQ(out.ebpName, "\x01");
  EXPECT_EQ(out.items[0].gname, "\x01");
  EXPECT_EQ(state.find(in.ebpName), std::string::npos);
  // A personal field nothing reads is not even hashed.
  ASSERT_FALSE(in.buyerTelephone.empty());
  EXPECT_EQ(out.buyerTelephone, "\x01");
}

TEST(DocumentCodecTest, RequiredFieldsReadTheSameFromTheStateForm) {
  for (std::string_view type : kAllDocTypes) {
    const Decoded full_record(ValidRecord(type));
    const Document& full = full_record.doc;
    Document back;
    const std::string state = EncodeDocument(full, Tag);
    ASSERT_TRUE(DecodeDocument(state, &back).ok()) << type;
    EXPECT_EQ(TypeOf(back), TypeOf(full));
    EXPECT_EQ(MissingRequiredFields(back), MissingRequiredFields(full)) << type;
  }
  // An absent field stays absent.
  std::string record = ValidRecord("CEB311");
  const size_t at = record.find("\"ebpName\":\"");
  ASSERT_NE(at, std::string::npos);
  record.replace(at, record.find('"', at + 11) + 1 - at, "\"ebpName\":\"\"");
  Document back;
  const Decoded without(record);
  ASSERT_TRUE(DecodeDocument(EncodeDocument(without.doc, Tag), &back).ok());
  EXPECT_EQ(MissingRequiredFields(back), std::vector<std::string>{"ebpName"});
}

TEST(DocumentCodecTest, RefusesAnUnknownVersion) {
  const Decoded payment(ValidRecord("CEB411"));
  std::string state = EncodeDocument(payment.doc, Tag);
  state[0] = 9;
  Document back;
  EXPECT_FALSE(DecodeDocument(state, &back).ok());
}

}  // namespace
}  // namespace clearlane
