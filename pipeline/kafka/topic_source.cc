#include "pipeline/kafka/topic_source.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "model/coding.h"
#include "model/xml_message.h"
#include "pipeline/engine/writer_stamp.h"
#include "pipeline/kafka/client.h"
#include "pipeline/kafka/record_collector.h"
#include "pipeline/observe/metrics.h"

namespace clearlane {
namespace {

// Messages taken from the consumer at most per batch.
constexpr size_t kBatch = 1024;
// The poll's wait for the first message of a batch: how soon a quiet
// consumer lets the driver fire timers and commit an old epoch.
constexpr int kPollMillis = 100;
// The position's encoding: 2 adds each partition's records skipped (XML);
// 3 the sequence number of an exchange partition's last record; 4 the
// last number of each writer of an exchange partition instead.
constexpr uint8_t kPositionVersion = 4;

}  // namespace

TopicRecordSource::TopicRecordSource(rd_kafka_t* consumer,
                                     std::vector<std::string> topics,
                                     PartitionGroup* time, int threads,
                                     std::string_view secret, Logger log,
                                     Metrics* metrics)
    : consumer_(consumer),
      topics_(std::move(topics)),
      time_(time),
      decoder_(std::max(1, threads), secret, /*caller_decodes=*/false),
      log_(std::move(log)),
      metrics_(metrics),
      queue_(rd_kafka_queue_get_consumer(consumer)) {
  for (auto& b : batches_) b.resize(kBatch);
  for (size_t i = 0; i < topics_.size(); ++i) {
    topic_index_[topics_[i]] = static_cast<int32_t>(i);
  }
}

void TopicRecordSource::set_exchange_topics(const std::string& allowance,
                                            const std::string& answers,
                                            const std::string& closed_lists) {
  exchange_.assign(topics_.size(), DecodedRecord::Exchange::kNone);
  for (const auto& [name, kind] :
       {std::pair{allowance, DecodedRecord::Exchange::kAllowance},
        std::pair{answers, DecodedRecord::Exchange::kAnswers},
        std::pair{closed_lists, DecodedRecord::Exchange::kClosedLists}}) {
    topic_index_[name] = static_cast<int32_t>(topics_.size());
    topics_.push_back(name);
    exchange_.push_back(kind);
  }
}

TopicRecordSource::~TopicRecordSource() {
  if (decoding_) decoder_.Wait();
  rd_kafka_queue_destroy(queue_);
}

// One entry of a position: a partition's place and its watermark.
void TopicRecordSource::WriteEntry(BinaryWriter& w, const std::string& topic,
                                   int32_t partition, const Kept& kept) {
  w.Bytes(topic);
  w.Varint(static_cast<uint64_t>(partition));
  w.SignedVarint(kept.next.offset);
  w.SignedVarint(kept.next.skip);
  w.Varint(kept.next.marks.size());
  for (const auto& [writer, seq] : kept.next.marks) {
    w.SignedVarint(writer);
    w.SignedVarint(seq);
  }
  w.U8(kept.watermark.has_value());
  w.SignedVarint(kept.watermark.value_or(0));
}

absl::Status TopicRecordSource::ReadEntries(BinaryReader& r, uint8_t version) {
  const uint64_t n = r.Varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string topic(r.Bytes());
    const auto partition = static_cast<int32_t>(r.Varint());
    Place next;
    next.offset = r.SignedVarint();
    if (version >= 2) next.skip = r.SignedVarint();
    if (version == 3) {
      // Written before stamps: one writer, numbered by the outbox.
      if (const int64_t seq = r.SignedVarint(); seq >= 0) {
        next.marks[kUnstampedWriter] = seq;
      }
    } else if (version >= 4) {
      const uint64_t writers = r.Varint();
      for (uint64_t k = 0; k < writers && r.ok(); ++k) {
        const auto writer = static_cast<int32_t>(r.SignedVarint());
        next.marks[writer] = r.SignedVarint();
      }
    }
    const bool has = r.U8();
    const int64_t w = r.SignedVarint();
    const std::optional<int64_t> watermark =
        has ? std::optional<int64_t>(w) : std::nullopt;
    if (!r.ok()) break;
    auto it = topic_index_.find(topic);
    if (it == topic_index_.end()) {
      others_[{std::move(topic), partition}] = {next, watermark};
      continue;
    }
    const PartitionId id{it->second, partition};
    next_offsets_[id] = next;
    if (ExchangeOf(id.input) != DecodedRecord::Exchange::kNone) {
      taken_marks_[id] = next.marks;
      continue;
    }
    time_->RestorePartition(id, watermark);
  }
  return r.ok() ? absl::OkStatus()
                : absl::DataLossError("run positions are corrupt");
}

