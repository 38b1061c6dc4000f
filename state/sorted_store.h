// SortedStore is a store whose keys are read back by range, in key order:
// stage C's closed lists, which a month's close reads in the order its
// forms list them (keys.h RoundPrefix). Writes of the open epoch are held
// here until Flush puts them into the epoch's batch, and a Scan sees them
// merged with what RocksDB holds, as if they were already there.
//
// Thread-safety: not thread-safe; the engine's thread.

#ifndef CLEARLANE_STATE_SORTED_STORE_H_
#define CLEARLANE_STATE_SORTED_STORE_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "state/store.h"

namespace clearlane {

class SortedStore {
 public:
  SortedStore(StateStore* store, Store which) : store_(store), which_(which) {}
  SortedStore(const SortedStore&) = delete;
  SortedStore& operator=(const SortedStore&) = delete;

  void Put(std::string key, std::string value);
  // Removes every key in [begin, end).
  void DeleteRange(std::string begin, std::string end);
  // Visits the values of the keys in [begin, end), in key order, until
  // `visit` returns false.
  void Scan(std::string_view begin, std::string_view end,
            absl::FunctionRef<bool(std::string_view value)> visit);

  // Writes the open epoch's changes into `batch`.
  void Flush(WriteBatch* batch);
  // The first error of a read; the engine stops on it.
  const absl::Status& status() const { return status_; }

 private:
  bool Deleted(std::string_view key) const;

  StateStore* store_;
  const Store which_;
  // The open epoch's changes: ranges deleted, then keys put (a key put
  // after a range was deleted survives it).
  std::vector<std::pair<std::string, std::string>> deleted_;
  std::map<std::string, std::string, std::less<>> put_;
  absl::Status status_;
};

}  // namespace clearlane

#endif  // CLEARLANE_STATE_SORTED_STORE_H_
