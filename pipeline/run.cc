#include "pipeline/run.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "model/coding.h"
#include "model/decode.h"
#include "model/event_time.h"
#include "pipeline/engine.h"
#include "pipeline/log.h"
#include "pipeline/run_config.h"

namespace clearlane {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
// The process's log; librdkafka's callbacks write to it too.
Logger g_logger;
extern "C" void OnStopSignal(int) { g_stop = true; }

constexpr char kSeqHeader[] = "clearlane-seq";

// Where each input partition stands: the next offset to read and the
// greatest appTime it brought. Run's part of the run record.
struct PartitionState {
  int64_t next_offset = RD_KAFKA_OFFSET_BEGINNING;
  std::optional<int64_t> watermark;
};
using TopicPartition = std::pair<std::string, int32_t>;
struct Positions {
  std::map<TopicPartition, PartitionState> partitions;
  std::optional<int64_t> watermark;  // the engine's, never going back
};

std::string EncodePositions(const Positions& p) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(1);  // version
  w.Varint(p.partitions.size());
  for (const auto& [tp, s] : p.partitions) {
    w.Bytes(tp.first);
    w.Varint(static_cast<uint64_t>(tp.second));
    w.SignedVarint(s.next_offset);
    w.U8(s.watermark.has_value());
    w.SignedVarint(s.watermark.value_or(0));
  }
  w.U8(p.watermark.has_value());
  w.SignedVarint(p.watermark.value_or(0));
  return out;
}

absl::StatusOr<Positions> DecodePositions(std::string_view bytes) {
  Positions p;
  if (bytes.empty()) return p;
  BinaryReader r(bytes);
  if (r.U8() != 1) return absl::DataLossError("run positions: unknown version");
  const uint64_t n = r.Varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string topic(r.Bytes());
    const auto partition = static_cast<int32_t>(r.Varint());
    PartitionState s;
    s.next_offset = r.SignedVarint();
    const bool has = r.U8();
    const int64_t w = r.SignedVarint();
    if (has) s.watermark = w;
    p.partitions[{std::move(topic), partition}] = s;
  }
  const bool has = r.U8();
  const int64_t w = r.SignedVarint();
  if (has) p.watermark = w;
  if (!r.ok() || !r.done()) {
    return absl::DataLossError("run positions are corrupt");
  }
  return p;
}

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
struct KafkaDeleter {
  void operator()(rd_kafka_t* k) const { rd_kafka_destroy(k); }
};
using Kafka = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

// librdkafka's own errors (brokers down, requests failing): it retries;
// the log says so, at most once a second per client.
void LogKafkaError(rd_kafka_t* rk, int err, const char* reason, void*) {
  static std::atomic<int64_t> last{0};
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          Clock::now().time_since_epoch())
                          .count();
  if (last.exchange(now) == now) return;
  g_logger->warn(absl::StrFormat(
      "kafka %s: %s: %s; retrying", rd_kafka_name(rk),
      rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason));
}

// librdkafka's own log lines (syslog levels) go to the JSON log.
void LogKafkaLine(const rd_kafka_t* rk, int level, const char* facility,
                  const char* text) {
  const std::string line =
      absl::StrFormat("kafka %s: %s: %s", rd_kafka_name(rk), facility, text);
  if (level <= 3) {
    g_logger->error(line);
  } else if (level == 4) {
    g_logger->warn(line);
  } else if (level <= 6) {
    g_logger->info(line);
  } else {
    g_logger->debug(line);
  }
}

// A client configuration: ours, then every kafka.* key unchanged.
absl::StatusOr<Conf> MakeConf(const RunConfig& c,
                              const std::map<std::string, std::string>& ours) {
  Conf conf(rd_kafka_conf_new());
  rd_kafka_conf_set_error_cb(conf.get(), &LogKafkaError);
  rd_kafka_conf_set_log_cb(conf.get(), &LogKafkaLine);
  char errstr[512];
  std::map<std::string, std::string> all = ours;
  all["bootstrap.servers"] = c.brokers;
  for (const auto& [k, v] : c.kafka) all[k] = v;
  for (const auto& [k, v] : all) {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), errstr,
                          sizeof errstr) != RD_KAFKA_CONF_OK) {
      const bool passed = c.kafka.count(k) > 0;
      return absl::InvalidArgumentError(
          absl::StrFormat("%s%s: %s", passed ? "kafka." : "", k, errstr));
    }
  }
  return conf;
}

