// The configuration of `clearlane run` (Kafka mode): a plain text file of
// `key = value` lines; `#` starts a comment; blank lines are ignored; a key
// given twice is an error. Every `kafka.<name>` key is passed to
// librdkafka unchanged as `<name>` (security.protocol, sasl.*, ssl.*, ...).
// docs/kafka-mode.md lists every key with its default.

#ifndef CLEARLANE_PIPELINE_RUN_CONFIG_H_
#define CLEARLANE_PIPELINE_RUN_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/log.h"

namespace clearlane {

struct RunConfig {
  std::string brokers;  // bootstrap.servers
  std::string group_id = "clearlane";
  // Input topics by the documents they carry. Topics keyed by orderNo
  // (contract §1 "Kafka keys") must have the same partition count.
  std::vector<std::string> order_keyed_topics;  // orders ... export lists
  std::vector<std::string>
      other_topics;  // export waybills, arrivals, departures
  std::string decisions_topic, summaries_topic, dead_letters_topic;
  std::string state_dir;
  std::string hmac_secret_file;  // empty: a random secret kept in state
  std::string identity_registry;
  std::string tax_rates;
  int64_t epoch_records = 4096;
  int64_t epoch_millis = 200;
  bool sync = true;
  // A partition that brings nothing for this long stops holding event time
  // back (its watermark is left out of the least).
  int64_t idle_timeout_ms = 30000;
  int64_t import_timeout_hours = 24;
  int64_t export_timeout_days = 7;
  int64_t month_close_hours = 48;
  int summary_flag = 2;
  int form_lines = 50;
  // The transactional.id prefix that fences an older instance of the same
  // deployment (default: "clearlane-" + group.id).
  std::string instance_id;
  // Prometheus metrics, /healthz and /readyz served here ("host:port");
  // empty: none.
  std::string metrics_address;
  // The log's threshold (log.level: debug, info, warn, error).
  spdlog::level::level_enum log_level = spdlog::level::info;
  // Mask personal data in the dead letters' raw record (contract §7;
  // deadletters.mask: true or false).
  bool mask_dead_letters = false;
  // kafka.* keys without the prefix, passed to every client.
  std::map<std::string, std::string> kafka;
};

// Parses a configuration; errors name the line and the key.
absl::StatusOr<RunConfig> ParseRunConfig(std::string_view text);
// Reads and parses a file; errors also name the file.
absl::StatusOr<RunConfig> LoadRunConfig(const std::string& path);

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_RUN_CONFIG_H_
