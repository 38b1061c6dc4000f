// StateStore is clearlane's RocksDB database: one column family per store,
// and the epoch commit that makes a slice of processing durable at once.
// Nothing outside state/ sees RocksDB: the rest of clearlane writes through
// WriteBatch and reads through Get and StoreIterator, declared here.
//
// Everything an epoch changes (every store's changes, the input position,
// the timers, the outputs in the outbox) goes into one WriteBatch and is
// written with one call, so after a crash the database holds either all of
// an epoch or none of it (design.md "How the guarantees are kept").
//
// An epoch may also be written in the background (CommitInBackground)
// while the next one is processed; the caller then keeps in memory every
// entry that write holds until Await, and NewIterator waits for it, so
// reads never see the store behind the caller's own writes.
//
// Thread-safety: Get may be called from any thread; NewIterator, Commit,
// CommitInBackground and Await from one thread at a time. A WriteBatch or
// a StoreIterator belongs to one thread.

#ifndef CLEARLANE_STATE_STORE_H_
#define CLEARLANE_STATE_STORE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
class Iterator;
class Statistics;
class WriteBatch;
}  // namespace rocksdb

namespace clearlane {

// The stores, one column family each. Their key layouts are in keys.h.
enum class Store : uint8_t {
  kMeta,       // the run record, the secret
  kOrders,     // stage A: the documents of each order, keyed by orderNo
  kLogistics,  // stage L: export waybills, arrivals, departures
  kBuyers,     // stage B: yearly allowance per buyer (keyed hash)
  kSummaries,  // stage C: per month and head group
  kTimers,     // empty: timers are derived (timer_store.h); kept to open
               // states of the older layout, which held them here
  kOutbox,     // outputs committed but perhaps not yet published
  kRegistry,   // identity registry, keyed by the HMAC of the number
};
inline constexpr int kStoreCount = 8;

std::string_view StoreName(Store s);

// Stores read by point lookups (Get), iterated only whole and only at a
// start (to rebuild the timers). Their memtables hash the first 8 bytes of
// a key, so keys should start with 8 bytes of hash (or be hashes, like the
// registry's).
bool IsPointStore(Store s);

// Called, from whichever thread met it, with the first failed write to a
// file of the state (a full disk, a quota, an I/O error): ResourceExhausted
// when the filesystem is full or over quota, else Unavailable; the message
// names the file and what was being done. It should end the process (see
// fail_stop_fs.h for why RocksDB must not see the error).
using WriteFailureHandler = absl::AnyInvocable<void(const absl::Status&)>;

struct StoreOptions {
  std::string path;
  // Sync the WAL on every commit (one sync per epoch). Off: the WAL is
  // written but not synced; a process crash loses nothing, a power loss may
  // lose the last epochs.
  bool sync = true;
  size_t block_cache_bytes = 256 << 20;
  // Unset: a failed write is returned as an error by the call that met it
  // (and RocksDB may abort on a later use of the file).
  WriteFailureHandler on_write_failure;
};

class StateStore;

// Changes to apply to a StateStore at once (Commit). Put, Delete and
// DeleteRange apply in the order they were made.
// What commits wrote into one store: entries put, entries deleted (a range
// deletion counts one), and their keys' and values' bytes.
struct StoreWrites {
  uint64_t puts = 0;
  uint64_t deletes = 0;
  uint64_t bytes = 0;
};

// One change a WriteBatch made, as the batch keeps it when asked
// (WriteBatch::RecordChanges): the changelog's source (changelog.h).
struct Change {
  enum class Kind : uint8_t { kPut, kDelete, kDeleteRange };
  Store store;
  Kind kind;
  std::string key;    // the key; the range's first for kDeleteRange
  std::string value;  // the value put; the range's end for kDeleteRange
};

class WriteBatch {
 public:
  explicit WriteBatch(const StateStore& store);
  ~WriteBatch();
  WriteBatch(const WriteBatch&) = delete;
  WriteBatch& operator=(const WriteBatch&) = delete;

