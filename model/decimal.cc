#include "model/decimal.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace clearlane {
namespace {

constexpr int kMaxIntegerDigits = 14;
constexpr int kMaxFractionDigits = 5;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Half-up (away from zero) division of a by b, b > 0.
__int128 DivideRoundHalfUp(__int128 a, __int128 b) {
  __int128 q = a / b;
  __int128 r = a % b;
  if (r < 0) r = -r;
  if (2 * r >= b) q += (a < 0 ? -1 : 1);
  return q;
}

}  // namespace

absl::StatusOr<Decimal> Decimal::Parse(std::string_view text) {
  size_t i = 0;
  // At most 19 digits in all: below 10^19, so uint64_t cannot overflow.
  uint64_t units = 0;
  while (i < text.size() && IsDigit(text[i])) {
    units = units * 10 + (text[i] - '0');
    ++i;
  }
  const size_t integer_digits = i;
  if (integer_digits == 0 || integer_digits > kMaxIntegerDigits) {
    return absl::InvalidArgumentError(
        "expected a decimal of 1 to 14 digits, optionally '.' and 1 to 5 "
        "digits");
  }
  int fraction_digits = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && IsDigit(text[i])) {
      units = units * 10 + (text[i] - '0');
      ++fraction_digits;
      ++i;
    }
    if (fraction_digits == 0 || fraction_digits > kMaxFractionDigits) {
      return absl::InvalidArgumentError(
          "expected a decimal with 1 to 5 fractional digits");
    }
  }
  if (i != text.size()) {
    return absl::InvalidArgumentError(
        "expected a decimal of 1 to 14 digits, optionally '.' and 1 to 5 "
        "digits, without sign, exponent or spaces");
  }
  for (int k = fraction_digits; k < kMaxFractionDigits; ++k) units *= 10;
  if (units > static_cast<uint64_t>(INT64_MAX)) {
    return absl::InvalidArgumentError("decimal out of range");
  }
  return Decimal(static_cast<int64_t>(units));
}

Decimal Decimal::RatioRoundToFen(__int128 num, __int128 den) {
  const __int128 fen = DivideRoundHalfUp(num, den * kFen);
  return Decimal(static_cast<int64_t>(fen * kFen));
}

Decimal Decimal::RoundToFen() const { return RatioRoundToFen(units_, 1); }

Decimal Decimal::MultiplyRoundToFen(Decimal a, Decimal b) {
  // The product of two counts of 10^-5 is a count of 10^-10.
  return RatioRoundToFen(static_cast<__int128>(a.units_) * b.units_, kScale);
}

std::string Decimal::ToFixed2() const {
  const int64_t fen = RoundToFen().units_ / kFen;
  const uint64_t magnitude =
      fen < 0 ? static_cast<uint64_t>(-(fen + 1)) + 1 : fen;
  const uint64_t cents = magnitude % 100;
  return absl::StrCat(fen < 0 ? "-" : "", magnitude / 100, ".",
                      cents < 10 ? "0" : "", cents);
}

std::string Decimal::ToPlain() const {
  const uint64_t magnitude =
      units_ < 0 ? static_cast<uint64_t>(-(units_ + 1)) + 1 : units_;
  std::string out = absl::StrCat(units_ < 0 ? "-" : "", magnitude / kScale);
  uint64_t fraction = magnitude % kScale;
  if (fraction != 0) {
    std::string digits = absl::StrCat(fraction + kScale).substr(1);  // 5 digits
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    absl::StrAppend(&out, ".", digits);
  }
  return out;
}

}  // namespace clearlane