std::string ErrorText(rd_kafka_error_t* e) {
  std::string s = rd_kafka_error_string(e);
  rd_kafka_error_destroy(e);
  return s;
}

// Publishes committed outputs in one transaction per epoch.
class KafkaOutputs : public OutputSink {
 public:
  KafkaOutputs(rd_kafka_t* producer, Logger log)
      : rk_(producer), log_(std::move(log)) {}
  ~KafkaOutputs() override {
    for (rd_kafka_topic_t* t : topics_) {
      if (t) rd_kafka_topic_destroy(t);
    }
  }
  void SetTopic(OutputStream s, const std::string& name, int partitions) {
    const int i = static_cast<int>(s);
    names_[i] = name;
    partitions_[i] = partitions;
    topics_[i] = rd_kafka_topic_new(rk_, name.c_str(), nullptr);
  }
  // The Java client's partition of `key` (murmur2), as the producer's
  // murmur2_random partitioner picks it.
  int32_t PartitionOf(OutputStream s, std::string_view key) const {
    const int i = static_cast<int>(s);
    return rd_kafka_msg_partitioner_murmur2_random(
        topics_[i], key.data(), key.size(), partitions_[i], nullptr, nullptr);
  }
  const std::string& topic(OutputStream s) const {
    return names_[static_cast<int>(s)];
  }
  int partitions(OutputStream s) const {
    return partitions_[static_cast<int>(s)];
  }

  absl::Status Publish(OutputStream s, int64_t seq, std::string_view key,
                       std::string_view line) override {
    pending_.push_back({s, seq, std::string(key), std::string(line)});
    return Produce(pending_.back());
  }

  absl::Status Flush() override {
    if (pending_.empty()) return absl::OkStatus();
    for (int attempt = 1;; ++attempt) {
      rd_kafka_error_t* e = rd_kafka_commit_transaction(rk_, 60000);
      if (!e) break;
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
    return absl::OkStatus();
  }

 private:
  struct Pending {
    OutputStream stream;
    int64_t seq;
    std::string key;
    std::string line;
  };
  static void Backoff(int attempt) {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::min(5000, 100 << std::min(attempt, 6))));
  }
  absl::Status Produce(const Pending& p) {
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
    for (int attempt = 1;; ++attempt) {
      const rd_kafka_resp_err_t e = rd_kafka_producev(
          rk_, RD_KAFKA_V_RKT(topics_[i]), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_KEY(p.key.data(), p.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(p.line.data()), p.line.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_HEADER(kSeqHeader, seq.data(),
                            static_cast<ssize_t>(seq.size())),
          RD_KAFKA_V_END);
      if (!e) return absl::OkStatus();
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        return absl::UnavailableError(absl::StrFormat(
            "producing to %s: %s", names_[i], rd_kafka_err2str(e)));
      }
      rd_kafka_poll(rk_, 100);
    }
  }

  rd_kafka_t* rk_;
  Logger log_;
  std::array<std::string, kOutputStreamCount> names_;
  std::array<int, kOutputStreamCount> partitions_{};
  std::array<rd_kafka_topic_t*, kOutputStreamCount> topics_{};
  std::vector<Pending> pending_;
  bool in_transaction_ = false;
};

class Runner {
 public:
  Runner(RunConfig config, Logger log)
      : config_(std::move(config)), log_(std::move(log)) {}
  // Leaves the group while the members its rebalance callback touches are
  // still alive.
  ~Runner() { Close(); }
  absl::Status Run();

