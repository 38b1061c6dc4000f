// The writer's stamp on the exchange's records (pipeline/engine/
// writer_stamp.h), and the reader's position that keeps a mark per writer
// (pipeline/kafka/topic_source.h).

#include "pipeline/engine/writer_stamp.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "model/coding.h"
#include "pipeline/engine/partition_group.h"
#include "pipeline/kafka/topic_source.h"
#include "pipeline/observe/log.h"

namespace clearlane {
namespace {

TEST(WriterStamp, ReadsBackAndLeavesTheRecord) {
  const std::string record = "\x11 a request's bytes";
  for (const WriterStamp stamp :
       {WriterStamp{0, 0}, WriterStamp{3, 127}, WriterStamp{127, 128},
        WriterStamp{std::numeric_limits<int32_t>::max(),
                    std::numeric_limits<int64_t>::max()}}) {
    const std::string stamped = Stamped(stamp, record);
    std::string_view rest = stamped;
    const absl::StatusOr<WriterStamp> back = Unstamp(&rest);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, stamp);
    EXPECT_EQ(rest, record);
  }
}

// A record of the version before stamps is left as it is, its writer the
// unstamped one (numbered by the outbox's header).
TEST(WriterStamp, AnUnstampedRecordIsTheOneWriterBeforeStamps) {
  for (const std::string& record :
       {std::string("\x11request"), std::string("\x21give-back"),
        std::string("\x31"
                    "answer"),
        std::string()}) {
    std::string_view rest = record;
    const absl::StatusOr<WriterStamp> stamp = Unstamp(&rest);
    ASSERT_TRUE(stamp.ok());
    EXPECT_EQ(stamp->writer, kUnstampedWriter);
    EXPECT_EQ(rest, record);
  }
}

TEST(WriterStamp, ACutOrOutOfRangeStampIsDataLoss) {
  const std::string stamped = Stamped({300, 70000}, "");
  for (size_t n = 1; n < stamped.size(); ++n) {
    std::string_view cut = std::string_view(stamped).substr(0, n);
    EXPECT_EQ(Unstamp(&cut).status().code(), absl::StatusCode::kDataLoss)
        << n << " bytes";
  }
  std::string wide;
  BinaryWriter w(&wide);
  w.U8(kStampVersion);
  w.Varint(uint64_t{1} << 31);  // a writer task past int32
  w.Varint(0);
  std::string_view rest = wide;
  EXPECT_EQ(Unstamp(&rest).status().code(), absl::StatusCode::kDataLoss);
}

// A position of the version before stamps (3: one number per exchange
// partition, the outbox's) reads as that partition's mark for the
// unstamped writer; written again (version 4) it reads back the same.
class TopicPositionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[256];
    ASSERT_EQ(
        rd_kafka_conf_set(conf, "group.id", "position-test", err, sizeof err),
        RD_KAFKA_CONF_OK);
    // Never contacted: positions are read and written without a broker.
    ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", err,
                                sizeof err),
              RD_KAFKA_CONF_OK);
    consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    ASSERT_NE(consumer_, nullptr) << err;
  }
  void TearDown() override {
    if (consumer_) rd_kafka_destroy(consumer_);
  }
  std::string RestoreAndWrite(std::string_view position) {
    PartitionGroup time;
    TopicRecordSource source(consumer_, {"orders"}, &time, 1, "",
                             MakeJsonLogger("position-test", stderr), nullptr);
    source.set_exchange_topics("allowance", "answers", "closed-lists");
    const absl::Status st = source.Restore(position);
    EXPECT_TRUE(st.ok()) << st;
    return source.Position();
  }
  rd_kafka_t* consumer_ = nullptr;
};

TEST_F(TopicPositionTest, AVersion3MarkIsTheUnstampedWritersAndReadsBack) {
  std::string v3;
  BinaryWriter w(&v3);
  w.U8(3);
  w.Varint(2);
  for (const auto& [topic, offset, seq] :
       {std::tuple{"allowance", 40, 17}, std::tuple{"orders", 900, -1}}) {
    w.Bytes(topic);
    w.Varint(1);  // partition
    w.SignedVarint(offset);
    w.SignedVarint(0);  // records of an XML message skipped
    w.SignedVarint(seq);
    w.U8(1);
    w.SignedVarint(1700000000);  // the partition's watermark
  }
  w.U8(1);
  w.SignedVarint(1700000000);

  const std::string v4 = RestoreAndWrite(v3);
  BinaryReader r(v4);
  EXPECT_EQ(r.U8(), 4);
  ASSERT_EQ(r.Varint(), 2u);
  EXPECT_EQ(r.Bytes(), "allowance");
  EXPECT_EQ(r.Varint(), 1u);
  EXPECT_EQ(r.SignedVarint(), 40);
  EXPECT_EQ(r.SignedVarint(), 0);
  ASSERT_EQ(r.Varint(), 1u) << "one writer's mark";
  EXPECT_EQ(r.SignedVarint(), kUnstampedWriter);
  EXPECT_EQ(r.SignedVarint(), 17);
  r.U8();
  r.SignedVarint();
  EXPECT_EQ(r.Bytes(), "orders");
  EXPECT_EQ(r.Varint(), 1u);
  EXPECT_EQ(r.SignedVarint(), 900);
  EXPECT_EQ(r.SignedVarint(), 0);
  EXPECT_EQ(r.Varint(), 0u) << "an input partition has no writers";
  EXPECT_TRUE(r.ok());

  EXPECT_EQ(RestoreAndWrite(v4), v4);
  EXPECT_FALSE([&] {
    PartitionGroup time;
    TopicRecordSource source(consumer_, {"orders"}, &time, 1, "",
                             MakeJsonLogger("position-test-2", stderr),
                             nullptr);
    source.set_exchange_topics("allowance", "answers", "closed-lists");
    return source.Restore(v4.substr(0, v4.size() - 1)).ok();
  }()) << "a position cut short is refused";
}

