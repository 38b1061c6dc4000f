#include "pipeline/replay.h"

#include <openssl/rand.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/str_format.h"
#include "model/coding.h"
#include "model/decode.h"
#include "model/encode.h"
#include "model/event_time.h"
#include "operators/clearance.h"
#include "pipeline/engine_state.h"
#include "pipeline/file_sink.h"
#include "pipeline/ndjson_reader.h"
#include "pipeline/parallel_decoder.h"
#include "state/store.h"

namespace clearlane {
namespace {

// Where a run stands, kept in one value of Store::kMeta and rewritten by
// every epoch.
enum class RunStatus : uint8_t {
  kRunning = 0,   // processing `inputs`
  kKeptOpen = 1,  // finished `inputs` with --keep-open; a later run continues
  kDrained = 2,   // finished and drained: every timer fired
};

struct Meta {
  RunStatus status = RunStatus::kRunning;
  std::vector<std::string> inputs;
  // The next record to read: input index, byte offset and lines before it.
  int64_t file = 0;
  uint64_t offset = 0;
  int64_t line = 0;
  // The greatest appTime processed (contract §9), seconds since 1970 CST.
  std::optional<int64_t> watermark;
  // Per output stream: the next sequence number, and the lowest one the
  // outbox may still hold.
  std::array<int64_t, kOutputStreamCount> next_seq{};
  std::array<int64_t, kOutputStreamCount> outbox_floor{};
  // An identity registry was loaded into Store::kRegistry.
  bool has_registry = false;
};

constexpr std::string_view kMetaKey = "run";
constexpr std::string_view kSecretKey = "hmac-secret";
constexpr uint8_t kMetaVersion = 1;

std::string EncodeMeta(const Meta& m) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kMetaVersion);
  w.U8(static_cast<uint8_t>(m.status));
  w.Varint(m.inputs.size());
  for (const std::string& in : m.inputs) w.Bytes(in);
  w.Varint(m.file);
  w.Varint(m.offset);
  w.Varint(m.line);
  w.U8(m.watermark.has_value());
  w.SignedVarint(m.watermark.value_or(0));
  for (int i = 0; i < kOutputStreamCount; ++i) {
    w.Varint(m.next_seq[i]);
    w.Varint(m.outbox_floor[i]);
  }
  w.U8(m.has_registry);
  return out;
}

absl::StatusOr<Meta> DecodeMeta(std::string_view bytes) {
  BinaryReader r(bytes);
  Meta m;
  if (r.U8() != kMetaVersion) {
    return absl::DataLossError("run record of an unknown version");
  }
  m.status = static_cast<RunStatus>(r.U8());
  const uint64_t n = r.Varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    m.inputs.emplace_back(r.Bytes());
  }
  m.file = static_cast<int64_t>(r.Varint());
  m.offset = r.Varint();
  m.line = static_cast<int64_t>(r.Varint());
  const bool has_watermark = r.U8();
  const int64_t watermark = r.SignedVarint();
  if (has_watermark) m.watermark = watermark;
  for (int i = 0; i < kOutputStreamCount; ++i) {
    m.next_seq[i] = static_cast<int64_t>(r.Varint());
    m.outbox_floor[i] = static_cast<int64_t>(r.Varint());
  }
  m.has_registry = r.U8() != 0;
  if (!r.ok() || !r.done() || m.status > RunStatus::kDrained) {
    return absl::DataLossError("run record is corrupt");
  }
  return m;
}

std::string OutboxKey(OutputStream s, int64_t seq) {
  std::string key;
  BinaryWriter w(&key);
  w.U8(static_cast<uint8_t>(s));
  w.Fixed64(static_cast<uint64_t>(seq));
  return key;
}

class Replay {
 public:
  Replay(const ReplayOptions& options, std::FILE* err)
      : options_(options), err_(err), progress_(isatty(fileno(err))) {}
  absl::Status Run();

