// Metrics and health (issue 8): the counters of a replay equal what its
// output files hold, the endpoints answer, Prometheus's own tool accepts
// the exposition and the alert rules, the rules and the dashboard name
// only metrics clearlane exports, and no personal data reaches a metric or
// the log.

#include "pipeline/observe/metrics.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "bench/generator.h"
#include "bench/loadtest/http_client.h"
#include "pipeline/files/replay.h"
#include "tests/test_util.h"

namespace clearlane {
namespace {

namespace fs = std::filesystem;
using ::clearlane::HttpGet;

// "name{labels} value" lines of the text format: series -> value.
std::map<std::string, double> ParseExposition(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

// Runs `command` through the shell; its exit status and output.
std::pair<int, std::string> Shell(const std::string& command) {
  std::string out;
  std::FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) {
    out.append(buf, n);
  }
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::path(::testing::TempDir()) /
        ("metrics-" +
         std::string(
             ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  // A mixed day with every anomaly, replayed with --metrics-out. Returns
  // the exposition text; the log is in log_.
  std::string ReplayDay() {
    corpus_ = (dir_ / "day.ndjson").string();
    registry_ = (dir_ / "registry.ndjson").string();
    GeneratorOptions g;
    g.orders = 600;
    g.seed = 81;
    g.flow = Flow::kMixed;
    g.day = absl::CivilDay(2026, 11, 30);  // exports close in December
    g.anomalies = {.duplicates = 0.05,
                   .stale = 0.05,
                   .modifications = 0.05,
                   .missing = 0.05,
                   .amount_mismatches = 0.05,
                   .payer_mismatches = 0.05,
                   .invalid_ids = 0.05,
                   .cancels = 0.05,
                   .returns = 0.05,
                   .late_returns = 0.02,
                   .malformed = 0.02};
    std::FILE* out = std::fopen(corpus_.c_str(), "w");
    std::FILE* reg = std::fopen(registry_.c_str(), "w");
    GeneratorStats stats;
    EXPECT_TRUE(Generate(g, out, nullptr, reg, &stats).ok());
    std::fclose(out);
    std::fclose(reg);
    ReplayOptions r;
    r.inputs = {corpus_};
    r.out_dir = (dir_ / "out").string();
    r.engine.identity_registry = registry_;
    r.metrics_out = (dir_ / "metrics.prom").string();
    r.observe.log_level = spdlog::level::debug;
    r.engine.epoch_records = 200;  // several epochs, each logged at debug
    log_ = (dir_ / "replay.log").string();
    std::FILE* err = std::fopen(log_.c_str(), "w");
    EXPECT_EQ(RunReplay(r, err), 0);
    std::fclose(err);
    return testing::Slurp(r.metrics_out);
  }

  fs::path dir_;
  std::string corpus_, registry_, log_;
};

TEST_F(MetricsTest, ReplayCountsEqualWhatTheFilesHold) {
  const auto m = ParseExposition(ReplayDay());
  const fs::path out = dir_ / "out";
  simdjson::dom::parser parser;

  // Every input line counted once, under its docType or "undecodable".
  double documents = 0, undecodable = 0;
  for (const auto& [series, v] : m) {
    if (series.rfind("clearlane_documents_total{", 0) != 0) continue;
    EXPECT_NE(series.find("input=\"" + corpus_ + "\""), std::string::npos);
    documents += v;
    if (series.find("doc_type=\"undecodable\"") != std::string::npos) {
      undecodable += v;
    }
  }
  EXPECT_EQ(documents, static_cast<double>(testing::Lines(corpus_).size()));
  EXPECT_GT(undecodable, 0);

  // Receipts by docType, status and first reason.
  std::map<std::string, double> receipts;
  for (const std::string& line :
       testing::Lines((out / "receipts.ndjson").string())) {
    simdjson::dom::element r = parser.parse(line);
    simdjson::dom::array reasons = r["reasons"];
    std::string reason = "none";
    for (simdjson::dom::element x : reasons) {
      reason = std::string(std::string_view(x["code"]));
      break;
    }
    receipts[absl::StrFormat(
        "clearlane_receipts_total{doc_type=\"%s\",reason=\"%s\",status=\"%s\"}",
        std::string_view(r["docType"]), reason,
        std::string_view(r["returnStatus"]))] += 1;
  }
  ASSERT_GT(receipts.size(), 8u);
  std::map<std::string, double> got;
  for (const auto& [series, v] : m) {
    if (series.rfind("clearlane_receipts_total{", 0) == 0) got[series] = v;
  }
  EXPECT_EQ(got, receipts);

  // Dead letters by reason, the decoder's and the operators' alike.
  std::map<std::string, double> dead;
  for (const std::string& line :
       testing::Lines((out / "deadletters.ndjson").string())) {
    simdjson::dom::element d = parser.parse(line);
    dead[absl::StrFormat("clearlane_dead_letters_total{reason=\"%s\"}",
                         std::string_view(d["reason"]))] += 1;
  }
  ASSERT_GT(dead.size(), 1u);
  got.clear();
  for (const auto& [series, v] : m) {
    if (series.rfind("clearlane_dead_letters_total{", 0) == 0) got[series] = v;
  }
  EXPECT_EQ(got, dead);

  EXPECT_EQ(m.at("clearlane_declaration_forms_total"),
            static_cast<double>(
                testing::Lines((out / "summaries.ndjson").string()).size()));
  EXPECT_GT(m.at("clearlane_declaration_forms_total"), 0);
  // Drained: nothing pending; everything published.
  EXPECT_EQ(m.at("clearlane_lists_pending{stage=\"A\"}"), 0);
  EXPECT_EQ(m.at("clearlane_lists_pending{stage=\"L\"}"), 0);
  EXPECT_GT(m.at("clearlane_epochs_total"), 0);
  EXPECT_EQ(m.at("clearlane_epoch_commit_seconds_count"),
            m.at("clearlane_epochs_total"));
  EXPECT_GT(m.at("clearlane_rocksdb_written_bytes_total"), 0);
  // Entries by store: replay's outputs are written to the files ahead of
  // the state, never to the outbox; timers are rebuilt, never stored.
  for (const char* store : {"outbox", "timers"}) {
    for (const char* op : {"put", "delete"}) {
      EXPECT_EQ(m.at(absl::StrFormat(
                    "clearlane_state_entries_written_total{op=\"%s\",store="
                    "\"%s\"}",
                    op, store)),
                0)
          << op << " " << store;
    }
  }
  // Each order group is written at least once.
  EXPECT_GE(
      m.at(
          "clearlane_state_entries_written_total{op=\"put\",store=\"orders\"}"),
      600);
  EXPECT_GT(m.at("clearlane_state_written_bytes_total{store=\"orders\"}"),
            m.at("clearlane_state_entries_written_total{op=\"put\","
                 "store=\"orders\"}"));
  EXPECT_GT(m.at("process_resident_memory_bytes"), 1e6);
  EXPECT_EQ(m.at("clearlane_ready"), 1);
}

// Prometheus's own checker accepts the exposition (names, help, types).
TEST_F(MetricsTest, PromtoolAcceptsTheExposition) {
  ReplayDay();
  const auto [status, output] = Shell(absl::StrFormat(
      "promtool check metrics < %s", (dir_ / "metrics.prom").string()));
  EXPECT_EQ(status, 0) << output;
}

TEST_F(MetricsTest, NoPersonalDataInMetricsOrLog) {
  const std::string text = ReplayDay() + testing::Slurp(log_);
  const std::set<std::string> personal =
      testing::PersonalDataIn(testing::Slurp(corpus_));
  ASSERT_GT(personal.size(), 300u);
  for (const std::string& p : personal) {
    EXPECT_EQ(text.find(p), std::string::npos) << "found in metrics or log";
  }
}

// The log is JSON lines with a time, a level, the logger and a message.
TEST_F(MetricsTest, LogIsOneJsonObjectPerLine) {
  ReplayDay();
  const std::vector<std::string> lines = testing::Lines(log_);
  ASSERT_GT(lines.size(), 3u);
  simdjson::dom::parser parser;
  std::set<std::string> levels;
  for (const std::string& line : lines) {
    simdjson::dom::element e;
    ASSERT_EQ(parser.parse(line).get(e), simdjson::SUCCESS) << line;
    EXPECT_EQ(std::string_view(e["logger"]), "replay");
    EXPECT_EQ(std::string_view(e["time"]).size(), 24u) << line;
    EXPECT_FALSE(std::string_view(e["msg"]).empty());
    levels.insert(std::string(std::string_view(e["level"])));
  }
  EXPECT_TRUE(levels.count("debug"));
}

TEST(MetricsServer, HealthReadyAndMetricsEndpoints) {
  Metrics m;
  auto port = m.Serve("127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(HttpGet(*port, "/healthz").status, 200);
  EXPECT_EQ(HttpGet(*port, "/readyz").status, 503);
  m.set_ready(true);
  EXPECT_EQ(HttpGet(*port, "/readyz").status, 200);
  m.Record("orders", nullptr);
  const auto metrics = HttpGet(*port, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  const auto values = ParseExposition(metrics.body);
  EXPECT_EQ(values.at("clearlane_ready"), 1);
  EXPECT_EQ(values.at("clearlane_documents_total{doc_type=\"undecodable\","
                      "input=\"orders\"}"),
            1);
  EXPECT_EQ(HttpGet(*port, "/nothing").status, 404);
  // A taken port is an error naming the address.
  Metrics other;
  auto again = other.Serve(absl::StrFormat("127.0.0.1:%d", *port));
  EXPECT_FALSE(again.ok());
}

// The alert rules load, and their unit tests (deploy/prometheus/
// clearlane-rules.test.yml) pass: each alert fires on the series that
// should raise it and not on healthy ones.
TEST(Deploy, AlertRulesCheckAndPassTheirTests) {
  const std::string dir =
      std::string(CLEARLANE_SOURCE_DIR) + "/deploy/prometheus";
  auto [status, output] = Shell(
      absl::StrFormat("promtool check rules %s/clearlane-rules.yml", dir));
  EXPECT_EQ(status, 0) << output;
  std::tie(status, output) = Shell(absl::StrFormat(
      "cd %s && promtool test rules clearlane-rules.test.yml", dir));
  EXPECT_EQ(status, 0) << output;
}

// Every metric the rules and the dashboard query is one clearlane exports
// (a renamed metric would leave a silent alert or an empty panel).
TEST_F(MetricsTest, RulesAndDashboardNameOnlyExportedMetrics) {
  const std::string text = ReplayDay();
  Metrics m;  // Kafka-only series are absent from a replay's text
  m.SetConsumerLag("orders", 0, 0);
  const std::string all = text + m.Text();
  std::set<std::string> exported;
  static const std::regex name(R"(^# TYPE (\S+) (\S+))");
  std::istringstream in(all);
  for (std::string line; std::getline(in, line);) {
    std::smatch match;
    if (std::regex_search(line, match, name)) {
      exported.insert(match[1]);
      if (match[2] == "histogram") {
        exported.insert(match[1].str() + "_bucket");
        exported.insert(match[1].str() + "_sum");
        exported.insert(match[1].str() + "_count");
      }
    }
  }
  const std::string root = CLEARLANE_SOURCE_DIR;
  for (const std::string file : {"/deploy/prometheus/clearlane-rules.yml",
                                 "/deploy/grafana/clearlane.json"}) {
    const std::string source = testing::Slurp(root + file);
    static const std::regex used(R"(\b((clearlane|process)_[a-z_]+))");
    int count = 0;
    for (auto it = std::sregex_iterator(source.begin(), source.end(), used);
         it != std::sregex_iterator(); ++it) {
      const std::string metric = (*it)[1];
      EXPECT_TRUE(exported.count(metric)) << metric << " in " << file;
      ++count;
    }
    EXPECT_GT(count, 5) << file;
  }
}

}  // namespace
}  // namespace clearlane
