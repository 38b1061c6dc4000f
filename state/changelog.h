// The changelog: the state's changes as records of one compacted Kafka
// topic, from which `clearlane run` rebuilds a state directory that was
// lost (docs/engine.md "Changelog"; docs/kafka-mode.md).
//
// What is logged: every change to the stores that are the state (orders,
// logistics, buyers, summaries), the run record, which holds the input
// offsets and sequence numbers the state goes with, the writer tasks'
// numbers on the exchange (WriterSeqKey) and each task's input position
// (TaskPositionKey). Not logged: the outbox
// (what it holds is published with the changelog records of its epoch),
// the registry (loaded from its file at every start), the timers (derived),
// the secret or its check value (the secret stays with the operator) and
// the state's own place in the changelog (its checkpoint, a restore's
// progress).
//
// Each epoch's changes go through the outbox as a fourth stream
// (OutputStream::kChangelog), numbered, committed with the state and
// published in the epoch's transaction with its outputs, and published
// again after a crash as they are. A restore therefore applies, per
// partition, only records numbered above the last it applied: an aborted
// copy that a broker shows (the embedded one does) is the same record
// twice.
//
// A record's key is the store (1 byte) then the store's key; its value is
// 'P' then the value for a put, 'R' then the range's end for a deletion
// of [key, end), and none (a tombstone, which compaction removes with the
// key) for a deletion.
//
// Partition (layout 2): every key's is the task that owns it, so that a
// task moving to another process reads one partition (docs/engine.md
// "Scaling out", step 4 (b)): an orders key its stage A task (its first 4
// bytes, the partition of orderNo), a writer task's numbers their
// writer, a task's input position its task; a buyer's totals their stage B
// task, the partition of the buyer's keyed hash (where the exchange sends the
// buyer's requests); a waybill's or a shipment's state the partition of its
// logisticsNo (stage L's task); every summaries key partition 0, stage C's one
// task (which also keeps a month's puts before the range deletion of its
// round's closed lists: a restore keeps the order within a partition only).
// The run record is logged under a key of its instance's ("run/" and the
// instance.id: several instances writing one key would compact each other's
// away), every instance's in the partition of layout 1's one key ("run", by
// murmur2 as the Java client would), so the last run record is found in one
// partition. Every other change concerns one key, whose records all share a
// partition.
//
// Layout 1 (before 2026-12): buyers' totals and logistics keys by murmur2
// of the whole key, summaries by month. A state whose run record says
// layout 1 is logged whole in layout 2 at its next start
// (LogWholeStateIfNeeded); a restore from a changelog whose last run
// record says layout 2 skips the records that are not in their key's
// partition (RecordInItsPartition), which that whole log supersedes.
//
// Thread-safety: functions of their arguments.

#ifndef CLEARLANE_STATE_CHANGELOG_H_
#define CLEARLANE_STATE_CHANGELOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "state/outbox.h"
#include "state/run_record.h"
#include "state/store.h"

namespace clearlane {

// The stores whose changes a batch records for the changelog (a bit per
// Store, for WriteBatch::RecordChanges); kMeta's are filtered by key.
uint32_t ChangeloggedStores();

// The changelog record of `change`, or nullopt when it is not logged (a
// key of kMeta other than the run record and the tasks' keys). `value`
// empty: a tombstone. The run record is logged under `instance`'s key.
struct ChangelogRecord {
  std::string key;
  std::string value;
};
std::optional<ChangelogRecord> ToChangelogRecord(const Change& change,
                                                 std::string_view instance);

// Whether a changelog key is a run record's: layout 1's one key (which
// `instance` leaves empty), or an instance's (`instance` set to it).
bool IsRunRecordLogKey(std::string_view key,
                       std::optional<std::string_view>* instance = nullptr);

// The changelog layout this clearlane writes (RunRecord::changelog_layout).
inline constexpr int32_t kChangelogLayout = 2;

// The partition of a changelog record among `partitions` (layout 2).
int32_t ChangelogPartition(std::string_view key, int32_t partitions);

// Whether a record read from `partition` is where layout 2 puts its key;
// one that is not was logged in layout 1.
inline bool RecordInItsPartition(std::string_view key, int32_t partition,
                                 int32_t partitions) {
  return ChangelogPartition(key, partitions) == partition;
}

// How far a state reflects each partition of its changelog (the local
// checkpoint of a task that moves, docs/engine.md "What (d) and (a) must
// also get right", 2 and 3): per partition, the offset past the last
// record the state holds, and the last number applied of each other
// instance whose records were applied (a copy of one, as the embedded
// broker shows an aborted transaction's, comes later with that number).
// This instance's own records are in the state whenever numbered below
// its next changelog number (the state commits an epoch before it
// publishes it), wherever the offset stands: the offset may lag. A
// partition whose marks name this instance too is read back with its
// records (RebuildTasks).
// Also when (ms since the epoch) each partition was last known reflected
// to a point written then or later (-1: never), which says whether the
// deletions logged since are still there (tombstones, changelog_restore.h).
struct ChangelogCheckpoint {
  std::vector<int64_t> offsets;
  std::vector<int64_t> current_at;
  std::vector<std::map<std::string, int64_t, std::less<>>> marks;
};
std::string EncodeChangelogCheckpoint(const ChangelogCheckpoint& c);
// DataLoss when `bytes` do not read.
absl::StatusOr<ChangelogCheckpoint> DecodeChangelogCheckpoint(
    std::string_view bytes);
// The state's checkpoint; nullopt when it has none (a state from before
// checkpoints, or one that never met its changelog).
absl::StatusOr<std::optional<ChangelogCheckpoint>> ReadChangelogCheckpoint(
    const StateStore& store);

// The tasks (changelog partitions among `partitions`) are to be read back
// whole from their changelog, this instance's records included: their
// logged state is deleted in `batch` (every key whose changelog record
// goes to one of their partitions, the run record aside) and `c` made to
// say that the state holds nothing of their partitions, with a mark of
// `instance` at -1 (ChangelogCheckpoint), which the caller puts in
// `batch`. A member of many drops an epoch it committed and did not
// publish once its tasks ran elsewhere (docs/engine.md "Point 4").
absl::Status RebuildTasks(StateStore* store,
                          const absl::flat_hash_set<int32_t>& tasks,
                          int32_t partitions, std::string_view instance,
                          ChangelogCheckpoint* c, WriteBatch* batch);

// Restore: puts the change a record holds into `batch` (a null `value` is
// a tombstone). DataLoss when the record is not one clearlane writes.
absl::Status ApplyChangelogRecord(std::string_view key,
                                  std::optional<std::string_view> value,
                                  WriteBatch* batch);

// A state that has history the changelog lacks (one written before
// clearlane kept a changelog: its run record's changelog count is 0 while
// it is not new), or whose changelog is in an older layout (its run
// record's changelog_layout below kChangelogLayout), is logged whole: every key
// of the logged stores, as puts, into `outbox`'s changelog stream, committed in
// chunks; the caller publishes them as a restart publishes what it did not (the
// outbox's recovery). A marker in kMeta says a snapshot is under way, so one
// cut short by a crash is made again from the start. Returns the records logged
// (0 when the state needs none).
absl::StatusOr<int64_t> LogWholeStateIfNeeded(StateStore* store, Outbox* outbox,
                                              RunRecord* run,
                                              std::string_view instance);

}  // namespace clearlane

#endif  // CLEARLANE_STATE_CHANGELOG_H_
