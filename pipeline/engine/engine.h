// Engine puts the parts of a single-process engine together (design.md;
// docs/engine.md): the RocksDB state and its run record, the secret, the
// identity registry and the tax rates, the task with its state stores,
// the outbox and the epoch committer. The drivers (files/replay.h,
// kafka/run.h, the load test) open one, publish what the outbox holds
// that their sink lacks (recovery), then run it through a Driver
// (driver.h) over their RecordSource.
//
// Thread-safety: not thread-safe; one driver thread.

#ifndef CLEARLANE_PIPELINE_ENGINE_ENGINE_H_
#define CLEARLANE_PIPELINE_ENGINE_ENGINE_H_

#include <spdlog/spdlog.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "operators/tax.h"
#include "pipeline/engine/epoch.h"
#include "pipeline/engine/options.h"
#include "pipeline/engine/reaper.h"
#include "pipeline/engine/task.h"
#include "pipeline/engine/task_context.h"
#include "state/outbox.h"
#include "state/run_record.h"
#include "state/store.h"

namespace clearlane {

class Metrics;

class Engine {
 public:
  // How a driver runs the engine (not a user's choice).
  struct Mode {
    // Write each epoch in the background while the next one is processed
    // (replay: its files are the commit thread's until Commit returns).
    // Off, each epoch is written and published before processing goes on
    // (run: its producer belongs to the driver's thread).
    bool overlap_commits = false;
    // Stage A's task count (the partitions of orderNo that lead the order
    // and timer keys); 0: the driver calls SetPartitions before
    // processing (Kafka mode learns it from the topics).
    int32_t partitions = 1;
    // The secret's option as the driver's user names it, and whether a
    // file is required (run) or a random secret in the state will do
    // (replay, the load test; resources.h LoadSecret).
    std::string_view secret_option = "--hmac-secret-file";
    bool secret_file_required = false;
    // Publish every epoch's state changes to the changelog stream
    // (state/changelog.h; Kafka mode), the run record under this
    // instance's key.
    bool changelog = false;
    std::string instance;
  };

  // Opens (or creates) the state and loads the secret, the registry and
  // the tax rates. Skipped registry lines are logged to `log`.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(
      const EngineOptions& options, Mode mode, spdlog::logger* log);

  // Stage A's task count, when the mode left it to the driver: the state
  // keeps it and refuses another one (its keys are laid out by it).
  absl::Status SetPartitions(int32_t n);

  // Counts what goes through, when set (not owned).
  void set_metrics(Metrics* m);

  // Whether the state has no epoch yet: just created, or left by a run
  // stopped before its first commit.
  bool fresh() const { return fresh_; }
  // The secret personal fields are hashed under: a decoder given it
  // prepares each record's state form.
  const std::string& secret() const { return secret_; }
  // The run record: status, the driver's position, the watermark;
  // committed with every epoch.
  RunRecord& run() { return run_; }
  const std::string& state_dir() const { return options_.state_dir; }

  Outbox& outbox() { return *outbox_; }
  EpochCommitter& epochs() { return *epochs_; }
  Task& task() { return *task_; }
  TaskContext& context() { return *context_; }

  // The state the engine opened.
  StateStore& store() { return *store_; }
  // RocksDB's figures now (for load tests and reports).
  StateStore::Figures store_figures() const { return store_->ReadFigures(); }

 private:
  explicit Engine(const EngineOptions& options) : options_(options) {}

  const EngineOptions options_;
  std::unique_ptr<StateStore> store_;
  RunRecord run_;
  bool fresh_ = true;
  std::string secret_;
  std::optional<TaxRateTable> tax_rates_;
  // Frees forgotten cache entries and published outputs off this thread.
  std::unique_ptr<Reaper> reaper_;
  std::unique_ptr<TaskContext> context_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<EpochCommitter> epochs_;
  std::unique_ptr<Task> task_;
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_ENGINE_ENGINE_H_
