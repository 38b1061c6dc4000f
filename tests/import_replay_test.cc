// Issue 5's proof on a whole generated day: replaying a gen corpus with
// every import anomaly, each anomaly the generator injected (it writes them
// to its truth file) shows up as the reason the contract expects, and no
// clean order is rejected: a clean list is released unless its buyer's
// year is used up (the heavy-tailed buyers and single items over 5000.00
// can do that; the limits themselves are tested in clearance_test).

#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "bench/generator.h"
#include "pipeline/files/replay.h"
#include "tests/test_util.h"

namespace clearlane {
namespace {

using ::clearlane::testing::Lines;

namespace fs = std::filesystem;

struct Decision {
  std::string status;
  std::set<std::string> codes;
};

TEST(ImportReplay, EveryInjectedAnomalyGetsItsReasonAndCleanOrdersAreReleased) {
  const fs::path dir = fs::path(::testing::TempDir()) / "import-replay";
  fs::remove_all(dir);
  fs::create_directories(dir);
  GeneratorOptions o;
  o.orders = 4000;
  o.seed = 55;
  o.flow = Flow::kImport;
  o.buyers = 100000;  // nobody near 26000.00
  o.registry_unknown = 0;
  o.registry_mismatch = 0;
  AnomalyRates& a = o.anomalies;
  a.duplicates = a.stale = a.modifications = 0.03;
  a.missing = a.amount_mismatches = a.payer_mismatches = a.invalid_ids = 0.02;
  a.cancels = a.returns = a.late_returns = 0.02;
  a.malformed = 0.01;
  const std::string input = (dir / "day.ndjson").string();
  const std::string truth = (dir / "truth.ndjson").string();
  const std::string registry = (dir / "registry.ndjson").string();
  {
    std::FILE* f = std::fopen(input.c_str(), "w");
    std::FILE* t = std::fopen(truth.c_str(), "w");
    std::FILE* r = std::fopen(registry.c_str(), "w");
    ASSERT_TRUE(Generate(o, f, t, r, nullptr).ok());
    std::fclose(f);
    std::fclose(t);
    std::fclose(r);
  }
  ReplayOptions options;
  options.inputs = {input};
  options.out_dir = (dir / "out").string();
  options.engine.identity_registry = registry;
  options.engine.sync = false;
  ASSERT_EQ(RunReplay(options, stderr), 0);

  simdjson::dom::parser parser;
  // Receipts by (docType, orderNo).
  std::map<std::pair<std::string, std::string>, std::vector<Decision>> receipts;
  for (const std::string& line : Lines(dir / "out" / "receipts.ndjson")) {
    simdjson::dom::element r = parser.parse(line);
    Decision d;
    d.status = std::string(std::string_view(r["returnStatus"]));
    for (simdjson::dom::element reason : r["reasons"].get_array()) {
      d.codes.insert(std::string(std::string_view(reason["code"])));
    }
    receipts[{std::string(std::string_view(r["docType"])),
              std::string(std::string_view(r["orderNo"]))}]
        .push_back(d);
  }
  std::map<std::string, std::pair<std::string, std::string>> anomalies;
  int checked = 0;
  for (const std::string& line : Lines(truth)) {
    simdjson::dom::element t = parser.parse(line);
    std::string_view orderNo;
    if (t["orderNo"].get(orderNo)) continue;  // a line-level anomaly
    const std::string expect{std::string_view(t["expect"])};
    const std::string receipt{std::string_view(t["receipt"])};
    if (expect == "no effect") continue;
    anomalies[std::string(orderNo)] = {receipt, expect};
    auto it = receipts.find({receipt, std::string(orderNo)});
    ASSERT_NE(it, receipts.end()) << orderNo << " " << expect;
    ASSERT_EQ(it->second.size(), 1u) << orderNo;
    const Decision& d = it->second[0];
    if (expect == "399") {
      EXPECT_EQ(d.status, "399") << orderNo;
    } else {
      EXPECT_TRUE(d.codes.count(expect)) << orderNo << " lacks " << expect;
    }
    ++checked;
  }
  EXPECT_GT(checked, 400);
  // Every list gets exactly one decision; clean ones are released.
  int released = 0, allowance_used_up = 0;
  for (const auto& [key, decisions] : receipts) {
    if (key.first != "CEB622") continue;
    ASSERT_EQ(decisions.size(), 1u) << key.second;
    auto anomaly = anomalies.find(key.second);
    if (anomaly == anomalies.end() || anomaly->second.first != "CEB622") {
      if (decisions[0].codes ==
          std::set<std::string>{"ANNUAL_LIMIT_EXCEEDED"}) {
        ++allowance_used_up;
        continue;
      }
      EXPECT_EQ(decisions[0].status, "800")
          << key.second << " " << *decisions[0].codes.begin();
      ++released;
    }
  }
  EXPECT_GT(released, 3000);
  EXPECT_LT(allowance_used_up, 40);
}

}  // namespace
}  // namespace clearlane
