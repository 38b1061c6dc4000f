// The partition group owns event time (contract §9): its watermark is the
// least over the assigned partitions that are not idle, a partition with no
// event time yet holds it back, and it never goes back. Wall-clock times
// are explicit time points, so no test sleeps.

#include "pipeline/engine/partition_group.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>

namespace clearlane {
namespace {

using Clock = PartitionGroup::Clock;
using std::chrono::seconds;

constexpr PartitionId kP0{.input = 0, .partition = 0};
constexpr PartitionId kP1{.input = 0, .partition = 1};
// Same partition number, another input topic: a partition of its own.
constexpr PartitionId kQ1{.input = 1, .partition = 1};

// Any fixed point will do; the group only compares differences.
const Clock::time_point kT0 = Clock::time_point() + std::chrono::hours(1);
constexpr Clock::duration kIdleTimeout = seconds(10);

TEST(PartitionGroup, WatermarkIsTheLeastOfTheAssignedPartitions) {
  PartitionGroup time(kIdleTimeout);
  time.Assign({kP0, kP1, kQ1}, kT0);
  time.Record(kP0, 300, kT0);
  time.Record(kP1, 100, kT0);
  time.Record(kQ1, 200, kT0);
  EXPECT_EQ(time.Advance(kT0), 100);
  EXPECT_EQ(time.watermark(), 100);
  EXPECT_EQ(time.watermark(kP0), 300);
  EXPECT_EQ(time.watermark(kQ1), 200);
  // The slowest partition catches up: the next slowest now leads.
  time.Record(kP1, 400, kT0 + seconds(1));
  EXPECT_EQ(time.Advance(kT0 + seconds(1)), 200);
}

TEST(PartitionGroup, PartitionWatermarkIsTheGreatestEventTimeSeen) {
  PartitionGroup time;
  time.Assign({kP0}, kT0);
  EXPECT_EQ(time.watermark(kP0), std::nullopt);
  time.Record(kP0, 500, kT0);
  time.Record(kP0, 100, kT0);           // a late document
  time.Record(kP0, std::nullopt, kT0);  // a dead letter: no event time
  EXPECT_EQ(time.watermark(kP0), 500);
  EXPECT_EQ(time.Advance(kT0), 500);
  // A partition never heard of has no watermark.
  EXPECT_EQ(time.watermark(kP1), std::nullopt);
}

TEST(PartitionGroup, PartitionWithoutEventTimeHoldsTimeBack) {
  PartitionGroup time(kIdleTimeout);
  time.Assign({kP0, kP1}, kT0);
  time.Record(kP0, 100, kT0);
  // kP1 brought a record that moved no event time (a dead letter).
  time.Record(kP1, std::nullopt, kT0);
  EXPECT_EQ(time.Advance(kT0), std::nullopt);
  EXPECT_EQ(time.watermark(), std::nullopt);
  time.Record(kP1, 50, kT0 + seconds(1));
  EXPECT_EQ(time.Advance(kT0 + seconds(1)), 50);
}

TEST(PartitionGroup,
     PartitionWithoutEventTimeHoldsARestoredWatermarkWhereItIs) {
  PartitionGroup time(kIdleTimeout);
  time.RestoreWatermark(40);
  time.Assign({kP0, kP1}, kT0);
  time.Record(kP0, 100, kT0);
  EXPECT_EQ(time.Advance(kT0), 40);
}

TEST(PartitionGroup, IdlePartitionStopsHoldingTimeBack) {
  PartitionGroup time(kIdleTimeout);
  time.Assign({kP0, kP1}, kT0);
  time.Record(kP0, 100, kT0 + seconds(1));
  time.Record(kP1, 300, kT0 + seconds(1));
  EXPECT_EQ(time.Advance(kT0 + seconds(1)), 100);
  // kP0 is quiet from here on; exactly the timeout is not yet idle.
  time.Record(kP1, 400, kT0 + seconds(11));
  EXPECT_EQ(time.Advance(kT0 + seconds(11)), 100);
  time.Record(kP1, 500, kT0 + seconds(12));
  EXPECT_EQ(time.Advance(kT0 + seconds(12)), 500);
}

TEST(PartitionGroup, IdlePartitionWithoutEventTimeStopsHoldingTimeBack) {
  PartitionGroup time(kIdleTimeout);
  time.Assign({kP0, kP1}, kT0);
  time.Record(kP0, 100, kT0);
  EXPECT_EQ(time.Advance(kT0 + seconds(5)), std::nullopt);
  time.Record(kP0, 200, kT0 + seconds(20));
  EXPECT_EQ(time.Advance(kT0 + seconds(20)), 200);
}

TEST(PartitionGroup, EveryPartitionIdleGivesTheGreatest) {
  PartitionGroup time(kIdleTimeout);
  time.Assign({kP0, kP1, kQ1}, kT0);
  time.Record(kP0, 100, kT0);
  time.Record(kP1, 300, kT0);
  // kQ1 never brought event time; idle, it does not count either way.
  EXPECT_EQ(time.Advance(kT0), std::nullopt);
  EXPECT_EQ(time.Advance(kT0 + seconds(60)), 300);
}

TEST(PartitionGroup, NothingAssignedLeavesTimeWhereItIs) {
  PartitionGroup time(kIdleTimeout);
  EXPECT_EQ(time.Advance(kT0), std::nullopt);
  time.Assign({kP0}, kT0);
  time.Record(kP0, 100, kT0);
  EXPECT_EQ(time.Advance(kT0), 100);
  // A rebalance took every partition away; what they knew stays, and
  // records of partitions not assigned do not move time.
  time.Assign({}, kT0 + seconds(1));
  time.Record(kP1, 900, kT0 + seconds(1));
  EXPECT_EQ(time.Advance(kT0 + seconds(1)), 100);
  EXPECT_EQ(time.Advance(kT0 + seconds(60)), 100);
  EXPECT_EQ(time.watermark(kP0), 100);
}

TEST(PartitionGroup, WatermarkNeverGoesBack) {
  PartitionGroup time(kIdleTimeout);
  time.Assign({kP0, kP1}, kT0);
  time.Record(kP0, 100, kT0);
  time.Record(kP1, 300, kT0 + seconds(20));
  EXPECT_EQ(time.Advance(kT0 + seconds(20)), 300);  // kP0 idle
  // kP0 wakes up behind the group: it holds time, it does not rewind it.
  time.Record(kP0, 150, kT0 + seconds(21));
  EXPECT_EQ(time.Advance(kT0 + seconds(21)), 300);
  EXPECT_EQ(time.watermark(), 300);
  // A partition assigned later, behind the group, does not rewind it.
  time.Assign({kP0, kP1, kQ1}, kT0 + seconds(22));
  time.Record(kQ1, 10, kT0 + seconds(22));
  EXPECT_EQ(time.Advance(kT0 + seconds(22)), 300);
  // Once every partition passes it, time moves on.
  time.Record(kP0, 350, kT0 + seconds(23));
  time.Record(kP1, 360, kT0 + seconds(23));
  time.Record(kQ1, 370, kT0 + seconds(23));
  EXPECT_EQ(time.Advance(kT0 + seconds(23)), 350);
}

// With many members (RestartFromAssigned): a task that comes from
// another process brings its partition's watermark, and the group's goes
// back to it, so the task's timers wait for its partition; one assigned
// without event time yet leaves the group with none until it has some.
TEST(PartitionGroup, ARestartFromTheAssignedTakesTheirLeast) {
  PartitionGroup time(kIdleTimeout);
  time.Assign({kP0}, kT0);
  time.Record(kP0, 900, kT0);
  EXPECT_EQ(time.Advance(kT0), 900);
  time.RestorePartition(kP1, 200);  // its logged position's
  time.Assign({kP0, kP1}, kT0 + seconds(1));
  time.RestartFromAssigned();
  EXPECT_EQ(time.watermark(), 200);
  EXPECT_EQ(time.Advance(kT0 + seconds(1)), 200);
  time.Record(kP1, 500, kT0 + seconds(2));
  EXPECT_EQ(time.Advance(kT0 + seconds(2)), 500);
  time.Assign({kP0, kP1, kQ1}, kT0 + seconds(3));
  time.RestartFromAssigned();
  EXPECT_EQ(time.watermark(), std::nullopt);
  EXPECT_EQ(time.Advance(kT0 + seconds(3)), std::nullopt);
  time.Record(kQ1, 700, kT0 + seconds(4));
  EXPECT_EQ(time.Advance(kT0 + seconds(4)), 500);
  // Nothing assigned: no event time.
  time.Assign({}, kT0 + seconds(5));
  time.RestartFromAssigned();
  EXPECT_EQ(time.watermark(), std::nullopt);
}

TEST(PartitionGroup, PartitionRebalancedAwayNoLongerHoldsTimeBack) {
  PartitionGroup time(kIdleTimeout);
  time.Assign({kP0, kP1}, kT0);
  time.Record(kP0, 100, kT0);
  time.Record(kP1, 300, kT0);
  EXPECT_EQ(time.Advance(kT0), 100);
  time.Assign({kP1}, kT0 + seconds(1));
  EXPECT_EQ(time.Advance(kT0 + seconds(1)), 300);
  EXPECT_EQ(time.watermark(kP0), 100);  // kept, should it come back
}

TEST(PartitionGroup, AssignCountsEachPartitionAsJustSeen) {
  PartitionGroup time(kIdleTimeout);
  time.Assign({kP0, kP1}, kT0);
  time.Record(kP0, 100, kT0);
  time.Record(kP1, 300, kT0);
  // Long quiet, then a rebalance: both are fresh again and kP0 holds time.
  time.Assign({kP0, kP1}, kT0 + seconds(100));
  EXPECT_EQ(time.Advance(kT0 + seconds(100)), 100);
  EXPECT_EQ(time.watermark(kP0), 100);
}

TEST(PartitionGroup, WithoutIdleTimeoutAPartitionHoldsTimeForever) {
  PartitionGroup time;
  time.Assign({kP0, kP1}, kT0);
  time.Record(kP0, 100, kT0);
  time.Record(kP1, 200, kT0);
  time.Record(kP1, 300, kT0 + std::chrono::hours(24 * 365));
  EXPECT_EQ(time.Advance(kT0 + std::chrono::hours(24 * 365)), 100);
}

TEST(PartitionGroup, RestoredPartitionWatermarksCount) {
  PartitionGroup time(kIdleTimeout);
  time.RestorePartition(kP0, 100);
  time.RestorePartition(kP1, 250);
  time.Assign({kP0, kP1}, kT0);
  EXPECT_EQ(time.watermark(kP0), 100);
  EXPECT_EQ(time.Advance(kT0), 100);
  // A restored watermark is the partition's own: an earlier record does
  // not lower it.
  time.Record(kP0, 50, kT0);
  EXPECT_EQ(time.watermark(kP0), 100);
  time.Record(kP0, 400, kT0);
  EXPECT_EQ(time.Advance(kT0), 250);
}

TEST(PartitionGroup, RestoredWatermarkIsAFloor) {
  PartitionGroup time(kIdleTimeout);
  time.RestoreWatermark(500);
  EXPECT_EQ(time.watermark(), 500);
  time.RestorePartition(kP0, 400);
  time.Assign({kP0}, kT0);
  EXPECT_EQ(time.Advance(kT0), 500);
  time.Record(kP0, 600, kT0);
  EXPECT_EQ(time.Advance(kT0), 600);
}

// Advance does not look at every partition for every record; what it
// answers must still be what looking at every partition gives. A random
// run (records, quiet spells that make partitions idle, reassignments)
// against the definition, written out plainly.
TEST(PartitionGroup, AnswersAsLookingAtEveryPartitionWould) {
  struct Plain {
    std::map<PartitionId, std::optional<int64_t>> watermark;
    std::map<PartitionId, Clock::time_point> seen;
    std::set<PartitionId> assigned;
    std::optional<int64_t> group;
    std::optional<int64_t> Advance(Clock::time_point now) {
      std::optional<int64_t> least;
      bool any = false;
      for (const PartitionId& id : assigned) {
        if (now - seen[id] > kIdleTimeout) continue;
        any = true;
        if (!watermark[id]) return group;
        if (!least || *watermark[id] < *least) least = watermark[id];
      }
      if (!any) {
        for (const PartitionId& id : assigned) {
          if (watermark[id] && (!least || *watermark[id] > *least)) {
            least = watermark[id];
          }
        }
      }
      if (least && (!group || *least > *group)) group = least;
      return group;
    }
  };
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    PartitionGroup time(kIdleTimeout);
    Plain plain;
    Clock::time_point now = kT0;
    auto assign = [&](int n) {
      std::set<PartitionId> ids;
      for (int p = 0; p < n; ++p)
        ids.insert(PartitionId{.input = 0, .partition = p});
      time.Assign(ids, now);
      plain.assigned = ids;
      for (const PartitionId& id : ids) plain.seen[id] = now;
    };
    const int partitions = 1 + static_cast<int>(rng() % 40);
    assign(partitions);
    int64_t clock = 1000;
    for (int step = 0; step < 5000; ++step) {
      const uint64_t roll = rng() % 1000;
      if (roll < 5) {
        now += kIdleTimeout + seconds(1);  // a quiet spell
      } else if (roll < 7) {
        assign(1 + static_cast<int>(rng() % partitions));
      } else {
        now += std::chrono::milliseconds(rng() % 50);
        const PartitionId id{.input = 0,
                             .partition = static_cast<int>(rng() % partitions)};
        // Mostly forward, sometimes late or without event time.
        std::optional<int64_t> t;
        if (rng() % 10 != 0) t = clock + static_cast<int64_t>(rng() % 20) - 5;
        clock += static_cast<int64_t>(rng() % 3);
        time.Record(id, t, now);
        auto& w = plain.watermark[id];
        if (t && (!w || *t > *w)) w = t;
        plain.seen[id] = now;
      }
      ASSERT_EQ(time.Advance(now), plain.Advance(now))
          << "round " << round << " step " << step;
    }
  }
}

}  // namespace
}  // namespace clearlane
