#include "pipeline/files/replay.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "absl/strings/str_format.h"
#include "model/event_time.h"
#include "pipeline/engine/disk_guard.h"
#include "pipeline/engine/driver.h"
#include "pipeline/engine/engine.h"
#include "pipeline/files/file_sink.h"
#include "pipeline/files/file_source.h"
#include "pipeline/files/file_util.h"
#include "pipeline/observe/log.h"
#include "pipeline/observe/metrics.h"

namespace clearlane {
namespace {

// The output files as the engine's sink. They are written ahead of the
// state (no outbox): a restart cuts them back to what the state committed
// (Replay::Recover).
class FileOutputs : public OutputSink {
 public:
  FileOutputs(FileSink* files, bool sync) : files_(files), sync_(sync) {}
  absl::Status Publish(OutputStream s, int64_t seq, std::string_view,
                       std::string_view line) override {
    return files_->Append(s, seq, line);
  }
  absl::Status Flush() override { return files_->Flush(/*sync=*/false); }
  bool writes_ahead() const override { return true; }
  absl::Status Sync() override {
    return sync_ ? files_->Sync() : absl::OkStatus();
  }

 private:
  FileSink* files_;
  bool sync_;
};

class Replay : public DriverObserver {
 public:
  Replay(const ReplayOptions& options, std::FILE* err, Logger log)
      : options_(options),
        err_(err),
        log_(std::move(log)),
        progress_(isatty(fileno(err))) {}
  absl::Status Run();

  // DriverObserver.
  void AfterRecord(const DecodedRecord&) override { ++records_total_; }
  void AfterCommit() override;

 private:
  absl::Status Start();
  absl::Status Recover();
  void Progress(bool final);

  const ReplayOptions& options_;
  std::FILE* err_;
  Logger log_;
  const bool progress_;
  std::string state_dir_;
  bool temporary_state_ = false;
  // The state is of this same replay, which had finished (drained).
  bool finished_ = false;
  bool sync_ = true;  // sync the WAL and the files once per epoch
  std::unique_ptr<Metrics> metrics_;  // outlives the engine, which counts
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<FileSink> sink_;
  std::unique_ptr<FileOutputs> outputs_;
  std::unique_ptr<FileRecordSource> source_;
  PartitionGroup time_;  // one partition, the files in order; never idle
  // The free-space floor of the state and output filesystems.
  std::unique_ptr<DiskGuard> disk_;
  int64_t records_total_ = 0;
  std::chrono::steady_clock::time_point started_, last_progress_;
};

absl::Status Replay::Start() {
  std::error_code ec;
  std::filesystem::create_directories(options_.out_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrFormat("cannot create output directory %s: %s",
                        options_.out_dir, ec.message()));
  }
  EngineOptions eo = options_.engine;
  state_dir_ = eo.state_dir;
  if (state_dir_.empty()) {
    state_dir_ =
        absl::StrFormat("%s/.clearlane-state-%d", options_.out_dir, getpid());
    std::filesystem::remove_all(state_dir_, ec);
    temporary_state_ = true;
  }
  // A temporary state cannot be resumed, so syncing it buys nothing.
  sync_ = eo.sync && !temporary_state_;
  eo.state_dir = state_dir_;
  eo.sync = sync_;
  disk_ = std::make_unique<DiskGuard>(
      eo.min_free_space, std::vector<std::string>{state_dir_, options_.out_dir},
      "--min-free-space");
  if (absl::Status st = disk_->Check(); !st.ok()) return st;
  // The output files are the commit thread's until Commit returns: each
  // epoch is written, and its outputs appended, while the next one is
  // processed.
  auto engine =
      Engine::Open(eo, {.overlap_commits = true, .partitions = 1}, log_.get());
  if (!engine.ok()) return engine.status();
  engine_ = *std::move(engine);
  if (!options_.observe.metrics_address.empty() ||
      !options_.metrics_out.empty()) {
    metrics_ = std::make_unique<Metrics>();
    engine_->set_metrics(metrics_.get());
  }
  if (!options_.observe.metrics_address.empty()) {
    auto port = metrics_->Serve(options_.observe.metrics_address);
    if (!port.ok()) return port.status();
    log_->info(absl::StrFormat("metrics on port %d", *port));
  }

