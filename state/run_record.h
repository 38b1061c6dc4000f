// The run record: what a state directory says of the run that wrote it,
// committed with every epoch under kRunRecordKey in Store::kMeta. It holds
// the driver's input position (opaque here: files and offsets in replay,
// partitions and offsets in Kafka mode), the event time reached, the
// outbox's sequence numbers, whether an identity registry is loaded, and
// stage A's partition count (the key layout of keys.h depends on it).
//
// A record written by an older clearlane, whose keys were laid out
// differently, is refused with a message saying so; a damaged one is
// DataLoss.
//
// Thread-safety: a value type and functions of their arguments.

#ifndef CLEARLANE_STATE_RUN_RECORD_H_
#define CLEARLANE_STATE_RUN_RECORD_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "model/outputs.h"
#include "state/store.h"

namespace clearlane {

enum class RunStatus : uint8_t {
  kRunning = 0,   // processing input
  kKeptOpen = 1,  // input ended with --keep-open; a later run continues
  kDrained = 2,   // input ended and every timer fired
};

struct RunRecord {
  RunStatus status = RunStatus::kRunning;
  // The driver's input position; empty until the first epoch commits.
  std::string position;
  // The watermark that fires timers (engine/partition_group.h), seconds.
  std::optional<int64_t> watermark;
  // The outbox (outbox.h): the next sequence number of each stream, and
  // the first one still kept.
  // Indexed by OutputStream, the changelog's included.
  std::array<int64_t, kOutboxStreamCount> next_seq{};
  std::array<int64_t, kOutboxStreamCount> outbox_floor{};
  bool has_registry = false;
  int32_t partitions = 0;  // stage A's task count; 0: not yet set
  // The partitioning of the changelog records this state logs
  // (state/changelog.h kChangelogLayout; 1 for a record older than
  // version 7).
  int32_t changelog_layout = 2;
};

std::string EncodeRunRecord(const RunRecord& r);
absl::StatusOr<RunRecord> DecodeRunRecord(std::string_view bytes);

// The run record of `store`; nullopt for a new state.
absl::StatusOr<std::optional<RunRecord>> ReadRunRecord(const StateStore& store);
void PutRunRecord(const RunRecord& r, WriteBatch* batch);

}  // namespace clearlane

#endif  // CLEARLANE_STATE_RUN_RECORD_H_