 private:
  absl::Status Start();
  absl::Status Recover();
  absl::Status LoadSecret();
  absl::Status LoadRegistry();
  absl::Status LoadTaxRates();
  // Fires every timer due at or before `limit`, in order (contract §9).
  absl::Status FireTimers(int64_t limit, bool commit_between);
  absl::Status ProcessFile(int64_t index);
  void Process(const DecodedRecord& record, const std::string& file);
  void Emit(OutputStream s, std::string line);
  absl::Status MaybeCommit();
  absl::Status Commit();
  void Progress(bool final);

  const ReplayOptions& options_;
  std::FILE* err_;
  const bool progress_;
  std::string state_dir_;
  bool temporary_state_ = false;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<FileSink> sink_;
  Meta meta_;
  // The outbox entries below this are published and synced; the next commit
  // deletes them.
  std::array<int64_t, kOutputStreamCount> published_{};

  // The open epoch.
  rocksdb::WriteBatch batch_;
  struct Output {
    OutputStream stream;
    int64_t seq;
    std::string line;
  };
  std::vector<Output> outputs_;
  int64_t epoch_records_ = 0;
  absl::Status status_;
  bool sync_ = true;  // sync the WAL and the files once per epoch
  std::chrono::steady_clock::time_point epoch_start_;

  std::unique_ptr<ParallelDecoder> decoder_;
  std::vector<DecodedRecord> batch_records_;
  std::string secret_;
  std::optional<TaxRateTable> tax_rates_;
  std::unique_ptr<EngineState> state_;
  std::unique_ptr<Clearance> clearance_;
  // The record being processed, for dead letters the operators raise.
  const std::string* current_file_ = nullptr;
  const DecodedRecord* current_record_ = nullptr;
  bool current_dead_ = false;
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
  auto store = StateStore::Open({.path = state_dir_, .sync = sync_});
  if (!store.ok()) return store.status();
  store_ = std::move(*store);

  auto stored = store_->Get(Store::kMeta, kMetaKey);
  if (!stored.ok()) return stored.status();
  const bool fresh = !stored->has_value();
  if (!fresh) {
    auto meta = DecodeMeta(**stored);
    if (!meta.ok()) {
      return absl::DataLossError(
          absl::StrFormat("state %s: %s", state_dir_, meta.status().message()));
    }
    meta_ = *std::move(meta);
  }
  switch (meta_.status) {
    case RunStatus::kRunning:
      if (!fresh && meta_.inputs != options_.inputs) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "state %s belongs to an unfinished replay of other inputs; "
            "start it again with the same --input files in the same order",
            state_dir_));
      }
      break;
    case RunStatus::kKeptOpen:
      // A later replay continues the stream with its own inputs.
      meta_.status = RunStatus::kRunning;
      meta_.file = 0;
      meta_.offset = 0;
      meta_.line = 0;
      break;
    case RunStatus::kDrained:
      return absl::FailedPreconditionError(absl::StrFormat(
          "state %s was closed by a replay that drained it at the end of "
          "input; only state left by --keep-open can be continued",
          state_dir_));
  }
  meta_.inputs = options_.inputs;

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
  absl::Status st = Recover();
  if (st.ok()) st = LoadSecret();
  if (st.ok()) st = LoadRegistry();
  if (st.ok()) st = LoadTaxRates();
  if (!st.ok()) return st;

  ClearanceConfig config;
  if (tax_rates_) config.tax_rates = &*tax_rates_;
  config.forms.summary_flag = options_.summary_flag;
  config.forms.max_lines = options_.form_lines;
  config.month_close_delay = options_.month_close_hours * 3600;
  clearance_ = std::make_unique<Clearance>(config);
  decoder_ = std::make_unique<ParallelDecoder>(options_.threads);
  state_ = std::make_unique<EngineState>(
      store_.get(), &batch_, secret_, meta_.has_registry,
      EngineState::Outputs{
          [this](const Receipt& r) {
            std::string line;
            EncodeReceipt(r, &line);
            Emit(OutputStream::kReceipts, std::move(line));
          },
          [this](DeadLetterCode code, std::string detail) {
            std::string line;
            EncodeDeadLetter(
                {FileSource{*current_file_, current_record_->line}, code,
                 std::move(detail), std::string(current_record_->bytes)},
                &line);
            Emit(OutputStream::kDeadLetters, std::move(line));
            current_dead_ = true;
          },
          [this](const SummaryForm& f) {
            std::string line;
            EncodeSummaryForm(f, &line);
            Emit(OutputStream::kSummaries, std::move(line));
          }});
  return state_->LoadTimers();
}

