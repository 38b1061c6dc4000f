// Pieces the load test's drivers share: pacing, the progress bar, and
// reading receipts.
//
// Thread-safety: the load test's driver thread only.

#ifndef CLEARLANE_BENCH_LOADTEST_HARNESS_H_
#define CLEARLANE_BENCH_LOADTEST_HARNESS_H_

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/str_format.h"
#include "bench/loadtest/loadtest.h"
#include "bench/loadtest/report.h"

namespace clearlane {

// A receipt that decides a list: CEB622 or CEB604, any status but the
// export close (899).
inline bool IsDecision(std::string_view line) {
  if (line.rfind(R"({"docType":"CEB622")", 0) != 0 &&
      line.rfind(R"({"docType":"CEB604")", 0) != 0) {
    return false;
  }
  return line.find(R"("returnStatus":"899")") == std::string_view::npos;
}

// The value of a top-level text field, found by its key (outputs and
// documents are flat at the head).
inline std::string_view FieldOf(std::string_view line, std::string_view key) {
  const std::string pattern = absl::StrFormat("\"%s\":\"", key);
  const size_t at = line.find(pattern);
  if (at == std::string_view::npos) return {};
  const size_t start = at + pattern.size();
  const size_t end = line.find('"', start);
  return end == std::string_view::npos ? std::string_view()
                                       : line.substr(start, end - start);
}

// A progress bar on a terminal.
class Progress {
 public:
  Progress(std::FILE* err, int64_t total)
      : err_(err), total_(total), on_(isatty(fileno(err))) {}
  void Show(const LoadRecorder& r, bool final = false) {
    if (!on_) return;
    const auto now = LoadClock::now();
    if (!final && now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    const double done = total_ > 0
                            ? std::min(1.0, static_cast<double>(r.documents()) /
                                                static_cast<double>(total_))
                            : 0;
    const int width = 30;
    const int filled = static_cast<int>(done * width);
    absl::FPrintF(err_, "\r[%s%s] %3.0f%%  %d documents  %d lists  %.0f s%s",
                  std::string(filled, '#'), std::string(width - filled, '.'),
                  done * 100, r.documents(), r.decisions(), r.elapsed(),
                  final ? "\n" : "");
    std::fflush(err_);
  }

 private:
  std::FILE* err_;
  int64_t total_;
  bool on_;
  LoadClock::time_point last_{};
};

// When the record of index `i` with event time `app` (seconds) is due.
class Pacer {
 public:
  Pacer(const LoadtestOptions& o, LoadClock::time_point start)
      : rate_(o.rate), speedup_(o.speedup), start_(start) {}
  bool paced() const { return rate_ > 0 || speedup_ > 0; }
  LoadClock::time_point Due(int64_t i, std::optional<int64_t> app) {
    if (rate_ > 0) {
      return start_ +
             std::chrono::duration_cast<LoadClock::duration>(
                 std::chrono::duration<double>(static_cast<double>(i) / rate_));
    }
    if (speedup_ > 0 && app) {
      if (!first_app_) first_app_ = app;
      return start_ +
             std::chrono::duration_cast<LoadClock::duration>(
                 std::chrono::duration<double>(
                     static_cast<double>(*app - *first_app_) / speedup_));
    }
    return LoadClock::now();
  }
  std::string Describe() const {
    if (rate_ > 0) return absl::StrFormat("%.0f documents/s", rate_);
    if (speedup_ > 0) {
      return absl::StrFormat("the corpus's event-time shape, %.0f times faster",
                             speedup_);
    }
    return "as fast as possible";
  }

 private:
  double rate_, speedup_;
  LoadClock::time_point start_;
  std::optional<int64_t> first_app_;
};

}  // namespace clearlane

#endif  // CLEARLANE_BENCH_LOADTEST_HARNESS_H_
