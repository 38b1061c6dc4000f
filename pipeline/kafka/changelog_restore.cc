#include "pipeline/kafka/changelog_restore.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_format.h"
#include "model/coding.h"
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
  // `instance`: whose run record the state takes (RunRecordRank).
  ChangelogApplier(rd_kafka_t* reader, const std::string& topic,
                   int32_t partitions, std::string_view instance,
                   StateStore* store, const Logger& log, Metrics* metrics)
      : reader_(reader),
        topic_(topic),
        instance_(instance),
        store_(store),
        log_(log),
        metrics_(metrics),
        floor_(partitions, -1),
        batch_(*store) {
    at_.offsets.assign(partitions, 0);
    at_.current_at.assign(partitions, -1);
    at_.marks.resize(partitions);
  }

  // Only this instance's run record is taken (a group of many members:
  // another's is that member's own, its outbox and position).
  void TakeOwnRunRecordOnly() { own_only_ = true; }
  bool own_run_record_only() const { return own_only_; }

  // Records not in their key's partition (layout 1's) are skipped from
  // now on.
  void SkipMisplaced() { skip_misplaced_ = true; }
  bool skips_misplaced() const { return skip_misplaced_; }

  // This instance's records numbered below `next` are in the state (it
  // commits an epoch before it publishes it): never applied again.
  void OwnBelow(int64_t next) { own_below_ = next; }
  // Goes on from a checkpoint of as many partitions: where each
  // partition stands and the other instances' marks.
  void FromCheckpoint(const ChangelogCheckpoint& c) {
    if (c.offsets.size() == at_.offsets.size()) at_ = c;
  }
  // Puts the state's checkpoint: where the applier stands, partition p
  // (with read[p]) reflected at least up to end[p]; the others as `kept`
  // had them (nullopt: every partition read).
  // `read` partitions were read to `end`, their ends at `read_at_ms`
  // (wall clock): what comes after was logged later.
  void PutCheckpoint(const std::vector<bool>& read,
                     const std::vector<int64_t>& end, int64_t read_at_ms,
                     const std::optional<ChangelogCheckpoint>& kept) {
    ChangelogCheckpoint c = at_;
    for (size_t p = 0; p < c.offsets.size(); ++p) {
      if (read[p]) {
        c.offsets[p] = std::max(end[p], c.offsets[p]);
        c.current_at[p] = std::max(c.current_at[p], read_at_ms);
      } else if (kept && kept->offsets.size() == c.offsets.size()) {
        c.offsets[p] = kept->offsets[p];
        c.current_at[p] = kept->current_at[p];
        c.marks[p] = kept->marks[p];
      }
    }
    batch_.Put(Store::kMeta, kChangelogCheckpointKey,
               EncodeChangelogCheckpoint(c));
  }

  // Records numbered `seq` or below, of any instance, are taken as
  // applied in every partition.
  void AppliedUpTo(int64_t seq) {
    std::fill(floor_.begin(), floor_.end(), seq);
  }

  // Keeps, with every commit, where the restore stands in each partition
  // and the last run record read (kRestoreProgressKey), so that a
  // restore cut short, or a standby, goes on from there. Returns whether
  // the state held such a record (then read from it); DataLoss when it is
  // damaged.
  absl::StatusOr<bool> KeepProgress();
  // Where each partition is to be read from next: after the last record
  // read (the partition's start until one is, or where the progress
  // record said).
  const std::vector<int64_t>& next_offsets() const { return at_.offsets; }
  // When (wall clock, ms) each partition was last known read to a point
  // written then or later: the newest timestamp of its records read, or
  // when its end was last read (-1: never). A deletion the state lacks
  // was logged after it.
  const std::vector<int64_t>& current_at() const { return at_.current_at; }
  // Partition p was read to its end as it stood at `at_ms`.
  void ReadToEndAt(int32_t p, int64_t at_ms) {
    at_.current_at[p] = std::max(at_.current_at[p], at_ms);
  }

  // Reads partition p from `from[p]` to `end[p]` (the high watermark),
  // for each p with from[p] >= 0, and applies its records; what the last
  // batch holds is the caller's to Commit.
  absl::Status Apply(const std::vector<int64_t>& from,
                     const std::vector<int64_t>& end);

  // The batch the caller's last writes go into, then Commit. While
  // progress is kept, every commit writes it, even with nothing else.
  WriteBatch* batch() { return &batch_; }
  absl::Status Commit() {
    if (keep_progress_) {
      PutProgress();
    } else if (in_batch_ == 0 && batch_.Count() == 0) {
      return absl::OkStatus();
    }
    absl::Status c = store_->Commit(&batch_);
    batch_.Clear();
    if (metrics_ && in_batch_ > 0) metrics_->Restored(in_batch_);
    in_batch_ = 0;
    return c;
  }
  // The restore is whole: no progress to keep any more.
  void Finish() {
    keep_progress_ = false;
    batch_.Delete(Store::kMeta, kRestoreProgressKey);
  }

  // The run record the state takes of those read (RunRecordRank); empty
  // when none was read.
  const std::string& run_value() const { return run_value_; }
  // The greatest number applied, over the partitions and instances.
  int64_t last_applied() const {
    int64_t last = -1;
    for (size_t p = 0; p < floor_.size(); ++p) {
      last = std::max(last, applied_seq(static_cast<int32_t>(p)));
    }
    return last;
  }
  const RestoreResult& result() const { return result_; }

  // Applies one record, numbered `seq` (its clearlane-seq), when that is
  // above the last applied from its partition of its instance (each
  // instance numbers its own records: a partition holds several
  // instances' once a task has moved) and above the floor.
  absl::Status ApplyRecord(rd_kafka_message_t* m, int64_t seq);

  // The greatest number applied from partition p, over its instances.
  int64_t applied_seq(int32_t p) const {
    int64_t last = floor_[p];
    for (const auto& [instance, seq] : at_.marks[p]) {
      last = std::max(last, seq);
    }
    return last;
  }

 private:
  void PutProgress();

  // How much the state wants the run record of a changelog key that is
  // one: this instance's (3) before layout 1's one key (2, written before
  // run records were per instance), before another instance's (1: the
  // instance.id was changed, and the state goes on from its
  // predecessor's); the latest read of the best rank wins.
  int RunRecordRank(std::optional<std::string_view> instance) const {
    if (instance && *instance == instance_) return 3;
    if (own_only_) return 0;
    return instance ? 1 : 2;
  }

  rd_kafka_t* reader_;
  const std::string& topic_;
  const std::string instance_;
  StateStore* store_;
  const Logger& log_;
  Metrics* metrics_;
  std::string run_value_;
  int run_rank_ = 0;
  int64_t own_below_ = -1;
  // Per partition: records numbered up to the floor are applied, of any
  // instance.
  std::vector<int64_t> floor_;
  // Where the applier stands in each partition, when it was last current,
  // and the last number applied of each instance: what the state's
  // checkpoint says once the records applied are committed.
  ChangelogCheckpoint at_;
  bool keep_progress_ = false;
  bool skip_misplaced_ = false;
  bool own_only_ = false;
  WriteBatch batch_;
  int64_t in_batch_ = 0;
  RestoreResult result_;
};

