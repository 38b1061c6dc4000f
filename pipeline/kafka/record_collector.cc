#include "pipeline/kafka/record_collector.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "state/changelog.h"

namespace clearlane {
namespace {

using Clock = std::chrono::steady_clock;

void Backoff(int attempt) {
  std::this_thread::sleep_for(
      std::chrono::milliseconds(std::min(5000, 100 << std::min(attempt, 6))));
}

}  // namespace

RecordCollector::RecordCollector(rd_kafka_t* producer, std::string instance,
                                 Logger log)
    : rk_(producer), instance_(std::move(instance)), log_(std::move(log)) {}

RecordCollector::~RecordCollector() {
  for (rd_kafka_topic_t* t : topics_) {
    if (t) rd_kafka_topic_destroy(t);
  }
}

void RecordCollector::SetTopic(OutputStream s, const std::string& name,
                               int partitions) {
  const int i = static_cast<int>(s);
  names_[i] = name;
  partitions_[i] = partitions;
  topics_[i] = rd_kafka_topic_new(rk_, name.c_str(), nullptr);
}

int32_t RecordCollector::PartitionOf(OutputStream s,
                                     std::string_view key) const {
  const int i = static_cast<int>(s);
  if (s == OutputStream::kChangelog) {
    return ChangelogPartition(key, partitions_[i]);
  }
  return rd_kafka_msg_partitioner_murmur2_random(
      topics_[i], key.data(), key.size(), partitions_[i], nullptr, nullptr);
}

absl::Status RecordCollector::Publish(OutputStream s, int64_t seq,
                                      std::string_view key,
                                      std::string_view line) {
  pending_.push_back({s, seq, std::string(key), std::string(line)});
  return Produce(pending_.back());
}

absl::Status RecordCollector::Flush() {
  if (pending_.empty()) return absl::OkStatus();
  for (int attempt = 1;; ++attempt) {
    rd_kafka_error_t* e = SendOffsets();
    if (!e) e = rd_kafka_commit_transaction(rk_, 60000);
    if (!e) break;
    if (const rd_kafka_resp_err_t code = rd_kafka_error_code(e);
        code == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
        code == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
        code == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID) {
      // A zombie: the group gave this member's tasks to another while it
      // was not looking (a long pause, a partition from the coordinator).
      // Its epoch must not be published; the restart rejoins the group.
      const std::string why = ErrorText(e);
      if (rd_kafka_error_t* a = rd_kafka_abort_transaction(rk_, 60000)) {
        log_->warn(absl::StrFormat("aborting: %s", ErrorText(a)));
      }
      in_transaction_ = false;
      return absl::FailedPreconditionError(absl::StrFormat(
          "publishing outputs: the consumer group refused this member's "
          "transaction (%s): the group has moved its tasks to another "
          "member, so this one stops without publishing its epoch",
          why));
    }
    if (rd_kafka_error_is_fatal(e)) {
      return absl::UnavailableError(absl::StrFormat(
          "publishing outputs: %s (another instance with this "
          "instance.id fenced this one, or the producer failed for good)",
          ErrorText(e)));
    }
    const bool abort = rd_kafka_error_txn_requires_abort(e);
    log_->warn(absl::StrFormat(
        "committing the outputs' transaction (attempt %d): %s; retrying",
        attempt, rd_kafka_error_string(e)));
    rd_kafka_error_destroy(e);
    Backoff(attempt);
    if (abort) {
      // The epoch's outputs are in the outbox: publish them again in a
      // new transaction.
      if (rd_kafka_error_t* a = rd_kafka_abort_transaction(rk_, 60000)) {
        log_->warn(absl::StrFormat("aborting: %s", ErrorText(a)));
      }
      in_transaction_ = false;
      for (const Pending& p : pending_) {
        absl::Status st = Produce(p);
        if (!st.ok()) return st;
      }
    }
  }
  in_transaction_ = false;
  pending_.clear();
  // The delivery reports left to serve (the commit served most).
  rd_kafka_poll(rk_, 0);
  for (const auto& [p, end] : delivered_) {
    ChangelogEnd& c = committed_.try_emplace(p, end).first->second;
    c.offset = std::max(c.offset, end.offset);
    c.timestamp_ms = std::max(c.timestamp_ms, end.timestamp_ms);
  }
  delivered_.clear();
  return absl::OkStatus();
}

void RecordCollector::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m,
                                 void*) {
  // Only changelog records carry their collector.
  if (m->err || !m->_private) return;
  auto* self = static_cast<RecordCollector*>(m->_private);
  const ChangelogEnd end{m->partition, m->offset + 1,
                         rd_kafka_message_timestamp(m, nullptr)};
  ChangelogEnd& d =
      self->delivered_.try_emplace(m->partition, end).first->second;
  d.offset = std::max(d.offset, end.offset);
  d.timestamp_ms = std::max(d.timestamp_ms, end.timestamp_ms);
}

