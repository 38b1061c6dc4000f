#include "model/decimal.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace clearlane {
namespace {

constexpr int kMaxIntegerDigits = 14;
constexpr int kMaxFractionDigits = 5;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

using Wide = unsigned __int128;

// Half-up (away from zero) division of a by b, b > 0.
__int128 DivideRoundHalfUp(__int128 a, __int128 b) {
  __int128 q = a / b;
  __int128 r = a % b;
  if (r < 0) r = -r;
  if (r >= b - r) q += (a < 0 ? -1 : 1);
  return q;
}

// The 256-bit product of a and b as {high, low} halves.
struct Product {
  Wide high, low;
};
Product Multiply(Wide a, Wide b) {
  const Wide mask = ~uint64_t{0};
  const Wide a0 = a & mask, a1 = a >> 64, b0 = b & mask, b1 = b >> 64;
  const Wide p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const Wide middle = (p00 >> 64) + (p01 & mask) + (p10 & mask);
  return {p11 + (p01 >> 64) + (p10 >> 64) + (middle >> 64),
          (middle << 64) | (p00 & mask)};
}

// p / d rounded half-up, d > 0, by long division one bit at a time (the
// rare path: only where p does not fit 128 bits). REQUIRES: the quotient
// fits 128 bits.
Wide DivideRoundHalfUp(Product p, Wide d) {
  Wide quotient = 0, remainder = 0;
  for (int bit = 255; bit >= 0; --bit) {
    const bool carry = (remainder >> 127) != 0;
    const Wide next =
        bit >= 128 ? (p.high >> (bit - 128)) & 1 : (p.low >> bit) & 1;
    remainder = (remainder << 1) | next;
    if (carry || remainder >= d) {
      remainder -= d;  // modulo 2^128: right even when the shift carried
      if (bit < 128) quotient |= Wide{1} << bit;
    }
  }
  if (remainder >= d - remainder) ++quotient;
  return quotient;
}

// Decimal digits of v.
std::string Digits(Wide v) {
  char buf[40];
  char* end = buf + sizeof buf;
  char* at = end;
  do {
    *--at = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  } while (v != 0);
  return std::string(at, end);
}

Wide Magnitude(__int128 v) { return v < 0 ? -static_cast<Wide>(v) : v; }

}  // namespace

absl::StatusOr<Decimal> Decimal::Parse(std::string_view text) {
  size_t i = 0;
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
  // At most 19 digits: below 10^19 < 2^64.
  for (int k = fraction_digits; k < kMaxFractionDigits; ++k) units *= 10;
  return Decimal(static_cast<Units>(units));
}

Decimal Decimal::RatioRoundToFen(Units num, Units den) {
  const Units fen = DivideRoundHalfUp(num, den * kFen);
  return Decimal(fen * kFen);
}

Decimal Decimal::MulDivRoundToFen(Units a, Units b, Units c) {
  Units product;
  if (!__builtin_mul_overflow(a, b, &product)) {
    return RatioRoundToFen(product, c);
  }
  const Wide fen = DivideRoundHalfUp(Multiply(a, b), Wide(c) * kFen);
  return Decimal(static_cast<Units>(fen) * kFen);
}

Decimal Decimal::RoundToFen() const { return RatioRoundToFen(units_, 1); }

Decimal Decimal::MultiplyRoundToFen(Decimal a, Decimal b) {
  // The product of two counts of 10^-5 is a count of 10^-10.
  return MulDivRoundToFen(a.units_, b.units_, kScale);
}

std::string Decimal::ToFixed2() const {
  const Units fen = RoundToFen().units_ / kFen;
  const Wide magnitude = Magnitude(fen);
  const int cents = static_cast<int>(magnitude % 100);
  return absl::StrCat(fen < 0 ? "-" : "", Digits(magnitude / 100), ".",
                      cents < 10 ? "0" : "", cents);
}

std::string Decimal::ToPlain() const {
  const Wide magnitude = Magnitude(units_);
  std::string out =
      absl::StrCat(units_ < 0 ? "-" : "", Digits(magnitude / kScale));
  const uint64_t fraction = static_cast<uint64_t>(magnitude % kScale);
  if (fraction != 0) {
    std::string digits = absl::StrCat(fraction + kScale).substr(1);  // 5 digits
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    absl::StrAppend(&out, ".", digits);
  }
  return out;
}

}  // namespace clearlane
