// `clearlane broker`: librdkafka's mock cluster (rdkafka_mock.h) as a
// long-running process, so tests, demos and any Kafka client (kcat) can use
// real Kafka wire protocol on loopback with no Kafka installed.
//
// Limits (Debian's librdkafka 2.0.2): the cluster lives in memory only and
// ends with the process; its brokers listen on ephemeral ports of
// 127.0.0.1 (a fixed --port is a bootstrap listener that forwards to the
// first broker; clients then connect to the brokers' own addresses, which
// the cluster's metadata gives); the mock does not hide aborted
// transactions from read_committed consumers and does not store offsets
// sent in a transaction.
//
// Thread-safety: RunBroker runs on the calling thread until stopped.

#ifndef CLEARLANE_PIPELINE_KAFKA_BROKER_H_
#define CLEARLANE_PIPELINE_KAFKA_BROKER_H_

#include <cstdio>
#include <string>
#include <vector>

namespace clearlane {

struct BrokerOptions {
  int brokers = 1;
  // 0: the first broker's ephemeral port is the bootstrap address.
  int port = 0;
  // Written (atomically) with the bootstrap address once the cluster is up.
  std::string bootstrap_file;
  // Topics to create, "name:partitions" (partitions default 1).
  std::vector<std::string> topics;
};

// Runs until SIGTERM or SIGINT; returns the exit status (0 on a signal, 2
// when the cluster cannot start, with a message on `err`).
int RunBroker(const BrokerOptions& options, std::FILE* err);

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_KAFKA_BROKER_H_