absl::Status Replay::LoadSecret() {
  if (!options_.hmac_secret_file.empty()) {
    std::ifstream in(options_.hmac_secret_file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    secret_ = ss.str();
    while (!secret_.empty() &&
           (secret_.back() == '\n' || secret_.back() == '\r')) {
      secret_.pop_back();
    }
    if (!in || secret_.size() < 16) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "--hmac-secret-file %s: cannot read a secret of at least 16 bytes",
          options_.hmac_secret_file));
    }
    return absl::OkStatus();
  }
  auto stored = store_->Get(Store::kMeta, kSecretKey);
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) {
    secret_ = **stored;
    return absl::OkStatus();
  }
  secret_.resize(32);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret_.data()), 32) != 1) {
    return absl::InternalError("cannot draw a random secret");
  }
  rocksdb::WriteBatch batch;
  batch.Put(store_->Handle(Store::kMeta), kSecretKey, secret_);
  return store_->Commit(&batch);
}

// Replaces the registry in state with the file's: one batch per 10,000
// people, then the run record says a registry is there. A crash midway is
// repaired by the restart, which loads the file again.
absl::Status Replay::LoadRegistry() {
  if (options_.identity_registry.empty()) return absl::OkStatus();
  auto reader = NdjsonReader::Open(options_.identity_registry);
  if (!reader.ok()) return reader.status();
  rocksdb::WriteBatch batch;
  // Keys are 32-byte HMACs: 33 bytes of 0xff sort after every one.
  batch.DeleteRange(store_->Handle(Store::kRegistry), "",
                    std::string(33, '\xff'));
  Hmac hmac(secret_);
  simdjson::ondemand::parser parser;
  NdjsonReader::Record record;
  int64_t loaded = 0, bad = 0;
  while ((*reader)->Next(&record)) {
    simdjson::padded_string json(record.bytes);
    simdjson::ondemand::document doc;
    std::string_view id, name;
    if (parser.iterate(json).get(doc) || doc["idNumber"].get_string().get(id) ||
        doc["name"].get_string().get(name) || id.empty() || name.empty()) {
      // The line itself may hold personal data: name only where it is.
      absl::FPrintF(err_,
                    "clearlane replay: %s:%d: not {\"idNumber\": ..., "
                    "\"name\": ...}; skipped\n",
                    options_.identity_registry, record.line);
      ++bad;
      continue;
    }
    batch.Put(store_->Handle(Store::kRegistry), hmac(id), hmac(name));
    if (++loaded % 10000 == 0) {
      absl::Status st = store_->Commit(&batch);
      if (!st.ok()) return st;
      batch.Clear();
    }
  }
  if (!(*reader)->status().ok()) return (*reader)->status();
  meta_.has_registry = true;
  batch.Put(store_->Handle(Store::kMeta), kMetaKey, EncodeMeta(meta_));
  return store_->Commit(&batch);
}

absl::Status Replay::LoadTaxRates() {
  if (options_.tax_rates.empty()) return absl::OkStatus();
  std::ifstream in(options_.tax_rates, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrFormat("cannot read --tax-rates %s", options_.tax_rates));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto table = TaxRateTable::Parse(ss.str());
  if (!table.ok()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--tax-rates %s: %s", options_.tax_rates, table.status().message()));
  }
  tax_rates_ = *std::move(table);
  return absl::OkStatus();
}

