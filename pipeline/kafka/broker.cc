#include "pipeline/kafka/broker.h"

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "pipeline/files/file_util.h"

namespace clearlane {
namespace {

struct TopicSpec {
  std::string name;
  int partitions = 1;
};

absl::StatusOr<TopicSpec> ParseTopic(const std::string& spec) {
  TopicSpec t;
  const size_t colon = spec.rfind(':');
  t.name = spec.substr(0, colon);
  if (colon != std::string::npos &&
      (!absl::SimpleAtoi(spec.substr(colon + 1), &t.partitions) ||
       t.partitions < 1 || t.partitions > 10000)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--topic %s: expected name:partitions with 1 to 10000 partitions",
        spec));
  }
  if (t.name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--topic %s: the topic has no name", spec));
  }
  return t;
}

// Copies bytes both ways between two sockets until either side closes.
void Splice(int a, int b) {
  char buf[65536];
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  while (poll(fds, 2, -1) > 0) {
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(a);
        close(b);
        return;
      }
      for (ssize_t off = 0; off < n;) {
        const ssize_t w = write(fds[1 - i].fd, buf + off, n - off);
        if (w <= 0) {
          close(a);
          close(b);
          return;
        }
        off += w;
      }
    }
  }
  close(a);
  close(b);
}

// A listener on 127.0.0.1:port that forwards every connection to
// 127.0.0.1:target: the fixed bootstrap address of a cluster whose brokers
// listen on ephemeral ports.
class Forwarder {
 public:
  static absl::StatusOr<std::unique_ptr<Forwarder>> Start(int port,
                                                          int target) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) ||
        listen(fd, 64)) {
      const std::string why = std::strerror(errno);
      if (fd >= 0) close(fd);
      return absl::UnavailableError(
          absl::StrFormat("cannot listen on 127.0.0.1:%d: %s", port, why));
    }
    auto f = std::unique_ptr<Forwarder>(new Forwarder(fd, target));
    f->thread_ = std::thread([p = f.get()] { p->AcceptLoop(); });
    return f;
  }
  ~Forwarder() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }

 private:
  Forwarder(int fd, int target) : fd_(fd), target_(target) {}
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      const int client = accept(fd_, nullptr, nullptr);
      if (client < 0) continue;
      const int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(target_));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (server < 0 ||
          connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr)) {
        close(client);
        if (server >= 0) close(server);
        continue;
      }
      std::thread(Splice, client, server).detach();
    }
  }
  const int fd_;
  const int target_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

int RunBroker(const BrokerOptions& options, std::FILE* err) {
  std::vector<TopicSpec> topics;
  for (const std::string& spec : options.topics) {
    auto t = ParseTopic(spec);
    if (!t.ok()) {
      absl::FPrintF(err, "clearlane broker: %s\n", t.status().message());
      return 2;
    }
    topics.push_back(*t);
  }
  // The signals are taken by sigwait below; every thread librdkafka starts
  // inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    absl::FPrintF(err, "clearlane broker: %s\n", errstr);
    return 2;
  }
  rd_kafka_mock_cluster_t* cluster =
      rd_kafka_mock_cluster_new(rk, options.brokers);
  if (!cluster) {
    absl::FPrintF(err, "clearlane broker: cannot start the mock cluster\n");
    rd_kafka_destroy(rk);
    return 2;
  }
  int status = 0;
  for (const TopicSpec& t : topics) {
    const rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(cluster, t.name.c_str(), t.partitions, 1);
    if (e) {
      absl::FPrintF(err, "clearlane broker: topic %s: %s\n", t.name,
                    rd_kafka_err2str(e));
      status = 2;
    }
  }
  std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
  std::unique_ptr<Forwarder> forwarder;
  if (status == 0 && options.port != 0) {
    // The first broker's port, from "127.0.0.1:p1,127.0.0.1:p2,...".
    const std::string first = bootstrap.substr(0, bootstrap.find(','));
    int target = 0;
    absl::SimpleAtoi(first.substr(first.rfind(':') + 1), &target);
    auto f = Forwarder::Start(options.port, target);
    if (f.ok()) {
      forwarder = *std::move(f);
      bootstrap = absl::StrFormat("127.0.0.1:%d", options.port);
    } else {
      absl::FPrintF(err, "clearlane broker: %s\n", f.status().message());
      status = 2;
    }
  }
  if (status == 0 && !options.bootstrap_file.empty()) {
    absl::Status st =
        WriteFileAtomically(options.bootstrap_file, bootstrap + "\n");
    if (!st.ok()) {
      absl::FPrintF(err, "clearlane broker: %s\n", st.message());
      status = 2;
    }
  }
  if (status == 0) {
    absl::FPrintF(err,
                  "clearlane broker: %d broker(s), bootstrap %s; in memory "
                  "only, ends on SIGTERM or SIGINT\n",
                  options.brokers, bootstrap);
    std::fflush(err);
    int sig = 0;
    sigwait(&signals, &sig);
    absl::FPrintF(err, "clearlane broker: %s, stopping\n",
                  sig == SIGTERM ? "SIGTERM" : "SIGINT");
  }
  forwarder.reset();
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return status;
}

}  // namespace clearlane
