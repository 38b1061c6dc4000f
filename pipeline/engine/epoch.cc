#include "pipeline/engine/epoch.h"

#include <signal.h>

#include <algorithm>

#include "model/event_time.h"
#include "pipeline/observe/metrics.h"
#include "state/changelog.h"
#include "state/keys.h"

namespace clearlane {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

EpochCommitter::EpochCommitter(StateStore* store, RunRecord* run,
                               Outbox* outbox, TaskContext* state,
                               Reaper* reaper, Options options)
    : store_(store),
      run_(run),
      outbox_(outbox),
      state_(state),
      reaper_(reaper),
      options_(options),
      batches_{std::make_unique<WriteBatch>(*store),
               std::make_unique<WriteBatch>(*store)},
      batch_(batches_[0].get()),
      start_(Clock::now()),
      published_(run->next_seq) {
  if (options_.changelog) {
    for (auto& b : batches_) b->RecordChanges(ChangeloggedStores());
  }
}

EpochCommitter::~EpochCommitter() {
  // A background commit uses the batches and the sink.
  store_->Await().IgnoreError();
}

void EpochCommitter::StartPublishing(OutputSink* sink) {
  sink_ = sink;
  write_ahead_ = sink->writes_ahead();
  published_ = run_->next_seq;
}

void EpochCommitter::Emit(OutputStream s, std::string key, std::string line) {
  if (write_ahead_) {
    const int64_t seq = outbox_->Skip(s);
    ahead_bytes_ += line.size() + 1;
    absl::Status st = sink_->Publish(s, seq, key, line);
    if (!st.ok() && sink_status_.ok()) sink_status_ = std::move(st);
    return;
  }
  const int64_t seq = outbox_->Append(batch_, s, key, line);
  outputs_.push_back({s, seq, std::move(key), std::move(line)});
}

bool EpochCommitter::Old() const {
  return Clock::now() - start_ >= std::chrono::milliseconds(options_.millis);
}

absl::Status EpochCommitter::Count() {
  if (++records_ >= options_.records || Old()) return CommitEpoch();
  return absl::OkStatus();
}

absl::Status EpochCommitter::CommitIfOld() {
  if (Holds() && Old()) return CommitEpoch();
  return absl::OkStatus();
}

absl::Status EpochCommitter::CommitIfCaughtUp() {
  return Holds() ? CommitEpoch() : absl::OkStatus();
}

absl::Status EpochCommitter::Commit() {
  absl::Status st = CommitEpoch();
  if (st.ok()) st = Landed();
  if (st.ok()) UpdateGauges();
  return st;
}

absl::Status EpochCommitter::Publish(const std::vector<Output>& outputs,
                                     double* seconds) {
  if (write_ahead_) return absl::OkStatus();  // they went to the sink
  if (kill_before_publish_ > 0 &&
      std::any_of(outputs.begin(), outputs.end(),
                  [](const Output& o) {
                    return o.stream == OutputStream::kReceipts;
                  }) &&
      ++epochs_with_decisions_ == kill_before_publish_) {
    raise(SIGKILL);
  }
  const auto start = Clock::now();
  absl::Status st;
  for (const Output& o : outputs) {
    st = sink_->Publish(o.stream, o.seq, o.key, o.line);
    if (!st.ok()) break;
  }
  if (st.ok()) st = sink_->Flush();
  *seconds = SecondsSince(start);
  return st;
}

absl::Status EpochCommitter::Landed() {
  if (in_flight_) {
    absl::Status st = store_->Await();
    if (!st.ok()) return st;
    in_flight_ = false;
    reaper_->Dispose(std::move(in_flight_outputs_));
    in_flight_outputs_.clear();  // moved from: make it empty for sure
    published_ = in_flight_next_seq_;
    last_commit_seconds_ = in_flight_seconds_;
    if (metrics_) {
      metrics_->EpochCommitted(last_commit_seconds_,
                               in_flight_publish_seconds_);
    }
  }
  state_->Forget(options_.cache_entries, reaper_);
  return absl::OkStatus();
}

absl::Status EpochCommitter::CommitEpoch() {
  if (holding_) return absl::OkStatus();
  const auto start = Clock::now();
  absl::Status st = Landed();
  if (st.ok()) st = sink_status_;
  if (!st.ok()) return st;
  if (position_source_) run_->position = position_source_();
  if (changelog_ends_source_) {
    st = MoveCheckpoint(changelog_ends_source_());
    if (!st.ok()) return st;
  }
  if (task_positions_source_) {
    for (auto& [task, bytes] : task_positions_source_()) {
      std::string& written = task_positions_[task];
      if (written == bytes) continue;
      batch_->Put(Store::kMeta, TaskPositionKey(task), bytes);
      written = std::move(bytes);
    }
  }
  state_->SendWatermarkMark(run_->watermark);
  state_->Flush(batch_);
  if (st = state_->status(); !st.ok()) return st;
  outbox_->Trim(batch_, published_);
  PutRunRecord(*run_, batch_);
  if (options_.changelog) LogChanges();
  if (space_check_) {
    // The batch goes to the WAL now and to a table file at the next
    // flush; the outputs to their files.
    uint64_t bytes = 2 * uint64_t{batch_->DataSize()} + ahead_bytes_;
    for (const Output& o : outputs_) bytes += o.line.size() + 1;
    st = space_check_(bytes);
    if (!st.ok()) return st;
  }
  if (write_ahead_) {
    // The outputs reach the files before the state that produced them;
    // they are made durable on the commit's thread, before its write.
    st = sink_->Flush();
    if (!st.ok()) return st;
    ahead_bytes_ = 0;
  }
  const auto sync_ahead = [this] {
    return write_ahead_ ? sink_->Sync() : absl::OkStatus();
  };
  if (options_.overlap) {
    WriteBatch* writing = batch_;
    batch_ =
        writing == batches_[0].get() ? batches_[1].get() : batches_[0].get();
    batch_->Clear();
    in_flight_ = true;
    in_flight_outputs_ = std::move(outputs_);
    in_flight_next_seq_ = run_->next_seq;
    in_flight_publish_seconds_ = 0;
    store_->CommitInBackground(writing, sync_ahead, [this, start] {
      absl::Status published =
          Publish(in_flight_outputs_, &in_flight_publish_seconds_);
      in_flight_seconds_ = SecondsSince(start);
      return published;
    });
  } else {
    st = sync_ahead();
    if (st.ok()) st = store_->Commit(batch_);
    if (!st.ok()) return st;
    batch_->Clear();
    double publish_seconds = 0;
    st = Publish(outputs_, &publish_seconds);
    if (!st.ok()) return st;
    published_ = run_->next_seq;
    last_commit_seconds_ = SecondsSince(start);
    if (metrics_) {
      metrics_->EpochCommitted(last_commit_seconds_, publish_seconds);
    }
  }
  outputs_.clear();
  records_ = 0;
  start_ = Clock::now();
  committed_ = true;
  UpdateGauges();
  return absl::OkStatus();
}

absl::Status EpochCommitter::MoveCheckpoint(
    const std::vector<ChangelogEnd>& ends) {
  if (ends.empty()) return absl::OkStatus();
  // A state with no checkpoint gets one from a restore or a catch-up,
  // which know every partition; the ends of some would not.
  auto checkpoint = ReadChangelogCheckpoint(*store_);
  if (!checkpoint.ok()) return checkpoint.status();
  if (!*checkpoint) return absl::OkStatus();
  ChangelogCheckpoint& c = **checkpoint;
  for (const ChangelogEnd& e : ends) {
    const auto p = static_cast<size_t>(e.partition);
    if (p >= c.offsets.size()) continue;
    c.offsets[p] = std::max(c.offsets[p], e.offset);
    c.current_at[p] = std::max(c.current_at[p], e.timestamp_ms);
  }
  batch_->Put(Store::kMeta, kChangelogCheckpointKey,
              EncodeChangelogCheckpoint(c));
  return absl::OkStatus();
}

void EpochCommitter::LogChanges() {
  // The changes include the run record just put; the outbox entries
  // below are not recorded (the outbox is not logged).
  int64_t records = 0, bytes = 0;
  for (const Change& c : batch_->changes()) {
    std::optional<ChangelogRecord> r = ToChangelogRecord(c, options_.instance);
    if (!r) continue;
    ++records;
    bytes += static_cast<int64_t>(r->key.size() + r->value.size());
    const int64_t seq =
        outbox_->Append(batch_, OutputStream::kChangelog, r->key, r->value);
    outputs_.push_back({OutputStream::kChangelog, seq, std::move(r->key),
                        std::move(r->value)});
  }
  if (metrics_) metrics_->Changelogged(records, bytes);
  // The run record the state keeps counts the changelog's numbers just
  // taken (the changelog's copy does not: a restore counts them itself).
  PutRunRecord(*run_, batch_);
}

void EpochCommitter::UpdateGauges(bool read_store) {
  if (!metrics_) return;
  metrics_->SetPending(state_->pending_lists(), state_->awaiting_allowance(),
                       state_->pending_shipments());
  if (run_->watermark) metrics_->SetWatermark(ToUnixSeconds(*run_->watermark));
  metrics_->SetOutbox(outbox_->size());
  // RocksDB's properties at most once a second.
  const auto now = Clock::now();
  if (read_store || now - store_figures_read_ >= std::chrono::seconds(1)) {
    store_figures_read_ = now;
    metrics_->SetStore(store_->ReadFigures());
  }
}

}  // namespace clearlane
