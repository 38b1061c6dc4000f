// Receipts as the official CEB receipt messages (contract §11,
// ceb-xml/FORMAT.md §4): CEB622 / CEB624 / CEB626 with InventoryReturn /
// InvtCancelReturn / InvtRefundReturn in the default-namespace form of the
// official import receipts, and CEB604 with InventoryReturn in the `ceb:`
// form of the export receipts; one record per message, each element in
// the 2022-05 schema's order, valid against it.
//
// What the contract's JSON receipt has and the message has not (`reasons`
// as an array, `tax`, `annualTotal`, `tradeMode`, CEB622's `orderNo`) is
// left out; `reasons` go into `returnInfo` (XmlReturnInfo). Where the
// schema requires what the list lacks: `preNo` is assigned (AssignedPreNo),
// `copNo` and CEB604's `invtNo` take the list's `orderNo`, and CEB604's
// other required codes are written empty (the schema allows it).
//
// Thread-safety: pure functions.

#ifndef CLEARLANE_MODEL_RECEIPT_XML_H_
#define CLEARLANE_MODEL_RECEIPT_XML_H_

#include <string>
#include <string_view>

#include "absl/time/civil_time.h"
#include "model/outputs.h"

namespace clearlane {

// The most characters a receipt's returnInfo may hold (C..1000).
inline constexpr size_t kMaxReturnInfoChars = 1000;

// The preNo of a list without one (contract §11): 'B' (import) or 'P'
// (export), the date of the list's first decision as YYYYMMDD, and 9
// digits derived from the list's identity; 18 characters.
std::string AssignedPreNo(bool is_export, absl::CivilDay first_decision,
                          std::string_view ebpCode, std::string_view orderNo);

// The message's returnInfo: a receipt without reasons keeps its
// returnInfo; one with reasons gives each as "CODE: detail", joined by
// "; " (clearlane's returnInfo names exactly these, so nothing is said
// twice). Longer than kMaxReturnInfoChars characters, it is cut after the
// last reason that fits with "; +N more" naming how many were left out.
std::string XmlReturnInfo(const Receipt& r);

// Writes `r` as one receipt message, on one line, declaration first.
void EncodeReceiptXml(const Receipt& r, std::string* out);

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_RECEIPT_XML_H_
