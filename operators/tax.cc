#include "operators/tax.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace clearlane {
namespace {

constexpr std::string_view kDefaultCsv =
    "hsPrefix,vatRate,consumptionTaxRate,tariffRate\n"
    "*,13,0,10\n"
    "0401,9,0,15\n"
    "0402,9,0,15\n"
    "3303,13,15,5\n"
    "3304,13,15,5\n"
    "7113,13,10,20\n"
    "9101,13,20,11\n"
    "9102,13,20,11\n";

// Splits on `sep`, keeping empty pieces. (Debian's Abseil is built with its
// own string_view, which absl::StrSplit will not take from std::string_view.)
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    out.push_back(
        s.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

// Exact rational arithmetic on __int128, kept in lowest terms. Amounts are
// decimals of at most 5 places (below 10^20 units for a line of the
// standard's range) and rates fractions over 10^4 (percentages of at most
// 2 places, below 100): multiplying across reduced terms and adding over
// the least common denominator keeps every term below about 10^33, and the
// last step (to the fen) cannot overflow (Decimal::MulDivRoundToFen).
struct Rational {
  __int128 num;
  __int128 den;  // > 0
};

__int128 Gcd(__int128 a, __int128 b) {
  if (a < 0) a = -a;
  while (b != 0) {
    const __int128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}
Rational Reduce(Rational r) {
  const __int128 g = Gcd(r.num, r.den);
  if (g > 1) return {r.num / g, r.den / g};
  return r;
}
Rational Mul(Rational a, Rational b) {
  const __int128 g1 = Gcd(a.num, b.den), g2 = Gcd(b.num, a.den);
  const __int128 d1 = g1 > 1 ? g1 : 1, d2 = g2 > 1 ? g2 : 1;
  return Reduce({(a.num / d1) * (b.num / d2), (a.den / d2) * (b.den / d1)});
}
Rational Add(Rational a, Rational b) {
  const __int128 g = Gcd(a.den, b.den);
  return Reduce({a.num * (b.den / g) + b.num * (a.den / g), a.den / g * b.den});
}
// A decimal as a rational of yuan.
Rational FromDecimal(Decimal d) { return Reduce({d.units(), Decimal::kScale}); }
// A percent rate (in Decimal units of percent) as a fraction.
Rational FromPercent(Decimal p) {
  return Reduce({p.units(), Decimal::kScale * 100});
}

// REQUIRES: r >= 0 (every tax is).
Decimal RoundToFen(Rational r) {
  return Decimal::MulDivRoundToFen(r.num, Decimal::kScale, r.den);
}

}  // namespace

const TaxRateTable& TaxRateTable::Default() {
  static const TaxRateTable* table = new TaxRateTable(*Parse(kDefaultCsv));
  return *table;
}

absl::StatusOr<TaxRateTable> TaxRateTable::Parse(std::string_view csv) {
  TaxRateTable t;
  bool have_default = false;
  int line_no = 0;
  for (std::string_view line : Split(csv, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line_no == 1) {
      if (line != "hsPrefix,vatRate,consumptionTaxRate,tariffRate") {
        return absl::InvalidArgumentError(
            "line 1: expected the header "
            "hsPrefix,vatRate,consumptionTaxRate,tariffRate");
      }
      continue;
    }
    std::vector<std::string_view> cells = Split(line, ',');
    if (cells.size() != 4) {
      return absl::InvalidArgumentError(
          absl::StrFormat("line %d: expected 4 columns", line_no));
    }
    TaxRate rate;
    Decimal* fields[] = {&rate.vat, &rate.consumption, &rate.tariff};
    for (int k = 0; k < 3; ++k) {
      auto d = Decimal::Parse(cells[k + 1]);
      if (!d.ok() || d->units() % Decimal::kFen != 0 ||
          *d >= Decimal::FromInteger(100)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "line %d: rate %s is not a percent below 100 with at most 2 "
            "decimals",
            line_no, std::string(cells[k + 1])));
      }
      *fields[k] = *d;
    }
    if (cells[0] == "*") {
      t.default_ = rate;
      have_default = true;
    } else {
      for (char c : cells[0]) {
        if (c < '0' || c > '9') {
          return absl::InvalidArgumentError(absl::StrFormat(
              "line %d: hsPrefix must be digits or *", line_no));
        }
      }
      t.rows_.push_back({std::string(cells[0]), rate});
    }
  }
  if (!have_default) {
    return absl::InvalidArgumentError("no default row (hsPrefix *)");
  }
  std::stable_sort(t.rows_.begin(), t.rows_.end(),
                   [](const Row& a, const Row& b) {
                     return a.prefix.size() > b.prefix.size();
                   });
  return t;
}

const TaxRate& TaxRateTable::RateFor(std::string_view gcode) const {
  for (const Row& r : rows_) {
    if (gcode.substr(0, r.prefix.size()) == r.prefix) return r.rate;
  }
  return default_;
}

ListTax ComputeTax(const std::vector<TaxLine>& lines, Decimal freight,
                   Decimal insuredFee, bool full, const TaxRateTable& rates) {
  ListTax out;
  Decimal goods;
  for (const TaxLine& l : lines) goods += l.totalPrice;
  const Decimal extra = freight + insuredFee;

  // Spread freight + insurance in proportion to totalPrice, each share
  // rounded half-up; the residue goes to the line with the largest
  // totalPrice (the first such line: lines are in gnum order).
  size_t largest = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].totalPrice > lines[largest].totalPrice) largest = i;
  }
  Decimal spread;
  out.line_value.resize(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    Decimal share;
    if (goods.units() > 0) {
      share = Decimal::MulDivRoundToFen(
          extra.units(), lines[i].totalPrice.units(), goods.units());
    } else if (i == largest) {
      share = Decimal();
    }
    spread += share;
    out.line_value[i] = lines[i].totalPrice + share;
  }
  out.line_value[largest] += extra - spread;

  const Rational levy = full ? Rational{1, 1} : Rational{7, 10};
  Decimal tariff_sum, consumption_sum, vat_sum, value_sum;
  for (size_t i = 0; i < lines.size(); ++i) {
    const TaxRate& rate = rates.RateFor(lines[i].gcode);
    const Rational v = FromDecimal(out.line_value[i]);
    const Rational t = full ? Mul(v, FromPercent(rate.tariff)) : Rational{0, 1};
    // Statutory consumption tax: (v + t) * c / (1 - c).
    const Rational c = FromPercent(rate.consumption);
    const Rational base = Add(v, t);
    const Rational ct = Mul(base, Mul(c, Rational{c.den, c.den - c.num}));
    // Statutory VAT: (v + t + ct) * vat.
    const Rational vat = Mul(Add(base, ct), FromPercent(rate.vat));
    tariff_sum += RoundToFen(t);
    consumption_sum += RoundToFen(Mul(ct, levy));
    vat_sum += RoundToFen(Mul(vat, levy));
    value_sum += out.line_value[i];
  }
  out.amounts.dutiableValue = value_sum;
  out.amounts.customsTax = tariff_sum;
  out.amounts.consumptionTax = consumption_sum;
  out.amounts.valueAddedTax = vat_sum;
  out.amounts.taxTotal = tariff_sum + consumption_sum + vat_sum;
  return out;
}

}  // namespace clearlane
