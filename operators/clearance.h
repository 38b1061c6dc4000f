// Clearance: the clearance rules of every stage, as code that takes a
// document (or a fired timer) and a StageContext and changes state, sets
// timers and emits outputs (design.md "The dataflow"). One file a stage:
//
//   import_clearance.cc  stage A, import: each document's held version
//                        (contract §1 "appType"), matching a list with its
//                        order, payment and waybill, the checks, the
//                        decision when complete or timed out; cancels and
//                        returns.
//   allowance.cc         stage B: the identity registry, the yearly limit,
//                        the buyer's yearly total; stage A reaches it
//                        through the exchange (operators/allowance.h).
//   export_clearance.cc  stage L and export stage A: the 9610 export list
//                        matched with its order and payment received, its
//                        waybill, arrival and departure (keyed by
//                        logisticsNo); released (800) when all agree,
//                        closed (899) at its departure.
//   summary.cc           stage C: the closed lists with statisticsFlag B of
//                        each month, written as summary forms when the
//                        month closes, and supplements after.
//
// The rules themselves are in import_rules, export_rules, tax and reasons;
// the state they keep in order_state.
//
// Thread-safety: not thread-safe; one instance per task.

#ifndef CLEARLANE_OPERATORS_CLEARANCE_H_
#define CLEARLANE_OPERATORS_CLEARANCE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "model/dead_letter.h"
#include "model/document.h"
#include "operators/allowance.h"
#include "operators/reasons.h"
#include "operators/stage_context.h"
#include "operators/summary.h"
#include "operators/tax.h"
#include "operators/waybill_index.h"

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

// A document the operators refuse: a later version of a list that was
// already decided (contract §1). It becomes a dead letter with this code
// and detail, and it does not move event time.
struct Refusal {
  DeadLetterCode code;
  std::string detail;
};

class Clearance {
 public:
  explicit Clearance(ClearanceConfig config) : config_(config) {}

  // Processes one accepted document. `state_form` is the document in the
  // form state keeps it (model/document_codec.h: personal fields keyed
  // hashes), prepared by the decoder.
  std::optional<Refusal> OnDocument(const Document& doc, std::string state_form,
                                    StageContext& ctx);
  // The buyer's task answered a list that waits for it (StageContext::
  // AskAllowance said the answer comes later). An answer for a list that
  // no longer waits (a copy, after a crash) is dropped: false.
  bool OnAllowanceAnswer(const AllowanceAnswer& answer, StageContext& ctx);
  // The import waybill index across tasks (operators/waybill_index.h):
  // the index's task is told of a version an order took, and keeps it or
  // tells that order to let go; an order's task lets go of its copy.
  void OnWaybillFact(const WaybillFact& fact, StageContext& ctx);
  void OnLetGo(const LetGo& go, StageContext& ctx);
  // A list's timeout (or stage L's expiry of a shipment) fired.
  void OnTimeout(const ListKey& list, int64_t due, StageContext& ctx);
  // A month's close fired (Month(period).close_due).
  void OnMonthClose(int32_t period, StageContext& ctx);
  // End of input (not --keep-open), after every timer fired: the pending
  // supplements are written.
  void OnEndOfInput(StageContext& ctx);
  // When the close of a month (PeriodOf) is due.
  int64_t MonthCloseDue(int32_t period) const;
  // Stage C's end of the exchange: a closed list that StageContext::
  // SendClosedList sent enters its month, seen at ctx.Watermark().
  void OnClosedList(const ClosedListRecord& r, StageContext& ctx) {
    Summarise(r.closing, r.closed_at, ctx);
  }

