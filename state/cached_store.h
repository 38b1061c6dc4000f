// CachedStore holds the values of one store that processing reads and
// changes (order groups, waybills, yearly totals, shipments), so that an
// epoch reads RocksDB only on a miss and writes each changed value once,
// as a blind write in the epoch's batch (design.md "Performance budget").
//
// Reads go through the cache: Find and Modify read the store on a miss (a
// miss that the store cannot answer either is remembered too). Modify and
// Put mark the entry dirty; Flush writes the dirty entries into the batch
// and makes them clean. Trim then forgets the oldest clean entries beyond
// a capacity, a few at each commit rather than all at once: freeing a
// whole cache stalled an epoch's commit for most of a second and made
// every order in flight a RocksDB read again. Trim hands what it forgot
// back to the caller, which may free it on another thread.
//
// A cache whose store was empty when the engine started
// (set_started_empty) knows that a key it neither holds nor forgot cannot
// be in the store, and skips that read: most lookups of a replay from
// scratch are of new orders, waybills and buyers.
//
// REQUIRES: the entries a background commit is writing stay in the cache
// until that commit has landed: call Trim only after it (engine/epoch.h).
//
// Thread-safety: not thread-safe; the engine's thread.

#ifndef CLEARLANE_STATE_CACHED_STORE_H_
#define CLEARLANE_STATE_CACHED_STORE_H_

#include <xxhash.h>

#include <cstdint>
#include <deque>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "state/store.h"

namespace clearlane {

// How a CachedStore keeps its values in its store.
template <class V>
struct CachedStoreCodec {
  std::string (*encode)(const V& value);
  absl::StatusOr<V> (*decode)(std::string_view bytes);
  // A value that is written back as a Delete (an empty order group); null:
  // none is.
  bool (*erased)(const V& value) = nullptr;
};

template <class V>
class CachedStore {
  struct Entry {
    V value{};
    bool present = false;  // false: neither the store nor a write has one
    bool dirty = false;
  };
  // Nodes keep their address: order_ and dirty_ point into them.
  using Map = absl::node_hash_map<std::string, Entry>;

 public:
  // The key a cache key has in the store (keys.h), when they differ (an
  // order's key leads with its task); null: the same.
  using StoreKeyOf = absl::AnyInvocable<std::string(std::string_view) const>;

  CachedStore(StateStore* store, Store which, CachedStoreCodec<V> codec,
              StoreKeyOf store_key = nullptr)
      : store_(store),
        which_(which),
        codec_(codec),
        store_key_(std::move(store_key)) {}
  CachedStore(const CachedStore&) = delete;
  CachedStore& operator=(const CachedStore&) = delete;

  // The value at `key`, null when neither the cache nor the store holds
  // one. Valid until the next Trim.
  const V* Find(std::string_view key) {
    auto it = map_.find(View(key));
    if (it == map_.end()) {
      if (!MayBeStored(key)) return nullptr;
      Entry e;
      e.present = Read(key, &e.value);
      it = Insert(key, std::move(e));
    }
    return it->second.present ? &it->second.value : nullptr;
  }

  // The value at `key` for changing: read on a miss, a default value when
  // absent; written back at the next Flush. Valid until the next Trim.
  V& Modify(std::string_view key) {
    auto it = map_.find(View(key));
    if (it == map_.end()) {
      Entry e;
      if (MayBeStored(key)) Read(key, &e.value);
      it = Insert(key, std::move(e));
    }
    it->second.present = true;
    MarkDirty(*it);
    return it->second.value;
  }

  // Sets the value at `key` without reading it; written back at the next
  // Flush.
  void Put(std::string_view key, V value) {
    auto it = map_.find(View(key));
    if (it == map_.end()) it = Insert(key, Entry());
    it->second.value = std::move(value);
    it->second.present = true;
    MarkDirty(*it);
  }

  // Writes the dirty entries into `batch`; they are clean from then on.
  void Flush(WriteBatch* batch) {
    for (auto& [key, entry] : dirty_) {
      const std::string mapped = store_key_ ? store_key_(*key) : std::string();
      const std::string_view store_key = store_key_ ? mapped : *key;
      if (codec_.erased && codec_.erased(entry->value)) {
        batch->Delete(which_, store_key);
      } else {
        batch->Put(which_, store_key, codec_.encode(entry->value));
      }
      entry->dirty = false;
    }
    dirty_.clear();
  }

