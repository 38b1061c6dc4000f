// PartitionGroup owns event time (contract §9) across the partitions the
// engine reads: each partition's watermark is the greatest appTime among
// its accepted documents; the group's watermark, the one that fires
// timers, is the least over the assigned partitions that are not idle,
// and it never goes back. A partition that brought nothing for the idle
// timeout (wall clock: the driver's, never the operators') stops holding
// time back; with every partition idle, the greatest of them counts.
//
// Replay reads one partition (its files, in order) that is never idle:
// its watermark is then the greatest appTime processed, as contract §9
// says of replay. Kafka mode reads every assigned input partition.
//
// Thread-safety: not thread-safe; the driver's thread.

#ifndef CLEARLANE_PIPELINE_ENGINE_PARTITION_GROUP_H_
#define CLEARLANE_PIPELINE_ENGINE_PARTITION_GROUP_H_

#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>

namespace clearlane {

// A partition: the driver's input (a topic's index; 0 in replay) and its
// partition number.
struct PartitionId {
  int32_t input = 0;
  int32_t partition = 0;
  friend auto operator<=>(const PartitionId&, const PartitionId&) = default;
};

class PartitionGroup {
 public:
  using Clock = std::chrono::steady_clock;
  // A partition quiet for `idle_timeout` is idle; Duration::max(): never.
  explicit PartitionGroup(Clock::duration idle_timeout = Clock::duration::max())
      : idle_timeout_(idle_timeout) {}

  // The partitions read from now on (a rebalance). Each starts as just
  // seen; what it knew of event time before stays.
  void Assign(const std::set<PartitionId>& partitions, Clock::time_point now);
  const std::set<PartitionId>& assigned() const { return assigned_; }
  // With many members, after an assignment: the group's watermark is the
  // least of the partitions now assigned (none while one has no event
  // time yet), though that is behind it. A task that came from another
  // process brings its partition's watermark, and its timers must wait
  // for it, as they would in one process whose least partition it is;
  // timers already fired stay fired.
  void RestartFromAssigned();

  // Restores what the run record kept: a partition's watermark, and the
  // group's.
  void RestorePartition(PartitionId p, std::optional<int64_t> watermark);
  void RestoreWatermark(std::optional<int64_t> watermark) {
    watermark_ = watermark;
  }

  // A record of `p` arrived; `event_time` is its appTime when the task
  // accepted it.
  void Record(PartitionId p, std::optional<int64_t> event_time,
              Clock::time_point now);
  // Moves the group's watermark as far as the partitions allow, and
  // returns it.
  std::optional<int64_t> Advance(Clock::time_point now);
  // The group's watermark, as last advanced.
  std::optional<int64_t> watermark() const { return watermark_; }
  // A partition's own watermark.
  std::optional<int64_t> watermark(PartitionId p) const;

 private:
  struct Partition {
    std::optional<int64_t> watermark;
    Clock::time_point last_seen{};
  };
  bool Idle(const Partition& p, Clock::time_point now) const;

  const Clock::duration idle_timeout_;
  std::map<PartitionId, Partition> partitions_;
  std::set<PartitionId> assigned_;
  std::optional<int64_t> watermark_;
  // What Advance last found, so that it need not look at every partition
  // for every record: the least watermark over the partitions not idle,
  // whether anything that could change it happened since (`dirty_`), and
  // the earliest time a partition not idle then could turn idle.
  std::optional<int64_t> least_;
  bool dirty_ = true;
  Clock::time_point idle_check_{};
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_ENGINE_PARTITION_GROUP_H_
