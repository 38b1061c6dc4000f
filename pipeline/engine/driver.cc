#include "pipeline/engine/driver.h"

namespace clearlane {
namespace {

absl::Status Nothing() { return absl::OkStatus(); }

}  // namespace

Driver::Driver(Engine* engine, RecordSource* source, PartitionGroup* time,
               DriverObserver* observer)
    : engine_(engine), source_(source), time_(time), observer_(observer) {
  engine_->epochs().set_position_source(
      [source] { return source->Position(); });
  engine_->epochs().set_task_positions_source(
      [source] { return source->TaskPositions(); });
}

void Driver::Committed() {
  if (engine_->epochs().committed_since_last_asked() && observer_) {
    observer_->AfterCommit();
  }
}

absl::Status Driver::FireDue(std::optional<int64_t> before,
                             std::optional<int64_t> after, bool accepted) {
  engine_->run().watermark = after;
  if (!after || !(accepted || !before || *after > *before)) {
    return absl::OkStatus();
  }
  return engine_->task().Punctuate(*after, Nothing);
}

absl::Status Driver::ProcessRecord(DecodedRecord& record) {
  if (observer_) {
    absl::Status st = observer_->BeforeRecord(record);
    if (!st.ok()) return st;
  }
  const std::optional<int64_t> before = time_->watermark();
  const std::optional<int64_t> accepted =
      engine_->task().Process(record, *source_, before);
  source_->Processed(record);
  const auto now = PartitionGroup::Clock::now();
  // The exchange's partitions carry no event time and are no input of the
  // partition group's.
  if (record.exchange == DecodedRecord::Exchange::kNone) {
    time_->Record({record.origin.input, record.origin.partition}, accepted,
                  now);
  }
  absl::Status st = FireDue(before, time_->Advance(now), accepted.has_value());
  if (!st.ok()) return st;
  if (observer_) observer_->AfterRecord(record);
  st = engine_->epochs().Count();
  Committed();
  return st;
}

absl::Status Driver::Run(const std::atomic<bool>* stop) {
  while (!stop || !*stop) {
    absl::Span<DecodedRecord> batch = source_->Next();
    if (batch.empty()) {
      if (absl::Status st = source_->status(); !st.ok()) return st;
      if (source_->ended()) return absl::OkStatus();
      absl::Status st = Idle();
      if (!st.ok()) return st;
      continue;
    }
    for (DecodedRecord& record : batch) {
      absl::Status st = ProcessRecord(record);
      if (!st.ok()) return st;
    }
    if (source_->caught_up()) {
      absl::Status st = engine_->epochs().CommitIfCaughtUp();
      Committed();
      if (!st.ok()) return st;
    }
  }
  return absl::OkStatus();
}

absl::Status Driver::Idle() {
  const std::optional<int64_t> before = time_->watermark();
  absl::Status st =
      FireDue(before, time_->Advance(PartitionGroup::Clock::now()), false);
  if (st.ok()) {
    st = source_->caught_up() ? engine_->epochs().CommitIfCaughtUp()
                              : engine_->epochs().CommitIfOld();
  }
  Committed();
  return st;
}

absl::Status Driver::Drain() {
  return engine_->task().Drain([this] {
    absl::Status st = engine_->epochs().Count();
    Committed();
    return st;
  });
}

absl::Status Driver::Commit() {
  absl::Status st = engine_->epochs().Commit();
  Committed();
  return st;
}

}  // namespace clearlane