 private:
  absl::Status Connect();
  absl::Status CheckTopics();
  absl::Status Recover();
  absl::Status ReadTail(const std::string& topic, int32_t partition,
                        int64_t* max_seq);
  void Assign(rd_kafka_topic_partition_list_t* partitions);
  std::optional<int64_t> Watermark();
  void AfterCommit();
  void Handle(rd_kafka_message_t* m);
  void Close() {
    if (consumer_ && !closed_) rd_kafka_consumer_close(consumer_.get());
    closed_ = true;
  }
  static void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* partitions,
                        void* opaque);

  RunConfig config_;
  Logger log_;
  std::unique_ptr<Metrics> metrics_;  // outlives the engine, which counts
  std::unique_ptr<Engine> engine_;
  Kafka consumer_, producer_;
  std::unique_ptr<KafkaOutputs> outputs_;
  std::vector<std::string> inputs_;  // distinct input topics
  Positions positions_;
  std::set<TopicPartition> assigned_;
  std::map<TopicPartition, Clock::time_point> last_seen_;
  Decoder decoder_;
  DecodedRecord record_;
  absl::Status status_;
  bool closed_ = false;
};

absl::Status Runner::Connect() {
  auto pconf = MakeConf(config_, {{"transactional.id", config_.instance_id},
                                  {"enable.idempotence", "true"},
                                  {"acks", "all"},
                                  {"linger.ms", "5"}});
  if (!pconf.ok()) return pconf.status();
  char errstr[512];
  producer_.reset(
      rd_kafka_new(RD_KAFKA_PRODUCER, pconf->release(), errstr, sizeof errstr));
  if (!producer_) {
    return absl::InvalidArgumentError(
        absl::StrFormat("creating the producer: %s", errstr));
  }
  // Fences an older instance with the same instance.id: its next
  // transaction fails and it stops.
  for (int attempt = 1;; ++attempt) {
    rd_kafka_error_t* e = rd_kafka_init_transactions(producer_.get(), 30000);
    if (!e) break;
    if (!rd_kafka_error_is_retriable(e) || g_stop) {
      return absl::UnavailableError(
          absl::StrFormat("initialising transactions: %s", ErrorText(e)));
    }
    log_->warn(
        absl::StrFormat("initialising transactions (attempt %d): %s; retrying",
                        attempt, ErrorText(e)));
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  auto cconf = MakeConf(config_, {{"group.id", config_.group_id},
                                  {"session.timeout.ms", "10000"},
                                  {"enable.auto.commit", "false"},
                                  {"enable.auto.offset.store", "false"},
                                  // A position the log no longer holds
                                  // (retention deleted it) is an error,
                                  // never a silent jump.
                                  {"auto.offset.reset", "error"},
                                  {"isolation.level", "read_committed"}});
  if (!cconf.ok()) return cconf.status();
  rd_kafka_conf_set_rebalance_cb(cconf->get(), &Runner::Rebalance);
  rd_kafka_conf_set_opaque(cconf->get(), this);
  consumer_.reset(
      rd_kafka_new(RD_KAFKA_CONSUMER, cconf->release(), errstr, sizeof errstr));
  if (!consumer_) {
    return absl::InvalidArgumentError(
        absl::StrFormat("creating the consumer: %s", errstr));
  }
  rd_kafka_poll_set_consumer(consumer_.get());
  return absl::OkStatus();
}

// Input topics keyed by orderNo must be co-partitioned; output topics must
// exist. Waits for the cluster while it is unreachable.
absl::Status Runner::CheckTopics() {
  std::map<std::string, int> counts;
  for (int attempt = 1;; ++attempt) {
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t e =
        rd_kafka_metadata(consumer_.get(), 1, nullptr, &md, 10000);
    if (!e) {
      for (int i = 0; i < md->topic_cnt; ++i) {
        if (!md->topics[i].err) {
          counts[md->topics[i].topic] = md->topics[i].partition_cnt;
        }
      }
      rd_kafka_metadata_destroy(md);
      break;
    }
    if (g_stop) return absl::CancelledError("stopped");
    log_->warn(absl::StrFormat(
        "reading the cluster's metadata (attempt %d): %s; retrying", attempt,
        rd_kafka_err2str(e)));
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  auto need = [&](const std::string& topic) -> absl::StatusOr<int> {
    auto it = counts.find(topic);
    if (it == counts.end()) {
      return absl::NotFoundError(absl::StrFormat(
          "topic %s does not exist in %s", topic, config_.brokers));
    }
    return it->second;
  };
  std::string first;
  int first_count = 0;
  for (const std::string& t : config_.order_keyed_topics) {
    auto n = need(t);
    if (!n.ok()) return n.status();
    if (first.empty()) {
      first = t;
      first_count = *n;
    } else if (*n != first_count) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "input topics keyed by orderNo must have the same partition "
          "count: %s has %d, %s has %d",
          first, first_count, t, *n));
    }
  }
  for (const std::string& t : config_.other_topics) {
    auto n = need(t);
    if (!n.ok()) return n.status();
  }
  // Stage A's tasks are the partitions of orderNo.
  absl::Status st = engine_->SetPartitions(std::max(first_count, 1));
  if (!st.ok()) return st;
  const std::pair<OutputStream, std::string> outs[] = {
      {OutputStream::kReceipts, config_.decisions_topic},
      {OutputStream::kSummaries, config_.summaries_topic},
      {OutputStream::kDeadLetters, config_.dead_letters_topic}};
  outputs_ = std::make_unique<KafkaOutputs>(producer_.get(), log_);
  for (const auto& [s, t] : outs) {
    auto n = need(t);
    if (!n.ok()) return n.status();
    outputs_->SetTopic(s, t, *n);
  }
  std::set<std::string> distinct(config_.order_keyed_topics.begin(),
                                 config_.order_keyed_topics.end());
  distinct.insert(config_.other_topics.begin(), config_.other_topics.end());
  inputs_.assign(distinct.begin(), distinct.end());
  return absl::OkStatus();
}

