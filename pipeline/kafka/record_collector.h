// RecordCollector publishes the engine's committed outputs to Kafka: the
// OutputSink of `clearlane run`. Each epoch's outputs go in one
// transaction of the idempotent, transactional producer (its
// transactional.id fences an older instance), each with a `clearlane-seq`
// header holding its sequence number in its stream, to the partition the
// Java client would pick for its key (murmur2).
//
// The changelog (state/changelog.h) is published the same way, in the
// same transactions, to its own topic; a record whose value is empty goes
// as a tombstone (no value).
//
// Each record also names the instance that wrote it (a `clearlane-instance`
// header: instance.id), since several processes may write one partition.
//
// Recovery (Recover) reads the tail of every output partition to learn the
// last sequence number of this instance's that made it, and publishes
// again only the outbox records past it: nothing is lost or written twice,
// whether or not the broker hides aborted transactions, and whatever other
// instances wrote after it (docs/kafka-mode.md).
//
// Thread-safety: not thread-safe; the driver's thread.

#ifndef CLEARLANE_PIPELINE_KAFKA_RECORD_COLLECTOR_H_
#define CLEARLANE_PIPELINE_KAFKA_RECORD_COLLECTOR_H_

#include <librdkafka/rdkafka.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/outputs.h"
#include "pipeline/engine/epoch.h"
#include "pipeline/kafka/client.h"
#include "pipeline/observe/log.h"
#include "state/outbox.h"

namespace clearlane {

// The header that carries an output's sequence number.
inline constexpr char kSeqHeader[] = "clearlane-seq";
// The header that names the instance (instance.id) that wrote a record.
inline constexpr char kInstanceHeader[] = "clearlane-instance";

// The sequence number a record's kSeqHeader holds; nullopt without one.
std::optional<int64_t> SequenceOf(rd_kafka_message_t* m);
// The instance a record's kInstanceHeader names; nullopt without one (a
// clearlane before the header, which ran alone).
std::optional<std::string_view> InstanceOf(rd_kafka_message_t* m);

// A partition's low and high watermarks, as `client` queries them.
absl::StatusOr<std::pair<int64_t, int64_t>> WatermarkBounds(
    rd_kafka_t* client, const std::string& topic, int32_t partition);

class RecordCollector : public OutputSink {
 public:
  // `producer` (not owned) has transactions initialised; `instance` is
  // its instance.id, which every record names.
  RecordCollector(rd_kafka_t* producer, std::string instance, Logger log);
  ~RecordCollector() override;

  // The topic of a stream and its partition count.
  void SetTopic(OutputStream s, const std::string& name, int partitions);

  // With many members (docs/engine.md "What (d) and (a) must also get
  // right", 5): every transaction also carries `offsets()` (the input
  // positions, a list the collector destroys) with `consumer`'s group
  // metadata, so the broker refuses a transaction of a member the group
  // has moved on from (KIP-447). That refusal stops publishing with
  // FailedPrecondition: the member lost its tasks.
  using OffsetsSource = std::function<rd_kafka_topic_partition_list_t*()>;
  void set_group_fencing(rd_kafka_t* consumer, OffsetsSource offsets) {
    consumer_ = consumer;
    offsets_ = std::move(offsets);
  }

  // Publishes what `outbox` committed and the topics lack. Reading a
  // partition's tail takes a consumer of its own, outside the group, which
  // `new_reader` makes (once a partition).
  absl::Status Recover(Outbox& outbox,
                       absl::FunctionRef<absl::StatusOr<Kafka>()> new_reader);

  // Where the output topics already hold a clearlane output of any
  // instance (a record with a clearlane-seq header, each partition read
  // back from its end as ReadTail does): "topic [p] (clearlane-seq N)", or
  // empty when none does.
  absl::StatusOr<std::string> FindPublished(
      absl::FunctionRef<absl::StatusOr<Kafka>()> new_reader);

  // OutputSink.
  absl::Status Publish(OutputStream s, int64_t seq, std::string_view key,
                       std::string_view line) override;
  // Commits the epoch's transaction, retrying (and producing the epoch
  // again in a new one) while the error is not fatal.
  absl::Status Flush() override;

  // The producer's delivery report callback (rd_kafka_conf_set_dr_msg_cb
  // on the producer's configuration, before it is made): notes where each
  // changelog record landed.
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* m,
                         void* opaque);
  // Where the changelog records of the transactions committed since the
  // last call end, per partition (EpochCommitter's checkpoint); empty
  // without the callback.
  std::vector<ChangelogEnd> TakeChangelogEnds();

 private:
  struct Pending {
    OutputStream stream;
    int64_t seq;
    std::string key;
    std::string line;
  };
  // The Java client's partition of `key` (murmur2), as the producer's
  // murmur2_random partitioner picks it; a changelog record's by
  // ChangelogPartition.
  int32_t PartitionOf(OutputStream s, std::string_view key) const;
  absl::Status Produce(const Pending& p);
  // Adds the input positions and the group's metadata to the open
  // transaction (set_group_fencing); the error, if any (the caller's).
  rd_kafka_error_t* SendOffsets();
  // The greatest clearlane-seq of this instance's records (any
  // instance's, without `only_ours`) at the end of a partition, -1 if it
  // has none there: every record of the stream below it in that partition
  // is there. Reads the partition's last records, further back each time,
  // until they hold one (an instance's records are in the order of their
  // numbers within a partition).
  absl::StatusOr<int64_t> ReadTail(rd_kafka_t* reader, const std::string& topic,
                                   int32_t partition, bool only_ours = true);
  // The same over offsets [from, end) of a partition.
  absl::StatusOr<int64_t> ReadWindow(rd_kafka_t* reader,
                                     const std::string& topic,
                                     int32_t partition, int64_t from,
                                     int64_t end, bool only_ours);
  // Whether this instance wrote `m`: its instance header names it, or it
  // has none (a clearlane before the header, which ran alone).
  bool Ours(rd_kafka_message_t* m) const;

  rd_kafka_t* rk_;
  rd_kafka_t* consumer_ = nullptr;  // set_group_fencing's
  OffsetsSource offsets_;
  std::string instance_;
  Logger log_;
  // By OutputStream; the changelog's topic is unset without a changelog.
  std::array<std::string, kOutboxStreamCount> names_;
  std::array<int, kOutboxStreamCount> partitions_{};
  std::array<rd_kafka_topic_t*, kOutboxStreamCount> topics_{};
  std::vector<Pending> pending_;
  bool in_transaction_ = false;
  // Where the changelog records ended, by partition: delivered in the
  // open transaction, and in transactions committed since last taken.
  std::map<int32_t, ChangelogEnd> delivered_, committed_;
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_KAFKA_RECORD_COLLECTOR_H_
