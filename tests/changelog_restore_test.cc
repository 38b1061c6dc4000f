// The restore from the changelog (pipeline/kafka/changelog_restore.h) on
// the embedded mock cluster, across a change of the changelog's layout
// (state/changelog.h): a changelog whose last run record is in layout 2
// skips layout 1's records that are not in their key's partition (the
// whole log of the state in layout 2 supersedes them); one still in
// layout 1 is applied whole.

#include "pipeline/kafka/changelog_restore.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "model/coding.h"
#include "pipeline/engine/partition_group.h"
#include "pipeline/kafka/record_collector.h"
#include "pipeline/kafka/topic_source.h"
#include "pipeline/observe/log.h"
#include "state/changelog.h"
#include "state/keys.h"
#include "state/run_record.h"
#include "state/store.h"
#include "tests/mock_cluster.h"

namespace clearlane {
namespace {

namespace fs = std::filesystem;

constexpr int32_t kPartitions = 4;
constexpr char kTopic[] = "group-changelog";

// Layout 1's partition of a changelog key: murmur2 of the whole key.
int32_t Layout1Partition(std::string_view key) {
  return PartitionOf(key, kPartitions);
}

class ChangelogRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A directory per test: ctest runs them side by side.
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat(
               "changelog-restore-",
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(cluster_.ok());
    cluster_.CreateTopic(kTopic, kPartitions);
    auto producer = cluster_.Client(RD_KAFKA_PRODUCER, {});
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Logs `change` to `partition` as `writer` does, numbered as its next
  // record (`seq`: as that number instead, a copy). A run record goes
  // under layout 1's one key when `one_key`.
  void Log(const Change& change, int32_t partition,
           const std::string& writer = "a",
           std::optional<int64_t> seq = std::nullopt, bool one_key = false) {
    std::optional<ChangelogRecord> r = ToChangelogRecord(change, writer);
    ASSERT_TRUE(r);
    if (one_key) r->key.resize(1 + kRunRecordKey.size());
    int64_t& next = next_seq_[writer];
    const std::string number = absl::StrCat(seq ? *seq : next++);
    ASSERT_EQ(rd_kafka_producev(
                  producer_.get(), RD_KAFKA_V_TOPIC(kTopic),
                  RD_KAFKA_V_PARTITION(partition),
                  RD_KAFKA_V_KEY(r->key.data(), r->key.size()),
                  RD_KAFKA_V_VALUE(r->value.empty() ? nullptr : r->value.data(),
                                   r->value.size()),
                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                  RD_KAFKA_V_HEADER(kSeqHeader, number.data(),
                                    static_cast<ssize_t>(number.size())),
                  RD_KAFKA_V_HEADER(kInstanceHeader, writer.data(),
                                    static_cast<ssize_t>(writer.size())),
                  RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_flush(producer_.get(), 30000),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  // A put of a buyer's total, to `partition`, by `writer`.
  void LogTotal(const std::string& buyer, const std::string& value,
                int32_t partition, const std::string& writer = "a",
                std::optional<int64_t> seq = std::nullopt) {
    Log({Store::kBuyers, Change::Kind::kPut, TotalKey(buyer, 2026), value},
        partition, writer, seq);
  }
  // A run record in `layout` by `writer`, under its instance's key or
  // (`one_key`) layout 1's one key, to the run records' partition; its
  // position says which.
  void LogRunRecord(int32_t layout, const std::string& writer,
                    bool one_key = false) {
    RunRecord run;
    run.partitions = kPartitions;
    run.changelog_layout = layout;
    run.position = one_key ? "one key" : writer;
    std::string key(1, static_cast<char>(Store::kMeta));
    key.append(kRunRecordKey);
    Log({Store::kMeta, Change::Kind::kPut, std::string(kRunRecordKey),
         EncodeRunRecord(run)},
        ChangelogPartition(key, kPartitions), writer, std::nullopt, one_key);
  }

  // The state's run record's position: whose run record it took.
  static std::string PositionOf(const StateStore& store) {
    auto run = ReadRunRecord(store);
    EXPECT_TRUE(run.ok() && *run) << run.status();
    return run.ok() && *run ? (*run)->position : "";
  }

  absl::StatusOr<Kafka> Reader() {
    return cluster_.Client(RD_KAFKA_CONSUMER,
                           {{"group.id", "restore-test"},
                            {"enable.partition.eof", "true"},
                            {"isolation.level", "read_committed"}});
  }
  // Tombstones kept for ever: these tests are not about them.
  static TombstoneRetention Forever() {
    return {.retention_ms = INT64_MAX / 2, .now_ms = [] { return int64_t{0}; }};
  }

  absl::StatusOr<RestoreResult> Restore(StateStore* store,
                                        std::string_view instance = "a") {
    auto reader = Reader();
    if (!reader.ok()) return reader.status();
    auto restored = RestoreFromChangelog(
        reader->get(), kTopic, kPartitions, instance, Forever(), store,
        MakeJsonLogger("changelog-restore-test", stderr), nullptr);
    rd_kafka_consumer_close(reader->get());
    return restored;
  }

  absl::StatusOr<RestoreResult> CatchUp(StateStore* store,
                                        const std::vector<int32_t>& tasks,
                                        const RunRecord& run) {
    auto reader = Reader();
    if (!reader.ok()) return reader.status();
    auto caught = CatchUpTasks(
        reader->get(), kTopic, kPartitions, tasks, "me", run, Forever(), store,
        MakeJsonLogger("catch-up-test", stderr), nullptr);
    rd_kafka_consumer_close(reader->get());
    return caught;
  }

  // The end offset of a partition of the changelog.
  int64_t End(int32_t partition) {
    auto reader = Reader();
    EXPECT_TRUE(reader.ok());
    int64_t low = 0, high = 0;
    EXPECT_EQ(rd_kafka_query_watermark_offsets(reader->get(), kTopic, partition,
                                               &low, &high, 10000),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    return high;
  }

  // The value of a buyer's 2026 total in `store`, or nullopt.
  static std::optional<std::string> Total(const StateStore& store,
                                          const std::string& buyer) {
    auto v = store.Get(Store::kBuyers, TotalKey(buyer, 2026));
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : std::nullopt;
  }

  // A buyer whose totals layout 1 put in another partition than layout 2.
  static std::string MovedBuyer(int from) {
    for (int i = from;; ++i) {
      const std::string buyer = absl::StrCat("buyer-", i);
      std::string key(1, static_cast<char>(Store::kBuyers));
      key.append(TotalKey(buyer, 2026));
      if (Layout1Partition(key) != ChangelogPartition(key, kPartitions)) {
        return buyer;
      }
    }
  }
  static int32_t OldPartition(const std::string& buyer) {
    std::string key(1, static_cast<char>(Store::kBuyers));
    key.append(TotalKey(buyer, 2026));
    return Layout1Partition(key);
  }

  fs::path dir_;
  testing::MockCluster cluster_;
  Kafka producer_;
  std::map<std::string, int64_t> next_seq_;
};

// Layout 1's history of two buyers, then the whole state logged in layout
// 2 at the upgrade (only `kept` is still there: `gone`'s total was logged
// whole, then deleted, and compaction removed both from its new
// partition), then a run record in layout 2. The old put of `gone` in its
// old partition is the only record of it left: applied, it would bring
// back a total that was deleted.
TEST_F(ChangelogRestoreTest, Layout1RecordsOutOfTheirPartitionAreSkipped) {
  const std::string kept = MovedBuyer(0);
  const std::string gone = MovedBuyer(1000);
  // Layout 1's binary wrote the one run record key (and, since
  // 2026-12-07, named its instance on every record).
  LogTotal(kept, "100", OldPartition(kept));
  LogTotal(gone, "250", OldPartition(gone));
  LogTotal(kept, "300", OldPartition(kept));
  LogRunRecord(1, "a", /*one_key=*/true);
  // The upgrade: the state logged whole in layout 2, then its run record.
  LogTotal(kept, "300", PartitionOf(kept, kPartitions));
  LogRunRecord(2, "a");
  // Layout 2 goes on.
  LogTotal(kept, "450", PartitionOf(kept, kPartitions));
  LogRunRecord(2, "a");

  auto store = StateStore::Open({.path = dir_.string()});
  ASSERT_TRUE(store.ok()) << store.status();
  auto restored = Restore(store->get());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_TRUE(restored->restored);
  EXPECT_EQ(restored->read, 8);
  EXPECT_EQ(restored->skipped, 3) << "layout 1's three totals";
  EXPECT_EQ(Total(**store, kept), "450");
  EXPECT_EQ(Total(**store, gone), std::nullopt)
      << "a deleted total came back from layout 1's record";
  auto run = ReadRunRecord(**store);
  ASSERT_TRUE(run.ok() && *run) << run.status();
  EXPECT_EQ((*run)->changelog_layout, 2);
  EXPECT_EQ((*run)->next_seq[static_cast<int>(OutputStream::kChangelog)], 8);
}

// A changelog still in layout 1 (its last run record says so) is applied
// whole: each key's records share their layout 1 partition.
TEST_F(ChangelogRestoreTest, AChangelogStillInLayout1IsAppliedWhole) {
  const std::string moved = MovedBuyer(0);
  LogTotal(moved, "100", OldPartition(moved));
  LogTotal(moved, "300", OldPartition(moved));
  LogRunRecord(1, "a", /*one_key=*/true);

  auto store = StateStore::Open({.path = dir_.string()});
  ASSERT_TRUE(store.ok()) << store.status();
  auto restored = Restore(store->get());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_TRUE(restored->restored);
  EXPECT_EQ(restored->skipped, 0);
  EXPECT_EQ(Total(**store, moved), "300");
  auto run = ReadRunRecord(**store);
  ASSERT_TRUE(run.ok() && *run) << run.status();
  EXPECT_EQ((*run)->changelog_layout, 1)
      << "the next start logs it whole in layout 2";
}

// Once a task has moved, a partition holds two instances' records, each
// instance numbering its own from 0: every record is applied once (a copy
// of one, as the embedded broker shows an aborted transaction's, is
// dropped by its instance's number), and the state takes its own
// instance's run record, not the latest one; an instance with none of its
// own takes the latest of any (a renamed instance goes on from its
// predecessor's), before which layout 1's one key wins.
TEST_F(ChangelogRestoreTest, EachInstancesRecordsAreNumberedApart) {
  // Three buyers of one task, and one of another.
  std::vector<std::string> one;
  std::string other_task;
  for (int i = 0; one.size() < 3 || other_task.empty(); ++i) {
    const std::string buyer = absl::StrCat("buyer-", i);
    if (PartitionOf(buyer, kPartitions) == 1) {
      if (one.size() < 3) one.push_back(buyer);
    } else if (other_task.empty()) {
      other_task = buyer;
    }
  }
  const std::string &k1 = one[0], &k2 = one[1], &k3 = one[2], &k4 = other_task;
  const int32_t p = 1, q = PartitionOf(k4, kPartitions);
  LogTotal(k1, "1", p, "a");                 // a 0
  LogTotal(k2, "2", p, "b");                 // b 0
  LogTotal(k3, "3", p, "a");                 // a 1
  LogTotal(k2, "2", p, "b", 0);              // b 0 again: a copy
  LogTotal(k1, "4", p, "b");                 // b 1
  LogTotal(k4, "5", q, "b");                 // b 2, another partition
  LogRunRecord(2, "b");                      // b 3
  LogRunRecord(2, "old", /*one_key=*/true);  // old 0: the binary before
  LogRunRecord(2, "a");                      // a 2, the latest
  LogTotal(k3, "6", p, "a", 1);              // a 1 again: a copy

  auto store = StateStore::Open({.path = dir_.string()});
  ASSERT_TRUE(store.ok()) << store.status();
  auto restored = Restore(store->get(), "b");
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->read, 10);
  EXPECT_EQ(restored->applied, 8) << "two copies dropped";
  EXPECT_EQ(restored->skipped, 0);
  EXPECT_EQ(Total(**store, k1), "4");
  EXPECT_EQ(Total(**store, k2), "2") << "b's first record taken for a copy";
  EXPECT_EQ(Total(**store, k3), "3");
  EXPECT_EQ(Total(**store, k4), "5");
  EXPECT_EQ(PositionOf(**store), "b") << "its own run record";
  auto run = ReadRunRecord(**store);
  ASSERT_TRUE(run.ok() && *run);
  EXPECT_EQ((*run)->next_seq[static_cast<int>(OutputStream::kChangelog)], 4)
      << "numbered past every record of any instance";

  const fs::path other = dir_.string() + "-c";
  fs::remove_all(other);
  {
    auto renamed = StateStore::Open({.path = other.string()});
    ASSERT_TRUE(renamed.ok()) << renamed.status();
    auto again = Restore(renamed->get(), "c");
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(PositionOf(**renamed), "one key")
        << "none of its own: layout 1's one key before another's";
  }
  fs::remove_all(other);
}

// A task that comes to a process is caught up from its own partition,
// from the state's checkpoint on: another instance's records past it are
// applied (a copy once), this instance's numbered below its next number
// never (the state holds them, here a newer value than the log's), one
// numbered from it on (a newer self's) is; records before the checkpoint
// and another task's partition are not read. The checkpoint then stands
// at the partition's end with the other instance's mark, and a second
// catch-up applies nothing.
TEST_F(ChangelogRestoreTest, ATaskCatchesUpFromItsCheckpointOnly) {
  const int32_t t = 1;
  LogTotal("k1", "old", t, "me");    // me 0
  LogTotal("k3", "before", t, "b");  // b 0, before the checkpoint
  const int64_t checkpoint = End(t);
  LogTotal("k1", "own, lagging", t, "me", 5);  // the checkpoint lagged
  LogTotal("k4", "b4", t, "b");                // b 1
  LogTotal("k4", "b4", t, "b", 1);             // a copy of b 1
  LogTotal("k5", "newer self", t, "me", 12);
  LogTotal("k6", "b6", t, "b");              // b 2
  LogTotal("k7", "another task's", 2, "b");  // b 3, partition 2

  auto store = StateStore::Open({.path = dir_.string()});
  ASSERT_TRUE(store.ok()) << store.status();
  RunRecord run;
  run.next_seq[static_cast<int>(OutputStream::kChangelog)] = 10;
  {
    ChangelogCheckpoint c;
    c.offsets.assign(kPartitions, 0);
    c.offsets[t] = checkpoint;
    c.current_at.assign(kPartitions, -1);
    c.current_at[t] = 0;  // when it was current: now, for Forever()
    c.marks.resize(kPartitions);
    c.marks[t]["b"] = 0;
    WriteBatch batch(**store);
    batch.Put(Store::kMeta, kChangelogCheckpointKey,
              EncodeChangelogCheckpoint(c));
    batch.Put(Store::kBuyers, TotalKey("k1", 2026), "mine, newest");
    ASSERT_TRUE((*store)->Commit(&batch).ok());
  }
  auto caught = CatchUp(store->get(), {t}, run);
  ASSERT_TRUE(caught.ok()) << caught.status();
  EXPECT_EQ(caught->read, 5) << "from the checkpoint, partition 1 only";
  EXPECT_EQ(caught->applied, 3);
  EXPECT_EQ(Total(**store, "k1"), "mine, newest");
  EXPECT_EQ(Total(**store, "k3"), std::nullopt);
  EXPECT_EQ(Total(**store, "k4"), "b4");
  EXPECT_EQ(Total(**store, "k5"), "newer self");
  EXPECT_EQ(Total(**store, "k6"), "b6");
  EXPECT_EQ(Total(**store, "k7"), std::nullopt);

  auto after = ReadChangelogCheckpoint(**store);
  ASSERT_TRUE(after.ok() && *after) << after.status();
  EXPECT_EQ((*after)->offsets[t], End(t));
  EXPECT_EQ((*after)->offsets[2], 0) << "another task's partition, unread";
  EXPECT_EQ((*after)->marks[t].at("b"), 2);

  auto again = CatchUp(store->get(), {t}, run);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->read, 0);

  // A checkpoint that cannot say when it was current cannot tell whether
  // the deletions since are still there: refused, as a catch-up is.
  {
    ChangelogCheckpoint c = **after;
    c.offsets[t] = checkpoint;
    c.current_at[t] = -1;
    WriteBatch batch(**store);
    batch.Put(Store::kMeta, kChangelogCheckpointKey,
              EncodeChangelogCheckpoint(c));
    ASSERT_TRUE((*store)->Commit(&batch).ok());
    EXPECT_EQ(CatchUp(store->get(), {t}, run).status().code(),
              absl::StatusCode::kFailedPrecondition)
        << "tombstones";
  }

  const fs::path bare = dir_.string() + "-bare";
  fs::remove_all(bare);
  {
    auto without = StateStore::Open({.path = bare.string()});
    ASSERT_TRUE(without.ok());
    EXPECT_EQ(CatchUp(without->get(), {t}, run).status().code(),
              absl::StatusCode::kFailedPrecondition)
        << "no checkpoint";
  }
  fs::remove_all(bare);
}

// A restore leaves the checkpoint at the ends it read, with each other
// instance's mark.
TEST_F(ChangelogRestoreTest, ARestoreLeavesTheCheckpointAtTheEnds) {
  LogTotal("k1", "1", 0, "a");
  LogTotal("k2", "2", 3, "b");
  LogRunRecord(2, "a");
  auto store = StateStore::Open({.path = dir_.string()});
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(Restore(store->get()).ok());
  auto c = ReadChangelogCheckpoint(**store);
  ASSERT_TRUE(c.ok() && *c) << c.status();
  for (int32_t p = 0; p < kPartitions; ++p) {
    EXPECT_EQ((*c)->offsets[p], End(p)) << p;
  }
  EXPECT_EQ((*c)->marks[3].at("b"), 0);
}

// The data path of a task that moves, end to end over the changelog:
// the instance that ran task 1 logged its order, its position and its
// writer's numbers in partition 1 (layout 2 puts each there); a process
// that takes the task over catches partition 1 up and finds, in its own
// state, where task 1 stood in every topic, which its source restores.
TEST_F(ChangelogRestoreTest,
       AMovedTasksStateAndPositionArriveWithItsPartition) {
  auto consumer = cluster_.Client(RD_KAFKA_CONSUMER, {{"group.id", "g"}});
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  const auto new_source = [&](PartitionGroup* time) {
    auto source = std::make_unique<TopicRecordSource>(
        consumer->get(), std::vector<std::string>{"orders"}, time, 1, "",
        MakeJsonLogger("moved-task-test", stderr), nullptr);
    source->set_exchange_topics("allowance", "answers", "closed-lists");
    return source;
  };
  // What the instance that ran the task stood on: a position of two
  // tasks, of which task 1's part goes to the changelog.
  std::string whole;
  {
    BinaryWriter w(&whole);
    w.U8(4);
    w.Varint(3);
    for (const auto& [topic, partition, offset] :
         {std::tuple{"allowance", 1, 40}, std::tuple{"orders", 0, 900},
          std::tuple{"orders", 1, 1200}}) {
      w.Bytes(topic);
      w.Varint(partition);
      w.SignedVarint(offset);
      w.SignedVarint(0);
      w.Varint(0);
      w.U8(0);
      w.SignedVarint(0);
    }
    w.U8(0);
    w.SignedVarint(0);
  }
  PartitionGroup before;
  auto ran = new_source(&before);
  ASSERT_TRUE(ran->Restore(whole).ok());
  const auto parts = ran->TaskPositions();
  ASSERT_EQ(parts.size(), 2u);
  ASSERT_EQ(parts[1].first, 1);

  const std::string order_key = [] {
    for (int i = 0;; ++i) {
      const std::string no = absl::StrCat("ORDER-", i);
      if (PartitionOf(no, kPartitions) == 1) return OrderKey(kPartitions, no);
    }
  }();
  const std::vector<Change> logged = {
      {Store::kOrders, Change::Kind::kPut, order_key, "the order's group"},
      {Store::kMeta, Change::Kind::kPut, TaskPositionKey(1), parts[1].second},
      {Store::kMeta, Change::Kind::kPut,
       WriterSeqKey(1, OutputStream::kAllowance, 2), "\x07"}};
  for (const Change& c : logged) {
    auto r = ToChangelogRecord(c, "b");
    ASSERT_TRUE(r);
    Log(c, ChangelogPartition(r->key, kPartitions), "b");
  }

  auto store = StateStore::Open({.path = dir_.string()});
  ASSERT_TRUE(store.ok()) << store.status();
  {
    ChangelogCheckpoint c;
    c.offsets.assign(kPartitions, 0);
    c.current_at.assign(kPartitions, -1);
    c.marks.resize(kPartitions);
    WriteBatch batch(**store);
    batch.Put(Store::kMeta, kChangelogCheckpointKey,
              EncodeChangelogCheckpoint(c));
    ASSERT_TRUE((*store)->Commit(&batch).ok());
  }
  auto caught = CatchUp(store->get(), {1}, RunRecord());
  ASSERT_TRUE(caught.ok()) << caught.status();
  EXPECT_EQ(caught->applied, 3) << "the three records of task 1, all in [1]";
  for (const Change& c : logged) {
    auto v = (*store)->Get(c.store, c.key);
    ASSERT_TRUE(v.ok() && *v) << c.key;
    EXPECT_EQ(**v, c.value);
  }
  auto position = (*store)->Get(Store::kMeta, TaskPositionKey(1));
  ASSERT_TRUE(position.ok() && *position);
  PartitionGroup after;
  auto taking_over = new_source(&after);
  ASSERT_TRUE(taking_over->RestoreTask(**position).ok());
  EXPECT_EQ(taking_over->TaskPositions(), (std::vector{parts[1]}))
      << "where task 1 stood, in every topic";
}

}  // namespace
}  // namespace clearlane
