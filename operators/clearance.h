// Clearance: the import flow of stages A and B (design.md "The dataflow").
// Stage A keeps each document's held version (contract §1 "appType"),
// matches a list with its order, payment and waybill, and decides it when
// it is complete or when its timeout fires; stage B checks the buyer
// against the registry and the limits, computes the tax and keeps the
// buyer's yearly total. Cancels and returns are judged when they arrive.
//
// The 9610 export flow (operators/export_clearance.cc): stage A matches an
// export list with its order and payment received, stage L (keyed by
// logisticsNo) holds its waybill, arrival and departure; the list is
// released (800) when all are there and consistent, and closed (899) when a
// departure names its waybill. Stage C collects the closed lists with
// statisticsFlag B per month and writes the month's summary forms when the
// month closes, and supplements for lists that close later.
//
// Thread-safety: not thread-safe; one instance per task.

#ifndef CLEARLANE_OPERATORS_CLEARANCE_H_
#define CLEARLANE_OPERATORS_CLEARANCE_H_

#include <string_view>

#include "model/document.h"
#include "operators/stage_context.h"
#include "operators/summary.h"
#include "operators/tax.h"

namespace clearlane {

struct ClearanceConfig {
  // Contract §8 defaults, in seconds of event time.
  int64_t import_timeout = 24 * 3600;
  int64_t export_timeout = 7 * 24 * 3600;
  int64_t return_window = 30 * 24 * 3600;
  // A month closes this long after it ends.
  int64_t month_close_delay = 48 * 3600;
  FormOptions forms;
  const TaxRateTable* tax_rates = &TaxRateTable::Default();
};

class Clearance {
 public:
  explicit Clearance(ClearanceConfig config) : config_(config) {}

  // Processes one accepted document.
  void OnDocument(const Document& doc, StageContext& ctx);
  // A list's timeout (or stage L's expiry of a shipment) fired.
  void OnTimeout(const ListKey& list, int64_t due, StageContext& ctx);
  // A month's close fired (Month(period).close_due).
  void OnMonthClose(int32_t period, StageContext& ctx);
  // End of input (not --keep-open), after every timer fired: the pending
  // supplements are written.
  void OnEndOfInput(StageContext& ctx);
  // When the close of a month (PeriodOf) is due.
  int64_t MonthCloseDue(int32_t period) const;

 private:
  void OnOrderOrPayment(DocType type, std::string_view ebpCode,
                        std::string_view orderNo, const Document& doc,
                        StageContext& ctx);
  void OnWaybill(const Ceb511Waybill& w, const Document& doc,
                 StageContext& ctx);
  void OnList(const Ceb621List& list, const Document& doc, StageContext& ctx);
  void OnCancelOrReturn(const Document& doc, StageContext& ctx);

  // Export (export_clearance.cc).
  void OnExportWaybill(const Ceb505Waybill& w, const Document& doc,
                       StageContext& ctx);
  void OnArrivalOrDeparture(const Document& doc, StageContext& ctx);
  void OnExportList(const Ceb603List& list, const Document& doc,
                    StageContext& ctx);
  // Releases or rejects the export list if its documents are all there.
  void TryCompleteExport(OrderGroup& g, const ListKey& key, StageContext& ctx);
  void DecideExport(OrderGroup& g, const ListKey& key, bool timed_out,
                    int64_t decided_at, StageContext& ctx);
  // Closes a released export list (899) at `at`.
  void CloseExport(OrderGroup& g, const ListKey& key, int64_t at,
                   StageContext& ctx);
  // The list no longer waits on its shipment; arms the shipment's expiry
  // when nothing waits on it.
  void Release(Shipment& s, const ListKey& key, std::string_view logisticsNo,
               StageContext& ctx);
  void ArmExpiry(Shipment& s, std::string_view logisticsNo, StageContext& ctx);
  void OnShipmentExpiry(std::string_view logisticsNo, int64_t due,
                        StageContext& ctx);
  // Stage C: a closed list with statisticsFlag B enters its month.
  void Summarise(std::string_view closing, int64_t closed_at,
                 StageContext& ctx);
  // Writes the forms of one round of a month and moves the month on.
  void WriteRound(int32_t period, int32_t round, StageContext& ctx);
  // Decides the list if its documents are all there.
  void TryComplete(OrderGroup& g, const ListKey& key, StageContext& ctx);
  // Decides the list, timed out or complete. `list_decoded`: list_doc_
  // already holds its held version (TryComplete decoded it).
  void Decide(OrderGroup& g, const ListKey& key, bool timed_out,
              int64_t decided_at, StageContext& ctx, bool list_decoded = false);

  ClearanceConfig config_;
  // A bundle's documents, decoded side by side from state.
  Document list_doc_, order_doc_, payment_doc_, waybill_doc_;
  // The closed lists of the head group being written.
  std::vector<ClosedList> group_;
};

}  // namespace clearlane

#endif  // CLEARLANE_OPERATORS_CLEARANCE_H_