std::vector<ChangelogEnd> RecordCollector::TakeChangelogEnds() {
  std::vector<ChangelogEnd> out;
  out.reserve(committed_.size());
  for (const auto& [p, end] : committed_) out.push_back(end);
  committed_.clear();
  return out;
}

rd_kafka_error_t* RecordCollector::SendOffsets() {
  if (!consumer_ || !offsets_) return nullptr;
  rd_kafka_topic_partition_list_t* offsets = offsets_();
  rd_kafka_error_t* e = nullptr;
  if (offsets && offsets->cnt > 0) {
    rd_kafka_consumer_group_metadata_t* group =
        rd_kafka_consumer_group_metadata(consumer_);
    e = rd_kafka_send_offsets_to_transaction(rk_, offsets, group, 60000);
    rd_kafka_consumer_group_metadata_destroy(group);
  }
  if (offsets) rd_kafka_topic_partition_list_destroy(offsets);
  return e;
}

absl::Status RecordCollector::Produce(const Pending& p) {
  if (!in_transaction_) {
    if (rd_kafka_error_t* e = rd_kafka_begin_transaction(rk_)) {
      return absl::UnavailableError(
          absl::StrFormat("beginning a transaction: %s", ErrorText(e)));
    }
    in_transaction_ = true;
  }
  const std::string seq = absl::StrFormat("%d", p.seq);
  const int i = static_cast<int>(p.stream);
  const int32_t partition = PartitionOf(p.stream, p.key);
  // A changelog deletion is a tombstone: no value at all.
  const bool tombstone = p.stream == OutputStream::kChangelog && p.line.empty();
  // The delivery report of a changelog record finds its collector.
  void* const opaque = p.stream == OutputStream::kChangelog ? this : nullptr;
  while (true) {
    const rd_kafka_resp_err_t e = rd_kafka_producev(
        rk_, RD_KAFKA_V_RKT(topics_[i]), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY(p.key.data(), p.key.size()),
        RD_KAFKA_V_VALUE(tombstone ? nullptr : const_cast<char*>(p.line.data()),
                         tombstone ? 0 : p.line.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADER(kSeqHeader, seq.data(),
                          static_cast<ssize_t>(seq.size())),
        RD_KAFKA_V_HEADER(kInstanceHeader, instance_.data(),
                          static_cast<ssize_t>(instance_.size())),
        RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (!e) return absl::OkStatus();
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return absl::UnavailableError(absl::StrFormat(
          "producing to %s: %s", names_[i], rd_kafka_err2str(e)));
    }
    rd_kafka_poll(rk_, 100);
  }
}

std::optional<std::string_view> InstanceOf(rd_kafka_message_t* m) {
  rd_kafka_headers_t* headers = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_message_headers(m, &headers) ||
      rd_kafka_header_get_last(headers, kInstanceHeader, &value, &size)) {
    return std::nullopt;
  }
  return std::string_view(static_cast<const char*>(value), size);
}

std::optional<int64_t> SequenceOf(rd_kafka_message_t* m) {
  rd_kafka_headers_t* headers = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  int64_t seq = 0;
  if (rd_kafka_message_headers(m, &headers) ||
      rd_kafka_header_get_last(headers, kSeqHeader, &value, &size) ||
      !absl::SimpleAtoi(std::string(static_cast<const char*>(value), size),
                        &seq)) {
    return std::nullopt;
  }
  return seq;
}

absl::StatusOr<std::pair<int64_t, int64_t>> WatermarkBounds(
    rd_kafka_t* client, const std::string& topic, int32_t partition) {
  int64_t low = 0, high = 0;
  const rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
      client, topic.c_str(), partition, &low, &high, 30000);
  if (e) {
    return absl::UnavailableError(
        absl::StrFormat("reading the end of %s [%d]: %s", topic, partition,
                        rd_kafka_err2str(e)));
  }
  return std::make_pair(low, high);
}

bool RecordCollector::Ours(rd_kafka_message_t* m) const {
  const std::optional<std::string_view> instance = InstanceOf(m);
  return !instance || *instance == instance_;
}

