// RecordCollector's recovery (pipeline/kafka/record_collector.h) on the
// embedded mock cluster: what this instance's outbox holds and a partition
// lacks is published again, and only that, however many records other
// instances wrote to the partition after this one's.

#include "pipeline/kafka/record_collector.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pipeline/kafka/client.h"
#include "pipeline/observe/log.h"
#include "state/outbox.h"
#include "state/run_record.h"
#include "state/store.h"
#include "tests/mock_cluster.h"

namespace clearlane {
namespace {

namespace fs = std::filesystem;

class RecoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / "record-collector-recover";
    fs::remove_all(dir_);
    ASSERT_TRUE(cluster_.ok());
    cluster_.CreateTopic("decisions", 1);
  }
  void TearDown() override { fs::remove_all(dir_); }

  absl::StatusOr<Kafka> Client(rd_kafka_type_t type,
                               std::map<std::string, std::string> settings) {
    return cluster_.Client(type, std::move(settings));
  }

  // Writes a record to the partition as `instance` would have, numbered
  // `seq`.
  void Write(rd_kafka_t* producer, const std::string& instance, int64_t seq,
             const std::string& value) {
    const std::string number = absl::StrCat(seq);
    ASSERT_EQ(
        rd_kafka_producev(
            producer, RD_KAFKA_V_TOPIC("decisions"), RD_KAFKA_V_PARTITION(0),
            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADER(kSeqHeader, number.data(),
                              static_cast<ssize_t>(number.size())),
            RD_KAFKA_V_HEADER(kInstanceHeader, instance.data(),
                              static_cast<ssize_t>(instance.size())),
            RD_KAFKA_V_END),
        RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  // Every record of the partition: (instance, clearlane-seq) in order.
  std::vector<std::pair<std::string, int64_t>> Records() {
    auto reader = Client(RD_KAFKA_CONSUMER, {{"group.id", "test-reader"},
                                             {"enable.partition.eof", "true"}});
    EXPECT_TRUE(reader.ok()) << reader.status();
    std::vector<std::pair<std::string, int64_t>> out;
    if (!reader.ok()) return out;
    rd_kafka_t* c = reader->get();
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, "decisions", 0)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, list);
    rd_kafka_topic_partition_list_destroy(list);
    int64_t low = 0, high = 0;
    EXPECT_EQ(
        rd_kafka_query_watermark_offsets(c, "decisions", 0, &low, &high, 10000),
        RD_KAFKA_RESP_ERR_NO_ERROR);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
      if (!m) continue;
      // The end: the last offset (a transaction's marker takes one too).
      const bool eof =
          m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && m->offset >= high - 1;
      if (!m->err) {
        rd_kafka_headers_t* h = nullptr;
        const void* v = nullptr;
        size_t n = 0;
        std::string instance;
        if (!rd_kafka_message_headers(m, &h) &&
            !rd_kafka_header_get_last(h, kInstanceHeader, &v, &n)) {
          instance.assign(static_cast<const char*>(v), n);
        }
        out.emplace_back(instance, SequenceOf(m).value_or(-1));
      }
      rd_kafka_message_destroy(m);
      if (eof) break;
    }
    rd_kafka_consumer_close(c);
    return out;
  }

  fs::path dir_;
  testing::MockCluster cluster_;
};

TEST_F(RecoverTest, PublishesWhatThisInstanceLacksPastOtherInstancesRecords) {
  // The outbox of instance "me" holds receipts 0..14; 0..9 made it to the
  // partition, then another instance wrote 2,000 records numbered higher.
  auto store = StateStore::Open({.path = dir_.string()});
  ASSERT_TRUE(store.ok()) << store.status();
  RunRecord run;
  Outbox outbox(store->get(), &run);
  {
    WriteBatch batch(**store);
    for (int i = 0; i < 15; ++i) {
      outbox.Append(&batch, OutputStream::kReceipts, "O1",
                    absl::StrCat("receipt ", i));
    }
    ASSERT_TRUE((*store)->Commit(&batch).ok());
  }
  {
    auto plain = Client(RD_KAFKA_PRODUCER, {});
    ASSERT_TRUE(plain.ok()) << plain.status();
    for (int i = 0; i < 10; ++i) {
      Write(plain->get(), "me", i, absl::StrCat("receipt ", i));
    }
    for (int i = 0; i < 2000; ++i) {
      Write(plain->get(), "another-instance", 1000000 + i, "another's");
    }
    ASSERT_EQ(rd_kafka_flush(plain->get(), 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  auto producer = Client(RD_KAFKA_PRODUCER, {{"transactional.id", "me"}});
  ASSERT_TRUE(producer.ok()) << producer.status();
  ASSERT_EQ(rd_kafka_init_transactions(producer->get(), 30000), nullptr);
  RecordCollector collector(producer->get(), "me",
                            MakeJsonLogger("recover-test", stderr));
  collector.SetTopic(OutputStream::kReceipts, "decisions", 1);
  const absl::Status st = collector.Recover(outbox, [this] {
    return Client(RD_KAFKA_CONSUMER, {{"group.id", "recovery"},
                                      {"enable.partition.eof", "true"},
                                      {"isolation.level", "read_committed"}});
  });
  ASSERT_TRUE(st.ok()) << st;

  std::vector<int64_t> mine;
  int64_t others = 0;
  for (const auto& [instance, seq] : Records()) {
    if (instance == "me") {
      mine.push_back(seq);
    } else {
      ++others;
    }
  }
  EXPECT_EQ(others, 2000);
  std::vector<int64_t> want;
  for (int i = 0; i < 15; ++i) want.push_back(i);
  EXPECT_EQ(mine, want) << "each of this instance's receipts once, in order";

  // Recovering again publishes nothing more.
  ASSERT_TRUE(collector
                  .Recover(outbox,
                           [this] {
                             return Client(
                                 RD_KAFKA_CONSUMER,
                                 {{"group.id", "recovery"},
                                  {"enable.partition.eof", "true"},
                                  {"isolation.level", "read_committed"}});
                           })
                  .ok());
  mine.clear();
  for (const auto& [instance, seq] : Records()) {
    if (instance == "me") mine.push_back(seq);
  }
  EXPECT_EQ(mine, want);
}

}  // namespace
}  // namespace clearlane
