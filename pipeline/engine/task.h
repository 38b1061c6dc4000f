// Task runs the operators (operators/clearance.h) over the engine's
// records, one at a time in input order, and fires their timers
// (punctuation, in Kafka Streams' words). A record that does not decode,
// or that the operators refuse, becomes a dead letter with its origin; an
// accepted one reports its appTime, which may move event time (contract
// §9). Event time itself belongs to the driver's partition group.
//
// One task runs every stage (A, B, L, C) of every partition in this
// process: the stages see each other's state directly through its
// TaskContext (docs/engine.md "Tasks and key ranges").
//
// Thread-safety: not thread-safe; the engine's thread.

#ifndef CLEARLANE_PIPELINE_ENGINE_TASK_H_
#define CLEARLANE_PIPELINE_ENGINE_TASK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "model/keyed_hash.h"
#include "operators/clearance.h"
#include "pipeline/engine/decoder.h"
#include "pipeline/engine/epoch.h"
#include "pipeline/engine/record_source.h"
#include "pipeline/engine/task_context.h"

namespace clearlane {

class Metrics;

class Task {
 public:
  // `context` and `epoch` are not owned. `secret` hashes the personal
  // fields of a record whose decoder did not prepare its state form.
  Task(ClearanceConfig config, TaskContext* context, EpochCommitter* epoch,
       std::string_view secret, bool mask_dead_letters);

  void set_metrics(Metrics* m) { metrics_ = m; }
  const Clearance& clearance() const { return clearance_; }
  // A group of many members divides import documents only (stage L does
  // not cross processes yet): an export document stops the engine, before
  // it changes anything, with a message naming where it came from.
  void set_import_only(bool on) { import_only_ = on; }

  // Processes one record from `source`. The operators see `watermark`,
  // the event time before the record. Returns the document's appTime when
  // it was accepted, nullopt when it became a dead letter (or was no
  // document at all: a Kafka tombstone).
  std::optional<int64_t> Process(DecodedRecord& record,
                                 const RecordSource& source,
                                 std::optional<int64_t> watermark);
  // Fires every timer due at or before `limit` (contract §9: list
  // timeouts before month closes, each by due time), calling `after_each`
  // after each one (the drain counts them toward its epochs).
  absl::Status Punctuate(int64_t limit,
                         absl::FunctionRef<absl::Status()> after_each);
  // End of input without --keep-open: every timer fires, then the pending
  // summary supplements are written.
  absl::Status Drain(absl::FunctionRef<absl::Status()> after_each);

 private:
  // A record of the exchange (Kafka mode): a request or give-back for the
  // buyers' task, an answer for the list's, or a closed list or watermark
  // mark for stage C's (ProcessClosedListOrMark); a record that does not
  // decode stops the engine (TaskContext::Fail): it is no document of
  // anyone's, and dropping it would leave a list waiting for good.
  void ProcessExchange(const DecodedRecord& record, const RecordSource& source);
  absl::Status ProcessClosedListOrMark(std::string_view bytes);
  // Stage C (Kafka mode): closes the months due by its watermark.
  void CloseMonths();
  void DeadLetter(const DecodedRecord& record, const RecordSource& source,
                  DeadLetterCode code, std::string_view detail);

  Clearance clearance_;
  TaskContext* context_;
  EpochCommitter* epoch_;
  KeyedHash hash_;
  const bool mask_dead_letters_;
  bool import_only_ = false;
  Metrics* metrics_ = nullptr;
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_ENGINE_TASK_H_
