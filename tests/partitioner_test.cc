// Stage A's tasks are Kafka's partitions of orderNo: the hash must be the
// Java client's, and the state of a task must be a key range.

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "bench/generator.h"
#include "model/coding.h"
#include "model/decode.h"
#include "model/event_time.h"
#include "operators/summary.h"
#include "pipeline/engine/driver.h"
#include "pipeline/engine/engine.h"
#include "pipeline/engine/partition_group.h"
#include "pipeline/engine/task_context.h"
#include "pipeline/engine/writer_stamp.h"
#include "pipeline/files/file_source.h"
#include "pipeline/observe/log.h"
#include "state/keys.h"
#include "state/store.h"

namespace clearlane {
namespace {

namespace fs = std::filesystem;

// Kafka's own test vectors for its murmur2 (the Java client's
// Utils.murmur2), as signed 32-bit values.
TEST(Partitioner, Murmur2MatchesKafkasVectors) {
  const std::map<std::string, int32_t> vectors = {
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107},
  };
  for (const auto& [key, want] : vectors) {
    EXPECT_EQ(static_cast<int32_t>(Murmur2(key)), want) << key;
  }
}

// Every length modulo 4, bytes above 0x7f, and partition counts up to 64:
// the same partition as librdkafka's murmur2 partitioner.
TEST(Partitioner, PartitionOfMatchesLibrdkafka) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::string key(1 + rng() % 40, '\0');
    for (char& c : key) c = static_cast<char>(rng());
    const int32_t n = static_cast<int32_t>(1 + rng() % 64);
    ASSERT_EQ(PartitionOf(key, n),
              rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(),
                                               n, nullptr, nullptr))
        << "key of " << key.size() << " bytes, " << n << " partitions";
  }
}

// Keeps what the engine publishes.
class Collect : public OutputSink {
 public:
  absl::Status Publish(OutputStream s, int64_t, std::string_view key,
                       std::string_view line) override {
    lines.emplace_back(line);
    if (s == OutputStream::kAllowance) {
      allowance.emplace_back(std::string(key), std::string(line));
    }
    if (s == OutputStream::kSummaries) summaries.emplace_back(line);
    if (s == OutputStream::kClosedLists) closed_lists.emplace_back(line);
    return absl::OkStatus();
  }
  absl::Status Flush() override { return absl::OkStatus(); }
  std::vector<std::string> lines;
  std::vector<std::pair<std::string, std::string>> allowance;  // key, value
  std::vector<std::string> summaries;
  std::vector<std::string> closed_lists;
};