  RunRecord& run = engine_->run();
  const bool fresh = engine_->fresh();
  FilePosition position;
  if (!fresh) {
    auto decoded = DecodeFilePosition(run.position);
    if (!decoded.ok()) {
      return absl::DataLossError(absl::StrFormat("state %s: %s", state_dir_,
                                                 decoded.status().message()));
    }
    position = *std::move(decoded);
  }
  switch (run.status) {
    case RunStatus::kRunning:
      if (!fresh && position.inputs != options_.inputs) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "state %s belongs to an unfinished replay of other inputs; "
            "start it again with the same --input files in the same order",
            state_dir_));
      }
      break;
    case RunStatus::kKeptOpen:
      // A later replay continues the stream with its own inputs.
      run.status = RunStatus::kRunning;
      position = FilePosition();
      break;
    case RunStatus::kDrained:
      if (position.inputs != options_.inputs) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "state %s was closed by a replay that drained it at the end of "
            "input; only state left by --keep-open can be continued",
            state_dir_));
      }
      // The same replay, started again after it had finished: killed
      // after its last commit, perhaps before its last outputs reached
      // the files. Recovery writes them; there is nothing to process.
      finished_ = true;
      log_->info(absl::StrFormat(
          "state %s: this replay had already finished; its outputs are "
          "complete",
          state_dir_));
      break;
  }
  position.inputs = options_.inputs;
  run.position = EncodeFilePosition(position);
  // Event time goes on from where the state left it.
  time_.Assign({PartitionId{}}, PartitionGroup::Clock::now());
  time_.RestorePartition(PartitionId{}, run.watermark);
  time_.RestoreWatermark(run.watermark);

  if (fresh) {
    // A new run writes its outputs from scratch.
    for (int i = 0; i < kOutputStreamCount; ++i) {
      const std::string path =
          absl::StrFormat("%s/%s", options_.out_dir,
                          OutputFileName(static_cast<OutputStream>(i),
                                         options_.engine.receipts_xml));
      std::filesystem::resize_file(path, 0, ec);
    }
  }
  auto sink = FileSink::Open(options_.out_dir, options_.engine.receipts_xml);
  if (!sink.ok()) return sink.status();
  sink_ = std::move(*sink);
  outputs_ = std::make_unique<FileOutputs>(sink_.get(), sync_);
  absl::Status st = Recover();
  if (!st.ok()) return st;
  engine_->epochs().StartPublishing(outputs_.get());
  // Records are read and decoded ahead, a batch at a time, on --threads
  // minus one threads of their own (at least one), while this thread
  // processes them one by one, in order.
  source_ = std::make_unique<FileRecordSource>(
      std::move(position), options_.engine.threads - 1, engine_->secret());
  if (metrics_) {
    engine_->epochs().UpdateGauges();
    metrics_->set_ready(true);
  }
  // Below the floor nothing of the epoch is written: the run stops (exit
  // status 3) where a later one with the same arguments continues.
  engine_->epochs().set_space_check([this](uint64_t bytes) {
    absl::Status st = disk_->Check(bytes);
    if (!st.ok() && metrics_) {
      metrics_->set_disk_low(true);
      metrics_->set_ready(false);
    }
    return st;
  });
  return absl::OkStatus();
}

