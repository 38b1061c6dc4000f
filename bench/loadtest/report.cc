#include "bench/loadtest/report.h"

#include <librdkafka/rdkafka.h>
#include <rocksdb/version.h>
#include <simdjson.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace clearlane {
namespace {

// The national record of Double 11 (domain.md): lists a minute.
constexpr double kRecordListsPerMinute = 85000;

std::string FirstLineWith(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) {
      const size_t colon = line.find(':');
      if (colon == std::string::npos) return line;
      size_t start = colon + 1;
      while (start < line.size() && line[start] == ' ') ++start;
      return line.substr(start);
    }
  }
  return "?";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

std::string Bytes(double b) {
  if (b >= 1e9) return absl::StrFormat("%.2f GB", b / 1e9);
  if (b >= 1e6) return absl::StrFormat("%.1f MB", b / 1e6);
  return absl::StrFormat("%.0f kB", b / 1e3);
}

std::string Thousands(double v) {
  std::string digits = absl::StrFormat("%.0f", v);
  std::string out;
  const int n = static_cast<int>(digits.size());
  for (int i = 0; i < n; ++i) {
    out.push_back(digits[i]);
    if (digits[i] != '-' && (n - i - 1) % 3 == 0 && i != n - 1) {
      out.push_back(',');
    }
  }
  return out;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return Percentile(v, 0.5);
}

}  // namespace

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank =
      static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

LoadRecorder::Second& LoadRecorder::Now() {
  const auto i = static_cast<size_t>(
      std::chrono::duration<double>(LoadClock::now() - start_).count());
  if (seconds_.size() <= i) seconds_.resize(i + 1);
  return seconds_[i];
}

void LoadRecorder::Restart() {
  absl::MutexLock lock(&mu_);
  start_ = LoadClock::now();
  seconds_.clear();
}

void LoadRecorder::Documents(int64_t n) {
  absl::MutexLock lock(&mu_);
  Now().documents += n;
  documents_ += n;
}

void LoadRecorder::Decision(std::optional<double> latency) {
  absl::MutexLock lock(&mu_);
  Second& s = Now();
  ++s.decisions;
  ++decisions_;
  if (latency) {
    s.latencies.push_back(*latency);
  } else {
    ++decided_at_end_;
  }
}

void LoadRecorder::Commit(double seconds) {
  absl::MutexLock lock(&mu_);
  commits_.push_back(seconds);
}

void LoadRecorder::SampleProcess(const ProcessSample& p) {
  absl::MutexLock lock(&mu_);
  Now().process = p;
}

std::vector<LoadRecorder::Second> LoadRecorder::Seconds() const {
  absl::MutexLock lock(&mu_);
  return seconds_;
}
std::vector<double> LoadRecorder::Commits() const {
  absl::MutexLock lock(&mu_);
  return commits_;
}
int64_t LoadRecorder::documents() const {
  absl::MutexLock lock(&mu_);
  return documents_;
}
int64_t LoadRecorder::decisions() const {
  absl::MutexLock lock(&mu_);
  return decisions_;
}
int64_t LoadRecorder::decided_at_end() const {
  absl::MutexLock lock(&mu_);
  return decided_at_end_;
}
double LoadRecorder::elapsed() const {
  absl::MutexLock lock(&mu_);
  return std::chrono::duration<double>(LoadClock::now() - start_).count();
}

