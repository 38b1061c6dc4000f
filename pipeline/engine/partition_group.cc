#include "pipeline/engine/partition_group.h"

namespace clearlane {

void PartitionGroup::Assign(const std::set<PartitionId>& partitions,
                            Clock::time_point now) {
  assigned_ = partitions;
  for (const PartitionId& p : partitions) partitions_[p].last_seen = now;
}

void PartitionGroup::RestorePartition(PartitionId p,
                                      std::optional<int64_t> watermark) {
  partitions_[p].watermark = watermark;
}

void PartitionGroup::Record(PartitionId p, std::optional<int64_t> event_time,
                            Clock::time_point now) {
  Partition& part = partitions_[p];
  part.last_seen = now;
  if (event_time && (!part.watermark || *event_time > *part.watermark)) {
    part.watermark = event_time;
  }
}

std::optional<int64_t> PartitionGroup::watermark(PartitionId p) const {
  auto it = partitions_.find(p);
  return it == partitions_.end() ? std::nullopt : it->second.watermark;
}

bool PartitionGroup::Idle(const Partition& p, Clock::time_point now) const {
  return idle_timeout_ != Clock::duration::max() &&
         now - p.last_seen > idle_timeout_;
}

std::optional<int64_t> PartitionGroup::Advance(Clock::time_point now) {
  std::optional<int64_t> least;
  for (const PartitionId& id : assigned_) {
    const Partition& p = partitions_[id];
    if (Idle(p, now)) continue;           // it does not hold time back
    if (!p.watermark) return watermark_;  // no event time yet: time waits
    if (!least || *p.watermark < *least) least = p.watermark;
  }
  if (!least) {
    // Every assigned partition idle: the greatest of them. With nothing
    // assigned (a rebalance), time does not move.
    for (const PartitionId& id : assigned_) {
      const Partition& p = partitions_[id];
      if (p.watermark && (!least || *p.watermark > *least)) least = p.watermark;
    }
  }
  if (least && (!watermark_ || *least > *watermark_)) watermark_ = least;
  return watermark_;
}

}  // namespace clearlane