// List timeouts fire before month closes, each kind in order of due time
// (contract §9).
absl::Status Replay::FireTimers(int64_t limit, bool commit_between) {
  while (true) {
    int64_t due;
    ListKey list;
    int32_t period;
    if (state_->NextTimer(&due, &list) && due <= limit) {
      state_->PopTimer();
      clearance_->OnTimeout(list, due, *state_);
    } else if (state_->NextMonthClose(&due, &period) && due <= limit) {
      clearance_->OnMonthClose(period, *state_);
    } else {
      break;
    }
    if (commit_between) {
      ++epoch_records_;
      absl::Status st = MaybeCommit();
      if (!st.ok()) return st;
    }
  }
  return state_->status();
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
    if (in_file > meta_.next_seq[i]) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s holds %d records but state %s produced %d: it is not this "
          "state's output",
          path, in_file, state_dir_, meta_.next_seq[i]));
    }
    if (in_file < meta_.outbox_floor[i]) {
      return absl::DataLossError(absl::StrFormat(
          "%s holds %d records but state %s had published %d: the file was "
          "truncated or replaced",
          path, in_file, state_dir_, meta_.outbox_floor[i]));
    }
    auto it = store_->NewIterator(Store::kOutbox);
    const std::string end = OutboxKey(s, meta_.next_seq[i]);
    int64_t expected = in_file;
    for (it->Seek(OutboxKey(s, in_file));
         it->Valid() && it->key().compare(end) < 0; it->Next()) {
      BinaryReader key(std::string_view(it->key().data(), it->key().size()));
      key.U8();
      const int64_t seq = static_cast<int64_t>(key.Fixed64());
      if (seq != expected) break;
      absl::Status st = sink_->Append(
          s, seq, std::string_view(it->value().data(), it->value().size()));
      if (!st.ok()) return st;
      ++expected;
    }
    if (!it->status().ok()) {
      return FromRocks(it->status(), "reading the outbox");
    }
    if (expected != meta_.next_seq[i]) {
      return absl::DataLossError(
          absl::StrFormat("state %s lacks outbox record %d of %s", state_dir_,
                          expected, OutputFileName(s)));
    }
    published_[i] = meta_.next_seq[i];
  }
  return sink_->Flush(sync_);
}

void Replay::Emit(OutputStream s, std::string line) {
  const int i = static_cast<int>(s);
  const int64_t seq = meta_.next_seq[i]++;
  batch_.Put(store_->Handle(Store::kOutbox), OutboxKey(s, seq), line);
  outputs_.push_back({s, seq, std::move(line)});
}

void Replay::Process(const DecodedRecord& record, const std::string& file) {
  const DecodeOutcome& outcome = record.outcome;
  if (!outcome.ok()) {
    std::string line;
    EncodeDeadLetter({FileSource{file, record.line}, outcome.code(),
                      outcome.detail(), std::string(record.bytes)},
                     &line);
    Emit(OutputStream::kDeadLetters, std::move(line));
    return;
  }
  current_file_ = &file;
  current_record_ = &record;
  current_dead_ = false;
  state_->set_watermark(meta_.watermark);
  clearance_->OnDocument(record.doc, *state_);
  // A record that became a dead letter does not move the watermark.
  if (current_dead_) return;
  const int64_t t = ToEpochSeconds(HeadOf(record.doc).appTime);
  if (!meta_.watermark || t > *meta_.watermark) meta_.watermark = t;
  // Timers due by the new watermark fire after the record (contract §9).
  status_ = FireTimers(*meta_.watermark, /*commit_between=*/false);
}

absl::Status Replay::Commit() {
  if (state_) {
    state_->Flush();
    if (!state_->status().ok()) return state_->status();
  }
  for (int i = 0; i < kOutputStreamCount; ++i) {
    const auto s = static_cast<OutputStream>(i);
    if (published_[i] > meta_.outbox_floor[i]) {
      batch_.DeleteRange(store_->Handle(Store::kOutbox),
                         OutboxKey(s, meta_.outbox_floor[i]),
                         OutboxKey(s, published_[i]));
      meta_.outbox_floor[i] = published_[i];
    }
  }
  batch_.Put(store_->Handle(Store::kMeta), kMetaKey, EncodeMeta(meta_));
  absl::Status st = store_->Commit(&batch_);
  if (!st.ok()) return st;
  batch_.Clear();
  for (const Output& o : outputs_) {
    st = sink_->Append(o.stream, o.seq, o.line);
    if (!st.ok()) return st;
  }
  outputs_.clear();
  st = sink_->Flush(sync_);
  if (!st.ok()) return st;
  published_ = meta_.next_seq;
  epoch_records_ = 0;
  epoch_start_ = std::chrono::steady_clock::now();
  return absl::OkStatus();
}

