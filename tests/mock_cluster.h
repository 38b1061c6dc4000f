// librdkafka's embedded mock cluster for the tests of pieces that read and
// write topics themselves (recovery, restore), without a `clearlane
// broker` process: the real Kafka protocol, in the test's process.

#ifndef CLEARLANE_TESTS_MOCK_CLUSTER_H_
#define CLEARLANE_TESTS_MOCK_CLUSTER_H_

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <string>

#include "pipeline/kafka/client.h"

namespace clearlane::testing {

class MockCluster {
 public:
  MockCluster() {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", errstr, sizeof errstr);
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    EXPECT_NE(host_, nullptr) << errstr;
    if (host_) cluster_ = rd_kafka_mock_cluster_new(host_, 1);
    EXPECT_NE(cluster_, nullptr);
    if (cluster_) bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
  }
  ~MockCluster() {
    if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
    if (host_) rd_kafka_destroy(host_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  bool ok() const { return cluster_ != nullptr; }
  void CreateTopic(const std::string& name, int partitions) {
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  // A client of the cluster, quiet below errors.
  absl::StatusOr<Kafka> Client(
      rd_kafka_type_t type, std::map<std::string, std::string> settings) const {
    settings["log_level"] = "2";
    auto conf = MakeKafkaConf(bootstrap_, settings, {});
    if (!conf.ok()) return conf.status();
    return NewKafka(type, *std::move(conf), "a test client");
  }

 private:
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace clearlane::testing

#endif  // CLEARLANE_TESTS_MOCK_CLUSTER_H_
