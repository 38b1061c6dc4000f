// Import tax of cross-border retail (contract §5 "Import money rules";
// 财关税〔2016〕18号, 财关税〔2018〕49号): the dutiable value of a list, the
// spread of freight and insurance over its lines, tariff, consumption tax
// and VAT, at 70% within the limits or in full for a single item over the
// single-transaction limit.
//
// Thread-safety: a TaxRateTable is immutable once built; the functions
// are pure.

#ifndef CLEARLANE_OPERATORS_TAX_H_
#define CLEARLANE_OPERATORS_TAX_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "model/decimal.h"
#include "model/outputs.h"

namespace clearlane {

// Percent rates with up to 2 decimals, as in the CSV (13 -> 13.00%).
struct TaxRate {
  Decimal vat;
  Decimal consumption;
  Decimal tariff;
};

// The rate table: the longest hsPrefix of the 10-digit gcode wins; "*" is
// the default (contract §2).
class TaxRateTable {
 public:
  // The shipped default table, exactly the contract's.
  static const TaxRateTable& Default();
  // Parses the CSV `hsPrefix,vatRate,consumptionTaxRate,tariffRate`.
  // Errors name the line.
  static absl::StatusOr<TaxRateTable> Parse(std::string_view csv);

  const TaxRate& RateFor(std::string_view gcode) const;

 private:
  struct Row {
    std::string prefix;
    TaxRate rate;
  };
  std::vector<Row> rows_;  // longest prefix first
  TaxRate default_;
};

// One line of a list, as the tax needs it.
struct TaxLine {
  std::string_view gcode;
  Decimal totalPrice;
};

struct ListTax {
  TaxAmounts amounts;               // the receipt's tax
  std::vector<Decimal> line_value;  // v per line: totalPrice + its share
};

// The tax of a list. `full` taxes in full (tariff, 100% of consumption tax
// and VAT): the single item over the limit; otherwise tariff is 0 and the
// others are 70% of statutory. REQUIRES: lines is not empty.
ListTax ComputeTax(const std::vector<TaxLine>& lines, Decimal freight,
                   Decimal insuredFee, bool full, const TaxRateTable& rates);

}  // namespace clearlane

#endif  // CLEARLANE_OPERATORS_TAX_H_
