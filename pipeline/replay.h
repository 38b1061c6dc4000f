// `clearlane replay` (contract §8): the embedded engine over NDJSON files.
//
// Input is processed in epochs. Each epoch commits, in one RocksDB
// WriteBatch, every state change, the input position reached and the
// outputs produced (the outbox, with a sequence number per output stream);
// only then are the outputs appended to the files. A run killed at any
// moment and started again with the same arguments continues from its last
// epoch and ends with the same bytes as an uninterrupted run.

#ifndef CLEARLANE_PIPELINE_REPLAY_H_
#define CLEARLANE_PIPELINE_REPLAY_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace clearlane {

struct ReplayOptions {
  std::vector<std::string> inputs;
  std::string out_dir;
  // The RocksDB state directory. Empty: a fresh directory under out_dir,
  // removed when the run ends.
  std::string state_dir;
  // Leave state open (no end-of-input drain) for a later replay to continue.
  bool keep_open = false;
  // Sync the WAL and the output files once per epoch. A run without
  // state_dir never syncs: its temporary state cannot be resumed.
  bool sync = true;
  // An epoch ends after this many records or this much wall-clock time,
  // whichever comes first. Epoch boundaries never change the outputs.
  // A replay is a batch job: larger epochs than `run`'s, so that an order
  // whose documents are spread over the input is written to state fewer
  // times (on the 100,000-order import day, 32768 records cut replay's
  // time by an eighth against 4096).
  int64_t epoch_records = 32768;
  int64_t epoch_millis = 1000;
  // EngineOptions::cache_entries.
  int64_t cache_entries = 200000;
  // Threads decoding input ahead of the operators, which run in input
  // order; the outputs are the same for any number.
  int threads = 1;
  // The identity registry (contract §2), NDJSON; reloaded when given.
  std::string identity_registry;
  // Tax rates CSV (contract §2); empty: the shipped default table.
  std::string tax_rates;
  // A file holding the secret for the keyed hashes of identity numbers.
  // Empty: a random secret is made when the state is created and kept in
  // it.
  std::string hmac_secret_file;
  // Summary declarations (contract §4): summaryFlag 1 leaves ownerCode out
  // of the head group; lines per form; how long after its end a month
  // closes, in hours of event time.
  int summary_flag = 2;
  int form_lines = 50;
  int64_t month_close_hours = 48;
  // Prometheus metrics and /healthz, /readyz served here while the replay
  // runs ("host:port"); empty: none.
  std::string metrics_address;
  // The metrics' final values written here at the end (Prometheus text
  // format, as node_exporter's textfile collector reads it); empty: none.
  std::string metrics_out;
  // The log's threshold: "debug", "info", "warn" or "error". The log is
  // JSON lines on the error stream; the progress line (on a terminal only)
  // is apart from it.
  std::string log_level = "info";
  // Mask personal data in the dead letters' raw record (contract §7).
  bool mask_dead_letters = false;
};

// Runs a replay. Returns the exit status: 0 when the input was processed
// (whatever was rejected), 2 on an operational failure, with a message on
// `err` naming what and where.
int RunReplay(const ReplayOptions& options, std::FILE* err);

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_REPLAY_H_
