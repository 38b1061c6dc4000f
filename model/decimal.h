// Decimal is the standard's N19,5: a non-negative or signed fixed-point
// number held as an int64_t count of 10^-5, parsed from its decimal text and
// never passed through binary floating point.
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
  // 10^-5: the standard's five fractional digits.
  static constexpr int64_t kScale = 100000;
  // One fen (0.01 CNY) in units.
  static constexpr int64_t kFen = 1000;

  constexpr Decimal() = default;
  static constexpr Decimal FromUnits(int64_t units) { return Decimal(units); }
  static constexpr Decimal FromInteger(int64_t n) {
    return Decimal(n * kScale);
  }

  // Parses the contract's decimal grammar (contract §1): 1 to 14 digits,
  // optionally '.' and 1 to 5 digits; no sign, exponent or spaces. A value
  // that does not fit in int64_t units is an error, never a wrapped number.
  static absl::StatusOr<Decimal> Parse(std::string_view text);

  constexpr int64_t units() const { return units_; }

  // The exact amount num / den units (10^-5 each), rounded half-up (half
  // away from zero) to the fen: the one rounding of the money rules
  // (contract §5), used by every other rounding here and in the tax.
  // REQUIRES: den > 0, and the result fits.
  static Decimal RatioRoundToFen(__int128 num, __int128 den);

  // Rounds half-up to the fen: 0.005 -> 0.01, 0.00499 -> 0.00.
  Decimal RoundToFen() const;

  // The exact product a * b rounded half-up to the fen. REQUIRES: the result
  // fits; callers multiply prices by quantities of the standard's range.
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
  constexpr explicit Decimal(int64_t units) : units_(units) {}
  int64_t units_ = 0;
};

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_DECIMAL_H_
