#include "pipeline/observe/metrics.h"

#include <CivetServer.h>
#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <iterator>
#include <tuple>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "pipeline/observe/proc.h"
#include "prometheus/text_serializer.h"

namespace clearlane {
namespace {

// Process figures are read at scrape time, by one scrape at a time.
ABSL_CONST_INIT absl::Mutex g_scrape_mutex(absl::kConstInit);

template <class Builder>
auto& Named(Builder b, const char* name, const char* help,
            prometheus::Registry& r) {
  return b.Name(name).Help(help).Register(r);
}

}  // namespace

class Metrics::Handler : public CivetHandler {
 public:
  enum Kind { kMetrics, kHealth, kReady };
  Handler(Metrics* m, Kind kind) : metrics_(m), kind_(kind) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    if (kind_ == kMetrics) {
      const std::string text = metrics_->Text();
      mg_printf(conn,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
                "charset=utf-8\r\nContent-Length: %zu\r\nConnection: "
                "close\r\n\r\n",
                text.size());
      mg_write(conn, text.data(), text.size());
      return true;
    }
    const bool ok = kind_ == kHealth || metrics_->ready();
    const char* body = ok ? "ok\n" : "not ready\n";
    mg_printf(conn,
              "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: "
              "%zu\r\nConnection: close\r\n\r\n%s",
              ok ? "200 OK" : "503 Service Unavailable", strlen(body), body);
    return true;
  }