absl::Status Replay::MaybeCommit() {
  if (epoch_records_ >= options_.epoch_records ||
      std::chrono::steady_clock::now() - epoch_start_ >=
          std::chrono::milliseconds(options_.epoch_millis)) {
    absl::Status st = Commit();
    if (progress_) Progress(false);
    return st;
  }
  return absl::OkStatus();
}

absl::Status Replay::ProcessFile(int64_t index) {
  const std::string& file = options_.inputs[index];
  auto reader = NdjsonReader::Open(file);
  if (!reader.ok()) return reader.status();
  if (meta_.offset > 0) {
    absl::Status st = (*reader)->Seek(meta_.offset, meta_.line);
    if (!st.ok()) return st;
  }
  // Records are read and decoded a batch at a time (decoding on
  // --threads threads), then processed one by one in order.
  constexpr size_t kBatchRecords = 2048;
  if (batch_records_.size() < kBatchRecords) {
    batch_records_.resize(kBatchRecords);
  }
  NdjsonReader::Record record;
  bool more = true;
  while (more) {
    size_t n = 0;
    while (n < kBatchRecords && (more = (*reader)->Next(&record))) {
      DecodedRecord& r = batch_records_[n++];
      r.line = record.line;
      r.end_offset = record.end_offset;
      r.bytes.assign(record.bytes);
      r.size = record.size;
    }
    decoder_->DecodeAll(batch_records_, n);
    for (size_t i = 0; i < n; ++i) {
      const DecodedRecord& r = batch_records_[i];
      Process(r, file);
      if (!status_.ok()) return status_;
      meta_.offset = r.end_offset;
      meta_.line = r.line;
      ++epoch_records_;
      ++records_total_;
      absl::Status st = MaybeCommit();
      if (!st.ok()) return st;
    }
  }
  if (!(*reader)->status().ok()) return (*reader)->status();
  meta_.file = index + 1;
  meta_.offset = 0;
  meta_.line = 0;
  return absl::OkStatus();
}

void Replay::Progress(bool final) {
  const auto now = std::chrono::steady_clock::now();
  if (!final && now - last_progress_ < std::chrono::seconds(1)) return;
  last_progress_ = now;
  const double seconds = std::chrono::duration<double>(now - started_).count();
  absl::FPrintF(
      err_, "\r%d records, %.0f/s, input %d line %d, watermark %s%s",
      records_total_, seconds > 0 ? records_total_ / seconds : 0.0,
      meta_.file + 1, meta_.line,
      meta_.watermark ? FormatTime14(FromEpochSeconds(*meta_.watermark)) : "-",
      final ? "\n" : "");
}

absl::Status Replay::Run() {
  started_ = last_progress_ = epoch_start_ = std::chrono::steady_clock::now();
  absl::Status st = Start();
  if (!st.ok()) return st;
  for (int64_t i = meta_.file; i < static_cast<int64_t>(options_.inputs.size());
       ++i) {
    st = ProcessFile(i);
    if (!st.ok()) return st;
  }
  if (!options_.keep_open) {
    // End of input: the watermark becomes infinite and every timer fires,
    // in order, with epochs committed as usual.
    st = FireTimers(INT64_MAX, /*commit_between=*/true);
    if (!st.ok()) return st;
    clearance_->OnEndOfInput(*state_);
    if (!state_->status().ok()) return state_->status();
  }
  meta_.status =
      options_.keep_open ? RunStatus::kKeptOpen : RunStatus::kDrained;
  st = Commit();
  if (!st.ok()) return st;
  if (progress_) Progress(true);
  store_.reset();
  if (temporary_state_) {
    std::error_code ec;
    std::filesystem::remove_all(state_dir_, ec);
  }
  return absl::OkStatus();
}

}  // namespace

int RunReplay(const ReplayOptions& options, std::FILE* err) {
  Replay replay(options, err);
  absl::Status st = replay.Run();
  if (!st.ok()) {
    absl::FPrintF(err, "clearlane replay: %s\n", st.message());
    return 2;
  }
  return 0;
}

}  // namespace clearlane
