// librdkafka clients as `clearlane run` makes them: its configuration keys
// first, then every `kafka.*` key of the run configuration unchanged, with
// librdkafka's own errors and log lines sent to clearlane's JSON log.
//
// Thread-safety: SetKafkaLogger once, before any client exists; clients
// are librdkafka's (thread-safe as it documents).

#ifndef CLEARLANE_PIPELINE_KAFKA_CLIENT_H_
#define CLEARLANE_PIPELINE_KAFKA_CLIENT_H_

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "pipeline/observe/log.h"

namespace clearlane {

struct KafkaConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, KafkaConfDeleter>;
struct KafkaDeleter {
  void operator()(rd_kafka_t* k) const { rd_kafka_destroy(k); }
};
using Kafka = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

// Where librdkafka's errors and log lines of every client go.
void SetKafkaLogger(Logger log);

// A client configuration: `ours`, then bootstrap.servers, then every key
// of `passed` (the run configuration's kafka.* keys, without the prefix).
// An error names the key, with its kafka. prefix when it was passed.
absl::StatusOr<KafkaConf> MakeKafkaConf(
    const std::string& brokers, const std::map<std::string, std::string>& ours,
    const std::map<std::string, std::string>& passed);

// A client of `type` made from `conf`.
absl::StatusOr<Kafka> NewKafka(rd_kafka_type_t type, KafkaConf conf,
                               std::string_view what);

// The text of `e`, which it destroys.
std::string ErrorText(rd_kafka_error_t* e);

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_KAFKA_CLIENT_H_