 private:
  Metrics* metrics_;
  Kind kind_;
};

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  prometheus::Registry& r = *registry_;
  documents_ = &Named(BuildCounter(), "clearlane_documents_total",
                      "Input records, by input (topic or file) and docType "
                      "(\"undecodable\" when the record did not decode).",
                      r);
  dead_letters_ = &Named(BuildCounter(), "clearlane_dead_letters_total",
                         "Dead-letter records written, by reason.", r);
  receipts_ = &Named(BuildCounter(), "clearlane_receipts_total",
                     "Receipts written, by docType, returnStatus and first "
                     "reason code (\"none\" for a release).",
                     r);
  ready_gauge_ = &Named(BuildGauge(), "clearlane_ready",
                        "1 when the state is restored and input is being "
                        "consumed (what /readyz answers), else 0.",
                        r)
                      .Add({});
  disk_low_gauge_ =
      &Named(BuildGauge(), "clearlane_disk_low",
             "1 while a state or output filesystem is below the free-space "
             "floor (nothing is committed then), else 0.",
             r)
           .Add({});
  summaries_ = &Named(BuildCounter(), "clearlane_declaration_forms_total",
                      "Summary declaration forms written.", r)
                    .Add({});
  auto& exchanged =
      Named(BuildCounter(), "clearlane_exchange_records_total",
            "Records of the exchange between tasks taken (Kafka mode), by "
            "kind: stage B's requests, answers and give-backs, the import "
            "waybill index's facts and let-goes, stage C's closed lists and "
            "watermark marks.",
            r);
  const char* const kinds[] = {"request",       "answer", "give_back",
                               "waybill_fact",  "let_go", "closed_list",
                               "watermark_mark"};
  static_assert(std::size(kinds) == std::tuple_size_v<decltype(exchanged_)>);
  for (size_t i = 0; i < exchanged_.size(); ++i) {
    exchanged_[i] = &exchanged.Add({{"kind", kinds[i]}});
  }
  epochs_ = &Named(BuildCounter(), "clearlane_epochs_total",
                   "Epochs committed to the state store.", r)
                 .Add({});
  const prometheus::Histogram::BucketBoundaries seconds{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  commit_seconds_ =
      &Named(BuildHistogram(), "clearlane_epoch_commit_seconds",
             "Time to commit an epoch: the state write, then publishing its "
             "outputs.",
             r)
           .Add({}, seconds);
  publish_seconds_ =
      &Named(BuildHistogram(), "clearlane_epoch_publish_seconds",
             "Time to publish an epoch's outputs once its state is written "
             "(Kafka mode: producing them and committing the transaction).",
             r)
           .Add({}, seconds);
  pending_ = &Named(BuildGauge(), "clearlane_lists_pending",
                    "Lists waiting for their documents (stage A), for their "
                    "buyer's answer (stage B, Kafka mode) and shipment facts "
                    "waiting for a list (stage L).",
                    r);
  pending_lists_ = &pending_->Add({{"stage", "A"}});
  awaiting_allowance_ = &pending_->Add({{"stage", "B"}});
  pending_shipments_ = &pending_->Add({{"stage", "L"}});
  watermark_seconds_ =
      &Named(BuildGauge(), "clearlane_watermark_seconds",
             "Event time reached (the greatest appTime processed), as a "
             "Unix time.",
             r)
           .Add({});
  watermark_lag_ = &Named(BuildGauge(), "clearlane_watermark_lag_seconds",
                          "Wall-clock time minus the watermark.", r)
                        .Add({});
  outbox_ = &Named(BuildGauge(), "clearlane_outbox_records",
                   "Committed outputs (and, in Kafka mode, changelog "
                   "records) held in the outbox until the next epoch "
                   "confirms them published.",
                   r)
                 .Add({});
  restoring_ = &Named(BuildGauge(), "clearlane_changelog_restoring",
                      "1 while the state is being rebuilt from the "
                      "changelog topic (Kafka mode), else 0.",
                      r)
                    .Add({});
  restored_ = &Named(BuildCounter(), "clearlane_changelog_restored_total",
                     "Changelog records applied to rebuild the state.", r)
                   .Add({});
  standby_ = &Named(BuildGauge(), "clearlane_standby",
                    "1 in a standby (run --standby), which is never ready; "
                    "else 0.",
                    r)
                  .Add({});
  standby_current_ =
      &Named(BuildGauge(), "clearlane_standby_current_timestamp_seconds",
             "A standby (run --standby): when the changelog, as it stood "
             "then, was last read to its end (Unix seconds); 0 until it is.",
             r)
           .Add({});
  changelog_records_ =
      &Named(BuildCounter(), "clearlane_changelog_records_total",
             "State changes logged to the changelog topic (Kafka mode).", r)
           .Add({});
  changelog_bytes_ =
      &Named(BuildCounter(), "clearlane_changelog_bytes_total",
             "Key and value bytes of the changelog records logged.", r)
           .Add({});
  consumer_lag_ = &Named(
      BuildGauge(), "clearlane_consumer_lag_records",
      "Records in an input partition not yet processed (Kafka mode).", r);
  live_data_ = &Named(BuildGauge(), "clearlane_rocksdb_live_data_bytes",
                      "RocksDB's estimate of the live state.", r)
                    .Add({});
  sst_bytes_ = &Named(BuildGauge(), "clearlane_rocksdb_sst_bytes",
                      "Size of RocksDB's table files.", r)
                    .Add({});
  pending_compaction_ =
      &Named(BuildGauge(), "clearlane_rocksdb_pending_compaction_bytes",
             "RocksDB's estimate of the bytes compaction still has to "
             "rewrite.",
             r)
           .Add({});
  writes_stopped_ = &Named(BuildGauge(), "clearlane_rocksdb_writes_stopped",
                           "1 while RocksDB stops writes (a write stall).", r)
                         .Add({});
  stall_seconds_ =
      &Named(BuildCounter(), "clearlane_rocksdb_write_stall_seconds_total",
             "Time writers waited in RocksDB write stalls.", r)
           .Add({});
  user_bytes_ = &Named(BuildCounter(), "clearlane_rocksdb_written_bytes_total",
                       "Bytes clearlane wrote to RocksDB.", r)
                     .Add({});
  flush_bytes_ = &Named(BuildCounter(), "clearlane_rocksdb_flush_bytes_total",
                        "Bytes RocksDB flushed from memtables.", r)
                      .Add({});
  {
    auto& entries =
        Named(BuildCounter(), "clearlane_state_entries_written_total",
              "Entries clearlane's commits put into or deleted from each "
              "state store (a range deletion counts one).",
              r);
    auto& bytes = Named(BuildCounter(), "clearlane_state_written_bytes_total",
                        "Key and value bytes clearlane's commits wrote into "
                        "each state store.",
                        r);
    for (int i = 0; i < kStoreCount; ++i) {
      const std::string store(StoreName(static_cast<Store>(i)));
      store_writes_[i] = {&entries.Add({{"store", store}, {"op", "put"}}),
                          &entries.Add({{"store", store}, {"op", "delete"}}),
                          &bytes.Add({{"store", store}})};
    }
  }
  compaction_bytes_ =
      &Named(BuildCounter(), "clearlane_rocksdb_compaction_write_bytes_total",
             "Bytes RocksDB's compactions wrote (write amplification is "
             "(flush + compaction) / written).",
             r)
           .Add({});
  resident_ = &Named(BuildGauge(), "process_resident_memory_bytes",
                     "Resident memory size in bytes.", r)
                   .Add({});
  virtual_ = &Named(BuildGauge(), "process_virtual_memory_bytes",
                    "Virtual memory size in bytes.", r)
                  .Add({});
  cpu_ = &Named(BuildCounter(), "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.", r)
              .Add({});
  start_time_ =
      &Named(BuildGauge(), "process_start_time_seconds",
             "Start time of the process since unix epoch in seconds.", r)
           .Add({});
  open_fds_ = &Named(BuildGauge(), "process_open_fds",
                     "Number of open file descriptors.", r)
                   .Add({});
  start_time_->Set(std::chrono::duration<double>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count());
}

