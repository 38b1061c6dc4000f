// RecordSource: where the driver loop (driver.h) takes its records from:
// files in replay and the load test, Kafka partitions in `clearlane run`.
// A source hands out batches of decoded records in the order they must be
// processed, keeps the position of what has been processed (committed
// with every epoch, so that a restart continues after it), and names a
// record's origin as dead letters and metrics name it.
//
// Thread-safety: one thread, the driver's.

#ifndef CLEARLANE_PIPELINE_ENGINE_RECORD_SOURCE_H_
#define CLEARLANE_PIPELINE_ENGINE_RECORD_SOURCE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "model/dead_letter.h"
#include "pipeline/engine/decoder.h"

namespace clearlane {

class RecordSource {
 public:
  virtual ~RecordSource() = default;

  // The next batch of decoded records, the caller's until the next call;
  // empty when nothing came in time (a quiet topic), at the end of the
  // input (then ended()), or on an error (then status() is not ok).
  virtual absl::Span<DecodedRecord> Next() = 0;
  virtual bool ended() const = 0;
  virtual absl::Status status() const = 0;
  // Whether the last Next took everything the source had (a topic's
  // consumer held nothing more): the driver then commits the open epoch
  // at once, for latency. A file is never caught up before its end.
  virtual bool caught_up() const { return false; }

  // `record` has been processed: the position moves past it.
  virtual void Processed(const DecodedRecord& record) = 0;
  // The position reached, as the run record keeps it (opaque to the
  // engine).
  virtual std::string Position() const = 0;
  // Per task (key range, keys.h), its part of the position, for a task
  // that moves to another process (Kafka mode); none by default.
  virtual std::vector<std::pair<int32_t, std::string>> TaskPositions() const {
    return {};
  }

  // A record's origin as its dead letter names it (contract §6).
  virtual std::variant<FileSource, TopicSource> SourceOf(
      const RecordOrigin& origin) const = 0;
  // The name of an input (a file as given, a topic), for metrics.
  virtual std::string_view InputName(int32_t input) const = 0;
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_ENGINE_RECORD_SOURCE_H_
