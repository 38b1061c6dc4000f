// Decimal is the standard's N19,5: a fixed-point number held as a count of
// 10^-5 in 128 bits, parsed from its decimal text and never passed through
// binary floating point. Every value of the standard's form (14 integer and
// 5 fraction digits: up to 99999999999999.99999) fits, and so does any sum
// of them a list or a month can hold.
//
// Thread-safety: a value type; safe to share between threads.

#ifndef CLEARLANE_MODEL_DECIMAL_H_
#define CLEARLANE_MODEL_DECIMAL_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace clearlane {

class Decimal {
 public:
  // A count of 10^-5.
  using Units = __int128;

  // 10^-5: the standard's five fractional digits.
  static constexpr int64_t kScale = 100000;
  // One fen (0.01 CNY) in units.
  static constexpr int64_t kFen = 1000;

  constexpr Decimal() = default;
  static constexpr Decimal FromUnits(Units units) { return Decimal(units); }
  static constexpr Decimal FromInteger(int64_t n) {
    return Decimal(Units{n} * kScale);
  }

  // Parses the contract's decimal grammar (contract §1): 1 to 14 digits,
  // optionally '.' and 1 to 5 digits; no sign, exponent or spaces. Every
  // text of that form is a value.
  static absl::StatusOr<Decimal> Parse(std::string_view text);

  constexpr Units units() const { return units_; }

  // The exact amount num / den units (10^-5 each), rounded half-up (half
  // away from zero) to the fen: the one rounding of the money rules
  // (contract §5), used by every other rounding here and in the tax.
  // REQUIRES: den > 0, and the result fits.
  static Decimal RatioRoundToFen(Units num, Units den);

  // The exact a * b / c units, rounded half-up to the fen, computed without
  // overflow even where a * b exceeds 128 bits. REQUIRES: a, b >= 0, c > 0,
  // and the result fits.
  static Decimal MulDivRoundToFen(Units a, Units b, Units c);

  // Rounds half-up to the fen: 0.005 -> 0.01, 0.00499 -> 0.00.
  Decimal RoundToFen() const;

  // The exact product a * b rounded half-up to the fen, for a, b >= 0 (any
  // two values of the standard's range).
  static Decimal MultiplyRoundToFen(Decimal a, Decimal b);

  // "123.40": two decimals, after RoundToFen. For receipts.
  std::string ToFixed2() const;
  // "7.5", "300", "0.00001": exact, no trailing zeros. For summaries.
  std::string ToPlain() const;

  friend constexpr Decimal operator+(Decimal a, Decimal b) {
    return Decimal(a.units_ + b.units_);
  }
  friend constexpr Decimal operator-(Decimal a, Decimal b) {
    return Decimal(a.units_ - b.units_);
  }
  Decimal& operator+=(Decimal o) {
    units_ += o.units_;
    return *this;
  }
  friend constexpr auto operator<=>(Decimal, Decimal) = default;

 private:
  constexpr explicit Decimal(Units units) : units_(units) {}
  Units units_ = 0;
};

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_DECIMAL_H_