// The restore's progress: a 0 byte and the version (2), where the
// applier stands (a changelog checkpoint, state/changelog.h), the
// partitions' floors, then the run record taken and its rank. Version 1
// had no leading 0 (it began with the partition count, never 0), per
// partition its next offset, one number (read as the floor) and when it
// was current, then layout 1's one run record.
absl::StatusOr<bool> ChangelogApplier::KeepProgress() {
  keep_progress_ = true;
  auto stored = store_->Get(Store::kMeta, kRestoreProgressKey);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return false;
  const std::string& bytes = **stored;
  BinaryReader r(bytes);
  const bool v1 = !bytes.empty() && bytes[0] != 0;
  ChangelogCheckpoint at;
  std::vector<int64_t> floor;
  if (v1) {
    const uint64_t partitions = r.Varint();
    for (uint64_t p = 0; p < partitions && r.ok() && p < bytes.size(); ++p) {
      at.offsets.push_back(r.SignedVarint());
      floor.push_back(r.SignedVarint());
      at.current_at.push_back(r.SignedVarint());
    }
    at.marks.resize(at.offsets.size());
  } else {
    if (r.U8() != 0 || r.U8() != 2) {
      return absl::DataLossError(absl::StrFormat(
          "state %s: the record of its restore is of an unknown version",
          store_->path()));
    }
    auto decoded = DecodeChangelogCheckpoint(r.Bytes());
    if (!decoded.ok()) return decoded.status();
    at = *std::move(decoded);
    for (size_t p = 0; p < at.offsets.size() && r.ok(); ++p) {
      floor.push_back(r.SignedVarint());
    }
  }
  run_value_ = std::string(r.Bytes());
  run_rank_ = v1 ? RunRecordRank(std::nullopt) : r.U8();
  if (!r.ok() || !r.done()) {
    return absl::DataLossError(absl::StrFormat(
        "state %s: the record of its restore is corrupt", store_->path()));
  }
  if (at.offsets.size() != floor_.size()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "state %s holds a restore from a changelog of %d partitions, and "
        "%s has %d: delete the state directory to restore it anew",
        store_->path(), at.offsets.size(), topic_, floor_.size()));
  }
  at_ = std::move(at);
  floor_ = std::move(floor);
  return true;
}

