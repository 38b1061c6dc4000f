#include "state/timer_store.h"

#include "state/keys.h"

namespace clearlane {

int TimerStore::KindOf(const ListKey& k) { return IsShipmentExpiry(k); }

absl::Status TimerStore::Load(StateStore& store) {
  StoreIterator it = store.NewIterator(Store::kTimers);
  it.SeekToFirst();
  stored_ = it.Valid();
  return it.status();
}

void TimerStore::Set(int64_t due, const ListKey& list) {
  if (timers_.insert({due, list}).second) ++pending_[KindOf(list)];
}

void TimerStore::Cancel(int64_t due, const ListKey& list) {
  auto it = timers_.find({due, list});
  if (it != timers_.end()) Remove(it);
}

void TimerStore::Remove(TimerSet::iterator it) {
  --pending_[KindOf(it->list)];
  timers_.erase(it);
}

void TimerStore::Flush(WriteBatch* batch) {
  if (!stored_) return;
  // Every key of the older layout starts with 'A' or 'L'.
  batch->DeleteRange(Store::kTimers, "", "\xff");
  stored_ = false;
}

}  // namespace clearlane
