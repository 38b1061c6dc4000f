// The changelog: the state's changes as records of one compacted Kafka
// topic, from which `clearlane run` rebuilds a state directory that was
// lost (docs/engine.md "Changelog"; docs/kafka-mode.md).
//
// What is logged: every change to the stores that are the state (orders,
// logistics, buyers, summaries), the run record, which holds the input
// offsets and sequence numbers the state goes with, and the writer tasks'
// numbers on the exchange (WriterSeqKey). Not logged: the outbox
// (what it holds is published with the changelog records of its epoch),
// the registry (loaded from its file at every start), the timers (derived)
// and the secret or its check value (the secret stays with the operator).
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
// key) for a deletion. Partition: an orders key's own task (its first 4
// bytes, the partition of orderNo), so a task's changes share the input
// partition's number, and so do a writer task's numbers; a summaries key
// by its month (all of a month's keys
// together, since a round's closed lists are dropped by one range
// deletion, and a restore keeps the order within a partition only); other
// keys by murmur2 of the key, as the Java client would. Every other change
// concerns one key, whose records all share a partition.
//
// Thread-safety: functions of their arguments.

#ifndef CLEARLANE_STATE_CHANGELOG_H_
#define CLEARLANE_STATE_CHANGELOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "state/outbox.h"
#include "state/run_record.h"
#include "state/store.h"

namespace clearlane {

// The stores whose changes a batch records for the changelog (a bit per
// Store, for WriteBatch::RecordChanges); kMeta's are filtered by key.
uint32_t ChangeloggedStores();

// The changelog record of `change`, or nullopt when it is not logged (a
// key of kMeta other than the run record). `value` empty: a tombstone.
struct ChangelogRecord {
  std::string key;
  std::string value;
};
std::optional<ChangelogRecord> ToChangelogRecord(const Change& change);

// The partition of a changelog record among `partitions`.
int32_t ChangelogPartition(std::string_view key, int32_t partitions);

// Restore: puts the change a record holds into `batch` (a null `value` is
// a tombstone). DataLoss when the record is not one clearlane writes.
absl::Status ApplyChangelogRecord(std::string_view key,
                                  std::optional<std::string_view> value,
                                  WriteBatch* batch);

// A state that has history the changelog lacks (one written before
// clearlane kept a changelog: its run record's changelog count is 0 while
// it is not new) is logged whole: every key of the logged stores, as
// puts, into `outbox`'s changelog stream, committed in chunks; the caller
// publishes them as a restart publishes what it did not (the outbox's
// recovery). A marker in kMeta says a snapshot is under way, so one cut
// short by a crash is made again from the start. Returns the records
// logged (0 when the state needs none).
absl::StatusOr<int64_t> LogWholeStateIfNeeded(StateStore* store, Outbox* outbox,
                                              RunRecord* run);

}  // namespace clearlane

#endif  // CLEARLANE_STATE_CHANGELOG_H_
