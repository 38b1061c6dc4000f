// Stage A's tasks are Kafka's partitions of orderNo: the hash must be the
// Java client's, and the state of a task must be a key range.

#include "pipeline/partitioner.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>

#include "absl/strings/str_format.h"
#include "bench/generator.h"
#include "model/coding.h"
#include "model/decode.h"
#include "pipeline/engine.h"
#include "pipeline/ndjson_reader.h"
#include "pipeline/parallel_decoder.h"
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
  absl::Status Publish(OutputStream, int64_t, std::string_view,
                       std::string_view line) override {
    lines.emplace_back(line);
    return absl::OkStatus();
  }
  absl::Status Flush() override { return absl::OkStatus(); }
  std::vector<std::string> lines;
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

  EngineOptions Options(int32_t partitions) {
    EngineOptions o;
    o.state_dir = (dir_ / "state").string();
    o.sync = false;
    o.partitions = partitions;
    return o;
  }

  // Processes a generated mixed day through an engine with `partitions`
  // stage A tasks and commits, leaving timers pending (no drain).
  void ProcessDay(int32_t partitions) {
    const std::string corpus = (dir_ / "day.ndjson").string();
    GeneratorOptions g;
    g.orders = 400;
    g.seed = 5;
    g.flow = Flow::kMixed;
    g.anomalies.missing = 0.1;
    std::FILE* out = std::fopen(corpus.c_str(), "w");
    ASSERT_NE(out, nullptr);
    GeneratorStats stats;
    ASSERT_TRUE(Generate(g, out, nullptr, nullptr, &stats).ok());
    std::fclose(out);
    auto engine = Engine::Open(Options(partitions), Log());
    ASSERT_TRUE(engine.ok()) << engine.status();
    (*engine)->StartPublishing(&published_);
    auto reader = NdjsonReader::Open(corpus);
    ASSERT_TRUE(reader.ok()) << reader.status();
    Decoder decoder;
    DecodedRecord r;
    NdjsonReader::Record record;
    std::variant<FileSource, TopicSource> source = FileSource{corpus, 0};
    while ((*reader)->Next(&record)) {
      std::get<FileSource>(source).line = record.line;
      r.bytes.assign(record.bytes);
      r.size = record.size;
      r.outcome = decoder.Decode(r.bytes, r.size, &r.doc);
      if (r.outcome.ok()) RelocateDocument(&r.doc, &r.storage);
      if ((*engine)->Process(r, source, (*engine)->max_app_time())) {
        ASSERT_TRUE((*engine)
                        ->FireTimers(*(*engine)->max_app_time(),
                                     /*commit_between=*/false)
                        .ok());
      }
    }
    ASSERT_TRUE((*engine)->Commit().ok());
    ASSERT_FALSE(published_.lines.empty());
  }

  fs::path dir_;
  Collect published_;
};

// Every order's key and every list timer's key starts with the partition
// of its orderNo, so a partition's state is one key range; stage L's
// expiries are led by their shipment's hash.
TEST_F(EngineLayoutTest, OrdersAndTimersAreKeyRangesPerPartition) {
  constexpr int32_t kPartitions = 4;
  ProcessDay(kPartitions);
  auto store = StateStore::Open({.path = (dir_ / "state").string()});
  ASSERT_TRUE(store.ok()) << store.status();
  std::set<uint32_t> order_tasks, timer_tasks;
  int64_t orders = 0, stage_l_timers = 0;
  auto it = (*store)->NewIterator(Store::kOrders);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    BinaryReader r(key);
    const uint32_t task = r.Fixed32();
    r.Fixed64();
    ASSERT_TRUE(r.ok());
    const std::string_view orderNo = key.substr(12);
    EXPECT_EQ(task, static_cast<uint32_t>(PartitionOf(orderNo, kPartitions)))
        << orderNo;
    order_tasks.insert(task);
    ++orders;
  }
  ASSERT_TRUE(it->status().ok());
  auto timers = (*store)->NewIterator(Store::kTimers);
  for (timers->SeekToFirst(); timers->Valid(); timers->Next()) {
    BinaryReader r(
        std::string_view(timers->key().data(), timers->key().size()));
    const uint8_t tag = r.U8();
    if (tag == 'L') {
      ++stage_l_timers;
      continue;
    }
    ASSERT_EQ(tag, 'A');
    const uint32_t task = r.Fixed32();
    r.Fixed64();  // due
    r.U8();       // docType
    r.Bytes();    // ebpCode
    const std::string orderNo(r.Bytes());
    ASSERT_TRUE(r.ok() && r.done());
    EXPECT_EQ(task, static_cast<uint32_t>(PartitionOf(orderNo, kPartitions)))
        << orderNo;
    timer_tasks.insert(task);
  }
  ASSERT_TRUE(timers->status().ok());
  EXPECT_GT(orders, 300);
  EXPECT_EQ(order_tasks, (std::set<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(timer_tasks, (std::set<uint32_t>{0, 1, 2, 3}));
  EXPECT_GT(stage_l_timers, 0);
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
  EngineOptions o = Options(4);
  o.identity_registry = registry;
  {
    auto engine = Engine::Open(o, Log());
    ASSERT_TRUE(engine.ok()) << engine.status();
    EXPECT_TRUE((*engine)->fresh());
  }
  {
    auto engine = Engine::Open(o, Log());
    ASSERT_TRUE(engine.ok()) << engine.status();
    EXPECT_TRUE((*engine)->fresh());
    EXPECT_EQ((*engine)->position(), "");
    (*engine)->set_position("somewhere");
    (*engine)->StartPublishing(&published_);
    ASSERT_TRUE((*engine)->Commit().ok());
  }
  auto engine = Engine::Open(o, Log());
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_FALSE((*engine)->fresh());
  EXPECT_EQ((*engine)->position(), "somewhere");
}

// A state laid out for one partition count refuses another: its orders
// would be looked up under the wrong keys.
TEST_F(EngineLayoutTest, AnotherPartitionCountIsRefused) {
  ProcessDay(4);
  auto engine = Engine::Open(Options(0), Log());
  ASSERT_TRUE(engine.ok()) << engine.status();
  const absl::Status st = (*engine)->SetPartitions(8);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("laid out for 4 partition(s)"), std::string::npos)
      << st;
  EXPECT_NE(st.message().find((dir_ / "state").string()), std::string::npos);
  EXPECT_TRUE((*engine)->SetPartitions(4).ok());
  engine->reset();
  EXPECT_EQ(Engine::Open(Options(2), Log()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace clearlane
