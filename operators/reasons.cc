#include "operators/reasons.h"

#include <algorithm>
#include <array>

namespace clearlane {

std::string_view ReasonCodeName(ReasonCode c) {
  static constexpr std::array<std::string_view, kReasonCodeCount> kNames = {
      "FIELD_INVALID",
      "CURRENCY_NOT_CNY",
      "ORDER_MISSING",
      "PAYMENT_MISSING",
      "WAYBILL_MISSING",
      "ARRIVAL_MISSING",
      "ORDER_AMOUNT_INCONSISTENT",
      "LINE_TOTAL_INCONSISTENT",
      "PAYMENT_AMOUNT_MISMATCH",
      "BUYER_PAYER_MISMATCH",
      "LIST_ORDER_MISMATCH",
      "CONSIGNEE_MISMATCH",
      "LOGISTICS_MISMATCH",
      "ID_INVALID",
      "ID_UNKNOWN",
      "ID_NAME_MISMATCH",
      "SINGLE_LIMIT_EXCEEDED",
      "ANNUAL_LIMIT_EXCEEDED",
      "NOT_RELEASED",
      "RETURN_WINDOW_EXPIRED"};
  return kNames[static_cast<int>(c)];
}

void ReasonList::Add(ReasonCode code, std::string_view detail) {
  for (auto& [c, d] : entries_) {
    if (c == code) {
      d.append("; ");
      d.append(detail);
      return;
    }
  }
  entries_.emplace_back(code, std::string(detail));
}

void ReasonList::AddAll(const ReasonList& other) {
  for (const auto& [code, detail] : other.entries_) Add(code, detail);
}

std::vector<Reason> ReasonList::Sorted() const {
  auto sorted = entries_;
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Reason> out;
  for (auto& [c, d] : sorted)
    out.push_back({std::string(ReasonCodeName(c)), d});
  return out;
}

std::string ReasonList::Info(const std::vector<Reason>& reasons) {
  std::string info;
  for (const Reason& r : reasons) {
    if (!info.empty()) info.append(" | ");
    info.append(r.code);
    info.append(": ");
    info.append(r.detail);
  }
  return info;
}

}  // namespace clearlane