absl::Status TopicRecordSource::Restore(std::string_view position) {
  if (position.empty()) return absl::OkStatus();
  BinaryReader r(position);
  const uint8_t version = r.U8();
  if (version < 1 || version > kPositionVersion) {
    return absl::DataLossError("run positions: unknown version");
  }
  if (absl::Status st = ReadEntries(r, version); !st.ok()) return st;
  const bool has = r.U8();
  const int64_t w = r.SignedVarint();
  if (!r.ok() || !r.done()) {
    return absl::DataLossError("run positions are corrupt");
  }
  if (has) time_->RestoreWatermark(w);
  return absl::OkStatus();
}

absl::Status TopicRecordSource::RestoreTask(std::string_view position) {
  BinaryReader r(position);
  const uint8_t version = r.U8();
  if (version != kPositionVersion) {
    return absl::DataLossError("a task's position of an unknown version");
  }
  if (absl::Status st = ReadEntries(r, version); !st.ok()) return st;
  if (!r.done()) return absl::DataLossError("a task's position is corrupt");
  return absl::OkStatus();
}

void TopicRecordSource::StartTaskOver(int32_t task) {
  std::erase_if(others_, [&](const auto& e) { return e.first.second == task; });
  for (int32_t input = 0; input < static_cast<int32_t>(topics_.size());
       ++input) {
    const PartitionId id{input, task};
    taken_marks_.erase(id);
    next_offsets_.erase(id);
    if (ExchangeOf(input) == DecodedRecord::Exchange::kNone) {
      time_->RestorePartition(id, std::nullopt);
    } else if (task == 0 ||
               ExchangeOf(input) != DecodedRecord::Exchange::kClosedLists) {
      // Not its end, as for a task new to the state: what the partition
      // holds was written for this task and never taken.
      next_offsets_[id].offset = RD_KAFKA_OFFSET_BEGINNING;
    }
  }
}

std::map<std::pair<std::string, int32_t>, TopicRecordSource::Kept>
TopicRecordSource::Entries() const {
  std::map<std::pair<std::string, int32_t>, Kept> all = others_;
  for (const auto& [id, next] : next_offsets_) {
    all[{topics_[id.input], id.partition}] = {next, time_->watermark(id)};
  }
  return all;
}

std::string TopicRecordSource::Position() const {
  const auto all = Entries();
  std::string out;
  BinaryWriter w(&out);
  w.U8(kPositionVersion);
  w.Varint(all.size());
  for (const auto& [tp, kept] : all) {
    WriteEntry(w, tp.first, tp.second, kept);
  }
  const std::optional<int64_t> watermark = time_->watermark();
  w.U8(watermark.has_value());
  w.SignedVarint(watermark.value_or(0));
  return out;
}

std::vector<std::pair<int32_t, std::string>> TopicRecordSource::TaskPositions()
    const {
  // A partition's entries are its task's: of the inputs and of the
  // exchange topics alike (stage C's one partition is task 0's).
  std::map<int32_t, std::vector<std::pair<const std::string*, const Kept*>>>
      by_task;
  const auto all = Entries();
  for (const auto& [tp, kept] : all) {
    // With many members, only this process's tasks: another's position
    // is its owner's to log.
    if (owned_ && !owned_->contains(tp.second)) continue;
    by_task[tp.second].emplace_back(&tp.first, &kept);
  }
  std::vector<std::pair<int32_t, std::string>> out;
  out.reserve(by_task.size());
  for (const auto& [task, entries] : by_task) {
    std::string bytes;
    BinaryWriter w(&bytes);
    w.U8(kPositionVersion);
    w.Varint(entries.size());
    for (const auto& [topic, kept] : entries) {
      WriteEntry(w, *topic, task, *kept);
    }
    out.emplace_back(task, std::move(bytes));
  }
  return out;
}

int64_t TopicRecordSource::next_offset(PartitionId p) const {
  auto it = next_offsets_.find(p);
  return it == next_offsets_.end() ? RD_KAFKA_OFFSET_BEGINNING
                                   : it->second.offset;
}

