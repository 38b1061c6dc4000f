// Issue 6's proof on whole generated days that span a month end
// (2026-11-30, departures into December): each injected export anomaly
// gets its reason, every clean export list is released and closed, and the
// summaries add up. The sums are checked independently of stage C: the
// test reads the held version of each closed list from the input and
// compares its lines with the forms.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "bench/generator.h"
#include "model/decimal.h"
#include "pipeline/files/replay.h"
#include "tests/fixtures.h"
#include "tests/test_util.h"

namespace clearlane {
namespace {

using ::clearlane::testing::All;
using ::clearlane::testing::Lines;
using ::clearlane::testing::Slurp;

namespace fs = std::filesystem;

// A decimal field, a JSON string or number.
Decimal DecimalOf(simdjson::dom::element e) {
  // A number's text is a string of its own: keep it alive while parsing.
  const std::string text =
      e.is_string() ? std::string(std::string_view(e)) : simdjson::to_string(e);
  auto d = Decimal::Parse(text);
  EXPECT_TRUE(d.ok()) << text;
  return d.value_or(Decimal());
}

std::string Str(simdjson::dom::element e, const char* field) {
  std::string_view v;
  if (e[field].get(v)) return std::string();
  return std::string(v);
}

struct HeldList {
  std::string appTime;
  std::string flag;
  Decimal qty1, totalPrice;
};

struct Day {
  fs::path dir;
  std::string input, truth;
};

Day Generate(const std::string& name, Flow flow, uint64_t seed) {
  Day day;
  day.dir = fs::path(::testing::TempDir()) / name;
  fs::remove_all(day.dir);
  fs::create_directories(day.dir);
  GeneratorOptions o;
  o.orders = 3000;
  o.seed = seed;
  o.flow = flow;
  o.day = absl::CivilDay(2026, 11, 30);
  AnomalyRates& a = o.anomalies;
  a.duplicates = a.stale = a.modifications = 0.03;
  a.missing = a.amount_mismatches = 0.03;
  a.late_returns = 0.02;  // imports: their appTimes pass December's start
  a.malformed = 0.01;
  day.input = (day.dir / "day.ndjson").string();
  day.truth = (day.dir / "truth.ndjson").string();
  std::FILE* f = std::fopen(day.input.c_str(), "w");
  std::FILE* t = std::fopen(day.truth.c_str(), "w");
  EXPECT_TRUE(clearlane::Generate(o, f, t, nullptr, nullptr).ok());
  std::fclose(f);
  std::fclose(t);
  return day;
}

void CheckExportDay(const Day& day) {
  ReplayOptions options;
  options.inputs = {day.input};
  options.out_dir = (day.dir / "out").string();
  options.engine.sync = false;
  ASSERT_EQ(RunReplay(options, stderr), 0);

  simdjson::dom::parser parser;
  // The held CEB603 version of each (ebpCode, orderNo): latest appTime.
  std::map<std::pair<std::string, std::string>, HeldList> held;
  for (const std::string& line : Lines(day.input)) {
    simdjson::dom::element d;
    if (parser.parse(line).get(d)) continue;  // a broken line
    if (Str(d, "docType") != "CEB603") continue;
    const std::string appTime = Str(d, "appTime");
    HeldList& h = held[{Str(d, "ebpCode"), Str(d, "orderNo")}];
    if (appTime <= h.appTime) continue;
    h = HeldList{appTime, Str(d, "statisticsFlag"), {}, {}};
    for (simdjson::dom::element item : d["items"].get_array()) {
      h.qty1 += DecimalOf(item["qty1"]);
      h.totalPrice += DecimalOf(item["totalPrice"]);
    }
  }

  // Receipts: per list, its statuses in order, and the 899's month.
  std::map<std::pair<std::string, std::string>, std::vector<std::string>>
      statuses;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> codes;
  std::map<std::pair<std::string, std::string>, std::string> closed_in;
  for (const std::string& line : Lines(day.dir / "out" / "receipts.ndjson")) {
    simdjson::dom::element r = parser.parse(line);
    if (Str(r, "docType") != "CEB604") continue;
    const std::pair<std::string, std::string> key{Str(r, "ebpCode"),
                                                  Str(r, "orderNo")};
    statuses[key].push_back(Str(r, "returnStatus"));
    for (simdjson::dom::element reason : r["reasons"].get_array()) {
      codes[key].insert(Str(reason, "code"));
    }
    if (Str(r, "returnStatus") == "899") {
      closed_in[key] = Str(r, "returnTime").substr(0, 6);
    }
  }

  // Each injected export anomaly gets its reason; the rest are released
  // and closed.
  std::map<std::string, std::string> expected;  // orderNo -> reason
  for (const std::string& line : Lines(day.truth)) {
    simdjson::dom::element t = parser.parse(line);
    if (Str(t, "flow") != "export" || Str(t, "expect") == "no effect") continue;
    expected[Str(t, "orderNo")] = Str(t, "expect");
  }
  int released = 0, rejected = 0;
  for (const auto& [key, s] : statuses) {
    auto e = expected.find(key.second);
    if (e != expected.end()) {
      EXPECT_EQ(s, std::vector<std::string>{"100"}) << key.second;
      EXPECT_TRUE(codes[key].count(e->second))
          << key.second << " lacks " << e->second;
      ++rejected;
    } else {
      EXPECT_EQ(s, (std::vector<std::string>{"800", "899"})) << key.second;
      ++released;
    }
  }
  EXPECT_EQ(rejected, static_cast<int>(expected.size()));
  EXPECT_GT(released, 500);

  // Summaries: each closed B list in exactly one (period, supplement, head
  // group), in the month it closed; no other list; the sums equal the
  // lists'.
  std::map<std::pair<std::string, std::string>,
           std::set<std::tuple<std::string, int64_t, std::string>>>
      summarised;
  Decimal form_qty1, form_total;
  int months_with_forms = 0;
  std::set<std::string> periods;
  for (const std::string& line : Lines(day.dir / "out" / "summaries.ndjson")) {
    simdjson::dom::element f = parser.parse(line);
    const std::string period = Str(f, "period");
    periods.insert(period);
    const int64_t supplement = int64_t(f["supplement"]);
    const std::string head = Str(f, "ebcCode") + "|" + Str(f, "trafMode") +
                             "|" + Str(f, "ownerCode") + "|" +
                             Str(f, "country") + "|" + Str(f, "portCode");
    std::string previous;
    for (simdjson::dom::element l : f["lists"].get_array()) {
      const std::string orderNo = Str(l, "orderNo");
      EXPECT_LE(previous, orderNo) << "lists sorted by orderNo";
      previous = orderNo;
      // The generator's orderNos are unique across platforms; find the
      // list by orderNo.
      for (const auto& [key, closed] : closed_in) {
        if (key.second == orderNo) {
          summarised[key].insert({period, supplement, head});
        }
      }
    }
    for (simdjson::dom::element item : f["items"].get_array()) {
      form_qty1 += DecimalOf(item["qty1"]);
      form_total += DecimalOf(item["totalPrice"]);
    }
  }
  months_with_forms = static_cast<int>(periods.size());
  Decimal list_qty1, list_total;
  int closed_b = 0;
  for (const auto& [key, month] : closed_in) {
    const HeldList& h = held.at(key);
    if (h.flag != "B") {
      EXPECT_EQ(summarised.count(key), 0u) << key.second << " is flag A";
      continue;
    }
    ++closed_b;
    list_qty1 += h.qty1;
    list_total += h.totalPrice;
    ASSERT_EQ(summarised[key].size(), 1u) << key.second;
    EXPECT_EQ(std::get<0>(*summarised[key].begin()), month) << key.second;
  }
  EXPECT_EQ(summarised.size(), static_cast<size_t>(closed_b));
  EXPECT_GT(closed_b, 300);
  EXPECT_EQ(form_qty1, list_qty1);
  EXPECT_EQ(form_total, list_total);
  // The day's departures fall on both sides of the month end.
  EXPECT_EQ(months_with_forms, 2);
}

TEST(ExportReplay, ExportDayAcrossAMonthEnd) {
  CheckExportDay(Generate("export-day", Flow::kExport, 61));
}

TEST(ExportReplay, MixedDayAcrossAMonthEnd) {
  CheckExportDay(Generate("mixed-day", Flow::kMixed, 62));
}

// A fixture document of export order `orderNo` / waybill `logisticsNo`,
// moved to `day`, with `time` (HHMMSS) as its appTime when given.
std::string Doc(const char* type, std::string_view orderNo,
                std::string_view logisticsNo, std::string_view day,
                std::string_view time = "") {
  std::string d = testing::ValidRecord(type);
  if (!time.empty()) {
    const size_t at = d.find("\"appTime\":\"20261111");
    d.replace(at + 19, 6, time);
  }
  d = All(d, "\"E1\"", absl::StrFormat("\"%s\"", orderNo));
  d = All(d, "\"EL1\"", absl::StrFormat("\"%s\"", logisticsNo));
  return All(d, "20261111", day);
}

// Supplements and month closes kept in state across runs: the stream cut
// at every record into a --keep-open run and its continuation gives the
// bytes of one run.
TEST(ExportReplay, MonthsAndSupplementsContinueAcrossRunsAtEveryCut) {
  const fs::path dir = fs::path(::testing::TempDir()) / "export-cuts";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<std::string> records;
  // The list last: it completes at once, even when event time is already
  // past its timeout (E4 below).
  auto released = [&](const char* order, const char* waybill, const char* day) {
    for (const char* t : {"CEB303", "CEB403", "CEB505", "CEB507", "CEB603"}) {
      records.push_back(Doc(t, order, waybill, day));
    }
  };
  released("E1", "EL1", "20261111");
  records.push_back(Doc("CEB509", "E1", "EL1", "20261111"));
  released("E2", "EL2", "20261111");
  // November closes on 3 December; E2 departs late, still in November: a
  // supplement, written with December's forms on 3 January.
  records.push_back(Doc("CEB303", "CLOCK1", "ELC", "20261203", "000000"));
  records.push_back(Doc("CEB509", "E2", "EL2", "20261112"));
  released("E3", "EL3", "20261215");
  records.push_back(Doc("CEB509", "E3", "EL3", "20261215"));
  records.push_back(Doc("CEB303", "CLOCK2", "ELC", "20270103", "000000"));
  // E4 closes on 31 December, after December's forms: December's first
  // supplement, at the end of input.
  released("E4", "EL4", "20261231");
  records.push_back(Doc("CEB509", "E4", "EL4", "20261231"));
  auto write = [&](const fs::path& p, size_t from, size_t to) {
    std::ofstream out(p, std::ios::binary);
    for (size_t i = from; i < to; ++i) out << records[i] << "\n";
  };
  write(dir / "all.ndjson", 0, records.size());
  ReplayOptions one;
  one.inputs = {(dir / "all.ndjson").string()};
  one.out_dir = (dir / "one").string();
  one.engine.sync = false;
  ASSERT_EQ(RunReplay(one, stderr), 0);
  // November 0, then (on 3 January) November 1 and December 0, then
  // December 1 at the end of input.
  std::vector<std::string> forms;
  for (const std::string& line : Lines(dir / "one" / "summaries.ndjson")) {
    const size_t p = line.find(R"("period":")");
    const size_t s = line.find(R"("supplement":)");
    ASSERT_TRUE(p != std::string::npos && s != std::string::npos);
    forms.push_back(line.substr(p + 10, 6) + "/" + line.substr(s + 13, 1));
  }
  EXPECT_EQ(forms, (std::vector<std::string>{"202611/0", "202611/1", "202612/0",
                                             "202612/1"}));

  for (size_t cut = 1; cut < records.size(); ++cut) {
    const fs::path run = dir / absl::StrFormat("cut%d", cut);
    fs::create_directories(run);
    write(run / "a.ndjson", 0, cut);
    write(run / "b.ndjson", cut, records.size());
    ReplayOptions first;
    first.inputs = {(run / "a.ndjson").string()};
    first.out_dir = (run / "out").string();
    first.engine.state_dir = (run / "state").string();
    first.keep_open = true;
    first.engine.sync = false;
    first.engine.epoch_records = 1;
    ASSERT_EQ(RunReplay(first, stderr), 0);
    ReplayOptions second = first;
    second.inputs = {(run / "b.ndjson").string()};
    second.keep_open = false;
    ASSERT_EQ(RunReplay(second, stderr), 0);
    for (const char* name : {"receipts.ndjson", "summaries.ndjson"}) {
      EXPECT_EQ(Slurp(run / "out" / name), Slurp(dir / "one" / name))
          << name << " cut at " << cut;
    }
  }
}

}  // namespace
}  // namespace clearlane
