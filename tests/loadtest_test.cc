// `clearlane loadtest` (issue 8): through the engine and through Kafka,
// paced and not, it writes a report whose counts are those of the corpus,
// plots that are PNG files, and a series a second.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "tests/test_util.h"

namespace clearlane {
namespace {

namespace fs = std::filesystem;

int RunCommand(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The value in the report's table row that starts with `figure`.
std::string Figure(const std::string& report, const std::string& figure) {
  const std::regex row("\\| " + figure + " \\| ([^|]+) \\|");
  std::smatch m;
  return std::regex_search(report, m, row) ? m[1].str() : "";
}

bool IsPng(const fs::path& p) {
  const std::string bytes = testing::Slurp(p);
  return bytes.size() > 1000 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}

class LoadtestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::path(::testing::TempDir()) /
        ("loadtest-" +
         std::string(
             ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
  }
  // Runs the load test; returns the report.
  std::string Load(const std::string& args) {
    const std::string log = (dir_.string() + ".log");
    EXPECT_EQ(
        RunCommand(absl::StrFormat("%s loadtest --out %s %s 2>%s",
                                   CLEARLANE_BINARY, dir_.string(), args, log)),
        0)
        << testing::Slurp(log);
    for (const char* plot :
         {"throughput.png", "latency.png", "resources.png"}) {
      EXPECT_TRUE(IsPng(dir_ / plot)) << plot;
    }
    return testing::Slurp(dir_ / "report.md");
  }
  fs::path dir_;
};

TEST_F(LoadtestTest, EngineAsFastAsPossible) {
  const std::string report = Load("--orders 3000 --seed 5 --flow import");
  EXPECT_EQ(Figure(report, "lists decided"), "3,000") << report;
  EXPECT_EQ(Figure(report, "decisions measured for latency"), "3,000");
  // Every line of the generated corpus processed.
  const size_t lines = testing::Lines(dir_ / "corpus.ndjson").size();
  EXPECT_EQ(Figure(report, "documents processed"),
            absl::StrFormat("%d,%03d", lines / 1000, lines % 1000));
  EXPECT_NE(Figure(report, "latency p50 / p95 / p99 / max"), "");
  EXPECT_NE(report.find("as fast as possible"), std::string::npos);
  EXPECT_NE(report.find("ratio to the national record peak"),
            std::string::npos);
  EXPECT_GT(testing::Lines(dir_ / "timeseries.tsv").size(), 1u);
}

// A corpus of CEB XML messages (contract §11) replays through the engine
// as the same documents in JSON do: every record counted and processed,
// every list decided. Through Kafka it is refused with a clear error.
TEST_F(LoadtestTest, XmlCorpusThroughTheEngine) {
  const fs::path json = fs::path(::testing::TempDir()) / "loadtest-xml.ndjson";
  const fs::path xml = fs::path(::testing::TempDir()) / "loadtest-xml.xml";
  ASSERT_EQ(RunCommand(absl::StrFormat(
                "%s gen --orders 1000 --seed 7 --flow import --out %s && "
                "%s convert --input %s --to xml --xml-records 20 --out %s",
                CLEARLANE_BINARY, json.string(), CLEARLANE_BINARY,
                json.string(), xml.string())),
            0);
  const size_t lines = testing::Lines(json).size();
  const std::string count =
      absl::StrFormat("%d,%03d", lines / 1000, lines % 1000);
  const std::string report = Load("--input " + xml.string());
  EXPECT_EQ(Figure(report, "lists decided"), "1,000") << report;
  EXPECT_EQ(Figure(report, "documents processed"), count);
  EXPECT_NE(report.find(count + " documents"), std::string::npos) << report;
  const std::string log = (dir_.string() + "-kafka.log");
  EXPECT_EQ(RunCommand(absl::StrFormat(
                "%s loadtest --out %s-kafka --input %s --via kafka 2>%s",
                CLEARLANE_BINARY, dir_.string(), xml.string(), log)),
            2);
  EXPECT_NE(testing::Slurp(log).find("holds CEB XML"), std::string::npos);
}

// Paced at 1,000 documents a second (slow enough for a sanitizer build on
// a loaded machine), about 4,100 documents take about 4 seconds: the
// series has a row per second and the rate shows in it.
TEST_F(LoadtestTest, EnginePacedAtARate) {
  const std::string report =
      Load("--orders 1000 --seed 6 --flow import --rate 1000");
  EXPECT_EQ(Figure(report, "lists decided"), "1,000") << report;
  EXPECT_NE(report.find("1000 documents/s"), std::string::npos);
  const auto rows = testing::Lines(dir_ / "timeseries.tsv");
  ASSERT_GE(rows.size(), 5u);  // header and at least four seconds
  // Whole seconds in the middle ran at the pace, within 10%.
  for (size_t i = 2; i <= 3; ++i) {
    const double rate = std::stod(rows[i].substr(rows[i].find('\t') + 1));
    EXPECT_NEAR(rate, 1000, 100) << rows[i];
  }
}

TEST_F(LoadtestTest, KafkaEndToEnd) {
  const std::string report =
      Load("--orders 1500 --seed 7 --flow mixed --via kafka --partitions 8");
  EXPECT_EQ(Figure(report, "lists decided"), "1,500") << report;
  EXPECT_NE(report.find("Kafka end to end"), std::string::npos);
  EXPECT_NE(report.find("Epoch commits (clearlane's own histogram"),
            std::string::npos);
  EXPECT_NE(testing::Slurp(dir_ / "run.log").find("stopped cleanly"),
            std::string::npos);
}

// --instances: three `clearlane run` processes in one consumer group share
// an import day; every list is decided, each member processed part of
// it, and the report gives each member's share and the total.
TEST_F(LoadtestTest, KafkaInstancesShareTheDay) {
  const std::string report = Load(
      "--orders 1500 --seed 9 --flow import --via kafka --partitions 8 "
      "--instances 3");
  EXPECT_EQ(Figure(report, "lists decided"), "1,500") << report;
  EXPECT_NE(report.find("3 child processes in one consumer group"),
            std::string::npos)
      << report;
  static const std::regex member(
      R"re(instance ([0-9]): ([0-9]+) documents, [0-9]+ documents/s)re");
  int64_t documents = 0;
  int members = 0;
  for (std::sregex_iterator it(report.begin(), report.end(), member), end;
       it != end; ++it) {
    ++members;
    EXPECT_GT(std::stoll((*it)[2].str()), 0) << (*it)[0].str();
    documents += std::stoll((*it)[2].str());
  }
  EXPECT_EQ(members, 3) << report;
  EXPECT_EQ(
      std::to_string(documents),
      absl::StrReplaceAll(Figure(report, "documents processed"), {{",", ""}}))
      << report;
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(testing::Slurp(dir_ / absl::StrFormat("run-%d.log", i))
                  .find("stopped cleanly"),
              std::string::npos)
        << i;
  }
  // More than one member needs an import day.
  EXPECT_EQ(RunCommand(absl::StrFormat(
                "%s loadtest --out %s-mixed --flow mixed --via kafka "
                "--instances 2 2>/dev/null",
                CLEARLANE_BINARY, dir_.string())),
            2);
}

}  // namespace
}  // namespace clearlane
