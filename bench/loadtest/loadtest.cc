#include "bench/loadtest/loadtest.h"

#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <tuple>

#include "absl/strings/str_format.h"
#include "bench/generator.h"
#include "bench/loadtest/harness.h"
#include "bench/loadtest/kafka.h"
#include "bench/loadtest/report.h"
#include "model/event_time.h"
#include "model/xml_message.h"
#include "pipeline/engine/driver.h"
#include "pipeline/engine/engine.h"
#include "pipeline/files/file_source.h"
#include "pipeline/files/ndjson_reader.h"
#include "pipeline/files/xml_file_reader.h"
#include "pipeline/observe/log.h"
#include "pipeline/observe/proc.h"

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

// The records of a corpus of CEB XML messages (each message read once
// more, ahead of the run), or its lines when it cannot be read.
int64_t CountXmlRecords(const std::string& path) {
  auto reader = XmlFileReader::Open(path);
  if (!reader.ok()) return CountLines(path);
  XmlReader xml;
  XmlMessage read;
  XmlFileReader::Message m;
  int64_t n = 0;
  while ((*reader)->Next(&m)) {
    n += xml.Read(m.text, m.size, &read).ok()
             ? static_cast<int64_t>(read.records.size())
             : 1;
  }
  return n;
}

// The engine mode's epochs: the latency a platform sees depends on them,
// so they are as small as Kafka mode's are by default, and shorter.
constexpr int64_t kEngineEpochRecords = 4096;
constexpr int64_t kEngineEpochMillis = 100;

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

// Paces the records, and notes which receipts each one produced and when
// it entered.
class EngineHarness : public DriverObserver {
 public:
  EngineHarness(const LoadtestOptions& o, Engine* engine, LoadRecorder* r,
                TimedOutputs* outputs, Progress* progress)
      : engine_(engine),
        recorder_(r),
        outputs_(outputs),
        progress_(progress),
        pacer_(o, LoadClock::now()),
        sampled_(LoadClock::now()) {}
  void set_driver(Driver* d) { driver_ = d; }
  const Pacer& pacer() const { return pacer_; }

  absl::Status BeforeRecord(const DecodedRecord& r) override {
    if (r.outcome.ok()) last_app_ = ToEpochSeconds(HeadOf(r.doc).appTime);
    const LoadClock::time_point due = pacer_.Due(index_++, last_app_);
    while (pacer_.paced() && LoadClock::now() < due) {
      // Waiting for the record's time: an epoch may end meanwhile.
      absl::Status st = driver_->Idle();
      if (!st.ok()) return st;
      Tick();
      std::this_thread::sleep_for(std::min<LoadClock::duration>(
          due - LoadClock::now(), std::chrono::milliseconds(1)));
    }
    entry_ = pacer_.paced() ? due : LoadClock::now();
    receipts_before_ = engine_->epochs().next_seq(OutputStream::kReceipts);
    return absl::OkStatus();
  }
  void AfterRecord(const DecodedRecord&) override {
    const int64_t after = engine_->epochs().next_seq(OutputStream::kReceipts);
    if (after > receipts_before_) {
      outputs_->Produced(receipts_before_, after, entry_);
    }
    recorder_->Documents(1);
    Tick();
  }
  void AfterCommit() override {
    recorder_->Commit(engine_->epochs().last_commit_seconds());
  }
  void Tick() {
    const auto now = LoadClock::now();
    if (now - sampled_ >= std::chrono::seconds(1)) {
      sampled_ = now;
      if (auto p = ReadProcess()) recorder_->SampleProcess(*p);
    }
    progress_->Show(*recorder_);
  }

 private:
  Engine* engine_;
  Driver* driver_ = nullptr;
  LoadRecorder* recorder_;
  TimedOutputs* outputs_;
  Progress* progress_;
  Pacer pacer_;
  LoadClock::time_point sampled_, entry_;
  int64_t index_ = 0;
  int64_t receipts_before_ = 0;
  std::optional<int64_t> last_app_;
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
  eo.epoch_records = kEngineEpochRecords;
  eo.epoch_millis = kEngineEpochMillis;
  auto engine = Engine::Open(eo, {}, log.get());
  if (!engine.ok()) return engine.status();
  TimedOutputs outputs(recorder);
  (*engine)->epochs().StartPublishing(&outputs);
  // With the state's secret, the decoders also prepare each state form.
  FileRecordSource source(FilePosition{.inputs = {corpus}}, o.threads - 1,
                          (*engine)->secret());
  PartitionGroup time;
  time.Assign({PartitionId{}}, PartitionGroup::Clock::now());
  recorder->Restart();
  Progress progress(err, summary->corpus_lines);
  EngineHarness harness(o, engine->get(), recorder, &outputs, &progress);
  Driver driver(engine->get(), &source, &time, &harness);
  harness.set_driver(&driver);
  if (auto p = ReadProcess()) recorder->SampleProcess(*p);
  absl::Status st = driver.Run();
  // The drain's decisions have no entering document: no latency.
  if (st.ok()) st = driver.Commit();
  if (st.ok()) st = driver.Drain();
  if (st.ok()) st = driver.Commit();
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
  summary->pacing = harness.pacer().Describe();
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
  if (o.instances > 1 &&
      (o.via != "kafka" || (o.input.empty() && o.flow != "import"))) {
    return fail(absl::InvalidArgumentError(
        "--instances above 1 needs --via kafka and --flow import: the "
        "members of a consumer group divide import documents only "
        "(docs/kafka-mode.md \"Scaling out\")"));
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
  // An XML corpus is told as replay tells a file; one that cannot be
  // opened fails in the run, which says so.
  const bool xml = IsXmlFile(corpus).value_or(false);
  if (o.via == "kafka" && xml) {
    // Produced as one record per line and timed by its JSON fields.
    return fail(absl::InvalidArgumentError(absl::StrFormat(
        "%s holds CEB XML: --via kafka replays NDJSON corpora; use --via "
        "engine, or clearlane convert --to json first",
        corpus)));
  }
  LoadSummary summary;
  summary.command_line = o.command_line;
  summary.corpus = corpus;
  summary.corpus_lines = xml ? CountXmlRecords(corpus) : CountLines(corpus);
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
