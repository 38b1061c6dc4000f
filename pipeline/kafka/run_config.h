// The configuration of `clearlane run` (Kafka mode): a plain text file of
// `key = value` lines; `#` starts a comment; blank lines are ignored; a key
// given twice is an error. Command-line overrides (`run --set key=value`)
// replace or add keys after the file is read. Every `kafka.<name>` key is
// passed to librdkafka unchanged as `<name>` (security.protocol, sasl.*, ssl.*,
// ...). docs/kafka-mode.md lists every key with its default.
//
// Thread-safety: value types and pure functions.

#ifndef CLEARLANE_PIPELINE_KAFKA_RUN_CONFIG_H_
#define CLEARLANE_PIPELINE_KAFKA_RUN_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/engine/options.h"
#include "pipeline/observe/options.h"

namespace clearlane {

// Kafka mode's defaults for the engine. Latency comes from epochs that
// end when the consumer has caught up (EpochCommitter::CommitIfCaughtUp);
// these bound them under load, where each is one transaction.
inline constexpr int64_t kRunEpochRecords = 32768;
inline constexpr int64_t kRunEpochMillis = 200;

struct RunConfig {
  RunConfig() {
    engine.epoch_records = kRunEpochRecords;
    engine.epoch_millis = kRunEpochMillis;
  }
  // The engine (state.dir, epoch.records, registry.file, ...).
  EngineOptions engine;
  // Metrics address and log level.
  ObserveOptions observe;
  std::string brokers;  // bootstrap.servers
  std::string group_id = "clearlane";
  // Input topics by the documents they carry. Topics keyed by orderNo
  // (contract §1 "Kafka keys") must have the same partition count.
  std::vector<std::string> order_keyed_topics;  // orders ... export lists
  std::vector<std::string>
      other_topics;  // export waybills, arrivals, departures
  std::string decisions_topic, summaries_topic, dead_letters_topic;
  // `topic.changelog`: the state's changelog (state/changelog.h), a
  // compacted topic partitioned like the inputs keyed by orderNo
  // (default: group.id + "-changelog"). `changelog.create`: create it
  // when it does not exist (true), or stop (false).
  std::string changelog_topic;
  bool create_changelog = true;
  // The exchange between stages A and B (operators/allowance.h):
  // `topic.allowance`, requests and give-backs keyed by the buyer's keyed
  // hash (default: group.id + "-allowance"), and `topic.allowance.answers`,
  // the answers keyed by orderNo (group.id + "-allowance-answers"); both
  // partitioned like the inputs keyed by orderNo, and created like the
  // changelog (`changelog.create`), with the broker's cleanup policy.
  std::string allowance_topic;
  std::string answers_topic;
  // Stage C's exchange (operators/summary.h): `topic.closed.lists`, closed
  // lists and watermark marks for the one task that owns every month
  // (default: group.id + "-closed-lists"); one partition, created like
  // the changelog.
  std::string closed_lists_topic;
  // `changelog.delete.retention.ms`: how long the broker keeps the
  // changelog's tombstones, when it does not say (DescribeConfigs); a
  // catch-up of a state older than that is refused (changelog_restore.h).
  // Kafka's default.
  int64_t changelog_delete_retention_ms = 86400000;
  // A partition that brings nothing for this long stops holding event time
  // back (its watermark is left out of the least).
  int64_t idle_timeout_ms = 30000;
  // The transactional.id that fences an older instance of the same
  // deployment (default: "clearlane-" + group.id).
  std::string instance_id;
  // `fresh.state`: a new state (no run record) on output topics that
  // already hold a clearlane state's outputs is refused ("check"), since
  // it would decide those lists again; "allow" starts anyway.
  bool fresh_state_check = true;
  // `group.members`: "one" (the default) refuses a second member of the
  // consumer group; "many" divides the tasks among the members (docs/
  // kafka-mode.md "Scaling out"): import inputs only, since stage L (the
  // export shipments) does not yet cross processes.
  bool many_members = false;
  // kafka.* keys without the prefix, passed to every client.
  std::map<std::string, std::string> kafka;
};

// "key=value" pairs given on the command line (`run --set`): each replaces
// the file's value of that key or adds it, and is checked as the file's
// lines are. One key given twice here is an error.
using RunConfigOverrides = std::vector<std::string>;

// Parses a configuration; errors name the line (or the --set) and the key.
absl::StatusOr<RunConfig> ParseRunConfig(
    std::string_view text, const RunConfigOverrides& overrides = {});
// Reads and parses a file; errors also name the file.
absl::StatusOr<RunConfig> LoadRunConfig(
    const std::string& path, const RunConfigOverrides& overrides = {});

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_KAFKA_RUN_CONFIG_H_