void ChangelogApplier::PutProgress() {
  std::string out;
  BinaryWriter w(&out);
  w.U8(0);
  w.U8(2);
  w.Bytes(EncodeChangelogCheckpoint(at_));
  for (int64_t f : floor_) w.SignedVarint(f);
  w.Bytes(run_value_);
  w.U8(static_cast<uint8_t>(run_rank_));
  batch_.Put(Store::kMeta, kRestoreProgressKey, out);
}

absl::Status ChangelogApplier::ApplyRecord(rd_kafka_message_t* m, int64_t seq) {
  const int32_t p = m->partition;
  ++result_.read;
  result_.bytes += static_cast<int64_t>(m->key_len + m->len);
  at_.offsets[p] = std::max(at_.offsets[p], m->offset + 1);
  at_.current_at[p] =
      std::max(at_.current_at[p], rd_kafka_message_timestamp(m, nullptr));
  if (seq <= floor_[p]) return absl::OkStatus();
  // A record without the header: the binary before, which ran alone.
  const std::string_view writer = InstanceOf(m).value_or(std::string_view());
  auto& marks = at_.marks[p];
  auto mark = marks.find(writer);
  // This instance's records are in the state, unless its partition is
  // being read back whole (a mark of this instance's: RebuildTasks).
  if (writer == instance_ && seq < own_below_ && mark == marks.end()) {
    return absl::OkStatus();
  }
  if (mark == marks.end()) {
    marks.emplace(std::string(writer), seq);
  } else if (seq <= mark->second) {
    return absl::OkStatus();
  } else {
    mark->second = seq;
  }
  const std::string_view key(static_cast<const char*>(m->key), m->key_len);
  if (skip_misplaced_ &&
      !RecordInItsPartition(key, p, static_cast<int32_t>(floor_.size()))) {
    ++result_.skipped;
    return absl::OkStatus();
  }
  ++result_.applied;
  ++in_batch_;
  std::optional<std::string_view> value;
  if (m->payload) value.emplace(static_cast<const char*>(m->payload), m->len);
  if (std::optional<std::string_view> of; IsRunRecordLogKey(key, &of)) {
    // Written last, after everything else: a state holding a run record
    // is a whole one (a restore cut short by a crash leaves a state
    // without it, which the next start restores again).
    if (!value || value->size() < 2 || (*value)[0] != 'P') {
      return absl::DataLossError(absl::StrFormat(
          "changelog %s [%d] offset %d: a run record that is not a put", topic_,
          p, m->offset));
    }
    if (const int rank = RunRecordRank(of); rank > 0 && rank >= run_rank_) {
      run_rank_ = rank;
      run_value_.assign(value->substr(1));
    }
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
  return ReadPartitions(reader_, topic_, from, end, &log_,
                        [this](rd_kafka_message_t* m) -> absl::StatusOr<bool> {
                          auto seq = SequenceOrDataLoss(m, topic_);
                          if (!seq.ok()) return seq.status();
                          if (absl::Status a = ApplyRecord(m, *seq); !a.ok()) {
                            return a;
                          }
                          return true;
                        });
}

// The partitions' bounds; DataLoss for one that no longer starts at or
// before `from` (0 for each when empty).
absl::Status ReadBounds(rd_kafka_t* reader, const std::string& topic,
                        std::vector<int64_t>* low, std::vector<int64_t>* high,
                        const std::vector<int64_t>& from = {}) {
  for (int32_t p = 0; p < static_cast<int32_t>(low->size()); ++p) {
    auto bounds = WatermarkBounds(reader, topic, p);
    if (!bounds.ok()) return bounds.status();
    std::tie((*low)[p], (*high)[p]) = *bounds;
    const int64_t needed = from.empty() ? 0 : from[p];
    if ((*low)[p] > needed) {
      // Compaction keeps offsets: a log that no longer starts at 0 lost
      // records to deletion (cleanup.policy delete, retention.bytes, a
      // DeleteRecords, or the embedded broker's size limit).
      return absl::DataLossError(absl::StrFormat(
          "changelog %s [%d] starts at offset %d, not %d: records before it "
          "were deleted, and a state restored without them would decide "
          "lists again; restore the state directory from a copy instead",
          topic, p, (*low)[p], needed));
    }
  }
  return absl::OkStatus();
}

// OK when every deletion logged after `current_at` (ms) is still in the
// changelog: compaction removes a tombstone `retention_ms` after it.
absl::Status TombstonesKept(const std::string& topic, int32_t p,
                            int64_t current_at, const TombstoneRetention& t) {
  const int64_t now = t.now_ms();
  if (current_at >= 0 && now - current_at <= t.retention_ms) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrFormat(
      "changelog %s [%d] holds records this state lacks, logged after %s, "
      "longer ago than it keeps tombstones (delete.retention.ms %d): "
      "deletions since may be gone, and applying the rest would keep what "
      "they deleted. Delete the state directory: the next start restores "
      "it whole from the changelog",
      topic, p,
      current_at < 0
          ? std::string("a time it cannot tell")
          : absl::StrFormat("a point %d s ago", (now - current_at) / 1000),
      t.retention_ms));
}

