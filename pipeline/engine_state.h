// EngineState implements the operators' StageContext over RocksDB: a cache
// of the state each record touches (read from RocksDB on a miss, written
// back as blind writes in the epoch's WriteBatch), the timers (all held in
// memory in firing order and mirrored to Store::kTimers), the buyer keys
// (HMAC-SHA256 with the run's secret) and the identity registry.
//
// Thread-safety: not thread-safe; one per engine thread.

#ifndef CLEARLANE_PIPELINE_ENGINE_STATE_H_
#define CLEARLANE_PIPELINE_ENGINE_STATE_H_

#include <xxhash.h>

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "operators/stage_context.h"
#include "pipeline/hmac.h"
#include "pipeline/reaper.h"
#include "rocksdb/write_batch.h"
#include "state/store.h"

namespace clearlane {

class EngineState : public StageContext {
 public:
  struct Outputs {
    std::function<void(const Receipt&)> receipt;
    std::function<void(DeadLetterCode, std::string)> dead_letter;
    std::function<void(const SummaryForm&)> summary;
  };
  // `batch` is the open epoch's batch; timers are written to it directly.
  EngineState(StateStore* store, rocksdb::WriteBatch* batch,
              std::string hmac_secret, bool has_registry, Outputs outputs);

  // Loads the timers and the months' states from the store. Call once,
  // before processing.
  absl::Status LoadTimers();
  // For a state on which no epoch has committed: if its orders, logistics
  // and buyers stores are indeed empty, the caches skip the reads of keys
  // they never wrote (Cache::MayBeStored). Call once, before processing.
  absl::Status NoteStartedEmpty();
  // The earliest list timer, if any.
  bool NextTimer(int64_t* due, ListKey* list) const;
  // Removes the earliest list timer (it is firing).
  void PopTimer();
  // The earliest armed month close, if any (it fires by clearing
  // MonthState::close_due, in Clearance::OnMonthClose).
  bool NextMonthClose(int64_t* due, int32_t* period) const;
  // Stage A's task count: the partitions of orderNo that lead the keys of
  // orders and list timers (1 in replay, the input topics' partition count
  // in Kafka mode). Set before any state is read.
  void set_partitions(int32_t n) { partitions_ = n; }
  // Lists waiting for documents (their timers), and stage L's shipments
  // waiting to expire.
  int64_t pending_lists() const { return pending_[0]; }
  int64_t pending_shipments() const { return pending_[1]; }
  // The watermark operators see (StageContext::Watermark).
  void set_watermark(std::optional<int64_t> w) { watermark_ = w; }

  // Writes the changed state into the epoch's batch; the entries are
  // clean from then on.
  void Flush();
  // Forgets the oldest clean entries of the caches beyond their size; only
  // once the writes that made them clean have landed.
  void Forget();
  // Who frees the entries Forget forgets (null: Forget frees them).
  void set_reaper(Reaper* reaper) { reaper_ = reaper; }
  // Entries each cache keeps past a commit (EngineOptions::cache_entries).
  void set_cache_entries(size_t n) { cache_entries_ = n; }
  // The batch the open epoch's changes go to.
  void set_batch(rocksdb::WriteBatch* batch) { batch_ = batch; }
  // The first error of a state read, if any; the engine stops on it.
  const absl::Status& status() const { return status_; }

  // StageContext.
  OrderGroup& Group(std::string_view orderNo) override;
  const WaybillVersion* Waybill(std::string_view logisticsCode,
                                std::string_view logisticsNo) override;
  void PutWaybill(std::string_view logisticsCode, std::string_view logisticsNo,
                  const WaybillVersion& v) override;
  void SetTimer(int64_t due, const ListKey& list) override;
  void CancelTimer(int64_t due, const ListKey& list) override;
  std::string KeyedHash(std::string_view value) override;
  std::string StateForm(const Document& doc) override;
  // The state form the decoder prepared for `doc`, the record about to be
  // processed (null: none); StateForm of that document takes it.
  void set_prepared(const Document* doc, std::string* form) {
    prepared_doc_ = doc;
    prepared_form_ = form;
  }
  Decimal YearTotal(std::string_view buyer, int year) override;
  void SetYearTotal(std::string_view buyer, int year, Decimal total) override;
  bool HasRegistry() const override { return has_registry_; }
  Registered LookUp(std::string_view buyer,
                    std::string_view name_hash) override;
  std::optional<int64_t> Watermark() const override { return watermark_; }
  Shipment& ShipmentOf(std::string_view logisticsNo) override;
  MonthState& Month(int32_t period) override;
  std::vector<int32_t> Months() override;
  void AddClosedList(int32_t period, int32_t round, std::string_view key,
                     std::string_view value) override;
  void ForEachClosedList(
      int32_t period, int32_t round,
      absl::FunctionRef<bool(std::string_view value)> visit) override;
  void DropRound(int32_t period, int32_t round) override;
  void EmitSummary(const SummaryForm& f) override { outputs_.summary(f); }
  void EmitReceipt(const Receipt& r) override { outputs_.receipt(r); }
  void EmitDeadLetter(DeadLetterCode code, std::string detail) override {
    outputs_.dead_letter(code, std::move(detail));
  }

 private:
  template <class V>
  struct Cached {
    V value;
    bool dirty = false;
  };
  StateStore* store_;
  rocksdb::WriteBatch* batch_;
  Hmac hmac_;
  bool has_registry_;
  int32_t partitions_ = 1;
  Outputs outputs_;
  absl::Status status_;
  size_t cache_entries_ = 200000;
  Reaper* reaper_ = nullptr;
  const Document* prepared_doc_ = nullptr;
  std::string* prepared_form_ = nullptr;

