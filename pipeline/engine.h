// The engine that `replay` (files) and `run` (Kafka) drive: the RocksDB
// state, the operators, epochs with the outbox, the timers and the drain
// (design.md; docs/engine.md).
//
// A driver reads its input, decodes it and hands each record to Process
// with the record's source and the watermark; it keeps its own input
// position in the run record (position()), which every epoch commits with
// the state and the outputs in one WriteBatch. After the commit the
// epoch's outputs go to the driver's OutputSink; until the sink says they
// are durable, the outbox keeps them, so a restart can publish what is
// missing (ForEachUnpublished).
//
// Thread-safety: not thread-safe; one driver thread.

#ifndef CLEARLANE_PIPELINE_ENGINE_H_
#define CLEARLANE_PIPELINE_ENGINE_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/dead_letter.h"
#include "operators/clearance.h"
#include "pipeline/engine_state.h"
#include "pipeline/file_sink.h"
#include "pipeline/log.h"
#include "pipeline/metrics.h"
#include "pipeline/parallel_decoder.h"
#include "pipeline/reaper.h"
#include "rocksdb/write_batch.h"
#include "state/store.h"

namespace clearlane {

struct EngineOptions {
  // The RocksDB state directory (created when absent).
  std::string state_dir;
  // Sync the WAL once per epoch.
  bool sync = true;
  std::string hmac_secret_file;   // empty: a random secret kept in state
  std::string identity_registry;  // NDJSON (contract §2); reloaded if given
  std::string tax_rates;          // CSV (contract §2); empty: the default
  int summary_flag = 2;
  int form_lines = 50;
  int64_t month_close_hours = 48;
  int64_t import_timeout_hours = 24;
  int64_t export_timeout_days = 7;
  // An epoch ends after this many records (or fired timers in the drain)
  // or this much wall-clock time.
  int64_t epoch_records = 4096;
  int64_t epoch_millis = 100;
  // Stage A's task count (the partitions of orderNo that lead the order
  // and timer keys); 0: the driver calls Engine::SetPartitions before
  // processing (Kafka mode learns it from the topics).
  int32_t partitions = 1;
  // Write each epoch in the background while the next one is processed,
  // publishing its outputs there once it is durable (replay). Commit()
  // still returns with everything durable and published. Off, each epoch
  // is written and published before processing goes on (run: its sink
  // belongs to the driver's thread).
  bool overlap_commits = false;
  // Entries each state cache (order groups, waybills, yearly totals,
  // shipments) keeps before it forgets the oldest clean ones.
  int64_t cache_entries = 200000;
  // Mask personal data in the dead letters' raw record (contract §7).
  bool mask_dead_letters = false;
};

// Where committed outputs go.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  // One committed output; `key` is its Kafka key (contract §1: decisions
  // by orderNo, summaries by head group, dead letters by their source).
  virtual absl::Status Publish(OutputStream s, int64_t seq,
                               std::string_view key, std::string_view line) = 0;
  // Makes everything published durable (files synced, messages acked).
  virtual absl::Status Flush() = 0;
};

enum class RunStatus : uint8_t {
  kRunning = 0,   // processing input
  kKeptOpen = 1,  // input ended with --keep-open; a later run continues
  kDrained = 2,   // input ended and every timer fired
};

