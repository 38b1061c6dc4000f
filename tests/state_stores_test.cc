// The stores the engine keeps over RocksDB: the read-through cache, the
// timers, the sorted store and the outbox. Each test has a state directory
// of its own, and proves durability by closing the state and opening it
// again, as a restart does.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "model/coding.h"
#include "model/document.h"
#include "model/list_key.h"
#include "model/outputs.h"
#include "state/cached_store.h"
#include "state/changelog.h"
#include "state/keys.h"
#include "state/outbox.h"
#include "state/run_record.h"
#include "state/sorted_store.h"
#include "state/store.h"
#include "state/timer_store.h"

namespace clearlane {
namespace {

namespace fs = std::filesystem;

// A state of the running test's own under TempDir(), removed at the end.
// The directory name carries the process id, so two builds running the
// same test at once never share it.
class StateDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* test =
        ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrFormat("state-stores-%d-%s.%s", getpid(),
                           test->test_suite_name(), test->name());
    fs::remove_all(dir_);
    ASSERT_NO_FATAL_FAILURE(Reopen());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  // Closes the state and opens it again. Whatever points into the old
  // StateStore must be made anew.
  void Reopen() {
    store_.reset();
    auto store = StateStore::Open({.path = dir_.string()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // Commits, in one batch, what `fill` puts into it.
  absl::Status Commit(absl::FunctionRef<void(WriteBatch*)> fill) {
    WriteBatch batch(*store_);
    fill(&batch);
    return store_->Commit(&batch);
  }

  fs::path dir_;
  std::unique_ptr<StateStore> store_;
};

// ---------------------------------------------------------------------------
// CachedStore

// The caches' values here are counts, kept as stage B keeps its yearly
// totals.
std::string EncodeCount(const int64_t& n) {
  std::string out;
  BinaryWriter(&out).SignedVarint(n);
  return out;
}
absl::StatusOr<int64_t> DecodeCount(std::string_view bytes) {
  BinaryReader r(bytes);
  const int64_t n = r.SignedVarint();
  if (!r.ok() || !r.done()) return absl::DataLossError("count is corrupt");
  return n;
}
bool IsZero(const int64_t& n) { return n == 0; }

constexpr CachedStoreCodec<int64_t> kCounts = {&EncodeCount, &DecodeCount};
// A zero count is written back as a Delete.
constexpr CachedStoreCodec<int64_t> kCountsZeroErased = {&EncodeCount,
                                                         &DecodeCount, &IsZero};

constexpr Store kCountStore = Store::kBuyers;

using Counts = CachedStore<int64_t>;

class CachedStoreTest : public StateDirTest {
 protected:
  // What the store itself holds at `key`, bypassing any cache.
  std::optional<int64_t> Stored(std::string_view key) {
    auto bytes = store_->Get(kCountStore, key);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    if (!bytes.ok() || !bytes->has_value()) return std::nullopt;
    auto n = DecodeCount(**bytes);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? std::optional<int64_t>(*n) : std::nullopt;
  }

  // Puts counts straight into the store, as an earlier run left them.
  void Preload(std::initializer_list<std::pair<std::string, int64_t>> counts) {
    ASSERT_TRUE(Commit([&](WriteBatch* batch) {
                  for (const auto& [key, n] : counts) {
                    batch->Put(kCountStore, key, EncodeCount(n));
                  }
                }).ok());
  }
};

std::vector<std::string> KeysOf(const std::vector<Counts::Node>& nodes) {
  std::vector<std::string> keys;
  for (const Counts::Node& node : nodes) keys.push_back(node.key());
  return keys;
}

TEST_F(CachedStoreTest, FindOfAnAbsentKeyIsNullAndWritesNothing) {
  Counts counts(store_.get(), kCountStore, kCounts);
  EXPECT_EQ(counts.Find("buyer-001"), nullptr);
  EXPECT_EQ(counts.Find("buyer-001"), nullptr);  // the remembered miss
  EXPECT_EQ(counts.size(), 1u);
  WriteBatch batch(*store_);
  counts.Flush(&batch);
  EXPECT_EQ(batch.Count(), 0u);
  EXPECT_TRUE(counts.status().ok()) << counts.status();
}

TEST_F(CachedStoreTest, ModifyOfAnAbsentKeyStartsFromTheDefault) {
  Counts counts(store_.get(), kCountStore, kCounts);
  int64_t& n = counts.Modify("buyer-001");
  EXPECT_EQ(n, 0);
  n += 7;
  ASSERT_NE(counts.Find("buyer-001"), nullptr);
  EXPECT_EQ(*counts.Find("buyer-001"), 7);
  // Nothing reaches the store before the epoch commits.
  EXPECT_EQ(Stored("buyer-001"), std::nullopt);
  WriteBatch batch(*store_);
  counts.Flush(&batch);
  EXPECT_EQ(batch.Count(), 1u);
  ASSERT_TRUE(store_->Commit(&batch).ok());
  EXPECT_EQ(Stored("buyer-001"), 7);
}

TEST_F(CachedStoreTest, ModifyReadsTheStoredValueOnAMiss) {
  ASSERT_NO_FATAL_FAILURE(Preload({{"buyer-001", 10}}));
  Counts counts(store_.get(), kCountStore, kCounts);
  int64_t& n = counts.Modify("buyer-001");
  EXPECT_EQ(n, 10);
  n += 3;
  ASSERT_TRUE(Commit([&](WriteBatch* batch) { counts.Flush(batch); }).ok());
  EXPECT_EQ(Stored("buyer-001"), 13);
}

TEST_F(CachedStoreTest, FlushWritesEachChangedEntryOnceThenItIsClean) {
  ASSERT_NO_FATAL_FAILURE(Preload({{"buyer-003", 30}}));
  Counts counts(store_.get(), kCountStore, kCounts);
  counts.Modify("buyer-001") += 1;
  counts.Modify("buyer-001") += 1;
  counts.Put("buyer-002", 5);
  ASSERT_NE(counts.Find("buyer-003"), nullptr);  // read, not changed
  WriteBatch first(*store_);
  counts.Flush(&first);
  EXPECT_EQ(first.Count(), 2u);
  WriteBatch second(*store_);
  counts.Flush(&second);
  EXPECT_EQ(second.Count(), 0u);
}

TEST_F(CachedStoreTest, FlushedChangesReadBackFromAFreshCacheAfterReopen) {
  ASSERT_NO_FATAL_FAILURE(Preload({{"buyer-002", 10}}));
  {
    Counts counts(store_.get(), kCountStore, kCounts);
    counts.Put("buyer-001", 5);
    counts.Modify("buyer-002") += 3;
    EXPECT_EQ(counts.Find("buyer-003"), nullptr);
    ASSERT_TRUE(Commit([&](WriteBatch* batch) { counts.Flush(batch); }).ok());
  }
  ASSERT_NO_FATAL_FAILURE(Reopen());
  Counts counts(store_.get(), kCountStore, kCounts);
  ASSERT_NE(counts.Find("buyer-001"), nullptr);
  EXPECT_EQ(*counts.Find("buyer-001"), 5);
  ASSERT_NE(counts.Find("buyer-002"), nullptr);
  EXPECT_EQ(*counts.Find("buyer-002"), 13);
  EXPECT_EQ(counts.Find("buyer-003"), nullptr);
  EXPECT_EQ(Stored("buyer-003"), std::nullopt);
}

TEST_F(CachedStoreTest, ErasedValueIsDeletedFromTheStore) {
  ASSERT_NO_FATAL_FAILURE(Preload({{"buyer-001", 10}, {"buyer-002", 20}}));
  {
    Counts counts(store_.get(), kCountStore, kCountsZeroErased);
    counts.Modify("buyer-001") -= 10;
    counts.Put("buyer-002", 21);
    ASSERT_TRUE(Commit([&](WriteBatch* batch) { counts.Flush(batch); }).ok());
  }
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Stored("buyer-001"), std::nullopt);
  EXPECT_EQ(Stored("buyer-002"), 21);
  Counts counts(store_.get(), kCountStore, kCountsZeroErased);
  EXPECT_EQ(counts.Find("buyer-001"), nullptr);
}

TEST_F(CachedStoreTest, TrimForgetsTheOldestCleanEntriesDownToTheCapacity) {
  Counts counts(store_.get(), kCountStore, kCounts);
  for (int i = 0; i < 6; ++i) counts.Put(absl::StrFormat("buyer-%03d", i), i);
  ASSERT_TRUE(Commit([&](WriteBatch* batch) { counts.Flush(batch); }).ok());
  EXPECT_EQ(KeysOf(counts.Trim(2)),
            (std::vector<std::string>{"buyer-000", "buyer-001", "buyer-002",
                                      "buyer-003"}));
  EXPECT_EQ(counts.size(), 2u);
  // Within the capacity, nothing goes.
  EXPECT_TRUE(counts.Trim(2).empty());
  EXPECT_EQ(counts.size(), 2u);
  // A forgotten entry is read from the store again.
  ASSERT_NE(counts.Find("buyer-001"), nullptr);
  EXPECT_EQ(*counts.Find("buyer-001"), 1);
  EXPECT_EQ(counts.size(), 3u);
}

TEST_F(CachedStoreTest, TrimKeepsDirtyEntriesEvenBeyondTheCapacity) {
  Counts counts(store_.get(), kCountStore, kCounts);
  counts.Put("buyer-a", 1);
  counts.Put("buyer-b", 2);
  counts.Put("buyer-c", 3);
  ASSERT_TRUE(Commit([&](WriteBatch* batch) { counts.Flush(batch); }).ok());
  counts.Modify("buyer-a") += 10;  // the oldest, dirty again
  counts.Put("buyer-d", 4);        // new, dirty
  EXPECT_EQ(KeysOf(counts.Trim(1)),
            (std::vector<std::string>{"buyer-b", "buyer-c"}));
  EXPECT_EQ(counts.size(), 2u);
  // The dirty entries are still there to be written.
  WriteBatch batch(*store_);
  counts.Flush(&batch);
  EXPECT_EQ(batch.Count(), 2u);
  ASSERT_TRUE(store_->Commit(&batch).ok());
  EXPECT_EQ(Stored("buyer-a"), 11);
  EXPECT_EQ(Stored("buyer-d"), 4);
  // Clean now, and the one kept longest goes first.
  EXPECT_EQ(KeysOf(counts.Trim(1)), (std::vector<std::string>{"buyer-a"}));
  EXPECT_EQ(counts.size(), 1u);
}

TEST_F(CachedStoreTest, StartedEmptySkipsReadsOfKeysItNeverHeld) {
  // The store is not empty, against set_started_empty's premise, so that
  // a skipped read shows: the cache answers as if nothing were stored.
  ASSERT_NO_FATAL_FAILURE(Preload({{"buyer-001", 10}, {"buyer-002", 20}}));
  Counts reading(store_.get(), kCountStore, kCounts);
  ASSERT_NE(reading.Find("buyer-001"), nullptr);
  Counts counts(store_.get(), kCountStore, kCounts);
  counts.set_started_empty();
  EXPECT_EQ(counts.Find("buyer-001"), nullptr);
  EXPECT_EQ(counts.Modify("buyer-002"), 0);
}

TEST_F(CachedStoreTest, StartedEmptyReadsAKeyItForgot) {
  Counts counts(store_.get(), kCountStore, kCounts);
  counts.set_started_empty();
  counts.Put("buyer-001", 4);
  counts.Put("buyer-002", 8);
  ASSERT_TRUE(Commit([&](WriteBatch* batch) { counts.Flush(batch); }).ok());
  ASSERT_EQ(counts.Trim(0).size(), 2u);
  ASSERT_NE(counts.Find("buyer-001"), nullptr);
  EXPECT_EQ(*counts.Find("buyer-001"), 4);
  EXPECT_EQ(counts.Modify("buyer-002"), 8);
  EXPECT_EQ(counts.Find("buyer-003"), nullptr);
}

TEST_F(CachedStoreTest, UndecodableValueIsAnErrorNotAValue) {
  ASSERT_TRUE(Commit([&](WriteBatch* batch) {
                batch->Put(kCountStore, "buyer-001", "\xff");
              }).ok());
  Counts counts(store_.get(), kCountStore, kCounts);
  EXPECT_TRUE(counts.status().ok());
  EXPECT_EQ(counts.Find("buyer-001"), nullptr);
  EXPECT_EQ(counts.status().code(), absl::StatusCode::kDataLoss)
      << counts.status();
}

TEST_F(CachedStoreTest, StoreKeyOfMapsReadsAndWrites) {
  const auto in_task = [](std::string_view key) {
    return absl::StrFormat("task-7/%s", key);
  };
  ASSERT_NO_FATAL_FAILURE(Preload({{"task-7/buyer-002", 20}}));
  {
    Counts counts(store_.get(), kCountStore, kCounts, in_task);
    counts.Put("buyer-001", 3);
    EXPECT_EQ(counts.Modify("buyer-002"), 20);
    ASSERT_TRUE(Commit([&](WriteBatch* batch) { counts.Flush(batch); }).ok());
  }
  EXPECT_EQ(Stored("task-7/buyer-001"), 3);
  EXPECT_EQ(Stored("buyer-001"), std::nullopt);
  Counts counts(store_.get(), kCountStore, kCounts, in_task);
  ASSERT_NE(counts.Find("buyer-001"), nullptr);
  EXPECT_EQ(*counts.Find("buyer-001"), 3);
}

// ---------------------------------------------------------------------------
// TimerStore

ListKey List(std::string ebpCode, std::string orderNo,
             DocType type = DocType::kCeb621) {
  return {.type = type,
          .ebpCode = std::move(ebpCode),
          .orderNo = std::move(orderNo)};
}
// Stage L's expiry of a shipment.
ListKey Expiry(std::string logisticsNo) {
  return List("", std::move(logisticsNo), DocType::kCeb505);
}

std::string Describe(const Timer& t) {
  return absl::StrFormat("%d %s %s %s", t.due, t.list.ebpCode, t.list.orderNo,
                         DocTypeName(t.list.type));
}

// Fires (pops) every timer due at or before `limit`, in firing order.
std::vector<std::string> FireUpTo(TimerStore& timers, int64_t limit) {
  std::vector<std::string> fired;
  while (timers.Next() && timers.Next()->due <= limit) {
    fired.push_back(Describe(*timers.Next()));
    timers.Pop();
  }
  return fired;
}
std::vector<std::string> FireAll(TimerStore& timers) {
  return FireUpTo(timers, INT64_MAX);
}

class TimerStoreTest : public StateDirTest {};

TEST_F(TimerStoreTest, FiresByDueTimeThenEbpCodeThenOrderNo) {
  TimerStore timers;
  timers.Set(20, List("E2", "O1"));
  timers.Set(10, List("E9", "O9"));
  timers.Set(20, List("E1", "O2"));
  timers.Set(30, List("E0", "O0"));
  timers.Set(20, List("E1", "O1"));
  timers.Set(-5, List("E5", "O5"));
  timers.Set(20, List("E1", "O1", DocType::kCeb603));
  EXPECT_EQ(FireAll(timers), (std::vector<std::string>{
                                 "-5 E5 O5 CEB621",
                                 "10 E9 O9 CEB621",
                                 "20 E1 O1 CEB621",
                                 "20 E1 O1 CEB603",
                                 "20 E1 O2 CEB621",
                                 "20 E2 O1 CEB621",
                                 "30 E0 O0 CEB621",
                             }));
  EXPECT_EQ(timers.Next(), nullptr);
}

TEST_F(TimerStoreTest, FiresOnlyWhatIsDueAtOrBeforeTheWatermark) {
  TimerStore timers;
  timers.Set(21, List("E1", "O4"));
  timers.Set(10, List("E1", "O1"));
  timers.Set(20, List("E1", "O3"));
  timers.Set(20, List("E1", "O2"));
  EXPECT_EQ(FireUpTo(timers, 9), std::vector<std::string>{});
  EXPECT_EQ(FireUpTo(timers, 20),
            (std::vector<std::string>{"10 E1 O1 CEB621", "20 E1 O2 CEB621",
                                      "20 E1 O3 CEB621"}));
  ASSERT_NE(timers.Next(), nullptr);
  EXPECT_EQ(Describe(*timers.Next()), "21 E1 O4 CEB621");
  EXPECT_EQ(timers.pending_lists(), 1);
}

TEST_F(TimerStoreTest, SettingATimerTwiceSetsItOnce) {
  TimerStore timers;
  timers.Set(10, List("E1", "O1"));
  timers.Set(10, List("E1", "O1"));
  EXPECT_EQ(timers.pending_lists(), 1);
  EXPECT_EQ(FireAll(timers), std::vector<std::string>{"10 E1 O1 CEB621"});
}

TEST_F(TimerStoreTest, CancelRemovesOnlyThatTimer) {
  TimerStore timers;
  timers.Set(10, List("E1", "O1"));
  timers.Set(20, List("E1", "O1"));
  timers.Set(10, Expiry("L1"));
  timers.Cancel(10, List("E1", "O1"));
  timers.Cancel(15, List("E1", "O1"));  // not set: nothing happens
  timers.Cancel(10, List("E1", "O2"));  // not set: nothing happens
  EXPECT_EQ(timers.pending_lists(), 1);
  EXPECT_EQ(timers.pending_shipments(), 1);
  EXPECT_EQ(FireAll(timers),
            (std::vector<std::string>{"10  L1 CEB505", "20 E1 O1 CEB621"}));
}

TEST_F(TimerStoreTest, CountsListTimeoutsAndShipmentExpiriesApart) {
  TimerStore timers;
  timers.Set(10, List("E1", "O1"));
  timers.Set(11, List("E1", "O2", DocType::kCeb603));
  timers.Set(12, Expiry("L1"));
  EXPECT_EQ(timers.pending_lists(), 2);
  EXPECT_EQ(timers.pending_shipments(), 1);
  timers.Pop();
  timers.Cancel(12, Expiry("L1"));
  EXPECT_EQ(timers.pending_lists(), 1);
  EXPECT_EQ(timers.pending_shipments(), 0);
}

TEST_F(TimerStoreTest, FiresNegativeAndFarDueTimesInOrder) {
  TimerStore timers;
  timers.Set(86400, List("E2", "O7"));
  timers.Set(-3600, List("E1", "O9"));
  timers.Set(86400, List("E1", "O8"));
  timers.Set(int64_t{1} << 40, Expiry("L2"));
  EXPECT_EQ(FireAll(timers),
            (std::vector<std::string>{
                "-3600 E1 O9 CEB621", "86400 E1 O8 CEB621",
                "86400 E2 O7 CEB621", "1099511627776  L2 CEB505"}));
}

// Timers are not stored (the engine rebuilds them from the groups and
// shipments): a flush writes nothing for them.
TEST_F(TimerStoreTest, FlushWritesNothing) {
  TimerStore timers;
  ASSERT_TRUE(timers.Load(*store_).ok());
  timers.Set(10, List("E1", "O1"));
  timers.Set(20, Expiry("L1"));
  timers.Cancel(10, List("E1", "O1"));
  WriteBatch batch(*store_);
  timers.Flush(&batch);
  EXPECT_EQ(batch.Count(), 0u);
}

// A state of the older layout kept its timers in Store::kTimers; the first
// flush deletes them, once.
TEST_F(TimerStoreTest, TimersOfTheOlderLayoutAreDeletedAtTheFirstFlush) {
  ASSERT_TRUE(Commit([](WriteBatch* batch) {
                batch->Put(Store::kTimers, "A0001due-and-list", "");
                batch->Put(Store::kTimers, "L01234567due-and-list", "");
              }).ok());
  TimerStore timers;
  ASSERT_TRUE(timers.Load(*store_).ok());
  ASSERT_TRUE(Commit([&](WriteBatch* batch) { timers.Flush(batch); }).ok());
  StoreIterator it = store_->NewIterator(Store::kTimers);
  it.SeekToFirst();
  EXPECT_FALSE(it.Valid());
  WriteBatch again(*store_);
  timers.Flush(&again);
  EXPECT_EQ(again.Count(), 0u);
}

// ---------------------------------------------------------------------------
// SortedStore

constexpr Store kSortedStore = Store::kSummaries;

// The values a scan of [begin, end) visits, in order.
std::vector<std::string> ScanOf(SortedStore& sorted, std::string_view begin,
                                std::string_view end) {
  std::vector<std::string> values;
  sorted.Scan(begin, end, [&](std::string_view value) {
    values.emplace_back(value);
    return true;
  });
  return values;
}

class SortedStoreTest : public StateDirTest {
 protected:
  // Puts `keys` straight into the store, each with value "stored-<key>".
  void Preload(std::initializer_list<std::string> keys) {
    ASSERT_TRUE(Commit([&](WriteBatch* batch) {
                  for (const std::string& key : keys) {
                    batch->Put(kSortedStore, key, "stored-" + key);
                  }
                }).ok());
  }
};

TEST_F(SortedStoreTest, ScanMergesPendingPutsWithTheStoreInKeyOrder) {
  ASSERT_NO_FATAL_FAILURE(Preload({"b", "d"}));
  SortedStore sorted(store_.get(), kSortedStore);
  sorted.Put("e", "new-e");
  sorted.Put("a", "new-a");
  sorted.Put("c", "new-c");
  EXPECT_EQ(ScanOf(sorted, "", "z"),
            (std::vector<std::string>{"new-a", "stored-b", "new-c", "stored-d",
                                      "new-e"}));
  // Pending puts are not in the store until flushed.
  auto stored = store_->Get(kSortedStore, "a");
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(stored->has_value());
}

TEST_F(SortedStoreTest, PendingPutReplacesTheStoredValue) {
  ASSERT_NO_FATAL_FAILURE(Preload({"a", "b", "c"}));
  SortedStore sorted(store_.get(), kSortedStore);
  sorted.Put("b", "new-b");
  EXPECT_EQ(ScanOf(sorted, "", "z"),
            (std::vector<std::string>{"stored-a", "new-b", "stored-c"}));
}

TEST_F(SortedStoreTest, ScanStopsAtTheRangeEndAndWhenVisitSaysSo) {
  ASSERT_NO_FATAL_FAILURE(Preload({"a", "c", "e"}));
  SortedStore sorted(store_.get(), kSortedStore);
  sorted.Put("b", "new-b");
  sorted.Put("d", "new-d");
  EXPECT_EQ(ScanOf(sorted, "b", "d"),
            (std::vector<std::string>{"new-b", "stored-c"}));
  EXPECT_EQ(ScanOf(sorted, "bb", "c"), std::vector<std::string>{});
  std::vector<std::string> visited;
  sorted.Scan("", "z", [&](std::string_view value) {
    visited.emplace_back(value);
    return visited.size() < 2;
  });
  EXPECT_EQ(visited, (std::vector<std::string>{"stored-a", "new-b"}));
  EXPECT_TRUE(sorted.status().ok()) << sorted.status();
}

TEST_F(SortedStoreTest, DeletedRangeHidesStoredAndPendingKeys) {
  ASSERT_NO_FATAL_FAILURE(Preload({"a", "b", "c", "d"}));
  SortedStore sorted(store_.get(), kSortedStore);
  sorted.Put("bb", "new-bb");
  sorted.DeleteRange("b", "d");
  EXPECT_EQ(ScanOf(sorted, "", "z"),
            (std::vector<std::string>{"stored-a", "stored-d"}));
  // A key put after the range was deleted survives it.
  sorted.Put("c", "new-c");
  EXPECT_EQ(ScanOf(sorted, "", "z"),
            (std::vector<std::string>{"stored-a", "new-c", "stored-d"}));
}

TEST_F(SortedStoreTest, FlushedChangesReadBackAfterReopen) {
  ASSERT_NO_FATAL_FAILURE(Preload({"a", "b", "c", "d"}));
  {
    SortedStore sorted(store_.get(), kSortedStore);
    sorted.Put("bb", "new-bb");
    sorted.DeleteRange("b", "d");
    sorted.Put("c", "new-c");
    sorted.Put("e", "new-e");
    ASSERT_TRUE(Commit([&](WriteBatch* batch) { sorted.Flush(batch); }).ok());
    // Flushed: nothing is pending, and what is stored is the same.
    EXPECT_EQ(
        ScanOf(sorted, "", "z"),
        (std::vector<std::string>{"stored-a", "new-c", "stored-d", "new-e"}));
  }
  ASSERT_NO_FATAL_FAILURE(Reopen());
  SortedStore sorted(store_.get(), kSortedStore);
  EXPECT_EQ(
      ScanOf(sorted, "", "z"),
      (std::vector<std::string>{"stored-a", "new-c", "stored-d", "new-e"}));
}

// ---------------------------------------------------------------------------
// Outbox

struct OutboxEntry {
  int64_t seq;
  std::string key;
  std::string line;
  friend bool operator==(const OutboxEntry&, const OutboxEntry&) = default;
  friend std::ostream& operator<<(std::ostream& os, const OutboxEntry& e) {
    return os << e.seq << " [" << e.key << "] " << e.line;
  }
};

// The entries of `s` from `from` on, and how the walk ended.
absl::Status Unpublished(Outbox& outbox, OutputStream s, int64_t from,
                         std::vector<OutboxEntry>* entries) {
  return outbox.ForEachUnpublished(
      s, from, [&](int64_t seq, std::string_view key, std::string_view line) {
        entries->push_back({seq, std::string(key), std::string(line)});
        return absl::OkStatus();
      });
}

class OutboxTest : public StateDirTest {
 protected:
  // The run record the state holds.
  RunRecord Committed() {
    auto run = ReadRunRecord(*store_);
    EXPECT_TRUE(run.ok()) << run.status();
    EXPECT_TRUE(run.ok() && run->has_value());
    return run.ok() && run->has_value() ? **run : RunRecord();
  }
};

constexpr OutputStream kReceipts = OutputStream::kReceipts;
constexpr OutputStream kSummaries = OutputStream::kSummaries;
constexpr OutputStream kDeadLetters = OutputStream::kDeadLetters;

TEST_F(OutboxTest, NumbersEachStreamFromZero) {
  RunRecord run;
  Outbox outbox(store_.get(), &run);
  WriteBatch batch(*store_);
  EXPECT_EQ(outbox.Append(&batch, kReceipts, "O1", "r0"), 0);
  EXPECT_EQ(outbox.Append(&batch, kDeadLetters, "", "d0"), 0);
  EXPECT_EQ(outbox.Append(&batch, kReceipts, "O2", "r1"), 1);
  EXPECT_EQ(outbox.Append(&batch, kSummaries, "2024-03", "s0"), 0);
  EXPECT_EQ(outbox.Append(&batch, kReceipts, "O3", "r2"), 2);
  EXPECT_EQ(outbox.Append(&batch, kDeadLetters, "", "d1"), 1);
  EXPECT_EQ(outbox.next_seq(kReceipts), 3);
  EXPECT_EQ(outbox.next_seq(kSummaries), 1);
  EXPECT_EQ(outbox.next_seq(kDeadLetters), 2);
  EXPECT_EQ(outbox.floor(kReceipts), 0);
  EXPECT_EQ(outbox.size(), 6);
  EXPECT_EQ(batch.Count(), 6u);
}

TEST_F(OutboxTest, CommittedEntriesAreUnpublishedAfterReopen) {
  // Keys are bytes, not text: a NUL and an empty key come back as written.
  const std::string binary_key("O\0\xff", 3);
  {
    RunRecord run;
    Outbox outbox(store_.get(), &run);
    ASSERT_TRUE(Commit([&](WriteBatch* batch) {
                  outbox.Append(batch, kReceipts, binary_key, "r0");
                  outbox.Append(batch, kSummaries, "2024-03", "s0");
                  outbox.Append(batch, kReceipts, "", "r1");
                  outbox.Append(batch, kReceipts, "O3", "");
                  PutRunRecord(run, batch);
                }).ok());
  }
  ASSERT_NO_FATAL_FAILURE(Reopen());
  RunRecord run = Committed();
  Outbox outbox(store_.get(), &run);
  EXPECT_EQ(outbox.next_seq(kReceipts), 3);
  EXPECT_EQ(outbox.size(), 4);
  std::vector<OutboxEntry> receipts, summaries, dead_letters;
  ASSERT_TRUE(
      Unpublished(outbox, kReceipts, outbox.floor(kReceipts), &receipts).ok());
  EXPECT_EQ(receipts,
            (std::vector<OutboxEntry>{
                {0, binary_key, "r0"}, {1, "", "r1"}, {2, "O3", ""}}));
  ASSERT_TRUE(Unpublished(outbox, kSummaries, 0, &summaries).ok());
  EXPECT_EQ(summaries, (std::vector<OutboxEntry>{{0, "2024-03", "s0"}}));
  ASSERT_TRUE(Unpublished(outbox, kDeadLetters, 0, &dead_letters).ok());
  EXPECT_TRUE(dead_letters.empty());
}

TEST_F(OutboxTest, UnpublishedTailStartsWhereAsked) {
  RunRecord run;
  Outbox outbox(store_.get(), &run);
  ASSERT_TRUE(Commit([&](WriteBatch* batch) {
                for (int i = 0; i < 4; ++i) {
                  outbox.Append(batch, kReceipts, absl::StrFormat("O%d", i),
                                absl::StrFormat("r%d", i));
                }
              }).ok());
  std::vector<OutboxEntry> tail;
  ASSERT_TRUE(Unpublished(outbox, kReceipts, 2, &tail).ok());
  EXPECT_EQ(tail, (std::vector<OutboxEntry>{{2, "O2", "r2"}, {3, "O3", "r3"}}));
  std::vector<OutboxEntry> none;
  ASSERT_TRUE(Unpublished(outbox, kReceipts, 4, &none).ok());
  EXPECT_TRUE(none.empty());
}

TEST_F(OutboxTest, TrimDeletesWhatIsPublishedAndMovesTheFloor) {
  {
    RunRecord run;
    Outbox outbox(store_.get(), &run);
    ASSERT_TRUE(Commit([&](WriteBatch* batch) {
                  for (int i = 0; i < 5; ++i) {
                    outbox.Append(batch, kReceipts, "O",
                                  absl::StrFormat("r%d", i));
                  }
                  outbox.Append(batch, kSummaries, "M", "s0");
                  outbox.Append(batch, kSummaries, "M", "s1");
                  PutRunRecord(run, batch);
                }).ok());
    ASSERT_TRUE(Commit([&](WriteBatch* batch) {
                  outbox.Trim(batch, {3, 0, 0});
                  PutRunRecord(run, batch);
                }).ok());
    EXPECT_EQ(outbox.floor(kReceipts), 3);
    EXPECT_EQ(outbox.floor(kSummaries), 0);
    EXPECT_EQ(outbox.size(), 4);
  }
  ASSERT_NO_FATAL_FAILURE(Reopen());
  RunRecord run = Committed();
  Outbox outbox(store_.get(), &run);
  EXPECT_EQ(outbox.floor(kReceipts), 3);
  EXPECT_EQ(outbox.next_seq(kReceipts), 5);
  std::vector<OutboxEntry> receipts;
  ASSERT_TRUE(
      Unpublished(outbox, kReceipts, outbox.floor(kReceipts), &receipts).ok());
  EXPECT_EQ(receipts,
            (std::vector<OutboxEntry>{{3, "O", "r3"}, {4, "O", "r4"}}));
  // What was trimmed is gone from the store.
  std::vector<OutboxEntry> from_zero;
  EXPECT_EQ(Unpublished(outbox, kReceipts, 0, &from_zero).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_TRUE(from_zero.empty());
  // The other streams are untouched.
  std::vector<OutboxEntry> summaries;
  ASSERT_TRUE(Unpublished(outbox, kSummaries, 0, &summaries).ok());
  EXPECT_EQ(summaries,
            (std::vector<OutboxEntry>{{0, "M", "s0"}, {1, "M", "s1"}}));
}

TEST_F(OutboxTest, TrimNeverMovesAFloorBack) {
  RunRecord run;
  Outbox outbox(store_.get(), &run);
  ASSERT_TRUE(Commit([&](WriteBatch* batch) {
                for (int i = 0; i < 4; ++i) {
                  outbox.Append(batch, kReceipts, "O", "r");
                }
                outbox.Trim(batch, {3, 0, 0});
              }).ok());
  WriteBatch batch(*store_);
  outbox.Trim(&batch, {1, 0, 0});
  outbox.Trim(&batch, {3, 0, 0});
  EXPECT_EQ(batch.Count(), 0u);
  EXPECT_EQ(outbox.floor(kReceipts), 3);
  EXPECT_EQ(outbox.size(), 1);
}

TEST_F(OutboxTest, MissingEntryIsDataLoss) {
  RunRecord run;
  Outbox outbox(store_.get(), &run);
  ASSERT_TRUE(Commit([&](WriteBatch* batch) {
                outbox.Append(batch, kReceipts, "O1", "r0");
              }).ok());
  // Numbered, but its batch is never committed.
  WriteBatch lost(*store_);
  outbox.Append(&lost, kReceipts, "O2", "r1");
  std::vector<OutboxEntry> entries;
  const absl::Status st = Unpublished(outbox, kReceipts, 0, &entries);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_NE(st.message().find("outbox record 1 of receipts"), std::string::npos)
      << st;
  EXPECT_EQ(entries, (std::vector<OutboxEntry>{{0, "O1", "r0"}}));
}

// ---------------------------------------------------------------------------
// Changelog

// Every key and value of `s`, in order.
std::vector<std::pair<std::string, std::string>> Contents(StateStore& store,
                                                          Store s) {
  std::vector<std::pair<std::string, std::string>> out;
  StoreIterator it = store.NewIterator(s);
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    out.emplace_back(std::string(it.key()), std::string(it.value()));
  }
  return out;
}

class ChangelogTest : public StateDirTest {
 protected:
  // Commits what `fill` does in a batch that records the logged stores'
  // changes, and adds their changelog records to records_.
  void CommitLogged(absl::FunctionRef<void(WriteBatch*)> fill) {
    WriteBatch batch(*store_);
    batch.RecordChanges(ChangeloggedStores());
    fill(&batch);
    for (const Change& c : batch.changes()) {
      if (std::optional<ChangelogRecord> r = ToChangelogRecord(c, "test")) {
        records_.push_back(*std::move(r));
      }
    }
    ASSERT_TRUE(store_->Commit(&batch).ok());
  }
  std::vector<ChangelogRecord> records_;
};

// The records of a state's changes, applied in order to a new state,
// rebuild the logged stores exactly; what is not logged stays out.
TEST_F(ChangelogTest, RecordsAppliedToANewStateRebuildTheLoggedStores) {
  const std::string order = OrderKey(4, "ORDER-1");
  CommitLogged([&](WriteBatch* b) {
    b->Put(Store::kOrders, order, "v1");
    b->Put(Store::kOrders, OrderKey(4, "ORDER-2"), "doomed");
    b->Put(Store::kBuyers, "buyer-hash-2026", "100");
    b->Put(Store::kSummaries, RoundPrefix(202611, 0) + "list-a", "a");
    b->Put(Store::kSummaries, RoundPrefix(202611, 0) + "list-b", "b");
    b->Put(Store::kSummaries, RoundPrefix(202611, 1) + "list-c", "c");
    b->Put(Store::kMeta, kRunRecordKey, "run-1");
    b->Put(Store::kMeta, WriterSeqKey(3, OutputStream::kAllowance, 1), "\x08");
    b->Put(Store::kMeta, "secret-check", "not logged");
    b->Put(Store::kOutbox, OutboxKey(OutputStream::kReceipts, 0), "no");
    b->Put(Store::kRegistry, "registry-hash", "no");
  });
  CommitLogged([&](WriteBatch* b) {
    b->Put(Store::kOrders, order, "v2");
    b->Delete(Store::kOrders, OrderKey(4, "ORDER-2"));
    b->DeleteRange(Store::kSummaries, RoundPrefix(202611, 0),
                   RoundPrefix(202611, 1));
    b->Put(Store::kMeta, kRunRecordKey, "run-2");
  });
  EXPECT_EQ(records_.size(), 12u);

  const fs::path other = dir_.string() + "-restored";
  fs::remove_all(other);
  {
    auto restored = StateStore::Open({.path = other.string()});
    ASSERT_TRUE(restored.ok()) << restored.status();
    WriteBatch batch(**restored);
    for (const ChangelogRecord& r : records_) {
      std::optional<std::string_view> value;
      if (!r.value.empty()) value = r.value;
      ASSERT_TRUE(ApplyChangelogRecord(r.key, value, &batch).ok());
    }
    ASSERT_TRUE((*restored)->Commit(&batch).ok());
    for (Store s : {Store::kOrders, Store::kBuyers, Store::kSummaries}) {
      EXPECT_EQ(Contents(**restored, s), Contents(*store_, s)) << StoreName(s);
    }
    using KV = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(Contents(**restored, Store::kSummaries),
              (KV{{RoundPrefix(202611, 1) + "list-c", "c"}}));
    EXPECT_EQ(Contents(**restored, Store::kMeta),
              (KV{{std::string(kRunRecordKey), "run-2"},
                  {WriterSeqKey(3, OutputStream::kAllowance, 1), "\x08"}}));
    EXPECT_TRUE(Contents(**restored, Store::kOutbox).empty());
    EXPECT_TRUE(Contents(**restored, Store::kRegistry).empty());
  }
  fs::remove_all(other);
}

// Every key's changes go to the partition of the task that owns it: an
// order's to its stage A task, a buyer's totals to its stage B task (the
// partition of the buyer's keyed hash, whatever the year), a waybill's or
// a shipment's to the partition of its logisticsNo, every summaries key
// (a month, its rounds' closed lists and their range deletion) to stage
// C's one task, partition 0.
TEST_F(ChangelogTest, PartitionsAreTheTasksThatOwnTheKeys) {
  for (const char* order_no : {"A1", "B22", "C333", "D4444", "E55555"}) {
    const std::string key = OrderKey(6, order_no);
    const std::string record = std::string(1, char(Store::kOrders)) + key;
    EXPECT_EQ(ChangelogPartition(record, 6), PartitionOf(order_no, 6))
        << order_no;
  }
  const std::string s(1, char(Store::kSummaries));
  for (int32_t p = 202601; p <= 202612; ++p) {
    EXPECT_EQ(ChangelogPartition(s + MonthKey(p), 7), 0);
    EXPECT_EQ(ChangelogPartition(s + RoundPrefix(p, 3) + "some list", 7), 0);
  }
  EXPECT_EQ(ChangelogPartition(s + std::string(kSummaryWatermarkKey), 7), 0);
  const std::string b(1, char(Store::kBuyers));
  const std::string l(1, char(Store::kLogistics));
  std::set<int32_t> buyers, shipments;
  for (int i = 0; i < 40; ++i) {
    const std::string buyer = absl::StrCat("keyed-hash-of-buyer-", i);
    const int32_t task = PartitionOf(buyer, 7);
    buyers.insert(task);
    for (int year : {2025, 2026}) {
      EXPECT_EQ(ChangelogPartition(b + TotalKey(buyer, year), 7), task);
    }
    const std::string no = absl::StrCat("SF", 1000 + i);
    shipments.insert(PartitionOf(no, 7));
    EXPECT_EQ(ChangelogPartition(l + ShipmentKey(no), 7), PartitionOf(no, 7));
    EXPECT_EQ(ChangelogPartition(l + WaybillKey("SF", no), 7),
              PartitionOf(no, 7));
    EXPECT_EQ(ChangelogPartition(l + WaybillKey("a longer code", no), 7),
              PartitionOf(no, 7));
    EXPECT_TRUE(
        RecordInItsPartition(l + ShipmentKey(no), PartitionOf(no, 7), 7));
    EXPECT_FALSE(RecordInItsPartition(l + ShipmentKey(no),
                                      (PartitionOf(no, 7) + 1) % 7, 7));
  }
  EXPECT_GT(buyers.size(), 3u) << "buyers spread over the tasks";
  EXPECT_GT(shipments.size(), 3u) << "shipments spread over the tasks";
  EXPECT_EQ(LogisticsNoOfKey(WaybillKey("SF", "SF1001")), "SF1001");
  EXPECT_EQ(LogisticsNoOfKey(ShipmentKey("SF1001")), "SF1001");
  EXPECT_FALSE(LogisticsNoOfKey("short"));
  EXPECT_EQ(BuyerOfTotalKey(TotalKey("buyer", 2026)), "buyer");
  // A writer task's numbers go with its task, whatever their stream and
  // destination.
  const std::string meta(1, char(Store::kMeta));
  for (int32_t task = 0; task < 6; ++task) {
    for (int32_t to : {0, 5}) {
      EXPECT_EQ(
          ChangelogPartition(
              meta + WriterSeqKey(task, OutputStream::kAllowanceAnswers, to),
              6),
          task);
    }
  }
  // So does a task's position; it is logged.
  for (int32_t task = 0; task < 6; ++task) {
    EXPECT_EQ(ChangelogPartition(meta + TaskPositionKey(task), 6), task);
    EXPECT_TRUE(ToChangelogRecord(
        {Store::kMeta, Change::Kind::kPut, TaskPositionKey(task), "place"},
        "test"));
  }
  EXPECT_EQ(TaskOfPositionKey(TaskPositionKey(5)), 5u);
  EXPECT_FALSE(TaskOfPositionKey(kRunRecordKey));
  EXPECT_FALSE(ToChangelogRecord(
      {Store::kMeta, Change::Kind::kPut, std::string(kSecretCheckKey), "x"},
      "test"));
  // Every instance's run record is its own key, all in layout 1's run
  // record's partition; applied, each is the run record.
  std::string legacy = meta;
  legacy.append(kRunRecordKey);
  for (const char* instance : {"a", "clearlane-0", ""}) {
    const auto r = ToChangelogRecord(
        {Store::kMeta, Change::Kind::kPut, std::string(kRunRecordKey), "run"},
        instance);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->key, legacy + "/" + instance);
    std::optional<std::string_view> of;
    EXPECT_TRUE(IsRunRecordLogKey(r->key, &of));
    EXPECT_EQ(of, instance);
    EXPECT_EQ(ChangelogPartition(r->key, 6), PartitionOf(legacy, 6));
    WriteBatch batch(*store_);
    ASSERT_TRUE(ApplyChangelogRecord(r->key, r->value, &batch).ok());
    ASSERT_TRUE(store_->Commit(&batch).ok());
    auto run = store_->Get(Store::kMeta, kRunRecordKey);
    ASSERT_TRUE(run.ok() && *run);
    EXPECT_EQ(**run, "run");
  }
  std::optional<std::string_view> of = "x";
  EXPECT_TRUE(IsRunRecordLogKey(legacy, &of));
  EXPECT_EQ(of, std::nullopt) << "layout 1's one key names no instance";
  EXPECT_FALSE(IsRunRecordLogKey(legacy + "x"));
  EXPECT_FALSE(IsRunRecordLogKey(meta + "ru"));
  EXPECT_EQ(WriterOfSeqKey(WriterSeqKey(7, OutputStream::kAllowance, 2)), 7u);
  EXPECT_FALSE(WriterOfSeqKey(kRunRecordKey));
  EXPECT_FALSE(WriterOfSeqKey(std::string(kWriterSeqPrefix) + "short"));
}

TEST_F(ChangelogTest, ARecordClearlaneDoesNotWriteIsDataLoss) {
  WriteBatch batch(*store_);
  const std::string orders(1, char(Store::kOrders));
  EXPECT_EQ(ApplyChangelogRecord(orders + "k", "Xvalue", &batch).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ApplyChangelogRecord(orders + "k", "", &batch).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ApplyChangelogRecord("", "Pvalue", &batch).code(),
            absl::StatusCode::kDataLoss);
  const std::string outbox(1, char(Store::kOutbox));
  EXPECT_EQ(ApplyChangelogRecord(outbox + "k", "Pvalue", &batch).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(batch.Count(), 0u);
}

// A state kept before the changelog (its run record counts no changelog
// records) is logged whole, once; the records rebuild it.
TEST_F(ChangelogTest, AStateOlderThanItsChangelogIsLoggedWholeOnce) {
  RunRecord run;
  Outbox outbox(store_.get(), &run);
  auto none = LogWholeStateIfNeeded(store_.get(), &outbox, &run, "test");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, 0) << "a new state has nothing to log";

  ASSERT_TRUE(Commit([&](WriteBatch* b) {
                for (int i = 0; i < 25000; ++i) {
                  b->Put(Store::kOrders, OrderKey(4, absl::StrCat("O", i)),
                         absl::StrCat("order ", i));
                }
                b->Put(Store::kBuyers, "buyer", "7");
                b->Put(Store::kMeta,
                       WriterSeqKey(2, OutputStream::kAllowanceAnswers, 0),
                       "\x02");
                b->Put(Store::kMeta, TaskPositionKey(3), "task 3's place");
                b->Put(Store::kSummaries, MonthKey(202611), "month");
                b->Put(Store::kRegistry, "registry-hash", "not logged");
                run.position = "offsets";
                PutRunRecord(run, b);
              }).ok());
  auto logged = LogWholeStateIfNeeded(store_.get(), &outbox, &run, "test");
  ASSERT_TRUE(logged.ok()) << logged.status();
  EXPECT_EQ(*logged, 25000 + 1 + 1 + 1 + 1 + 1);
  EXPECT_EQ(outbox.next_seq(OutputStream::kChangelog), *logged);
  auto again = LogWholeStateIfNeeded(store_.get(), &outbox, &run, "test");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0) << "logged twice";

