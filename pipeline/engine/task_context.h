// TaskContext is the operators' StageContext over the task's state stores
// (state/): order groups, import waybills, yearly totals and shipments in
// CachedStores, the timers, stage C's months and closed lists, and the
// identity registry. The operators' outputs go to the open epoch, encoded
// as their lines (model/encode.h) with their Kafka keys (contract §1).
//
// Changes stay in memory until Flush writes them into the epoch's batch;
// Forget then trims the caches, once that batch has landed.
//
// Thread-safety: not thread-safe; the engine's thread.

#ifndef CLEARLANE_PIPELINE_ENGINE_TASK_CONTEXT_H_
#define CLEARLANE_PIPELINE_ENGINE_TASK_CONTEXT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "operators/allowance.h"
#include "operators/clearance.h"
#include "operators/order_state.h"
#include "operators/stage_context.h"
#include "pipeline/engine/reaper.h"
#include "state/cached_store.h"
#include "state/month_store.h"
#include "state/registry_store.h"
#include "state/sorted_store.h"
#include "state/store.h"
#include "state/timer_store.h"

namespace clearlane {

class EpochCommitter;
class Metrics;

class TaskContext : public StageContext, public BuyerContext {
 public:
  TaskContext(StateStore* store, bool has_registry);

  // Loads the months' states and sets the timers that `rules` say the
  // state's order groups and shipments have (timers are not stored). Call
  // once, before processing.
  absl::Status Load(const Clearance& rules);
  // For a state on which no epoch has committed: if its orders, logistics
  // and buyers stores are indeed empty, the caches skip the reads of keys
  // they never wrote (CachedStore::set_started_empty). Call once, before
  // processing.
  absl::Status NoteStartedEmpty();
  // Stage A's task count: the partitions of orderNo that lead the keys of
  // orders and list timers (1 in replay, the input topics' partition count
  // in Kafka mode). Set before any state is read.
  void set_partitions(int32_t n) { partitions_ = n; }
  // Where outputs go (not owned), and what counts them (may be null).
  void set_epoch(EpochCommitter* epoch) { epoch_ = epoch; }
  void set_metrics(Metrics* metrics) { metrics_ = metrics; }
  // Receipts as official XML messages (EngineOptions::receipts_xml).
  void set_receipts_xml(bool xml) { receipts_xml_ = xml; }
  // Stages B and C through the exchange's topics (Kafka mode): requests
  // and give-backs go out as kAllowance records keyed by the buyer, and
  // answers come back later; closed lists go out as kClosedLists records
  // to stage C's task, which closes months on the watermark they bring
  // (Task::ProcessExchange). Otherwise (replay) the buyers' task and stage
  // C in this context answer and summarise at once, and months close on
  // the engine's watermark. The import waybill index's facts (on the
  // kAllowance stream, keyed by logisticsNo) and let-goes (with the
  // answers, keyed by orderNo) cross only between processes
  // (set_tasks_here).
  void set_exchange_through_topics(bool on) { through_topics_ = on; }
  bool months_here() const { return !through_topics_; }
  // The tasks this process has (group.members = many: its assignment);
  // nullopt, the default: every task. The import waybill index's records
  // cross the exchange only between tasks of different processes: within
  // one they are applied at once, so that one process judges a waybill's
  // versions in the order it reads them (contract §9), as replay does.
  void set_tasks_here(std::optional<absl::flat_hash_set<int32_t>> tasks) {
    tasks_here_ = std::move(tasks);
  }
  bool Here(int32_t task) const {
    return !tasks_here_ || tasks_here_->contains(task);
  }
  // Stage C's event time (Kafka mode): the greatest watermark its records
  // brought, kept in the state (kSummaryWatermarkKey) with the months it
  // closed.
  std::optional<int64_t> summary_watermark() const {
    return summary_watermark_;
  }
  void AdvanceSummaryWatermark(std::optional<int64_t> w) {
    if (w && (!summary_watermark_ || *w > *summary_watermark_)) {
      summary_watermark_ = w;
      summary_watermark_dirty_ = true;
    }
  }
  // Kafka mode: sends stage C a watermark mark when `watermark` (the
  // engine's, as an epoch commits) moved since the last one sent; an
  // epoch with nothing else in it commits for it (MarkDue), so a month
  // closes when the watermark moves on its own (an idle partition).
  void SendWatermarkMark(std::optional<int64_t> watermark);
  bool MarkDue(std::optional<int64_t> watermark) const {
    return through_topics_ && watermark &&
           (!mark_sent_ || *watermark > *mark_sent_);
  }
  // Emits `record` on the exchange's stream `s` keyed by `key`, stamped
  // with `writer`'s next number for the partition the key goes to
  // (writer_stamp.h; one of the partitions_ tasks).
  void EmitExchange(OutputStream s, int32_t writer, std::string key,
                    std::string_view record);
  // The watermark operators see (StageContext::Watermark).
  void set_watermark(std::optional<int64_t> w) { watermark_ = w; }

  TimerStore& timers() { return timers_; }
  // The earliest armed month close, if any (it fires by clearing
  // MonthState::close_due, in Clearance::OnMonthClose).
  bool NextMonthClose(int64_t* due, int32_t* period) const;
  // Lists waiting for documents (their timers), and stage L's shipments
  // waiting to expire.
  int64_t pending_lists() const { return timers_.pending_lists(); }
  int64_t pending_shipments() const { return timers_.pending_shipments(); }
  // Lists waiting for their buyer's answer (Kafka mode): counted at Load,
  // one more with each request, one fewer with each answer applied.
  int64_t awaiting_allowance() const { return awaiting_allowance_; }
  void AllowanceAnswered() { --awaiting_allowance_; }