// Brings the files level with the committed state: a file holding more
// records than the state committed (written ahead of a commit that a kill
// stopped) is cut back to them; one holding fewer gets the records it
// lacks from the outbox (a state written before the files were written
// ahead kept them there), or is an error.
absl::Status Replay::Recover() {
  Outbox& outbox = engine_->outbox();
  for (int i = 0; i < kOutputStreamCount; ++i) {
    const auto s = static_cast<OutputStream>(i);
    const int64_t in_file = sink_->records(s);
    const std::string path =
        absl::StrFormat("%s/%s", options_.out_dir,
                        OutputFileName(s, options_.engine.receipts_xml));
    if (in_file > outbox.next_seq(s)) {
      log_->info(absl::StrFormat(
          "%s: %d records written ahead of a commit that did not happen are "
          "cut; they will be produced again",
          path, in_file - outbox.next_seq(s)));
      absl::Status st = sink_->CutTo(s, outbox.next_seq(s));
      if (!st.ok()) return st;
      continue;
    }
    if (in_file < outbox.floor(s)) {
      return absl::DataLossError(absl::StrFormat(
          "%s holds %d records but state %s had published %d: the file was "
          "truncated or replaced",
          path, in_file, state_dir_, outbox.floor(s)));
    }
    absl::Status st = outbox.ForEachUnpublished(
        s, in_file, [&](int64_t seq, std::string_view, std::string_view line) {
          return sink_->Append(s, seq, line);
        });
    if (!st.ok()) return st;
  }
  return sink_->Flush(sync_);
}

void Replay::AfterCommit() {
  if (progress_) Progress(false);
  if (log_->should_log(spdlog::level::debug)) {
    const FilePosition& at = source_->position();
    const std::optional<int64_t> w = time_.watermark();
    log_->debug(absl::StrFormat(
        "epoch committed: %d records, input %d line %d, watermark %s",
        records_total_, at.file + 1, at.line,
        w ? FormatTime14(FromEpochSeconds(*w)) : "-"));
  }
}

void Replay::Progress(bool final) {
  const auto now = std::chrono::steady_clock::now();
  if (!final && now - last_progress_ < std::chrono::seconds(1)) return;
  last_progress_ = now;
  const double seconds = std::chrono::duration<double>(now - started_).count();
  const std::optional<int64_t> watermark = time_.watermark();
  const FilePosition* at = source_ ? &source_->position() : nullptr;
  absl::FPrintF(err_, "\r%d records, %.0f/s, input %d line %d, watermark %s%s",
                records_total_, seconds > 0 ? records_total_ / seconds : 0.0,
                at ? at->file + 1 : 0, at ? at->line : 0,
                watermark ? FormatTime14(FromEpochSeconds(*watermark)) : "-",
                final ? "\n" : "");
}

absl::Status Replay::Run() {
  started_ = last_progress_ = std::chrono::steady_clock::now();
  absl::Status st = Start();
  if (!st.ok()) return st;
  if (!finished_) {
    Driver driver(engine_.get(), source_.get(), &time_, this);
    st = driver.Run();
    // End of input: unless kept open, the watermark becomes infinite and
    // every timer fires, in order, with epochs committed as usual.
    if (st.ok() && !options_.keep_open) st = driver.Drain();
    if (!st.ok()) return st;
    engine_->run().status =
        options_.keep_open ? RunStatus::kKeptOpen : RunStatus::kDrained;
    st = driver.Commit();
    if (!st.ok()) return st;
  }
  if (progress_) Progress(true);
  if (!options_.metrics_out.empty()) {
    engine_->epochs().UpdateGauges(/*read_store=*/true);
    st = WriteFileAtomically(options_.metrics_out, metrics_->Text());
    if (!st.ok()) return st;
  }
  engine_.reset();
  if (temporary_state_) {
    std::error_code ec;
    std::filesystem::remove_all(state_dir_, ec);
  }
  return absl::OkStatus();
}

}  // namespace

int RunReplay(const ReplayOptions& options, std::FILE* err) {
  Logger log = MakeJsonLogger("replay", err, options.observe.log_level);
  absl::Status st = Replay(options, err, log).Run();
  if (!st.ok()) {
    log->error(std::string(st.message()));
    return ExitStatusOf(st);
  }
  return 0;
}

}  // namespace clearlane
