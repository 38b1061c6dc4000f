#include "state/store.h"

#include <filesystem>

#include "absl/strings/str_format.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/options.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/statistics.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "state/fail_stop_fs.h"
#include "state/rocks_status.h"

namespace clearlane {
namespace {

constexpr std::array<std::string_view, kStoreCount> kStoreNames = {
    "meta",      "orders", "logistics", "buyers",
    "summaries", "timers", "outbox",    "registry"};

}  // namespace

std::string_view StoreName(Store s) { return kStoreNames[static_cast<int>(s)]; }

bool IsPointStore(Store s) {
  return s == Store::kOrders || s == Store::kLogistics || s == Store::kBuyers ||
         s == Store::kRegistry;
}

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string message = absl::StrFormat("%s: %s", what, s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsIOError()) return absl::UnavailableError(message);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  return absl::InternalError(message);
}

namespace {
rocksdb::Slice SliceOf(std::string_view s) { return {s.data(), s.size()}; }
std::string_view ViewOf(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}
}  // namespace

WriteBatch::WriteBatch(const StateStore& store)
    : store_(&store), batch_(std::make_unique<rocksdb::WriteBatch>()) {}

WriteBatch::~WriteBatch() = default;

void WriteBatch::Put(Store s, std::string_view key, std::string_view value) {
  batch_->Put(store_->Handle(s), SliceOf(key), SliceOf(value));
  StoreWrites& w = writes_[static_cast<int>(s)];
  ++w.puts;
  w.bytes += key.size() + value.size();
  if (Records(s)) {
    changes_.push_back(
        {s, Change::Kind::kPut, std::string(key), std::string(value)});
  }
}

void WriteBatch::Delete(Store s, std::string_view key) {
  batch_->Delete(store_->Handle(s), SliceOf(key));
  StoreWrites& w = writes_[static_cast<int>(s)];
  ++w.deletes;
  w.bytes += key.size();
  if (Records(s)) {
    changes_.push_back({s, Change::Kind::kDelete, std::string(key), {}});
  }
}

void WriteBatch::DeleteRange(Store s, std::string_view begin,
                             std::string_view end) {
  batch_->DeleteRange(store_->Handle(s), SliceOf(begin), SliceOf(end));
  StoreWrites& w = writes_[static_cast<int>(s)];
  ++w.deletes;
  w.bytes += begin.size() + end.size();
  if (Records(s)) {
    changes_.push_back(
        {s, Change::Kind::kDeleteRange, std::string(begin), std::string(end)});
  }
}

void WriteBatch::Clear() {
  batch_->Clear();
  writes_ = {};
  changes_.clear();
}

uint32_t WriteBatch::Count() const { return batch_->Count(); }
size_t WriteBatch::DataSize() const { return batch_->GetDataSize(); }

StoreIterator::StoreIterator(std::unique_ptr<rocksdb::Iterator> it,
                             std::string what)
    : it_(std::move(it)), what_(std::move(what)) {}
StoreIterator::~StoreIterator() = default;
StoreIterator::StoreIterator(StoreIterator&&) noexcept = default;
StoreIterator& StoreIterator::operator=(StoreIterator&&) noexcept = default;

void StoreIterator::SeekToFirst() { it_->SeekToFirst(); }
void StoreIterator::Seek(std::string_view key) { it_->Seek(SliceOf(key)); }
bool StoreIterator::Valid() const { return it_->Valid(); }
void StoreIterator::Next() { it_->Next(); }
std::string_view StoreIterator::key() const { return ViewOf(it_->key()); }
std::string_view StoreIterator::value() const { return ViewOf(it_->value()); }
absl::Status StoreIterator::status() const {
  return FromRocks(it_->status(), what_);
}

