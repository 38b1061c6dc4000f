#include "pipeline/engine.h"

#include <openssl/rand.h>
#include <simdjson.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_format.h"
#include "model/coding.h"
#include "model/encode.h"
#include "model/event_time.h"
#include "pipeline/ndjson_reader.h"

namespace clearlane {
namespace {

constexpr std::string_view kMetaKey = "run";
constexpr std::string_view kSecretKey = "hmac-secret";
// 2: the driver's position is an opaque blob; outbox values carry a key.
// 3: stage A's partition count; order and timer keys led by their task.
constexpr uint8_t kMetaVersion = 3;

std::string OutboxKey(OutputStream s, int64_t seq) {
  std::string key;
  BinaryWriter w(&key);
  w.U8(static_cast<uint8_t>(s));
  w.Fixed64(static_cast<uint64_t>(seq));
  return key;
}

std::string SourceKey(const std::variant<FileSource, TopicSource>& source) {
  if (const auto* t = std::get_if<TopicSource>(&source)) {
    return absl::StrFormat("%s/%d/%d", t->topic, t->partition, t->offset);
  }
  const auto& f = std::get<FileSource>(source);
  return absl::StrFormat("%s:%d", f.file, f.line);
}

}  // namespace

std::string Engine::EncodeMeta(const Meta& m) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kMetaVersion);
  w.U8(static_cast<uint8_t>(m.status));
  w.Bytes(m.position);
  w.U8(m.watermark.has_value());
  w.SignedVarint(m.watermark.value_or(0));
  for (int i = 0; i < kOutputStreamCount; ++i) {
    w.Varint(m.next_seq[i]);
    w.Varint(m.outbox_floor[i]);
  }
  w.U8(m.has_registry);
  w.Varint(static_cast<uint64_t>(m.partitions));
  return out;
}

absl::StatusOr<Engine::Meta> Engine::DecodeMeta(std::string_view bytes) {
  BinaryReader r(bytes);
  Meta m;
  const uint8_t version = r.U8();
  if (version < kMetaVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "written by an older clearlane (run record version %d, this one "
        "reads %d), whose keys are laid out differently; start from a new "
        "state directory",
        version, kMetaVersion));
  }
  if (version != kMetaVersion) {
    return absl::DataLossError("run record of an unknown version");
  }
  m.status = static_cast<RunStatus>(r.U8());
  m.position = std::string(r.Bytes());
  const bool has_watermark = r.U8();
  const int64_t watermark = r.SignedVarint();
  if (has_watermark) m.watermark = watermark;
  for (int i = 0; i < kOutputStreamCount; ++i) {
    m.next_seq[i] = static_cast<int64_t>(r.Varint());
    m.outbox_floor[i] = static_cast<int64_t>(r.Varint());
  }
  m.has_registry = r.U8() != 0;
  m.partitions = static_cast<int32_t>(r.Varint());
  if (!r.ok() || !r.done() || m.status > RunStatus::kDrained) {
    return absl::DataLossError("run record is corrupt");
  }
  return m;
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(
    const EngineOptions& options, spdlog::logger* log) {
  auto engine = std::unique_ptr<Engine>(new Engine(options));
  Engine& e = *engine;
  auto store =
      StateStore::Open({.path = options.state_dir, .sync = options.sync});
  if (!store.ok()) return store.status();
  e.store_ = std::move(*store);
  auto stored = e.store_->Get(Store::kMeta, kMetaKey);
  if (!stored.ok()) return stored.status();
  e.fresh_ = !stored->has_value();
  if (!e.fresh_) {
    auto meta = DecodeMeta(**stored);
    if (!meta.ok()) {
      return absl::Status(meta.status().code(),
                          absl::StrFormat("state %s: %s", options.state_dir,
                                          meta.status().message()));
    }
    e.meta_ = *std::move(meta);
    // Loading the registry, or setting the partitions, writes the run
    // record before the first epoch; until an epoch has committed the
    // driver's position, nothing was processed.
    e.fresh_ = e.meta_.position.empty();
  }
  e.published_ = e.meta_.next_seq;
  absl::Status st = e.LoadSecret();
  if (st.ok()) st = e.LoadRegistry(log);
  if (st.ok()) st = e.LoadTaxRates();
  if (!st.ok()) return st;

  ClearanceConfig config;
  if (e.tax_rates_) config.tax_rates = &*e.tax_rates_;
  config.forms.summary_flag = options.summary_flag;
  config.forms.max_lines = options.form_lines;
  config.month_close_delay = options.month_close_hours * 3600;
  config.import_timeout = options.import_timeout_hours * 3600;
  config.export_timeout = options.export_timeout_days * 24 * 3600;
  e.clearance_ = std::make_unique<Clearance>(config);
  e.state_ = std::make_unique<EngineState>(
      e.store_.get(), e.batch_, e.secret_, e.meta_.has_registry,
      EngineState::Outputs{
          [&e](const Receipt& r) {
            if (e.metrics_) e.metrics_->Receipt(r);
            std::string line;
            EncodeReceipt(r, &line);
            e.Emit(OutputStream::kReceipts, r.orderNo, std::move(line));
          },
          [&e](DeadLetterCode code, std::string detail) {
            if (e.metrics_) e.metrics_->DeadLetter(DeadLetterCodeName(code));
            std::string line;
            EncodeDeadLetter({*e.current_source_, code, std::move(detail),
                              std::string(e.current_record_->bytes)},
                             &line, e.options_.mask_dead_letters);
            e.Emit(OutputStream::kDeadLetters, SourceKey(*e.current_source_),
                   std::move(line));
            e.current_dead_ = true;
          },
          [&e](const SummaryForm& f) {
            if (e.metrics_) e.metrics_->SummaryForm();
            std::string line;
            EncodeSummaryForm(f, &line);
            e.Emit(OutputStream::kSummaries,
                   absl::StrFormat("%s|%s|%s|%s|%s", f.ebcCode, f.trafMode,
                                   f.ownerCode, f.country, f.portCode),
                   std::move(line));
          }});
  e.state_->set_cache_entries(static_cast<size_t>(options.cache_entries));
  e.reaper_ = std::make_unique<Reaper>();
  e.state_->set_reaper(e.reaper_.get());
  st = e.state_->LoadTimers();
  if (st.ok() && e.fresh_) st = e.state_->NoteStartedEmpty();
  if (st.ok() && options.partitions > 0)
    st = e.SetPartitions(options.partitions);
  if (!st.ok()) return st;
  e.epoch_start_ = std::chrono::steady_clock::now();
  return engine;
}

