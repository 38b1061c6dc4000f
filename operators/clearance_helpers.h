// Helpers the stages of Clearance share (clearance.h lists their files).
// Not for use elsewhere.
//
// Thread-safety: functions of their arguments.

#ifndef CLEARLANE_OPERATORS_CLEARANCE_HELPERS_H_
#define CLEARLANE_OPERATORS_CLEARANCE_HELPERS_H_

#include <string>
#include <string_view>

#include "absl/strings/str_format.h"
#include "model/event_time.h"
#include "model/outputs.h"
#include "operators/clearance.h"
#include "operators/order_state.h"
#include "operators/stage_context.h"

namespace clearlane::clearance_internal {

inline const Version* Present(const OrderGroup& g, DocType type,
                              std::string_view ebpCode) {
  auto it = g.docs.find({type, std::string(ebpCode)});
  if (it == g.docs.end() || !it->second.present()) return nullptr;
  return &it->second;
}

// Stage L's expiry of a shipment is a timer keyed like a list
// (StageContext::SetTimer).
inline ListKey ExpiryKey(std::string_view logisticsNo) {
  return {DocType::kCeb505, std::string(), std::string(logisticsNo)};
}

inline std::string_view ReceiptType(DocType t) {
  switch (t) {
    case DocType::kCeb621:
      return "CEB622";
    case DocType::kCeb623:
      return "CEB624";
    case DocType::kCeb625:
      return "CEB626";
    default:
      return "CEB604";
  }
}

inline std::string GuidFor(DocType type, std::string_view ebpCode,
                           std::string_view orderNo, int64_t appTime,
                           std::string_view status) {
  return DeriveGuid(absl::StrFormat("%s|%s|%s|%d|%s", DocTypeName(type),
                                    ebpCode, orderNo, appTime, status));
}

// The fields a receipt echoes, from a decoded list.
template <class List>
void EchoList(const List& l, Decision* d) {
  d->orderNo = std::string(l.orderNo);
  d->ebpCode = std::string(l.ebpCode);
  d->ebcCode = std::string(l.ebcCode);
  d->copNo = std::string(l.copNo);
  d->preNo = std::string(l.preNo);
  d->invtNo = std::string(l.invtNo);
  d->agentCode = std::string(l.agentCode);
  d->customsCode = std::string(l.customsCode);
  d->tradeMode = std::string(l.tradeMode);
}

inline void EchoInto(const Decision& d, Receipt* r) {
  r->orderNo = d.orderNo;
  r->ebpCode = d.ebpCode;
  r->ebcCode = d.ebcCode;
  r->copNo = d.copNo;
  r->preNo = d.preNo;
  r->invtNo = d.invtNo;
  r->agentCode = d.agentCode;
  r->customsCode = d.customsCode;
  r->tradeMode = d.tradeMode;
}

inline int64_t Seconds(absl::CivilSecond t) { return ToEpochSeconds(t); }

// A later version of a list that was decided (contract §1).
inline Refusal AlreadyDecided(const ListKey& key, const Decision& d) {
  return {
      DeadLetterCode::kListAlreadyDecided,
      absl::StrFormat("%s ebpCode %s orderNo %s was decided %s at %s",
                      DocTypeName(key.type), key.ebpCode, key.orderNo, d.status,
                      FormatTime14(FromEpochSeconds(d.decided_at)))};
}

// A later version of a list decided but for its buyer's answer: refused
// as decided, since it would be by the time the answer comes.
inline Refusal AwaitingAllowance(const ListKey& key, int64_t decided_at) {
  return {DeadLetterCode::kListAlreadyDecided,
          absl::StrFormat("%s ebpCode %s orderNo %s was decided at %s and "
                          "waits for its buyer's allowance",
                          DocTypeName(key.type), key.ebpCode, key.orderNo,
                          FormatTime14(FromEpochSeconds(decided_at)))};
}

}  // namespace clearlane::clearance_internal

#endif  // CLEARLANE_OPERATORS_CLEARANCE_HELPERS_H_
