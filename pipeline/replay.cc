#include "pipeline/replay.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "absl/strings/str_format.h"
#include "model/decode.h"
#include "model/encode.h"
#include "model/event_time.h"
#include "pipeline/file_sink.h"
#include "pipeline/ndjson_reader.h"
#include "model/coding.h"
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
};

constexpr std::string_view kMetaKey = "run";
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
  absl::Status ProcessFile(int64_t index);
  void Process(const NdjsonReader::Record& record, const std::string& file);
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
  std::chrono::steady_clock::time_point epoch_start_;

  Decoder decoder_;
  Document doc_;
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
  auto store = StateStore::Open({.path = state_dir_, .sync = options_.sync});
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
  return Recover();
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
  return sink_->Flush(options_.sync);
}

void Replay::Emit(OutputStream s, std::string line) {
  const int i = static_cast<int>(s);
  const int64_t seq = meta_.next_seq[i]++;
  batch_.Put(store_->Handle(Store::kOutbox), OutboxKey(s, seq), line);
  outputs_.push_back({s, seq, std::move(line)});
}

void Replay::Process(const NdjsonReader::Record& record,
                     const std::string& file) {
  DecodeOutcome outcome = decoder_.Decode(record.bytes, record.size, &doc_);
  if (!outcome.ok()) {
    std::string line;
    EncodeDeadLetter({FileSource{file, record.line}, outcome.code(),
                      outcome.detail(), std::string(record.bytes)},
                     &line);
    Emit(OutputStream::kDeadLetters, std::move(line));
    return;
  }
  const int64_t t = ToEpochSeconds(HeadOf(doc_).appTime);
  if (!meta_.watermark || t > *meta_.watermark) meta_.watermark = t;
}

absl::Status Replay::Commit() {
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
  st = sink_->Flush(options_.sync);
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
  NdjsonReader::Record record;
  while ((*reader)->Next(&record)) {
    Process(record, file);
    meta_.offset = record.end_offset;
    meta_.line = record.line;
    ++epoch_records_;
    ++records_total_;
    absl::Status st = MaybeCommit();
    if (!st.ok()) return st;
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
