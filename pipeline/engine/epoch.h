// The epoch committer: what makes processing durable, a slice at a time
// (design.md "How the guarantees are kept"; docs/engine.md).
//
// An epoch is the records processed (and timers fired) since the last
// commit. Its outputs are numbered into the outbox as they are emitted,
// in the epoch's WriteBatch; at the commit, the task's changed state, the
// outbox trims and the run record (with the driver's input position) join
// them, the batch is written with one call, and only then are the outputs
// handed to the driver's OutputSink. Until the sink says they are
// durable, the outbox keeps them.
//
// A sink that writes ahead (OutputSink::writes_ahead: replay's files) gets
// each output as it is emitted instead, and nothing goes to the outbox:
// at the commit the sink writes and syncs them, then the state is
// written. A restart finds the sink holding at least what the state
// committed, and cuts it back to that (the outputs past it are produced
// again from the committed position, the same bytes).
//
// An epoch ends after `records` records or `millis` of wall-clock time,
// or, when the driver's source has caught up with its input
// (CommitIfCaughtUp), at once, after the commit still in flight: under
// load epochs fill to their bounds (throughput), and on sparse input each
// commits as soon as it was processed (latency; with nothing else to do,
// waiting for the previous write costs nothing). With `overlap`, an epoch is
// written and published on a thread of its own (StateStore::CommitInBackground)
// while the next one is processed: two batches take turns, and the task's
// caches forget entries only after the write that made them clean has landed.
// Commit() still returns with everything durable and published.
//
// Thread-safety: not thread-safe; the engine's thread. With `overlap`, the
// sink is called from the commit's thread, one epoch at a time.

#ifndef CLEARLANE_PIPELINE_ENGINE_EPOCH_H_
#define CLEARLANE_PIPELINE_ENGINE_EPOCH_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "model/outputs.h"
#include "pipeline/engine/reaper.h"
#include "pipeline/engine/task_context.h"
#include "state/outbox.h"
#include "state/run_record.h"
#include "state/store.h"

namespace clearlane {

class Metrics;

// Where the records an epoch published to a changelog partition end: the
// offset past the last one, and its timestamp (ms).
struct ChangelogEnd {
  int32_t partition;
  int64_t offset;
  int64_t timestamp_ms;
};

// Where committed outputs go: files in replay, topics in Kafka mode.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  // One committed output; `key` is its Kafka key (contract §1: decisions
  // by orderNo, summaries by head group, dead letters by their source).
  virtual absl::Status Publish(OutputStream s, int64_t seq,
                               std::string_view key, std::string_view line) = 0;
  // Makes everything published durable (files synced, messages acked).
  // A sink that writes ahead only writes here (on the engine's thread)
  // and makes durable in Sync.
  virtual absl::Status Flush() = 0;

  // Whether the sink takes each output when it is emitted, before its
  // epoch commits, and can be cut back at a restart to what the state
  // committed (files). Its outputs are not kept in the outbox.
  virtual bool writes_ahead() const { return false; }
  // For a sink that writes ahead: makes what Flush wrote durable. Called
  // before the epoch's state is written, on the commit's thread with
  // overlap, while Publish and Flush may go on with the next epoch.
  virtual absl::Status Sync() { return absl::OkStatus(); }
};

class EpochCommitter {
 public:
  struct Options {
    int64_t records = 4096;
    int64_t millis = 200;
    bool overlap = false;
    // EngineOptions::cache_entries: what the caches keep past a commit.
    size_t cache_entries = 200000;
    // Each epoch's state changes also go to the outbox's changelog stream
    // (state/changelog.h), published with its outputs (Kafka mode).
    bool changelog = false;
    // The instance whose run record the changelog's records log.
    std::string instance;
  };
  // None owned; all outlive the committer.
  EpochCommitter(StateStore* store, RunRecord* run, Outbox* outbox,
                 TaskContext* state, Reaper* reaper, Options options);
  ~EpochCommitter();

  void set_metrics(Metrics* m) { metrics_ = m; }
  // Asked for the driver's input position at every commit.
  void set_position_source(absl::AnyInvocable<std::string()> f) {
    position_source_ = std::move(f);
  }
  // Asked at every commit for each task's part of the position; a task's
  // that changed is written to kMeta (TaskPositionKey), and so logged
  // with its task.
  using TaskPositions = std::vector<std::pair<int32_t, std::string>>;
  void set_task_positions_source(absl::AnyInvocable<TaskPositions()> f) {
    task_positions_source_ = std::move(f);
  }
  // A test's fault (CLEARLANE_TEST_KILL_BEFORE_PUBLISH, run.cc): the
  // process kills itself (SIGKILL) once the n-th epoch holding decisions
  // is committed, before anything of it is published. 0: never.
  void set_kill_before_publish(int n) { kill_before_publish_ = n; }
  // With many members, the epoch(s) the last run committed and did not
  // publish wait for the member's first assignment (docs/engine.md
  // "Point 4"): nothing commits meanwhile, and the outbox keeps them.
  // Released once published or dropped; commits go on as usual.
  void HoldUnpublished() { holding_ = true; }
  void ReleaseUnpublished() {
    holding_ = false;
    published_ = run_->next_seq;
  }
  bool holding_unpublished() const { return holding_; }
  // Tasks moved in or out (a catch-up wrote their positions underneath):
  // the next commit writes every task's position.
  void ForgetTaskPositions() { task_positions_.clear(); }
  // Asked at every commit, once the epoch before is published, where its
  // changelog records ended; a state's changelog checkpoint that exists
  // (state/changelog.h) moves past them.
  void set_changelog_ends_source(
      absl::AnyInvocable<std::vector<ChangelogEnd>()> f) {
    changelog_ends_source_ = std::move(f);
  }
  // Asked before each commit, before anything of the epoch is written,
  // with the bytes the commit will write at most (DiskGuard: free
  // space). An error stops the commit with it; the epoch stays open.
  // Run's check waits for space instead of failing.
  void set_space_check(absl::AnyInvocable<absl::Status(uint64_t)> f) {
    space_check_ = std::move(f);
  }
  // Everything committed so far is published (the driver's recovery
  // published what was missing); commits go to `sink` from now on.
  void StartPublishing(OutputSink* sink);

