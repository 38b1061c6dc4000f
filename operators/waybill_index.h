// The import waybill index across tasks (docs/engine.md "The import waybill
// index across processes").
//
// A waybill identity (contract §1: logisticsCode + logisticsNo) has one
// held version, but its versions reach the tasks of the orderNo each one
// names, and a new version may name another order. Two kinds of state say
// what is held:
//
//   - each order group keeps its own copy of the waybills that name it
//     (OrderGroup::waybills), and a version it lost (deleted, or newer
//     elsewhere) as a copy that is not present, at the winning appTime;
//   - the index, keyed by the identity (the partition of its logisticsNo),
//     keeps the newest version anyone told it of and the order it names
//     (WaybillVersion).
//
// An order's task takes a version newer than its own copy and tells the
// index (a WaybillFact). The index keeps the newer of the two and tells
// the order that lost, if another, to let go (a LetGo): the order's copy
// becomes not present at the winner's appTime. In one process (replay)
// the index is asked first and answers at once, so a stale version never
// enters an order; across processes the index answers an epoch later, and
// what an order decided meanwhile stands (decisions are final, contract
// §1), as it would have had the other version come later.
//
// Thread-safety: value types and free functions.

#ifndef CLEARLANE_OPERATORS_WAYBILL_INDEX_H_
#define CLEARLANE_OPERATORS_WAYBILL_INDEX_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace clearlane {

// A version of an import waybill an order's task took (or, with an empty
// orderNo, a version no order can use), told to the index's task.
struct WaybillFact {
  std::string logisticsCode, logisticsNo;
  int64_t appTime = 0;  // seconds since 1970-01-01 CST
  bool deleted = false;
  std::string orderNo;
  friend bool operator==(const WaybillFact&, const WaybillFact&) = default;
};

// The index's word to an order's task: its copy of the waybill is older
// than `appTime`, the held version's, which names another order or is
// deleted; the copy is no longer present.
struct LetGo {
  std::string logisticsCode, logisticsNo;
  std::string orderNo;  // the order that lets go
  int64_t appTime = 0;
  friend bool operator==(const LetGo&, const LetGo&) = default;
};

// The records as they cross the exchange's topics: a byte naming the kind
// and version, then the fields; decoding checks every byte. Facts share
// the buyers' topic with stage B's records (keyed by logisticsNo, they
// reach the index's task, the partition of the logisticsNo); let-goes
// share the answers' topic (keyed by orderNo).
std::string EncodeWaybillFact(const WaybillFact& f);
absl::StatusOr<WaybillFact> DecodeWaybillFact(std::string_view b);
bool IsWaybillFact(std::string_view b);
std::string EncodeLetGo(const LetGo& g);
absl::StatusOr<LetGo> DecodeLetGo(std::string_view b);
bool IsLetGo(std::string_view b);

}  // namespace clearlane

#endif  // CLEARLANE_OPERATORS_WAYBILL_INDEX_H_
