#include "model/utf8.h"

#include <gtest/gtest.h>

namespace clearlane {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, ValidatesStrictly) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("张三"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE4\xB8"));          // truncated
}

struct RepairCase {
  std::string in;
  std::string out;
};

class Utf8Repair : public ::testing::TestWithParam<RepairCase> {};

TEST_P(Utf8Repair, ReplacesEachMaximalSubpartWithOneFffd) {
  EXPECT_EQ(RepairUtf8(GetParam().in, 4096), GetParam().out);
}

// The examples of Unicode 15, chapter 3, "U+FFFD Substitution of Maximal
// Subparts" (Tables 3-8 to 3-11).
INSTANTIATE_TEST_SUITE_P(
    MaximalSubparts, Utf8Repair,
    ::testing::Values(
        RepairCase{"a\xC0\xAF"
                   "b",
                   "a" + kFffd + kFffd + "b"},
        RepairCase{"\xE0\x80\x80", kFffd + kFffd + kFffd},
        RepairCase{"\xED\xA0\x80", kFffd + kFffd + kFffd},
        RepairCase{"\xF4\x91\x92\x93", kFffd + kFffd + kFffd + kFffd},
        RepairCase{"\xE1\x80"
                   "A",
                   kFffd + "A"},
        RepairCase{"\xF1\x80\x80"
                   "A",
                   kFffd + "A"},
        RepairCase{"\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
                   "a" + kFffd + kFffd + kFffd + "b" + kFffd + "c" + kFffd +
                       kFffd + "d"},
        RepairCase{"ok 张三", "ok 张三"}, RepairCase{"\xE4\xB8", kFffd}));

TEST(Utf8, CutsWithoutSplittingACharacter) {
  // 4095 ASCII bytes, then a 3-byte character that does not fit.
  std::string s(4095, 'a');
  s += "张";
  EXPECT_EQ(RepairUtf8(s, 4096), std::string(4095, 'a'));
  std::string t(4093, 'a');
  t += "张";
  EXPECT_EQ(RepairUtf8(t, 4096), t);
}

}  // namespace
}  // namespace clearlane