  // The timers the rules keep set for a group or a shipment, which are a
  // function of it: one for each undecided list whose held version is
  // present, due its timeout after that version's appTime (OnList,
  // OnExportList), and a shipment's expiry when armed (ArmExpiry). The
  // engine does not store timers; it rebuilds them from these at a start.
  void ForEachTimer(
      std::string_view orderNo, const OrderGroup& g,
      absl::FunctionRef<void(int64_t due, const ListKey& list)> visit) const;
  void ForEachTimer(
      std::string_view logisticsNo, const Shipment& s,
      absl::FunctionRef<void(int64_t due, const ListKey& list)> visit) const;

 private:
  // Stage A, import (import_clearance.cc).
  void OnOrderOrPayment(DocType type, std::string_view ebpCode,
                        std::string_view orderNo, const Document& doc,
                        std::string state_form, StageContext& ctx);
  void OnWaybill(const Ceb511Waybill& w, std::string state_form,
                 StageContext& ctx);
  // The index's rule: keeps `fact` if newer than the held version, and
  // then the order the held one named lets go; false: stale, nothing
  // changes.
  bool IndexWaybill(const WaybillFact& fact, StageContext& ctx);
  // Through the exchange, or at once when the order's task is here.
  void LetGoOf(const LetGo& go, StageContext& ctx);
  std::optional<Refusal> OnList(const Ceb621List& list, std::string state_form,
                                StageContext& ctx);
  void OnCancelOrReturn(const Document& doc, std::string state_form,
                        StageContext& ctx);
  // The receipt of a cancel or return whose version is held: against the
  // decided list, the waiting one, or none.
  void AnswerCancelOrReturn(const Document& doc, OrderGroup& g,
                            StageContext& ctx);
  // Decides the list if its documents are all there.
  void TryComplete(OrderGroup& g, const ListKey& key, StageContext& ctx);
  // Decides the list, timed out or complete. `list_decoded`: list_doc_
  // already holds its held version (TryComplete decoded it).
  void Decide(OrderGroup& g, const ListKey& key, bool timed_out,
              int64_t decided_at, StageContext& ctx, bool list_decoded = false);
  // Writes the decision of the list in list_doc_: released when `answer`
  // says so, otherwise rejected for `reasons` (stage A's and the answer's);
  // emits the receipt.
  void Finish(OrderGroup& g, const ListKey& key, int64_t decided_at,
              const ReasonList& reasons, const AllowanceRequest* request,
              const ListTax* tax, const AllowanceAnswer* answer,
              StageContext& ctx);

  // Stage A's half of the allowance: the list's tax and the
  // single-transaction limit, functions of the list alone, and the request
  // to its buyer's task (stage B, operators/allowance.h). Adds a reason
  // for the limit.
  AllowanceRequest RequestFor(const ListKey& key, const Ceb621List& list,
                              ListTax* tax, ReasonList* reasons) const;
  // Releases the list as its buyer's task answered: says so in `decision`
  // and the receipt.
  void Release(const Ceb621List& list, const AllowanceRequest& request,
               const ListTax& tax, const AllowanceAnswer& answer,
               Decision* decision, Receipt* r) const;

  // Stage L and export stage A (export_clearance.cc).
  void OnExportWaybill(const Ceb505Waybill& w, std::string state_form,
                       StageContext& ctx);
  void OnArrivalOrDeparture(const Document& doc, StageContext& ctx);
  std::optional<Refusal> OnExportList(const Ceb603List& list,
                                      std::string state_form,
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

  // Stage C (summary.cc): a closed list with statisticsFlag B enters its
  // month.
  void Summarise(std::string_view closing, int64_t closed_at,
                 StageContext& ctx);
  // Writes the forms of one round of a month and moves the month on.
  void WriteRound(int32_t period, int32_t round, StageContext& ctx);

  ClearanceConfig config_;
  // A bundle's documents, decoded side by side from state.
  Document list_doc_, order_doc_, payment_doc_, waybill_doc_;
  // The closed lists of the head group being written.
  std::vector<ClosedList> group_;
};

}  // namespace clearlane

#endif  // CLEARLANE_OPERATORS_CLEARANCE_H_
