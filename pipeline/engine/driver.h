// The driver loop, the one that replay, `run` and the load test share:
// records from a RecordSource go through the engine's task one at a time,
// in order; the partition group moves event time; after each record the
// timers due by the watermark fire (contract §9); epochs commit as they
// fill or age, with the source's position. When the source is quiet (a
// Kafka topic with nothing new), idle partitions may still move time and
// an old epoch commits; a source that caught up with its input has the
// open epoch committed at once (after the commit in flight).
//
// A DriverObserver sees each record and each commit: replay's progress
// line, Kafka mode's offsets to the consumer group, the load test's pacing
// and latencies.
//
// Thread-safety: not thread-safe; the driver's thread.

#ifndef CLEARLANE_PIPELINE_ENGINE_DRIVER_H_
#define CLEARLANE_PIPELINE_ENGINE_DRIVER_H_

#include <atomic>

#include "absl/status/status.h"
#include "pipeline/engine/decoder.h"
#include "pipeline/engine/engine.h"
#include "pipeline/engine/partition_group.h"
#include "pipeline/engine/record_source.h"

namespace clearlane {

class DriverObserver {
 public:
  virtual ~DriverObserver() = default;
  // Before `record` is processed. A paced load test waits here (and may
  // call Driver::Idle meanwhile); an error stops the loop.
  virtual absl::Status BeforeRecord(const DecodedRecord& record) {
    return absl::OkStatus();
  }
  // After `record` and the timers it made due.
  virtual void AfterRecord(const DecodedRecord& record) {}
  // After an epoch committed.
  virtual void AfterCommit() {}
};

class Driver {
 public:
  // None owned; all outlive the driver. The driver gives the engine's
  // epochs the source's position, and the run record the group's
  // watermark.
  Driver(Engine* engine, RecordSource* source, PartitionGroup* time,
         DriverObserver* observer = nullptr);

  // Processes the source's records until it ends, `stop` is set (checked
  // between batches), or an error.
  absl::Status Run(const std::atomic<bool>* stop = nullptr);
  // With the source quiet: lets idle partitions move event time, fires
  // what is due, commits the open epoch if it is old (or, with a source
  // that has caught up, whatever its age).
  absl::Status Idle();
  // End of input without --keep-open: every timer fires, in order, with
  // epochs committed as usual; then the pending supplements are written.
  absl::Status Drain();
  // Commits the open epoch; on return everything is durable and
  // published.
  absl::Status Commit();

 private:
  absl::Status ProcessRecord(DecodedRecord& record);
  // Fires what is due when event time moved to `after` (or a record was
  // accepted: contract §9 fires after each record).
  absl::Status FireDue(std::optional<int64_t> before,
                       std::optional<int64_t> after, bool accepted);
  void Committed();

  Engine* engine_;
  RecordSource* source_;
  PartitionGroup* time_;
  DriverObserver* observer_;
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_ENGINE_DRIVER_H_
