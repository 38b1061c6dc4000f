// TopicRecordSource: Kafka mode's input as the driver loop's RecordSource.
// One consumer-group member consumes every input topic; each assigned
// partition starts where the state says it stands (its next offset, kept
// in the run record with every epoch, never read back from the group),
// and batches of messages are decoded with their state forms prepared, on
// decoder threads of their own: while the driver processes one batch, the
// next is decoded (the consumer is polled on the driver's thread, so
// rebalances happen there, between batches).
// Rebalances assign partitions to the partition group, which owns event
// time. A partition starts where the state says on the first assignment
// and, after a rebalance, where consumption stood: records taken into a
// batch are processed, never dropped (one member owns every partition).
//
// The position it keeps, per partition: the next offset to read (and, when
// a commit fell inside a CEB XML message, the records of the message there
// already processed) and the partition's watermark; and the group's
// watermark. A record value that is an XML message gives all its records
// (contract §11). A partition of a
// topic that is no longer configured keeps its entry unchanged.
//
// Thread-safety: one thread, the driver's; the rebalance callback runs on
// it too (inside Next's poll).

#ifndef CLEARLANE_PIPELINE_KAFKA_TOPIC_SOURCE_H_
#define CLEARLANE_PIPELINE_KAFKA_TOPIC_SOURCE_H_

#include <librdkafka/rdkafka.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "model/coding.h"
#include "pipeline/engine/decoder.h"
#include "pipeline/engine/partition_group.h"
#include "pipeline/engine/record_source.h"
#include "pipeline/observe/log.h"

namespace clearlane {

class Metrics;

// What moves tasks into and out of this process when the consumer group
// has many members (group.members = many; docs/engine.md "What (d) and
// (a) must also get right", 6): the runner, which holds the engine.
// Called on the driver's thread, inside the rebalance callback.
class TaskMover {
 public:
  virtual ~TaskMover() = default;
  // Every partition is being revoked (an eager rebalance): the epoch of
  // what was processed commits and is published, for whoever owns its
  // tasks next.
  virtual absl::Status Revoking() = 0;
  // `tasks` are this process's from now on: those it no longer has are
  // forgotten, those new to it caught up from the changelog and adopted.
  // Returns, of the tasks caught up, the position each logged
  // (TaskPositionKey), and an empty one for a task no member has logged
  // a position of: it starts over (StartTaskOver).
  virtual absl::StatusOr<std::map<int32_t, std::string>> Move(
      const std::set<int32_t>& tasks) = 0;
};

class TopicRecordSource : public RecordSource {
 public:
  // `consumer` (not owned) must route its rebalances to Rebalance.
  // Reads `topics`,
  // decoding on `threads` threads (the caller's among them), each state
  // form under `secret`; event time goes to `time`. `metrics` may be null.
  TopicRecordSource(rd_kafka_t* consumer, std::vector<std::string> topics,
                    PartitionGroup* time, int threads, std::string_view secret,
                    Logger log, Metrics* metrics);
  // Also reads the exchange's topics (stage B's two, operators/
  // allowance.h; stage C's, operators/summary.h): their records are no
  // documents and carry no event time of the partition group's (stage
  // C's bring their own, Task::ProcessExchange); each is handed out
  // once however often the log holds it (a copy of an aborted transaction
  // the embedded broker shows, a republished epoch: the writer's stamp,
  // writer_stamp.h, says which were taken, from the last number of each
  // writer of each partition, kept in the position). A stamp that does
  // not read stops the source.
  // A partition of theirs the state has no position for starts at its
  // end: what is there was written for another state. A record without a
  // sequence number is no outbox's and is skipped (with a warning). Call
  // before Restore.
  void set_exchange_topics(const std::string& allowance,
                           const std::string& answers,
                           const std::string& closed_lists);
  // Waits for a batch being decoded (its records are the decoder's).
  ~TopicRecordSource() override;