  // A task that moves (docs/engine.md "What (d) and (a) must also get
  // right", 6). ForgetTasks, once the epoch that wrote the tasks' last
  // changes has landed: their cached entries (order groups, waybills,
  // totals, writers' numbers, shipments) and timers go, and the lists of
  // theirs waiting for an answer are no longer counted. AdoptTasks, once
  // their state is in the store (caught up from the changelog, perhaps
  // underneath the caches): every cache reads the store on a miss from
  // then on, and the tasks' timers and waiting lists are read from their
  // order groups and shipments; with task 0, stage C's months and
  // watermark are read again. A task of a key is the partition of its
  // orderNo, logisticsNo or buyer, or its writer.
  absl::Status ForgetTasks(const absl::flat_hash_set<int32_t>& tasks,
                           const Clearance& rules);
  absl::Status AdoptTasks(const absl::flat_hash_set<int32_t>& tasks,
                          const Clearance& rules);

  // Writes the changed state into `batch`; the entries are clean from
  // then on.
  void Flush(WriteBatch* batch);
  // Forgets the oldest clean entries of the caches beyond `capacity`,
  // handing them to `reaper` to free; only once the writes that made them
  // clean have landed.
  void Forget(size_t capacity, Reaper* reaper);
  // The first error of a state read, if any; the engine stops on it.
  absl::Status status() const;
  // Stops the engine with `error` (at the next commit), unless an error
  // came first.
  void Fail(absl::Status error) {
    if (status_.ok()) status_ = std::move(error);
  }

  // StageContext.
  OrderGroup& Group(std::string_view orderNo) override;
  const WaybillVersion* Waybill(std::string_view logisticsCode,
                                std::string_view logisticsNo) override;
  void PutWaybill(std::string_view logisticsCode, std::string_view logisticsNo,
                  const WaybillVersion& v) override;
  void SetTimer(int64_t due, const ListKey& list) override {
    timers_.Set(due, list);
  }
  void CancelTimer(int64_t due, const ListKey& list) override {
    timers_.Cancel(due, list);
  }
  bool SendWaybillFact(const WaybillFact& fact) override;
  bool SendLetGo(const LetGo& go) override;
  std::optional<AllowanceAnswer> AskAllowance(
      const AllowanceRequest& request) override;
  void SendGiveBack(const ListKey& list, const GiveBack& back) override;
  bool SendClosedList(const ListKey& list, std::string_view closing,
                      int64_t closed_at) override;
  std::optional<int64_t> Watermark() const override { return watermark_; }
  Shipment& ShipmentOf(std::string_view logisticsNo) override;
  MonthState& Month(int32_t period) override { return months_.Month(period); }
  std::vector<int32_t> Months() override;
  void AddClosedList(int32_t period, int32_t round, std::string_view key,
                     std::string_view value) override;
  void ForEachClosedList(
      int32_t period, int32_t round,
      absl::FunctionRef<bool(std::string_view value)> visit) override;
  void DropRound(int32_t period, int32_t round) override;
  void EmitSummary(const SummaryForm& f) override;
  void EmitReceipt(const Receipt& r) override;

  // BuyerContext: stage B's state, the buyers' task in this process.
  Decimal YearTotal(std::string_view buyer, int year) override;
  void SetYearTotal(std::string_view buyer, int year, Decimal total) override;
  bool HasRegistry() const override { return has_registry_; }
  Registered LookUp(std::string_view buyer,
                    std::string_view name_hash) override;

 private:
  absl::Status RestoreTimers(const Clearance& rules);
  // Stage C's months and watermark, from the store.
  absl::Status LoadStageC();
  // Reads the order groups and shipments of `tasks` (nullopt: every
  // task's): counts (`adopt`) or uncounts their lists waiting for an
  // answer, and with `adopt` sets their timers.
  absl::Status ReadTasks(
      const std::optional<absl::flat_hash_set<int32_t>>& tasks,
      const Clearance& rules, bool adopt);

  StateStore* store_;
  bool has_registry_;
  bool receipts_xml_ = false;
  bool through_topics_ = false;
  std::optional<absl::flat_hash_set<int32_t>> tasks_here_;
  int64_t awaiting_allowance_ = 0;
  std::optional<int64_t> summary_watermark_;
  bool summary_watermark_dirty_ = false;
  std::optional<int64_t> mark_sent_;  // the last watermark mark's
  int32_t partitions_ = 1;
  EpochCommitter* epoch_ = nullptr;
  Metrics* metrics_ = nullptr;
  std::optional<int64_t> watermark_;
  // Read errors the engine stops on, besides the stores' own.
  absl::Status status_;

  CachedStore<OrderGroup> groups_;  // keyed by orderNo
  CachedStore<WaybillVersion> waybills_;
  CachedStore<int64_t> totals_;  // units of 10^-5
  // Each writer task's next number per exchange stream and partition.
  CachedStore<int64_t> writer_seqs_;
  CachedStore<Shipment> shipments_;
  TimerStore timers_;
  MonthStore<MonthState> months_;
  SortedStore closed_;
  RegistryStore registry_;
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_ENGINE_TASK_CONTEXT_H_
