// StageContext is what the clearance operators see of the engine: their own
// state, their timers, their outputs, and stage B through the exchange. The
// engine implements it over its state stores and the epoch
// (pipeline/engine/task_context.h); tests implement it in memory
// (tests/memory_context.h). Operators never touch RocksDB, files, Kafka, the
// clock or the secret: the personal fields they keep come already hashed, in a
// document's state form.
//
// Thread-safety: one per task; not thread-safe.

#ifndef CLEARLANE_OPERATORS_STAGE_CONTEXT_H_
#define CLEARLANE_OPERATORS_STAGE_CONTEXT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "model/decimal.h"
#include "model/document.h"
#include "model/list_key.h"
#include "model/outputs.h"
#include "operators/allowance.h"
#include "operators/order_state.h"
#include "operators/waybill_index.h"

namespace clearlane {

class StageContext {
 public:
  virtual ~StageContext() = default;

  // Stage A: the documents of `orderNo`, empty if none. The reference stays
  // valid until the current record or timer is done; changes are written
  // back by the engine.
  virtual OrderGroup& Group(std::string_view orderNo) = 0;
  // The held version of an import waybill identity, or nullptr; Put
  // replaces it.
  virtual const WaybillVersion* Waybill(std::string_view logisticsCode,
                                        std::string_view logisticsNo) = 0;
  virtual void PutWaybill(std::string_view logisticsCode,
                          std::string_view logisticsNo,
                          const WaybillVersion& v) = 0;
  // The index across tasks (operators/waybill_index.h). SendWaybillFact
  // tells the index's task, when it is in another process, that an order
  // took a version, and says true; false: the index's task is in this
  // one (always in replay), read with Waybill at once. SendLetGo tells an
  // order's task in another process to let go of its copy and says true;
  // false: that task is in this one, and the caller lets go at once.
  virtual bool SendWaybillFact(const WaybillFact& /*fact*/) { return false; }
  virtual bool SendLetGo(const LetGo& /*go*/) { return false; }

  // A list's timeout, due at `due` (seconds). Set replaces nothing: cancel
  // the old one first. Stage L's expiry of a Shipment is a timer too, with
  // the ListKey {kCeb505, "", logisticsNo}.
  virtual void SetTimer(int64_t due, const ListKey& list) = 0;
  virtual void CancelTimer(int64_t due, const ListKey& list) = 0;

  // Stage B, through the exchange (operators/allowance.h): the buyer's
  // task's answer to a list that passed every check of stage A, and an
  // accepted cancel's or return's give-back, which needs no answer. The
  // answer comes at once when the buyer's task is in this process;
  // nullopt: it comes later, to Clearance::OnAllowanceAnswer.
  virtual std::optional<AllowanceAnswer> AskAllowance(
      const AllowanceRequest& request) = 0;
  // `list`: the list whose cancel or return gives back.
  virtual void SendGiveBack(const ListKey& list, const GiveBack& back) = 0;
  // Stage C, through the exchange (operators/summary.h): sends `list`'s
  // closing (EncodeClosedList), closed at `closed_at`, to stage C's task
  // in another process and says true; false: stage C is here, and the
  // caller summarises it at once.
  virtual bool SendClosedList(const ListKey& /*list*/,
                              std::string_view /*closing*/,
                              int64_t /*closed_at*/) {
    return false;
  }

  // The watermark before the current record (contract §9), seconds;
  // nullopt before the first document.
  virtual std::optional<int64_t> Watermark() const = 0;

  // Stage L: the export documents of one logisticsNo, empty if none. Same
  // lifetime and write-back as Group. An empty Shipment is removed.
  virtual Shipment& ShipmentOf(std::string_view logisticsNo) = 0;

  // Stage C. The state of a month (PeriodOf), default if never touched; the
  // engine writes it back and fires its close at `close_due` once set.
  virtual MonthState& Month(int32_t period) = 0;
  // Every month with state, ascending.
  virtual std::vector<int32_t> Months() = 0;
  // Keeps a closed list for the month's summary `round` (0: the month's
  // first forms, then supplements), under `key` (ClosedListKey).
  virtual void AddClosedList(int32_t period, int32_t round,
                             std::string_view key, std::string_view value) = 0;
  // Visits the closed lists of a round in key order; false from `visit`
  // stops. Then DropRound forgets them.
  virtual void ForEachClosedList(
      int32_t period, int32_t round,
      absl::FunctionRef<bool(std::string_view value)> visit) = 0;
  virtual void DropRound(int32_t period, int32_t round) = 0;
  virtual void EmitSummary(const SummaryForm& f) = 0;

  virtual void EmitReceipt(const Receipt& r) = 0;
};

}  // namespace clearlane

#endif  // CLEARLANE_OPERATORS_STAGE_CONTEXT_H_
