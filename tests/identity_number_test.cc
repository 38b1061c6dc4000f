#include "model/identity_number.h"

#include <gtest/gtest.h>

namespace clearlane {
namespace {

const absl::CivilDay kToday(2026, 11, 11);

struct IdCase {
  const char* number;
  bool valid;
  const char* why;
};

class IdentityNumber : public ::testing::TestWithParam<IdCase> {};

TEST_P(IdentityNumber, FollowsGb11643) {
  const IdCase& c = GetParam();
  EXPECT_EQ(ValidateIdentityNumber(c.number, kToday).ok(), c.valid) << c.why;
}

INSTANTIATE_TEST_SUITE_P(
    Gb11643, IdentityNumber,
    ::testing::Values(
        IdCase{"11010519491231002X", true, "the standard's example"},
        IdCase{"110105194912310021", false, "wrong check character"},
        IdCase{"11010519491231002x", false, "lowercase x"},
        IdCase{"11010519490230002X", false, "30 February"},
        IdCase{"11010519491331002X", false, "month 13"},
        IdCase{"11010520301231002X", false, "born in the future"},
        IdCase{"99010519491231002X", false, "region 99"},
        IdCase{"10010519491231002X", false, "region 10"},
        IdCase{"1101051949123100", false, "too short"},
        IdCase{"11010519491231002X1", false, "too long"},
        IdCase{"1101051949123100AX", false, "letter inside"},
        IdCase{"", false, "empty"}));

TEST(IdentityNumber, BirthDateOnTheDocumentDateIsAccepted) {
  std::string n = "11010520261111001";
  n += IdentityCheckCharacter(n);
  EXPECT_TRUE(ValidateIdentityNumber(n, kToday).ok());
  EXPECT_FALSE(ValidateIdentityNumber(n, absl::CivilDay(2026, 11, 10)).ok());
}

TEST(IdentityNumber, CheckCharacterCoversX) {
  EXPECT_EQ(IdentityCheckCharacter("11010519491231002"), 'X');
}

TEST(IdentityNumber, ErrorsNeverQuoteTheNumber) {
  auto s = ValidateIdentityNumber("110105194912310021", kToday);
  EXPECT_EQ(std::string(s.message()).find("1101051949"), std::string::npos);
}

}  // namespace
}  // namespace clearlane
