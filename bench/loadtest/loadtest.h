// `clearlane loadtest`: replays a peak day through the embedded engine or
// end to end through Kafka, paced or as fast as it goes, and writes a
// report with plots. The harness owns the wall clock; the operators still
// never read it.
//
// Thread-safety: RunLoadtest runs on the calling thread (and the threads it
// starts).

#ifndef CLEARLANE_BENCH_LOADTEST_LOADTEST_H_
#define CLEARLANE_BENCH_LOADTEST_LOADTEST_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace clearlane {

struct LoadtestOptions {
  // The corpus (NDJSON). Empty: generate a Double-11 day of `orders`
  // orders (`gen --profile double11`) into the report directory.
  std::string input;
  std::string registry;  // the identity registry of `input`, if any
  int64_t orders = 100000;
  uint64_t seed = 1;
  std::string flow = "mixed";
  // "engine": the embedded engine in this process. "kafka": a `clearlane
  // run` child process on Kafka topics, fed and read by this process.
  std::string via = "engine";
  // Kafka: an existing cluster whose topics exist (see docs/loadtest.md);
  // empty: an embedded mock cluster.
  std::string bootstrap;
  int kafka_partitions = 32;
  // Kafka: how many `clearlane run` processes share the work as members of
  // one consumer group (group.members = many, import flows only when more
  // than one).
  int instances = 1;
  // Kafka: lines "key = value" added to the run configuration of the
  // `clearlane run` child (docs/kafka-mode.md), after the harness's own
  // (a key the harness writes is refused by run as given twice).
  std::vector<std::string> run_options;
  // Pacing: documents per second, or the corpus's own event-time shape
  // replayed `speedup` times faster (3600: an hour per second); neither:
  // as fast as possible.
  double rate = 0;
  double speedup = 0;
  int threads = 2;
  bool sync = true;
  std::string out_dir;       // the report
  std::string command_line;  // as typed, for the report
};

// Runs the load test; 0 on success, 2 on a failure (message on `err`).
int RunLoadtest(const LoadtestOptions& options, std::FILE* err);

}  // namespace clearlane

#endif  // CLEARLANE_BENCH_LOADTEST_LOADTEST_H_