absl::Status WriteLoadReport(const std::string& dir, const LoadSummary& s,
                             const LoadRecorder& r) {
  const std::vector<LoadRecorder::Second> seconds = r.Seconds();
  std::vector<double> latencies;
  for (const auto& sec : seconds) {
    latencies.insert(latencies.end(), sec.latencies.begin(),
                     sec.latencies.end());
  }
  std::sort(latencies.begin(), latencies.end());
  std::vector<double> commits = r.Commits();
  std::sort(commits.begin(), commits.end());

  // The series, one row a second; CPU as cores used over the second.
  std::string tsv =
      "# second\tdocuments_per_s\tlists_per_s\tlatency_p50_ms\t"
      "latency_p95_ms\tlatency_p99_ms\tlatency_max_ms\trss_mb\tcpu_cores\n";
  std::optional<ProcessSample> last;
  size_t last_at = 0;
  double peak_rss = 0, cpu_end = 0, cpu_start = -1;
  std::vector<double> busy_docs, busy_lists;
  size_t first_busy = seconds.size(), last_busy = 0;
  for (size_t i = 0; i < seconds.size(); ++i) {
    if (seconds[i].documents > 0) {
      first_busy = std::min(first_busy, i);
      last_busy = i;
    }
  }
  for (size_t i = 0; i < seconds.size(); ++i) {
    const auto& sec = seconds[i];
    std::vector<double> l = sec.latencies;
    std::sort(l.begin(), l.end());
    double cores = NAN, rss = NAN;
    if (sec.process) {
      rss = sec.process->resident_bytes / 1e6;
      peak_rss = std::max(peak_rss, sec.process->resident_bytes);
      if (cpu_start < 0) cpu_start = sec.process->cpu_seconds;
      cpu_end = sec.process->cpu_seconds;
      if (last && i > last_at) {
        cores = (sec.process->cpu_seconds - last->cpu_seconds) /
                static_cast<double>(i - last_at);
      }
      last = sec.process;
      last_at = i;
    }
    auto ms = [&](double p) {
      return l.empty() ? std::string("NaN")
                       : absl::StrFormat("%.1f", Percentile(l, p) * 1000);
    };
    tsv += absl::StrFormat(
        "%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", i, sec.documents, sec.decisions,
        ms(0.5), ms(0.95), ms(0.99), ms(1.0),
        std::isnan(rss) ? "NaN" : absl::StrFormat("%.1f", rss),
        std::isnan(cores) ? "NaN" : absl::StrFormat("%.2f", cores));
    // Whole seconds while input flowed (not the first and last partial).
    if (i > first_busy && i < last_busy) {
      busy_docs.push_back(static_cast<double>(sec.documents));
      busy_lists.push_back(static_cast<double>(sec.decisions));
    }
  }
  {
    std::ofstream out(dir + "/timeseries.tsv");
    out << tsv;
    if (!out) {
      return absl::UnavailableError(
          absl::StrFormat("cannot write %s/timeseries.tsv", dir));
    }
  }

  // The plots.
  // Series with no value at all (a run shorter than two samples, no
  // latency measured) are left out: gnuplot refuses to plot nothing.
  bool any_latency = false, any_rss = false, any_cores = false;
  for (const std::string& row :
       std::vector<std::string>(absl::StrSplit(tsv, '\n'))) {
    if (row.empty() || row[0] == '#') continue;
    const std::vector<std::string> f = absl::StrSplit(row, '\t');
    if (f.size() < 9) continue;
    any_latency |= f[3] != "NaN";
    any_rss |= f[7] != "NaN";
    any_cores |= f[8] != "NaN";
  }
  const std::string data = absl::StrFormat("\"%s/timeseries.tsv\"", dir);
  std::string plot = absl::StrFormat(
      R"gp(set terminal pngcairo size 1000,420 font "sans,10"
set datafile separator "\t"
set datafile missing "NaN"
set grid
set key top left
set xlabel "seconds since start"
set output "%1$s/throughput.png"
set title "Throughput"
set ylabel "per second"
plot %2$s using 1:2 with linespoints lw 2 pt 7 ps 0.3 title "documents/s", \
     "" using 1:3 with linespoints lw 2 pt 7 ps 0.3 title "lists decided/s"
set output "%1$s/latency.png"
set title "Latency from a list's completing document to its decision"
set ylabel "milliseconds"
)gp",
      dir, data);
  if (any_latency) {
    plot += absl::StrFormat(
        R"gp(set logscale y
plot %1$s using 1:4 with linespoints lw 2 pt 7 ps 0.3 title "p50", \
     "" using 1:5 with linespoints lw 2 pt 7 ps 0.3 title "p95", \
     "" using 1:6 with linespoints lw 2 pt 7 ps 0.3 title "p99", \
     "" using 1:7 with points pt 7 ps 0.4 title "max"
unset logscale y
)gp",
        data);
  } else {
    plot +=
        "set label 1 \"no decision was measured\" at graph 0.5,0.5 center\n"
        "plot [0:1] 0 notitle\nunset label 1\n";
  }
  plot += absl::StrFormat(
      R"gp(set output "%1$s/resources.png"
set title "Process"
set ylabel "resident set, MB"
set y2label "CPU, cores"
set ytics nomirror
set y2tics
)gp",
      dir);
  std::vector<std::string> series;
  if (any_rss) {
    series.push_back(absl::StrFormat(
        "%s using 1:8 with linespoints lw 2 pt 7 ps 0.3 title \"RSS (MB)\"",
        data));
  }
  if (any_cores) {
    series.push_back(absl::StrFormat(
        "%s using 1:9 axes x1y2 with linespoints lw 2 pt 7 ps 0.3 title "
        "\"CPU (cores)\"",
        data));
  }
  if (series.empty()) series.push_back("[0:1] 0 notitle");
  plot += "plot " + absl::StrJoin(series, ", \\\n     ") + "\n";
  {
    std::ofstream out(dir + "/plots.gnuplot");
    out << plot;
  }
  const std::string command =
      absl::StrFormat("gnuplot %s/plots.gnuplot 2>&1", dir);
  std::FILE* p = popen(command.c_str(), "r");
  std::string gnuplot_output;
  if (p) {
    char buf[1024];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) {
      gnuplot_output.append(buf, n);
    }
  }
  const int status = p ? pclose(p) : -1;
  if (status != 0) {
    return absl::UnavailableError(absl::StrFormat(
        "gnuplot failed drawing the plots (is gnuplot-nox installed?): %s",
        gnuplot_output));
  }

  // The summary.
  const double wall = std::max(s.wall_seconds, 1e-9);
  const double docs_mean = static_cast<double>(r.documents()) / wall;
  const double lists_mean = static_cast<double>(r.decisions()) / wall;
  const double lists_median =
      busy_lists.empty() ? lists_mean : Median(busy_lists);
  const double docs_median = busy_docs.empty() ? docs_mean : Median(busy_docs);
  utsname u{};
  uname(&u);
  std::string md;
  md += "# Load test report\n\n";
  md += absl::StrFormat("Command: `%s`\n\n", s.command_line);
  md += "## Machine and versions\n\n";
  md += absl::StrFormat("- CPU: %s, %d logical cores; memory %s\n",
                        FirstLineWith("/proc/cpuinfo", "model name"),
                        std::thread::hardware_concurrency(),
                        FirstLineWith("/proc/meminfo", "MemTotal"));
  md +=
      absl::StrFormat("- Kernel %s %s; Debian %s\n", u.sysname, u.release, [] {
        std::string v = Slurp("/etc/debian_version");
        while (!v.empty() && v.back() == '\n') v.pop_back();
        return v.empty() ? std::string("?") : v;
      }());
  md += absl::StrFormat(
      "- Compiler %s; librdkafka %s; RocksDB %d.%d.%d; simdjson %d.%d.%d\n\n",
      __VERSION__, rd_kafka_version_str(), ROCKSDB_MAJOR, ROCKSDB_MINOR,
      ROCKSDB_PATCH, static_cast<int>(simdjson::SIMDJSON_VERSION_MAJOR),
      static_cast<int>(simdjson::SIMDJSON_VERSION_MINOR),
      static_cast<int>(simdjson::SIMDJSON_VERSION_REVISION));
  md += "## Run\n\n";
  md += absl::StrFormat("- Through: %s\n- Pacing: %s\n", s.via, s.pacing);
  md += absl::StrFormat("- Corpus: `%s`, %s documents, %s\n", s.corpus,
                        Thousands(static_cast<double>(s.corpus_lines)),
                        Bytes(static_cast<double>(s.corpus_bytes)));
  md += absl::StrFormat("- Wall time: %.1f s\n\n", s.wall_seconds);
  md += "## Figures\n\n| figure | value |\n|---|---:|\n";
  md += absl::StrFormat("| documents processed | %s |\n",
                        Thousands(static_cast<double>(r.documents())));
  md += absl::StrFormat("| lists decided | %s |\n",
                        Thousands(static_cast<double>(r.decisions())));
  md += absl::StrFormat("| documents/s, whole run | %s |\n",
                        Thousands(docs_mean));
  md += absl::StrFormat(
      "| documents/s, median second while input flowed | %s |\n",
      Thousands(docs_median));
  md += absl::StrFormat("| lists/s, whole run | %s |\n", Thousands(lists_mean));
  md += absl::StrFormat("| lists/minute, median second x 60 | %s |\n",
                        Thousands(lists_median * 60));
  md += absl::StrFormat(
      "| ratio to the national record peak (85,000 lists/minute) | %.3f |\n",
      lists_median * 60 / kRecordListsPerMinute);
  if (!latencies.empty()) {
    md += absl::StrFormat(
        "| latency p50 / p95 / p99 / max | %.1f / %.1f / %.1f / %.1f ms |\n",
        Percentile(latencies, 0.5) * 1000, Percentile(latencies, 0.95) * 1000,
        Percentile(latencies, 0.99) * 1000, latencies.back() * 1000);
  }
  md += absl::StrFormat("| decisions measured for latency | %s |\n",
                        Thousands(static_cast<double>(latencies.size())));
  if (r.decided_at_end() > 0) {
    md += absl::StrFormat(
        "| decided by the drain at the end of input (no latency) | %s |\n",
        Thousands(static_cast<double>(r.decided_at_end())));
  }
  if (!commits.empty()) {
    md += absl::StrFormat(
        "| epoch commits: count, p50 / p99 / max | %s, %.1f / %.1f / %.1f "
        "ms |\n",
        Thousands(static_cast<double>(commits.size())),
        Percentile(commits, 0.5) * 1000, Percentile(commits, 0.99) * 1000,
        commits.back() * 1000);
  }
  if (s.state_live_bytes) {
    md += absl::StrFormat("| RocksDB live data (estimate) | %s |\n",
                          Bytes(*s.state_live_bytes));
  }
  if (s.state_sst_bytes) {
    md += absl::StrFormat("| RocksDB table files | %s |\n",
                          Bytes(*s.state_sst_bytes));
  }
  if (s.write_amplification) {
    md += absl::StrFormat(
        "| RocksDB write amplification ((flush + compaction) / written) | "
        "%.2f |\n",
        *s.write_amplification);
  }
  md += absl::StrFormat("| peak resident set | %s |\n", Bytes(peak_rss));
  if (cpu_start >= 0) {
    md += absl::StrFormat("| CPU time, average cores | %.1f s, %.2f |\n",
                          cpu_end - cpu_start, (cpu_end - cpu_start) / wall);
  }
  md += "\n## Plots\n\n";
  md +=
      "![throughput](throughput.png)\n\n![latency](latency.png)\n\n"
      "![resources](resources.png)\n\n";
  md +=
      "The series are in `timeseries.tsv` (one row a second), the plots' "
      "script in `plots.gnuplot`.\n";
  if (!s.notes.empty()) {
    md += "\n## Notes\n\n- " + absl::StrJoin(s.notes, "\n- ") + "\n";
  }
  std::ofstream out(dir + "/report.md");
  out << md;
  if (!out) {
    return absl::UnavailableError(
        absl::StrFormat("cannot write %s/report.md", dir));
  }
  return absl::OkStatus();
}

}  // namespace clearlane