absl::Status TopicRecordSource::Subscribe() {
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(topics_.size()));
  for (const std::string& t : topics_) {
    rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  const rd_kafka_resp_err_t e = rd_kafka_subscribe(consumer_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e) {
    return absl::UnavailableError(
        absl::StrFormat("subscribing: %s", rd_kafka_err2str(e)));
  }
  return absl::OkStatus();
}

void TopicRecordSource::Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t* partitions) {
  if (many_) {
    MoveTasks(rk, err, partitions);
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (partitions->cnt < input_partitions_) {
      // Another member holds the rest: two processes would decide the
      // same lists, each on its own state (issue 22). The newcomer stops;
      // a process that has run every partition holds, processing nothing
      // and not ready, until the newcomer has left and it has them all
      // again. Both stop when neither has run them all yet.
      if (had_all_) {
        // The assignment is taken (librdkafka's group state waits for it)
        // but paused: nothing is fetched. Its offsets are where this
        // process stands, so no committed offset is looked up.
        SetStartOffsets(partitions);
        rd_kafka_assign(rk, partitions);
        rd_kafka_pause_partitions(rk, partitions);
        log_->warn(absl::StrFormat(
            "assigned %d of the %d input partitions: another member of the "
            "consumer group holds the rest (a second process with this "
            "group.id?); this one ran them all and holds, processing "
            "nothing and not ready, until it has them all again",
            partitions->cnt, input_partitions_));
        time_->Assign({}, PartitionGroup::Clock::now());
        if (metrics_) metrics_->set_ready(false);
        return;
      }
      rd_kafka_assign(rk, nullptr);
      status_ = absl::FailedPreconditionError(absl::StrFormat(
          "this process was assigned %d of the %d input partitions: another "
          "member of the consumer group holds the rest; one process runs "
          "every task (docs/kafka-mode.md), so this one stops rather than "
          "decide lists on part of the state",
          partitions->cnt, input_partitions_));
      return;
    }
    had_all_ = true;
    Assign(partitions);
    rd_kafka_assign(rk, partitions);
    // Partitions this process held paused (above) are fetched again.
    rd_kafka_resume_partitions(rk, partitions);
  } else {
    log_->info(absl::StrFormat("revoked %d partition(s)", partitions->cnt));
    time_->Assign({}, PartitionGroup::Clock::now());
    if (metrics_) metrics_->set_ready(false);
    rd_kafka_assign(rk, nullptr);
  }
}

// With many members, every rebalance is eager (the range assignor): all
// partitions are revoked, then some assigned. At the revocation, what was
// taken and not processed is dropped (its partition may go to another
// member, which starts where this one's processing stands) and the epoch
// commits and is published. At the assignment, the tasks that left are
// forgotten and their partitions' entries dropped from the position (this
// process no longer writes them: their next owner does), and the tasks
// that came are caught up and start where their logged positions say.
void TopicRecordSource::MoveTasks(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t* partitions) {
  ++rebalances_;
  if (decoding_) {
    decoder_.Wait();
    decoding_ = false;
  }
  Rewind();
  if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    log_->info(absl::StrFormat("revoked %d partition(s)", partitions->cnt));
    if (metrics_) metrics_->set_ready(false);
    if (mover_ && status_.ok()) status_ = mover_->Revoking();
    time_->Assign({}, PartitionGroup::Clock::now());
    assignment_.clear();
    rd_kafka_assign(rk, nullptr);
    return;
  }
  absl::StatusOr<std::set<int32_t>> tasks = TasksOf(partitions);
  if (tasks.ok() && mover_ && status_.ok()) {
    auto moved = mover_->Move(*tasks);
    if (!moved.ok()) {
      status_ = moved.status();
    } else {
      const auto gone = [&](int32_t partition) {
        return !tasks->contains(partition);
      };
      std::erase_if(next_offsets_,
                    [&](const auto& e) { return gone(e.first.partition); });
      std::erase_if(others_,
                    [&](const auto& e) { return gone(e.first.second); });
      // A task caught up is where its logged position says, whatever this
      // process's own position (its run record's, at a start) had of it.
      for (const auto& [task, position] : *moved) {
        StartTaskOver(task);
        if (position.empty()) continue;
        if (absl::Status st = RestoreTask(position); !st.ok()) status_ = st;
      }
      owned_ = *tasks;
      Rewind();
    }
  } else if (!tasks.ok()) {
    status_ = tasks.status();
  }
  if (!status_.ok()) {
    rd_kafka_assign(rk, nullptr);
    return;
  }
  assignment_.clear();
  for (int i = 0; i < partitions->cnt; ++i) {
    auto it = topic_index_.find(partitions->elems[i].topic);
    if (it != topic_index_.end()) {
      assignment_.insert({it->second, partitions->elems[i].partition});
    }
  }
  Assign(partitions);
  time_->RestartFromAssigned();
  rd_kafka_assign(rk, partitions);
}

