// CEB XML end to end (contract §11, issue 19), through the clearlane
// binary: a generated mixed day with every anomaly, converted to XML
// messages of 1 and of 50 records, replays to the JSON day's receipts and
// summaries byte for byte and to the same dead letters apart from their
// source and raw; converted back to JSON it replays the same again; every
// receipt written as XML validates against the official 2022-05 XSD with
// xmllint; and a replay of XML killed at random moments, its commits
// falling inside messages, ends with the bytes of an uninterrupted run.
//
// The schemas are read from ../shared/ceb-xml (or $CLEARLANE_CEB_XML) and
// copied into the test's directory under the file names they import each
// other by; without them, or without xmllint, the validation is skipped
// with a message.

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "absl/strings/str_format.h"
#include "bench/generator.h"
#include "tests/process.h"
#include "tests/test_util.h"

namespace clearlane {
namespace {

namespace fs = std::filesystem;
using ::clearlane::testing::EnvOr;
using ::clearlane::testing::Exited;
using ::clearlane::testing::Lines;
using ::clearlane::testing::RunToEnd;
using ::clearlane::testing::Slurp;
using ::clearlane::testing::Wait;

constexpr char kSecret[] = "a secret of the XML tests, 32 bytes and more";

int Clearlane(std::vector<std::string> args, const std::string& log) {
  args.insert(args.begin(), CLEARLANE_BINARY);
  return RunToEnd(args, log);
}

fs::path CebXml() {
  const char* dir = std::getenv("CLEARLANE_CEB_XML");
  return fs::path(dir ? dir : CLEARLANE_CEB_XML_DIR);
}

// A dead letter without its source and raw: its reason and detail.
std::string Judgement(const std::string& dead_letter) {
  const size_t from = dead_letter.find("\"reason\":");
  const size_t to = dead_letter.find(",\"raw\":");
  return dead_letter.substr(from, to - from);
}

class XmlReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::path(::testing::TempDir()) /
        ("xml-" +
         std::string(
             ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    log_ = (dir_ / "stderr.log").string();
    std::ofstream(dir_ / "secret") << kSecret;
    fs::permissions(dir_ / "secret", fs::perms::owner_read);
  }

  // A mixed day with every anomaly (the last of a month: summaries of two
  // months) and its registry.
  void Generate(int64_t orders, uint64_t seed) {
    GeneratorOptions o;
    o.orders = orders;
    o.seed = seed;
    o.day = absl::CivilDay(2026, 11, 30);
    AnomalyRates& a = o.anomalies;
    a.duplicates = a.stale = a.modifications = a.missing = 0.03;
    a.amount_mismatches = a.payer_mismatches = a.invalid_ids = 0.02;
    a.cancels = a.returns = a.late_returns = 0.01;
    a.malformed = 0.02;
    o.single_item_over_limit = 0.01;
    o.registry_unknown = o.registry_mismatch = 0.01;
    day_ = (dir_ / "day.ndjson").string();
    registry_ = (dir_ / "registry.ndjson").string();
    std::FILE* f = std::fopen(day_.c_str(), "w");
    std::FILE* r = std::fopen(registry_.c_str(), "w");
    ASSERT_TRUE(clearlane::Generate(o, f, nullptr, r, nullptr).ok());
    std::fclose(f);
    std::fclose(r);
  }

  // `clearlane convert`; the lines it left out (the day's malformed ones).
  std::set<int64_t> Convert(const std::string& in, const std::string& out,
                            const std::string& to, int records = 1) {
    const std::string log =
        (dir_ / ("convert-" + fs::path(out).filename().string())).string();
    const int status =
        Clearlane({"convert", "--input", in, "--out", out, "--to", to,
                   "--xml-records", std::to_string(records)},
                  log);
    EXPECT_TRUE(status == 0 || status == 1) << Slurp(log);
    std::set<int64_t> left_out;
    static const std::regex line(R"(line (\d+) left out)");
    for (const std::string& l : Lines(log)) {
      std::smatch m;
      if (std::regex_search(l, m, line)) left_out.insert(std::stoll(m[1]));
    }
    return left_out;
  }

  // replay's arguments for a file (the binary not included).
  std::vector<std::string> ReplayArgs(const std::string& input,
                                      const std::string& out) {
    return {"replay",
            "--input",
            input,
            "--out",
            out,
            "--identity-registry",
            registry_,
            "--hmac-secret-file",
            (dir_ / "secret").string(),
            "--log-level",
            "warn"};
  }

  void Replay(const std::string& input, const std::string& out,
              std::vector<std::string> extra = {}) {
    std::vector<std::string> args = ReplayArgs(input, out);
    args.insert(args.end(), extra.begin(), extra.end());
    fs::create_directories(out);
    EXPECT_EQ(Clearlane(args, log_), 0) << Slurp(log_);
  }

  fs::path dir_;
  std::string log_, day_, registry_;
};

TEST_F(XmlReplayTest, ADayAsXmlGivesTheJsonDaysReceiptsAndSummaries) {
  Generate(EnvOr("CLEARLANE_XML_ORDERS", 1500), 19);
  Replay(day_, (dir_ / "json").string());
  const std::string receipts = Slurp(dir_ / "json" / "receipts.ndjson");
  for (const char* what :
       {"\"returnStatus\":\"800\"", "\"returnStatus\":\"100\"",
        "\"returnStatus\":\"399\"", "\"returnStatus\":\"899\"",
        "\"docType\":\"CEB624\"", "\"docType\":\"CEB626\"",
        "\"docType\":\"CEB604\"", "ANNUAL_LIMIT_EXCEEDED", "ID_UNKNOWN"}) {
    EXPECT_NE(receipts.find(what), std::string::npos) << what;
  }
  std::multiset<std::string> json_dead;
  std::set<int64_t> left_out;
  for (int records : {1, 50}) {
    const std::string xml =
        (dir_ / absl::StrFormat("day-%d.xml", records)).string();
    left_out = Convert(day_, xml, "xml", records);
    ASSERT_FALSE(left_out.empty()) << "the malformed lines have no XML form";
    const fs::path out = dir_ / absl::StrFormat("xml-%d", records);
    Replay(xml, out.string());
    for (const char* name : {"receipts.ndjson", "summaries.ndjson"}) {
      EXPECT_TRUE(Slurp(dir_ / "json" / name) == Slurp(out / name))
          << name << " differs at " << records << " records a message";
    }
    // The same dead letters but those of the lines left out, each now
    // naming its record in its message.
    std::multiset<std::string> want, got;
    static const std::regex json_line(R"("line":(\d+)\})");
    for (const std::string& d : Lines(dir_ / "json" / "deadletters.ndjson")) {
      std::smatch m;
      ASSERT_TRUE(std::regex_search(d, m, json_line)) << d;
      if (!left_out.count(std::stoll(m[1]))) want.insert(Judgement(d));
    }
    for (const std::string& d : Lines(out / "deadletters.ndjson")) {
      EXPECT_NE(d.find("\"record\":"), std::string::npos) << d;
      EXPECT_NE(d.find("\"raw\":\"<ceb:"), std::string::npos) << d;
      got.insert(Judgement(d));
    }
    EXPECT_FALSE(want.empty());
    EXPECT_EQ(got, want) << records << " records a message";
  }
  // And back: the 50-record messages as JSON lines decide the same.
  const std::string back = (dir_ / "back.ndjson").string();
  EXPECT_TRUE(Convert((dir_ / "day-50.xml").string(), back, "json").empty());
  Replay(back, (dir_ / "back").string());
  EXPECT_TRUE(Slurp(dir_ / "json" / "receipts.ndjson") ==
              Slurp(dir_ / "back" / "receipts.ndjson"));
}

TEST_F(XmlReplayTest, EveryXmlReceiptValidatesAgainstTheOfficialSchema) {
  const fs::path xsd = CebXml() / "xsd";
  if (!fs::exists(xsd)) GTEST_SKIP() << xsd << " is absent: not validated";
  if (std::system("xmllint --version >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "xmllint is not installed (Debian libxml2-utils)";
  }
  // The business schemas import the signature schema by its plain name.
  const fs::path schemas = dir_ / "xsd";
  fs::create_directories(schemas);
  const std::pair<const char*, const char*> copies[] = {
      {"xmldsig-core-schema.xsd", "xmldsig-core-schema.xsd"},
      {"海关跨境进口业务节点报文定义202205.xsd", "import.xsd"},
      {"海关跨境出口业务节点报文定义202205.xsd", "export.xsd"}};
  for (const auto& [suffix, name] : copies) {
    for (const auto& e : fs::directory_iterator(xsd)) {
      const std::string f = e.path().filename().string();
      if (f.find("202205__") != std::string::npos && f.ends_with(suffix)) {
        fs::copy_file(e.path(), schemas / name);
      }
    }
    ASSERT_TRUE(fs::exists(schemas / name)) << suffix << " not in " << xsd;
  }
  Generate(EnvOr("CLEARLANE_XML_ORDERS", 1500), 23);
  Replay(day_, (dir_ / "json").string());
  Replay(day_, (dir_ / "xml").string(), {"--receipts-format", "xml"});
  EXPECT_FALSE(fs::exists(dir_ / "xml" / "receipts.ndjson"));
  const std::vector<std::string> json =
      Lines(dir_ / "json" / "receipts.ndjson");
  const std::vector<std::string> xml = Lines(dir_ / "xml" / "receipts.xml");
  ASSERT_EQ(xml.size(), json.size()) << "one message a receipt";
  // Each receipt to a file of its own, by schema.
  std::map<std::string, std::vector<std::string>> files;
  std::map<std::string, int> types;
  static const std::regex root(R"(<(ceb:)?(CEB\d{3})Message )");
  for (size_t i = 0; i < xml.size(); ++i) {
    std::smatch m;
    ASSERT_TRUE(std::regex_search(xml[i], m, root)) << xml[i];
    const std::string type = m[2];
    ++types[type];
    // The same decision: its guid and status.
    static const std::regex guid(R"re("guid":"([^"]+)")re");
    static const std::regex status(R"re("returnStatus":"([^"]+)")re");
    std::smatch g, s;
    ASSERT_TRUE(std::regex_search(json[i], g, guid));
    ASSERT_TRUE(std::regex_search(json[i], s, status));
    EXPECT_NE(xml[i].find("guid>" + g[1].str() + "<"), std::string::npos);
    EXPECT_NE(xml[i].find("returnStatus>" + s[1].str() + "<"),
              std::string::npos);
    const fs::path f = dir_ / "split" / absl::StrFormat("%06d.xml", i);
    fs::create_directories(f.parent_path());
    std::ofstream(f) << xml[i] << "\n";
    files[type == "CEB604" ? "export.xsd" : "import.xsd"].push_back(f);
  }
  for (const char* t : {"CEB622", "CEB624", "CEB626", "CEB604"}) {
    EXPECT_GT(types[t], 0) << t;
  }
  for (const auto& [schema, paths] : files) {
    const std::string list = (dir_ / (schema + ".files")).string();
    std::ofstream(list) << [&] {
      std::string s;
      for (const std::string& p : paths) s += p + "\n";
      return s;
    }();
    const std::string report = (dir_ / (schema + ".report")).string();
    const std::string command = absl::StrFormat(
        "cd %s && xargs xmllint --nonet --noout --schema %s < %s > %s 2>&1",
        schemas.string(), schema, list, report);
    EXPECT_EQ(std::system(command.c_str()), 0) << Slurp(report);
    int valid = 0;
    for (const std::string& l : Lines(report)) {
      if (l.ends_with(" validates")) ++valid;
    }
    EXPECT_EQ(valid, static_cast<int>(paths.size())) << schema;
  }
}

TEST_F(XmlReplayTest, KilledInsideMessagesEndsWithTheSameBytes) {
  Generate(EnvOr("CLEARLANE_XML_CRASH_ORDERS", 3000), 29);
  const std::string xml = (dir_ / "day.xml").string();
  Convert(day_, xml, "xml", 50);
  Replay(xml, (dir_ / "clean").string());
  const std::string out = (dir_ / "crashed").string();
  fs::create_directories(out);
  // Epochs of 7 records: most commits fall inside a message of 50.
  std::vector<std::string> args = ReplayArgs(xml, out);
  args.insert(args.begin(), CLEARLANE_BINARY);
  args.insert(args.end(),
              {"--state", (dir_ / "state").string(), "--epoch-records", "7"});

  const int64_t kills = EnvOr("CLEARLANE_XML_CRASH_KILLS", 10);
  std::mt19937 rng(11);
  int64_t killed = 0, starts = 0;
  while (killed < kills) {
    const pid_t pid = ::clearlane::testing::Spawn(args, log_);
    ASSERT_GT(pid, 0);
    ++starts;
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::uniform_int_distribution<>(5, 150)(rng)));
    if (const std::optional<int> code = Exited(pid)) {
      ASSERT_EQ(*code, 0) << Slurp(log_);
      ASSERT_LT(starts, 20 * kills) << "runs end too fast to be killed";
      fs::remove_all(dir_ / "state");
      fs::remove_all(out);
      fs::create_directories(out);
      continue;
    }
    kill(pid, SIGKILL);
    if (Wait(pid) == 128 + SIGKILL) ++killed;
  }
  ASSERT_EQ(RunToEnd(args, log_), 0) << Slurp(log_);
  for (const char* name :
       {"receipts.ndjson", "summaries.ndjson", "deadletters.ndjson"}) {
    EXPECT_TRUE(Slurp(dir_ / "clean" / name) == Slurp(fs::path(out) / name))
        << name << " differs";
  }
}

}  // namespace
}  // namespace clearlane
