// Rebuilding a lost state directory from the changelog topic
// (state/changelog.h): `clearlane run` with a new state on a group whose
// changelog holds records restores from it before it consumes anything;
// one with a state behind the changelog applies the changelog's tail; a
// task that moves is caught up from its partitions; a standby follows the
// changelog into a state of its own. A restore and a catch-up leave the
// state's changelog checkpoint (state/changelog.h) at the ends they read.
//
// Every partition is read from its beginning to its end (read_committed)
// and applied in order, each record only when its clearlane-seq is above
// the last one applied from its partition of its instance (each instance
// numbers its own records), and, when the changelog's last
// run record is in layout 2 (state/changelog.h), only when it is in its
// key's partition (a broker that shows aborted
// transactions, as the embedded one does, shows an epoch published again
// after a crash twice; the copies are the same records). Then the run
// record is made to say that everything it counts is published (its
// outputs went in the transactions of its changelog records) and that the
// changelog goes on after the greatest number read, and is written last:
// a restore cut short leaves a state without a run record, which is new
// to the next start, and applying the whole changelog again over part of
// it gives the same state.
//
// Thread-safety: the caller's thread.

#ifndef CLEARLANE_PIPELINE_KAFKA_CHANGELOG_RESTORE_H_
#define CLEARLANE_PIPELINE_KAFKA_CHANGELOG_RESTORE_H_

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "pipeline/observe/log.h"
#include "state/run_record.h"
#include "state/store.h"

namespace clearlane {

class Metrics;

// How long the changelog keeps tombstones (its delete.retention.ms), and
// the wall clock (ms since the epoch). Compaction removes a deletion's
// tombstone that long after it; a state that lacks deletions logged
// longer ago than that cannot have them applied, and is refused
// (FailedPrecondition: delete it, and a restore rebuilds it whole, which
// needs no tombstones).
struct TombstoneRetention {
  int64_t retention_ms = 86400000;  // Kafka's default
  std::function<int64_t()> now_ms;
};

struct RestoreResult {
  bool restored = false;  // the state was written: open it again
  int64_t read = 0;       // records read
  int64_t applied = 0;    // of them applied (the others: copies, skipped)
  // Of them in layout 1 and not in their key's partition, skipped: the
  // changelog's last run record is in layout 2, whose whole log of the
  // state supersedes them (state/changelog.h).
  int64_t skipped = 0;
  int64_t bytes = 0;  // keys and values read
};

// Restores `topic` (`partitions` of them) into `store`, which must be a
// new state, with `reader` (a consumer outside the group). A changelog
// that holds no run record restores nothing (restored false, read 0 when
// it is empty); DataLoss on a record clearlane does not write, and on a
// partition that no longer starts at offset 0 (records deleted, not
// compacted: what is left would rebuild a state without them).
//
// A restore keeps, with each batch it commits, where it stands in each
// partition (kRestoreProgressKey), so one cut short by a crash, or a
// standby's state (FollowChangelog), goes on from there; the run record,
// written last with the progress record deleted, makes the state whole.
// Going on needs the tombstones logged since (TombstoneRetention).
// `metrics` may be null. With `own_run_record_only` (a group of many
// members), only `instance`'s run record is taken; without one, the
// state is restored without a run record (a member new to the group,
// whose engine starts its own).
absl::StatusOr<RestoreResult> RestoreFromChangelog(
    rd_kafka_t* reader, const std::string& topic, int32_t partitions,
    std::string_view instance, const TombstoneRetention& tombstones,
    StateStore* store, const Logger& log, Metrics* metrics,
    bool own_run_record_only = false);

// A state that is not new but behind its changelog (a state directory put
// back from an older copy, whose newer self went on and logged records
// numbered from `run`'s next changelog number up) applies only those
// records: each partition is read from where its records numbered below
// that end (found by reading back from its end in growing steps) to its
// end, and the changelog's last run record then replaces `run`'s, the
// outbox emptied (its newer self published what it held). A state that is
// not behind reads a few of each partition's last records and applies
// nothing (restored false). A catch-up cut short by a crash leaves the
// old run record, so the next start catches up again over what was
// applied: the same records in the same order give the same state. A
// state that has never logged (changelog number 0: written before
// clearlane kept a changelog) is left alone. Every record the state lacks
// was logged after the newest one it has; when that is longer ago than
// tombstones are kept, FailedPrecondition.
absl::StatusOr<RestoreResult> CatchUpFromChangelog(
    rd_kafka_t* reader, const std::string& topic, int32_t partitions,
    std::string_view instance, const RunRecord& run,
    const TombstoneRetention& tombstones, StateStore* store, const Logger& log,
    Metrics* metrics);

// A task that moved to this process, or came back to it, is caught up
// from its changelog partitions alone (docs/engine.md "What (d) and (a)
// must also get right", 2 and 3): each partition in `tasks` is read from
// the state's checkpoint (state/changelog.h) to its end, applying other
// instances' records, each numbered above the last of its instance
// applied, and this instance's only when numbered from `run`'s next
// changelog number up (a newer self's: the state holds the rest, and may
// hold them ahead of the log); the checkpoint then says those partitions
// are current, and keeps the others. A state without a checkpoint is
// FailedPrecondition (a restore and every start's catch-up make one);
// tombstones as for CatchUpFromChangelog.
absl::StatusOr<RestoreResult> CatchUpTasks(
    rd_kafka_t* reader, const std::string& topic, int32_t partitions,
    const std::vector<int32_t>& tasks, std::string_view instance,
    const RunRecord& run, const TombstoneRetention& tombstones,
    StateStore* store, const Logger& log, Metrics* metrics);

// Of `tasks`, those whose changelog partition holds, past the state's
// checkpoint, a record another instance wrote (its run record aside):
// another member ran the task after this state last had it. Reads those
// partitions from the checkpoint to their ends with `reader`, applying
// nothing. FailedPrecondition without a checkpoint.
absl::StatusOr<std::set<int32_t>> TasksRunElsewhere(
    rd_kafka_t* reader, const std::string& topic, int32_t partitions,
    const std::set<int32_t>& tasks, std::string_view instance,
    const StateStore& store);

// A standby: keeps `store` (a new state, or a standby's) a restore that
// never ends, reading every partition to its end about once a second and
// applying what it finds, with its progress, until `stop` says so. No
// run record is written: `clearlane run` on the state later goes on with
// the restore from where the standby stopped and reads only the rest.
// FailedPrecondition when it was away longer than tombstones are kept.
absl::Status FollowChangelog(rd_kafka_t* reader, const std::string& topic,
                             int32_t partitions, std::string_view instance,
                             const TombstoneRetention& tombstones,
                             absl::FunctionRef<bool()> stop, StateStore* store,
                             const Logger& log, Metrics* metrics);

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_KAFKA_CHANGELOG_RESTORE_H_