  // The input topics' partitions in all: an assignment of fewer means
  // another group member. A process that has not yet been assigned them
  // all fails (status()); one that has holds until it has them again.
  void set_input_partitions(int n) { input_partitions_ = n; }
  // A group of many members: each assignment is checked to give this
  // process whole tasks (every topic's same partition numbers; stage C's
  // one partition with task 0), which `mover` (not owned; null: none, as
  // at a close) then moves in and out; a revocation drops what was taken
  // and not processed. Call before Subscribe.
  void set_task_mover(TaskMover* mover) {
    many_ = true;
    mover_ = mover;
  }
  // Restores the position the run record kept (empty: a new state).
  absl::Status Restore(std::string_view position);
  // Restores one task's position (TaskPositions), over what it had of
  // the task's partitions.
  absl::Status RestoreTask(std::string_view position);
  // A task with no position at all: its entries go, and it is read from
  // the beginning of each of its partitions, the exchange's too. Each task
  // caught up starts so, before its logged position is restored over it:
  // a partition that position lacks had nothing processed.
  void StartTaskOver(int32_t task);
  // Subscribes the consumer to the topics.
  absl::Status Subscribe();

  // What the consumer's rebalance callback does: starts the partitions
  // assigned where the state stands, or lets the revoked ones go.
  void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions);

  // RecordSource.
  absl::Span<DecodedRecord> Next() override;
  bool ended() const override { return false; }
  bool caught_up() const override { return caught_up_; }
  absl::Status status() const override { return status_; }
  void Processed(const DecodedRecord& record) override;
  std::string Position() const override;
  // Per task, the entries of its partitions (those numbered as the task)
  // of every topic, in the position's format without the group's
  // watermark: what a task that moves takes to its next process.
  std::vector<std::pair<int32_t, std::string>> TaskPositions() const override;
  std::variant<FileSource, TopicSource> SourceOf(
      const RecordOrigin& origin) const override {
    return TopicSource{topics_[origin.input], origin.partition, origin.offset,
                       origin.record};
  }
  std::string_view InputName(int32_t input) const override {
    return topics_[input];
  }

  // The assigned partitions and the next offset of each (for the group's
  // offsets and the lag after a commit); -1001 (RD_KAFKA_OFFSET_BEGINNING)
  // for a partition never read.
  const std::set<PartitionId>& assigned() const { return time_->assigned(); }
  int64_t next_offset(PartitionId p) const;
  const std::string& topic(int32_t input) const { return topics_[input]; }

 private:
  // Sets each partition's offset to where this process stands (an exchange
  // partition new to the state: its end, kept from then on); returns the
  // input partitions among them.
  std::set<PartitionId> SetStartOffsets(
      rd_kafka_topic_partition_list_t* partitions);
  void Assign(rd_kafka_topic_partition_list_t* partitions);
  // Rebalance with many members (set_task_mover).
  void MoveTasks(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions);
  // The tasks an assignment gives, or why it gives no whole tasks.
  absl::StatusOr<std::set<int32_t>> TasksOf(
      const rd_kafka_topic_partition_list_t* partitions) const;
  // What was taken and not processed is forgotten: the batch being
  // decoded and the one being filled; consumption goes on where
  // processing stands (the partitions assigned are sought there).
  void DropTaken();
  // Where consumption stands is where processing stands.
  void Rewind();
  // Takes what the consumer holds, up to a batch, into *batch, waiting up
  // to `wait` ms for the first message; the records taken. *dry: the
  // consumer held nothing more.
  size_t Poll(std::vector<DecodedRecord>* batch, int wait, bool* dry);
  // Appends the records of message `m` to *batch (*n of them so far), or
  // says why not (an error event, a message taken before).
  void TakeMessage(const rd_kafka_message_t* m,
                   std::vector<DecodedRecord>* batch, size_t* n);
  // Whether the message at `offset` of `p` is new: not behind what was
  // taken before (librdkafka may deliver again what it fetched before a
  // rebalance restarted the fetch).
  bool Take(PartitionId p, int64_t offset);
  // Reads a position's entries (of `version`) into where partitions
  // stand; DataLoss when they do not read.
  absl::Status ReadEntries(BinaryReader& r, uint8_t version);
  // Records of the XML message at `origin` processed before a restart.
  int64_t Skipped(const RecordOrigin& origin) const;

