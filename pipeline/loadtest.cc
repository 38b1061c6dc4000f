#include "pipeline/loadtest.h"

#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <tuple>

#include "absl/strings/str_format.h"
#include "bench/generator.h"
#include "model/event_time.h"
#include "pipeline/engine.h"
#include "pipeline/load_harness.h"
#include "pipeline/load_kafka.h"
#include "pipeline/load_report.h"
#include "pipeline/log.h"
#include "pipeline/ndjson_reader.h"
#include "pipeline/parallel_decoder.h"
#include "pipeline/proc.h"

namespace clearlane {
namespace {

namespace fs = std::filesystem;
using std::chrono::duration;

int64_t CountLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  int64_t n = 0;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    n += std::count(buf, buf + in.gcount(), '\n');
  }
  return n;
}

// The embedded engine's outputs: each decision's latency from the entry
// of the record whose processing produced it to its publication (after
// its epoch's commit).
class TimedOutputs : public OutputSink {
 public:
  explicit TimedOutputs(LoadRecorder* r) : recorder_(r) {}
  void Produced(int64_t from, int64_t to, LoadClock::time_point entry) {
    ranges_.emplace_back(from, to, entry);
  }
  absl::Status Publish(OutputStream s, int64_t seq, std::string_view,
                       std::string_view line) override {
    if (s != OutputStream::kReceipts || !IsDecision(line)) {
      return absl::OkStatus();
    }
    while (!ranges_.empty() && std::get<1>(ranges_.front()) <= seq) {
      ranges_.pop_front();
    }
    std::optional<double> latency;
    if (!ranges_.empty() && std::get<0>(ranges_.front()) <= seq) {
      latency =
          duration<double>(LoadClock::now() - std::get<2>(ranges_.front()))
              .count();
    }
    recorder_->Decision(latency);
    return absl::OkStatus();
  }
  absl::Status Flush() override { return absl::OkStatus(); }

 private:
  LoadRecorder* recorder_;
  std::deque<std::tuple<int64_t, int64_t, LoadClock::time_point>> ranges_;
};

absl::Status RunThroughEngine(const LoadtestOptions& o,
                              const std::string& corpus,
                              const std::string& registry, Logger log,
                              std::FILE* err, LoadSummary* summary,
                              LoadRecorder* recorder) {
  const std::string state = o.out_dir + "/state";
  std::error_code ec;
  fs::remove_all(state, ec);
  EngineOptions eo;
  eo.state_dir = state;
  eo.sync = o.sync;
  eo.identity_registry = registry;
  auto engine = Engine::Open(eo, log.get());
  if (!engine.ok()) return engine.status();
  TimedOutputs outputs(recorder);
  (*engine)->StartPublishing(&outputs);
  auto reader = NdjsonReader::Open(corpus);
  if (!reader.ok()) return reader.status();
  // With the state's secret, the decoders also prepare each state form.
  ParallelDecoder decoder(o.threads, (*engine)->secret());
  constexpr size_t kBatch = 4096;
  std::vector<DecodedRecord> batch(kBatch);
  recorder->Restart();
  const LoadClock::time_point start = LoadClock::now();
  Pacer pacer(o, start);
  Progress progress(err, summary->corpus_lines);
  std::variant<FileSource, TopicSource> source = FileSource{corpus, 0};
  NdjsonReader::Record record;
  int64_t index = 0;
  auto sampled = start;
  std::optional<int64_t> last_app;
  bool more = true;
  auto tick = [&] {
    const auto now = LoadClock::now();
    if (now - sampled >= std::chrono::seconds(1)) {
      sampled = now;
      if (auto p = ReadProcess()) recorder->SampleProcess(*p);
    }
    progress.Show(*recorder);
  };
  if (auto p = ReadProcess()) recorder->SampleProcess(*p);
  while (more) {
    size_t n = 0;
    while (n < kBatch && (more = (*reader)->Next(&record))) {
      DecodedRecord& r = batch[n++];
      r.line = record.line;
      r.bytes.assign(record.bytes);
      r.size = record.size;
    }
    decoder.DecodeAll(batch, n);
    for (size_t i = 0; i < n; ++i, ++index) {
      const DecodedRecord& r = batch[i];
      if (r.outcome.ok()) {
        last_app = ToEpochSeconds(HeadOf(r.doc).appTime);
      }
      const LoadClock::time_point due = pacer.Due(index, last_app);
      while (pacer.paced() && LoadClock::now() < due) {
        // Waiting for the record's time: an epoch may end meanwhile.
        absl::Status st = (*engine)->CommitIfOld();
        if (!st.ok()) return st;
        if ((*engine)->committed_since_last_asked()) {
          recorder->Commit((*engine)->last_commit_seconds());
        }
        tick();
        std::this_thread::sleep_for(std::min<LoadClock::duration>(
            due - LoadClock::now(), std::chrono::milliseconds(1)));
      }
      const LoadClock::time_point entry =
          pacer.paced() ? due : LoadClock::now();
      std::get<FileSource>(source).line = r.line;
      const int64_t before = (*engine)->next_seq(OutputStream::kReceipts);
      if ((*engine)->Process(r, source, (*engine)->max_app_time())) {
        absl::Status st = (*engine)->FireTimers(*(*engine)->max_app_time(),
                                                /*commit_between=*/false);
        if (!st.ok()) return st;
      }
      const int64_t after = (*engine)->next_seq(OutputStream::kReceipts);
      if (after > before) outputs.Produced(before, after, entry);
      recorder->Documents(1);
      absl::Status st = (*engine)->CountAndMaybeCommit();
      if (!st.ok()) return st;
      if ((*engine)->committed_since_last_asked()) {
        recorder->Commit((*engine)->last_commit_seconds());
      }
      tick();
    }
  }
  if (!(*reader)->status().ok()) return (*reader)->status();
  absl::Status st = (*engine)->Commit();
  if (st.ok()) {
    recorder->Commit((*engine)->last_commit_seconds());
    // The drain's decisions have no entering document: no latency.
    st = (*engine)->Drain();
  }
  if (st.ok()) st = (*engine)->Commit();
  if (!st.ok()) return st;
  if (auto p = ReadProcess()) recorder->SampleProcess(*p);
  progress.Show(*recorder, /*final=*/true);
  summary->wall_seconds = recorder->elapsed();
  const StateStore::Figures f = (*engine)->store_figures();
  summary->state_live_bytes = static_cast<double>(f.live_data_bytes);
  summary->state_sst_bytes = static_cast<double>(f.sst_bytes);
  if (f.bytes_written > 0) {
    summary->write_amplification =
        static_cast<double>(f.flush_bytes + f.compact_write_bytes) /
        static_cast<double>(f.bytes_written);
  }
  summary->via = absl::StrFormat(
      "the embedded engine (in process, %d decoding thread(s), --sync=%s)",
      o.threads, o.sync ? "epoch" : "none");
  summary->pacing = pacer.Describe();
  summary->notes.push_back(
      "Latency: from the moment the record whose processing decided the "
      "list entered (its due time when paced) to the moment its receipt was "
      "published, after its epoch's commit.");
  return absl::OkStatus();
}

}  // namespace

