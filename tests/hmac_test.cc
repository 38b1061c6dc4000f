// The keyed hash that state keeps of personal fields (contract §7) must be
// HMAC-SHA256 exactly: RFC 4231's test vectors.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "model/document_codec.h"
#include "model/keyed_hash.h"
#include "pipeline/engine/decoder.h"
#include "tests/fixtures.h"

namespace clearlane {
namespace {

using ::clearlane::testing::ValidRecord;

std::string HexOf(KeyedHash& hmac, std::string_view data) {
  return absl::BytesToHexString(hmac(data));
}

TEST(KeyedHashTest, ShortKey) {  // RFC 4231 test case 2
  KeyedHash hmac("Jefe");
  EXPECT_EQ(HexOf(hmac, "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(KeyedHashTest, KeyLongerThanTheBlockIsHashedFirst) {  // test case 6
  KeyedHash hmac(std::string(131, '\xaa'));
  EXPECT_EQ(
      HexOf(hmac, "Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(KeyedHashTest, EachMessageStartsFromTheKeyAlone) {  // test case 1, twice
  KeyedHash hmac(std::string(20, '\x0b'));
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(
        HexOf(hmac, "Hi There"),
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  }
  EXPECT_NE(HexOf(hmac, "Hi there"), HexOf(hmac, "Hi There"));
}

// The decoder prepares each record's state form off the engine's thread:
// it must be the one the engine would write.
TEST(KeyedHashTest, DecoderPreparesTheStateFormUnderTheSecret) {
  const std::string secret = "a test secret of 32 bytes.......";
  std::vector<DecodedRecord> records(2);
  records[0].bytes = ValidRecord("CEB311");
  records[1].bytes = "{not json";
  for (DecodedRecord& r : records) r.size = r.bytes.size();
  ParallelDecoder(2, secret).DecodeAll(records, records.size());
  ASSERT_TRUE(records[0].outcome.ok());
  KeyedHash hmac(secret);
  auto hash = [&](std::string_view v) { return hmac(v); };
  EXPECT_EQ(records[0].state_form, EncodeDocument(records[0].doc, hash));
  EXPECT_FALSE(records[1].outcome.ok());
  EXPECT_TRUE(records[1].state_form.empty());
  // Without a secret, nothing is prepared.
  ParallelDecoder(1).DecodeAll(records, 1);
  EXPECT_TRUE(records[0].outcome.ok());
  EXPECT_TRUE(records[0].state_form.empty());
}

}  // namespace
}  // namespace clearlane