  // Whether `input` is one of the exchange's topics, and which.
  DecodedRecord::Exchange ExchangeOf(int32_t input) const {
    return input < static_cast<int32_t>(exchange_.size())
               ? exchange_[input]
               : DecodedRecord::Exchange::kNone;
  }
  // The end offset of an exchange partition the state has no position for.
  int64_t EndOf(const rd_kafka_topic_partition_t& p) const;

  rd_kafka_t* consumer_;
  std::vector<std::string> topics_;
  std::vector<DecodedRecord::Exchange> exchange_;
  absl::flat_hash_map<std::string, int32_t> topic_index_;
  PartitionGroup* time_;
  ParallelDecoder decoder_;
  XmlReader xml_;
  Logger log_;
  Metrics* metrics_;
  // The consumer's queue (a reference of our own), read in batches.
  rd_kafka_queue_t* queue_;
  // Where a partition stands: its next offset, and the records of the XML
  // message there already processed.
  // Per writer of an exchange partition, the number of its last record.
  using Marks = std::map<int32_t, int64_t>;
  struct Place {
    int64_t offset = 0;
    int64_t skip = 0;
    Marks marks;  // an exchange partition's: its writers' last records
  };
  std::map<PartitionId, Place> next_offsets_;
  // Positions of topics not configured now: kept as the state had them.
  struct Kept {
    Place next;
    std::optional<int64_t> watermark;
  };
  std::map<std::pair<std::string, int32_t>, Kept> others_;
  // Every partition's entry, those of topics not configured now included.
  std::map<std::pair<std::string, int32_t>, Kept> Entries() const;
  static void WriteEntry(BinaryWriter& w, const std::string& topic,
                         int32_t partition, const Kept& kept);
  // Two batches take turns: the one handed to the driver, and the next,
  // decoded in the background meanwhile (`decoding_`: its records count
  // in counts_).
  std::array<std::vector<DecodedRecord>, 2> batches_;
  std::array<size_t, 2> counts_{};
  int handed_ = 0;
  bool decoding_ = false;
  bool caught_up_ = false;
  bool quiet_ = false;  // the last Next handed out nothing
  int input_partitions_ = 0;
  // This process has been assigned every input partition: a later partial
  // assignment means a newcomer joined, and this one holds (see Rebalance).
  bool had_all_ = false;
  // Many members (set_task_mover): the mover, the tasks this process owns
  // (none known before the first assignment), every partition assigned,
  // and how many rebalances ran (a Next during which one ran hands out
  // nothing it took: DropTaken).
  bool many_ = false;
  TaskMover* mover_ = nullptr;
  std::optional<std::set<int32_t>> owned_;
  std::set<PartitionId> assignment_;
  uint64_t rebalances_ = 0;
  // Per partition, the offset after the last message taken into a batch:
  // a rebalance starts the partition there, so nothing taken is dropped
  // or fetched again; messages behind it are skipped (`stale_`: how many
  // since the log last said so).
  std::map<PartitionId, int64_t> taken_;
  // Per exchange partition, each writer's number of the last record taken
  // into a batch: one not above it was taken before.
  std::map<PartitionId, Marks> taken_marks_;
  uint64_t stale_ = 0;
  // Records on the exchange's topics without a sequence number, skipped
  // since the log last said so.
  uint64_t foreign_ = 0;
  absl::Status status_;
  std::chrono::steady_clock::time_point last_error_{};
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_KAFKA_TOPIC_SOURCE_H_