  void Put(Store s, std::string_view key, std::string_view value);
  void Delete(Store s, std::string_view key);
  // Deletes every key in [begin, end).
  void DeleteRange(Store s, std::string_view begin, std::string_view end);
  // Clears the batch and the changes it recorded.
  void Clear();
  // From now on, keeps a copy of each change to a store in `stores` (a
  // bit per Store), in order, until Clear.
  void RecordChanges(uint32_t stores) { recorded_ = stores; }
  const std::vector<Change>& changes() const { return changes_; }
  // Changes held.
  uint32_t Count() const;
  // Bytes the changes take (what the WAL write will be).
  size_t DataSize() const;

 private:
  friend class StateStore;
  const StateStore* store_;
  bool Records(Store s) const {
    return recorded_ & (1u << static_cast<int>(s));
  }
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  std::array<StoreWrites, kStoreCount> writes_{};
  uint32_t recorded_ = 0;
  std::vector<Change> changes_;
};

// A cursor over one store in key order. The views it returns are valid
// until it moves.
class StoreIterator {
 public:
  ~StoreIterator();
  StoreIterator(StoreIterator&&) noexcept;
  StoreIterator& operator=(StoreIterator&&) noexcept;

  void SeekToFirst();
  // To the first key at or after `key`.
  void Seek(std::string_view key);
  bool Valid() const;
  void Next();
  std::string_view key() const;
  std::string_view value() const;
  // Not ok when a read failed (then Valid() is false).
  absl::Status status() const;

 private:
  friend class StateStore;
  StoreIterator(std::unique_ptr<rocksdb::Iterator> it, std::string what);
  std::unique_ptr<rocksdb::Iterator> it_;
  std::string what_;  // the store and path, for errors
};

class StateStore {
 public:
  static absl::StatusOr<std::unique_ptr<StateStore>> Open(StoreOptions options);
  ~StateStore();

  // The value at `key`, nullopt when absent.
  absl::StatusOr<std::optional<std::string>> Get(Store store,
                                                 std::string_view key) const;
  // An iterator over the store after any background commit has landed.
  StoreIterator NewIterator(Store store);

  // Writes `batch` atomically (and durably when sync is on).
  absl::Status Commit(WriteBatch* batch);
  // Starts writing `batch` on a thread of its own and returns; once the
  // write succeeded, runs `then` on that thread (to publish the epoch's
  // outputs). The caller leaves `batch`, and what `then` uses, alone until
  // Await. A background commit still running is awaited first.
  void CommitInBackground(WriteBatch* batch,
                          absl::AnyInvocable<absl::Status() &&> then);
  // The same, running `before` on that thread first (to make the epoch's
  // outputs durable ahead of its state); its error stops the write.
  void CommitInBackground(WriteBatch* batch,
                          absl::AnyInvocable<absl::Status() &&> before,
                          absl::AnyInvocable<absl::Status() &&> then);
  // Waits for the background commit, if any; the first error any of them
  // met, once met (it stays the answer).
  absl::Status Await();
  // Writes every store's memtable to table files (and waits for it), after
  // any background commit.
  absl::Status Flush();

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
    // What committed batches wrote, store by store (Store's order).
    std::array<StoreWrites, kStoreCount> writes{};
  };
  Figures ReadFigures() const;

 private:
  friend class WriteBatch;
  StateStore() = default;
  rocksdb::ColumnFamilyHandle* Handle(Store store) const {
    return handles_[static_cast<int>(store)];
  }

  std::string path_;
  bool sync_ = true;
  std::shared_ptr<rocksdb::Statistics> statistics_;
  std::unique_ptr<rocksdb::Env> env_;  // outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  std::array<rocksdb::ColumnFamilyHandle*, kStoreCount> handles_{};
  std::future<absl::Status> background_;
  absl::Status background_status_;
  // Added by each successful commit, from whichever thread made it.
  struct AtomicWrites {
    std::atomic<uint64_t> puts{0}, deletes{0}, bytes{0};
  };
  std::array<AtomicWrites, kStoreCount> written_;
};

}  // namespace clearlane

#endif  // CLEARLANE_STATE_STORE_H_
