// The 9610 export flow up to the close of each list: export stage A (the
// CEB303 order, CEB403 payment received and CEB603 list of an orderNo) and
// stage L, keyed by logisticsNo (CEB505 waybills, CEB507 arrivals and
// CEB509 departures, and the lists waiting on them): "清单核放" of
// "清单核放、汇总申报" (海关总署公告2018年第194号). Stage C, the summaries, is
// in summary.cc.

#include <algorithm>

#include "absl/strings/str_format.h"
#include "model/document_codec.h"
#include "model/event_time.h"
#include "operators/clearance.h"
#include "operators/clearance_helpers.h"
#include "operators/export_rules.h"

namespace clearlane {
namespace {

using clearance_internal::AlreadyDecided;
using clearance_internal::EchoInto;
using clearance_internal::EchoList;
using clearance_internal::ExpiryKey;
using clearance_internal::GuidFor;
using clearance_internal::Present;
using clearance_internal::Seconds;

// An arrival or departure names the list's waybill when it carries the
// list's logisticsNo and, if its head has one, the list's logisticsCode
// (contract §1).
bool Names(const std::optional<ShipmentEvent>& e,
           std::string_view logisticsCode) {
  return e && e->present() &&
         (e->logisticsCode.empty() || e->logisticsCode == logisticsCode);
}

const Version* WaybillOf(const Shipment& s, std::string_view logisticsCode) {
  auto it = s.waybills.find(std::string(logisticsCode));
  if (it == s.waybills.end() || !it->second.present()) return nullptr;
  return &it->second;
}

}  // namespace

void Clearance::OnExportWaybill(const Ceb505Waybill& w, std::string state_form,
                                StageContext& ctx) {
  const int64_t t = Seconds(w.appTime);
  Shipment& s = ctx.ShipmentOf(w.logisticsNo);
  auto [it, fresh] = s.waybills.try_emplace(std::string(w.logisticsCode));
  Version& held = it->second;
  if (!fresh && t <= held.appTime) return;  // stale or duplicate
  held.appTime = t;
  held.deleted = w.appType == AppType::kDelete;
  held.encoded = held.deleted ? std::string() : std::move(state_form);
  // Every list waiting on this logisticsNo may now be complete.
  const auto waiting = s.lists;
  for (const auto& [ebpCode, orderNo] : waiting) {
    TryCompleteExport(ctx.Group(orderNo), {DocType::kCeb603, ebpCode, orderNo},
                      ctx);
  }
  ArmExpiry(ctx.ShipmentOf(w.logisticsNo), w.logisticsNo, ctx);
}

void Clearance::OnArrivalOrDeparture(const Document& doc, StageContext& ctx) {
  const bool arrival = TypeOf(doc) == DocType::kCeb507;
  const DocumentHead& head = HeadOf(doc);
  const int64_t t = Seconds(head.appTime);
  const bool deleted = head.appType == AppType::kDelete;
  std::string_view code;
  std::vector<std::string_view> numbers;
  if (arrival) {
    const auto& a = std::get<Ceb507Arrival>(doc);
    code = a.logisticsCode;
    for (const auto& l : a.items) numbers.push_back(l.logisticsNo);
  } else {
    const auto& d = std::get<Ceb509Departure>(doc);
    code = d.logisticsCode;
    for (const auto& l : d.items) numbers.push_back(l.logisticsNo);
  }
  // Each line stands alone (contract §1), and its outputs follow the line
  // order (§9).
  for (std::string_view no : numbers) {
    Shipment& s = ctx.ShipmentOf(no);
    std::optional<ShipmentEvent>& held = arrival ? s.arrival : s.departure;
    if (held && t <= held->appTime) continue;  // stale or duplicate
    held = ShipmentEvent{t, deleted, std::string(code)};
    const auto waiting = s.lists;
    for (const auto& [ebpCode, orderNo] : waiting) {
      TryCompleteExport(ctx.Group(orderNo),
                        {DocType::kCeb603, ebpCode, orderNo}, ctx);
    }
    ArmExpiry(ctx.ShipmentOf(no), no, ctx);
  }
}

std::optional<Refusal> Clearance::OnExportList(const Ceb603List& list,
                                               std::string state_form,
                                               StageContext& ctx) {
  OrderGroup& g = ctx.Group(list.orderNo);
  const ListKey key{DocType::kCeb603, std::string(list.ebpCode),
                    std::string(list.orderNo)};
  const int64_t t = Seconds(list.appTime);
  auto it = g.lists.find({key.type, key.ebpCode});
  if (it != g.lists.end()) {
    ListEntry& entry = it->second;
    if (t <= entry.version.appTime) return std::nullopt;  // stale, duplicate
    if (entry.decision) return AlreadyDecided(key, *entry.decision);
    if (entry.version.present()) {
      ctx.CancelTimer(entry.version.appTime + config_.export_timeout, key);
      // The older version may have named another waybill.
      if (DecodeDocument(entry.version.encoded, &list_doc_).ok()) {
        const std::string old(std::get<Ceb603List>(list_doc_).logisticsNo);
        if (!old.empty()) Release(ctx.ShipmentOf(old), key, old, ctx);
      }
    }
  }
  ListEntry& entry = g.lists[{key.type, key.ebpCode}];
  entry.version.appTime = t;
  entry.version.deleted = list.appType == AppType::kDelete;
  entry.version.encoded =
      entry.version.deleted ? std::string() : std::move(state_form);
  // Withdrawn: no receipt (contract §1).
  if (entry.version.deleted) return std::nullopt;
  ctx.SetTimer(t + config_.export_timeout, key);
  if (!list.logisticsNo.empty()) {
    Shipment& s = ctx.ShipmentOf(list.logisticsNo);
    s.lists.emplace(key.ebpCode, key.orderNo);
    ArmExpiry(s, list.logisticsNo, ctx);
  }
  TryCompleteExport(g, key, ctx);
  return std::nullopt;
}

void Clearance::TryCompleteExport(OrderGroup& g, const ListKey& key,
                                  StageContext& ctx) {
  auto it = g.lists.find({key.type, key.ebpCode});
  if (it == g.lists.end() || !it->second.version.present()) return;
  if (const auto& d = it->second.decision) {
    // Released and waiting for its departure (contract §9: a departure
    // before the release is kept).
    if (d->status != "800" || d->closed || d->logisticsNo.empty()) return;
    const Shipment& s = ctx.ShipmentOf(d->logisticsNo);
    if (Names(s.departure, d->logisticsCode)) {
      CloseExport(g, key, std::max(s.departure->appTime, d->decided_at), ctx);
    }
    return;
  }
  const Version* order = Present(g, DocType::kCeb303, key.ebpCode);
  const Version* payment = Present(g, DocType::kCeb403, key.ebpCode);
  if (!order || !payment) return;
  if (!DecodeDocument(it->second.version.encoded, &list_doc_).ok()) return;
  const auto& list = std::get<Ceb603List>(list_doc_);
  if (list.logisticsNo.empty()) return;
  const Shipment& s = ctx.ShipmentOf(list.logisticsNo);
  const Version* waybill = WaybillOf(s, list.logisticsCode);
  if (!waybill || !Names(s.arrival, list.logisticsCode)) return;
  const int64_t completed_at =
      std::max({it->second.version.appTime, order->appTime, payment->appTime,
                waybill->appTime, s.arrival->appTime});
  ctx.CancelTimer(it->second.version.appTime + config_.export_timeout, key);
  DecideExport(g, key, /*timed_out=*/false, completed_at, ctx);
}

void Clearance::DecideExport(OrderGroup& g, const ListKey& key, bool timed_out,
                             int64_t decided_at, StageContext& ctx) {
  ListEntry& entry = g.lists[{key.type, key.ebpCode}];
  if (!DecodeDocument(entry.version.encoded, &list_doc_).ok()) return;
  const auto& list = std::get<Ceb603List>(list_doc_);
  const std::string logisticsNo(list.logisticsNo);
  ExportBundle b;
  b.list = &list;
  b.timed_out = timed_out;
  if (const Version* v = Present(g, DocType::kCeb303, key.ebpCode);
      v && DecodeDocument(v->encoded, &order_doc_).ok()) {
    b.order = &std::get<Ceb303Order>(order_doc_);
  }
  if (const Version* v = Present(g, DocType::kCeb403, key.ebpCode);
      v && DecodeDocument(v->encoded, &payment_doc_).ok()) {
    b.payment = &std::get<Ceb403PaymentReceived>(payment_doc_);
  }
  if (!logisticsNo.empty()) {
    const Shipment& s = ctx.ShipmentOf(logisticsNo);
    if (const Version* w = WaybillOf(s, list.logisticsCode);
        w && DecodeDocument(w->encoded, &waybill_doc_).ok()) {
      b.waybill = &std::get<Ceb505Waybill>(waybill_doc_);
    }
    b.arrived = Names(s.arrival, list.logisticsCode);
  }
  ReasonList reasons;
  CheckExportList(b, &reasons);

  Decision decision;
  EchoList(list, &decision);
  decision.decided_at = decided_at;
  decision.logisticsCode = std::string(list.logisticsCode);
  decision.logisticsNo = logisticsNo;
  Receipt r;
  r.docType = "CEB604";
  EchoInto(decision, &r);
  r.returnTime = FromEpochSeconds(decided_at);
  r.statisticsFlag = std::string(list.statisticsFlag);
  if (reasons.empty()) {
    decision.status = "800";
    r.returnInfo =
        "released: order, payment received, waybill and arrival agree";
    if (list.statisticsFlag == "B") {
      decision.closing = EncodeClosedList(ClosedListOf(list));
    }
  } else {
    decision.status = "100";
    r.reasons = reasons.Sorted();
    r.returnInfo = ReasonList::Info(r.reasons);
  }
  r.returnStatus = decision.status;
  r.guid = GuidFor(key.type, key.ebpCode, key.orderNo, entry.version.appTime,
                   r.returnStatus);
  ctx.EmitReceipt(r);
  entry.decision = std::move(decision);
  // Decided: the documents' content is no longer needed.
  entry.version.encoded.clear();
  for (DocType t : {DocType::kCeb303, DocType::kCeb403}) {
    auto d = g.docs.find({t, key.ebpCode});
    if (d != g.docs.end()) d->second.encoded.clear();
  }
  if (logisticsNo.empty()) return;
  if (entry.decision->status == "800") {
    TryCompleteExport(g, key, ctx);  // closes it if it already departed
  } else {
    Release(ctx.ShipmentOf(logisticsNo), key, logisticsNo, ctx);
  }
}

void Clearance::CloseExport(OrderGroup& g, const ListKey& key, int64_t at,
                            StageContext& ctx) {
  ListEntry& entry = g.lists[{key.type, key.ebpCode}];
  Decision& d = *entry.decision;
  d.closed = true;
  Receipt r;
  r.docType = "CEB604";
  EchoInto(d, &r);
  r.returnStatus = "899";
  r.returnTime = FromEpochSeconds(at);
  r.first_decided = FromEpochSeconds(d.decided_at);
  // Only a B list leaves what its month's summary needs (Decision::closing).
  r.statisticsFlag = d.closing.empty() ? "A" : "B";
  r.returnInfo =
      absl::StrFormat("closed: logisticsNo %s departed", d.logisticsNo);
  r.guid = GuidFor(key.type, key.ebpCode, key.orderNo, entry.version.appTime,
                   r.returnStatus);
  ctx.EmitReceipt(r);
  const std::string logisticsNo = d.logisticsNo;
  if (!d.closing.empty()) {
    if (!ctx.SendClosedList(key, d.closing, at)) Summarise(d.closing, at, ctx);
    d.closing.clear();
  }
  Release(ctx.ShipmentOf(logisticsNo), key, logisticsNo, ctx);
}

void Clearance::Release(Shipment& s, const ListKey& key,
                        std::string_view logisticsNo, StageContext& ctx) {
  s.lists.erase({key.ebpCode, key.orderNo});
  ArmExpiry(s, logisticsNo, ctx);
}

// A shipment nobody waits on keeps its facts for the export timeout after
// the latest of them, for a list that may still come; then they go.
void Clearance::ArmExpiry(Shipment& s, std::string_view logisticsNo,
                          StageContext& ctx) {
  int64_t due = 0;
  if (s.lists.empty()) {
    int64_t latest = INT64_MIN;
    for (const auto& [code, v] : s.waybills) {
      latest = std::max(latest, v.appTime);
    }
    if (s.arrival) latest = std::max(latest, s.arrival->appTime);
    if (s.departure) latest = std::max(latest, s.departure->appTime);
    if (latest != INT64_MIN) due = latest + config_.export_timeout;
  }
  if (due == s.expires) return;
  if (s.expires != 0) ctx.CancelTimer(s.expires, ExpiryKey(logisticsNo));
  if (due != 0) ctx.SetTimer(due, ExpiryKey(logisticsNo));
  s.expires = due;
}

void Clearance::OnShipmentExpiry(std::string_view logisticsNo, int64_t due,
                                 StageContext& ctx) {
  Shipment& s = ctx.ShipmentOf(logisticsNo);
  if (s.expires != due || !s.lists.empty()) return;
  s = Shipment();
}

}  // namespace clearlane
