// Every key layout of clearlane's stores (docs/engine.md "Stores" has them
// as a table), and the partition function that makes stage A's tasks.
//
// Each task's state is a key range, so a task can move to another process
// as a range (or a changelog of it): order keys and list timers lead with
// the partition of their orderNo; stage L's shipments and expiry timers
// with a hash of their logisticsNo; stage B with the keyed hash of the
// buyer's identity number. Keys of the point stores (store.h IsPointStore)
// start with 8 bytes of hash, which their memtables hash on.
//
// Integers in keys are big-endian (model/coding.h), so keys sort as the
// numbers do.
//
// Thread-safety: functions of their arguments.

#ifndef CLEARLANE_STATE_KEYS_H_
#define CLEARLANE_STATE_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "model/list_key.h"
#include "model/outputs.h"

namespace clearlane {

// Kafka's murmur2 hash of a record key, as the Java client's default
// partitioner (and librdkafka's "murmur2" partitioners) compute it.
uint32_t Murmur2(std::string_view key);

// The partition of `key` among `partitions` that the Java client picks:
// the hash with its sign bit cleared, modulo the count. Stage A's tasks
// are these partitions of orderNo, so a task's state is a key range in
// Kafka mode and replay alike.
inline int32_t PartitionOf(std::string_view key, int32_t partitions) {
  return static_cast<int32_t>((Murmur2(key) & 0x7fffffffu) %
                              static_cast<uint32_t>(partitions));
}

// Store::kMeta: the run record (run_record.h); the keyed check value of
// the secret the state was made with (never the secret itself, unless
// replay was left to make one at random: then kSecretKey holds it).
inline constexpr std::string_view kRunRecordKey = "run";
inline constexpr std::string_view kSecretKey = "hmac-secret";
inline constexpr std::string_view kSecretCheckKey = "hmac-check";
// A restore from the changelog under way, or a standby's: where it stands
// in each partition (pipeline/kafka/changelog_restore.h). Not logged.
inline constexpr std::string_view kRestoreProgressKey = "changelog-restore";
// How far the state reflects each changelog partition (state/changelog.h
// ChangelogCheckpoint). Not logged.
inline constexpr std::string_view kChangelogCheckpointKey =
    "changelog-checkpoint";
// Store::kMeta: a writer task's next sequence number for one partition of
// an exchange stream (pipeline/engine/writer_stamp.h): kWriterSeqPrefix,
// the writer task (4 bytes), the stream (1 byte), the destination
// partition (4 bytes). Logged with the writer's task.
inline constexpr std::string_view kWriterSeqPrefix = "writer-seq/";
std::string WriterSeqKey(int32_t writer, OutputStream s, int32_t partition);
// The writer task a kMeta key numbers for; nullopt when it is no
// WriterSeqKey.
std::optional<uint32_t> WriterOfSeqKey(std::string_view key);

// Store::kMeta: a task's input position (pipeline/kafka/topic_source.h
// TaskPositions): kTaskPositionPrefix, then the task (4 bytes). Logged
// with its task, so a task that moves finds where it stood.
inline constexpr std::string_view kTaskPositionPrefix = "position/";
std::string TaskPositionKey(int32_t task);
// The task a kMeta key holds the position of; nullopt when it is no
// TaskPositionKey.
std::optional<uint32_t> TaskOfPositionKey(std::string_view key);

// Store::kOrders: the stage A task (4 bytes: the partition of orderNo),
// XXH3-64 of orderNo (8 bytes), then orderNo.
std::string OrderKey(int32_t partitions, std::string_view orderNo);
// The orderNo an orders key names; nullopt when `key` is too short to be
// one.
std::optional<std::string_view> OrderNoOfKey(std::string_view key);
// The task an orders key leads with; nullopt when it is too short.
std::optional<uint32_t> TaskOfOrderKey(std::string_view key);

// Store::kLogistics: an import waybill's latest version: XXH3-64 of the
// rest, then 'I', the length-prefixed logisticsCode and the logisticsNo.
std::string WaybillKey(std::string_view logisticsCode,
                       std::string_view logisticsNo);
// Store::kLogistics: stage L's shipment of a logisticsNo: XXH3-64 of the
// rest, then 'E' and the logisticsNo.
std::string ShipmentKey(std::string_view logisticsNo);
// The logisticsNo of a shipment's key; nullopt for another logistics key.
std::optional<std::string_view> LogisticsNoOfShipmentKey(std::string_view key);
// The logisticsNo of either kind of logistics key (a waybill's or a
// shipment's); nullopt for a key that is neither.
std::optional<std::string_view> LogisticsNoOfKey(std::string_view key);

// Store::kBuyers: a buyer's released total for a year: the keyed hash of
// the identity number, then the year (4 bytes).
std::string TotalKey(std::string_view buyer, int year);
// The buyer a total's key names; nullopt when it is too short to be one.
std::optional<std::string_view> BuyerOfTotalKey(std::string_view key);

// Store::kSummaries: stage C's event time in Kafka mode (the greatest
// watermark its records brought; Task::ProcessExchange), a SignedVarint.
inline constexpr std::string_view kSummaryWatermarkKey = "W";
// Store::kSummaries: 'M' + period (4 bytes) for a month's state; 'L' +
// period + round (4 bytes each) + the list's ClosedListKey for a closed
// list waiting for its forms (operators/summary.h).
inline constexpr std::string_view kMonthKeyPrefix = "M";
std::string MonthKey(int32_t period);
std::optional<int32_t> PeriodOfMonthKey(std::string_view key);
// The first key of a round's closed lists; the next round's is its end.
std::string RoundPrefix(int32_t period, int32_t round);

// Whether a ListKey names a stage L expiry rather than a list.
inline bool IsShipmentExpiry(const ListKey& k) {
  return k.type == DocType::kCeb505;
}

// Store::kOutbox: the stream (1 byte), then the sequence number (8 bytes).
std::string OutboxKey(OutputStream s, int64_t seq);
// The sequence number of an outbox key; nullopt when it is not one.
std::optional<int64_t> SequenceOfOutboxKey(std::string_view key);

// Store::kRegistry: the keyed hash of the identity number (32 bytes). This
// sorts after every registry key.
inline constexpr std::string_view kRegistryEnd =
    "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
    "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";

}  // namespace clearlane

#endif  // CLEARLANE_STATE_KEYS_H_
