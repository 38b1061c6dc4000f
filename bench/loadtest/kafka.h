// The load test end to end through Kafka: a `clearlane run` child process
// on Kafka topics (the embedded mock cluster, or a given one), fed and read
// by the harness.
//
// Thread-safety: RunLoadThroughKafka runs on the calling thread (and the
// threads it starts).

#ifndef CLEARLANE_BENCH_LOADTEST_KAFKA_H_
#define CLEARLANE_BENCH_LOADTEST_KAFKA_H_

#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "bench/loadtest/loadtest.h"
#include "bench/loadtest/report.h"
#include "pipeline/observe/log.h"

namespace clearlane {

// Topics the load test uses (created on the embedded cluster; they must
// exist on a given one).
inline constexpr char kLoadDocumentsTopic[] = "clearlane.loadtest.documents";
inline constexpr char kLoadDecisionsTopic[] = "clearlane.loadtest.decisions";
inline constexpr char kLoadSummariesTopic[] = "clearlane.loadtest.summaries";
inline constexpr char kLoadDeadLettersTopic[] =
    "clearlane.loadtest.deadletters";

absl::Status RunLoadThroughKafka(const LoadtestOptions& o,
                                 const std::string& corpus,
                                 const std::string& registry, Logger log,
                                 std::FILE* err, LoadSummary* summary,
                                 LoadRecorder* recorder);

}  // namespace clearlane

#endif  // CLEARLANE_BENCH_LOADTEST_KAFKA_H_
