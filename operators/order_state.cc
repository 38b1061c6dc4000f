#include "operators/order_state.h"

#include "model/coding.h"

namespace clearlane {
namespace {

// 2: decisions carry the export fields. 3: a list may be waiting for its
// buyer's answer; written only when one is, so that a state without one
// stays readable by the binaries before it.
constexpr uint8_t kGroupVersion = 2;
constexpr uint8_t kGroupVersionPending = 3;
// What follows a list entry's version.
enum EntryState : uint8_t { kUndecided = 0, kDecided = 1, kPending = 2 };
constexpr uint8_t kShipmentVersion = 1;
constexpr uint8_t kMonthVersion = 1;
constexpr uint8_t kWaybillVersion = 1;

void PutVersion(BinaryWriter& w, const Version& v) {
  w.SignedVarint(v.appTime);
  w.U8(v.deleted);
  w.Bytes(v.encoded);
}

Version GetVersion(BinaryReader& r) {
  Version v;
  v.appTime = r.SignedVarint();
  v.deleted = r.U8() != 0;
  v.encoded = std::string(r.Bytes());
  return v;
}

void PutDecision(BinaryWriter& w, const Decision& d) {
  w.Bytes(d.status);
  w.SignedVarint(d.decided_at);
  for (const std::string* s :
       {&d.orderNo, &d.ebpCode, &d.ebcCode, &d.copNo, &d.preNo, &d.invtNo,
        &d.agentCode, &d.customsCode, &d.tradeMode, &d.buyer}) {
    w.Bytes(*s);
  }
  w.SignedVarint(d.year);
  w.Varint(d.lines.size());
  for (const ReleasedLine& l : d.lines) {
    w.SignedVarint(l.gnum);
    PutDecimal(w, l.qty);
    PutDecimal(w, l.value);
  }
  w.U8(d.withdrawn);
  w.Bytes(d.logisticsCode);
  w.Bytes(d.logisticsNo);
  w.U8(d.closed);
  w.Bytes(d.closing);
}

Decision GetDecision(BinaryReader& r) {
  Decision d;
  d.status = std::string(r.Bytes());
  d.decided_at = r.SignedVarint();
  for (std::string* s :
       {&d.orderNo, &d.ebpCode, &d.ebcCode, &d.copNo, &d.preNo, &d.invtNo,
        &d.agentCode, &d.customsCode, &d.tradeMode, &d.buyer}) {
    *s = std::string(r.Bytes());
  }
  d.year = static_cast<int32_t>(r.SignedVarint());
  const uint64_t n = r.Varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    ReleasedLine l;
    l.gnum = r.SignedVarint();
    l.qty = GetDecimal(r);
    l.value = GetDecimal(r);
    d.lines.push_back(l);
  }
  d.withdrawn = r.U8() != 0;
  d.logisticsCode = std::string(r.Bytes());
  d.logisticsNo = std::string(r.Bytes());
  d.closed = r.U8() != 0;
  d.closing = std::string(r.Bytes());
  return d;
}

void PutEvent(BinaryWriter& w, const std::optional<ShipmentEvent>& e) {
  w.U8(e.has_value());
  if (!e) return;
  w.SignedVarint(e->appTime);
  w.U8(e->deleted);
  w.Bytes(e->logisticsCode);
}

std::optional<ShipmentEvent> GetEvent(BinaryReader& r) {
  if (!r.U8()) return std::nullopt;
  ShipmentEvent e;
  e.appTime = r.SignedVarint();
  e.deleted = r.U8() != 0;
  e.logisticsCode = std::string(r.Bytes());
  return e;
}

}  // namespace

std::string EncodeOrderGroup(const OrderGroup& g) {
  // Room for the held documents and a little per entry, so the writes
  // below seldom grow the string.
  size_t size = 16;
  for (const auto& [key, v] : g.docs) size += v.encoded.size() + 32;
  for (const auto& [key, e] : g.lists) size += e.version.encoded.size() + 256;
  for (const auto& [key, v] : g.waybills) size += v.encoded.size() + 64;
  std::string out;
  out.reserve(size);
  BinaryWriter w(&out);
  bool any_pending = false;
  for (const auto& [key, entry] : g.lists)
    any_pending |= entry.pending.has_value();
  w.U8(any_pending ? kGroupVersionPending : kGroupVersion);
  w.Varint(g.docs.size());
  for (const auto& [key, v] : g.docs) {
    w.U8(static_cast<uint8_t>(key.first));
    w.Bytes(key.second);
    PutVersion(w, v);
  }
  w.Varint(g.lists.size());
  for (const auto& [key, entry] : g.lists) {
    w.U8(static_cast<uint8_t>(key.first));
    w.Bytes(key.second);
    PutVersion(w, entry.version);
    w.Bytes(entry.id_problem);
    if (entry.decision) {
      w.U8(kDecided);
      PutDecision(w, *entry.decision);
    } else if (entry.pending) {
      w.U8(kPending);
      w.SignedVarint(entry.pending->decided_at);
      w.Varint(entry.pending->deferred.size());
      for (const std::string& d : entry.pending->deferred) w.Bytes(d);
    } else {
      w.U8(kUndecided);
    }
  }
  w.Varint(g.waybills.size());
  for (const auto& [key, v] : g.waybills) {
    w.Bytes(key.first);
    w.Bytes(key.second);
    PutVersion(w, v);
  }
  return out;
}

