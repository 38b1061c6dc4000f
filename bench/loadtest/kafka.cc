#include "bench/loadtest/kafka.h"

#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "bench/loadtest/harness.h"
#include "bench/loadtest/http_client.h"
#include "model/event_time.h"
#include "pipeline/files/ndjson_reader.h"
#include "pipeline/observe/proc.h"

extern char** environ;

namespace clearlane {
namespace {

namespace fs = std::filesystem;

// Writes a fresh random secret to `path`, readable by its owner only, as
// `clearlane run` requires (48 random bytes as hex).
absl::Status WriteSecretFile(const std::string& path) {
  std::random_device random;
  std::string secret;
  for (int i = 0; i < 48; ++i) {
    absl::StrAppendFormat(&secret, "%02x", random() & 0xff);
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const bool ok = fd >= 0 && ::fchmod(fd, 0600) == 0 &&
                  ::write(fd, secret.data(), secret.size()) ==
                      static_cast<ssize_t>(secret.size());
  if (fd >= 0) ::close(fd);
  if (!ok) {
    return absl::UnavailableError(
        absl::StrFormat("cannot write the secret file %s", path));
  }
  return absl::OkStatus();
}

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Kafka = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

Kafka NewClient(rd_kafka_type_t type, const std::string& bootstrap,
                const std::map<std::string, std::string>& settings,
                std::string* error) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  std::map<std::string, std::string> all = settings;
  all["bootstrap.servers"] = bootstrap;
  all.emplace("log_level", "3");
  for (const auto& [k, v] : all) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      *error = absl::StrFormat("%s: %s", k, errstr);
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  Kafka rk(rd_kafka_new(type, conf, errstr, sizeof errstr));
  if (!rk) *error = errstr;
  return rk;
}

// Sum of every series of `name` in a Prometheus text exposition.
double SumOf(const std::string& text, const std::string& name) {
  double sum = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : ' ';
    if (next != '{' && next != ' ') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// The upper bound of the histogram bucket where quantile `q` falls.
double HistogramBound(const std::string& text, const std::string& name,
                      double q) {
  std::vector<std::pair<double, double>> buckets;  // le, cumulative count
  std::istringstream in(text);
  const std::string prefix = name + "_bucket{le=\"";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    const std::string le = line.substr(
        prefix.size(), line.find('"', prefix.size()) - prefix.size());
    buckets.emplace_back(le == "+Inf" ? INFINITY : std::stod(le),
                         std::stod(line.substr(line.rfind(' ') + 1)));
  }
  if (buckets.empty() || buckets.back().second == 0) return NAN;
  const double target = q * buckets.back().second;
  for (const auto& [le, count] : buckets) {
    if (count >= target) return le;
  }
  return INFINITY;
}

}  // namespace

absl::Status RunLoadThroughKafka(const LoadtestOptions& o,
                                 const std::string& corpus,
                                 const std::string& registry, Logger log,
                                 std::FILE* err, LoadSummary* summary,
                                 LoadRecorder* recorder) {
  std::string error;
  // The cluster: embedded unless one is given.
  Kafka host;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  std::string bootstrap = o.bootstrap;
  if (bootstrap.empty()) {
    host = NewClient(RD_KAFKA_PRODUCER, "", {}, &error);
    if (!host) return absl::InternalError(error);
    cluster = rd_kafka_mock_cluster_new(host.get(), 3);
    if (!cluster) return absl::InternalError("cannot start the mock cluster");
    bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
    rd_kafka_mock_topic_create(cluster, kLoadDocumentsTopic, o.kafka_partitions,
                               1);
    rd_kafka_mock_topic_create(cluster, kLoadDecisionsTopic, 4, 1);
    rd_kafka_mock_topic_create(cluster, kLoadSummariesTopic, 1, 1);
    rd_kafka_mock_topic_create(cluster, kLoadDeadLettersTopic, 2, 1);
    // The mock cannot create topics through the admin API.
    for (const char* internal :
         {"clearlane-loadtest-changelog", "clearlane-loadtest-allowance",
          "clearlane-loadtest-allowance-answers"}) {
      rd_kafka_mock_topic_create(cluster, internal, o.kafka_partitions, 1);
    }
    rd_kafka_mock_topic_create(cluster, "clearlane-loadtest-closed-lists", 1,
                               1);
  }
  struct ClusterGuard {
    rd_kafka_mock_cluster_t* c;
    ~ClusterGuard() {
      if (c) rd_kafka_mock_cluster_destroy(c);
    }
  } cluster_guard{cluster};

  // clearlane run, as child processes of this binary: one, or
  // `instances` members of one consumer group (group.members = many).
  const int n = std::max(1, o.instances);
  const std::string secret = o.out_dir + "/hmac.secret";
  if (absl::Status st = WriteSecretFile(secret); !st.ok()) return st;
  // A cluster of one's own may hold an earlier load test's outputs; each
  // load test starts new states on purpose. Nor may they restore an
  // earlier load test's state: a changelog of their own (created by run,
  // since a real broker can).
  const std::string changelog =
      o.bootstrap.empty()
          ? std::string()
          : absl::StrFormat(
                "clearlane-loadtest-changelog-%d",
                std::chrono::system_clock::now().time_since_epoch().count());
  struct Child {
    pid_t pid = -1;
    int metrics_port = 0;
    std::string log;
  };
  std::vector<Child> children(n);
  struct ChildrenGuard {
    std::vector<Child>* children;
    ~ChildrenGuard() {
      for (Child& c : *children) {
        if (c.pid > 0) {
          kill(c.pid, SIGKILL);
          waitpid(c.pid, nullptr, 0);
        }
      }
    }
  } children_guard{&children};
  for (int i = 0; i < n; ++i) {
    Child& c = children[i];
    const std::string suffix = n == 1 ? "" : absl::StrFormat("-%d", i);
    const std::string state = o.out_dir + "/state" + suffix;
    std::error_code ec;
    fs::remove_all(state, ec);
    c.metrics_port = FreePort();
    const std::string config = o.out_dir + "/run" + suffix + ".conf";
    std::ofstream out(config);
    out << "# written by clearlane loadtest\n"
        << "bootstrap.servers = " << bootstrap << "\n"
        << "group.id = clearlane-loadtest\n"
        << "topic.orders = " << kLoadDocumentsTopic << "\n"
        << "topic.decisions = " << kLoadDecisionsTopic << "\n"
        << "topic.summaries = " << kLoadSummariesTopic << "\n"
        << "topic.deadletters = " << kLoadDeadLettersTopic << "\n"
        << "state.dir = " << state << "\n"
        << "hmac.secret.file = " << secret << "\n"
        << "sync = " << (o.sync ? "epoch" : "none") << "\n"
        << "metrics.address = 127.0.0.1:" << c.metrics_port << "\n"
        << "log.level = debug\n"
        << "kafka.log_level = 3\n";
    if (n > 1) {
      out << "group.members = many\n"
          << "instance.id = clearlane-loadtest" << suffix << "\n";
    }
    if (!registry.empty()) out << "registry.file = " << registry << "\n";
    if (!changelog.empty()) {
      out << "fresh.state = allow\n"
          << "topic.changelog = " << changelog << "\n";
    }
    for (const std::string& line : o.run_options) out << line << "\n";
    if (!out) {
      return absl::UnavailableError(absl::StrFormat("cannot write %s", config));
    }
    out.close();
    c.log = o.out_dir + "/run" + suffix + ".log";
    std::vector<std::string> args = {"/proc/self/exe", "run", "--config",
                                     config};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, c.log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int spawned = posix_spawn(&c.pid, "/proc/self/exe", &actions, nullptr,
                                    argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
      c.pid = -1;
      return absl::InternalError("cannot start clearlane run");
    }
    log->info(absl::StrFormat(
        "clearlane run %d of %d started (pid %d, metrics on port %d, log %s)",
        i + 1, n, c.pid, c.metrics_port, c.log));
  }
  auto child_failed = [&]() -> std::optional<absl::Status> {
    for (Child& c : children) {
      int status = 0;
      if (c.pid > 0 && waitpid(c.pid, &status, WNOHANG) == c.pid) {
        c.pid = -1;
        return absl::InternalError(absl::StrFormat(
            "clearlane run stopped (status %d); its log: %s", status, c.log));
      }
    }
    return std::nullopt;
  };
  // Every member ready (assigned its tasks), and still so a second later:
  // the group has settled.
  for (int i = 0, settled = 0; settled < 20; ++i) {
    if (auto st = child_failed()) return *st;
    if (i > 2400) return absl::DeadlineExceededError("clearlane run not ready");
    bool ready = true;
    for (const Child& c : children) {
      ready = ready && HttpGet(c.metrics_port, "/readyz").status == 200;
    }
    settled = ready ? settled + 1 : 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  // The reader of decisions, and the last time each orderNo was produced.
  absl::Mutex produced_mu;
  std::map<std::string, LoadClock::time_point, std::less<>> produced_at;
  std::map<std::string, std::string, std::less<>> order_of;  // by waybill
  std::atomic<bool> stop{false};
  Kafka reader = NewClient(RD_KAFKA_CONSUMER, bootstrap,
                           {{"group.id", "clearlane-loadtest-reader"},
                            {"enable.auto.commit", "false"},
                            // The mock answers a fetch that found nothing
                            // only at the end of its wait (500 ms by
                            // default), which would be measured as latency.
                            {"fetch.wait.max.ms", "10"}},
                           &error);
  if (!reader) return absl::InternalError(error);
  {
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(4);
    for (int p = 0; p < 4; ++p) {
      rd_kafka_topic_partition_list_add(list, kLoadDecisionsTopic, p)->offset =
          o.bootstrap.empty() ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    }
    rd_kafka_poll_set_consumer(reader.get());
    rd_kafka_assign(reader.get(), list);
    rd_kafka_topic_partition_list_destroy(list);
  }
  std::atomic<int64_t> last_decision_ns{0};
  std::thread read_thread([&] {
    while (!stop) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(reader.get(), 100);
      if (!m) continue;
      if (!m->err) {
        const std::string_view line(static_cast<const char*>(m->payload),
                                    m->len);
        if (IsDecision(line)) {
          std::optional<double> latency;
          const std::string_view order = FieldOf(line, "orderNo");
          {
            absl::MutexLock lock(&produced_mu);
            auto it = produced_at.find(order);
            if (it != produced_at.end()) {
              latency =
                  std::chrono::duration<double>(LoadClock::now() - it->second)
                      .count();
            }
          }
          recorder->Decision(latency);
          last_decision_ns = LoadClock::now().time_since_epoch().count();
        }
      }
      rd_kafka_message_destroy(m);
    }
  });
  // Scrapes the children: their progress (documents processed), RSS and
  // CPU, summed.
  std::atomic<int64_t> processed{0};
  std::thread sample_thread([&] {
    auto sampled = LoadClock::now() - std::chrono::seconds(1);
    std::vector<int64_t> each(children.size(), 0);
    while (!stop) {
      for (size_t i = 0; i < children.size(); ++i) {
        const HttpResponse r = HttpGet(children[i].metrics_port, "/metrics");
        if (r.status == 200) {
          each[i] =
              static_cast<int64_t>(SumOf(r.body, "clearlane_documents_total"));
        }
      }
      int64_t all = 0;
      for (int64_t d : each) all += d;
      processed = all;
      if (LoadClock::now() - sampled >= std::chrono::seconds(1)) {
        sampled = LoadClock::now();
        ProcessSample sum;
        bool any = false;
        for (const Child& c : children) {
          if (auto p = c.pid > 0 ? ReadProcess(c.pid) : std::nullopt) {
            sum.cpu_seconds += p->cpu_seconds;
            sum.resident_bytes += p->resident_bytes;
            sum.virtual_bytes += p->virtual_bytes;
            any = true;
          }
        }
        if (any) recorder->SampleProcess(sum);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  struct Joiner {
    std::atomic<bool>* stop;
    std::thread* a;
    std::thread* b;
    ~Joiner() {
      *stop = true;
      if (a->joinable()) a->join();
      if (b->joinable()) b->join();
    }
  } joiner{&stop, &read_thread, &sample_thread};

  // Produce the corpus, keyed by orderNo (logisticsNo for the export
  // facts that have none), paced, never more than `window` documents
  // ahead of what clearlane processed: the embedded broker keeps only the
  // last few megabytes of each partition.
  Kafka producer = NewClient(RD_KAFKA_PRODUCER, bootstrap,
                             {{"partitioner", "murmur2_random"},
                              {"enable.idempotence", "true"},
                              {"linger.ms", "5"}},
                             &error);
  if (!producer) return absl::InternalError(error);
  const int64_t window = static_cast<int64_t>(o.kafka_partitions) * 500;
  auto reader_file = NdjsonReader::Open(corpus);
  if (!reader_file.ok()) return reader_file.status();
  recorder->Restart();
  const LoadClock::time_point start = LoadClock::now();
  Pacer pacer(o, start);
  Progress progress(err, summary->corpus_lines);
  NdjsonReader::Record record;
  int64_t index = 0;
  std::optional<int64_t> last_app;
  while ((*reader_file)->Next(&record)) {
    const std::string_view line = record.bytes;
    const std::string_view time = FieldOf(line, "appTime");
    if (auto t = ParseTime14(time); t.ok()) last_app = ToEpochSeconds(*t);
    const LoadClock::time_point due = pacer.Due(index++, last_app);
    while ((pacer.paced() && LoadClock::now() < due) ||
           recorder->documents() - processed.load() > window) {
      if (auto st = child_failed()) return *st;
      progress.Show(*recorder);
      rd_kafka_poll(producer.get(), 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const std::string_view order = FieldOf(line, "orderNo");
    const std::string_view key =
        order.empty() ? FieldOf(line, "logisticsNo") : order;
    {
      // The document may complete the list of its order; an export
      // arrival, which names no order, that of every waybill on its
      // lines.
      absl::MutexLock lock(&produced_mu);
      const LoadClock::time_point now = LoadClock::now();
      if (!order.empty()) {
        produced_at.insert_or_assign(std::string(order), now);
        const std::string_view waybill = FieldOf(line, "logisticsNo");
        if (!waybill.empty()) {
          order_of.insert_or_assign(std::string(waybill), std::string(order));
        }
      } else if (FieldOf(line, "docType") == "CEB507") {
        static constexpr std::string_view kWaybill = "\"logisticsNo\":\"";
        for (size_t at = line.find(kWaybill); at != std::string_view::npos;
             at = line.find(kWaybill, at + 1)) {
          const std::string_view waybill =
              FieldOf(line.substr(at), "logisticsNo");
          auto it = order_of.find(waybill);
          if (it != order_of.end())
            produced_at.insert_or_assign(it->second, now);
        }
      }
    }
    while (rd_kafka_producev(
               producer.get(), RD_KAFKA_V_TOPIC(kLoadDocumentsTopic),
               RD_KAFKA_V_KEY(key.data(), key.size()),
               RD_KAFKA_V_VALUE(const_cast<char*>(line.data()), line.size()),
               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
               RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer.get(), 10);
    }
    rd_kafka_poll(producer.get(), 0);
    recorder->Documents(1);
    progress.Show(*recorder);
  }
  if (!(*reader_file)->status().ok()) return (*reader_file)->status();
  rd_kafka_flush(producer.get(), 300000);
  // Until clearlane processed everything and no decision came for 3 s
  // since (decisions may follow the last document by round trips through
  // the exchange, more so with several members). The run ends at the
  // later of the two.
  std::optional<LoadClock::time_point> processed_at;
  LoadClock::time_point end;
  while (true) {
    if (auto st = child_failed()) return *st;
    progress.Show(*recorder);
    const LoadClock::time_point now = LoadClock::now();
    if (!processed_at && processed.load() >= recorder->documents()) {
      processed_at = now;
    }
    if (processed_at) {
      end = std::max(
          *processed_at,
          LoadClock::time_point(LoadClock::duration(last_decision_ns.load())));
      if (now - end > std::chrono::seconds(3)) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  summary->wall_seconds = std::chrono::duration<double>(end - start).count();
  progress.Show(*recorder, /*final=*/true);
  // Each member's scrape, and one exposition of them all (the sums below).
  std::string scrape;
  std::vector<double> documents(children.size()), cpu(children.size());
  for (size_t i = 0; i < children.size(); ++i) {
    const std::string one = HttpGet(children[i].metrics_port, "/metrics").body;
    documents[i] = SumOf(one, "clearlane_documents_total");
    if (auto p = ReadProcess(children[i].pid)) cpu[i] = p->cpu_seconds;
    scrape += one;
  }
  for (Child& c : children) kill(c.pid, SIGTERM);
  for (Child& c : children) {
    int status = 0;
    waitpid(c.pid, &status, 0);
    c.pid = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return absl::InternalError(absl::StrFormat(
          "clearlane run did not stop cleanly; its log: %s", c.log));
    }
  }
  {
    std::string each;
    double total = 0, cpu_total = 0;
    for (size_t i = 0; i < children.size(); ++i) {
      total += documents[i];
      cpu_total += cpu[i];
      absl::StrAppendFormat(
          &each,
          "%s instance %d: %.0f documents, %.0f documents/s, %.1f CPU s "
          "(%.1f us a document)",
          i == 0 ? "" : ";", i, documents[i],
          summary->wall_seconds > 0 ? documents[i] / summary->wall_seconds : 0,
          cpu[i], documents[i] > 0 ? cpu[i] / documents[i] * 1e6 : 0);
    }
    // One member may be run as a member of many (--run-option), to
    // measure what that mode costs alone.
    bool many = n > 1;
    for (std::string line : o.run_options) {
      std::erase(line, ' ');
      many = many || line == "group.members=many";
    }
    summary->notes.push_back(absl::StrFormat(
        "Instances (group.members = %s): %d;%s. In all %.0f documents, "
        "%.0f documents/s, %.1f CPU s of the members (%.1f us a document; "
        "%s).",
        many ? "many" : "one", n, each, total,
        summary->wall_seconds > 0 ? total / summary->wall_seconds : 0,
        cpu_total, total > 0 ? cpu_total / total * 1e6 : 0,
        o.bootstrap.empty()
            ? "the harness and the embedded broker share the machine"
            : "the harness shares the machine"));
  }

  summary->state_live_bytes =
      SumOf(scrape, "clearlane_rocksdb_live_data_bytes");
  summary->state_sst_bytes = SumOf(scrape, "clearlane_rocksdb_sst_bytes");
  const double written = SumOf(scrape, "clearlane_rocksdb_written_bytes_total");
  if (written > 0) {
    summary->write_amplification =
        (SumOf(scrape, "clearlane_rocksdb_flush_bytes_total") +
         SumOf(scrape, "clearlane_rocksdb_compaction_write_bytes_total")) /
        written;
  }
  const double changelog_bytes =
      SumOf(scrape, "clearlane_changelog_bytes_total");
  summary->notes.push_back(absl::StrFormat(
      "Changelog (docs/kafka-mode.md \"Changelog and restore\"): %.0f "
      "records, %.1f MB of keys and values, %.2f times the corpus's %.1f MB.",
      SumOf(scrape, "clearlane_changelog_records_total"), changelog_bytes / 1e6,
      summary->corpus_bytes > 0 ? changelog_bytes / summary->corpus_bytes : 0,
      summary->corpus_bytes / 1e6));
  const double commits = SumOf(scrape, "clearlane_epoch_commit_seconds_count");
  summary->notes.push_back(absl::StrFormat(
      "Epoch commits (clearlane's own histogram, which includes publishing "
      "to Kafka): %.0f, mean %.1f ms, p50 at most %.0f ms, p99 at most %.0f "
      "ms (bucket bounds).",
      commits,
      commits > 0
          ? SumOf(scrape, "clearlane_epoch_commit_seconds_sum") / commits * 1000
          : 0,
      HistogramBound(scrape, "clearlane_epoch_commit_seconds", 0.5) * 1000,
      HistogramBound(scrape, "clearlane_epoch_commit_seconds", 0.99) * 1000));
  summary->notes.push_back(
      "Latency: from the moment the harness produced the last document "
      "that could complete the list (the latest document of its order, or "
      "an export arrival naming its waybill) to the moment the "
      "harness consumed the decision from the decisions topic (its "
      "reader's fetch.wait.max.ms is 10 ms: the mock answers a fetch that "
      "found nothing only at the end of that wait).");
  summary->notes.push_back(absl::StrFormat(
      "Flow control: the harness stays at most %d documents ahead of what "
      "clearlane processed (read from its metrics), because the embedded "
      "broker keeps only the last few megabytes of each partition.",
      window));
  summary->via = absl::StrFormat(
      "Kafka end to end: `clearlane run` (%s, --sync=%s) on "
      "%s, input topic of %d partitions",
      n == 1 ? std::string("a child process")
             : absl::StrFormat("%d child processes in one consumer group", n),
      o.sync ? "epoch" : "none",
      o.bootstrap.empty() ? "the embedded mock cluster (3 brokers)"
                          : "the cluster at " + o.bootstrap,
      o.kafka_partitions);
  summary->pacing = pacer.Describe();
  return absl::OkStatus();
}

}  // namespace clearlane
