#include "pipeline/engine/partition_group.h"

namespace clearlane {

void PartitionGroup::Assign(const std::set<PartitionId>& partitions,
                            Clock::time_point now) {
  assigned_ = partitions;
  for (const PartitionId& p : partitions) partitions_[p].last_seen = now;
  dirty_ = true;
}

void PartitionGroup::RestartFromAssigned() {
  std::optional<int64_t> least;
  for (const PartitionId& id : assigned_) {
    const std::optional<int64_t>& w = partitions_[id].watermark;
    if (!w) {
      least.reset();
      break;
    }
    if (!least || *w < *least) least = w;
  }
  watermark_ = least;
  dirty_ = true;
}

void PartitionGroup::RestorePartition(PartitionId p,
                                      std::optional<int64_t> watermark) {
  partitions_[p].watermark = watermark;
  dirty_ = true;
}

void PartitionGroup::Record(PartitionId p, std::optional<int64_t> event_time,
                            Clock::time_point now) {
  Partition& part = partitions_[p];
  // The least moves only when the partition that held it moves, or one
  // without event time or idle comes in.
  if (Idle(part, now)) dirty_ = true;
  part.last_seen = now;
  if (event_time && (!part.watermark || *event_time > *part.watermark)) {
    if (!part.watermark || !least_ || *part.watermark <= *least_) {
      dirty_ = true;
    }
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
  // Nothing moved since the last look, and no partition can have turned
  // idle: the same answer, without going over every partition.
  if (!dirty_ && now < idle_check_) return watermark_;
  dirty_ = false;
  least_.reset();
  std::optional<Clock::time_point> oldest;
  bool waiting = false;
  for (const PartitionId& id : assigned_) {
    const Partition& p = partitions_[id];
    if (Idle(p, now)) continue;  // it does not hold time back
    if (!oldest || p.last_seen < *oldest) oldest = p.last_seen;
    if (!p.watermark)
      waiting = true;  // no event time yet: time waits
    else if (!least_ || *p.watermark < *least_)
      least_ = p.watermark;
  }
  idle_check_ = idle_timeout_ == Clock::duration::max() || !oldest
                    ? Clock::time_point::max()
                    : *oldest + idle_timeout_;
  if (waiting) return watermark_;
  std::optional<int64_t> least = least_;
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