absl::StatusOr<int64_t> RecordCollector::ReadTail(rd_kafka_t* reader,
                                                  const std::string& topic,
                                                  int32_t partition,
                                                  bool only_ours) {
  int64_t max_seq = -1;
  auto bounds = WatermarkBounds(reader, topic, partition);
  if (!bounds.ok()) return bounds.status();
  const auto [low, high] = *bounds;
  // One epoch's outputs at most were unconfirmed; this instance's last
  // records in the partition tell how far they got. Transaction markers
  // take offsets too, so the first read is a little more than the last
  // records; other instances may have written more since, so each read
  // that finds none of this instance's goes 8 times further back (to the
  // end again: what an earlier read left in the queue is then in range).
  rd_kafka_poll_set_consumer(reader);
  if (high > low) {
    for (int64_t window = 256;; window *= 8) {
      const int64_t from = std::max(low, high - window);
      auto seq = ReadWindow(reader, topic, partition, from, high, only_ours);
      if (!seq.ok()) return seq.status();
      max_seq = *seq;
      if (max_seq >= 0 || from == low) break;
    }
  }
  rd_kafka_consumer_close(reader);
  return max_seq;
}

absl::StatusOr<int64_t> RecordCollector::ReadWindow(rd_kafka_t* reader,
                                                    const std::string& topic,
                                                    int32_t partition,
                                                    int64_t from, int64_t end,
                                                    bool only_ours) {
  int64_t max_seq = -1;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset =
      from;
  rd_kafka_assign(reader, list);
  rd_kafka_topic_partition_list_destroy(list);
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(reader, 500);
    if (!m) continue;
    const bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
    if (m->err && !eof) {
      log_->warn(absl::StrFormat("reading %s [%d]: %s", topic, partition,
                                 rd_kafka_message_errstr(m)));
    }
    const int64_t offset = m->offset;
    if (!m->err && offset < end && (!only_ours || Ours(m))) {
      if (std::optional<int64_t> seq = SequenceOf(m)) {
        max_seq = std::max(max_seq, *seq);
      }
    }
    rd_kafka_message_destroy(m);
    if (eof || offset >= end - 1) break;
  }
  return max_seq;
}

absl::StatusOr<std::string> RecordCollector::FindPublished(
    absl::FunctionRef<absl::StatusOr<Kafka>()> new_reader) {
  // One client asks every partition's bounds; only a partition that holds
  // records has its tail read (by a client of its own, as Recover does).
  auto bounds = new_reader();
  if (!bounds.ok()) return bounds.status();
  for (int i = 0; i < kOutputStreamCount; ++i) {
    for (int32_t p = 0; p < partitions_[i]; ++p) {
      auto range = WatermarkBounds(bounds->get(), names_[i], p);
      if (!range.ok()) return range.status();
      if (range->second <= range->first) continue;
      auto reader = new_reader();
      if (!reader.ok()) return reader.status();
      // Any instance's: a new state refuses to decide again what another
      // state already published.
      auto seq = ReadTail(reader->get(), names_[i], p, /*only_ours=*/false);
      if (!seq.ok()) return seq.status();
      if (*seq >= 0) {
        return absl::StrFormat("%s [%d] (clearlane-seq %d)", names_[i], p,
                               *seq);
      }
    }
  }
  return std::string();
}

absl::Status RecordCollector::Recover(
    Outbox& outbox, absl::FunctionRef<absl::StatusOr<Kafka>()> new_reader) {
  for (int i = 0; i < kOutboxStreamCount; ++i) {
    const auto s = static_cast<OutputStream>(i);
    if (outbox.floor(s) == outbox.next_seq(s)) continue;
    if (!topics_[i]) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "the state holds %d %s records to publish and no topic is set for "
          "them",
          outbox.next_seq(s) - outbox.floor(s), OutputStreamName(s)));
    }
    std::vector<int64_t> tail(partitions_[i], -1);
    for (int32_t p = 0; p < partitions_[i]; ++p) {
      auto reader = new_reader();
      if (!reader.ok()) return reader.status();
      auto seq = ReadTail(reader->get(), names_[i], p);
      if (!seq.ok()) return seq.status();
      tail[p] = *seq;
    }
    int64_t again = 0;
    absl::Status st = outbox.ForEachUnpublished(
        s, outbox.floor(s),
        [&](int64_t seq, std::string_view key, std::string_view line) {
          if (seq <= tail[PartitionOf(s, key)]) return absl::OkStatus();
          ++again;
          return Publish(s, seq, key, line);
        });
    if (!st.ok()) return st;
    if (again > 0) {
      log_->info(absl::StrFormat("published %d %s again", again, names_[i]));
    }
  }
  return Flush();
}

}  // namespace clearlane