  const fs::path other = dir_.string() + "-restored";
  fs::remove_all(other);
  {
    auto restored = StateStore::Open({.path = other.string()});
    ASSERT_TRUE(restored.ok()) << restored.status();
    WriteBatch batch(**restored);
    ASSERT_TRUE(
        outbox
            .ForEachUnpublished(
                OutputStream::kChangelog, 0,
                [&](int64_t, std::string_view key, std::string_view value) {
                  return ApplyChangelogRecord(key, value, &batch);
                })
            .ok());
    ASSERT_TRUE((*restored)->Commit(&batch).ok());
    for (Store s : {Store::kOrders, Store::kBuyers, Store::kSummaries}) {
      EXPECT_EQ(Contents(**restored, s), Contents(*store_, s)) << StoreName(s);
    }
    auto run_restored = ReadRunRecord(**restored);
    ASSERT_TRUE(run_restored.ok() && *run_restored);
    EXPECT_EQ((*run_restored)->position, "offsets");
    auto writer = (*restored)->Get(
        Store::kMeta, WriterSeqKey(2, OutputStream::kAllowanceAnswers, 0));
    ASSERT_TRUE(writer.ok() && *writer);
    EXPECT_EQ(**writer, "\x02");
    auto place = (*restored)->Get(Store::kMeta, TaskPositionKey(3));
    ASSERT_TRUE(place.ok() && *place);
    EXPECT_EQ(**place, "task 3's place");
    EXPECT_TRUE(Contents(**restored, Store::kRegistry).empty());
  }
  fs::remove_all(other);
}

// A state whose changelog is in layout 1 (its run record says so) is
// logged whole in layout 2 at its next start, once, ending with a run
// record that says layout 2; what it logs later goes on in that layout.
TEST_F(ChangelogTest, AStateLoggedInLayout1IsLoggedWholeInLayout2Once) {
  RunRecord run;
  run.changelog_layout = 1;
  run.next_seq[static_cast<int>(OutputStream::kChangelog)] = 500;
  Outbox outbox(store_.get(), &run);
  ASSERT_TRUE(Commit([&](WriteBatch* b) {
                for (int i = 0; i < 30; ++i) {
                  b->Put(Store::kBuyers,
                         TotalKey(absl::StrCat("buyer-", i), 2026), "1");
                }
                b->Put(Store::kSummaries, MonthKey(202611), "month");
                PutRunRecord(run, b);
              }).ok());
  auto logged = LogWholeStateIfNeeded(store_.get(), &outbox, &run, "test");
  ASSERT_TRUE(logged.ok()) << logged.status();
  EXPECT_EQ(*logged, 30 + 1 + 1);
  EXPECT_EQ(run.changelog_layout, kChangelogLayout);
  EXPECT_EQ(outbox.next_seq(OutputStream::kChangelog), 500 + *logged);
  auto stored = ReadRunRecord(*store_);
  ASSERT_TRUE(stored.ok() && *stored);
  EXPECT_EQ((*stored)->changelog_layout, kChangelogLayout);
  std::string last_key, last_value;
  ASSERT_TRUE(outbox
                  .ForEachUnpublished(OutputStream::kChangelog, 500,
                                      [&](int64_t, std::string_view key,
                                          std::string_view value) {
                                        last_key = key;
                                        last_value = value;
                                        return absl::OkStatus();
                                      })
                  .ok());
  std::optional<std::string_view> of;
  ASSERT_TRUE(IsRunRecordLogKey(last_key, &of));
  EXPECT_EQ(of, "test");
  auto logged_run = DecodeRunRecord(std::string_view(last_value).substr(1));
  ASSERT_TRUE(logged_run.ok()) << logged_run.status();
  EXPECT_EQ(logged_run->changelog_layout, kChangelogLayout);
  auto again = LogWholeStateIfNeeded(store_.get(), &outbox, &run, "test");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0) << "logged twice";
}

}  // namespace
}  // namespace clearlane
