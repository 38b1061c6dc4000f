#include "operators/import_rules.h"

#include <map>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "operators/line_checks.h"

namespace clearlane {
namespace {

bool TenDigits(std::string_view gcode) {
  if (gcode.size() != 10) return false;
  for (char c : gcode) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// "CEB311 currency, items[1].currency" for the fields of one document
// whose code is not 142.
template <class T>
void CheckCurrency(const T& doc, ReasonList* reasons) {
  std::vector<std::string> bad;
  if (!doc.currency.empty() && doc.currency != "142") bad.push_back("currency");
  if constexpr (kHasItems<T>) {
    for (size_t i = 0; i < doc.items.size(); ++i) {
      const auto& c = doc.items[i].currency;
      if (!c.empty() && c != "142") {
        bad.push_back(absl::StrFormat("items[%d].currency", i));
      }
    }
  }
  if (!bad.empty()) {
    reasons->Add(ReasonCode::kCurrencyNotCny,
                 absl::StrFormat("%s %s", DocTypeName(T::kType),
                                 absl::StrJoin(bad, ", ")));
  }
}

// Compares two fields that are both present; adds `name` when they differ.
void Compare(std::string_view a, std::string_view b, std::string_view name,
             std::vector<std::string>* differ) {
  if (!a.empty() && !b.empty() && a != b) differ->emplace_back(name);
}

void CheckListAgainstOrder(const Ceb621List& list, const Ceb311Order& order,
                           ReasonList* reasons) {
  std::vector<std::string> problems;
  CompareLines(list, order, &problems);
  std::vector<std::string> buyer;
  Compare(list.buyerIdType, order.buyerIdType, "buyerIdType", &buyer);
  Compare(list.buyerIdNumber, order.buyerIdNumber, "buyerIdNumber", &buyer);
  Compare(list.buyerName, order.buyerName, "buyerName", &buyer);
  if (!buyer.empty()) {
    problems.push_back(
        absl::StrFormat("buyer differs: %s", absl::StrJoin(buyer, ", ")));
  }
  if (!problems.empty()) {
    reasons->Add(ReasonCode::kListOrderMismatch, absl::StrJoin(problems, "; "));
  }
}

}  // namespace

bool LineTotalConsistent(Decimal price, Decimal qty, Decimal total) {
  return Decimal::MultiplyRoundToFen(price, qty) == total;
}

void CheckRequiredFields(const Document& doc, ReasonList* reasons) {
  std::vector<std::string> problems = MissingRequiredFields(doc);
  for (std::string& p : problems) p = absl::StrFormat("%s absent", p);
  std::visit(
      [&](const auto& d) {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, Ceb621List> ||
                      std::is_same_v<T, Ceb603List>) {
          if (!d.tradeMode.empty() && d.tradeMode != "1210" &&
              d.tradeMode != "9610") {
            problems.push_back(absl::StrFormat(
                "tradeMode %s is not 1210 or 9610", d.tradeMode));
          }
          for (size_t i = 0; i < d.items.size(); ++i) {
            if (!d.items[i].gcode.empty() && !TenDigits(d.items[i].gcode)) {
              problems.push_back(
                  absl::StrFormat("items[%d].gcode is not 10 digits", i));
            }
          }
        }
        if constexpr (std::is_same_v<T, Ceb603List>) {
          if (!d.statisticsFlag.empty() && d.statisticsFlag != "A" &&
              d.statisticsFlag != "B") {
            problems.push_back("statisticsFlag is not A or B");
          }
        }
      },
      doc);
  if (!problems.empty()) {
    reasons->Add(ReasonCode::kFieldInvalid,
                 absl::StrFormat("%s %s", DocTypeName(TypeOf(doc)),
                                 absl::StrJoin(problems, ", ")));
  }
}

void CheckImportList(const ImportBundle& b, ReasonList* reasons) {
  const Ceb621List& list = *b.list;
  CheckRequiredFields(Document(list), reasons);
  if (b.order) CheckRequiredFields(Document(*b.order), reasons);
  if (b.payment) CheckRequiredFields(Document(*b.payment), reasons);
  if (b.waybill) CheckRequiredFields(Document(*b.waybill), reasons);

  CheckCurrency(list, reasons);
  if (b.order) CheckCurrency(*b.order, reasons);
  if (b.payment) CheckCurrency(*b.payment, reasons);
  if (b.waybill) CheckCurrency(*b.waybill, reasons);

  if (b.timed_out) {
    if (!b.order) {
      reasons->Add(ReasonCode::kOrderMissing,
                   "no CEB311 for this ebpCode and orderNo by the timeout");
    }
    if (!b.payment) {
      reasons->Add(ReasonCode::kPaymentMissing,
                   "no CEB411 for this ebpCode and orderNo by the timeout");
    }
    if (!b.waybill && !b.other_waybills) {
      reasons->Add(ReasonCode::kWaybillMissing,
                   "no CEB511 for this orderNo by the timeout");
    }
  }

  if (const Ceb311Order* o = b.order) {
    if (o->goodsValue && o->freight && o->taxTotal && o->discount &&
        o->acturalPaid &&
        *o->acturalPaid !=
            *o->goodsValue + *o->freight + *o->taxTotal - *o->discount) {
      reasons->Add(
          ReasonCode::kOrderAmountInconsistent,
          absl::StrFormat(
              "CEB311 acturalPaid %s, goodsValue + freight + "
              "taxTotal - discount %s",
              o->acturalPaid->ToPlain(),
              (*o->goodsValue + *o->freight + *o->taxTotal - *o->discount)
                  .ToPlain()));
    }
  }

  std::vector<std::string> bad_lines;
  if (b.order) CheckLineTotals(*b.order, &bad_lines);
  CheckLineTotals(list, &bad_lines);
  if (!bad_lines.empty()) {
    reasons->Add(ReasonCode::kLineTotalInconsistent,
                 absl::StrJoin(bad_lines, "; "));
  }

  if (b.order && b.payment && b.order->acturalPaid && b.payment->amountPaid &&
      *b.order->acturalPaid != *b.payment->amountPaid) {
    reasons->Add(ReasonCode::kPaymentAmountMismatch,
                 absl::StrFormat("CEB411 amountPaid %s, CEB311 acturalPaid %s",
                                 b.payment->amountPaid->ToPlain(),
                                 b.order->acturalPaid->ToPlain()));
  }

  if (b.order && b.payment) {
    std::vector<std::string> differ;
    Compare(b.payment->payerName, b.order->buyerName, "payerName/buyerName",
            &differ);
    Compare(b.payment->payerIdNumber, b.order->buyerIdNumber,
            "payerIdNumber/buyerIdNumber", &differ);
    if (!differ.empty()) {
      reasons->Add(ReasonCode::kBuyerPayerMismatch,
                   absl::StrFormat("CEB411 and CEB311 differ in %s",
                                   absl::StrJoin(differ, ", ")));
    }
  }

  if (b.order) CheckListAgainstOrder(list, *b.order, reasons);

  if (b.order && b.waybill) {
    std::vector<std::string> differ;
    Compare(b.order->consignee, b.waybill->consignee, "consignee", &differ);
    Compare(b.order->consigneeTelephone, b.waybill->consigneeTelephone,
            "consigneeTelephone", &differ);
    Compare(b.order->consigneeAddress, b.waybill->consigneeAddress,
            "consigneeAddress", &differ);
    if (!differ.empty()) {
      reasons->Add(ReasonCode::kConsigneeMismatch,
                   absl::StrFormat("CEB311 and CEB511 differ in %s",
                                   absl::StrJoin(differ, ", ")));
    }
  }

  if (b.timed_out && !b.waybill && b.other_waybills) {
    reasons->Add(
        ReasonCode::kLogisticsMismatch,
        absl::StrFormat("CEB511 with orderNo %s exist, none with "
                        "logisticsCode %s and logisticsNo %s",
                        list.orderNo, list.logisticsCode, list.logisticsNo));
  }

  if (!list.buyerIdNumber.empty() && !b.id_problem.empty()) {
    reasons->Add(ReasonCode::kIdInvalid,
                 absl::StrFormat("CEB621 buyerIdNumber: %s", b.id_problem));
  }
}

}  // namespace clearlane
