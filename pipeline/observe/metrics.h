// What clearlane tells an operator while it runs: Prometheus metrics, and
// the health endpoints, served on one address.
//
// Every label value is a name from a fixed set (input topic or file,
// docType, dead-letter reason, receipt status and reason code): no
// document content, so no personal data, ever reaches a metric. Counters
// are updated by the driver's thread; the HTTP server's threads only read.
//
// Thread-safety: safe from any thread (prometheus-cpp's metrics are
// atomic; scrapes are serialised).

#ifndef CLEARLANE_PIPELINE_OBSERVE_METRICS_H_
#define CLEARLANE_PIPELINE_OBSERVE_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "model/document.h"
#include "model/outputs.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "state/store.h"

class CivetServer;

namespace clearlane {

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Serves GET /metrics (Prometheus text format), /healthz (200 while the
  // process runs) and /readyz (200 once ready, 503 before) on `address`,
  // "host:port"; port 0 picks a free one. Returns the port.
  absl::StatusOr<int> Serve(const std::string& address);

  // Ready: the state is restored and input is being consumed.
  void set_ready(bool ready) {
    ready_ = ready;
    ready_gauge_->Set(ready ? 1 : 0);
  }
  bool ready() const { return ready_; }
  // Below the free-space floor (engine/disk_guard.h).
  void set_disk_low(bool low) { disk_low_gauge_->Set(low ? 1 : 0); }

  // One input record from `input` (a topic or a file); `type` is null
  // when it did not decode.
  void Record(std::string_view input, const DocType* type);
  void DeadLetter(std::string_view reason);
  void Receipt(const clearlane::Receipt& r);
  void SummaryForm();
  // A record of the exchange between tasks that a task took (Kafka mode),
  // by its kind.
  enum class Exchanged : uint8_t {
    kRequest,
    kAnswer,
    kGiveBack,
    kWaybillFact,
    kLetGo,
    kClosedList,
    kWatermarkMark,
  };
  void Exchange(Exchanged kind) {
    exchanged_[static_cast<size_t>(kind)]->Increment();
  }
  // An epoch committed in `seconds`, `publish_seconds` of them publishing
  // its outputs (0 where the sink writes ahead).
  void EpochCommitted(double seconds, double publish_seconds);
  // Gauges set after each epoch.
  void SetPending(int64_t lists, int64_t awaiting_allowance, int64_t shipments);
  // The engine's watermark, in Unix seconds; the lag is measured against
  // the wall clock here, never in an operator.
  void SetWatermark(std::optional<int64_t> unix_seconds);
  void SetOutbox(int64_t records);
  // A state being rebuilt from the changelog (Kafka mode): while it is,
  // and the records applied.
  void SetRestoring(bool restoring) { restoring_->Set(restoring ? 1 : 0); }
  // An epoch's changelog records (Kafka mode) and their keys' and values'
  // bytes.
  void Changelogged(int64_t records, int64_t bytes) {
    changelog_records_->Increment(static_cast<double>(records));
    changelog_bytes_->Increment(static_cast<double>(bytes));
  }
  void Restored(int64_t records) {
    restored_->Increment(static_cast<double>(records));
  }
  // A standby (`run --standby`) read every changelog partition to its end
  // as it stood at `unix_ms`.
  void SetStandby() { standby_->Set(1); }
  void StandbyCurrent(int64_t unix_ms) {
    standby_current_->Set(static_cast<double>(unix_ms) / 1000);
  }
  void SetConsumerLag(const std::string& topic, int32_t partition, int64_t lag);
  void SetStore(const StateStore::Figures& f);

  // The exposition text, as /metrics serves it (also for tests).
  std::string Text();

 private:
  class Handler;
  void UpdateProcess();

  std::shared_ptr<prometheus::Registry> registry_;
  std::atomic<bool> ready_{false};

  prometheus::Family<prometheus::Counter>* documents_;
  prometheus::Family<prometheus::Counter>* dead_letters_;
  prometheus::Family<prometheus::Counter>* receipts_;
  prometheus::Gauge* ready_gauge_;
  prometheus::Gauge* disk_low_gauge_;
  prometheus::Counter* summaries_;
  std::array<prometheus::Counter*, 7> exchanged_{};
  prometheus::Counter* epochs_;
  prometheus::Histogram* commit_seconds_;
  prometheus::Histogram* publish_seconds_;
  prometheus::Family<prometheus::Gauge>* pending_;
  prometheus::Gauge* pending_lists_;
  prometheus::Gauge* awaiting_allowance_;
  prometheus::Gauge* pending_shipments_;
  prometheus::Gauge* watermark_seconds_;
  prometheus::Gauge* watermark_lag_;
  prometheus::Gauge* outbox_;
  prometheus::Gauge* restoring_;
  prometheus::Counter* restored_;
  prometheus::Gauge* standby_;
  prometheus::Gauge* standby_current_;
  prometheus::Counter* changelog_records_;
  prometheus::Counter* changelog_bytes_;
  prometheus::Family<prometheus::Gauge>* consumer_lag_;
  prometheus::Gauge* live_data_;
  prometheus::Gauge* sst_bytes_;
  prometheus::Gauge* pending_compaction_;
  prometheus::Gauge* writes_stopped_;
  prometheus::Counter* stall_seconds_;
  prometheus::Counter* user_bytes_;
  prometheus::Counter* flush_bytes_;
  prometheus::Counter* compaction_bytes_;
  // clearlane_state_entries_written_total and _written_bytes_total, by
  // store (Store's order).
  struct StoreWriteCounters {
    prometheus::Counter* puts;
    prometheus::Counter* deletes;
    prometheus::Counter* bytes;
  };
  std::array<StoreWriteCounters, kStoreCount> store_writes_{};
  prometheus::Gauge* resident_;
  prometheus::Gauge* virtual_;
  prometheus::Counter* cpu_;
  prometheus::Gauge* start_time_;
  prometheus::Gauge* open_fds_;

  // Counters by input, then docType (the last: undecodable), found
  // without building label maps.
  std::map<std::string, std::array<prometheus::Counter*, kDocTypeCount + 1>,
           std::less<>>
      document_counters_;
  std::map<std::string, prometheus::Counter*, std::less<>>
      dead_letter_counters_;
  // Receipt counters by "docType status reason".
  std::map<std::string, prometheus::Counter*, std::less<>> receipt_counters_;
  std::map<std::string, prometheus::Gauge*, std::less<>> lag_gauges_;
  StateStore::Figures last_store_;
  double last_cpu_ = 0;

  std::unique_ptr<Handler> metrics_handler_, healthz_, readyz_;
  std::unique_ptr<CivetServer> server_;
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_OBSERVE_METRICS_H_
