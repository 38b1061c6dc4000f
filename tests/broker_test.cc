// `clearlane broker` with a client nobody here wrote: kcat (Debian's
// package) produces to it and consumes from it, alone and in a consumer
// group, over real Kafka wire protocol on loopback; SIGTERM ends it with
// status 0.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/loadtest/http_client.h"
#include "tests/process.h"
#include "tests/test_util.h"

extern char** environ;

namespace clearlane {
namespace {

using ::clearlane::testing::AwaitFileLine;
using ::clearlane::testing::Slurp;
using ::clearlane::testing::Spawn;
using ::clearlane::testing::Wait;

namespace fs = std::filesystem;

class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::path(::testing::TempDir()) /
        ("broker-" +
         std::string(
             ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    log_ = (dir_ / "stderr.log").string();
  }
  void TearDown() override {
    if (broker_ > 0) {
      kill(broker_, SIGKILL);
      Wait(broker_);
    }
  }
  // Starts the broker; returns its bootstrap address.
  std::string Start(std::vector<std::string> extra) {
    const std::string file = (dir_ / "bootstrap").string();
    std::vector<std::string> args = {CLEARLANE_BINARY, "broker",
                                     "--bootstrap-file", file};
    args.insert(args.end(), extra.begin(), extra.end());
    broker_ = Spawn(args, {.out = (dir_ / "broker.out").string(), .err = log_});
    EXPECT_GT(broker_, 0);
    const std::string bootstrap = AwaitFileLine(file);
    EXPECT_FALSE(bootstrap.empty()) << Slurp(log_);
    return bootstrap;
  }
  // Runs kcat to completion.
  int Kcat(std::vector<std::string> args, const std::string& in,
           const std::string& out) {
    args.insert(args.begin(), "kcat");
    return Wait(Spawn(args, {.in = in, .out = out, .err = log_}));
  }
  // Produces `n` keyed messages "k<i>:v<i>" to `topic`.
  void Produce(const std::string& bootstrap, const std::string& topic, int n) {
    const std::string in = (dir_ / "in.txt").string();
    {
      std::ofstream f(in);
      for (int i = 0; i < n; ++i) f << "k" << i << ":v" << i << "\n";
    }
    ASSERT_EQ(Kcat({"-b", bootstrap, "-P", "-t", topic, "-K", ":"}, in,
                   (dir_ / "produce.out").string()),
              0)
        << Slurp(log_);
  }
  std::set<std::string> ValuesIn(const std::string& path) {
    std::set<std::string> out;
    std::istringstream in(Slurp(path));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) out.insert(line);
    }
    return out;
  }
  fs::path dir_;
  std::string log_;
  pid_t broker_ = -1;
};

TEST_F(BrokerTest, KcatProducesAndConsumesAndSigtermEndsIt) {
  const std::string bootstrap = Start({"--brokers", "3", "--topic", "docs:4"});
  // Metadata as kcat sees it: three brokers, four partitions.
  const std::string meta = (dir_ / "meta.txt").string();
  ASSERT_EQ(Kcat({"-b", bootstrap, "-L", "-t", "docs"}, "", meta), 0);
  EXPECT_NE(Slurp(meta).find("3 brokers"), std::string::npos) << Slurp(meta);
  EXPECT_NE(Slurp(meta).find("4 partitions"), std::string::npos);

  Produce(bootstrap, "docs", 200);
  const std::string out = (dir_ / "consumed.txt").string();
  ASSERT_EQ(Kcat({"-b", bootstrap, "-C", "-t", "docs", "-o", "beginning", "-e",
                  "-f", "%k:%s\n"},
                 "", out),
            0)
      << Slurp(log_);
  const std::set<std::string> got = ValuesIn(out);
  EXPECT_EQ(got.size(), 200u);
  EXPECT_TRUE(got.count("k0:v0") && got.count("k199:v199"));

  kill(broker_, SIGTERM);
  EXPECT_EQ(Wait(broker_), 0);
  broker_ = -1;
  EXPECT_NE(Slurp(log_).find("SIGTERM, stopping"), std::string::npos);
}

TEST_F(BrokerTest, ConsumerGroupReadsEveryPartitionOnceAndCommits) {
  const std::string bootstrap = Start({"--topic", "docs:3"});
  Produce(bootstrap, "docs", 90);
  const std::string out = (dir_ / "group.txt").string();
  // A short session: the mock's coordinator waits for a member that left
  // without saying so for that long.
  ASSERT_EQ(
      Kcat({"-b", bootstrap, "-G", "g1", "-X", "auto.offset.reset=earliest",
            "-X", "session.timeout.ms=6000", "-e", "-f", "%p %k:%s\n", "docs"},
           "", out),
      0)
      << Slurp(log_);
  const std::set<std::string> got = ValuesIn(out);
  EXPECT_EQ(got.size(), 90u);
  std::set<char> partitions;
  for (const std::string& line : got) partitions.insert(line[0]);
  EXPECT_EQ(partitions, (std::set<char>{'0', '1', '2'}));
  // The group committed its offsets: the same group reads nothing new.
  Produce(bootstrap, "docs", 0);
  const std::string again = (dir_ / "again.txt").string();
  ASSERT_EQ(Kcat({"-b", bootstrap, "-G", "g1", "-X", "session.timeout.ms=6000",
                  "-e", "docs"},
                 "", again),
            0);
  EXPECT_TRUE(ValuesIn(again).empty()) << Slurp(again);
}

TEST_F(BrokerTest, FixedPortIsABootstrapAddress) {
  const int port = FreePort();
  const std::string bootstrap =
      Start({"--port", std::to_string(port), "--topic", "t:1"});
  EXPECT_EQ(bootstrap, "127.0.0.1:" + std::to_string(port));
  Produce(bootstrap, "t", 10);
  const std::string out = (dir_ / "out.txt").string();
  ASSERT_EQ(Kcat({"-b", bootstrap, "-C", "-t", "t", "-e"}, "", out), 0);
  EXPECT_EQ(ValuesIn(out).size(), 10u);
}

TEST_F(BrokerTest, BadTopicIsAClearError) {
  const std::string file = (dir_ / "bootstrap").string();
  pid_t pid = Spawn({CLEARLANE_BINARY, "broker", "--topic", "docs:zero",
                     "--bootstrap-file", file},
                    {.out = (dir_ / "out").string(), .err = log_});
  EXPECT_EQ(Wait(pid), 2);
  EXPECT_NE(Slurp(log_).find("--topic docs:zero"), std::string::npos);
  EXPECT_FALSE(fs::exists(file));
}

}  // namespace
}  // namespace clearlane
