// MonthStore holds stage C's month states (operators/order_state.h
// MonthState: one small value a month), all in memory: loaded whole at
// start, visited in period order, written back when changed (keys.h
// MonthKey). The closed lists of a month are in a SortedStore.
//
// Thread-safety: not thread-safe; the engine's thread.

#ifndef CLEARLANE_STATE_MONTH_STORE_H_
#define CLEARLANE_STATE_MONTH_STORE_H_

#include <cstdint>
#include <map>
#include <set>

#include "absl/status/status.h"
#include "state/cached_store.h"
#include "state/keys.h"
#include "state/store.h"

namespace clearlane {

template <class V>
class MonthStore {
 public:
  explicit MonthStore(CachedStoreCodec<V> codec) : codec_(codec) {}
  MonthStore(const MonthStore&) = delete;
  MonthStore& operator=(const MonthStore&) = delete;

  // Loads every month of `store`. Call once, before any other call, or
  // after every change is flushed and landed to read them again (stage
  // C's task come back to this process).
  absl::Status Load(StateStore& store) {
    months_.clear();
    StoreIterator it = store.NewIterator(Store::kSummaries);
    for (it.Seek(kMonthKeyPrefix);
         it.Valid() && it.key().starts_with(kMonthKeyPrefix); it.Next()) {
      const std::optional<int32_t> period = PeriodOfMonthKey(it.key());
      if (!period) return absl::DataLossError("month key is corrupt");
      auto m = codec_.decode(it.value());
      if (!m.ok()) return m.status();
      months_[*period] = *std::move(m);
    }
    return it.status();
  }

  // The month's state for changing (default if never touched); written
  // back at the next Flush.
  V& Month(int32_t period) {
    dirty_.insert(period);
    return months_[period];
  }
  // Every month with a state, in period order.
  const std::map<int32_t, V>& months() const { return months_; }

  // Writes the changed months into `batch`.
  void Flush(WriteBatch* batch) {
    for (int32_t period : dirty_) {
      batch->Put(Store::kSummaries, MonthKey(period),
                 codec_.encode(months_[period]));
    }
    dirty_.clear();
  }

 private:
  const CachedStoreCodec<V> codec_;
  std::map<int32_t, V> months_;
  std::set<int32_t> dirty_;
};

}  // namespace clearlane

#endif  // CLEARLANE_STATE_MONTH_STORE_H_