// The greatest clearlane-seq among the last records of a partition, -1 if
// none: every record of a stream below it in that partition is there.
absl::Status Runner::ReadTail(const std::string& topic, int32_t partition,
                              int64_t* max_seq) {
  *max_seq = -1;
  int64_t low = 0, high = 0;
  const rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
      consumer_.get(), topic.c_str(), partition, &low, &high, 30000);
  if (e) {
    return absl::UnavailableError(
        absl::StrFormat("reading the end of %s [%d]: %s", topic, partition,
                        rd_kafka_err2str(e)));
  }
  if (high <= low) return absl::OkStatus();
  // One epoch's outputs at most were unconfirmed; their partition's last
  // records tell how far they got. Transaction markers take offsets too,
  // so read a little more than the last record.
  const int64_t from = std::max(low, high - 256);
  // A consumer of its own, outside the group (it assigns, never
  // subscribes or commits; librdkafka still wants a group.id).
  auto conf = MakeConf(config_, {{"enable.partition.eof", "true"},
                                 {"group.id", config_.group_id + "-recovery"},
                                 {"enable.auto.commit", "false"},
                                 {"isolation.level", "read_committed"}});
  if (!conf.ok()) return conf.status();
  char errstr[512];
  Kafka reader(
      rd_kafka_new(RD_KAFKA_CONSUMER, conf->release(), errstr, sizeof errstr));
  if (!reader) return absl::InternalError(errstr);
  rd_kafka_poll_set_consumer(reader.get());
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset =
      from;
  rd_kafka_assign(reader.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(reader.get(), 500);
    if (!m) continue;
    const bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
    if (m->err && !eof) {
      log_->warn(absl::StrFormat("reading %s [%d]: %s", topic, partition,
                                 rd_kafka_message_errstr(m)));
    }
    if (!m->err) {
      rd_kafka_headers_t* headers = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      int64_t seq = 0;
      if (!rd_kafka_message_headers(m, &headers) &&
          !rd_kafka_header_get_last(headers, kSeqHeader, &value, &size) &&
          absl::SimpleAtoi(std::string(static_cast<const char*>(value), size),
                           &seq)) {
        *max_seq = std::max(*max_seq, seq);
      }
    }
    const int64_t offset = m->offset;
    rd_kafka_message_destroy(m);
    if (eof || offset >= high - 1) break;
  }
  rd_kafka_consumer_close(reader.get());
  return absl::OkStatus();
}

