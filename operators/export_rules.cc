#include "operators/export_rules.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "operators/import_rules.h"
#include "operators/line_checks.h"

namespace clearlane {

void CheckExportList(const ExportBundle& b, ReasonList* reasons) {
  const Ceb603List& list = *b.list;
  CheckRequiredFields(Document(list), reasons);
  if (b.order) CheckRequiredFields(Document(*b.order), reasons);
  if (b.payment) CheckRequiredFields(Document(*b.payment), reasons);
  if (b.waybill) CheckRequiredFields(Document(*b.waybill), reasons);

  if (b.timed_out) {
    if (!b.order) {
      reasons->Add(ReasonCode::kOrderMissing,
                   "no CEB303 for this ebpCode and orderNo by the timeout");
    }
    if (!b.payment) {
      reasons->Add(ReasonCode::kPaymentMissing,
                   "no CEB403 for this ebpCode and orderNo by the timeout");
    }
    if (!b.waybill) {
      reasons->Add(ReasonCode::kWaybillMissing,
                   absl::StrFormat("no CEB505 with logisticsCode %s and "
                                   "logisticsNo %s by the timeout",
                                   list.logisticsCode, list.logisticsNo));
    }
    if (!b.arrived) {
      reasons->Add(ReasonCode::kArrivalMissing,
                   absl::StrFormat("no CEB507 line for logisticsNo %s by the "
                                   "timeout",
                                   list.logisticsNo));
    }
  }

  std::vector<std::string> bad_lines;
  if (b.order) CheckLineTotals(*b.order, &bad_lines);
  CheckLineTotals(list, &bad_lines);
  if (!bad_lines.empty()) {
    reasons->Add(ReasonCode::kLineTotalInconsistent,
                 absl::StrJoin(bad_lines, "; "));
  }

  if (b.order && b.payment && b.order->goodsValue && b.order->freight &&
      b.payment->charge &&
      *b.payment->charge != *b.order->goodsValue + *b.order->freight) {
    reasons->Add(
        ReasonCode::kPaymentAmountMismatch,
        absl::StrFormat("CEB403 charge %s, CEB303 goodsValue + freight %s",
                        b.payment->charge->ToPlain(),
                        (*b.order->goodsValue + *b.order->freight).ToPlain()));
  }

  if (b.order) {
    std::vector<std::string> problems;
    CompareLines(list, *b.order, &problems);
    if (!problems.empty()) {
      reasons->Add(ReasonCode::kListOrderMismatch,
                   absl::StrJoin(problems, "; "));
    }
  }
}

}  // namespace clearlane
