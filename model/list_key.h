// A list's identity (contract §1): its docType, ebpCode and orderNo. Stage
// A decides lists by it, timers name the list they fire for, and stage L's
// expiry of a shipment borrows it ({CEB505, "", logisticsNo}).
//
// Thread-safety: a value type.

#ifndef CLEARLANE_MODEL_LIST_KEY_H_
#define CLEARLANE_MODEL_LIST_KEY_H_

#include <compare>
#include <string>

#include "model/document.h"

namespace clearlane {

struct ListKey {
  DocType type;
  std::string ebpCode;
  std::string orderNo;
  // docType, then ebpCode, then orderNo, bytewise: an order for sets and
  // maps. Timers due at once fire in contract §9's order instead (ebpCode,
  // orderNo, then docType; state/timer_store.h).
  friend auto operator<=>(const ListKey&, const ListKey&) = default;
};

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_LIST_KEY_H_