Metrics::~Metrics() {
  // The server's threads call the handlers: stop it first.
  server_.reset();
}

absl::StatusOr<int> Metrics::Serve(const std::string& address) {
  const std::string ports =
      address.rfind(':') == std::string::npos ? address + ":0" : address;
  std::vector<std::string> options = {"listening_ports", ports, "num_threads",
                                      "2"};
  try {
    server_ = std::make_unique<CivetServer>(options);
  } catch (const CivetException& e) {
    return absl::UnavailableError(
        absl::StrFormat("serving metrics on %s: %s", address, e.what()));
  }
  metrics_handler_ = std::make_unique<Handler>(this, Handler::kMetrics);
  healthz_ = std::make_unique<Handler>(this, Handler::kHealth);
  readyz_ = std::make_unique<Handler>(this, Handler::kReady);
  server_->addHandler("/metrics", metrics_handler_.get());
  server_->addHandler("/healthz", healthz_.get());
  server_->addHandler("/readyz", readyz_.get());
  const std::vector<int> bound = server_->getListeningPorts();
  if (bound.empty()) {
    return absl::UnavailableError(
        absl::StrFormat("serving metrics on %s: no port bound", address));
  }
  return bound.front();
}

void Metrics::Record(std::string_view input, const DocType* type) {
  auto it = document_counters_.find(input);
  if (it == document_counters_.end()) {
    it = document_counters_.emplace(std::string(input), decltype(it->second){})
             .first;
  }
  const int i = type ? static_cast<int>(*type) : kDocTypeCount;
  prometheus::Counter*& c = it->second[i];
  if (!c) {
    c = &documents_->Add(
        {{"input", std::string(input)},
         {"doc_type", std::string(type ? DocTypeName(*type) : "undecodable")}});
  }
  c->Increment();
}

void Metrics::DeadLetter(std::string_view reason) {
  auto it = dead_letter_counters_.find(reason);
  if (it == dead_letter_counters_.end()) {
    it = dead_letter_counters_
             .emplace(std::string(reason),
                      &dead_letters_->Add({{"reason", std::string(reason)}}))
             .first;
  }
  it->second->Increment();
}

void Metrics::Receipt(const clearlane::Receipt& r) {
  // A few dozen label sets at most: statuses times reason codes.
  const std::string& reason =
      r.reasons.empty() ? std::string("none") : r.reasons.front().code;
  const std::string key =
      absl::StrFormat("%s %s %s", r.docType, r.returnStatus, reason);
  auto it = receipt_counters_.find(key);
  if (it == receipt_counters_.end()) {
    prometheus::Counter& c = receipts_->Add({{"doc_type", r.docType},
                                             {"status", r.returnStatus},
                                             {"reason", reason}});
    it = receipt_counters_.emplace(key, &c).first;
  }
  it->second->Increment();
}