absl::StatusOr<std::set<int32_t>> TopicRecordSource::TasksOf(
    const rd_kafka_topic_partition_list_t* partitions) const {
  // Every topic but stage C's has the tasks' partition count.
  std::vector<std::set<int32_t>> of(topics_.size());
  std::set<int32_t> tasks;
  for (int i = 0; i < partitions->cnt; ++i) {
    auto it = topic_index_.find(partitions->elems[i].topic);
    if (it == topic_index_.end()) continue;
    of[it->second].insert(partitions->elems[i].partition);
    if (ExchangeOf(it->second) != DecodedRecord::Exchange::kClosedLists) {
      tasks.insert(partitions->elems[i].partition);
    }
  }
  for (size_t t = 0; t < topics_.size(); ++t) {
    const bool stage_c = ExchangeOf(static_cast<int32_t>(t)) ==
                         DecodedRecord::Exchange::kClosedLists;
    const std::set<int32_t> want =
        stage_c
            ? (tasks.contains(0) ? std::set<int32_t>{0} : std::set<int32_t>{})
            : tasks;
    if (of[t] != want) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "the consumer group assigned partitions [%s] of %s with tasks "
          "[%s]: a task is the same partition number of every topic (and "
          "stage C's one partition goes with task 0), which librdkafka's "
          "range assignor gives; set partition.assignment.strategy = range "
          "and leave client.rack unset on every member",
          absl::StrJoin(of[t], ","), topics_[t], absl::StrJoin(tasks, ",")));
    }
  }
  return tasks;
}

void TopicRecordSource::Rewind() {
  taken_.clear();
  taken_marks_.clear();
  for (const auto& [id, place] : next_offsets_) {
    if (ExchangeOf(id.input) != DecodedRecord::Exchange::kNone) {
      taken_marks_[id] = place.marks;
    }
  }
}

void TopicRecordSource::DropTaken() {
  if (decoding_) {
    decoder_.Wait();
    decoding_ = false;
  }
  counts_ = {};
  caught_up_ = false;
  quiet_ = false;
  Rewind();
  if (assignment_.empty()) return;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(assignment_.size()));
  for (const PartitionId& id : assignment_) {
    rd_kafka_topic_partition_list_add(list, topics_[id.input].c_str(),
                                      id.partition)
        ->offset = next_offset(id);
  }
  if (rd_kafka_error_t* e = rd_kafka_seek_partitions(consumer_, list, 10000)) {
    status_ = absl::UnavailableError(absl::StrFormat(
        "seeking back to where processing stands after a rebalance: %s",
        ErrorText(e)));
  }
  for (int i = 0; i < list->cnt && status_.ok(); ++i) {
    if (list->elems[i].err) {
      status_ = absl::UnavailableError(absl::StrFormat(
          "seeking %s [%d] back to where processing stands after a "
          "rebalance: %s",
          list->elems[i].topic, list->elems[i].partition,
          rd_kafka_err2str(list->elems[i].err)));
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
}

// Where consumption stands: after what was taken (processed, or in a
// batch that will be), else where the state says processing stands.
std::set<PartitionId> TopicRecordSource::SetStartOffsets(
    rd_kafka_topic_partition_list_t* partitions) {
  std::set<PartitionId> ids;
  for (int i = 0; i < partitions->cnt; ++i) {
    rd_kafka_topic_partition_t& p = partitions->elems[i];
    auto it = topic_index_.find(p.topic);
    if (it == topic_index_.end()) continue;
    const PartitionId id{it->second, p.partition};
    auto taken = taken_.find(id);
    p.offset = taken != taken_.end() ? taken->second : next_offset(id);
    if (ExchangeOf(id.input) == DecodedRecord::Exchange::kNone) {
      ids.insert(id);
    } else if (taken == taken_.end() && !next_offsets_.count(id)) {
      // Where this state starts reading it, for good: a later assignment
      // must not skip what was written since.
      p.offset = EndOf(p);
      next_offsets_[id].offset = p.offset;
    }
  }
  return ids;
}

int64_t TopicRecordSource::EndOf(const rd_kafka_topic_partition_t& p) const {
  int64_t low = 0, high = 0;
  for (int attempt = 1;; ++attempt) {
    const rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
        consumer_, p.topic, p.partition, &low, &high, 10000);
    if (!e) break;
    log_->warn(absl::StrFormat("reading the end of %s [%d] (attempt %d): %s",
                               p.topic, p.partition, attempt,
                               rd_kafka_err2str(e)));
  }
  return high;
}

