#include "pipeline/replay.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "absl/strings/str_format.h"
#include "model/coding.h"
#include "model/event_time.h"
#include "pipeline/engine.h"
#include "pipeline/file_sink.h"
#include "pipeline/file_util.h"
#include "pipeline/log.h"
#include "pipeline/ndjson_reader.h"
#include "pipeline/parallel_decoder.h"
#include "state/store.h"

namespace clearlane {
namespace {

// Replay's part of the run record (Engine::position): the inputs and the
// next record to read.
struct Position {
  std::vector<std::string> inputs;
  int64_t file = 0;     // input index
  uint64_t offset = 0;  // byte offset in it
  int64_t line = 0;     // lines before it
};

std::string EncodePosition(const Position& p) {
  std::string out;
  BinaryWriter w(&out);
  w.Varint(p.inputs.size());
  for (const std::string& in : p.inputs) w.Bytes(in);
  w.Varint(p.file);
  w.Varint(p.offset);
  w.Varint(p.line);
  return out;
}

absl::StatusOr<Position> DecodePosition(std::string_view bytes) {
  BinaryReader r(bytes);
  Position p;
  const uint64_t n = r.Varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) p.inputs.emplace_back(r.Bytes());
  p.file = static_cast<int64_t>(r.Varint());
  p.offset = r.Varint();
  p.line = static_cast<int64_t>(r.Varint());
  if (!r.ok() || !r.done()) {
    return absl::DataLossError("replay position is corrupt");
  }
  return p;
}

// The output files as the engine's sink.
class FileOutputs : public OutputSink {
 public:
  FileOutputs(FileSink* files, bool sync) : files_(files), sync_(sync) {}
  absl::Status Publish(OutputStream s, int64_t seq, std::string_view,
                       std::string_view line) override {
    return files_->Append(s, seq, line);
  }
  absl::Status Flush() override { return files_->Flush(sync_); }

 private:
  FileSink* files_;
  bool sync_;
};

class Replay {
 public:
  Replay(const ReplayOptions& options, std::FILE* err, Logger log)
      : options_(options),
        err_(err),
        log_(std::move(log)),
        progress_(isatty(fileno(err))) {}
  absl::Status Run();

 private:
  absl::Status Start();
  absl::Status Recover();
  absl::Status ProcessFile(int64_t index);
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
  Position position_;
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
  state_dir_ = options_.state_dir;
  if (state_dir_.empty()) {
    state_dir_ =
        absl::StrFormat("%s/.clearlane-state-%d", options_.out_dir, getpid());
    std::filesystem::remove_all(state_dir_, ec);
    temporary_state_ = true;
  }
  // A temporary state cannot be resumed, so syncing it buys nothing.
  sync_ = options_.sync && !temporary_state_;
  EngineOptions eo;
  eo.state_dir = state_dir_;
  eo.sync = sync_;
  eo.hmac_secret_file = options_.hmac_secret_file;
  eo.identity_registry = options_.identity_registry;
  eo.tax_rates = options_.tax_rates;
  eo.summary_flag = options_.summary_flag;
  eo.form_lines = options_.form_lines;
  eo.month_close_hours = options_.month_close_hours;
  eo.epoch_records = options_.epoch_records;
  eo.epoch_millis = options_.epoch_millis;
  // The output files are this thread's only after Commit: each epoch is
  // written, and its outputs appended, while the next one is processed.
  eo.overlap_commits = true;
  eo.cache_entries = options_.cache_entries;
  eo.mask_dead_letters = options_.mask_dead_letters;
  auto engine = Engine::Open(eo, log_.get());
  if (!engine.ok()) return engine.status();
  engine_ = *std::move(engine);
  if (!options_.metrics_address.empty() || !options_.metrics_out.empty()) {
    metrics_ = std::make_unique<Metrics>();
    engine_->set_metrics(metrics_.get());
  }
  if (!options_.metrics_address.empty()) {
    auto port = metrics_->Serve(options_.metrics_address);
    if (!port.ok()) return port.status();
    log_->info(absl::StrFormat("metrics on port %d", *port));
  }

  const bool fresh = engine_->fresh();
  if (!fresh) {
    auto position = DecodePosition(engine_->position());
    if (!position.ok()) {
      return absl::DataLossError(absl::StrFormat("state %s: %s", state_dir_,
                                                 position.status().message()));
    }
    position_ = *std::move(position);
  }
  switch (engine_->status()) {
    case RunStatus::kRunning:
      if (!fresh && position_.inputs != options_.inputs) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "state %s belongs to an unfinished replay of other inputs; "
            "start it again with the same --input files in the same order",
            state_dir_));
      }
      break;
    case RunStatus::kKeptOpen:
      // A later replay continues the stream with its own inputs.
      engine_->set_status(RunStatus::kRunning);
      position_ = Position();
      break;
    case RunStatus::kDrained:
      if (position_.inputs != options_.inputs) {
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
  position_.inputs = options_.inputs;
  engine_->set_position(EncodePosition(position_));

  if (fresh) {
    // A new run writes its outputs from scratch.
    for (int i = 0; i < kOutputStreamCount; ++i) {
      const std::string path =
          absl::StrFormat("%s/%s", options_.out_dir,
                          OutputFileName(static_cast<OutputStream>(i)));
      std::filesystem::resize_file(path, 0, ec);
    }
  }
  auto sink = FileSink::Open(options_.out_dir);
  if (!sink.ok()) return sink.status();
  sink_ = std::move(*sink);
  outputs_ = std::make_unique<FileOutputs>(sink_.get(), sync_);
  absl::Status st = Recover();
  if (!st.ok()) return st;
  engine_->StartPublishing(outputs_.get());
  engine_->set_position_source([this] { return EncodePosition(position_); });
  if (metrics_) {
    engine_->UpdateGauges();
    metrics_->set_ready(true);
  }
  return absl::OkStatus();
}

