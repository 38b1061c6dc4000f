#include "pipeline/kafka/run.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <tuple>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "model/event_time.h"
#include "pipeline/engine/disk_guard.h"
#include "pipeline/engine/driver.h"
#include "pipeline/engine/engine.h"
#include "pipeline/kafka/changelog_restore.h"
#include "pipeline/kafka/client.h"
#include "pipeline/kafka/record_collector.h"
#include "pipeline/kafka/run_config.h"
#include "pipeline/kafka/topic_source.h"
#include "pipeline/observe/log.h"
#include "pipeline/observe/metrics.h"
#include "state/changelog.h"
#include "state/keys.h"

namespace clearlane {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void OnStopSignal(int) { g_stop = true; }

// How long the broker may take to describe the changelog topic's config
// (a broker without a controller, like the embedded one, never does).
constexpr int kDescribeTimeoutMs = 2000;

class Runner : public DriverObserver, public TaskMover {
 public:
  Runner(RunConfig config, Logger log)
      : config_(std::move(config)),
        log_(std::move(log)),
        time_(std::chrono::milliseconds(config_.idle_timeout_ms)) {}
  // Leaves the group while the members its rebalance callback touches are
  // still alive.
  ~Runner() override { Close(); }
  absl::Status Run();
  // `run --standby`: follows the changelog into the state until stopped
  // (changelog_restore.h FollowChangelog); never joins the group nor
  // produces, so it fences nobody.
  absl::Status Standby();

  // DriverObserver: the group's offsets follow the state's, so lag shows
  // in the usual tools.
  void AfterCommit() override;

  // TaskMover (group.members = many).
  absl::Status Revoking() override;
  absl::StatusOr<std::map<int32_t, std::string>> Move(
      const std::set<int32_t>& tasks) override;

 private:
  absl::Status Connect();
  // Every topic's partition count, as `client` reads the cluster's
  // metadata (retried until it answers; Cancelled when stopped meanwhile).
  absl::StatusOr<std::map<std::string, int>> PartitionCounts(
      rd_kafka_t* client);
  absl::Status CheckTopics();
  // Returns once the state's filesystem has the free-space floor, waiting
  // (with backoff, nothing committed, not ready) while it has not; an
  // error only when stopped meanwhile.
  absl::Status AwaitSpace(uint64_t about_to_write = 0);
  absl::StatusOr<Kafka> NewTailReader();
  absl::Status RefuseFreshStateOnPublishedOutputs();
  absl::Status OpenEngine();
  // Serves the metrics when configured, waits for disk space, opens the
  // state.
  absl::Status ServeMetricsAndOpen();
  // FailedPrecondition when the broker says `topic` is not compacted; a
  // warning when it does not say.
  absl::Status CheckCompacted(const std::string& topic);
  // An internal topic (the changelog, compacted; the exchange's) exists
  // with the input's partition count (created when allowed and absent).
  absl::Status EnsureInternal(const std::map<std::string, int>& counts,
                              const std::string& topic, int partitions,
                              bool compacted);
  // A new state is rebuilt from the changelog when it holds records; the
  // engine is opened again on what was restored.
  absl::Status CatchUpWithChangelog();
  // At a member's first assignment, the epoch(s) its last run committed
  // and did not publish (HoldUnpublished): published when every task that
  // logged a position in them is assigned here and no other member ran it
  // since; otherwise dropped, and every partition they wrote read back
  // whole from the changelog (docs/engine.md "Point 4").
  absl::Status SettleUnpublished(const std::set<int32_t>& assigned);
  // How long the changelog keeps tombstones, and the wall clock.
  TombstoneRetention Tombstones() const {
    return {.retention_ms = config_.changelog_delete_retention_ms,
            .now_ms = [] {
              return std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                  .count();
            }};
  }
  void Close() {
    // Leaving the group revokes every partition: nothing is left to
    // commit then (or the engine stopped on an error).
    if (source_ && config_.many_members) source_->set_task_mover(nullptr);
    driver_ = nullptr;
    if (consumer_ && !closed_) rd_kafka_consumer_close(consumer_.get());
    closed_ = true;
  }