// Starts each assigned partition where this process stands.
void TopicRecordSource::Assign(rd_kafka_topic_partition_list_t* partitions) {
  const std::set<PartitionId> ids = SetStartOffsets(partitions);
  time_->Assign(ids, PartitionGroup::Clock::now());
  std::string from;
  for (int i = 0; i < partitions->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = partitions->elems[i];
    from += absl::StrFormat(" %s[%d]@%d", p.topic, p.partition, p.offset);
  }
  log_->info(absl::StrFormat("assigned %d partition(s), from%s",
                             partitions->cnt, from));
  // Ready: the state is restored (recovery ran before subscribing) and
  // partitions are being consumed.
  if (metrics_) metrics_->set_ready(partitions->cnt > 0);
}

void TopicRecordSource::Processed(const DecodedRecord& record) {
  const RecordOrigin& o = record.origin;
  Place& place = next_offsets_[{o.input, o.partition}];
  place.offset = o.last ? o.offset + 1 : o.offset;
  place.skip = o.last ? 0 : o.record;
  if (record.exchange != DecodedRecord::Exchange::kNone) {
    place.marks[record.writer] = record.seq;
  }
}

int64_t TopicRecordSource::Skipped(const RecordOrigin& origin) const {
  auto it = next_offsets_.find({origin.input, origin.partition});
  return it != next_offsets_.end() && it->second.offset == origin.offset
             ? it->second.skip
             : 0;
}

size_t TopicRecordSource::Poll(std::vector<DecodedRecord>* batch, int wait,
                               bool* dry) {
  size_t n = 0;
  *dry = false;
  // Messages come off the consumer's queue many at a time (one call, one
  // lock); rebalance and error events are served inside the call.
  std::array<rd_kafka_message_t*, 256> messages;
  const uint64_t rebalances = rebalances_;
  while (n < kBatch && status_.ok() && rebalances_ == rebalances) {
    const size_t want = std::min(messages.size(), kBatch - n);
    const ssize_t got =
        rd_kafka_consume_batch_queue(queue_, wait, messages.data(), want);
    wait = 0;
    for (ssize_t i = 0; i < got; ++i) {
      if (status_.ok()) TakeMessage(messages[i], batch, &n);
      rd_kafka_message_destroy(messages[i]);
    }
    if (got < static_cast<ssize_t>(want)) {
      *dry = true;
      break;
    }
  }
  return status_.ok() ? n : 0;
}