namespace {

// What an operator can do about a damaged state.
constexpr std::string_view kDamagedAdvice =
    "restore the state from a backup, or move it aside and start a new "
    "state (its input replayed from the start)";

// A state whose data files are there but whose CURRENT is not cannot be
// opened as it was: RocksDB would silently make a new, empty one beside
// them. (A state killed while it was first created has no data files yet,
// only LOCK, LOG, IDENTITY or a first MANIFEST: that one starts afresh.)
absl::Status RefuseWithoutCurrent(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return absl::OkStatus();
  if (std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec)) {
    return absl::OkStatus();
  }
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    const std::string name = entry.path().filename().string();
    const bool data = name.ends_with(".sst") || name.ends_with(".blob") ||
                      name.starts_with("OPTIONS-") ||
                      (name.ends_with(".log") && !name.empty() &&
                       name[0] >= '0' && name[0] <= '9');
    if (!data) continue;
    return absl::DataLossError(absl::StrFormat(
        "state %s holds data (%s) but no CURRENT file: it is damaged; %s", path,
        name, kDamagedAdvice));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::Open(
    StoreOptions options) {
  if (absl::Status st = RefuseWithoutCurrent(options.path); !st.ok()) {
    return st;
  }
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  std::unique_ptr<rocksdb::Env> env;
  if (options.on_write_failure) {
    env = rocksdb::NewCompositeEnv(NewFailStopFileSystem(
        rocksdb::FileSystem::Default(), std::move(options.on_write_failure)));
    db_options.env = env.get();
  }
  // One writer (the epoch commit); the hashed memtables need this off.
  db_options.allow_concurrent_memtable_write = false;
  // Counters only (write stalls, bytes written), no timing histograms.
  auto statistics = rocksdb::CreateDBStatistics();
  statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
  db_options.statistics = statistics;
  // Point lookups of state that is mostly absent (new orders): bloom
  // filters keep a miss off the disk.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.compression = rocksdb::kNoCompression;

  // Stores read only by point lookups have keys that start with 8 bytes of
  // hash: a hashed memtable and a memtable bloom filter then answer a
  // lookup, hit or miss, without walking one big skiplist.
  rocksdb::ColumnFamilyOptions point_options = cf_options;
  point_options.prefix_extractor.reset(rocksdb::NewCappedPrefixTransform(8));
  point_options.memtable_factory.reset(rocksdb::NewHashSkipListRepFactory());
  point_options.memtable_prefix_bloom_size_ratio = 0.1;
  point_options.memtable_whole_key_filtering = true;

  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (int i = 0; i < kStoreCount; ++i) {
    families.emplace_back(
        std::string(kStoreNames[i]),
        IsPointStore(static_cast<Store>(i)) ? point_options : cf_options);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(db_options),
                                        options.path, families, &handles, &db);
  if (!s.ok()) {
    absl::Status st =
        FromRocks(s, absl::StrFormat("opening state %s", options.path));
    if (absl::IsDataLoss(st)) {
      return absl::DataLossError(absl::StrFormat("%s; the state is damaged: %s",
                                                 st.message(), kDamagedAdvice));
    }
    return st;
  }
  auto store = std::unique_ptr<StateStore>(new StateStore());
  store->db_.reset(db);
  store->statistics_ = std::move(statistics);
  store->env_ = std::move(env);
  store->path_ = options.path;
  store->sync_ = options.sync;
  // handles[0] is the default family, unused; keep it to close it.
  store->db_->DestroyColumnFamilyHandle(handles[0]);
  for (int i = 0; i < kStoreCount; ++i) store->handles_[i] = handles[i + 1];
  return store;
}

absl::Status StateStore::Flush() {
  absl::Status st = Await();
  if (!st.ok()) return st;
  std::vector<rocksdb::ColumnFamilyHandle*> handles(handles_.begin(),
                                                    handles_.end());
  return FromRocks(db_->Flush(rocksdb::FlushOptions(), handles),
                   absl::StrFormat("flushing state %s", path_));
}

StateStore::~StateStore() {
  Await().IgnoreError();
  if (!db_) return;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    if (h) db_->DestroyColumnFamilyHandle(h);
  }
  db_->Close();
}