// Brings the files level with the committed outbox: each file must hold
// between the outbox floor and the next sequence number of records; the
// records it lacks are published again.
absl::Status Replay::Recover() {
  for (int i = 0; i < kOutputStreamCount; ++i) {
    const auto s = static_cast<OutputStream>(i);
    const int64_t in_file = sink_->records(s);
    const std::string path =
        absl::StrFormat("%s/%s", options_.out_dir, OutputFileName(s));
    if (in_file > engine_->next_seq(s)) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s holds %d records but state %s produced %d: it is not this "
          "state's output",
          path, in_file, state_dir_, engine_->next_seq(s)));
    }
    if (in_file < engine_->outbox_floor(s)) {
      return absl::DataLossError(absl::StrFormat(
          "%s holds %d records but state %s had published %d: the file was "
          "truncated or replaced",
          path, in_file, state_dir_, engine_->outbox_floor(s)));
    }
    absl::Status st = engine_->ForEachUnpublished(
        s, in_file, [&](int64_t seq, std::string_view, std::string_view line) {
          return sink_->Append(s, seq, line);
        });
    if (!st.ok()) return st;
  }
  return sink_->Flush(sync_);
}

absl::Status Replay::ProcessFile(int64_t index) {
  const std::string& file = options_.inputs[index];
  auto reader = NdjsonReader::Open(file);
  if (!reader.ok()) return reader.status();
  if (position_.offset > 0) {
    absl::Status st = (*reader)->Seek(position_.offset, position_.line);
    if (!st.ok()) return st;
  }
  // Records are read and decoded ahead, a batch at a time, on --threads
  // threads of their own (at least one), while this thread processes them
  // one by one, in order.
  DecodeAhead ahead(*std::move(reader), std::max(1, options_.threads - 1),
                    engine_->secret());
  std::variant<FileSource, TopicSource> source = FileSource{file, 0};
  FileSource& at = std::get<FileSource>(source);
  while (true) {
    absl::Span<const DecodedRecord> batch = ahead.Next();
    if (batch.empty()) break;
    for (const DecodedRecord& r : batch) {
      at.line = r.line;
      const std::optional<int64_t> before = engine_->max_app_time();
      if (engine_->Process(r, source, before)) {
        // Timers due by the new watermark fire after the record (§9).
        absl::Status st = engine_->FireTimers(*engine_->max_app_time(),
                                              /*commit_between=*/false);
        if (!st.ok()) return st;
      }
      position_.offset = r.end_offset;
      position_.line = r.line;
      ++records_total_;
      absl::Status st = engine_->CountAndMaybeCommit();
      if (!st.ok()) return st;
      if (engine_->committed_since_last_asked()) {
        if (progress_) Progress(false);
        if (log_->should_log(spdlog::level::debug)) {
          const std::optional<int64_t> w = engine_->max_app_time();
          log_->debug(absl::StrFormat(
              "epoch committed: %d records, input %d line %d, watermark %s",
              records_total_, position_.file + 1, position_.line,
              w ? FormatTime14(FromEpochSeconds(*w)) : "-"));
        }
      }
    }
  }
  if (absl::Status st = ahead.status(); !st.ok()) return st;
  position_.file = index + 1;
  position_.offset = 0;
  position_.line = 0;
  return absl::OkStatus();
}

void Replay::Progress(bool final) {
  const auto now = std::chrono::steady_clock::now();
  if (!final && now - last_progress_ < std::chrono::seconds(1)) return;
  last_progress_ = now;
  const double seconds = std::chrono::duration<double>(now - started_).count();
  const std::optional<int64_t> watermark = engine_->max_app_time();
  absl::FPrintF(err_, "\r%d records, %.0f/s, input %d line %d, watermark %s%s",
                records_total_, seconds > 0 ? records_total_ / seconds : 0.0,
                position_.file + 1, position_.line,
                watermark ? FormatTime14(FromEpochSeconds(*watermark)) : "-",
                final ? "\n" : "");
}

absl::Status Replay::Run() {
  started_ = last_progress_ = std::chrono::steady_clock::now();
  absl::Status st = Start();
  if (!st.ok()) return st;
  if (!finished_) {
    for (int64_t i = position_.file;
         i < static_cast<int64_t>(options_.inputs.size()); ++i) {
      st = ProcessFile(i);
      if (!st.ok()) return st;
    }
    if (!options_.keep_open) {
      // End of input: the watermark becomes infinite and every timer
      // fires, in order, with epochs committed as usual.
      st = engine_->Drain();
      if (!st.ok()) return st;
    }
    engine_->set_status(options_.keep_open ? RunStatus::kKeptOpen
                                           : RunStatus::kDrained);
    st = engine_->Commit();
    if (!st.ok()) return st;
  }
  if (progress_) Progress(true);
  if (!options_.metrics_out.empty()) {
    engine_->UpdateGauges(/*read_store=*/true);
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
  Logger log = MakeJsonLogger("replay", err);
  auto level = ParseLogLevel(options.log_level);
  if (!level.ok()) {
    log->error(std::string(level.status().message()));
    return 2;
  }
  log->set_level(*level);
  absl::Status st = Replay(options, err, log).Run();
  if (!st.ok()) {
    log->error(std::string(st.message()));
    return 2;
  }
  return 0;
}

}  // namespace clearlane