void TopicRecordSource::TakeMessage(const rd_kafka_message_t* m,
                                    std::vector<DecodedRecord>* batch,
                                    size_t* n) {
  if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
    status_ = absl::DataLossError(absl::StrFormat(
        "input %s [%d]: %s; the records from the state's position on are "
        "no longer in the log (retention deleted them), so stopping "
        "rather than skipping them",
        m->rkt ? rd_kafka_topic_name(m->rkt) : "?", m->partition,
        rd_kafka_message_errstr(m)));
    return;
  }
  if (m->err) {
    // Broker trouble: librdkafka retries; say so now and then.
    const auto now = std::chrono::steady_clock::now();
    if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF &&
        now - last_error_ > std::chrono::seconds(5)) {
      log_->warn(absl::StrFormat("consumer: %s; retrying",
                                 rd_kafka_message_errstr(m)));
      last_error_ = now;
    }
    return;
  }
  auto input = topic_index_.find(rd_kafka_topic_name(m->rkt));
  if (input == topic_index_.end() ||
      (many_ && !assignment_.contains({input->second, m->partition})) ||
      !Take({input->second, m->partition}, m->offset)) {
    return;
  }
  const RecordOrigin origin{
      .input = input->second, .partition = m->partition, .offset = m->offset};
  const std::string_view value(static_cast<const char*>(m->payload),
                               m->payload ? m->len : 0);
  if (const auto exchange = ExchangeOf(origin.input);
      exchange != DecodedRecord::Exchange::kNone) {
    const std::optional<int64_t> seq =
        SequenceOf(const_cast<rd_kafka_message_t*>(m));
    if (!seq) {
      ++foreign_;  // not written by an outbox: no record of the exchange
      return;
    }
    std::string_view record = value;
    absl::StatusOr<WriterStamp> stamp = Unstamp(&record);
    if (!stamp.ok()) {
      status_ = absl::DataLossError(absl::StrFormat(
          "%s [%d] offset %d: %s (written by another program, or a "
          "clearlane of another version?)",
          topics_[origin.input], origin.partition, origin.offset,
          stamp.status().message()));
      return;
    }
    if (stamp->writer == kUnstampedWriter) stamp->seq = *seq;
    int64_t& last = taken_marks_[{origin.input, origin.partition}]
                        .try_emplace(stamp->writer, -1)
                        .first->second;
    if (stamp->seq <= last) return;  // a copy of one taken before
    last = stamp->seq;
    if (*n == batch->size()) batch->emplace_back();
    DecodedRecord& r = (*batch)[(*n)++];
    SetJsonRecord(&r, origin, record, record.size());
    r.exchange = exchange;
    r.writer = stamp->writer;
    r.seq = stamp->seq;
    r.judged = true;
    return;
  }
  if (LooksLikeXml(value)) {
    ReadXmlRecords(xml_, value, value.size(), origin, Skipped(origin), batch,
                   n);
  } else {
    if (*n == batch->size()) batch->emplace_back();
    SetJsonRecord(&(*batch)[(*n)++], origin, value, value.size());
  }
}

bool TopicRecordSource::Take(PartitionId p, int64_t offset) {
  auto [it, fresh] = taken_.try_emplace(p, offset + 1);
  if (fresh || offset >= it->second) {
    it->second = offset + 1;
    return true;
  }
  // Delivered before: a fetch restarted behind what was taken.
  ++stale_;
  return false;
}

// The batch handed out last is free again. What the consumer holds is
// taken into it (waiting only when nothing is being decoded); the batch
// decoded meanwhile is handed out and the new one decoded in its turn.
// With nothing decoded ahead (a quiet consumer, the start), the new batch
// is decoded at once and the consumer looked at again.
absl::Span<DecodedRecord> TopicRecordSource::Next() {
  const int mine = handed_;
  const int other = 1 - handed_;
  bool dry = false;
  // A rebalance (many members) during this call: what it took is
  // dropped, and consumption starts again where processing stands.
  const uint64_t rebalances = rebalances_;
  const auto rebalanced = [&] {
    if (rebalances_ == rebalances) return false;
    DropTaken();
    return true;
  };
  // Waits only when the last call found nothing either: the first time
  // the consumer is dry, the driver hears so at once (and commits).
  size_t n =
      Poll(&batches_[mine], decoding_ || !quiet_ ? 0 : kPollMillis, &dry);
  if (rebalanced()) return {};
  size_t ready = 0;
  if (decoding_) {
    decoder_.Wait();
    decoding_ = false;
    ready = counts_[other];
  }
  caught_up_ = false;
  if (!status_.ok()) return {};
  int out = other, ahead = mine;
  if (ready == 0 && n > 0) {
    decoder_.DecodeAll(batches_[mine], n);
    out = mine;
    ahead = other;
    ready = n;
    n = 0;
    if (!dry) {
      n = Poll(&batches_[other], 0, &dry);
      if (!status_.ok() || rebalanced()) return {};
    }
  }
  if (n > 0) {
    counts_[ahead] = n;
    decoder_.Start(batches_[ahead], n);
    decoding_ = true;
  }
  if (foreign_ > 0) {
    log_->warn(absl::StrFormat(
        "skipped %d record(s) on the exchange's topics without a %s header: "
        "not written by clearlane (only clearlane run writes to them)",
        foreign_, kSeqHeader));
    foreign_ = 0;
  }
  if (stale_ > 0) {
    log_->info(absl::StrFormat(
        "skipped %d message(s) delivered again after a rebalance (taken "
        "before it)",
        stale_));
    stale_ = 0;
  }
  caught_up_ = dry && !decoding_;
  quiet_ = ready == 0;
  handed_ = out;
  return absl::MakeSpan(batches_[out].data(), ready);
}

}  // namespace clearlane