absl::StatusOr<std::optional<std::string>> StateStore::Get(
    Store store, std::string_view key) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), Handle(store), SliceOf(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) {
    return FromRocks(
        s, absl::StrFormat("reading %s in %s", StoreName(store), path_));
  }
  return value;
}

StoreIterator StateStore::NewIterator(Store store) {
  // An error is kept for the committer, which stops before anything read
  // here is committed.
  Await().IgnoreError();
  rocksdb::ReadOptions read;
  // In key order across prefixes: the point stores are scanned whole at a
  // start (the timers are rebuilt from them), past their hashed memtables.
  read.total_order_seek = true;
  // Every scan reads its range once (the timers' rebuild, stage C's closed
  // lists): its blocks would only push the point lookups' out of the cache.
  read.fill_cache = false;
  return StoreIterator(
      std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(read, Handle(store))),
      absl::StrFormat("reading %s in %s", StoreName(store), path_));
}

StateStore::Figures StateStore::ReadFigures() const {
  Figures f;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kEstimateLiveDataSize,
                            &v)) {
      f.live_data_bytes += v;
    }
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kTotalSstFilesSize,
                            &v)) {
      f.sst_bytes += v;
    }
    if (db_->GetIntProperty(
            h, rocksdb::DB::Properties::kEstimatePendingCompactionBytes, &v)) {
      f.pending_compaction_bytes += v;
    }
  }
  uint64_t stopped = 0;
  if (db_->GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &stopped)) {
    f.writes_stopped = stopped != 0;
  }
  f.stall_micros = statistics_->getTickerCount(rocksdb::STALL_MICROS);
  f.bytes_written = statistics_->getTickerCount(rocksdb::BYTES_WRITTEN);
  f.flush_bytes = statistics_->getTickerCount(rocksdb::FLUSH_WRITE_BYTES);
  f.compact_write_bytes =
      statistics_->getTickerCount(rocksdb::COMPACT_WRITE_BYTES);
  for (int i = 0; i < kStoreCount; ++i) {
    f.writes[i] = {written_[i].puts.load(std::memory_order_relaxed),
                   written_[i].deletes.load(std::memory_order_relaxed),
                   written_[i].bytes.load(std::memory_order_relaxed)};
  }
  return f;
}

absl::Status StateStore::Commit(WriteBatch* batch) {
  rocksdb::WriteOptions options;
  options.sync = sync_;
  absl::Status st =
      FromRocks(db_->Write(options, batch->batch_.get()),
                absl::StrFormat("committing an epoch to %s", path_));
  if (st.ok()) {
    for (int i = 0; i < kStoreCount; ++i) {
      const StoreWrites& w = batch->writes_[i];
      written_[i].puts.fetch_add(w.puts, std::memory_order_relaxed);
      written_[i].deletes.fetch_add(w.deletes, std::memory_order_relaxed);
      written_[i].bytes.fetch_add(w.bytes, std::memory_order_relaxed);
    }
  }
  return st;
}

void StateStore::CommitInBackground(
    WriteBatch* batch, absl::AnyInvocable<absl::Status() &&> then) {
  CommitInBackground(
      batch, [] { return absl::OkStatus(); }, std::move(then));
}

void StateStore::CommitInBackground(
    WriteBatch* batch, absl::AnyInvocable<absl::Status() &&> before,
    absl::AnyInvocable<absl::Status() &&> then) {
  Await().IgnoreError();
  background_ =
      std::async(std::launch::async, [this, batch, before = std::move(before),
                                      then = std::move(then)]() mutable {
        absl::Status st = std::move(before)();
        if (st.ok()) st = Commit(batch);
        return st.ok() ? std::move(then)() : st;
      });
}

absl::Status StateStore::Await() {
  if (background_.valid()) {
    absl::Status st = background_.get();
    if (background_status_.ok()) background_status_ = std::move(st);
  }
  return background_status_;
}

}  // namespace clearlane
