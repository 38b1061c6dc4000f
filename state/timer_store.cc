#include "state/timer_store.h"

#include "state/keys.h"

namespace clearlane {

int TimerStore::KindOf(const ListKey& k) { return IsShipmentExpiry(k); }

absl::Status TimerStore::Load(StateStore& store) {
  StoreIterator it = store.NewIterator(Store::kTimers);
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    std::optional<TimerKeyParts> t = ParseTimerKey(it.key());
    if (!t) return absl::DataLossError("timer key is corrupt");
    ++pending_[KindOf(t->list)];
    timers_.insert({t->due, std::move(t->list)});
  }
  return it.status();
}

void TimerStore::Set(int64_t due, const ListKey& list) {
  if (timers_.insert({due, list}).second) {
    ++pending_[KindOf(list)];
    unstored_.insert({due, list});
  }
}

void TimerStore::Cancel(int64_t due, const ListKey& list) {
  auto it = timers_.find({due, list});
  if (it != timers_.end()) Remove(it);
}

void TimerStore::Remove(TimerSet::iterator it) {
  // A timer set and removed within one epoch never reaches the store.
  if (!unstored_.erase(*it)) removed_.push_back(*it);
  --pending_[KindOf(it->list)];
  timers_.erase(it);
}

void TimerStore::Flush(WriteBatch* batch) {
  // Deletes first: a timer removed and set again is set.
  for (const Timer& t : removed_) {
    batch->Delete(Store::kTimers, TimerKey(partitions_, t.due, t.list));
  }
  removed_.clear();
  for (const Timer& t : unstored_) {
    batch->Put(Store::kTimers, TimerKey(partitions_, t.due, t.list), "");
  }
  unstored_.clear();
}

}  // namespace clearlane