absl::Status Runner::Recover() {
  for (int i = 0; i < kOutputStreamCount; ++i) {
    const auto s = static_cast<OutputStream>(i);
    if (engine_->outbox_floor(s) == engine_->next_seq(s)) continue;
    std::vector<int64_t> tail(outputs_->partitions(s), -1);
    for (int32_t p = 0; p < outputs_->partitions(s); ++p) {
      absl::Status st = ReadTail(outputs_->topic(s), p, &tail[p]);
      if (!st.ok()) return st;
    }
    int64_t again = 0;
    absl::Status st = engine_->ForEachUnpublished(
        s, engine_->outbox_floor(s),
        [&](int64_t seq, std::string_view key, std::string_view line) {
          if (seq <= tail[outputs_->PartitionOf(s, key)]) {
            return absl::OkStatus();
          }
          ++again;
          return outputs_->Publish(s, seq, key, line);
        });
    if (!st.ok()) return st;
    if (again > 0) {
      log_->info(
          absl::StrFormat("published %d %s again", again, outputs_->topic(s)));
    }
  }
  return outputs_->Flush();
}

void Runner::Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t* partitions,
                       void* opaque) {
  auto* self = static_cast<Runner*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    self->Assign(partitions);
    rd_kafka_assign(rk, partitions);
  } else {
    self->assigned_.clear();
    if (self->metrics_) self->metrics_->set_ready(false);
    rd_kafka_assign(rk, nullptr);
  }
}

// Starts each assigned partition where the state says it stands.
void Runner::Assign(rd_kafka_topic_partition_list_t* partitions) {
  assigned_.clear();
  const auto now = Clock::now();
  for (int i = 0; i < partitions->cnt; ++i) {
    rd_kafka_topic_partition_t& p = partitions->elems[i];
    const TopicPartition tp{p.topic, p.partition};
    assigned_.insert(tp);
    last_seen_[tp] = now;
    auto it = positions_.partitions.find(tp);
    p.offset = it == positions_.partitions.end() ? RD_KAFKA_OFFSET_BEGINNING
                                                 : it->second.next_offset;
  }
  log_->info(absl::StrFormat("assigned %d partition(s)", partitions->cnt));
  // Ready: the state is restored (Recover ran before subscribing) and
  // partitions are being consumed.
  if (metrics_) metrics_->set_ready(partitions->cnt > 0);
}

// The least watermark over the assigned partitions that are not idle; it
// never goes back.
std::optional<int64_t> Runner::Watermark() {
  const auto now = Clock::now();
  std::optional<int64_t> least;
  for (const TopicPartition& tp : assigned_) {
    const auto seen = last_seen_.find(tp);
    if (seen != last_seen_.end() &&
        now - seen->second >
            std::chrono::milliseconds(config_.idle_timeout_ms)) {
      continue;  // idle: it does not hold time back
    }
    const auto it = positions_.partitions.find(tp);
    if (it == positions_.partitions.end() || !it->second.watermark) {
      return positions_.watermark;  // no event time yet: time waits
    }
    if (!least || *it->second.watermark < *least) {
      least = it->second.watermark;
    }
  }
  if (!least) {
    // Every assigned partition idle: the greatest of them. With nothing
    // assigned (a rebalance), time does not move.
    for (const TopicPartition& tp : assigned_) {
      const auto it = positions_.partitions.find(tp);
      if (it != positions_.partitions.end() && it->second.watermark &&
          (!least || *it->second.watermark > *least)) {
        least = it->second.watermark;
      }
    }
  }
  if (least && (!positions_.watermark || *least > *positions_.watermark)) {
    positions_.watermark = least;
  }
  return positions_.watermark;
}