  // A cache of state entries that forgets its oldest entries first, a few
  // at each commit, instead of all at once: freeing a whole cache stalled
  // an epoch's commit for most of a second and made every order in
  // flight a RocksDB read again.
  template <class V>
  class Cache {
   public:
    // Nodes keep their address (order_ and the dirty lists point into
    // them); lookups take a string_view and allocate nothing.
    using Map = absl::node_hash_map<std::string, Cached<V>>;
    typename Map::iterator find(std::string_view key) {
      // Debian's Abseil has a string_view of its own.
      return map_.find(absl::string_view(key.data(), key.size()));
    }
    typename Map::iterator end() { return map_.end(); }
    size_t size() const { return map_.size(); }
    std::pair<typename Map::iterator, bool> try_emplace(std::string_view key) {
      if (auto it = find(key); it != map_.end()) return {it, false};
      auto result = map_.try_emplace(std::string(key));
      order_.push_back(&result.first->first);
      return result;
    }
    std::pair<typename Map::iterator, bool> emplace(std::string key,
                                                    Cached<V> value) {
      auto result = map_.emplace(std::move(key), std::move(value));
      if (result.second) order_.push_back(&result.first->first);
      return result;
    }
    // Forgets the oldest clean entries beyond `cap`, handing them to
    // `reaper` to free (null: freed here); an entry that is dirty goes to
    // the back, as if new.
    void Trim(size_t cap, Reaper* reaper) {
      std::vector<typename Map::node_type> forgotten;
      for (size_t turns = order_.size(); map_.size() > cap && turns > 0;
           --turns) {
        auto it = map_.find(*order_.front());
        order_.pop_front();
        if (it->second.dirty) {
          order_.push_back(&it->first);
        } else {
          Forgotten(it->first);
          forgotten.push_back(map_.extract(it));
        }
      }
      if (reaper && !forgotten.empty()) reaper->Dispose(std::move(forgotten));
    }
    // The store held none of this cache's keys when the engine started:
    // a key then is in the store only if this cache wrote it, and so
    // either holds it or forgot it.
    void set_started_empty() { started_empty_ = true; }
    // Whether a key the cache does not hold may be in the store. When it
    // may not, the read is skipped: most lookups on a fresh state are of
    // new orders, waybills and buyers.
    bool MayBeStored(std::string_view key) const {
      return !started_empty_ || forgotten_.contains(HashOf(key));
    }

   private:
    // Keys forgotten, by 64-bit hash (a collision only costs a read), up
    // to this many; past it the cache stops telling.
    static constexpr size_t kForgottenMax = 4'000'000;
    static uint64_t HashOf(std::string_view key) {
      return XXH3_64bits(key.data(), key.size());
    }
    void Forgotten(std::string_view key) {
      if (!started_empty_) return;
      forgotten_.insert(HashOf(key));
      if (forgotten_.size() > kForgottenMax) {
        started_empty_ = false;
        forgotten_ = {};
      }
    }
    bool started_empty_ = false;
    absl::flat_hash_set<uint64_t> forgotten_;
    Map map_;
    std::deque<const std::string*> order_;  // keys, oldest first
  };
  Cache<OrderGroup> groups_;
  Cache<WaybillVersion> waybills_;
  Cache<int64_t> totals_;  // units
  Cache<Shipment> shipments_;
  std::vector<std::pair<const std::string*, Cached<Shipment>*>>
      dirty_shipments_;
  // The registry's entries looked up so far (the registered name's hash,
  // or none): the registry does not change while the engine runs, and a
  // buyer's lists come back to it. A registry read was a tenth of the
  // engine thread's time on the 1,000,000-order day.
  absl::flat_hash_map<std::string, std::optional<std::string>> registry_memo_;
  // Every month's state (few), and those the open epoch changed.
  std::map<int32_t, MonthState> months_;
  std::set<int32_t> dirty_months_;
  // Closed lists added in the open epoch (full key -> value): not yet in
  // RocksDB, so ForEachClosedList reads them from here.
  std::map<std::string, std::string> unflushed_closed_;
  std::optional<int64_t> watermark_;
  // The entries changed in the open epoch, so a flush visits only them.
  std::vector<std::pair<const std::string*, Cached<OrderGroup>*>>
      dirty_group_keys_;
  std::vector<std::pair<const std::string*, Cached<WaybillVersion>*>>
      dirty_waybills_;
  std::vector<std::pair<const std::string*, Cached<int64_t>*>> dirty_totals_;
  // Timers in firing order: due time, then list identity (contract §9).
  struct Timer {
    int64_t due;
    ListKey list;
    friend bool operator<(const Timer& a, const Timer& b) {
      if (a.due != b.due) return a.due < b.due;
      if (a.list.ebpCode != b.list.ebpCode)
        return a.list.ebpCode < b.list.ebpCode;
      if (a.list.orderNo != b.list.orderNo)
        return a.list.orderNo < b.list.orderNo;
      return a.list.type < b.list.type;
    }
  };
  // B-trees: a node holds many timers, so a set or a cancel allocates
  // and chases pointers far less than with std::set (setting and
  // cancelling were 8% of the engine thread's time on the 1,000,000-order
  // day).
  using TimerSet = absl::btree_set<Timer>;
  TimerSet timers_;
  // Timers by kind: list timeouts, stage L expiries.
  std::array<int64_t, 2> pending_{};
  static int KindOf(const ListKey& k) { return k.type == DocType::kCeb505; }
  // Timers set in the open epoch, written to the store at its flush.
  TimerSet unstored_timers_;
  void RemoveTimer(TimerSet::iterator it);
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_ENGINE_STATE_H_
