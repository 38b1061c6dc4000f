#include "pipeline/kafka/changelog_restore.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_format.h"
#include "pipeline/kafka/record_collector.h"
#include "pipeline/observe/metrics.h"
#include "state/changelog.h"
#include "state/keys.h"
#include "state/outbox.h"
#include "state/run_record.h"

namespace clearlane {
namespace {

using Clock = std::chrono::steady_clock;

// A restore commits its batch every so many records or bytes.
constexpr int64_t kBatchRecords = 20000;
constexpr size_t kBatchBytes = 32 << 20;
// Without a record for this long, the broker is taken as gone.
constexpr auto kPatience = std::chrono::seconds(60);

// A record's clearlane-seq; DataLoss for a record without one.
absl::StatusOr<int64_t> SequenceOrDataLoss(rd_kafka_message_t* m,
                                           const std::string& topic) {
  const std::optional<int64_t> seq = SequenceOf(m);
  if (seq) return *seq;
  return absl::DataLossError(absl::StrFormat(
      "changelog %s [%d] offset %d has no %s header: not a record clearlane "
      "writes",
      topic, m->partition, m->offset, kSeqHeader));
}

// Reads each partition p of `topic` with from[p] >= 0 from from[p] to
// end[p] (its high watermark, or its end when the broker says so first),
// all at once, passing each record to `visit`, which answers whether to
// go on with its partition; stops at visit's first error. Logs progress
// every 5 s when `log` is set.
absl::Status ReadPartitions(
    rd_kafka_t* reader, const std::string& topic,
    const std::vector<int64_t>& from, const std::vector<int64_t>& end,
    const Logger* log,
    absl::FunctionRef<absl::StatusOr<bool>(rd_kafka_message_t*)> visit) {
  const int32_t partitions = static_cast<int32_t>(from.size());
  std::vector<bool> done(partitions, true);
  int open = 0;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(partitions);
  for (int32_t p = 0; p < partitions; ++p) {
    if (from[p] < 0 || from[p] >= end[p]) continue;
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = from[p];
    done[p] = false;
    ++open;
  }
  rd_kafka_assign(reader, list);
  rd_kafka_topic_partition_list_destroy(list);
  absl::Status st;
  int64_t read = 0;
  auto progress = Clock::now(), logged = Clock::now();
  while (st.ok() && open > 0) {
    if (Clock::now() - progress > kPatience) {
      st = absl::UnavailableError(absl::StrFormat(
          "reading changelog %s: nothing read for %d s, %d partition(s) not "
          "read to their end",
          topic, std::chrono::seconds(kPatience).count(), open));
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(reader, 500);
    if (!m) continue;
    progress = Clock::now();
    const int32_t p = m->partition;
    if (p < 0 || p >= partitions || done[p]) {
      rd_kafka_message_destroy(m);
      continue;
    }
    bool at_end = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
    if (!m->err) {
      ++read;
      absl::StatusOr<bool> go_on = visit(m);
      st = go_on.status();
      at_end = !go_on.ok() || !*go_on || m->offset >= end[p] - 1;
    } else if (!at_end && log) {
      (*log)->warn(absl::StrFormat("reading changelog %s [%d]: %s", topic, p,
                                   rd_kafka_message_errstr(m)));
    }
    rd_kafka_message_destroy(m);
    if (at_end) {
      done[p] = true;
      --open;
    }
    if (log && Clock::now() - logged > std::chrono::seconds(5)) {
      logged = Clock::now();
      (*log)->info(absl::StrFormat(
          "reading changelog %s: %d records read, %d partition(s) to go", topic,
          read, open));
    }
  }
  rd_kafka_assign(reader, nullptr);
  return st;
}

// Reads partitions of a changelog from given offsets to their ends and
// applies each record numbered above the last one applied from its
// partition, in RocksDB batches; keeps the last run record read aside
// (the caller writes one last).
class ChangelogApplier {
 public:
  ChangelogApplier(rd_kafka_t* reader, const std::string& topic,
                   int32_t partitions, StateStore* store, const Logger& log,
                   Metrics* metrics)
      : reader_(reader),
        topic_(topic),
        store_(store),
        log_(log),
        metrics_(metrics),
        applied_seq_(partitions, -1),
        batch_(*store) {
    run_record_key_.assign(1, static_cast<char>(Store::kMeta));
    run_record_key_.append(kRunRecordKey);
  }

  // Records numbered `seq` or below are taken as applied in every
  // partition.
  void AppliedUpTo(int64_t seq) {
    std::fill(applied_seq_.begin(), applied_seq_.end(), seq);
  }

  // Reads partition p from `from[p]` to `end[p]` (the high watermark),
  // for each p with from[p] >= 0.
  absl::Status Apply(const std::vector<int64_t>& from,
                     const std::vector<int64_t>& end);

  // The batch the caller's last writes go into, then Commit.
  WriteBatch* batch() { return &batch_; }
  absl::Status Commit() {
    if (in_batch_ == 0 && batch_.Count() == 0) return absl::OkStatus();
    absl::Status c = store_->Commit(&batch_);
    batch_.Clear();
    if (metrics_ && in_batch_ > 0) metrics_->Restored(in_batch_);
    in_batch_ = 0;
    return c;
  }

  // The last run record read; empty when none was.
  const std::string& run_value() const { return run_value_; }
  // The greatest number applied, over the partitions.
  int64_t last_applied() const {
    return *std::max_element(applied_seq_.begin(), applied_seq_.end());
  }
  const RestoreResult& result() const { return result_; }

  // Applies one record when it is numbered above the last applied from
  // its partition.
  absl::Status ApplyRecord(rd_kafka_message_t* m);

  // The last number applied from partition p.
  int64_t applied_seq(int32_t p) const { return applied_seq_[p]; }

 private:
  rd_kafka_t* reader_;
  const std::string& topic_;
  StateStore* store_;
  const Logger& log_;
  Metrics* metrics_;
  std::string run_record_key_;
  std::string run_value_;
  std::vector<int64_t> applied_seq_;
  WriteBatch batch_;
  int64_t in_batch_ = 0;
  RestoreResult result_;
};

absl::Status ChangelogApplier::ApplyRecord(rd_kafka_message_t* m) {
  const int32_t p = m->partition;
  ++result_.read;
  result_.bytes += static_cast<int64_t>(m->key_len + m->len);
  auto seq = SequenceOrDataLoss(m, topic_);
  if (!seq.ok()) return seq.status();
  if (*seq <= applied_seq_[p]) return absl::OkStatus();
  applied_seq_[p] = *seq;
  ++result_.applied;
  ++in_batch_;
  const std::string_view key(static_cast<const char*>(m->key), m->key_len);
  std::optional<std::string_view> value;
  if (m->payload) value.emplace(static_cast<const char*>(m->payload), m->len);
  if (key == run_record_key_) {
    // Written last, after everything else: a state holding a run record
    // is a whole one (a restore cut short by a crash leaves a state
    // without it, which the next start restores again).
    if (!value || value->size() < 2 || (*value)[0] != 'P') {
      return absl::DataLossError(absl::StrFormat(
          "changelog %s [%d] offset %d: a run record that is not a put", topic_,
          p, m->offset));
    }
    run_value_.assign(value->substr(1));
  } else if (absl::Status st = ApplyChangelogRecord(key, value, &batch_);
             !st.ok()) {
    return st;
  }
  if (in_batch_ >= kBatchRecords || batch_.DataSize() >= kBatchBytes) {
    return Commit();
  }
  return absl::OkStatus();
}

absl::Status ChangelogApplier::Apply(const std::vector<int64_t>& from,
                                     const std::vector<int64_t>& end) {
  absl::Status st =
      ReadPartitions(reader_, topic_, from, end, &log_,
                     [this](rd_kafka_message_t* m) -> absl::StatusOr<bool> {
                       if (absl::Status a = ApplyRecord(m); !a.ok()) return a;
                       return true;
                     });
  if (st.ok()) st = Commit();
  return st;
}

// The partitions' bounds; DataLoss for one that no longer starts at 0.
absl::Status ReadBounds(rd_kafka_t* reader, const std::string& topic,
                        std::vector<int64_t>* low, std::vector<int64_t>* high) {
  for (int32_t p = 0; p < static_cast<int32_t>(low->size()); ++p) {
    auto bounds = WatermarkBounds(reader, topic, p);
    if (!bounds.ok()) return bounds.status();
    std::tie((*low)[p], (*high)[p]) = *bounds;
    if ((*low)[p] > 0) {
      // Compaction keeps offsets: a log that no longer starts at 0 lost
      // records to deletion (cleanup.policy delete, retention.bytes, a
      // DeleteRecords, or the embedded broker's size limit).
      return absl::DataLossError(absl::StrFormat(
          "changelog %s [%d] starts at offset %d, not 0: records before it "
          "were deleted, and a state restored without them would decide "
          "lists again; restore the state directory from a copy instead",
          topic, p, (*low)[p]));
    }
  }
  return absl::OkStatus();
}

// The run record `applier` read, counting everything it applied as
// published, into its batch; DataLoss when it read none.
absl::Status PutRestoredRunRecord(ChangelogApplier* applier,
                                  const std::string& topic) {
  if (applier->run_value().empty()) {
    return absl::DataLossError(absl::StrFormat(
        "changelog %s holds %d records but no run record: it was not "
        "written by clearlane run",
        topic, applier->result().read));
  }
  auto run = DecodeRunRecord(applier->run_value());
  if (!run.ok()) return run.status();
  RunRecord& r = *run;
  r.next_seq[static_cast<int>(OutputStream::kChangelog)] =
      applier->last_applied() + 1;
  r.outbox_floor = r.next_seq;
  PutRunRecord(r, applier->batch());
  return absl::OkStatus();
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

absl::StatusOr<RestoreResult> RestoreFromChangelog(
    rd_kafka_t* reader, const std::string& topic, int32_t partitions,
    StateStore* store, const Logger& log, Metrics* metrics) {
  std::vector<int64_t> low(partitions), high(partitions);
  if (absl::Status st = ReadBounds(reader, topic, &low, &high); !st.ok()) {
    return st;
  }
  const int open = static_cast<int>(
      std::count_if(high.begin(), high.end(), [](int64_t h) { return h > 0; }));
  if (open == 0) return RestoreResult{};
  const auto start = Clock::now();
  if (metrics) metrics->SetRestoring(true);
  log->info(absl::StrFormat(
      "state is new and changelog %s holds records in %d of %d partitions: "
      "restoring the state from it before consuming",
      topic, open, partitions));
  rd_kafka_poll_set_consumer(reader);
  ChangelogApplier applier(reader, topic, partitions, store, log, metrics);
  absl::Status st = applier.Apply(low, high);
  if (st.ok()) st = PutRestoredRunRecord(&applier, topic);
  if (st.ok()) st = applier.Commit();
  if (metrics) metrics->SetRestoring(false);
  if (!st.ok()) return st;
  const RestoreResult& result = applier.result();
  log->info(absl::StrFormat(
      "restored the state from %s: %d records read (%d bytes), %d applied, "
      "in %.1f s",
      topic, result.read, result.bytes, result.applied, SecondsSince(start)));
  return result;
}

absl::StatusOr<RestoreResult> CatchUpFromChangelog(
    rd_kafka_t* reader, const std::string& topic, int32_t partitions,
    const RunRecord& run, int64_t tombstone_retention_ms, int64_t now_ms,
    StateStore* store, const Logger& log, Metrics* metrics) {
  const int64_t next = run.next_seq[static_cast<int>(OutputStream::kChangelog)];
  if (next == 0) return RestoreResult{};
  std::vector<int64_t> low(partitions), high(partitions);
  if (absl::Status st = ReadBounds(reader, topic, &low, &high); !st.ok()) {
    return st;
  }
  const auto start = Clock::now();
  rd_kafka_poll_set_consumer(reader);
  ChangelogApplier applier(reader, topic, partitions, store, log, metrics);
  applier.AppliedUpTo(next - 1);
  // Each partition is read from `step` offsets before its end; one whose
  // first record there is already past the state's number (or that holds
  // only transaction markers there) is left for a step 8 times longer.
  // Numbers grow along a partition (a broker that shows an aborted
  // transaction shows its records again, with the same numbers, after
  // it), so a step that begins below the state's number holds the whole
  // tail, and its records are applied as they are read.
  enum class Step { kUnread, kHoldsTail, kTooShort };
  std::vector<bool> open(partitions);
  for (int32_t p = 0; p < partitions; ++p) open[p] = high[p] > low[p];
  int64_t looked_at = 0;  // offsets fetched from
  bool announced = false;
  absl::Status st;
  for (int64_t step = 64; st.ok(); step *= 8) {
    std::vector<int64_t> from(partitions, -1);
    for (int32_t p = 0; p < partitions; ++p) {
      if (open[p]) from[p] = std::max(low[p], high[p] - step);
    }
    if (std::all_of(from.begin(), from.end(),
                    [](int64_t f) { return f < 0; })) {
      break;
    }
    std::vector<Step> seen(partitions, Step::kUnread);
    // Whether a record past the state's number was read, its age checked.
    std::vector<bool> past(partitions, false);
    st = ReadPartitions(
        reader, topic, from, high, &log,
        [&](rd_kafka_message_t* m) -> absl::StatusOr<bool> {
          const int32_t p = m->partition;
          auto seq = SequenceOrDataLoss(m, topic);
          if (!seq.ok()) return seq.status();
          if (seen[p] == Step::kUnread) {
            looked_at += high[p] - from[p];
            if (*seq >= next && from[p] > low[p]) {
              seen[p] = Step::kTooShort;
              return false;
            }
            seen[p] = Step::kHoldsTail;
          }
          if (*seq >= next && !past[p]) {
            past[p] = true;
            const int64_t written = rd_kafka_message_timestamp(m, nullptr);
            if (written >= 0 && now_ms - written > tombstone_retention_ms) {
              return absl::FailedPreconditionError(absl::StrFormat(
                  "changelog %s holds records past this state written %d s "
                  "ago ([%d] offset %d), longer than it keeps tombstones "
                  "(delete.retention.ms %d): deletions since may be gone, "
                  "and a catch-up would keep what they deleted. Delete the "
                  "state directory: the next start restores it whole from "
                  "the changelog",
                  topic, (now_ms - written) / 1000, p, m->offset,
                  tombstone_retention_ms));
            }
          }
          if (absl::Status a = applier.ApplyRecord(m); !a.ok()) return a;
          if (!announced && applier.result().applied > 0) {
            announced = true;
            if (metrics) metrics->SetRestoring(true);
            log->info(absl::StrFormat(
                "state is behind changelog %s, which holds records numbered "
                "from %d (this state's next): applying the changelog's tail "
                "before consuming",
                topic, next));
          }
          return true;
        });
    for (int32_t p = 0; p < partitions; ++p) {
      // A step that holds the tail, or the whole partition, ends the
      // search; one of markers only, or past the state's number, does not.
      if (open[p] && (seen[p] == Step::kHoldsTail || from[p] == low[p])) {
        open[p] = false;
      }
    }
  }
  if (st.ok() && applier.result().applied > 0) {
    // Its newer self published what the outbox holds before it numbered
    // past it.
    RunRecord old = run;
    Outbox(store, &old).Trim(applier.batch(), old.next_seq);
    st = PutRestoredRunRecord(&applier, topic);
    if (st.ok()) st = applier.Commit();
  }
  if (metrics) metrics->SetRestoring(false);
  if (!st.ok()) return st;
  const RestoreResult& result = applier.result();
  if (result.applied == 0) return RestoreResult{};
  int behind = 0;
  for (int32_t p = 0; p < partitions; ++p) {
    if (applier.applied_seq(p) >= next) ++behind;
  }
  log->info(absl::StrFormat(
      "caught up from the changelog's tail in %s: %d of %d partitions held "
      "records past this state, found fetching from %d offsets back; %d "
      "records read (%d bytes), %d applied, changelog numbers %d to %d, in "
      "%.1f s",
      topic, behind, partitions, looked_at, result.read, result.bytes,
      result.applied, next, applier.last_applied(), SecondsSince(start)));
  return result;
}

}  // namespace clearlane
