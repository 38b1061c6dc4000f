// Clearance's entry points: each document and each fired timer to the
// stage that owns it (clearance.h lists the stages and their files).

#include "operators/clearance.h"

#include <utility>
#include <variant>

#include "operators/clearance_helpers.h"

namespace clearlane {

std::optional<Refusal> Clearance::OnDocument(const Document& doc,
                                             std::string state_form,
                                             StageContext& ctx) {
  switch (TypeOf(doc)) {
    case DocType::kCeb311: {
      const auto& d = std::get<Ceb311Order>(doc);
      OnOrderOrPayment(DocType::kCeb311, d.ebpCode, d.orderNo, doc,
                       std::move(state_form), ctx);
      break;
    }
    case DocType::kCeb411: {
      const auto& d = std::get<Ceb411Payment>(doc);
      OnOrderOrPayment(DocType::kCeb411, d.ebpCode, d.orderNo, doc,
                       std::move(state_form), ctx);
      break;
    }
    case DocType::kCeb511:
      OnWaybill(std::get<Ceb511Waybill>(doc), std::move(state_form), ctx);
      break;
    case DocType::kCeb621:
      return OnList(std::get<Ceb621List>(doc), std::move(state_form), ctx);
    case DocType::kCeb623:
    case DocType::kCeb625:
      OnCancelOrReturn(doc, std::move(state_form), ctx);
      break;
    case DocType::kCeb303: {
      const auto& d = std::get<Ceb303Order>(doc);
      OnOrderOrPayment(DocType::kCeb303, d.ebpCode, d.orderNo, doc,
                       std::move(state_form), ctx);
      break;
    }
    case DocType::kCeb403: {
      const auto& d = std::get<Ceb403PaymentReceived>(doc);
      OnOrderOrPayment(DocType::kCeb403, d.ebpCode, d.orderNo, doc,
                       std::move(state_form), ctx);
      break;
    }
    case DocType::kCeb505:
      OnExportWaybill(std::get<Ceb505Waybill>(doc), std::move(state_form), ctx);
      break;
    case DocType::kCeb507:
    case DocType::kCeb509:
      OnArrivalOrDeparture(doc, ctx);
      break;
    case DocType::kCeb603:
      return OnExportList(std::get<Ceb603List>(doc), std::move(state_form),
                          ctx);
  }
  return std::nullopt;
}

void Clearance::OnTimeout(const ListKey& key, int64_t due, StageContext& ctx) {
  if (key.type == DocType::kCeb505) {
    OnShipmentExpiry(key.orderNo, due, ctx);
    return;
  }
  OrderGroup& g = ctx.Group(key.orderNo);
  auto it = g.lists.find({key.type, key.ebpCode});
  if (it == g.lists.end() || it->second.settled() ||
      !it->second.version.present()) {
    return;
  }
  if (key.type == DocType::kCeb603) {
    DecideExport(g, key, /*timed_out=*/true, due, ctx);
  } else {
    Decide(g, key, /*timed_out=*/true, due, ctx);
  }
}

void Clearance::ForEachTimer(
    std::string_view orderNo, const OrderGroup& g,
    absl::FunctionRef<void(int64_t due, const ListKey& list)> visit) const {
  for (const auto& [id, entry] : g.lists) {
    if (entry.settled() || !entry.version.present()) continue;
    const int64_t timeout = id.first == DocType::kCeb603
                                ? config_.export_timeout
                                : config_.import_timeout;
    visit(entry.version.appTime + timeout,
          ListKey{id.first, id.second, std::string(orderNo)});
  }
}

void Clearance::ForEachTimer(
    std::string_view logisticsNo, const Shipment& s,
    absl::FunctionRef<void(int64_t due, const ListKey& list)> visit) const {
  if (s.expires != 0) {
    visit(s.expires, clearance_internal::ExpiryKey(logisticsNo));
  }
}

}  // namespace clearlane
