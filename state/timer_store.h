// TimerStore holds the task's timers (contract §9: list timeouts and stage
// L's shipment expiries) in firing order, all in memory. They are not
// written to the state: each is a function of the order group or shipment
// that set it (Clearance::ForEachTimer), and the engine rebuilds them from
// those at a start (TaskContext::Load). A state written before this layout
// kept them in Store::kTimers; the first Flush empties that store.
//
// Thread-safety: not thread-safe; the engine's thread.

#ifndef CLEARLANE_STATE_TIMER_STORE_H_
#define CLEARLANE_STATE_TIMER_STORE_H_

#include <cstdint>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "model/list_key.h"
#include "state/store.h"

namespace clearlane {

// A timer: due time (seconds of event time), then the list it fires for.
struct Timer {
  int64_t due;
  ListKey list;
  // Firing order: due time, then ebpCode, orderNo and docType, bytewise.
  friend bool operator<(const Timer& a, const Timer& b) {
    if (a.due != b.due) return a.due < b.due;
    if (a.list.ebpCode != b.list.ebpCode) {
      return a.list.ebpCode < b.list.ebpCode;
    }
    if (a.list.orderNo != b.list.orderNo) {
      return a.list.orderNo < b.list.orderNo;
    }
    return a.list.type < b.list.type;
  }
  friend bool operator==(const Timer& a, const Timer& b) = default;
};

class TimerStore {
 public:
  TimerStore() = default;
  TimerStore(const TimerStore&) = delete;
  TimerStore& operator=(const TimerStore&) = delete;

  // Notes whether Store::kTimers holds timers of an older layout, which
  // the next Flush deletes. Call once, before any other call.
  absl::Status Load(StateStore& store);

  // Sets a timer; setting one that is set does nothing.
  void Set(int64_t due, const ListKey& list);
  // Removes a timer, if set.
  void Cancel(int64_t due, const ListKey& list);
  // The first timer to fire, null when none is set.
  const Timer* Next() const {
    return timers_.empty() ? nullptr : &*timers_.begin();
  }
  // Removes the first timer (it is firing).
  void Pop() { Remove(timers_.begin()); }
  // Every timer set, in firing order.
  std::vector<Timer> All() const { return {timers_.begin(), timers_.end()}; }

  // Removes every timer whose list `gone` says (a task's that left).
  template <class Gone>
  void DropIf(Gone gone) {
    for (auto it = timers_.begin(); it != timers_.end();) {
      if (gone(it->list)) {
        --pending_[KindOf(it->list)];
        it = timers_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Deletes, in `batch`, what an older layout kept in Store::kTimers.
  void Flush(WriteBatch* batch);

  // Timers set: list timeouts, and stage L's shipment expiries.
  int64_t pending_lists() const { return pending_[0]; }
  int64_t pending_shipments() const { return pending_[1]; }

 private:
  // B-trees: a node holds many timers, so a set or a cancel allocates and
  // chases pointers far less than with std::set (setting and cancelling
  // were 8% of the engine thread's time on the 1,000,000-order day).
  using TimerSet = absl::btree_set<Timer>;
  void Remove(TimerSet::iterator it);
  static int KindOf(const ListKey& k);

  TimerSet timers_;
  bool stored_ = false;  // Store::kTimers holds entries (an older layout)
  int64_t pending_[2] = {};
};

}  // namespace clearlane

#endif  // CLEARLANE_STATE_TIMER_STORE_H_