absl::StatusOr<OrderGroup> DecodeOrderGroup(std::string_view bytes) {
  BinaryReader r(bytes);
  OrderGroup g;
  const uint8_t version = r.U8();
  if (version != kGroupVersion && version != kGroupVersionPending) {
    return absl::DataLossError("order state of an unknown version");
  }
  const uint64_t docs = r.Varint();
  for (uint64_t i = 0; i < docs && r.ok(); ++i) {
    const auto type = static_cast<DocType>(r.U8());
    std::string ebp(r.Bytes());
    g.docs[{type, std::move(ebp)}] = GetVersion(r);
  }
  const uint64_t lists = r.Varint();
  for (uint64_t i = 0; i < lists && r.ok(); ++i) {
    const auto type = static_cast<DocType>(r.U8());
    std::string ebp(r.Bytes());
    ListEntry entry;
    entry.version = GetVersion(r);
    entry.id_problem = std::string(r.Bytes());
    const uint8_t state = r.U8();
    if (state == kDecided) {
      entry.decision = GetDecision(r);
    } else if (state == kPending && version == kGroupVersionPending) {
      PendingAnswer& p = entry.pending.emplace();
      p.decided_at = r.SignedVarint();
      const uint64_t n = r.Varint();
      for (uint64_t j = 0; j < n && r.ok(); ++j) {
        p.deferred.emplace_back(r.Bytes());
      }
    } else if (state != kUndecided) {
      return absl::DataLossError("order state is corrupt");
    }
    g.lists[{type, std::move(ebp)}] = std::move(entry);
  }
  const uint64_t waybills = r.Varint();
  for (uint64_t i = 0; i < waybills && r.ok(); ++i) {
    std::string code(r.Bytes());
    std::string no(r.Bytes());
    g.waybills[{std::move(code), std::move(no)}] = GetVersion(r);
  }
  if (!r.ok() || !r.done())
    return absl::DataLossError("order state is corrupt");
  return g;
}

std::string EncodeShipment(const Shipment& s) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kShipmentVersion);
  w.Varint(s.waybills.size());
  for (const auto& [code, v] : s.waybills) {
    w.Bytes(code);
    PutVersion(w, v);
  }
  PutEvent(w, s.arrival);
  PutEvent(w, s.departure);
  w.Varint(s.lists.size());
  for (const auto& [ebp, order] : s.lists) {
    w.Bytes(ebp);
    w.Bytes(order);
  }
  w.SignedVarint(s.expires);
  return out;
}

absl::StatusOr<Shipment> DecodeShipment(std::string_view bytes) {
  BinaryReader r(bytes);
  Shipment s;
  if (r.U8() != kShipmentVersion) {
    return absl::DataLossError("shipment state of an unknown version");
  }
  const uint64_t waybills = r.Varint();
  for (uint64_t i = 0; i < waybills && r.ok(); ++i) {
    std::string code(r.Bytes());
    s.waybills[std::move(code)] = GetVersion(r);
  }
  s.arrival = GetEvent(r);
  s.departure = GetEvent(r);
  const uint64_t lists = r.Varint();
  for (uint64_t i = 0; i < lists && r.ok(); ++i) {
    std::string ebp(r.Bytes());
    std::string order(r.Bytes());
    s.lists.emplace(std::move(ebp), std::move(order));
  }
  s.expires = r.SignedVarint();
  if (!r.ok() || !r.done()) {
    return absl::DataLossError("shipment state is corrupt");
  }
  return s;
}

std::string EncodeMonthState(const MonthState& m) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kMonthVersion);
  w.SignedVarint(m.close_due);
  w.U8(m.written);
  w.SignedVarint(m.round);
  w.U8(m.pending);
  return out;
}

absl::StatusOr<MonthState> DecodeMonthState(std::string_view bytes) {
  BinaryReader r(bytes);
  MonthState m;
  if (r.U8() != kMonthVersion) {
    return absl::DataLossError("month state of an unknown version");
  }
  m.close_due = r.SignedVarint();
  m.written = r.U8() != 0;
  m.round = static_cast<int32_t>(r.SignedVarint());
  m.pending = r.U8() != 0;
  if (!r.ok() || !r.done()) {
    return absl::DataLossError("month state is corrupt");
  }
  return m;
}

std::string EncodeWaybillVersion(const WaybillVersion& v) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kWaybillVersion);
  w.SignedVarint(v.appTime);
  w.U8(v.deleted);
  w.Bytes(v.orderNo);
  return out;
}

absl::StatusOr<WaybillVersion> DecodeWaybillVersion(std::string_view bytes) {
  BinaryReader r(bytes);
  WaybillVersion v;
  if (r.U8() != kWaybillVersion) {
    return absl::DataLossError("waybill version of an unknown version");
  }
  v.appTime = r.SignedVarint();
  v.deleted = r.U8() != 0;
  v.orderNo = std::string(r.Bytes());
  if (!r.ok() || !r.done()) return absl::DataLossError("waybill is corrupt");
  return v;
}

}  // namespace clearlane