class EngineLayoutTest : public ::testing::Test {
 protected:
  spdlog::logger* Log() {
    if (!log_) log_ = MakeJsonLogger("test", stderr);
    return log_.get();
  }
  Logger log_;
  void SetUp() override {
    dir_ =
        fs::path(::testing::TempDir()) /
        ("layout-" +
         std::string(
             ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  EngineOptions Options() {
    EngineOptions o;
    o.state_dir = (dir_ / "state").string();
    o.sync = false;
    return o;
  }
  static Engine::Mode Partitions(int32_t n) {
    return {.overlap_commits = false, .partitions = n};
  }

  // Processes a generated mixed day through an engine with `partitions`
  // stage A tasks and commits, leaving timers pending (no drain).
  void ProcessDay(int32_t partitions) {
    GeneratorOptions g;
    g.orders = 400;
    g.seed = 5;
    g.flow = Flow::kMixed;
    g.anomalies.missing = 0.1;
    auto engine = Engine::Open(Options(), Partitions(partitions), Log());
    ASSERT_TRUE(engine.ok()) << engine.status();
    Process(g, engine->get(), nullptr);
    ASSERT_FALSE(published_.lines.empty());
  }

  // Generates `g`'s day and runs it through `engine` to its end, `observer`
  // (may be null) watching; then commits, or with `drain` fires every
  // timer (committing between them).
  void Process(const GeneratorOptions& g, Engine* engine,
               DriverObserver* observer, bool drain = false) {
    const std::string corpus = (dir_ / "day.ndjson").string();
    std::FILE* out = std::fopen(corpus.c_str(), "w");
    ASSERT_NE(out, nullptr);
    GeneratorStats stats;
    ASSERT_TRUE(Generate(g, out, nullptr, nullptr, &stats).ok());
    std::fclose(out);
    engine->epochs().StartPublishing(&published_);
    FilePosition start;
    start.inputs = {corpus};
    FileRecordSource source(start, 1, engine->secret());
    PartitionGroup time;
    time.Assign({PartitionId{}}, PartitionGroup::Clock::now());
    Driver driver(engine, &source, &time, observer);
    ASSERT_TRUE(driver.Run().ok());
    ASSERT_TRUE(source.ended());
    ASSERT_TRUE((drain ? driver.Drain() : driver.Commit()).ok());
  }

  fs::path dir_;
  Collect published_;
};

// Every order's key starts with the partition of its orderNo, so a
// partition's state is one key range. Timers are not stored: they are
// rebuilt from the groups and shipments (next test).
TEST_F(EngineLayoutTest, OrdersAreKeyRangesPerPartitionAndTimersAreNotStored) {
  constexpr int32_t kPartitions = 4;
  ProcessDay(kPartitions);
  auto store = StateStore::Open({.path = (dir_ / "state").string()});
  ASSERT_TRUE(store.ok()) << store.status();
  std::set<uint32_t> order_tasks;
  int64_t orders = 0;
  StoreIterator it = (*store)->NewIterator(Store::kOrders);
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    const std::string_view key = it.key();
    BinaryReader r(key);
    const uint32_t task = r.Fixed32();
    r.Fixed64();
    ASSERT_TRUE(r.ok());
    const std::string_view orderNo = key.substr(12);
    EXPECT_EQ(OrderNoOfKey(key), orderNo);
    EXPECT_EQ(task, static_cast<uint32_t>(PartitionOf(orderNo, kPartitions)))
        << orderNo;
    order_tasks.insert(task);
    ++orders;
  }
  ASSERT_TRUE(it.status().ok());
  EXPECT_GT(orders, 300);
  EXPECT_EQ(order_tasks, (std::set<uint32_t>{0, 1, 2, 3}));
  StoreIterator timers = (*store)->NewIterator(Store::kTimers);
  timers.SeekToFirst();
  EXPECT_FALSE(timers.Valid());
  ASSERT_TRUE(timers.status().ok());
}

// After every commit of a day with every anomaly, in epochs small enough
// to end between any two documents of an order, the timers a start
// rebuilds from the committed state are exactly the timers the rules have
// set: what a restart after a kill at that commit would fire.
class CompareRebuiltTimers : public DriverObserver {
 public:
  static std::vector<std::string> Describe(const std::vector<Timer>& timers) {
    std::vector<std::string> out;
    for (const Timer& t : timers) {
      out.push_back(absl::StrFormat("%d %s %s %s", t.due, t.list.ebpCode,
                                    t.list.orderNo, DocTypeName(t.list.type)));
    }
    return out;
  }
  explicit CompareRebuiltTimers(Engine* engine) : engine_(engine) {}
  void AfterCommit() override {
    TaskContext rebuilt(&engine_->store(), /*has_registry=*/false);
    ASSERT_TRUE(rebuilt.Load(engine_->task().clearance()).ok());
    ASSERT_EQ(Describe(rebuilt.timers().All()),
              Describe(engine_->context().timers().All()))
        << "after commit " << commits;
    ++commits;
    lists += engine_->context().pending_lists();
    shipments += engine_->context().pending_shipments();
  }
  Engine* engine_;
  int commits = 0;
  int64_t lists = 0, shipments = 0;
};

// A mixed day of `orders` with every anomaly, to leave timers pending at
// most commits.
GeneratorOptions AnomalousMixedDay(int orders, uint64_t seed) {
  GeneratorOptions g;
  g.orders = orders;
  g.seed = seed;
  g.flow = Flow::kMixed;
  AnomalyRates& a = g.anomalies;
  a.duplicates = a.stale = a.modifications = a.missing = 0.03;
  a.amount_mismatches = a.payer_mismatches = a.invalid_ids = 0.02;
  a.cancels = a.returns = a.late_returns = 0.02;
  return g;
}

TEST_F(EngineLayoutTest, TimersRebuiltFromTheStateAreTheTimersSet) {
  const GeneratorOptions g = AnomalousMixedDay(1500, 23);
  EngineOptions o = Options();
  o.epoch_records = 97;
  auto engine = Engine::Open(o, Partitions(3), Log());
  ASSERT_TRUE(engine.ok()) << engine.status();
  CompareRebuiltTimers compare(engine->get());
  Process(g, engine->get(), &compare, /*drain=*/true);
  EXPECT_EQ((*engine)->context().timers().All(), std::vector<Timer>{});
  EXPECT_GT(compare.commits, 50);
  // Lists and shipments were waiting at many of those commits.
  EXPECT_GT(compare.lists, 1000);
  EXPECT_GT(compare.shipments, 100);
}

// A task that leaves the process and comes back (docs/engine.md "What (d)
// and (a) must also get right", 6) on the same state: at a commit, two of
// four tasks are forgotten (no cached entry, timer or waiting count of
// theirs is left; the others' timers stay) and adopted again (their
// timers read back from the state are the ones forgotten). The day's
// outputs are then byte for byte those of a run where nothing moved: a
// forgotten entry is read again from the store, even by caches that
// started on an empty state.
class ForgetAndAdopt : public DriverObserver {
 public:
  explicit ForgetAndAdopt(Engine* engine) : engine_(engine) {}
  void AfterCommit() override {
    if (++commits % 7 != 0) return;
    TaskContext& ctx = engine_->context();
    const Clearance& rules = engine_->task().clearance();
    const absl::flat_hash_set<int32_t> moving = {1, 3};
    const auto task_of = [](const Timer& t) {
      return PartitionOf(t.list.orderNo, 4);
    };
    std::vector<Timer> theirs, others;
    for (const Timer& t : ctx.timers().All()) {
      (moving.contains(task_of(t)) ? theirs : others).push_back(t);
    }
    ASSERT_TRUE(ctx.ForgetTasks(moving, rules).ok());
    EXPECT_EQ(ctx.timers().All(), others) << "after commit " << commits;
    ASSERT_TRUE(ctx.AdoptTasks(moving, rules).ok());
    std::vector<Timer> back;
    for (const Timer& t : ctx.timers().All()) {
      if (moving.contains(task_of(t))) back.push_back(t);
    }
    EXPECT_EQ(back, theirs) << "after commit " << commits;
    forgotten_timers += static_cast<int64_t>(theirs.size());
  }
  Engine* engine_;
  int commits = 0;
  int64_t forgotten_timers = 0;
};

TEST_F(EngineLayoutTest, ATaskForgottenAndAdoptedAgainChangesNoOutput) {
  const GeneratorOptions g = AnomalousMixedDay(1200, 31);
  EngineOptions o = Options();
  o.epoch_records = 97;
  std::vector<std::string> still;
  {
    auto engine = Engine::Open(o, Partitions(4), Log());
    ASSERT_TRUE(engine.ok()) << engine.status();
    Process(g, engine->get(), nullptr, /*drain=*/true);
    still = std::move(published_.lines);
    published_ = Collect();
  }
  ASSERT_GT(still.size(), 1000u);
  o.state_dir = (dir_ / "moved").string();
  auto engine = Engine::Open(o, Partitions(4), Log());
  ASSERT_TRUE(engine.ok()) << engine.status();
  ForgetAndAdopt moves(engine->get());
  Process(g, engine->get(), &moves, /*drain=*/true);
  EXPECT_GT(moves.commits, 40);
  EXPECT_GT(moves.forgotten_timers, 500);
  EXPECT_EQ(published_.lines, still);

  // A task's state that arrived underneath the caches (caught up from the
  // changelog) is what the task reads once adopted: an order the cache
  // held before (dropped with its task) and one it never wrote (the
  // caches started on an empty state, and would skip its read).
  std::vector<std::string> arrived;
  for (int i = 0; arrived.size() < 2; ++i) {
    const std::string no = absl::StrFormat("ARRIVED-%d", i);
    if (PartitionOf(no, 4) == 1) arrived.push_back(no);
  }
  TaskContext& ctx = (*engine)->context();
  const Clearance& rules = (*engine)->task().clearance();
  EXPECT_TRUE(ctx.Group(arrived[0]).lists.empty());
  {
    WriteBatch batch((*engine)->store());
    ctx.Flush(&batch);  // the entry is clean, as after a commit
    ASSERT_TRUE((*engine)->store().Commit(&batch).ok());
  }
  OrderGroup group;
  group.lists[{DocType::kCeb621, "EBP"}].version.appTime = 1700000000;
  WriteBatch batch((*engine)->store());
  for (const std::string& no : arrived) {
    batch.Put(Store::kOrders, OrderKey(4, no), EncodeOrderGroup(group));
  }
  ASSERT_TRUE((*engine)->store().Commit(&batch).ok());
  ASSERT_TRUE(ctx.ForgetTasks({1}, rules).ok());
  ASSERT_TRUE(ctx.AdoptTasks({1}, rules).ok());
  EXPECT_EQ(ctx.Group(arrived[0]).lists.size(), 1u) << "held before";
  EXPECT_EQ(ctx.Group(arrived[1]).lists.size(), 1u) << "never held";
}

// Stage A through the exchange with no answers coming (Kafka mode's path,
// the buyers' tasks elsewhere): every request is stamped by its list's
// task, each task numbering its records to each partition 0, 1, 2, ...,
// its next number kept in the state; every list that asked waits, counted
// as it asks and counted again by a context loaded from the state.
TEST_F(EngineLayoutTest, ExchangeRecordsAreStampedByTheirListsTask) {
  constexpr int32_t kTasks = 3;
  GeneratorOptions g;
  g.orders = 600;
  g.seed = 29;
  g.flow = Flow::kImport;
  EngineOptions o = Options();
  o.epoch_records = 101;
  auto engine = Engine::Open(o, Partitions(kTasks), Log());
  ASSERT_TRUE(engine.ok()) << engine.status();
  (*engine)->context().set_exchange_through_topics(true);
  Process(g, engine->get(), nullptr);

  std::map<std::pair<int32_t, int32_t>, int64_t> next;  // writer, partition
  int64_t requests = 0;
  for (const auto& [key, value] : published_.allowance) {
    std::string_view record = value;
    const absl::StatusOr<WriterStamp> stamp = Unstamp(&record);
    ASSERT_TRUE(stamp.ok()) << stamp.status();
    const absl::StatusOr<AllowanceRequest> request =
        DecodeAllowanceRequest(record);
    ASSERT_TRUE(request.ok()) << request.status();
    ++requests;
    EXPECT_EQ(key, request->buyer);
    EXPECT_EQ(stamp->writer, PartitionOf(request->list.orderNo, kTasks));
    int64_t& n = next[{stamp->writer, PartitionOf(key, kTasks)}];
    EXPECT_EQ(stamp->seq, n++);
  }
  EXPECT_GT(requests, 400);
  EXPECT_EQ(next.size(), size_t{kTasks * kTasks});
  for (const auto& [at, n] : next) {
    auto stored = (*engine)->store().Get(
        Store::kMeta,
        WriterSeqKey(at.first, OutputStream::kAllowance, at.second));
    ASSERT_TRUE(stored.ok() && *stored);
    BinaryReader r(**stored);
    EXPECT_EQ(r.SignedVarint(), n) << at.first << " to " << at.second;
  }
  EXPECT_EQ((*engine)->context().awaiting_allowance(), requests);
  TaskContext loaded(&(*engine)->store(), /*has_registry=*/false);
  loaded.set_partitions(kTasks);
  ASSERT_TRUE(loaded.Load((*engine)->task().clearance()).ok());
  EXPECT_EQ(loaded.awaiting_allowance(), requests);
  EXPECT_EQ(loaded.pending_lists(), (*engine)->context().pending_lists());

  // A task that leaves takes its waiting lists with it, and brings them
  // back.
  int64_t of_task_1 = 0;
  for (const auto& [key, value] : published_.allowance) {
    std::string_view record = value;
    ASSERT_TRUE(Unstamp(&record).ok());
    of_task_1 +=
        PartitionOf(DecodeAllowanceRequest(record)->list.orderNo, kTasks) == 1;
  }
  ASSERT_GT(of_task_1, 0);
  TaskContext& ctx = (*engine)->context();
  const Clearance& rules = (*engine)->task().clearance();
  ASSERT_TRUE(ctx.ForgetTasks({1}, rules).ok());
  EXPECT_EQ(ctx.awaiting_allowance(), requests - of_task_1);
  ASSERT_TRUE(ctx.AdoptTasks({1}, rules).ok());
  EXPECT_EQ(ctx.awaiting_allowance(), requests);
}

// Stage C in Kafka mode: its months close on the watermark its records
// bring (closed lists, marks), not on the engine's, so a list is in the
// round replay would put it in however late its record comes: closed
// before its month's close was due, in the month's first forms; after
// it, in a supplement, written at the next month's close.
TEST_F(EngineLayoutTest, StageCClosesMonthsOnTheWatermarkItsRecordsBring) {
  auto engine = Engine::Open(Options(), Partitions(1), Log());
  ASSERT_TRUE(engine.ok()) << engine.status();
  Engine& e = **engine;
  e.context().set_exchange_through_topics(true);
  e.epochs().StartPublishing(&published_);
  const std::string empty = (dir_ / "empty.ndjson").string();
  std::fclose(std::fopen(empty.c_str(), "w"));
  FilePosition start;
  start.inputs = {empty};
  FileRecordSource source(start, 1, e.secret());
  auto closing = [](std::string order_no) {
    ClosedList c;
    c.ebcCode = "EBC1";
    c.trafMode = "4";
    c.ownerCode = "OWN1";
    c.country = "USA";
    c.portCode = "5141";
    c.orderNo = order_no;
    c.logisticsNo = "L" + order_no;
    c.invtNo = "I" + order_no;
    c.copNo = "C" + order_no;
    c.grossWeight = Decimal::FromInteger(2);
    c.netWeight = Decimal::FromInteger(1);
    c.lines.push_back({"6109100021", "USA", "USD", "035",
                       Decimal::FromInteger(1), Decimal::FromInteger(10)});
    return EncodeClosedList(c);
  };
  const int64_t nov20 = ToEpochSeconds(absl::CivilSecond(2026, 11, 20));
  const int64_t nov30 = ToEpochSeconds(absl::CivilSecond(2026, 11, 30));
  const int64_t dec10 = ToEpochSeconds(absl::CivilSecond(2026, 12, 10));
  const int64_t nov_due = e.task().clearance().MonthCloseDue(
      PeriodOf(absl::CivilSecond(2026, 11, 1)));
  const int64_t dec_due = e.task().clearance().MonthCloseDue(
      PeriodOf(absl::CivilSecond(2026, 12, 1)));
  int64_t offset = 0;
  auto feed = [&](std::string bytes) {
    DecodedRecord r;
    SetJsonRecord(&r, {.offset = offset++}, bytes, bytes.size());
    r.exchange = DecodedRecord::Exchange::kClosedLists;
    r.judged = true;
    e.task().Process(r, source, std::nullopt);
  };
  // A closes before November's close was due; a mark past it closes
  // November (A in supplement 0); B closed in November but after that
  // close, C in December; a mark past December's close writes November's
  // supplement 1 (B), then December's forms (C).
  feed(EncodeClosedListRecord({closing("A"), nov20, nov20}));
  EXPECT_TRUE(published_.summaries.empty());
  ASSERT_TRUE(e.epochs().Commit().ok());
  EXPECT_TRUE(published_.summaries.empty()) << "closed on the engine's clock";
  feed(EncodeWatermarkMark(nov_due + 10));
  feed(EncodeClosedListRecord({closing("B"), nov30, nov_due + 20}));
  feed(EncodeClosedListRecord({closing("C"), dec10, dec10}));
  feed(EncodeWatermarkMark(nov_due + 30));  // below the greatest: no close
  ASSERT_TRUE(e.epochs().Commit().ok());
  ASSERT_EQ(published_.summaries.size(), 1u);
  feed(EncodeWatermarkMark(dec_due));
  ASSERT_TRUE(e.epochs().Commit().ok());
  ASSERT_EQ(published_.summaries.size(), 3u);
  const std::pair<const char*, const char*> want[] = {
      {"\"period\":\"202611\"", "\"supplement\":0"},
      {"\"period\":\"202611\"", "\"supplement\":1"},
      {"\"period\":\"202612\"", "\"supplement\":0"}};
  const char* orders[] = {"\"orderNo\":\"A\"", "\"orderNo\":\"B\"",
                          "\"orderNo\":\"C\""};
  for (size_t i = 0; i < 3; ++i) {
    const std::string& f = published_.summaries[i];
    EXPECT_NE(f.find(want[i].first), std::string::npos) << f;
    EXPECT_NE(f.find(want[i].second), std::string::npos) << f;
    EXPECT_NE(f.find(orders[i]), std::string::npos) << f;
  }
  // Stage C's watermark is state: a context loaded from it has it.
  TaskContext loaded(&e.store(), /*has_registry=*/false);
  ASSERT_TRUE(loaded.Load(e.task().clearance()).ok());
  EXPECT_EQ(loaded.summary_watermark(), dec_due);
  // A record that is neither is no record of this version: the engine
  // stops on it.
  feed("\x51 not a closed list");
  EXPECT_FALSE(e.context().status().ok());
}

// Kafka mode: an epoch commits with a watermark mark for stage C whenever
// the watermark moved, though nothing else happened (an idle partition let
// it move), and only then.
TEST_F(EngineLayoutTest, AWatermarkThatMovesAloneIsSentToStageC) {
  auto engine = Engine::Open(Options(), Partitions(2), Log());
  ASSERT_TRUE(engine.ok()) << engine.status();
  Engine& e = **engine;
  e.context().set_exchange_through_topics(true);
  e.epochs().StartPublishing(&published_);
  auto marks = [&] {
    std::vector<int64_t> out;
    for (const std::string& v : published_.closed_lists) {
      std::string_view record = v;
      const absl::StatusOr<WriterStamp> stamp = Unstamp(&record);
      EXPECT_TRUE(stamp.ok() && stamp->writer == kWatermarkWriter);
      const absl::StatusOr<int64_t> w = DecodeWatermarkMark(record);
      EXPECT_TRUE(w.ok());
      if (w.ok()) {
        EXPECT_EQ(stamp->seq, *w) << "a mark's number is its watermark";
        out.push_back(*w);
      }
    }
    return out;
  };
  ASSERT_TRUE(e.epochs().CommitIfCaughtUp().ok());
  EXPECT_TRUE(marks().empty()) << "no watermark yet";
  e.run().watermark = 1794000000;
  ASSERT_TRUE(e.epochs().CommitIfCaughtUp().ok());
  ASSERT_TRUE(e.epochs().CommitIfCaughtUp().ok());
  EXPECT_EQ(marks(), std::vector<int64_t>{1794000000});
  e.run().watermark = 1794000060;
  ASSERT_TRUE(e.epochs().CommitIfCaughtUp().ok());
  EXPECT_EQ(marks(), (std::vector<int64_t>{1794000000, 1794000060}));
}

// Loading the registry writes the run record before the first epoch: a run
// killed then has processed nothing, and its state is still fresh to the
// driver (replay starts from the top instead of reading a position that
// was never written).
TEST_F(EngineLayoutTest, StateWithoutAnEpochIsFreshEvenWithItsRunRecord) {
  const std::string registry = (dir_ / "registry.ndjson").string();
  {
    std::FILE* f = std::fopen(registry.c_str(), "w");
    std::fputs("{\"idNumber\":\"110101199003077777\",\"name\":\"A\"}\n", f);
    std::fclose(f);
  }
  EngineOptions o = Options();
  o.identity_registry = registry;
  {
    auto engine = Engine::Open(o, Partitions(4), Log());
    ASSERT_TRUE(engine.ok()) << engine.status();
    EXPECT_TRUE((*engine)->fresh());
  }
  {
    auto engine = Engine::Open(o, Partitions(4), Log());
    ASSERT_TRUE(engine.ok()) << engine.status();
    EXPECT_TRUE((*engine)->fresh());
    EXPECT_EQ((*engine)->run().position, "");
    (*engine)->epochs().set_position_source([] { return "somewhere"; });
    (*engine)->epochs().StartPublishing(&published_);
    ASSERT_TRUE((*engine)->epochs().Commit().ok());
  }
  auto engine = Engine::Open(o, Partitions(4), Log());
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_FALSE((*engine)->fresh());
  EXPECT_EQ((*engine)->run().position, "somewhere");
}

// A state laid out for one partition count refuses another: its orders
// would be looked up under the wrong keys.
TEST_F(EngineLayoutTest, AnotherPartitionCountIsRefused) {
  ProcessDay(4);
  auto engine = Engine::Open(Options(), Partitions(0), Log());
  ASSERT_TRUE(engine.ok()) << engine.status();
  const absl::Status st = (*engine)->SetPartitions(8);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("laid out for 4 partition(s)"), std::string::npos)
      << st;
  EXPECT_NE(st.message().find((dir_ / "state").string()), std::string::npos);
  EXPECT_TRUE((*engine)->SetPartitions(4).ok());
  engine->reset();
  EXPECT_EQ(Engine::Open(Options(), Partitions(2), Log()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace clearlane