int RunLoadtest(const LoadtestOptions& o, std::FILE* err) {
  Logger log = MakeJsonLogger("loadtest", err);
  auto fail = [&](const absl::Status& st) {
    log->error(std::string(st.message()));
    return 2;
  };
  if (o.via != "engine" && o.via != "kafka") {
    return fail(absl::InvalidArgumentError("--via: engine or kafka"));
  }
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec) {
    return fail(absl::UnavailableError(absl::StrFormat(
        "cannot create report directory %s: %s", o.out_dir, ec.message())));
  }
  std::string corpus = o.input, registry = o.registry;
  if (corpus.empty()) {
    corpus = o.out_dir + "/corpus.ndjson";
    registry = o.out_dir + "/registry.ndjson";
    GeneratorOptions g;
    g.orders = o.orders;
    g.seed = o.seed;
    g.profile = DayProfile::kDouble11;
    g.flow = o.flow == "import"   ? Flow::kImport
             : o.flow == "export" ? Flow::kExport
                                  : Flow::kMixed;
    log->info(absl::StrFormat("generating a Double-11 day of %d orders into %s",
                              o.orders, corpus));
    std::FILE* out = std::fopen(corpus.c_str(), "w");
    std::FILE* reg = std::fopen(registry.c_str(), "w");
    if (!out || !reg) {
      return fail(absl::UnavailableError(
          absl::StrFormat("cannot write the corpus into %s", o.out_dir)));
    }
    GeneratorStats stats;
    absl::Status st = Generate(g, out, nullptr, reg, &stats);
    std::fclose(out);
    std::fclose(reg);
    if (!st.ok()) return fail(st);
  }
  LoadSummary summary;
  summary.command_line = o.command_line;
  summary.corpus = corpus;
  summary.corpus_lines = CountLines(corpus);
  summary.corpus_bytes = static_cast<int64_t>(fs::file_size(corpus, ec));
  LoadRecorder recorder(LoadClock::now());
  absl::Status st =
      o.via == "engine"
          ? RunThroughEngine(o, corpus, registry, log, err, &summary, &recorder)
          : RunLoadThroughKafka(o, corpus, registry, log, err, &summary,
                                &recorder);
  if (!st.ok()) return fail(st);
  st = WriteLoadReport(o.out_dir, summary, recorder);
  if (!st.ok()) return fail(st);
  log->info(absl::StrFormat("report written to %s/report.md", o.out_dir));
  return 0;
}

}  // namespace clearlane
