#include "pipeline/kafka/changelog_restore.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "pipeline/kafka/record_collector.h"
#include "pipeline/observe/metrics.h"
#include "state/changelog.h"
#include "state/keys.h"
#include "state/run_record.h"

namespace clearlane {
namespace {

using Clock = std::chrono::steady_clock;

// A restore commits its batch every so many records or bytes.
constexpr int64_t kBatchRecords = 20000;
constexpr size_t kBatchBytes = 32 << 20;
// Without a record for this long, the broker is taken as gone.
constexpr auto kPatience = std::chrono::seconds(60);

}  // namespace

absl::StatusOr<RestoreResult> RestoreFromChangelog(
    rd_kafka_t* reader, const std::string& topic, int32_t partitions,
    StateStore* store, const Logger& log, Metrics* metrics) {
  RestoreResult result;
  // The partitions that hold records, and where each ends.
  std::vector<int64_t> end(partitions, -1);
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(partitions);
  int open = 0;
  for (int32_t p = 0; p < partitions; ++p) {
    auto bounds = WatermarkBounds(reader, topic, p);
    if (!bounds.ok()) {
      rd_kafka_topic_partition_list_destroy(list);
      return bounds.status();
    }
    const auto [low, high] = *bounds;
    if (low > 0) {
      // Compaction keeps offsets: a log that no longer starts at 0 lost
      // records to deletion (cleanup.policy delete, retention.bytes, a
      // DeleteRecords, or the embedded broker's size limit).
      rd_kafka_topic_partition_list_destroy(list);
      return absl::DataLossError(absl::StrFormat(
          "changelog %s [%d] starts at offset %d, not 0: records before it "
          "were deleted, and a state restored without them would decide "
          "lists again; restore the state directory from a copy instead",
          topic, p, low));
    }
    if (high <= low) continue;
    end[p] = high;
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = low;
    ++open;
  }
  if (open == 0) {
    rd_kafka_topic_partition_list_destroy(list);
    return result;
  }
  if (metrics) metrics->SetRestoring(true);
  log->info(absl::StrFormat(
      "state is new and changelog %s holds records in %d of %d partitions: "
      "restoring the state from it before consuming",
      topic, open, partitions));
  rd_kafka_poll_set_consumer(reader);
  rd_kafka_assign(reader, list);
  rd_kafka_topic_partition_list_destroy(list);

  std::string run_record_key(1, static_cast<char>(Store::kMeta));
  run_record_key.append(kRunRecordKey);
  std::string run_value;  // the latest run record read
  std::vector<int64_t> applied_seq(partitions, -1);
  std::vector<bool> done(partitions, false);
  WriteBatch batch(*store);
  int64_t in_batch = 0;
  absl::Status st;
  const auto start = Clock::now();
  auto progress = start, logged = start;
  auto commit = [&] {
    if (in_batch == 0) return absl::OkStatus();
    absl::Status c = store->Commit(&batch);
    batch.Clear();
    if (metrics) metrics->Restored(in_batch);
    in_batch = 0;
    return c;
  };
  while (st.ok() && open > 0) {
    if (Clock::now() - progress > kPatience) {
      st = absl::UnavailableError(absl::StrFormat(
          "restoring from %s: nothing read for %d s, %d partition(s) not "
          "read to their end",
          topic, std::chrono::seconds(kPatience).count(), open));
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(reader, 500);
    if (!m) continue;
    progress = Clock::now();
    const int32_t p = m->partition;
    const bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
    if (m->err && !eof) {
      log->warn(absl::StrFormat("restoring from %s [%d]: %s", topic, p,
                                rd_kafka_message_errstr(m)));
    } else if (!m->err) {
      ++result.read;
      result.bytes += static_cast<int64_t>(m->key_len + m->len);
      const std::optional<int64_t> seq = SequenceOf(m);
      if (!seq) {
        st = absl::DataLossError(absl::StrFormat(
            "changelog %s [%d] offset %d has no %s header: not a record "
            "clearlane writes",
            topic, p, m->offset, kSeqHeader));
      } else if (*seq > applied_seq[p]) {
        applied_seq[p] = *seq;
        ++result.applied;
        ++in_batch;
        const std::string_view key(static_cast<const char*>(m->key),
                                   m->key_len);
        std::optional<std::string_view> value;
        if (m->payload) {
          value.emplace(static_cast<const char*>(m->payload), m->len);
        }
        if (key == run_record_key) {
          // Written last, after everything else: a state holding a run
          // record is a whole one (a restore cut short by a crash leaves
          // a state without it, which the next start restores again).
          if (!value || value->size() < 2 || (*value)[0] != 'P') {
            st = absl::DataLossError(absl::StrFormat(
                "changelog %s [%d] offset %d: a run record that is not a "
                "put",
                topic, p, m->offset));
          } else {
            run_value.assign(value->substr(1));
          }
        } else {
          st = ApplyChangelogRecord(key, value, &batch);
        }
        if (st.ok() &&
            (in_batch >= kBatchRecords || batch.DataSize() >= kBatchBytes)) {
          st = commit();
        }
      }
    }
    const bool at_end = p >= 0 && p < partitions &&
                        (eof || (!m->err && m->offset >= end[p] - 1));
    rd_kafka_message_destroy(m);
    if (at_end && !done[p]) {
      done[p] = true;
      --open;
    }
    if (Clock::now() - logged > std::chrono::seconds(5)) {
      logged = Clock::now();
      log->info(
          absl::StrFormat("restoring: %d records read, %d partition(s) "
                          "to go",
                          result.read, open));
    }
  }
  if (st.ok()) st = commit();
  if (metrics) metrics->SetRestoring(false);
  if (!st.ok()) return st;

  // The run record the changelog brought, counting everything it numbers
  // as published.
  if (run_value.empty()) {
    return absl::DataLossError(absl::StrFormat(
        "changelog %s holds %d records but no run record: it was not "
        "written by clearlane run",
        topic, result.read));
  }
  auto run = DecodeRunRecord(run_value);
  if (!run.ok()) return run.status();
  RunRecord& r = *run;
  int64_t last = -1;
  for (int64_t s : applied_seq) last = std::max(last, s);
  r.next_seq[static_cast<int>(OutputStream::kChangelog)] = last + 1;
  r.outbox_floor = r.next_seq;
  PutRunRecord(r, &batch);
  if (absl::Status c = store->Commit(&batch); !c.ok()) return c;
  log->info(absl::StrFormat(
      "restored the state from %s: %d records read (%d bytes), %d applied, "
      "in %.1f s",
      topic, result.read, result.bytes, result.applied,
      std::chrono::duration<double>(Clock::now() - start).count()));
  return result;
}

}  // namespace clearlane