  RunConfig config_;
  Logger log_;
  DiskGuard disk_{config_.engine.min_free_space,
                  {config_.engine.state_dir},
                  "min.free.space"};
  std::unique_ptr<Metrics> metrics_;  // outlives the engine, which counts
  std::unique_ptr<Engine> engine_;
  Kafka producer_, consumer_;
  std::unique_ptr<RecordCollector> outputs_;
  std::vector<std::string> inputs_;  // distinct input topics
  int input_partitions_ = 0;         // theirs in all
  int order_partitions_ = 1;         // of each topic keyed by orderNo
  PartitionGroup time_;
  std::unique_ptr<TopicRecordSource> source_;
  Driver* driver_ = nullptr;  // while Run's driver runs
  // group.members = many: the tasks this process owns; none known before
  // the first assignment (the state opened with every task in memory).
  std::optional<std::set<int32_t>> owned_;
  // With many members: the input positions at the last commit, which the
  // next transaction carries with the group's metadata.
  struct OffsetsDeleter {
    void operator()(rd_kafka_topic_partition_list_t* l) const {
      rd_kafka_topic_partition_list_destroy(l);
    }
  };
  std::unique_ptr<rd_kafka_topic_partition_list_t, OffsetsDeleter>
      group_offsets_;
  bool closed_ = false;
};

absl::Status Runner::Connect() {
  auto pconf = MakeKafkaConf(config_.brokers,
                             {{"transactional.id", config_.instance_id},
                              {"enable.idempotence", "true"},
                              {"acks", "all"},
                              {"linger.ms", "5"},
                              {"compression.type", "lz4"}},
                             config_.kafka);
  if (!pconf.ok()) return pconf.status();
  rd_kafka_conf_set_dr_msg_cb(pconf->get(), &RecordCollector::OnDelivery);
  auto producer =
      NewKafka(RD_KAFKA_PRODUCER, *std::move(pconf), "the producer");
  if (!producer.ok()) return producer.status();
  producer_ = *std::move(producer);
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
  auto cconf = MakeKafkaConf(config_.brokers,
                             {{"group.id", config_.group_id},
                              {"session.timeout.ms", "10000"},
                              {"enable.auto.commit", "false"},
                              {"enable.auto.offset.store", "false"},
                              // A position the log no longer holds
                              // (retention deleted it) is an error, never a
                              // silent jump.
                              {"auto.offset.reset", "error"},
                              {"isolation.level", "read_committed"},
                              {"fetch.wait.max.ms", "20"},
                              // A task is the same partition number of
                              // every topic: range gives a member those
                              // (docs/engine.md, step (4) (a)).
                              {"partition.assignment.strategy", "range"}},
                             config_.kafka);
  if (!cconf.ok()) return cconf.status();
  // Rebalances go to the source, which is made once the topics are known
  // (they come only once it has subscribed, inside its polls).
  rd_kafka_conf_set_rebalance_cb(
      cconf->get(),
      [](rd_kafka_t* rk, rd_kafka_resp_err_t err,
         rd_kafka_topic_partition_list_t* partitions, void* opaque) {
        static_cast<Runner*>(opaque)->source_->Rebalance(rk, err, partitions);
      });
  rd_kafka_conf_set_opaque(cconf->get(), this);
  auto consumer =
      NewKafka(RD_KAFKA_CONSUMER, *std::move(cconf), "the consumer");
  if (!consumer.ok()) return consumer.status();
  consumer_ = *std::move(consumer);
  rd_kafka_poll_set_consumer(consumer_.get());
  return absl::OkStatus();
}

// Input topics keyed by orderNo must be co-partitioned; output topics must
// exist. Waits for the cluster while it is unreachable.
absl::StatusOr<std::map<std::string, int>> Runner::PartitionCounts(
    rd_kafka_t* client) {
  std::map<std::string, int> counts;
  for (int attempt = 1;; ++attempt) {
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t e =
        rd_kafka_metadata(client, 1, nullptr, &md, 10000);
    if (!e) {
      for (int i = 0; i < md->topic_cnt; ++i) {
        if (!md->topics[i].err) {
          counts[md->topics[i].topic] = md->topics[i].partition_cnt;
        }
      }
      rd_kafka_metadata_destroy(md);
      return counts;
    }
    if (g_stop) return absl::CancelledError("stopped");
    log_->warn(absl::StrFormat(
        "reading the cluster's metadata (attempt %d): %s; retrying", attempt,
        rd_kafka_err2str(e)));
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

absl::Status Runner::CheckTopics() {
  auto read = PartitionCounts(consumer_.get());
  if (!read.ok()) return read.status();
  std::map<std::string, int>& counts = *read;
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
  order_partitions_ = std::max(first_count, 1);
  absl::Status st = engine_->SetPartitions(order_partitions_);
  if (!st.ok()) return st;
  const std::pair<OutputStream, std::string> outs[] = {
      {OutputStream::kReceipts, config_.decisions_topic},
      {OutputStream::kSummaries, config_.summaries_topic},
      {OutputStream::kDeadLetters, config_.dead_letters_topic}};
  outputs_ = std::make_unique<RecordCollector>(producer_.get(),
                                               config_.instance_id, log_);
  for (const auto& [s, t] : outs) {
    auto n = need(t);
    if (!n.ok()) return n.status();
    outputs_->SetTopic(s, t, *n);
  }
  // Stage C's topic has one partition: one task owns every month.
  const std::tuple<OutputStream, std::string, bool, int> internal[] = {
      {OutputStream::kChangelog, config_.changelog_topic, true,
       order_partitions_},
      {OutputStream::kAllowance, config_.allowance_topic, false,
       order_partitions_},
      {OutputStream::kAllowanceAnswers, config_.answers_topic, false,
       order_partitions_},
      {OutputStream::kClosedLists, config_.closed_lists_topic, false, 1}};
  for (const auto& [stream, topic, compacted, partitions] : internal) {
    st = EnsureInternal(counts, topic, partitions, compacted);
    if (!st.ok()) return st;
    outputs_->SetTopic(stream, topic, partitions);
  }
  std::set<std::string> distinct(config_.order_keyed_topics.begin(),
                                 config_.order_keyed_topics.end());
  distinct.insert(config_.other_topics.begin(), config_.other_topics.end());
  inputs_.assign(distinct.begin(), distinct.end());
  // The exchange's partitions are assigned with the inputs'.
  input_partitions_ = 2 * order_partitions_ + 1;
  for (const std::string& t : inputs_) input_partitions_ += counts[t];
  return absl::OkStatus();
}

absl::Status Runner::EnsureInternal(const std::map<std::string, int>& counts,
                                    const std::string& topic, int partitions,
                                    bool compacted) {
  const std::string_view what = compacted ? "changelog" : "exchange";
  if (auto it = counts.find(topic); it != counts.end()) {
    if (it->second != partitions) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s topic %s has %d partition(s) and must have %d (%s)", what, topic,
          it->second, partitions,
          partitions == order_partitions_
              ? "as many as the inputs keyed by orderNo: a task's records go "
                "to the partition of its number"
              : "one task owns every month"));
    }
    return compacted ? CheckCompacted(topic) : absl::OkStatus();
  }
  if (!config_.create_changelog) {
    return absl::NotFoundError(
        absl::StrFormat("%s topic %s does not exist in %s (create it%s with %d "
                        "partition(s), or set changelog.create = true)",
                        what, topic, config_.brokers,
                        compacted ? " compacted," : "", partitions));
  }
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(
      topic.c_str(), partitions, /*replication_factor=*/-1, nullptr, 0);
  if (compacted) rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
  rd_kafka_queue_t* q = rd_kafka_queue_new(producer_.get());
  rd_kafka_CreateTopics(producer_.get(), &nt, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 60000);
  absl::Status st;
  if (!ev) {
    st = absl::UnavailableError(
        absl::StrFormat("creating %s topic %s: no answer", what, topic));
  } else if (rd_kafka_event_error(ev)) {
    st = absl::UnavailableError(
        absl::StrFormat("creating %s topic %s: %s", what, topic,
                        rd_kafka_event_error_string(ev)));
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(
            rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n; ++i) {
      const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
      if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        st = absl::UnavailableError(
            absl::StrFormat("creating %s topic %s: %s", what, topic,
                            rd_kafka_topic_result_error_string(results[i])));
      }
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  if (!st.ok()) return st;
  log_->info(absl::StrFormat("created %s topic %s (%d partition(s)%s)", what,
                             topic, partitions,
                             compacted ? ", cleanup.policy=compact" : ""));
  return absl::OkStatus();
}

absl::Status Runner::CheckCompacted(const std::string& topic) {
  rd_kafka_ConfigResource_t* resource =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(
      producer_.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
  char errstr[256];
  rd_kafka_AdminOptions_set_request_timeout(options, kDescribeTimeoutMs, errstr,
                                            sizeof errstr);
  rd_kafka_queue_t* q = rd_kafka_queue_new(producer_.get());
  rd_kafka_DescribeConfigs(producer_.get(), &resource, 1, options, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, kDescribeTimeoutMs + 5000);
  absl::Status st;
  std::string unchecked;  // why the policy could not be read
  if (!ev) {
    unchecked = "no answer";
  } else if (rd_kafka_event_error(ev)) {
    unchecked = rd_kafka_event_error_string(ev);
  } else {
    size_t n = 0;
    const rd_kafka_ConfigResource_t** rs =
        rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(ev), &n);
    std::string policy = "delete";  // Kafka's default
    for (size_t i = 0; i < n; ++i) {
      if (rd_kafka_ConfigResource_error(rs[i])) {
        unchecked = rd_kafka_ConfigResource_error_string(rs[i]);
        continue;
      }
      size_t m = 0;
      const rd_kafka_ConfigEntry_t** entries =
          rd_kafka_ConfigResource_configs(rs[i], &m);
      for (size_t j = 0; j < m; ++j) {
        const char* value = rd_kafka_ConfigEntry_value(entries[j]);
        if (!value) continue;
        const std::string_view name = rd_kafka_ConfigEntry_name(entries[j]);
        int64_t ms = 0;
        if (name == "cleanup.policy") {
          policy = value;
        } else if (name == "delete.retention.ms" &&
                   absl::SimpleAtoi(value, &ms)) {
          config_.changelog_delete_retention_ms = ms;
        }
      }
    }
    if (unchecked.empty() && !absl::StrContains(policy, "compact")) {
      st = absl::FailedPreconditionError(absl::StrFormat(
          "changelog topic %s has cleanup.policy=%s: it must be compact "
          "(with delete, the broker drops old changes and a restore "
          "rebuilds a state that lost them)",
          topic, policy));
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_ConfigResource_destroy(resource);
  if (st.ok() && !unchecked.empty()) {
    // The embedded broker (librdkafka's mock) has no controller and
    // answers no admin request; it keeps every record anyway.
    log_->warn(absl::StrFormat(
        "could not read cleanup.policy of changelog topic %s (%s): make "
        "sure it is compact",
        topic, unchecked));
  }
  return st;
}

absl::Status Runner::OpenEngine() {
  auto engine = Engine::Open(config_.engine,
                             // The input topics' partition count, checked
                             // in CheckTopics.
                             {.overlap_commits = true,
                              .partitions = 0,
                              .secret_option = "hmac.secret.file",
                              .secret_file_required = true,
                              .changelog = true,
                              .instance = config_.instance_id},
                             log_.get());
  if (!engine.ok()) return engine.status();
  engine_ = *std::move(engine);
  engine_->run().status = RunStatus::kRunning;
  if (metrics_) engine_->set_metrics(metrics_.get());
  return absl::OkStatus();
}

// A new state is rebuilt from the changelog; one behind it (put back
// from an older copy) applies the changelog's tail.
absl::Status Runner::CatchUpWithChangelog() {
  if (config_.many_members && !engine_->fresh()) {
    // Each task is caught up when assigned, from the state's checkpoint;
    // a state without one (written before there was one) catches up
    // whole first, as it would alone.
    auto checkpoint = ReadChangelogCheckpoint(engine_->store());
    if (!checkpoint.ok()) return checkpoint.status();
    if (*checkpoint) return absl::OkStatus();
  }
  auto reader = NewTailReader();
  if (!reader.ok()) return reader.status();
  auto restored =
      engine_->fresh()
          ? RestoreFromChangelog(reader->get(), config_.changelog_topic,
                                 order_partitions_, config_.instance_id,
                                 Tombstones(), &engine_->store(), log_,
                                 metrics_.get(), config_.many_members)
          : CatchUpFromChangelog(reader->get(), config_.changelog_topic,
                                 order_partitions_, config_.instance_id,
                                 engine_->run(), Tombstones(),
                                 &engine_->store(), log_, metrics_.get());
  rd_kafka_consumer_close(reader->get());
  if (!restored.ok()) return restored.status();
  if (!restored->restored) return absl::OkStatus();
  // The engine reads its state when it opens: open it on the restored one.
  engine_.reset();
  absl::Status st = OpenEngine();
  if (st.ok()) st = engine_->SetPartitions(order_partitions_);
  return st;
}

// A consumer of its own, outside the group, to read an output partition's
// tail (it assigns, never subscribes or commits; librdkafka still wants a
// group.id).
absl::StatusOr<Kafka> Runner::NewTailReader() {
  auto conf = MakeKafkaConf(config_.brokers,
                            {{"enable.partition.eof", "true"},
                             {"group.id", config_.group_id + "-recovery"},
                             {"enable.auto.commit", "false"},
                             {"isolation.level", "read_committed"}},
                            config_.kafka);
  if (!conf.ok()) return conf.status();
  return NewKafka(RD_KAFKA_CONSUMER, *std::move(conf), "a tail reader");
}

void Runner::AfterCommit() {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(
      static_cast<int>(source_->assigned().size()));
  for (const PartitionId& p : source_->assigned()) {
    const int64_t next = source_->next_offset(p);
    if (next < 0) continue;
    rd_kafka_topic_partition_list_add(list, source_->topic(p.input).c_str(),
                                      p.partition)
        ->offset = next;
  }
  if (log_->should_log(spdlog::level::debug)) {
    std::string where;
    for (int i = 0; i < list->cnt; ++i) {
      where += absl::StrFormat(" %s[%d]@%d", list->elems[i].topic,
                               list->elems[i].partition, list->elems[i].offset);
    }
    const std::optional<int64_t> w = time_.watermark();
    log_->debug(absl::StrFormat("epoch committed; watermark %s; next offsets%s",
                                w ? FormatTime14(FromEpochSeconds(*w)) : "-",
                                where));
  }
  if (config_.many_members) {
    // Sent with the next transaction instead (group fencing).
    group_offsets_.reset(list);
  } else {
    if (list->cnt > 0) rd_kafka_commit(consumer_.get(), list, /*async=*/1);
    rd_kafka_topic_partition_list_destroy(list);
  }
  if (!metrics_) return;
  // Lag from the high watermarks the last fetches brought (no request).
  for (const PartitionId& p : source_->assigned()) {
    const std::string& topic = source_->topic(p.input);
    int64_t low = 0, high = 0;
    if (rd_kafka_get_watermark_offsets(consumer_.get(), topic.c_str(),
                                       p.partition, &low, &high) ||
        high < 0) {
      continue;
    }
    const int64_t next = source_->next_offset(p);
    metrics_->SetConsumerLag(
        topic, p.partition,
        std::max<int64_t>(0, high - (next < 0 ? low : next)));
  }
}

absl::Status Runner::Revoking() {
  return driver_ ? driver_->Commit() : absl::OkStatus();
}

// Forgets the tasks that left; catches up the tasks that came from their
// changelog partitions (past the state's checkpoint: the records other
// members logged while they had them) and adopts them. At the first
// assignment every task is forgotten first (the state opened with all of
// them in memory, and any may have run elsewhere meanwhile) and the
// assigned ones caught up and adopted.
absl::StatusOr<std::map<int32_t, std::string>> Runner::Move(
    const std::set<int32_t>& tasks) {
  // What an idle moment committed has landed: every cached entry is clean.
  if (driver_) {
    if (absl::Status st = driver_->Commit(); !st.ok()) return st;
  }
  absl::flat_hash_set<int32_t> forget, adopt;
  if (!owned_) {
    for (int32_t t = 0; t < order_partitions_; ++t) forget.insert(t);
    adopt.insert(tasks.begin(), tasks.end());
  } else {
    for (int32_t t : *owned_) {
      if (!tasks.contains(t)) forget.insert(t);
    }
    for (int32_t t : tasks) {
      if (!owned_->contains(t)) adopt.insert(t);
    }
  }
  TaskContext& context = engine_->context();
  const Clearance& rules = engine_->task().clearance();
  if (!forget.empty()) {
    if (absl::Status st = context.ForgetTasks(forget, rules); !st.ok()) {
      return st;
    }
  }
  if (engine_->epochs().holding_unpublished()) {
    if (absl::Status st = SettleUnpublished(tasks); !st.ok()) return st;
  }
  std::map<int32_t, std::string> positions;
  int with_position = 0;
  RestoreResult caught{};
  const std::set<int32_t> came(adopt.begin(), adopt.end());
  if (!came.empty()) {
    auto reader = NewTailReader();
    if (!reader.ok()) return reader.status();
    auto read = CatchUpTasks(
        reader->get(), config_.changelog_topic, order_partitions_,
        std::vector<int32_t>(came.begin(), came.end()), config_.instance_id,
        engine_->run(), Tombstones(), &engine_->store(), log_, metrics_.get());
    rd_kafka_consumer_close(reader->get());
    if (!read.ok()) return read.status();
    caught = *read;
    if (absl::Status st = context.AdoptTasks(adopt, rules); !st.ok()) {
      return st;
    }
    for (int32_t t : came) {
      auto logged = engine_->store().Get(Store::kMeta, TaskPositionKey(t));
      if (!logged.ok()) return logged.status();
      // No member has published a position of the task: it starts over,
      // its exchange partitions too, where requests for it may wait
      // (written by tasks whose epochs were published while the member
      // that had it first died before its first was).
      with_position += logged->has_value();
      positions[t] = *logged ? **std::move(logged) : std::string();
    }
  }
  engine_->epochs().ForgetTaskPositions();
  if (group_offsets_) {
    // The next transaction's offsets: of this process's partitions only.
    rd_kafka_topic_partition_list_t* kept =
        rd_kafka_topic_partition_list_new(group_offsets_->cnt);
    for (int i = 0; i < group_offsets_->cnt; ++i) {
      const rd_kafka_topic_partition_t& p = group_offsets_->elems[i];
      if (tasks.contains(p.partition)) {
        rd_kafka_topic_partition_list_add(kept, p.topic, p.partition)->offset =
            p.offset;
      }
    }
    group_offsets_.reset(kept);
  }
  const std::set<int32_t> forgot(forget.begin(), forget.end());
  log_->info(absl::StrFormat(
      "tasks here now: [%s]; forgot [%s]; caught up [%s] from %s (%d "
      "records read, %d applied), %d of them with a logged position",
      absl::StrJoin(tasks, ","), absl::StrJoin(forgot, ","),
      absl::StrJoin(came, ","), config_.changelog_topic, caught.read,
      caught.applied, with_position));
  owned_ = tasks;
  context.set_tasks_here(
      absl::flat_hash_set<int32_t>(tasks.begin(), tasks.end()));
  return positions;
}

absl::Status Runner::SettleUnpublished(const std::set<int32_t>& assigned) {
  Outbox& outbox = engine_->outbox();
  RunRecord& run = engine_->run();
  // The partitions it wrote: of the tasks that processed something in it
  // (each logged its position: `ran`, for the log), and of tasks here then
  // that they wrote at once (the import waybill index's entries and
  // let-goes, TaskContext::set_tasks_here). No task writes another
  // member's state, so every one of them was here when the epoch ran.
  std::set<int32_t> touched, ran;
  absl::Status st = outbox.ForEachUnpublished(
      OutputStream::kChangelog, outbox.floor(OutputStream::kChangelog),
      [&](int64_t, std::string_view key, std::string_view) {
        if (IsRunRecordLogKey(key)) return absl::OkStatus();
        const int32_t p = ChangelogPartition(key, order_partitions_);
        touched.insert(p);
        if (key.size() > 1 && key[0] == static_cast<char>(Store::kMeta) &&
            TaskOfPositionKey(key.substr(1))) {
          ran.insert(p);
        }
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  std::set<int32_t> elsewhere, mine;
  for (int32_t t : touched) {
    (assigned.contains(t) ? mine : elsewhere).insert(t);
  }
  if (!mine.empty()) {
    auto reader = NewTailReader();
    if (!reader.ok()) return reader.status();
    auto others = TasksRunElsewhere(reader->get(), config_.changelog_topic,
                                    order_partitions_, mine,
                                    config_.instance_id, engine_->store());
    rd_kafka_consumer_close(reader->get());
    if (!others.ok()) return others.status();
    elsewhere.insert(others->begin(), others->end());
  }
  if (elsewhere.empty()) {
    log_->info(absl::StrFormat(
        "publishing what the last run committed and did not publish: the "
        "tasks it wrote, [%s], are here and ran nowhere else meanwhile",
        absl::StrJoin(touched, ",")));
    st = outputs_->Recover(outbox, [this] { return NewTailReader(); });
    if (!st.ok()) return st;
    engine_->epochs().ReleaseUnpublished();
    return absl::OkStatus();
  }
  // Another member has, or had, some of its tasks since, from a state
  // without it (a broker aborts an unfinished transaction): publishing it
  // would decide their lists twice. Every partition it wrote goes back to
  // what the changelog holds, and its tasks redo their inputs from there.
  auto checkpoint = ReadChangelogCheckpoint(engine_->store());
  if (!checkpoint.ok()) return checkpoint.status();
  if (!*checkpoint) {
    return absl::FailedPreconditionError(
        "the state has no changelog checkpoint to read tasks back from");
  }
  WriteBatch batch(engine_->store());
  outbox.Trim(&batch, run.next_seq);
  st = RebuildTasks(
      &engine_->store(),
      absl::flat_hash_set<int32_t>(touched.begin(), touched.end()),
      order_partitions_, config_.instance_id, &**checkpoint, &batch);
  if (!st.ok()) return st;
  batch.Put(Store::kMeta, kChangelogCheckpointKey,
            EncodeChangelogCheckpoint(**checkpoint));
  PutRunRecord(run, &batch);
  st = engine_->store().Commit(&batch);
  if (!st.ok()) return st;
  engine_->epochs().ReleaseUnpublished();
  log_->warn(absl::StrFormat(
      "dropped what the last run committed and did not publish: tasks [%s] "
      "ran elsewhere meanwhile (of those it wrote, [%s]; of those that "
      "processed something in it, [%s]); the partitions it wrote are read "
      "back whole from %s, and its tasks redo their inputs from there",
      absl::StrJoin(elsewhere, ","), absl::StrJoin(touched, ","),
      absl::StrJoin(ran, ","), config_.changelog_topic));
  return absl::OkStatus();
}

absl::Status Runner::AwaitSpace(uint64_t about_to_write) {
  absl::Status st = disk_.Check(about_to_write);
  if (st.ok()) return st;
  log_->error(absl::StrFormat(
      "%s; waiting for space, nothing is committed meanwhile", st.message()));
  const bool was_ready = metrics_ && metrics_->ready();
  if (metrics_) {
    metrics_->set_disk_low(true);
    metrics_->set_ready(false);
  }
  auto backoff = std::chrono::seconds(1);
  while (!(st = disk_.Check(about_to_write)).ok()) {
    const auto until = std::chrono::steady_clock::now() + backoff;
    while (std::chrono::steady_clock::now() < until) {
      if (g_stop) return st;  // stopped before there was space
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    backoff =
        std::min<std::chrono::seconds>(backoff * 2, std::chrono::seconds(30));
  }
  log_->info("disk space is back above the floor: going on");
  if (metrics_) {
    metrics_->set_disk_low(false);
    metrics_->set_ready(was_ready);
  }
  return absl::OkStatus();
}

// A new state on topics where another state published: it would start
// from the beginning of the input and decide those lists again (a second
// process with its own state, or a state directory lost), with sequence
// numbers from 0. Checked before joining the group, so a running member
// is not disturbed.
absl::Status Runner::RefuseFreshStateOnPublishedOutputs() {
  auto found = outputs_->FindPublished([this] { return NewTailReader(); });
  if (!found.ok()) return found.status();
  if (found->empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrFormat(
      "state %s is new, but %s already holds outputs of a clearlane state: "
      "this one would decide those lists again. Run with the state that "
      "published them (docs/kafka-mode.md), or set fresh.state = allow to "
      "start anyway",
      config_.engine.state_dir, *found));
}

absl::Status Runner::ServeMetricsAndOpen() {
  if (!config_.observe.metrics_address.empty()) {
    metrics_ = std::make_unique<Metrics>();
    auto port = metrics_->Serve(config_.observe.metrics_address);
    if (!port.ok()) return port.status();
    log_->info(absl::StrFormat("metrics on port %d", *port));
  }
  if (absl::Status st = AwaitSpace(); !st.ok()) return st;
  return OpenEngine();
}

absl::Status Runner::Standby() {
  // Never ready: a standby serves nothing; /healthz says it is alive.
  if (absl::Status st = ServeMetricsAndOpen(); !st.ok()) return st;
  if (metrics_) metrics_->SetStandby();
  if (!engine_->fresh()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "state %s has run (it holds a run record): a standby follows the "
        "changelog into a new state directory, or a standby's",
        config_.engine.state_dir));
  }
  auto reader = NewTailReader();
  if (!reader.ok()) return reader.status();
  // The changelog's own partition count (run checks it against the
  // inputs'; the standby reads nothing else).
  int partitions = 0;
  while (partitions == 0) {
    auto counts = PartitionCounts(reader->get());
    if (!counts.ok()) {
      return absl::IsCancelled(counts.status()) ? absl::OkStatus()
                                                : counts.status();
    }
    if (auto it = counts->find(config_.changelog_topic); it != counts->end()) {
      partitions = it->second;
    } else {
      if (g_stop) return absl::OkStatus();
      log_->warn(absl::StrFormat("changelog %s does not exist yet; retrying",
                                 config_.changelog_topic));
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
  absl::Status st = FollowChangelog(
      reader->get(), config_.changelog_topic, partitions, config_.instance_id,
      Tombstones(), [] { return g_stop.load(); }, &engine_->store(), log_,
      metrics_.get());
  rd_kafka_consumer_close(reader->get());
  if (st.ok()) log_->info("standby stopped; its state goes on from here");
  return st;
}

absl::Status Runner::Run() {
  absl::Status st = ServeMetricsAndOpen();
  if (!st.ok()) return st;
  log_->info(absl::StrFormat("state %s open; connecting to %s",
                             config_.engine.state_dir, config_.brokers));
  st = Connect();
  if (st.ok()) st = CheckTopics();
  if (st.ok()) st = CatchUpWithChangelog();
  if (!st.ok()) return st;
  source_ = std::make_unique<TopicRecordSource>(
      consumer_.get(), inputs_, &time_, config_.engine.threads,
      engine_->secret(), log_, metrics_.get());
  source_->set_exchange_topics(config_.allowance_topic, config_.answers_topic,
                               config_.closed_lists_topic);
  source_->set_input_partitions(input_partitions_);
  if (config_.many_members) {
    source_->set_task_mover(this);
    engine_->task().set_import_only(true);
  }
  engine_->context().set_exchange_through_topics(true);
  st = source_->Restore(engine_->run().position);
  // With many members a new state is the rule (a member joining), and
  // its tasks start where their logged positions say.
  if (st.ok() && engine_->fresh() && config_.fresh_state_check &&
      !config_.many_members) {
    st = RefuseFreshStateOnPublishedOutputs();
  }
  int64_t logged_whole = 0;
  if (st.ok()) {
    auto logged = LogWholeStateIfNeeded(&engine_->store(), &engine_->outbox(),
                                        &engine_->run(), config_.instance_id);
    if (!logged.ok()) {
      st = logged.status();
    } else if ((logged_whole = *logged) > 0) {
      log_->info(absl::StrFormat(
          "the state has history its changelog %s lacks (it was written "
          "before clearlane kept one, or in the changelog's older layout): "
          "logged it whole, %d records",
          config_.changelog_topic, *logged));
    }
  }
  if (!st.ok()) return st;
  if (config_.many_members && logged_whole == 0 &&
      engine_->outbox().size() > 0) {
    // Its tasks may run elsewhere by now: which they are is known at the
    // first assignment (SettleUnpublished).
    log_->info(
        "the last run committed outputs it did not publish: held until "
        "this member knows its tasks");
    engine_->epochs().HoldUnpublished();
  } else {
    log_->info("publishing what the last run committed and did not publish");
    st = outputs_->Recover(engine_->outbox(),
                           [this] { return NewTailReader(); });
    if (!st.ok()) return st;
  }
  if (const char* kill = std::getenv("CLEARLANE_TEST_KILL_BEFORE_PUBLISH")) {
    engine_->epochs().set_kill_before_publish(std::atoi(kill));
  }
  if (config_.many_members) {
    // Zombie fencing (KIP-447): a transaction of a member the group has
    // moved on from is refused.
    outputs_->set_group_fencing(consumer_.get(), [this] {
      return group_offsets_
                 ? rd_kafka_topic_partition_list_copy(group_offsets_.get())
                 : nullptr;
    });
  }
  engine_->epochs().StartPublishing(outputs_.get());
  engine_->epochs().set_changelog_ends_source([this] {
    std::vector<ChangelogEnd> ends = outputs_->TakeChangelogEnds();
    // With many members, the checkpoint moves only in the partitions of
    // this process's tasks. In another's, records of its owner may come
    // before this process's last (a run record, whose partition every
    // member shares; the last epoch of a task given up): the checkpoint
    // stays where this process last had the task, and a catch-up when it
    // comes back reads from there.
    if (owned_) {
      std::erase_if(ends, [this](const ChangelogEnd& e) {
        return !owned_->contains(e.partition);
      });
    }
    return ends;
  });
  engine_->epochs().set_space_check(
      [this](uint64_t bytes) { return AwaitSpace(bytes); });
  Driver driver(engine_.get(), source_.get(), &time_, this);
  driver_ = &driver;

  st = source_->Subscribe();
  if (!st.ok()) return st;
  log_->info(absl::StrFormat("consuming %d topic(s) as group %s",
                             inputs_.size(), config_.group_id));
  st = driver.Run(&g_stop);
  if (!st.ok()) return st;
  // SIGTERM: finish the epoch, publish, commit.
  st = driver.Commit();
  if (!st.ok()) return st;
  Close();
  log_->info("stopped cleanly");
  return absl::OkStatus();
}

}  // namespace

int CheckRunConfig(const std::string& config_path,
                   const RunConfigOverrides& overrides, std::FILE* out,
                   std::FILE* err) {
  Logger log = MakeJsonLogger("run", err);
  auto config = LoadRunConfig(config_path, overrides);
  if (!config.ok()) {
    log->error(std::string(config.status().message()));
    return 2;
  }
  const RunConfig& c = *config;
  const EngineOptions& e = c.engine;
  std::vector<std::string> inputs = c.order_keyed_topics;
  inputs.insert(inputs.end(), c.other_topics.begin(), c.other_topics.end());
  std::string text = absl::StrFormat(
      "# %s: valid; as run takes it (main settings, defaults included)\n"
      "bootstrap.servers = %s\ngroup.id = %s\ninstance.id = %s\n"
      "inputs = %s\ntopic.decisions = %s\ntopic.summaries = %s\n"
      "topic.deadletters = %s\ntopic.changelog = %s\n"
      "topic.allowance = %s\ntopic.allowance.answers = %s\n"
      "topic.closed.lists = %s\n"
      "changelog.create = %s\nchangelog.delete.retention.ms = %d\n"
      "state.dir = %s\nhmac.secret.file = %s\n"
      "sync = %s\nepoch.records = %d\nepoch.millis = %d\n"
      "idle.timeout.ms = %d\nmetrics.address = %s\n",
      config_path, c.brokers, c.group_id, c.instance_id,
      absl::StrJoin(inputs, ","), c.decisions_topic, c.summaries_topic,
      c.dead_letters_topic, c.changelog_topic, c.allowance_topic,
      c.answers_topic, c.closed_lists_topic,
      c.create_changelog ? "true" : "false", c.changelog_delete_retention_ms,
      e.state_dir, e.hmac_secret_file, e.sync ? "epoch" : "none",
      e.epoch_records, e.epoch_millis, c.idle_timeout_ms,
      c.observe.metrics_address);
  // Client settings may hold credentials: their names only.
  for (const auto& [key, value] : c.kafka) {
    const bool credential = absl::StrContains(key, "password") ||
                            absl::StrContains(key, "secret") ||
                            absl::StrContains(key, ".key") ||
                            absl::StrContains(key, "jaas");
    absl::StrAppend(&text, "kafka.", key, " = ",
                    credential ? std::string("(set, not shown)") : value, "\n");
  }
  std::fputs(text.c_str(), out);
  return 0;
}

int RunKafka(const std::string& config_path,
             const RunConfigOverrides& overrides, bool standby,
             std::FILE* err) {
  Logger log = MakeJsonLogger("run", err);
  SetKafkaLogger(log);
  auto config = LoadRunConfig(config_path, overrides);
  if (!config.ok()) {
    log->error(std::string(config.status().message()));
    return 2;
  }
  log->set_level(config->observe.log_level);
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  absl::Status st;
  {
    Runner runner(*std::move(config), log);
    st = standby ? runner.Standby() : runner.Run();
  }
  if (!st.ok()) {
    log->error(std::string(st.message()));
    // Stopped while waiting for disk space: the state is at its last
    // epoch, and a restart waits again rather than failing.
    return ExitStatusOf(st);
  }
  return 0;
}

}  // namespace clearlane