void Runner::Handle(rd_kafka_message_t* m) {
  const TopicPartition tp{rd_kafka_topic_name(m->rkt), m->partition};
  last_seen_[tp] = Clock::now();
  PartitionState& ps = positions_.partitions[tp];
  ps.next_offset = m->offset + 1;
  const std::string_view payload(static_cast<const char*>(m->payload), m->len);
  if (payload.empty()) return;  // a tombstone is no document
  record_.bytes.assign(payload);
  record_.size = payload.size();
  record_.outcome = decoder_.Decode(record_.bytes, record_.size, &record_.doc);
  if (record_.outcome.ok()) RelocateDocument(&record_.doc, &record_.storage);
  const std::optional<int64_t> before = positions_.watermark;
  const std::variant<FileSource, TopicSource> source =
      TopicSource{tp.first, tp.second, m->offset};
  if (const std::optional<int64_t> t =
          engine_->Process(record_, source, before)) {
    if (!ps.watermark || *t > *ps.watermark) ps.watermark = t;
  }
  const std::optional<int64_t> after = Watermark();
  if (after && (!before || *after > *before)) {
    absl::Status st = engine_->FireTimers(*after, /*commit_between=*/false);
    if (!st.ok() && status_.ok()) status_ = st;
  }
}

// The group's offsets follow the state's, so lag shows in the usual tools.
void Runner::AfterCommit() {
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(assigned_.size()));
  for (const TopicPartition& tp : assigned_) {
    auto it = positions_.partitions.find(tp);
    if (it == positions_.partitions.end() || it->second.next_offset < 0) {
      continue;
    }
    rd_kafka_topic_partition_list_add(list, tp.first.c_str(), tp.second)
        ->offset = it->second.next_offset;
  }
  if (log_->should_log(spdlog::level::debug)) {
    std::string where;
    for (int i = 0; i < list->cnt; ++i) {
      where += absl::StrFormat(" %s[%d]@%d", list->elems[i].topic,
                               list->elems[i].partition, list->elems[i].offset);
    }
    log_->debug(absl::StrFormat(
        "epoch committed; watermark %s; next offsets%s",
        positions_.watermark
            ? FormatTime14(FromEpochSeconds(*positions_.watermark))
            : "-",
        where));
  }
  if (list->cnt > 0) rd_kafka_commit(consumer_.get(), list, /*async=*/1);
  rd_kafka_topic_partition_list_destroy(list);
  if (!metrics_) return;
  // Lag from the high watermarks the last fetches brought (no request).
  for (const TopicPartition& tp : assigned_) {
    auto it = positions_.partitions.find(tp);
    int64_t low = 0, high = 0;
    if (it == positions_.partitions.end() ||
        rd_kafka_get_watermark_offsets(consumer_.get(), tp.first.c_str(),
                                       tp.second, &low, &high) ||
        high < 0) {
      continue;
    }
    const int64_t next =
        it->second.next_offset < 0 ? low : it->second.next_offset;
    metrics_->SetConsumerLag(tp.first, tp.second,
                             std::max<int64_t>(0, high - next));
  }
}

