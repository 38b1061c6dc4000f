// Checks of item lines shared by the import and export rules (contract §5
// LINE_TOTAL_INCONSISTENT and the line part of LIST_ORDER_MISMATCH).
//
// Thread-safety: functions of their arguments.

#ifndef CLEARLANE_OPERATORS_LINE_CHECKS_H_
#define CLEARLANE_OPERATORS_LINE_CHECKS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "model/document.h"

namespace clearlane {

// True when totalPrice = price x qty rounded half-up to the fen.
bool LineTotalConsistent(Decimal price, Decimal qty, Decimal total);

// Adds "DOC items[i] (gnum g): totalPrice T, price x qty P" for each line of
// `doc` whose three amounts are present and disagree.
template <class T>
void CheckLineTotals(const T& doc, std::vector<std::string>* bad) {
  for (size_t i = 0; i < doc.items.size(); ++i) {
    const auto& l = doc.items[i];
    if (!l.price || !l.qty || !l.totalPrice) continue;
    if (!LineTotalConsistent(*l.price, *l.qty, *l.totalPrice)) {
      bad->push_back(absl::StrFormat(
          "%s items[%d] (gnum %s): totalPrice %s, price x qty %s",
          DocTypeName(T::kType), i, l.gnum ? absl::StrCat(*l.gnum) : "-",
          l.totalPrice->ToPlain(),
          Decimal::MultiplyRoundToFen(*l.price, *l.qty).ToPlain()));
    }
  }
}

// The list's lines one-to-one with the order's by gnum, with equal qty,
// price and totalPrice; lines without gnum are left out (contract §10).
// Adds a problem for each difference.
template <class List, class Order>
void CompareLines(const List& list, const Order& order,
                  std::vector<std::string>* problems) {
  // A document without lines (items null or []) is FIELD_INVALID (items)
  // already: no line is compared (contract §10 "Checks read only what is
  // there").
  if (list.items.empty() || order.items.empty()) return;
  std::map<int64_t, const typename decltype(Order::items)::value_type*>
      order_lines;
  std::map<int64_t, const typename decltype(List::items)::value_type*>
      list_lines;
  for (const auto& l : order.items) {
    if (!l.gnum) continue;
    if (!order_lines.emplace(*l.gnum, &l).second) {
      problems->push_back(absl::StrFormat("%s gnum %d twice",
                                          DocTypeName(Order::kType), *l.gnum));
    }
  }
  for (const auto& l : list.items) {
    if (!l.gnum) continue;
    if (!list_lines.emplace(*l.gnum, &l).second) {
      problems->push_back(absl::StrFormat("%s gnum %d twice",
                                          DocTypeName(List::kType), *l.gnum));
    }
  }
  for (const auto& [gnum, l] : list_lines) {
    auto it = order_lines.find(gnum);
    if (it == order_lines.end()) {
      problems->push_back(absl::StrFormat("gnum %d not on the order", gnum));
      continue;
    }
    const auto& o = *it->second;
    auto differs = [](const std::optional<Decimal>& a,
                      const std::optional<Decimal>& b) {
      return a && b && *a != *b;
    };
    std::vector<std::string> fields;
    if (differs(l->qty, o.qty)) fields.push_back("qty");
    if (differs(l->price, o.price)) fields.push_back("price");
    if (differs(l->totalPrice, o.totalPrice)) fields.push_back("totalPrice");
    if (!fields.empty()) {
      problems->push_back(absl::StrFormat("gnum %d %s differ", gnum,
                                          absl::StrJoin(fields, ", ")));
    }
  }
  for (const auto& [gnum, o] : order_lines) {
    if (!list_lines.count(gnum)) {
      problems->push_back(absl::StrFormat("gnum %d not on the list", gnum));
    }
  }
}

}  // namespace clearlane

#endif  // CLEARLANE_OPERATORS_LINE_CHECKS_H_
