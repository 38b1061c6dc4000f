// Stage B of the import flow, keyed by the buyer: the identity registry
// (contract §2), the single-transaction and yearly limits and the tax of
// cross-border retail imports (财关税〔2018〕49号), and the buyer's yearly
// total, which accepted cancels and returns give back
// (海关总署公告2020年第45号).

#include "absl/strings/str_format.h"
#include "operators/clearance.h"

namespace clearlane {
namespace {

// 财关税〔2018〕49号: the single-transaction and yearly limits.
const Decimal kSingleLimit = Decimal::FromInteger(5000);
const Decimal kAnnualLimit = Decimal::FromInteger(26000);

}  // namespace

Clearance::Allowance Clearance::CheckAllowance(const Ceb621List& list,
                                               ReasonList* reasons,
                                               StageContext& ctx) {
  Allowance a;
  // Stored documents hold the keyed hash of the number: the buyer's key.
  a.buyer = std::string(list.buyerIdNumber);
  a.year = absl::CivilYear(list.appTime).year();
  if (ctx.HasRegistry()) {
    const auto found = ctx.LookUp(a.buyer, list.buyerName);
    if (found == StageContext::Registered::kUnknown) {
      reasons->Add(ReasonCode::kIdUnknown,
                   "CEB621 buyerIdNumber is not in the identity registry");
    } else if (found == StageContext::Registered::kNameDiffers) {
      reasons->Add(ReasonCode::kIdNameMismatch,
                   "CEB621 buyerName differs from the registered name");
    }
  }
  std::vector<TaxLine> lines;
  for (const auto& l : list.items) lines.push_back({l.gcode, *l.totalPrice});
  const bool single_item =
      list.items.size() == 1 && *list.items[0].qty == Decimal::FromInteger(1);
  a.tax = ComputeTax(lines, *list.freight, *list.insuredFee,
                     /*full=*/false, *config_.tax_rates);
  const Decimal value = a.tax.amounts.dutiableValue;
  if (value > kSingleLimit) {
    if (!single_item) {
      reasons->Add(ReasonCode::kSingleLimitExceeded,
                   absl::StrFormat("dutiable value %s is over %s and the "
                                   "list is not a single item",
                                   value.ToFixed2(), kSingleLimit.ToFixed2()));
    } else {
      // 财关税〔2018〕49号 clause 2: a single item over the limit is taxed
      // in full.
      a.tax = ComputeTax(lines, *list.freight, *list.insuredFee,
                         /*full=*/true, *config_.tax_rates);
    }
  }
  a.total_before = ctx.YearTotal(a.buyer, a.year);
  if (a.total_before + value > kAnnualLimit) {
    reasons->Add(ReasonCode::kAnnualLimitExceeded,
                 absl::StrFormat("the buyer's %d total would be %s, over %s",
                                 a.year, (a.total_before + value).ToFixed2(),
                                 kAnnualLimit.ToFixed2()));
  }
  return a;
}

void Clearance::CountInYear(const Ceb621List& list, const Allowance& a,
                            Decision* decision, Receipt* r, StageContext& ctx) {
  const Decimal value = a.tax.amounts.dutiableValue;
  const Decimal total = a.total_before + value;
  decision->buyer = a.buyer;
  decision->year = a.year;
  for (size_t i = 0; i < list.items.size(); ++i) {
    decision->lines.push_back({list.items[i].gnum.value_or(0),
                               *list.items[i].qty, a.tax.line_value[i]});
  }
  ctx.SetYearTotal(a.buyer, a.year, total);
  r->tax = a.tax.amounts;
  r->annualTotal = total;
  r->returnInfo = absl::StrFormat(
      "released: dutiable value %s, tax %s, buyer's %d total %s",
      value.ToFixed2(), a.tax.amounts.taxTotal.ToFixed2(), a.year,
      total.ToFixed2());
}

void Clearance::GiveBack(const Decision& d, Decimal back, StageContext& ctx) {
  const Decimal total = ctx.YearTotal(d.buyer, d.year);
  ctx.SetYearTotal(d.buyer, d.year, total - back);
}

}  // namespace clearlane