// The changelog layout of the last run record in `topic` (whose partition
// holds every run record), read back from that partition's end in growing
// steps; nullopt when it holds none.
absl::StatusOr<std::optional<int32_t>> LastRunRecordLayout(
    rd_kafka_t* reader, const std::string& topic,
    const std::vector<int64_t>& low, const std::vector<int64_t>& high) {
  const auto partitions = static_cast<int32_t>(low.size());
  std::string key(1, static_cast<char>(Store::kMeta));
  key.append(kRunRecordKey);
  const int32_t r = ChangelogPartition(key, partitions);
  for (int64_t step = 64;; step *= 8) {
    std::vector<int64_t> from(partitions, -1);
    from[r] = std::max(low[r], high[r] - step);
    std::string last;
    absl::Status st = ReadPartitions(
        reader, topic, from, high, nullptr,
        [&](rd_kafka_message_t* m) -> absl::StatusOr<bool> {
          if (m->payload && m->len > 1 &&
              IsRunRecordLogKey(std::string_view(
                  static_cast<const char*>(m->key), m->key_len))) {
            last.assign(static_cast<const char*>(m->payload) + 1, m->len - 1);
          }
          return true;
        });
    if (!st.ok()) return st;
    if (!last.empty()) {
      auto run = DecodeRunRecord(last);
      if (!run.ok()) return run.status();
      return run->changelog_layout;
    }
    if (from[r] <= low[r]) return std::nullopt;
  }
}

// Skips layout 1's records from now on when the changelog's last run
// record is in layout 2 (with one partition, every record is in its).
absl::Status DecideLayout(rd_kafka_t* reader, const std::string& topic,
                          const std::vector<int64_t>& low,
                          const std::vector<int64_t>& high,
                          ChangelogApplier* applier) {
  if (low.size() <= 1 || applier->skips_misplaced()) return absl::OkStatus();
  auto layout = LastRunRecordLayout(reader, topic, low, high);
  if (!layout.ok()) return layout.status();
  if (*layout && **layout >= 2) applier->SkipMisplaced();
  return absl::OkStatus();
}

// The run record `applier` read, counting everything it applied as
// published, into its batch; DataLoss when it read none.
absl::Status PutRestoredRunRecord(ChangelogApplier* applier,
                                  const std::string& topic) {
  if (applier->run_value().empty() && applier->own_run_record_only()) {
    // A member new to the group: the state holds the tasks' data, and the
    // engine starts a run record of its own (its outputs numbered from 0
    // under its instance.id, its tasks' positions read at assignment).
    applier->Finish();
    return absl::OkStatus();
  }
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
  applier->Finish();
  PutRunRecord(r, applier->batch());
  return absl::OkStatus();
}

