#include "model/identity_number.h"

#include <array>

namespace clearlane {
namespace {

// Weights 2^(17-i) mod 11 and the map from the sum mod 11 to the check
// character, both from GB 11643-1999.
constexpr std::array<int, 17> kWeights = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                          3, 7, 9,  10, 5, 8, 4, 2};
constexpr std::string_view kCheckCharacters = "10X98765432";

bool IsProvince(int code) {
  return (code >= 11 && code <= 15) || (code >= 21 && code <= 23) ||
         (code >= 31 && code <= 37) || (code >= 41 && code <= 46) ||
         (code >= 50 && code <= 54) || (code >= 61 && code <= 65) ||
         code == 71 || (code >= 81 && code <= 83) || code == 91;
}

}  // namespace

char IdentityCheckCharacter(std::string_view first17) {
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return kCheckCharacters[sum % 11];
}

absl::Status ValidateIdentityNumber(std::string_view number,
                                    absl::CivilDay as_of) {
  if (number.size() != 18) {
    return absl::InvalidArgumentError("not 18 characters");
  }
  for (size_t i = 0; i < 17; ++i) {
    if (number[i] < '0' || number[i] > '9') {
      return absl::InvalidArgumentError("the first 17 are not all digits");
    }
  }
  const char last = number[17];
  if (!((last >= '0' && last <= '9') || last == 'X')) {
    return absl::InvalidArgumentError(
        "the check character is not a digit or uppercase X");
  }
  if (!IsProvince((number[0] - '0') * 10 + (number[1] - '0'))) {
    return absl::InvalidArgumentError("unknown province code");
  }
  auto digits = [&](size_t pos, size_t len) {
    int n = 0;
    for (size_t i = pos; i < pos + len; ++i) n = n * 10 + (number[i] - '0');
    return n;
  };
  const int y = digits(6, 4), m = digits(10, 2), d = digits(12, 2);
  const absl::CivilDay birth(y, m, d);
  if (birth.year() != y || birth.month() != m || birth.day() != d) {
    return absl::InvalidArgumentError("birth date does not exist");
  }
  if (birth > as_of) {
    return absl::InvalidArgumentError("birth date is after the document date");
  }
  if (IdentityCheckCharacter(number.substr(0, 17)) != last) {
    return absl::InvalidArgumentError("wrong check character");
  }
  return absl::OkStatus();
}

}  // namespace clearlane