absl::Status Engine::SetPartitions(int32_t n) {
  if (meta_.partitions != 0 && meta_.partitions != n) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "state %s holds orders laid out for %d partition(s) of orderNo, and "
        "the input has %d; a state cannot follow a change of partition "
        "count: start from a new state directory and replay the input",
        options_.state_dir, meta_.partitions, n));
  }
  // Written with the first commit, in the batch of the first state keys.
  meta_.partitions = n;
  state_->set_partitions(n);
  return absl::OkStatus();
}

Engine::~Engine() {
  // A background commit uses the batches and the sink.
  if (store_) store_->Await().IgnoreError();
  // The operators' state refers to the store: it goes first.
  state_.reset();
  store_.reset();
}

absl::Status Engine::LoadSecret() {
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
          "hmac secret file %s: cannot read a secret of at least 16 bytes",
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
absl::Status Engine::LoadRegistry(spdlog::logger* log) {
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
  int64_t loaded = 0;
  while ((*reader)->Next(&record)) {
    simdjson::padded_string json(record.bytes);
    simdjson::ondemand::document doc;
    std::string_view id, name;
    if (parser.iterate(json).get(doc) || doc["idNumber"].get_string().get(id) ||
        doc["name"].get_string().get(name) || id.empty() || name.empty()) {
      // The line itself may hold personal data: name only where it is.
      log->warn(absl::StrFormat(
          "%s:%d: not {\"idNumber\": ..., \"name\": ...}; skipped",
          options_.identity_registry, record.line));
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

absl::Status Engine::LoadTaxRates() {
  if (options_.tax_rates.empty()) return absl::OkStatus();
  std::ifstream in(options_.tax_rates, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrFormat("cannot read tax rates %s", options_.tax_rates));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto table = TaxRateTable::Parse(ss.str());
  if (!table.ok()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tax rates %s: %s", options_.tax_rates, table.status().message()));
  }
  tax_rates_ = *std::move(table);
  return absl::OkStatus();
}

absl::Status Engine::ForEachUnpublished(
    OutputStream s, int64_t from,
    const std::function<absl::Status(int64_t, std::string_view,
                                     std::string_view)>& visit) {
  const int i = static_cast<int>(s);
  auto it = store_->NewIterator(Store::kOutbox);
  const std::string end = OutboxKey(s, meta_.next_seq[i]);
  int64_t expected = from;
  for (it->Seek(OutboxKey(s, from)); it->Valid() && it->key().compare(end) < 0;
       it->Next()) {
    BinaryReader key(std::string_view(it->key().data(), it->key().size()));
    key.U8();
    const int64_t seq = static_cast<int64_t>(key.Fixed64());
    if (seq != expected) break;
    BinaryReader value(
        std::string_view(it->value().data(), it->value().size()));
    const std::string_view out_key = value.Bytes();
    const std::string_view line = value.Rest();
    if (!value.ok()) return absl::DataLossError("outbox record is corrupt");
    absl::Status st = visit(seq, out_key, line);
    if (!st.ok()) return st;
    ++expected;
  }
  if (!it->status().ok()) {
    return FromRocks(it->status(), "reading the outbox");
  }
  if (expected != meta_.next_seq[i]) {
    return absl::DataLossError(
        absl::StrFormat("state %s lacks outbox record %d of %s",
                        options_.state_dir, expected, OutputFileName(s)));
  }
  return absl::OkStatus();
}

void Engine::StartPublishing(OutputSink* sink) {
  sink_ = sink;
  published_ = meta_.next_seq;
}

void Engine::Emit(OutputStream s, std::string key, std::string line) {
  const int i = static_cast<int>(s);
  const int64_t seq = meta_.next_seq[i]++;
  std::string value;
  BinaryWriter(&value).Bytes(key);
  value.append(line);
  batch_->Put(store_->Handle(Store::kOutbox), OutboxKey(s, seq), value);
  outputs_.push_back({s, seq, std::move(key), std::move(line)});
}

std::optional<int64_t> Engine::Process(
    const DecodedRecord& record,
    const std::variant<FileSource, TopicSource>& source,
    std::optional<int64_t> watermark) {
  const DecodeOutcome& outcome = record.outcome;
  if (metrics_) {
    const DocType type = outcome.ok() ? TypeOf(record.doc) : DocType{};
    if (const auto* t = std::get_if<TopicSource>(&source)) {
      metrics_->Record(t->topic, outcome.ok() ? &type : nullptr);
    } else {
      metrics_->Record(std::get<FileSource>(source).file,
                       outcome.ok() ? &type : nullptr);
    }
    if (!outcome.ok()) metrics_->DeadLetter(DeadLetterCodeName(outcome.code()));
  }
  if (!outcome.ok()) {
    std::string line;
    EncodeDeadLetter(
        {source, outcome.code(), outcome.detail(), std::string(record.bytes)},
        &line, options_.mask_dead_letters);
    Emit(OutputStream::kDeadLetters, SourceKey(source), std::move(line));
    return std::nullopt;
  }
  current_source_ = &source;
  current_record_ = &record;
  current_dead_ = false;
  state_->set_watermark(watermark);
  state_->set_prepared(&record.doc, &record.state_form);
  clearance_->OnDocument(record.doc, *state_);
  state_->set_prepared(nullptr, nullptr);
  // A record that became a dead letter does not move the watermark.
  if (current_dead_) return std::nullopt;
  const int64_t t = ToEpochSeconds(HeadOf(record.doc).appTime);
  if (!meta_.watermark || t > *meta_.watermark) meta_.watermark = t;
  return t;
}

absl::Status Engine::FireTimers(int64_t limit, bool commit_between) {
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
      absl::Status st = CountAndMaybeCommit();
      if (!st.ok()) return st;
    }
  }
  return state_->status();
}

absl::Status Engine::Drain() {
  absl::Status st = FireTimers(INT64_MAX, /*commit_between=*/true);
  if (!st.ok()) return st;
  clearance_->OnEndOfInput(*state_);
  return state_->status();
}

absl::Status Engine::CountAndMaybeCommit() {
  ++epoch_records_;
  if (epoch_records_ >= options_.epoch_records ||
      std::chrono::steady_clock::now() - epoch_start_ >=
          std::chrono::milliseconds(options_.epoch_millis)) {
    return CommitEpoch();
  }
  return absl::OkStatus();
}

absl::Status Engine::CommitIfOld() {
  if ((epoch_records_ > 0 || !outputs_.empty()) &&
      std::chrono::steady_clock::now() - epoch_start_ >=
          std::chrono::milliseconds(options_.epoch_millis)) {
    return CommitEpoch();
  }
  return absl::OkStatus();
}

absl::Status Engine::Commit() {
  absl::Status st = CommitEpoch();
  if (st.ok()) st = Landed();
  if (st.ok() && metrics_) UpdateGauges();
  return st;
}

absl::Status Engine::Publish(const std::vector<Output>& outputs) {
  for (const Output& o : outputs) {
    absl::Status st = sink_->Publish(o.stream, o.seq, o.key, o.line);
    if (!st.ok()) return st;
  }
  return sink_->Flush();
}

absl::Status Engine::Landed() {
  if (in_flight_) {
    absl::Status st = store_->Await();
    if (!st.ok()) return st;
    in_flight_ = false;
    reaper_->Dispose(std::move(in_flight_outputs_));
    in_flight_outputs_.clear();  // moved from: make it empty for sure
    published_ = in_flight_next_seq_;
    last_commit_seconds_ = in_flight_seconds_;
    if (metrics_) metrics_->EpochCommitted(last_commit_seconds_);
  }
  state_->Forget();
  return absl::OkStatus();
}

absl::Status Engine::CommitEpoch() {
  const auto start = std::chrono::steady_clock::now();
  absl::Status st = Landed();
  if (!st.ok()) return st;
  if (position_source_) meta_.position = position_source_();
  state_->Flush();
  if (!state_->status().ok()) return state_->status();
  for (int i = 0; i < kOutputStreamCount; ++i) {
    const auto s = static_cast<OutputStream>(i);
    if (published_[i] > meta_.outbox_floor[i]) {
      batch_->DeleteRange(store_->Handle(Store::kOutbox),
                          OutboxKey(s, meta_.outbox_floor[i]),
                          OutboxKey(s, published_[i]));
      meta_.outbox_floor[i] = published_[i];
    }
  }
  batch_->Put(store_->Handle(Store::kMeta), kMetaKey, EncodeMeta(meta_));
  if (options_.overlap_commits) {
    rocksdb::WriteBatch* writing = batch_;
    batch_ = writing == &batches_[0] ? &batches_[1] : &batches_[0];
    batch_->Clear();
    state_->set_batch(batch_);
    in_flight_ = true;
    in_flight_outputs_ = std::move(outputs_);
    in_flight_next_seq_ = meta_.next_seq;
    store_->CommitInBackground(writing, [this, begun = start] {
      absl::Status published = Publish(in_flight_outputs_);
      in_flight_seconds_ = std::chrono::duration<double>(
                               std::chrono::steady_clock::now() - begun)
                               .count();
      return published;
    });
  } else {
    st = store_->Commit(batch_);
    if (!st.ok()) return st;
    batch_->Clear();
    st = Publish(outputs_);
    if (!st.ok()) return st;
    published_ = meta_.next_seq;
    last_commit_seconds_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (metrics_) metrics_->EpochCommitted(last_commit_seconds_);
  }
  outputs_.clear();
  epoch_records_ = 0;
  epoch_start_ = std::chrono::steady_clock::now();
  committed_ = true;
  if (metrics_) UpdateGauges();
  return absl::OkStatus();
}

void Engine::UpdateGauges(bool read_store) {
  if (!metrics_) return;
  metrics_->SetPending(state_->pending_lists(), state_->pending_shipments());
  // appTime is China Standard Time (UTC+8), kept as seconds since
  // 1970-01-01 00:00 CST.
  if (meta_.watermark) metrics_->SetWatermark(*meta_.watermark - 8 * 3600);
  int64_t outbox = 0;
  for (int i = 0; i < kOutputStreamCount; ++i) {
    outbox += meta_.next_seq[i] - meta_.outbox_floor[i];
  }
  metrics_->SetOutbox(outbox);
  // RocksDB's properties at most once a second.
  const auto now = std::chrono::steady_clock::now();
  if (read_store || now - store_figures_read_ >= std::chrono::seconds(1)) {
    store_figures_read_ = now;
    metrics_->SetStore(store_->ReadFigures());
  }
}

}  // namespace clearlane
