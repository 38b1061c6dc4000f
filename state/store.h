// StateStore is clearlane's RocksDB database: one column family per store,
// and the epoch commit that makes a slice of processing durable at once.
//
// Everything an epoch changes (every store's changes, the input position,
// the timers, the outputs in the outbox) goes into one rocksdb::WriteBatch
// and is written with one call, so after a crash the database holds either
// all of an epoch or none of it (design.md "How the guarantees are kept").
//
// An epoch may also be written in the background (CommitInBackground)
// while the next one is processed; the caller then keeps in memory every
// entry that write holds until Await, and NewIterator waits for it, so
// reads never see the store behind the caller's own writes.
//
// Thread-safety: Get may be called from any thread; NewIterator, Commit,
// CommitInBackground and Await from one thread at a time.

#ifndef CLEARLANE_STATE_STORE_H_
#define CLEARLANE_STATE_STORE_H_

#include <array>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rocksdb/db.h"
#include "rocksdb/statistics.h"
#include "rocksdb/write_batch.h"

namespace clearlane {

// The stores, one column family each.
enum class Store : uint8_t {
  kMeta,       // input positions, watermark, output sequence numbers
  kOrders,     // stage A: the documents of each order, keyed by orderNo
  kLogistics,  // stage L: export waybills, arrivals, departures
  kBuyers,     // stage B: yearly allowance per buyer (keyed hash)
  kSummaries,  // stage C: per month and head group
  kTimers,     // due time -> timer, in firing order
  kOutbox,     // outputs committed but perhaps not yet published
  kRegistry,   // identity registry, keyed by the HMAC of the number
};
inline constexpr int kStoreCount = 8;

std::string_view StoreName(Store s);

// Stores read only by point lookups (Get), never iterated. Their memtables
// hash the first 8 bytes of a key, so keys should start with 8 bytes of
// hash (or be hashes, like the registry's).
bool IsPointStore(Store s);

struct StoreOptions {
  std::string path;
  // Sync the WAL on every commit (one sync per epoch). Off: the WAL is
  // written but not synced; a process crash loses nothing, a power loss may
  // lose the last epochs.
  bool sync = true;
  size_t block_cache_bytes = 256 << 20;
  // The memtables of the point stores (IsPointStore). clearlane uses
  // kHashed; bench/state_floor tries the others.
  enum class Memtable { kHashed, kSkipList, kVector };
  Memtable point_memtable = Memtable::kHashed;
};

class StateStore {
 public:
  static absl::StatusOr<std::unique_ptr<StateStore>> Open(
      const StoreOptions& options);
  ~StateStore();

  // The value at `key`, nullopt when absent.
  absl::StatusOr<std::optional<std::string>> Get(Store store,
                                                 std::string_view key) const;
  // An iterator over the store after any background commit has landed.
  std::unique_ptr<rocksdb::Iterator> NewIterator(Store store);
  rocksdb::ColumnFamilyHandle* Handle(Store store) const {
    return handles_[static_cast<int>(store)];
  }

  // Writes `batch` atomically (and durably when sync is on).
  absl::Status Commit(rocksdb::WriteBatch* batch);
  // Starts writing `batch` on a thread of its own and returns; once the
  // write succeeded, runs `then` on that thread (to publish the epoch's
  // outputs). The caller leaves `batch`, and what `then` uses, alone until
  // Await. A background commit still running is awaited first.
  void CommitInBackground(rocksdb::WriteBatch* batch,
                          std::function<absl::Status()> then);
  // Waits for the background commit, if any; the first error any of them
  // met, once met (it stays the answer).
  absl::Status Await();

  const std::string& path() const { return path_; }

  // What an operator watches of RocksDB, summed over the stores.
  struct Figures {
    uint64_t live_data_bytes = 0;           // estimate of the live data
    uint64_t sst_bytes = 0;                 // all table files
    uint64_t pending_compaction_bytes = 0;  // estimate
    bool writes_stopped = false;            // a write stall right now
    uint64_t stall_micros = 0;              // time writers waited, ever
    uint64_t bytes_written = 0;             // by the application
    uint64_t flush_bytes = 0;               // memtables to level 0
    uint64_t compact_write_bytes = 0;       // compactions' writes
  };
  Figures ReadFigures() const;

 private:
  StateStore() = default;
  std::string path_;
  rocksdb::WriteOptions write_options_;
  std::shared_ptr<rocksdb::Statistics> statistics_;
  std::unique_ptr<rocksdb::DB> db_;
  std::array<rocksdb::ColumnFamilyHandle*, kStoreCount> handles_{};
  std::future<absl::Status> background_;
  absl::Status background_status_;
};

// Converts a RocksDB status, naming the path for operators.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what);

}  // namespace clearlane

#endif  // CLEARLANE_STATE_STORE_H_
