// The writer's stamp on a record of the exchange between stages A and B
// (operators/allowance.h) as it travels through Kafka: which task wrote it
// and that task's number for the record's destination partition (design.md
// "How the guarantees are kept": each writer's sequence numbers, the
// reader's high-water mark per writer). A partition of the exchange has
// as many writers as there are tasks on the other side, in one process or
// several; each numbers its own records to it 0, 1, 2, ... in the order it
// wrote them, and the numbers are state of the writer's task (kMeta's
// WriterSeqKey, committed with the epoch that wrote the records and logged
// with the task), so a task that moves to another process or is restored
// from the changelog goes on with them. The reader (TopicRecordSource)
// keeps the last number it took from each writer of each partition, in
// its position, and takes a record only above it: a republished epoch and
// an aborted copy that a broker shows are the same stamps again.
//
// A stamped record is kStampVersion, the writer task (varint), the number
// (varint), then the record's own bytes. A record without the stamp was
// written by the version before it (one writer per partition, numbered by
// the outbox's clearlane-seq header): its writer is kUnstampedWriter.
//
// Thread-safety: functions of their arguments.

#ifndef CLEARLANE_PIPELINE_ENGINE_WRITER_STAMP_H_
#define CLEARLANE_PIPELINE_ENGINE_WRITER_STAMP_H_

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace clearlane {

inline constexpr uint8_t kStampVersion = 0x41;
// The writer of records written before stamps: the outbox of the one
// process that wrote every partition.
inline constexpr int32_t kUnstampedWriter = -1;
// The writer of stage C's watermark marks (operators/summary.h), every
// process's: a mark's number is its watermark, so the reader takes a mark
// only above the greatest it took, which is all stage C needs of them.
inline constexpr int32_t kWatermarkWriter = std::numeric_limits<int32_t>::max();

struct WriterStamp {
  int32_t writer = kUnstampedWriter;  // the task that wrote the record
  int64_t seq = -1;  // its number among the writer's records to a partition
  friend bool operator==(const WriterStamp&, const WriterStamp&) = default;
};

// `record` stamped.
std::string Stamped(WriterStamp stamp, std::string_view record);

// A stamped record's stamp, and in *record what it stamps. A record that
// carries no stamp (its first byte is not kStampVersion) is left as it is
// and gets {kUnstampedWriter, -1}. DataLoss for a stamp cut short or out
// of range.
absl::StatusOr<WriterStamp> Unstamp(std::string_view* record);

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_ENGINE_WRITER_STAMP_H_
