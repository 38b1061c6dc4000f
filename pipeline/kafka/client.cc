#include "pipeline/kafka/client.h"

#include <atomic>
#include <chrono>

#include "absl/strings/str_format.h"

namespace clearlane {
namespace {

Logger g_logger;

// librdkafka's own errors (brokers down, requests failing): it retries;
// the log says so, at most once a second.
void LogKafkaError(rd_kafka_t* rk, int err, const char* reason, void*) {
  static std::atomic<int64_t> last{0};
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  if (last.exchange(now) == now || !g_logger) return;
  g_logger->warn(absl::StrFormat(
      "kafka %s: %s: %s; retrying", rd_kafka_name(rk),
      rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason));
}

// librdkafka's own log lines (syslog levels) go to the JSON log.
void LogKafkaLine(const rd_kafka_t* rk, int level, const char* facility,
                  const char* text) {
  if (!g_logger) return;
  const std::string line =
      absl::StrFormat("kafka %s: %s: %s", rd_kafka_name(rk), facility, text);
  if (level <= 3) {
    g_logger->error(line);
  } else if (level == 4) {
    g_logger->warn(line);
  } else if (level <= 6) {
    g_logger->info(line);
  } else {
    g_logger->debug(line);
  }
}

}  // namespace

void SetKafkaLogger(Logger log) { g_logger = std::move(log); }

absl::StatusOr<KafkaConf> MakeKafkaConf(
    const std::string& brokers, const std::map<std::string, std::string>& ours,
    const std::map<std::string, std::string>& passed) {
  KafkaConf conf(rd_kafka_conf_new());
  rd_kafka_conf_set_error_cb(conf.get(), &LogKafkaError);
  rd_kafka_conf_set_log_cb(conf.get(), &LogKafkaLine);
  char errstr[512];
  std::map<std::string, std::string> all = ours;
  all["bootstrap.servers"] = brokers;
  for (const auto& [k, v] : passed) all[k] = v;
  for (const auto& [k, v] : all) {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), errstr,
                          sizeof errstr) != RD_KAFKA_CONF_OK) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s%s: %s", passed.count(k) ? "kafka." : "", k, errstr));
    }
  }
  return conf;
}

absl::StatusOr<Kafka> NewKafka(rd_kafka_type_t type, KafkaConf conf,
                               std::string_view what) {
  char errstr[512];
  rd_kafka_conf_t* raw = conf.release();
  Kafka k(rd_kafka_new(type, raw, errstr, sizeof errstr));
  if (!k) {
    rd_kafka_conf_destroy(raw);  // still ours when rd_kafka_new fails
    return absl::InvalidArgumentError(
        absl::StrFormat("creating the %s: %s", what, errstr));
  }
  return k;
}

std::string ErrorText(rd_kafka_error_t* e) {
  std::string s = rd_kafka_error_string(e);
  rd_kafka_error_destroy(e);
  return s;
}

}  // namespace clearlane