// Each task's part of the position (TaskPositions): the entries of its
// partitions of every topic, exchange topics included, which a source
// that restores only that part (a task moving in) stands on as the
// whole position's did; a part cut short or of another version is
// refused.
TEST_F(TopicPositionTest, EachTasksPartHoldsItsPartitionsAndRestoresAlone) {
  std::string whole;
  BinaryWriter w(&whole);
  w.U8(4);
  w.Varint(5);
  struct Entry {
    const char* topic;
    int32_t partition;
    int64_t offset;
    std::map<int32_t, int64_t> marks;
  };
  const Entry entries[] = {{"allowance", 1, 40, {{0, 16}, {1, 3}}},
                           {"answers", 0, 12, {{1, 11}}},
                           {"closed-lists", 0, 7, {{kWatermarkWriter, 99}}},
                           {"orders", 0, 900, {}},
                           {"orders", 1, 1200, {}}};
  for (const Entry& e : entries) {
    w.Bytes(e.topic);
    w.Varint(e.partition);
    w.SignedVarint(e.offset);
    w.SignedVarint(0);
    w.Varint(e.marks.size());
    for (const auto& [writer, seq] : e.marks) {
      w.SignedVarint(writer);
      w.SignedVarint(seq);
    }
    w.U8(1);
    w.SignedVarint(1700000000 + e.partition);
  }
  w.U8(1);
  w.SignedVarint(1700000000);

  PartitionGroup time;
  TopicRecordSource source(consumer_, {"orders"}, &time, 1, "",
                           MakeJsonLogger("position-test", stderr), nullptr);
  source.set_exchange_topics("allowance", "answers", "closed-lists");
  ASSERT_TRUE(source.Restore(whole).ok());
  const auto parts = source.TaskPositions();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].first, 0);
  EXPECT_EQ(parts[1].first, 1);

  // Task 1's part, restored alone, is task 1's entries of the whole.
  PartitionGroup time1;
  TopicRecordSource moved(consumer_, {"orders"}, &time1, 1, "",
                          MakeJsonLogger("position-test-1", stderr), nullptr);
  moved.set_exchange_topics("allowance", "answers", "closed-lists");
  ASSERT_TRUE(moved.RestoreTask(parts[1].second).ok());
  const std::string position = moved.Position();
  BinaryReader r(position);
  EXPECT_EQ(r.U8(), 4);
  ASSERT_EQ(r.Varint(), 2u) << "allowance [1] and orders [1]";
  EXPECT_EQ(r.Bytes(), "allowance");
  EXPECT_EQ(r.Varint(), 1u);
  EXPECT_EQ(r.SignedVarint(), 40);
  EXPECT_EQ(r.SignedVarint(), 0);
  ASSERT_EQ(r.Varint(), 2u) << "both writers' marks";
  EXPECT_EQ(r.SignedVarint(), 0);
  EXPECT_EQ(r.SignedVarint(), 16);
  EXPECT_EQ(r.SignedVarint(), 1);
  EXPECT_EQ(r.SignedVarint(), 3);
  r.U8();
  r.SignedVarint();
  EXPECT_EQ(r.Bytes(), "orders");
  EXPECT_EQ(r.Varint(), 1u);
  EXPECT_EQ(r.SignedVarint(), 1200);
  EXPECT_EQ(r.SignedVarint(), 0);
  EXPECT_EQ(r.Varint(), 0u);
  EXPECT_EQ(r.U8(), 1);
  EXPECT_EQ(r.SignedVarint(), 1700000001) << "the partition's watermark";
  EXPECT_EQ(r.U8(), 0) << "no group watermark: it is no task's";
  EXPECT_TRUE(r.ok());
  // The same part read back from the moved source's parts.
  const auto again = moved.TaskPositions();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0], parts[1]);

  // Task 0's part holds stage C's partition and the watermark writer's
  // mark with it.
  PartitionGroup time0;
  TopicRecordSource zero(consumer_, {"orders"}, &time0, 1, "",
                         MakeJsonLogger("position-test-0", stderr), nullptr);
  zero.set_exchange_topics("allowance", "answers", "closed-lists");
  ASSERT_TRUE(zero.RestoreTask(parts[0].second).ok());
  EXPECT_EQ(zero.TaskPositions(), (std::vector{parts[0]}));

  for (const std::string& bad :
       {parts[1].second.substr(0, parts[1].second.size() - 1),
        parts[1].second + "x", "\x03" + parts[1].second.substr(1)}) {
    PartitionGroup t;
    TopicRecordSource refused(consumer_, {"orders"}, &t, 1, "",
                              MakeJsonLogger("position-test-bad", stderr),
                              nullptr);
    refused.set_exchange_topics("allowance", "answers", "closed-lists");
    EXPECT_FALSE(refused.RestoreTask(bad).ok());
  }
}

}  // namespace
}  // namespace clearlane
