// `clearlane replay` (contract §8): the embedded engine over NDJSON files.
//
// Input is processed in epochs. Each epoch commits, in one RocksDB
// WriteBatch, every state change, the input position reached and the
// outputs produced (the outbox, with a sequence number per output stream);
// only then are the outputs appended to the files. A run killed at any
// moment and started again with the same arguments continues from its last
// epoch and ends with the same bytes as an uninterrupted run.
//
// Thread-safety: RunReplay runs one replay on the calling thread (and the
// threads it starts).

#ifndef CLEARLANE_PIPELINE_FILES_REPLAY_H_
#define CLEARLANE_PIPELINE_FILES_REPLAY_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "pipeline/engine/options.h"
#include "pipeline/observe/options.h"

namespace clearlane {

// A replay is a batch job: larger epochs than `run`'s, so that an order
// whose documents are spread over the input is written to state fewer
// times (on the 100,000-order import day, 32768 records cut replay's time
// by an eighth against 4096).
inline constexpr int64_t kReplayEpochRecords = 32768;
inline constexpr int64_t kReplayEpochMillis = 1000;

struct ReplayOptions {
  ReplayOptions() {
    engine.epoch_records = kReplayEpochRecords;
    engine.epoch_millis = kReplayEpochMillis;
  }
  // The engine: state_dir empty is a fresh directory under out_dir,
  // removed when the run ends (and never synced: it cannot be resumed).
  // engine.threads: threads reading and decoding input ahead of the
  // operators (threads - 1 of their own, at least one).
  EngineOptions engine;
  std::vector<std::string> inputs;
  std::string out_dir;
  // Leave state open (no end-of-input drain) for a later replay to continue.
  bool keep_open = false;
  ObserveOptions observe;
  // The metrics' final values written here at the end (Prometheus text
  // format, as node_exporter's textfile collector reads it); empty: none.
  std::string metrics_out;
};

// Runs a replay. Returns the exit status: 0 when the input was processed
// (whatever was rejected), kExitDiskLow when a filesystem went below the
// free-space floor or full, kExitFailed (2) on another operational failure;
// with a message on `err` naming what and where.
int RunReplay(const ReplayOptions& options, std::FILE* err);

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_FILES_REPLAY_H_