// A restore that goes on in a partition p from from[p] > 0 holds what p
// had before it, so the deletions p logged since must still be there;
// one that reads p from its start holds none of p's keys and needs none,
// and one with nothing to read (from[p] >= high[p]) reads no record.
absl::Status TombstonesKeptPast(const ChangelogApplier& applier,
                                const std::string& topic,
                                const std::vector<int64_t>& from,
                                const std::vector<int64_t>& high,
                                const TombstoneRetention& t) {
  for (int32_t p = 0; p < static_cast<int32_t>(from.size()); ++p) {
    if (from[p] == 0 || from[p] >= high[p]) continue;
    if (absl::Status kept =
            TombstonesKept(topic, p, applier.current_at()[p], t);
        !kept.ok()) {
      return kept;
    }
  }
  return absl::OkStatus();
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

absl::StatusOr<RestoreResult> RestoreFromChangelog(
    rd_kafka_t* reader, const std::string& topic, int32_t partitions,
    std::string_view instance, const TombstoneRetention& tombstones,
    StateStore* store, const Logger& log, Metrics* metrics,
    bool own_run_record_only) {
  ChangelogApplier applier(reader, topic, partitions, instance, store, log,
                           metrics);
  if (own_run_record_only) applier.TakeOwnRunRecordOnly();
  auto resuming = applier.KeepProgress();
  if (!resuming.ok()) return resuming.status();
  const std::vector<int64_t> from = applier.next_offsets();
  std::vector<int64_t> low(partitions), high(partitions);
  const int64_t bounds_at = tombstones.now_ms();
  if (absl::Status st = ReadBounds(reader, topic, &low, &high, from);
      !st.ok()) {
    return st;
  }
  if (absl::Status kept =
          TombstonesKeptPast(applier, topic, from, high, tombstones);
      !kept.ok()) {
    return kept;
  }
  int open = 0;
  for (int32_t p = 0; p < partitions; ++p) open += from[p] < high[p];
  if (open == 0 && !*resuming) {
    // Nothing to restore: the new state reflects the empty changelog,
    // and its epochs move the checkpoint on from here.
    applier.Finish();
    applier.PutCheckpoint(std::vector<bool>(partitions, true), high, bounds_at,
                          std::nullopt);
    if (absl::Status st = applier.Commit(); !st.ok()) return st;
    return RestoreResult{};
  }
  const auto start = Clock::now();
  if (metrics) metrics->SetRestoring(true);
  if (*resuming) {
    log->info(absl::StrFormat(
        "state is a restore under way (a standby's, or one cut short) from "
        "changelog %s, which holds more in %d of %d partitions: going on "
        "with it before consuming",
        topic, open, partitions));
  } else {
    log->info(absl::StrFormat(
        "state is new and changelog %s holds records in %d of %d partitions: "
        "restoring the state from it before consuming",
        topic, open, partitions));
  }
  rd_kafka_poll_set_consumer(reader);
  absl::Status st = DecideLayout(reader, topic, low, high, &applier);
  if (st.ok()) st = applier.Apply(from, high);
  if (st.ok()) st = PutRestoredRunRecord(&applier, topic);
  if (st.ok()) {
    applier.PutCheckpoint(std::vector<bool>(partitions, true), high, bounds_at,
                          std::nullopt);
    st = applier.Commit();
  }
  if (metrics) metrics->SetRestoring(false);
  if (!st.ok()) return st;
  RestoreResult result = applier.result();
  result.restored = true;
  log->info(absl::StrFormat(
      "restored the state from %s: %d records read (%d bytes), %d applied, "
      "%d skipped (layout 1's, superseded), in %.1f s",
      topic, result.read, result.bytes, result.applied, result.skipped,
      SecondsSince(start)));
  return result;
}

absl::Status FollowChangelog(rd_kafka_t* reader, const std::string& topic,
                             int32_t partitions, std::string_view instance,
                             const TombstoneRetention& tombstones,
                             absl::FunctionRef<bool()> stop, StateStore* store,
                             const Logger& log, Metrics* metrics) {
  ChangelogApplier applier(reader, topic, partitions, instance, store, log,
                           metrics);
  auto resuming = applier.KeepProgress();
  if (!resuming.ok()) return resuming.status();
  rd_kafka_poll_set_consumer(reader);
  log->info(absl::StrFormat(
      "standby: following changelog %s into state %s%s; to take over, stop "
      "it and start run on this state (with the instance.id it replaces)",
      topic, store->path(),
      *resuming ? ", from where it stands" : ", from its beginning"));
  bool caught_up = false;
  int64_t applied_logged = 0;
  auto logged = Clock::now();
  while (!stop()) {
    const std::vector<int64_t> from = applier.next_offsets();
    std::vector<int64_t> low(partitions), high(partitions);
    const int64_t bounds_at = tombstones.now_ms();
    if (absl::Status st = ReadBounds(reader, topic, &low, &high, from);
        !st.ok()) {
      return st;
    }
    // A standby that has been away (stopped, or cut off) longer than
    // tombstones are kept cannot go on from where it stands.
    if (absl::Status kept =
            TombstonesKeptPast(applier, topic, from, high, tombstones);
        !kept.ok()) {
      return kept;
    }
    if (absl::Status st = DecideLayout(reader, topic, low, high, &applier);
        !st.ok()) {
      return st;
    }
    if (absl::Status st = applier.Apply(from, high); !st.ok()) return st;
    for (int32_t p = 0; p < partitions; ++p) applier.ReadToEndAt(p, bounds_at);
    if (metrics) metrics->StandbyCurrent(bounds_at);
    const RestoreResult& r = applier.result();
    if (!caught_up || (r.applied > applied_logged &&
                       Clock::now() - logged > std::chrono::seconds(10))) {
      log->info(absl::StrFormat(
          "standby: %s changelog %s: %d records read, %d applied, up to "
          "changelog number %d",
          caught_up ? "following" : "at the end of", topic, r.read, r.applied,
          applier.last_applied()));
      caught_up = true;
      applied_logged = r.applied;
      logged = Clock::now();
    }
    // When the standby was last at the ends, kept with what it applied
    // (a small write a second while nothing changes).
    if (absl::Status st = applier.Commit(); !st.ok()) return st;
    for (int i = 0; i < 10 && !stop(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RestoreResult> CatchUpFromChangelog(
    rd_kafka_t* reader, const std::string& topic, int32_t partitions,
    std::string_view instance, const RunRecord& run,
    const TombstoneRetention& tombstones, StateStore* store, const Logger& log,
    Metrics* metrics) {
  const int64_t next = run.next_seq[static_cast<int>(OutputStream::kChangelog)];
  if (next == 0) return RestoreResult{};
  std::vector<int64_t> low(partitions), high(partitions);
  const int64_t bounds_at = tombstones.now_ms();
  if (absl::Status st = ReadBounds(reader, topic, &low, &high); !st.ok()) {
    return st;
  }
  const auto start = Clock::now();
  rd_kafka_poll_set_consumer(reader);
  ChangelogApplier applier(reader, topic, partitions, instance, store, log,
                           metrics);
  auto kept = ReadChangelogCheckpoint(*store);
  if (!kept.ok()) return kept.status();
  if (*kept) applier.FromCheckpoint(**kept);
  applier.AppliedUpTo(next - 1);
  if (absl::Status st = DecideLayout(reader, topic, low, high, &applier);
      !st.ok()) {
    return st;
  }
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
  // The newest timestamp of a record the state has (ms; -1: none read),
  // and the first partition found holding records it lacks.
  int64_t own_written = -1;
  int32_t first_behind = -1;
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
          if (*seq < next) {
            // Every record the state lacks was logged after this one.
            own_written =
                std::max(own_written, rd_kafka_message_timestamp(m, nullptr));
          } else if (first_behind < 0) {
            first_behind = p;
          }
          if (absl::Status a = applier.ApplyRecord(m, *seq); !a.ok()) {
            return a;
          }
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
    // Checked before the last commit; what earlier commits applied is
    // applied again by the next catch-up, or deleted with the state.
    st = TombstonesKept(topic, first_behind, own_written, tombstones);
    if (st.ok()) {
      // Its newer self published what the outbox holds before it
      // numbered past it.
      RunRecord old = run;
      Outbox(store, &old).Trim(applier.batch(), old.next_seq);
      st = PutRestoredRunRecord(&applier, topic);
    }
  }
  if (st.ok()) {
    // Caught up (or current): the state reflects every partition to the
    // end it read.
    applier.PutCheckpoint(std::vector<bool>(partitions, true), high, bounds_at,
                          *kept);
    st = applier.Commit();
  }
  if (metrics) metrics->SetRestoring(false);
  if (!st.ok()) return st;
  RestoreResult result = applier.result();
  if (result.applied == 0) return RestoreResult{};
  result.restored = true;
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

namespace {

// The state's checkpoint of `partitions`; FailedPrecondition without one.
absl::StatusOr<ChangelogCheckpoint> CheckpointOf(const StateStore& store,
                                                 const std::string& topic,
                                                 int32_t partitions) {
  auto kept = ReadChangelogCheckpoint(store);
  if (!kept.ok()) return kept.status();
  if (!*kept || (*kept)->offsets.size() != static_cast<size_t>(partitions)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "state %s has no checkpoint of changelog %s's %d partitions: a task "
        "is caught up from one (a restore and every start make it)",
        store.path(), topic, partitions));
  }
  return **std::move(kept);
}

}  // namespace

absl::StatusOr<std::set<int32_t>> TasksRunElsewhere(
    rd_kafka_t* reader, const std::string& topic, int32_t partitions,
    const std::set<int32_t>& tasks, std::string_view instance,
    const StateStore& store) {
  auto kept = CheckpointOf(store, topic, partitions);
  if (!kept.ok()) return kept.status();
  std::vector<int64_t> from(partitions, -1), end(partitions, 0);
  for (int32_t t : tasks) {
    if (t < 0 || t >= partitions) continue;
    auto bounds = WatermarkBounds(reader, topic, t);
    if (!bounds.ok()) return bounds.status();
    from[t] = kept->offsets[t];
    end[t] = bounds->second;
  }
  std::set<int32_t> elsewhere;
  rd_kafka_poll_set_consumer(reader);
  absl::Status st = ReadPartitions(
      reader, topic, from, end, nullptr,
      [&](rd_kafka_message_t* m) -> absl::StatusOr<bool> {
        const std::string_view key(static_cast<const char*>(m->key),
                                   m->key_len);
        if (InstanceOf(m).value_or(std::string_view()) == instance ||
            IsRunRecordLogKey(key)) {
          return true;
        }
        elsewhere.insert(m->partition);
        return false;  // one is enough
      });
  if (!st.ok()) return st;
  return elsewhere;
}

absl::StatusOr<RestoreResult> CatchUpTasks(
    rd_kafka_t* reader, const std::string& topic, int32_t partitions,
    const std::vector<int32_t>& tasks, std::string_view instance,
    const RunRecord& run, const TombstoneRetention& tombstones,
    StateStore* store, const Logger& log, Metrics* metrics) {
  auto kept = CheckpointOf(*store, topic, partitions);
  if (!kept.ok()) return kept.status();
  ChangelogApplier applier(reader, topic, partitions, instance, store, log,
                           metrics);
  applier.FromCheckpoint(*kept);
  applier.OwnBelow(run.next_seq[static_cast<int>(OutputStream::kChangelog)]);
  std::vector<int64_t> from(partitions, -1);
  std::vector<bool> read(partitions, false);
  // ReadBounds's check: a partition read from its checkpoint must still
  // start there; the others are not read.
  std::vector<int64_t> needed(partitions, INT64_MAX);
  for (int32_t t : tasks) {
    if (t < 0 || t >= partitions) continue;
    from[t] = needed[t] = kept->offsets[t];
    read[t] = true;
  }
  std::vector<int64_t> low(partitions), high(partitions);
  const int64_t bounds_at = tombstones.now_ms();
  if (absl::Status st = ReadBounds(reader, topic, &low, &high, needed);
      !st.ok()) {
    return st;
  }
  for (int32_t p = 0; p < partitions; ++p) {
    // A partition read from its start needs no tombstones.
    if (!read[p] || from[p] == 0 || from[p] >= high[p]) continue;
    if (absl::Status st =
            TombstonesKept(topic, p, applier.current_at()[p], tombstones);
        !st.ok()) {
      return st;
    }
  }
  const auto start = Clock::now();
  rd_kafka_poll_set_consumer(reader);
  if (metrics) metrics->SetRestoring(true);
  absl::Status st = DecideLayout(reader, topic, low, high, &applier);
  if (st.ok()) st = applier.Apply(from, high);
  if (st.ok()) {
    applier.PutCheckpoint(read, high, bounds_at, *kept);
    st = applier.Commit();
  }
  if (metrics) metrics->SetRestoring(false);
  if (!st.ok()) return st;
  RestoreResult result = applier.result();
  result.restored = result.applied > 0;
  log->info(absl::StrFormat(
      "caught up %d task(s) from changelog %s past the state's checkpoint: "
      "%d records read (%d bytes), %d applied, in %.1f s",
      tasks.size(), topic, result.read, result.bytes, result.applied,
      SecondsSince(start)));
  return result;
}

}  // namespace clearlane
