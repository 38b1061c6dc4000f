// EngineOptions: everything a user sets of the engine, declared once.
// `clearlane replay`'s flags (pipeline/main.cc) and `clearlane run`'s
// configuration file (pipeline/kafka/run_config.h) both fill this struct;
// docs/kafka-mode.md and the README list the flags and keys.
//
// Thread-safety: a value type.

#ifndef CLEARLANE_PIPELINE_ENGINE_OPTIONS_H_
#define CLEARLANE_PIPELINE_ENGINE_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "operators/clearance.h"
#include "pipeline/engine/disk_guard.h"

namespace clearlane {

// The exit statuses of `replay` and `run` when they stop on an error, with
// its message logged: kExitDiskLow when a filesystem is below the
// free-space floor or full (run the same command again once there is
// space: it continues where it stopped), kExitFailed for any other
// operational failure.
inline constexpr int kExitFailed = 2;
inline constexpr int kExitDiskLow = 3;
inline int ExitStatusOf(const absl::Status& st) {
  return absl::IsResourceExhausted(st) ? kExitDiskLow : kExitFailed;
}

struct EngineOptions {
  // The RocksDB state directory (created when absent).
  std::string state_dir;
  // Sync the WAL (and replay's output files) once per epoch.
  bool sync = true;
  // At least 32 bytes, readable by its owner only; empty: replay keeps a
  // random secret in the state, run refuses to start.
  std::string hmac_secret_file;
  std::string identity_registry;  // NDJSON (contract §2); reloaded if given
  std::string tax_rates;          // CSV (contract §2); empty: the default
  // Summary declarations (contract §4): summaryFlag 1 leaves ownerCode
  // out of the head group; lines per form; how long after its end a month
  // closes, in hours of event time.
  int summary_flag = 2;
  int form_lines = 50;
  int64_t month_close_hours = 48;
  // Contract §8's defaults: how long a list waits for its documents, and
  // how long after its release a return is accepted.
  int64_t import_timeout_hours = 24;
  int64_t export_timeout_days = 7;
  int64_t return_window_days = 30;
  // An epoch ends after this many records (or fired timers in the drain)
  // or this much wall-clock time, whichever comes first. Epoch boundaries
  // never change the outputs. Each driver sets its own defaults (replay
  // is a batch job and takes larger epochs; Kafka mode smaller ones, for
  // latency).
  int64_t epoch_records = 4096;
  int64_t epoch_millis = 200;
  // Entries each state cache (order groups, waybills, yearly totals,
  // shipments) keeps before it forgets the oldest clean ones.
  int64_t cache_entries = 200000;
  // Threads decoding input, one of them the driver's own where it decodes
  // in line; the outputs never depend on it.
  int threads = 1;
  // The free space the state's (and replay's output) filesystems must
  // keep; below it nothing more is committed (disk_guard.h).
  FreeSpaceFloor min_free_space;
  // Mask personal data in the dead letters' raw record (contract §7).
  bool mask_dead_letters = false;
  // Receipts as official CEB XML messages, one a line (contract §11),
  // instead of JSON lines.
  bool receipts_xml = false;

  // The operators' configuration these options make.
  ClearanceConfig Clearance() const {
    ClearanceConfig c;
    c.forms.summary_flag = summary_flag;
    c.forms.max_lines = form_lines;
    c.month_close_delay = month_close_hours * 3600;
    c.import_timeout = import_timeout_hours * 3600;
    c.export_timeout = export_timeout_days * 24 * 3600;
    c.return_window = return_window_days * 24 * 3600;
    return c;
  }
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_ENGINE_OPTIONS_H_