  // Forgets the oldest clean entries beyond `capacity` and returns them (to
  // be freed where the caller likes); an entry that is dirty goes to the
  // back, as if new.
  using Node = typename Map::node_type;
  std::vector<Node> Trim(size_t capacity) {
    std::vector<Node> forgotten;
    for (size_t turns = order_.size(); map_.size() > capacity && turns > 0;
         --turns) {
      auto it = map_.find(View(*order_.front()));
      order_.pop_front();
      if (it->second.dirty) {
        order_.push_back(&it->first);
      } else {
        Forgotten(it->first);
        forgotten.push_back(map_.extract(it));
      }
    }
    return forgotten;
  }

  // Drops the entries whose key `gone` names, which must be clean (the
  // writes that cleaned them landed), and returns them; a later read of
  // one goes to the store (a task that left this process: engine/
  // task_context.h ForgetTasks). A dirty entry is kept.
  template <class Gone>
  std::vector<Node> Drop(Gone gone) {
    std::vector<Node> dropped;
    for (auto it = map_.begin(); it != map_.end();) {
      auto next = std::next(it);
      if (!it->second.dirty && gone(std::string_view(it->first))) {
        Forgotten(it->first);
        dropped.push_back(map_.extract(it));
      }
      it = next;
    }
    if (!dropped.empty()) {
      std::erase_if(order_, [this](const std::string* key) {
        return !map_.contains(View(*key));
      });
    }
    return dropped;
  }

  // The store held none of this cache's keys when the engine started: a
  // key then is in the store only if this cache wrote it, and so either
  // holds it or forgot it.
  void set_started_empty() { started_empty_ = true; }
  // Keys may have come into the store underneath the cache (a task's
  // state caught up from its changelog): every miss reads the store.
  void ReadThrough() {
    started_empty_ = false;
    forgotten_ = {};
  }

  size_t size() const { return map_.size(); }
  // The first error of a read (or of decoding what it read); the engine
  // stops on it.
  const absl::Status& status() const { return status_; }

 private:
  // Debian's Abseil has a string_view of its own.
  static absl::string_view View(std::string_view s) {
    return absl::string_view(s.data(), s.size());
  }
  typename Map::iterator Insert(std::string_view key, Entry e) {
    auto it = map_.emplace(std::string(key), std::move(e)).first;
    order_.push_back(&it->first);
    return it;
  }
  void MarkDirty(typename Map::value_type& kv) {
    if (kv.second.dirty) return;
    kv.second.dirty = true;
    dirty_.emplace_back(&kv.first, &kv.second);
  }
  // Reads `key` from the store into `value`; false when absent (or on an
  // error, kept in status_).
  bool Read(std::string_view key, V* value) {
    const std::string mapped = store_key_ ? store_key_(key) : std::string();
    auto stored = store_->Get(which_, store_key_ ? mapped : key);
    if (!stored.ok()) {
      if (status_.ok()) status_ = stored.status();
      return false;
    }
    if (!stored->has_value()) return false;
    auto decoded = codec_.decode(**stored);
    if (!decoded.ok()) {
      if (status_.ok()) status_ = decoded.status();
      return false;
    }
    *value = *std::move(decoded);
    return true;
  }

  // Whether a key the cache does not hold may be in the store. When it
  // may not, the read is skipped.
  bool MayBeStored(std::string_view key) const {
    return !started_empty_ || forgotten_.contains(HashOf(key));
  }
  // Keys forgotten, by 64-bit hash (a collision only costs a read), up to
  // this many; past it the cache stops telling.
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

  StateStore* store_;
  const Store which_;
  const CachedStoreCodec<V> codec_;
  const StoreKeyOf store_key_;
  Map map_;
  std::deque<const std::string*> order_;  // keys, oldest first
  std::vector<std::pair<const std::string*, Entry*>> dirty_;
  bool started_empty_ = false;
  absl::flat_hash_set<uint64_t> forgotten_;
  absl::Status status_;
};

}  // namespace clearlane

#endif  // CLEARLANE_STATE_CACHED_STORE_H_