class Engine {
 public:
  // Opens (or creates) the state, loads the secret, the registry and the
  // tax rates. Skipped registry lines are logged to `log`.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(
      const EngineOptions& options, spdlog::logger* log);
  ~Engine();

  // Stage A's task count, when the options left it to the driver: the
  // state keeps it and refuses another one (its keys are laid out by it).
  absl::Status SetPartitions(int32_t n);

  // Counts what goes through, when set (not owned).
  void set_metrics(Metrics* m) { metrics_ = m; }
  // Sets the gauges that follow the state (pending lists, watermark,
  // outbox, RocksDB's figures, these at most once a second unless
  // `read_store`); done after every commit.
  void UpdateGauges(bool read_store = false);

  // Whether the state has no epoch yet: just created, or left by a run
  // stopped before its first commit.
  bool fresh() const { return fresh_; }
  // The secret personal fields are hashed under: a decoder given it
  // prepares each record's state form (DecodedRecord::state_form).
  const std::string& secret() const { return secret_; }
  RunStatus status() const { return meta_.status; }
  void set_status(RunStatus s) { meta_.status = s; }
  // The driver's input position, committed with every epoch.
  const std::string& position() const { return meta_.position; }
  void set_position(std::string p) { meta_.position = std::move(p); }
  // Asked for the position at every commit, when set.
  void set_position_source(std::function<std::string()> f) {
    position_source_ = std::move(f);
  }
  // The engine's watermark: the greatest appTime processed (contract §9).
  std::optional<int64_t> max_app_time() const { return meta_.watermark; }

  // Recovery, before any Process: the outbox records not known to be
  // published, in sequence order, from `from` (at least the outbox floor).
  int64_t next_seq(OutputStream s) const {
    return meta_.next_seq[static_cast<int>(s)];
  }
  int64_t outbox_floor(OutputStream s) const {
    return meta_.outbox_floor[static_cast<int>(s)];
  }
  absl::Status ForEachUnpublished(
      OutputStream s, int64_t from,
      const std::function<absl::Status(int64_t seq, std::string_view key,
                                       std::string_view line)>& visit);
  // Everything committed is published (after recovery); commits go to
  // `sink` from now on.
  void StartPublishing(OutputSink* sink);

  // Processes one decoded record: a dead letter, or a document for the
  // operators. `watermark` is the event time before the record (what
  // operators see). Returns the document's appTime when it was accepted
  // (it may move event time), nullopt otherwise.
  std::optional<int64_t> Process(
      const DecodedRecord& record,
      const std::variant<FileSource, TopicSource>& source,
      std::optional<int64_t> watermark);
  // Fires every timer due at or before `limit` (contract §9: list timeouts
  // before month closes, each by due time), committing between timers when
  // asked (the drain).
  absl::Status FireTimers(int64_t limit, bool commit_between);
  // End of input without --keep-open: every timer fires, then the pending
  // summary supplements are written.
  absl::Status Drain();

  // Counts one record toward the epoch and commits when the epoch is full
  // (in the background with overlap_commits).
  absl::Status CountAndMaybeCommit();
  // Commits the open epoch and publishes its outputs; on return every
  // epoch is durable and published.
  absl::Status Commit();
  // Commits when the open epoch holds anything and is older than
  // epoch_millis (for a driver whose input went quiet).
  absl::Status CommitIfOld();
  // How long the last commit took (state write and publishing), seconds;
  // with overlap_commits, the last one that finished.
  double last_commit_seconds() const { return last_commit_seconds_; }
  // RocksDB's figures now (for load tests and reports).
  StateStore::Figures store_figures() const { return store_->ReadFigures(); }
  // True once after each commit (for progress lines).
  bool committed_since_last_asked() { return std::exchange(committed_, false); }

 private:
  struct Meta {
    RunStatus status = RunStatus::kRunning;
    std::string position;
    std::optional<int64_t> watermark;
    std::array<int64_t, kOutputStreamCount> next_seq{};
    std::array<int64_t, kOutputStreamCount> outbox_floor{};
    bool has_registry = false;
    int32_t partitions = 0;  // 0: not yet set
  };
  static std::string EncodeMeta(const Meta& m);
  static absl::StatusOr<Meta> DecodeMeta(std::string_view bytes);

  explicit Engine(const EngineOptions& options) : options_(options) {}
  absl::Status LoadSecret();
  absl::Status LoadRegistry(spdlog::logger* log);
  absl::Status LoadTaxRates();
  void Emit(OutputStream s, std::string key, std::string line);
  // Ends the open epoch: commits it, in the background with
  // overlap_commits once the previous background commit has landed.
  absl::Status CommitEpoch();
  // After the previous epoch's commit landed: what it published, and the
  // cache entries it made durable may be forgotten.
  absl::Status Landed();

  const EngineOptions options_;
  std::unique_ptr<StateStore> store_;
  bool fresh_ = true;
  Meta meta_;
  std::string secret_;
  std::optional<TaxRateTable> tax_rates_;
  // Frees forgotten cache entries and published outputs off this thread.
  std::unique_ptr<Reaper> reaper_;
  std::unique_ptr<EngineState> state_;
  std::unique_ptr<Clearance> clearance_;
  OutputSink* sink_ = nullptr;
  Metrics* metrics_ = nullptr;
  double last_commit_seconds_ = 0;
  std::chrono::steady_clock::time_point store_figures_read_{};
  std::function<std::string()> position_source_;
  // The outbox entries below these are published; the next commit deletes
  // them.
  std::array<int64_t, kOutputStreamCount> published_{};

  struct Output {
    OutputStream stream;
    int64_t seq;
    std::string key;
    std::string line;
  };
  absl::Status Publish(const std::vector<Output>& outputs);

  // The open epoch: its batch (one of two, the other being written in the
  // background with overlap_commits) and its outputs.
  std::array<rocksdb::WriteBatch, 2> batches_;
  rocksdb::WriteBatch* batch_ = &batches_[0];
  std::vector<Output> outputs_;
  // The epoch being committed in the background: its outputs, the sequences
  // that follow them, and how long its write and publishing took (set by
  // the background thread, read after StateStore::Await).
  bool in_flight_ = false;
  std::vector<Output> in_flight_outputs_;
  std::array<int64_t, kOutputStreamCount> in_flight_next_seq_{};
  double in_flight_seconds_ = 0;
  int64_t epoch_records_ = 0;
  std::chrono::steady_clock::time_point epoch_start_;
  bool committed_ = false;

  // The record being processed, for dead letters the operators raise.
  const DecodedRecord* current_record_ = nullptr;
  const std::variant<FileSource, TopicSource>* current_source_ = nullptr;
  bool current_dead_ = false;
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_ENGINE_H_
