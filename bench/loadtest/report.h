// What a load test measures, second by second, and the report it writes.
//
// Thread-safety: LoadRecorder may be used from any thread; the rest are
// functions of their arguments.

#ifndef CLEARLANE_BENCH_LOADTEST_REPORT_H_
#define CLEARLANE_BENCH_LOADTEST_REPORT_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "pipeline/observe/proc.h"

namespace clearlane {

using LoadClock = std::chrono::steady_clock;

// Counts and latencies by wall-clock second since the start. Thread-safe.
class LoadRecorder {
 public:
  explicit LoadRecorder(LoadClock::time_point start) : start_(start) {}
  // Seconds count from now on (call before the first document).
  void Restart();

  void Documents(int64_t n);
  // A list decided (a receipt of CEB622/CEB604 that decides: 800, 100,
  // 300), `latency` seconds after its completing document entered; nullopt
  // when nothing entered for it (the drain at the end of input).
  void Decision(std::optional<double> latency);
  void Commit(double seconds);
  // Samples the process (RSS, CPU) once a second or so.
  void SampleProcess(const ProcessSample& p);

  struct Second {
    int64_t documents = 0;
    int64_t decisions = 0;
    std::vector<double> latencies;
    std::optional<ProcessSample> process;
  };
  // Copies, for the report.
  std::vector<Second> Seconds() const;
  std::vector<double> Commits() const;
  int64_t documents() const;
  int64_t decisions() const;
  int64_t decided_at_end() const;
  double elapsed() const;

 private:
  Second& Now() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  mutable absl::Mutex mu_;
  LoadClock::time_point start_ ABSL_GUARDED_BY(mu_);
  std::vector<Second> seconds_ ABSL_GUARDED_BY(mu_);
  std::vector<double> commits_ ABSL_GUARDED_BY(mu_);
  int64_t documents_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t decisions_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t decided_at_end_ ABSL_GUARDED_BY(mu_) = 0;
};

// Everything the report says besides the series.
struct LoadSummary {
  std::string command_line;
  std::string via;     // "engine" or "kafka (...)"
  std::string pacing;  // "as fast as possible", "5000 documents/s", ...
  std::string corpus;  // path
  int64_t corpus_lines = 0;
  int64_t corpus_bytes = 0;
  double wall_seconds = 0;
  std::optional<double> state_live_bytes, state_sst_bytes;
  std::optional<double> write_amplification;
  std::vector<std::string> notes;
};

// Writes `dir`/report.md, timeseries.tsv and the plots (throughput.png,
// latency.png, resources.png, drawn by gnuplot).
absl::Status WriteLoadReport(const std::string& dir, const LoadSummary& s,
                             const LoadRecorder& r);

// p in [0, 1] of sorted `v` (nearest rank); 0 for an empty vector.
double Percentile(const std::vector<double>& sorted, double p);

}  // namespace clearlane

#endif  // CLEARLANE_BENCH_LOADTEST_REPORT_H_
