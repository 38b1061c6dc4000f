// The checks stage A makes on an import list and the documents matched to
// it (contract §5, from FIELD_INVALID to ID_INVALID; 财关税〔2016〕18号
// clause 2 for the three documents, the CEB standard's field rules for the
// amounts). The registry, limit and tax checks are stage B's.
//
// Thread-safety: pure functions.

#ifndef CLEARLANE_OPERATORS_IMPORT_RULES_H_
#define CLEARLANE_OPERATORS_IMPORT_RULES_H_

#include "model/document.h"
#include "operators/line_checks.h"
#include "operators/reasons.h"

namespace clearlane {

// A list and what was matched to it. Null pointers are documents that had
// not arrived.
struct ImportBundle {
  const Ceb621List* list = nullptr;  // required
  const Ceb311Order* order = nullptr;
  const Ceb411Payment* payment = nullptr;
  const Ceb511Waybill* waybill = nullptr;
  // The list's timeout fired: missing documents are now reasons.
  bool timed_out = false;
  // Some waybill carries the list's orderNo, but not its logisticsCode and
  // logisticsNo (LOGISTICS_MISMATCH instead of WAYBILL_MISSING).
  bool other_waybills = false;
  // Why the list's buyerIdNumber fails GB 11643 (checked on arrival, when
  // it was in clear); empty when valid.
  std::string_view id_problem;
};

// Adds every failed check to `reasons`.
void CheckImportList(const ImportBundle& b, ReasonList* reasons);

// Whether a field that Appendix A requires, the tradeMode, or a gcode makes
// the document FIELD_INVALID; adds "DOC field, field" details. Shared with
// export.
void CheckRequiredFields(const Document& doc, ReasonList* reasons);

}  // namespace clearlane

#endif  // CLEARLANE_OPERATORS_IMPORT_RULES_H_
