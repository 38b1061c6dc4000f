#include "pipeline/engine/engine.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_format.h"
#include "pipeline/engine/resources.h"

namespace clearlane {

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(
    const EngineOptions& options, Mode mode, spdlog::logger* log) {
  auto engine = std::unique_ptr<Engine>(new Engine(options));
  Engine& e = *engine;
  // A write RocksDB could not make ends the process at once, before
  // RocksDB uses the failed file again (state/fail_stop_fs.h): the state
  // is then as after a kill, and the next start recovers it.
  auto store = StateStore::Open(
      {.path = options.state_dir,
       .sync = options.sync,
       .on_write_failure = [log](const absl::Status& st) {
         log->error(absl::StrFormat(
             "%s; stopping now: the state is kept as it was after its last "
             "epoch, and the same command continues from there once the "
             "cause is fixed",
             st.message()));
         log->flush();
         std::fflush(nullptr);
         std::_Exit(ExitStatusOf(st));
       }});
  if (!store.ok()) return store.status();
  e.store_ = *std::move(store);
  auto run = ReadRunRecord(*e.store_);
  if (!run.ok()) return run.status();
  if (*run) e.run_ = **std::move(run);
  // Loading the registry, or setting the partitions, writes the run
  // record before the first epoch; until an epoch has committed the
  // driver's position, nothing was processed.
  e.fresh_ = e.run_.position.empty();

  auto secret = LoadSecret({.file = options.hmac_secret_file,
                            .option = mode.secret_option,
                            .file_required = mode.secret_file_required},
                           *e.store_, log);
  if (!secret.ok()) return secret.status();
  e.secret_ = *std::move(secret);
  if (!options.identity_registry.empty()) {
    RegistryStore registry(e.store_.get());
    absl::Status st = LoadRegistry(
        options.identity_registry, e.secret_, registry,
        [&e](WriteBatch* batch) {
          e.run_.has_registry = true;
          PutRunRecord(e.run_, batch);
        },
        log);
    if (!st.ok()) return st;
  }
  // The registry the operators consult is the one the state holds.
  e.context_ =
      std::make_unique<TaskContext>(e.store_.get(), e.run_.has_registry);
  ClearanceConfig config = options.Clearance();
  if (!options.tax_rates.empty()) {
    auto table = LoadTaxRates(options.tax_rates);
    if (!table.ok()) return table.status();
    e.tax_rates_ = *std::move(table);
    config.tax_rates = &*e.tax_rates_;
  }

  e.reaper_ = std::make_unique<Reaper>();
  e.outbox_ = std::make_unique<Outbox>(e.store_.get(), &e.run_);
  e.epochs_ = std::make_unique<EpochCommitter>(
      e.store_.get(), &e.run_, e.outbox_.get(), e.context_.get(),
      e.reaper_.get(),
      EpochCommitter::Options{
          .records = options.epoch_records,
          .millis = options.epoch_millis,
          .overlap = mode.overlap_commits,
          .cache_entries = static_cast<size_t>(options.cache_entries),
          .changelog = mode.changelog,
          .instance = mode.instance});
  e.task_ = std::make_unique<Task>(config, e.context_.get(), e.epochs_.get(),
                                   e.secret_, options.mask_dead_letters);
  e.context_->set_epoch(e.epochs_.get());
  e.context_->set_receipts_xml(options.receipts_xml);
  absl::Status st = e.context_->Load(e.task_->clearance());
  if (st.ok() && e.fresh_) st = e.context_->NoteStartedEmpty();
  if (st.ok() && mode.partitions > 0) st = e.SetPartitions(mode.partitions);
  if (!st.ok()) return st;
  return engine;
}

absl::Status Engine::SetPartitions(int32_t n) {
  if (run_.partitions != 0 && run_.partitions != n) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "state %s holds orders laid out for %d partition(s) of orderNo, and "
        "the input has %d; a state cannot follow a change of partition "
        "count: start from a new state directory and replay the input",
        options_.state_dir, run_.partitions, n));
  }
  // Written with the first commit, in the batch of the first state keys.
  run_.partitions = n;
  context_->set_partitions(n);
  return absl::OkStatus();
}

void Engine::set_metrics(Metrics* m) {
  context_->set_metrics(m);
  epochs_->set_metrics(m);
  task_->set_metrics(m);
}

}  // namespace clearlane
