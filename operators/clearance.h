// Clearance: the import flow of stages A and B (design.md "The dataflow").
// Stage A keeps each document's held version (contract §1 "appType"),
// matches a list with its order, payment and waybill, and decides it when
// it is complete or when its timeout fires; stage B checks the buyer
// against the registry and the limits, computes the tax and keeps the
// buyer's yearly total. Cancels and returns are judged when they arrive.
//
// Export documents are accepted and held for issue 6's export flow; they
// have no effect yet.
//
// Thread-safety: not thread-safe; one instance per task.

#ifndef CLEARLANE_OPERATORS_CLEARANCE_H_
#define CLEARLANE_OPERATORS_CLEARANCE_H_

#include <string_view>

#include "model/document.h"
#include "operators/stage_context.h"
#include "operators/tax.h"

namespace clearlane {

struct ClearanceConfig {
  // Contract §8 defaults, in seconds of event time.
  int64_t import_timeout = 24 * 3600;
  int64_t export_timeout = 7 * 24 * 3600;
  int64_t return_window = 30 * 24 * 3600;
  const TaxRateTable* tax_rates = &TaxRateTable::Default();
};

class Clearance {
 public:
  explicit Clearance(ClearanceConfig config) : config_(config) {}

  // Processes one accepted document.
  void OnDocument(const Document& doc, StageContext& ctx);
  // A list's timeout fired.
  void OnTimeout(const ListKey& list, int64_t due, StageContext& ctx);

 private:
  void OnOrderOrPayment(DocType type, std::string_view ebpCode,
                        std::string_view orderNo, const Document& doc,
                        StageContext& ctx);
  void OnWaybill(const Ceb511Waybill& w, const Document& doc,
                 StageContext& ctx);
  void OnList(const Ceb621List& list, const Document& doc, StageContext& ctx);
  void OnCancelOrReturn(const Document& doc, StageContext& ctx);
  // Decides the list if its documents are all there.
  void TryComplete(OrderGroup& g, const ListKey& key, StageContext& ctx);
  void Decide(OrderGroup& g, const ListKey& key, bool timed_out,
              int64_t decided_at, StageContext& ctx);

  ClearanceConfig config_;
  // A bundle's documents, decoded side by side from state.
  Document list_doc_, order_doc_, payment_doc_, waybill_doc_;
};

}  // namespace clearlane

#endif  // CLEARLANE_OPERATORS_CLEARANCE_H_
