// An in-memory StageContext for the operators' tests: every store a plain
// map, timers a set, outputs, refusals and the exchange's records collected
// in vectors; stage B and the waybill index answer at once, over the same
// maps, unless a test makes them answer later.

#ifndef CLEARLANE_TESTS_MEMORY_CONTEXT_H_
#define CLEARLANE_TESTS_MEMORY_CONTEXT_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "model/document_codec.h"
#include "operators/clearance.h"
#include "operators/stage_context.h"

namespace clearlane::testing {

class MemoryContext : public StageContext, public BuyerContext {
 public:
  OrderGroup& Group(std::string_view orderNo) override {
    return groups[std::string(orderNo)];
  }
  const WaybillVersion* Waybill(std::string_view code,
                                std::string_view no) override {
    auto it = waybills.find({std::string(code), std::string(no)});
    return it == waybills.end() ? nullptr : &it->second;
  }
  void PutWaybill(std::string_view code, std::string_view no,
                  const WaybillVersion& v) override {
    waybills[{std::string(code), std::string(no)}] = v;
  }
  bool SendWaybillFact(const WaybillFact& fact) override {
    if (!index_elsewhere) return false;
    index_records.push_back(fact);
    ++facts_sent;
    return true;
  }
  bool SendLetGo(const LetGo& go) override {
    if (!index_elsewhere) return false;
    index_records.push_back(go);
    ++let_goes_sent;
    return true;
  }
  // The index's and the orders' tasks take the records sent
  // (index_elsewhere) in the order sent, those they send meanwhile too.
  void DeliverIndexRecords(Clearance& clearance) {
    while (!index_records.empty()) {
      const auto record = index_records.front();
      index_records.erase(index_records.begin());
      if (const auto* fact = std::get_if<WaybillFact>(&record)) {
        clearance.OnWaybillFact(*fact, *this);
      } else {
        clearance.OnLetGo(std::get<LetGo>(record), *this);
      }
    }
  }
  void SetTimer(int64_t due, const ListKey& list) override {
    timers.insert({due, list});
  }
  void CancelTimer(int64_t due, const ListKey& list) override {
    timers.erase({due, list});
  }
  std::optional<AllowanceAnswer> AskAllowance(
      const AllowanceRequest& request) override {
    requests.push_back(request);
    if (defer_answers) {
      waiting.push_back(request);
      return std::nullopt;
    }
    return AnswerAllowance(request, *this);
  }
  // Stage B takes the oldest record waiting (defer_answers), as its task in
  // another process would: a give-back is applied, a request answered and
  // the answer given to stage A.
  void AnswerOldest(Clearance& clearance) {
    const auto record = waiting.front();
    waiting.erase(waiting.begin());
    if (const auto* back = std::get_if<GiveBack>(&record)) {
      ApplyGiveBack(*back, *this);
    } else {
      clearance.OnAllowanceAnswer(
          AnswerAllowance(std::get<AllowanceRequest>(record), *this), *this);
    }
  }
  void SendGiveBack(const ListKey& /*list*/, const GiveBack& back) override {
    give_backs.push_back(back);
    if (defer_answers) {
      waiting.push_back(back);
      return;
    }
    ApplyGiveBack(back, *this);
  }
  Decimal YearTotal(std::string_view buyer, int year) override {
    return totals[{std::string(buyer), year}];
  }
  void SetYearTotal(std::string_view buyer, int year, Decimal t) override {
    totals[{std::string(buyer), year}] = t;
  }
  bool HasRegistry() const override { return !registry.empty(); }
  Registered LookUp(std::string_view buyer, std::string_view name) override {
    auto it = registry.find(std::string(buyer));
    if (it == registry.end()) return Registered::kUnknown;
    return it->second == name ? Registered::kMatches : Registered::kNameDiffers;
  }
  std::optional<int64_t> Watermark() const override { return watermark; }
  Shipment& ShipmentOf(std::string_view no) override {
    return shipments[std::string(no)];
  }
  MonthState& Month(int32_t period) override { return months[period]; }
  std::vector<int32_t> Months() override {
    std::vector<int32_t> out;
    for (const auto& [p, m] : months) out.push_back(p);
    return out;
  }
  void AddClosedList(int32_t period, int32_t round, std::string_view key,
                     std::string_view value) override {
    closed[{period, round}][std::string(key)] = std::string(value);
  }
  void ForEachClosedList(
      int32_t period, int32_t round,
      absl::FunctionRef<bool(std::string_view)> visit) override {
    for (const auto& [k, v] : closed[{period, round}]) {
      if (!visit(v)) break;
    }
  }
  void DropRound(int32_t period, int32_t round) override {
    closed.erase({period, round});
  }
  void EmitSummary(const SummaryForm& f) override { summaries.push_back(f); }
  void EmitReceipt(const Receipt& r) override { receipts.push_back(r); }

  // Hands `doc` to `clearance` as the engine does: in its state form, with
  // "#" + value as the keyed hash; a refusal is kept in `dead`.
  void Submit(Clearance& clearance, const Document& doc) {
    std::string form = EncodeDocument(
        doc, [](std::string_view v) { return "#" + std::string(v); });
    if (auto refusal = clearance.OnDocument(doc, std::move(form), *this)) {
      dead.push_back(refusal->code);
    }
  }

  std::map<std::string, OrderGroup> groups;
  std::map<std::pair<std::string, std::string>, WaybillVersion> waybills;
  // The waybill index as another task (operators/waybill_index.h): facts
  // and let-goes wait in index_records for DeliverIndexRecords.
  bool index_elsewhere = false;
  std::vector<std::variant<WaybillFact, LetGo>> index_records;
  int64_t facts_sent = 0, let_goes_sent = 0;
  std::set<std::pair<int64_t, ListKey>> timers;
  std::map<std::pair<std::string, int>, Decimal> totals;
  std::map<std::string, std::string> registry;  // hash(id) -> hash(name)
  // What stage A sent stage B through the exchange, in order.
  std::vector<AllowanceRequest> requests;
  // Stage B takes the records later, in the order sent, by AnswerOldest:
  // the buyer's task in another process.
  bool defer_answers = false;
  std::vector<std::variant<AllowanceRequest, GiveBack>> waiting;
  std::vector<GiveBack> give_backs;
  std::vector<Receipt> receipts;
  std::vector<DeadLetterCode> dead;
  std::optional<int64_t> watermark;
  std::map<std::string, Shipment> shipments;
  std::map<int32_t, MonthState> months;
  std::map<std::pair<int32_t, int32_t>, std::map<std::string, std::string>>
      closed;
  std::vector<SummaryForm> summaries;
};

}  // namespace clearlane::testing

#endif  // CLEARLANE_TESTS_MEMORY_CONTEXT_H_