  // An output of the open epoch.
  void Emit(OutputStream s, std::string key, std::string line);

  // Counts one record (or fired timer) toward the epoch and commits when
  // the epoch is full or old.
  absl::Status Count();
  // Commits when the open epoch holds anything and is older than its
  // time (for a driver whose input went quiet).
  absl::Status CommitIfOld();
  // Commits when the open epoch holds anything, after the commit still
  // in flight (the driver's source caught up with its input: nothing is
  // gained by waiting for more).
  absl::Status CommitIfCaughtUp();
  // Commits the open epoch; on return every epoch is durable and
  // published.
  absl::Status Commit();

  // How long the last commit took (state write and publishing), seconds;
  // with overlap, the last one that finished.
  double last_commit_seconds() const { return last_commit_seconds_; }
  // True once after each commit (for progress lines and offsets).
  bool committed_since_last_asked() { return std::exchange(committed_, false); }
  // The next sequence number of a stream (outputs emitted so far).
  int64_t next_seq(OutputStream s) const { return outbox_->next_seq(s); }

  // Sets the gauges that follow the state (pending lists, watermark,
  // outbox, RocksDB's figures, these at most once a second unless
  // `read_store`); done after every commit.
  void UpdateGauges(bool read_store = false);

 private:
  struct Output {
    OutputStream stream;
    int64_t seq;
    std::string key;
    std::string line;
  };
  // Ends the open epoch: commits it, in the background with overlap once
  // the previous background commit has landed.
  absl::Status CommitEpoch();
  // After the previous epoch's commit landed: what it published, and the
  // cache entries it made durable may be forgotten.
  absl::Status Landed();
  // Hands `outputs` to the sink and flushes it; *seconds: how long that
  // took.
  absl::Status Publish(const std::vector<Output>& outputs, double* seconds);
  // Numbers the open epoch's state changes into the changelog stream.
  void LogChanges();
  bool Holds() const {
    return records_ > 0 || !outputs_.empty() || ahead_bytes_ > 0 ||
           state_->MarkDue(run_->watermark);
  }
  bool Old() const;

  StateStore* store_;
  RunRecord* run_;
  Outbox* outbox_;
  TaskContext* state_;
  Reaper* reaper_;
  const Options options_;
  Metrics* metrics_ = nullptr;
  OutputSink* sink_ = nullptr;
  absl::AnyInvocable<std::string()> position_source_;
  absl::AnyInvocable<TaskPositions()> task_positions_source_;
  absl::AnyInvocable<std::vector<ChangelogEnd>()> changelog_ends_source_;
  // Moves the state's changelog checkpoint past `ends`, in the open batch.
  absl::Status MoveCheckpoint(const std::vector<ChangelogEnd>& ends);
  // The task positions last written, by task.
  absl::flat_hash_map<int32_t, std::string> task_positions_;
  absl::AnyInvocable<absl::Status(uint64_t)> space_check_;

  // The open epoch: its batch (one of two, the other being written in the
  // background with overlap) and its outputs.
  std::array<std::unique_ptr<WriteBatch>, 2> batches_;
  WriteBatch* batch_;
  std::vector<Output> outputs_;
  // With a sink that writes ahead: the open epoch's outputs went to it
  // (none to outputs_), these bytes with their newlines (none: no output
  // yet); and its first error.
  bool write_ahead_ = false;
  uint64_t ahead_bytes_ = 0;
  absl::Status sink_status_;
  int64_t records_ = 0;
  std::chrono::steady_clock::time_point start_;
  // The outbox entries below these are published; the next commit deletes
  // them.
  std::array<int64_t, kOutboxStreamCount> published_{};
  // The epoch being committed in the background: its outputs, the
  // sequences that follow them, and how long its write and publishing
  // took (set by the background thread, read after StateStore::Await).
  bool in_flight_ = false;
  std::vector<Output> in_flight_outputs_;
  std::array<int64_t, kOutboxStreamCount> in_flight_next_seq_{};
  double in_flight_seconds_ = 0;
  double in_flight_publish_seconds_ = 0;
  double last_commit_seconds_ = 0;
  bool committed_ = false;
  bool holding_ = false;  // HoldUnpublished
  int kill_before_publish_ = 0;
  int epochs_with_decisions_ = 0;
  std::chrono::steady_clock::time_point store_figures_read_{};
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_ENGINE_EPOCH_H_