absl::Status Runner::Run() {
  EngineOptions eo;
  eo.state_dir = config_.state_dir;
  eo.sync = config_.sync;
  eo.hmac_secret_file = config_.hmac_secret_file;
  eo.identity_registry = config_.identity_registry;
  eo.tax_rates = config_.tax_rates;
  eo.summary_flag = config_.summary_flag;
  eo.form_lines = config_.form_lines;
  eo.month_close_hours = config_.month_close_hours;
  eo.import_timeout_hours = config_.import_timeout_hours;
  eo.export_timeout_days = config_.export_timeout_days;
  eo.epoch_records = config_.epoch_records;
  eo.epoch_millis = config_.epoch_millis;
  eo.mask_dead_letters = config_.mask_dead_letters;
  eo.partitions = 0;  // the input topics' partition count, checked below
  auto engine = Engine::Open(eo, log_.get());
  if (!engine.ok()) return engine.status();
  engine_ = *std::move(engine);
  auto positions = DecodePositions(engine_->position());
  if (!positions.ok()) return positions.status();
  positions_ = *std::move(positions);
  engine_->set_status(RunStatus::kRunning);
  if (!config_.metrics_address.empty()) {
    metrics_ = std::make_unique<Metrics>();
    engine_->set_metrics(metrics_.get());
    auto port = metrics_->Serve(config_.metrics_address);
    if (!port.ok()) return port.status();
    log_->info(absl::StrFormat("metrics on port %d", *port));
  }

  log_->info(absl::StrFormat("state %s open; connecting to %s",
                             config_.state_dir, config_.brokers));
  absl::Status st = Connect();
  if (st.ok()) st = CheckTopics();
  if (st.ok()) {
    log_->info("publishing what the last run committed and did not publish");
    st = Recover();
  }
  if (!st.ok()) return st;
  engine_->StartPublishing(outputs_.get());
  engine_->set_position_source([this] { return EncodePositions(positions_); });

  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(static_cast<int>(inputs_.size()));
  for (const std::string& t : inputs_) {
    rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  const rd_kafka_resp_err_t e = rd_kafka_subscribe(consumer_.get(), topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e) {
    return absl::UnavailableError(
        absl::StrFormat("subscribing: %s", rd_kafka_err2str(e)));
  }
  log_->info(absl::StrFormat("consuming %d topic(s) as group %s",
                             inputs_.size(), config_.group_id));
  auto last_error = Clock::now() - std::chrono::hours(1);
  while (!g_stop && status_.ok()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_.get(), 100);
    if (m && m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
      const std::string what = absl::StrFormat(
          "input %s [%d]: %s; the records from the state's position on are "
          "no longer in the log (retention deleted them), so stopping "
          "rather than skipping them",
          m->rkt ? rd_kafka_topic_name(m->rkt) : "?", m->partition,
          rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      return absl::DataLossError(what);
    }
    if (m && m->err) {
      // Broker trouble: librdkafka retries; say so now and then.
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF &&
          Clock::now() - last_error > std::chrono::seconds(5)) {
        log_->warn(absl::StrFormat("consumer: %s; retrying",
                                   rd_kafka_message_errstr(m)));
        last_error = Clock::now();
      }
      rd_kafka_message_destroy(m);
      m = nullptr;
    }
    if (m) {
      Handle(m);
      rd_kafka_message_destroy(m);
      st = engine_->CountAndMaybeCommit();
    } else {
      // Idle partitions may let time move; an epoch's age ends it.
      const std::optional<int64_t> before = positions_.watermark;
      const std::optional<int64_t> after = Watermark();
      if (after && (!before || *after > *before)) {
        st = engine_->FireTimers(*after, /*commit_between=*/false);
      }
      if (st.ok()) st = engine_->CommitIfOld();
    }
    if (!st.ok()) return st;
    if (engine_->committed_since_last_asked()) AfterCommit();
  }
  if (!status_.ok()) return status_;
  // SIGTERM: finish the epoch, publish, commit.
  st = engine_->Commit();
  if (!st.ok()) return st;
  AfterCommit();
  Close();
  log_->info("stopped cleanly");
  return absl::OkStatus();
}

}  // namespace

int RunKafka(const std::string& config_path, std::FILE* err) {
  g_logger = MakeJsonLogger("run", err);
  auto config = LoadRunConfig(config_path);
  if (!config.ok()) {
    g_logger->error(std::string(config.status().message()));
    return 2;
  }
  g_logger->set_level(config->log_level);
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  absl::Status st;
  {
    Runner runner(*std::move(config), g_logger);
    st = runner.Run();
  }
  if (!st.ok()) {
    g_logger->error(std::string(st.message()));
    return 2;
  }
  return 0;
}

}  // namespace clearlane
