// `clearlane run --config FILE`: the engine on the platforms' Kafka topics
// (design.md "Kafka mode"; docs/kafka-mode.md).
//
// One consumer-group member consumes every input topic. Each epoch commits,
// in one RocksDB WriteBatch, the state, the outputs (outbox) and the next
// offset of every partition; then the outputs are published in one Kafka
// transaction (transactional.id = the config's instance.id, which fences
// an older instance still running), each with a `clearlane-seq` header
// holding its sequence number in its output stream. A restart reads the
// tail of every output partition and publishes only the outbox records
// with a greater sequence than the partition holds: nothing is lost or
// written twice. Offsets are also committed to the group after each epoch,
// so consumer lag shows in the usual tools; they are read back only from
// RocksDB.
//
// Event time: each input partition's watermark is the greatest appTime it
// brought; the engine's watermark is the least over the assigned
// partitions, leaving out a partition that brought nothing for
// idle.timeout.ms (engine/partition_group.h).
//
// The pieces: the consumer as the driver loop's source (topic_source.h),
// the producer as its sink (record_collector.h), librdkafka's clients
// (client.h), the configuration (run_config.h).
//
// Thread-safety: RunKafka runs on the calling thread (and the threads it
// starts).

#ifndef CLEARLANE_PIPELINE_KAFKA_RUN_H_
#define CLEARLANE_PIPELINE_KAFKA_RUN_H_

#include <cstdio>
#include <string>

#include "pipeline/kafka/run_config.h"

namespace clearlane {

// Runs until SIGTERM or SIGINT (then finishes the epoch, publishes,
// commits and returns 0); returns 2 on a bad config or an operational
// failure, with a message on `err`.
// `overrides` are `run --set` (run_config.h). `standby`: `run --standby`,
// which follows the changelog into the state, a warm copy for a process
// to take over with (docs/kafka-mode.md "Standby"), until SIGTERM.
int RunKafka(const std::string& config_path,
             const RunConfigOverrides& overrides, bool standby, std::FILE* err);

// `run --check`: parses the configuration as RunKafka would and prints the
// settings it takes (every key, defaults included; the secret's path, never
// its content) on `out`; 0 when valid, 2 with the error on `err`. Neither
// the brokers nor the state are touched.
int CheckRunConfig(const std::string& config_path,
                   const RunConfigOverrides& overrides, std::FILE* out,
                   std::FILE* err);

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_KAFKA_RUN_H_
