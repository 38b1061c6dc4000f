// Stage A's unit of state: every document that names one orderNo (orders,
// payments, lists, cancels and returns of any platform, and the import
// waybills that carry it), each as its held version (contract §1
// "appType"), and for a decided list the small record that late documents,
// cancels and returns still need.
//
// Thread-safety: a value type.

#ifndef CLEARLANE_OPERATORS_ORDER_STATE_H_
#define CLEARLANE_OPERATORS_ORDER_STATE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "model/decimal.h"
#include "model/document.h"

namespace clearlane {

// The held version of one document identity. A deleted document keeps its
// appTime against staler versions and drops its content.
struct Version {
  int64_t appTime = 0;  // seconds since 1970-01-01 CST
  bool deleted = false;
  // The held version in the state form of model/document_codec.h (personal
  // fields hashed); empty if deleted, or once the list it served is decided.
  std::string encoded;

  bool present() const { return !deleted; }
};

// What a released import list leaves for cancels, returns and the buyer's
// year: its dutiable value per line, by gnum.
struct ReleasedLine {
  int64_t gnum = 0;
  Decimal qty;
  Decimal value;  // v: totalPrice plus its share of freight and insurance
};

// A decided list, reduced to what is needed after the decision.
struct Decision {
  std::string status;      // "800" or "100"
  int64_t decided_at = 0;  // the receipt's returnTime, seconds
  // The fields receipts of later cancels and returns echo.
  std::string orderNo, ebpCode, ebcCode, copNo, preNo, invtNo, agentCode,
      customsCode, tradeMode;
  // Import releases: whose year the value counts in, and how much.
  std::string buyer;  // keyed hash of the buyer's identity number
  int32_t year = 0;
  std::vector<ReleasedLine> lines;
  // A cancel or a return was accepted: the list is no longer released.
  bool withdrawn = false;
  // Export: the waybill the list names, whether it closed (899), and until
  // it closes, what a released list with statisticsFlag B brings to its
  // month's summary (operators/summary.h EncodeClosedList; empty for A).
  std::string logisticsCode, logisticsNo;
  bool closed = false;
  std::string closing;
};

// A list waiting for its buyer's answer (operators/allowance.h), asked when
// the list was decided at `decided_at`. Cancels and returns arriving
// meanwhile wait in `deferred` (their state forms, in arrival order) and
// are answered after it.
struct PendingAnswer {
  int64_t decided_at = 0;
  std::vector<std::string> deferred;
};

struct ListEntry {
  Version version;  // the held list version
  // Why the held version's buyerIdNumber fails GB 11643, checked when it
  // arrived (state keeps only its hash); empty when valid or absent.
  std::string id_problem;
  std::optional<Decision> decision;  // set once the list is decided
  // Waiting for its buyer's answer: decided in all but the allowance's
  // outcome.
  std::optional<PendingAnswer> pending;
  // Decided or waiting for the answer: later versions are refused, no
  // timer runs, no document completes it again.
  bool settled() const { return decision.has_value() || pending.has_value(); }
};

// Documents keyed by their identity within the orderNo: docType and
// ebpCode for orders, payments, lists, cancels and returns; docType,
// logisticsCode and logisticsNo for waybills.
struct OrderGroup {
  std::map<std::pair<DocType, std::string>, Version> docs;
  std::map<std::pair<DocType, std::string>, ListEntry> lists;
  std::map<std::pair<std::string, std::string>, Version> waybills;

  bool empty() const {
    return docs.empty() && lists.empty() && waybills.empty();
  }
};

// A held arrival or departure line. Each line stands alone, identified by
// docType and logisticsNo (contract §1).
struct ShipmentEvent {
  int64_t appTime = 0;
  bool deleted = false;
  std::string logisticsCode;  // from the document's head; empty if absent

  bool present() const { return !deleted; }
};

// Stage L: the export documents that name one logisticsNo, and the lists
// that wait for them.
struct Shipment {
  std::map<std::string, Version> waybills;  // CEB505 versions by logisticsCode
  std::optional<ShipmentEvent> arrival, departure;
  // Lists naming this logisticsNo that still need it (undecided, or
  // released and not yet closed), as (ebpCode, orderNo).
  std::set<std::pair<std::string, std::string>> lists;
  // With no list waiting, the facts are dropped at this due time (the
  // export timeout after the latest of them); 0: no such timer.
  int64_t expires = 0;

  bool empty() const {
    return waybills.empty() && !arrival && !departure && lists.empty();
  }
};

// The held version of an import waybill identity (contract §1: docType +
// logisticsCode + logisticsNo) and the orderNo it names: the waybill index
// that finds the order a new version leaves.
struct WaybillVersion {
  int64_t appTime = 0;
  bool deleted = false;
  std::string orderNo;
};

// Stage C: where a month's summary stands.
struct MonthState {
  int64_t close_due = 0;  // the armed month close; 0: none armed
  bool written = false;   // the month's first forms were written
  int32_t round = 0;      // the supplement that new closes go to
  bool pending = false;   // closed lists wait in `round`
};

std::string EncodeShipment(const Shipment& s);
absl::StatusOr<Shipment> DecodeShipment(std::string_view bytes);
std::string EncodeMonthState(const MonthState& m);
absl::StatusOr<MonthState> DecodeMonthState(std::string_view bytes);

std::string EncodeOrderGroup(const OrderGroup& g);
absl::StatusOr<OrderGroup> DecodeOrderGroup(std::string_view bytes);
std::string EncodeWaybillVersion(const WaybillVersion& v);
absl::StatusOr<WaybillVersion> DecodeWaybillVersion(std::string_view bytes);

}  // namespace clearlane

#endif  // CLEARLANE_OPERATORS_ORDER_STATE_H_