void Metrics::SummaryForm() { summaries_->Increment(); }

void Metrics::EpochCommitted(double seconds, double publish_seconds) {
  epochs_->Increment();
  commit_seconds_->Observe(seconds);
  publish_seconds_->Observe(publish_seconds);
}

void Metrics::SetPending(int64_t lists, int64_t awaiting_allowance,
                         int64_t shipments) {
  pending_lists_->Set(static_cast<double>(lists));
  awaiting_allowance_->Set(static_cast<double>(awaiting_allowance));
  pending_shipments_->Set(static_cast<double>(shipments));
}

void Metrics::SetWatermark(std::optional<int64_t> unix_seconds) {
  if (!unix_seconds) return;
  watermark_seconds_->Set(static_cast<double>(*unix_seconds));
  const double now = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  watermark_lag_->Set(now - static_cast<double>(*unix_seconds));
}

void Metrics::SetOutbox(int64_t records) {
  outbox_->Set(static_cast<double>(records));
}

void Metrics::SetConsumerLag(const std::string& topic, int32_t partition,
                             int64_t lag) {
  const std::string key = absl::StrFormat("%s/%d", topic, partition);
  auto it = lag_gauges_.find(key);
  if (it == lag_gauges_.end()) {
    it = lag_gauges_
             .emplace(key,
                      &consumer_lag_->Add(
                          {{"topic", topic},
                           {"partition", absl::StrFormat("%d", partition)}}))
             .first;
  }
  it->second->Set(static_cast<double>(lag));
}

void Metrics::SetStore(const StateStore::Figures& f) {
  live_data_->Set(static_cast<double>(f.live_data_bytes));
  sst_bytes_->Set(static_cast<double>(f.sst_bytes));
  pending_compaction_->Set(static_cast<double>(f.pending_compaction_bytes));
  writes_stopped_->Set(f.writes_stopped ? 1 : 0);
  // RocksDB's tickers only grow; the counters follow them.
  auto grow = [](prometheus::Counter* c, uint64_t now, uint64_t before,
                 double scale) {
    if (now > before) c->Increment(static_cast<double>(now - before) * scale);
  };
  grow(stall_seconds_, f.stall_micros, last_store_.stall_micros, 1e-6);
  grow(user_bytes_, f.bytes_written, last_store_.bytes_written, 1);
  grow(flush_bytes_, f.flush_bytes, last_store_.flush_bytes, 1);
  grow(compaction_bytes_, f.compact_write_bytes,
       last_store_.compact_write_bytes, 1);
  for (int i = 0; i < kStoreCount; ++i) {
    grow(store_writes_[i].puts, f.writes[i].puts, last_store_.writes[i].puts,
         1);
    grow(store_writes_[i].deletes, f.writes[i].deletes,
         last_store_.writes[i].deletes, 1);
    grow(store_writes_[i].bytes, f.writes[i].bytes, last_store_.writes[i].bytes,
         1);
  }
  last_store_ = f;
}

// Linux's /proc: resident and virtual size, CPU time, open descriptors.
void Metrics::UpdateProcess() {
  if (const std::optional<ProcessSample> p = ReadProcess()) {
    if (p->cpu_seconds > last_cpu_) cpu_->Increment(p->cpu_seconds - last_cpu_);
    last_cpu_ = std::max(last_cpu_, p->cpu_seconds);
    virtual_->Set(p->virtual_bytes);
    resident_->Set(p->resident_bytes);
  }
  int fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++fds;
    closedir(d);
    open_fds_->Set(fds - 3);  // ".", ".." and the directory itself
  }
}

std::string Metrics::Text() {
  absl::MutexLock lock(&g_scrape_mutex);
  UpdateProcess();
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace clearlane
