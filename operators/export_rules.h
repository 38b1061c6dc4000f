// The checks stage A makes on a 9610 export list (CEB603) and the documents
// matched to it (contract §5; domain.md "Export"): required fields, the
// documents missing at the timeout, line totals, the payment received
// against the order, and the list's lines against the order's. An export
// order has no buyer, so there is no identity, limit or tax check.
//
// Thread-safety: pure functions.

#ifndef CLEARLANE_OPERATORS_EXPORT_RULES_H_
#define CLEARLANE_OPERATORS_EXPORT_RULES_H_

#include "model/document.h"
#include "operators/reasons.h"

namespace clearlane {

// A list and what was matched to it. Null pointers (and `arrived` false)
// are documents that had not arrived.
struct ExportBundle {
  const Ceb603List* list = nullptr;  // required
  const Ceb303Order* order = nullptr;
  const Ceb403PaymentReceived* payment = nullptr;
  const Ceb505Waybill* waybill = nullptr;
  bool arrived = false;  // a CEB507 line names the list's waybill
  // The list's timeout fired: missing documents are now reasons.
  bool timed_out = false;
};

// Adds every failed check to `reasons`.
void CheckExportList(const ExportBundle& b, ReasonList* reasons);

}  // namespace clearlane

#endif  // CLEARLANE_OPERATORS_EXPORT_RULES_H_
