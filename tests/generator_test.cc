#include "bench/generator.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "model/decode.h"
#include "model/identity_number.h"

namespace clearlane {
namespace {

struct Output {
  std::string documents, truth, registry;
  GeneratorStats stats;
};

// Captures a FILE* into a string.
class Capture {
 public:
  Capture() : file_(open_memstream(&data_, &size_)) {}
  ~Capture() {
    if (file_) std::fclose(file_);
    free(data_);
  }
  std::FILE* file() { return file_; }
  std::string Take() {
    std::fclose(file_);
    file_ = nullptr;
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

Output GenerateAll(const GeneratorOptions& o) {
  Capture docs, truth, registry;
  Output out;
  absl::Status s =
      Generate(o, docs.file(), truth.file(), registry.file(), &out.stats);
  EXPECT_TRUE(s.ok()) << s;
  out.documents = docs.Take();
  out.truth = truth.Take();
  out.registry = registry.Take();
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

GeneratorOptions WithAllAnomalies() {
  GeneratorOptions o;
  o.orders = 3000;
  o.seed = 42;
  o.flow = Flow::kMixed;
  AnomalyRates& a = o.anomalies;
  a.duplicates = a.stale = a.modifications = a.missing = 0.02;
  a.amount_mismatches = a.payer_mismatches = a.invalid_ids = 0.02;
  a.cancels = a.returns = a.late_returns = 0.01;
  a.malformed = 0.01;
  return o;
}

TEST(Generator, SameSeedSameBytes) {
  const GeneratorOptions o = WithAllAnomalies();
  const Output a = GenerateAll(o), b = GenerateAll(o);
  EXPECT_GT(a.documents.size(), 1000000u);
  EXPECT_EQ(a.documents, b.documents);
  EXPECT_EQ(a.truth, b.truth);
  EXPECT_EQ(a.registry, b.registry);
  GeneratorOptions other = o;
  other.seed = 43;
  EXPECT_NE(GenerateAll(other).documents, a.documents);
}

TEST(Generator, CleanLinesDecodeAndBrokenLinesGetTheirDeadLetter) {
  const Output out = GenerateAll(WithAllAnomalies());
  std::map<int64_t, std::string> broken;  // line -> expected code
  for (const std::string& t : Lines(out.truth)) {
    const size_t at = t.find("\"line\":");
    if (at == std::string::npos || t.find("malformed_") == std::string::npos) {
      continue;
    }
    const int64_t line = std::stoll(t.substr(at + 7));
    const size_t e = t.find("\"expect\":\"") + 10;
    broken[line] = t.substr(e, t.find('"', e) - e);
  }
  ASSERT_GT(broken.size(), 50u);
  Decoder decoder;
  Document doc;
  std::set<std::string> codes_seen;
  std::array<int, kDocTypeCount> per_type{};
  const std::vector<std::string> lines = Lines(out.documents);
  ASSERT_EQ(static_cast<int64_t>(lines.size()), out.stats.lines);
  for (size_t i = 0; i < lines.size(); ++i) {
    const int64_t line = static_cast<int64_t>(i) + 1;
    DecodeOutcome outcome = decoder.Decode(lines[i], &doc);
    auto it = broken.find(line);
    if (it == broken.end()) {
      ASSERT_TRUE(outcome.ok()) << "line " << line << ": " << outcome.detail();
      EXPECT_EQ(MissingRequiredFields(doc), std::vector<std::string>{})
          << "line " << line;
      ++per_type[static_cast<int>(TypeOf(doc))];
    } else {
      ASSERT_FALSE(outcome.ok()) << "line " << line;
      EXPECT_EQ(DeadLetterCodeName(outcome.code()), it->second)
          << "line " << line << ": " << outcome.detail();
      codes_seen.insert(it->second);
    }
  }
  EXPECT_EQ(codes_seen, (std::set<std::string>{
                            "MALFORMED_JSON", "NOT_UTF8", "UNKNOWN_DOC_TYPE",
                            "INVALID_FIELD", "MISSING_KEY"}));
  for (int t = 0; t < kDocTypeCount; ++t) {
    EXPECT_GT(per_type[t], 0) << DocTypeName(static_cast<DocType>(t));
  }
}

TEST(Generator, TruthNamesEveryInjectedAnomaly) {
  const Output out = GenerateAll(WithAllAnomalies());
  std::map<std::string, int> anomalies;
  for (const std::string& t : Lines(out.truth)) {
    const size_t a = t.find("\"anomaly\":\"") + 11;
    std::string name = t.substr(a, t.find('"', a) - a);
    if (name.starts_with("malformed_")) name = "malformed";
    if (name.starts_with("missing_")) name = "missing";
    if (name.starts_with("stale_")) name = "stale";
    ++anomalies[name];
  }
  for (const char* name :
       {"duplicate", "stale", "modified_order", "missing", "amount_mismatch",
        "payer_mismatch", "invalid_id", "cancel", "return", "partial_return",
        "late_return", "malformed"}) {
    EXPECT_GT(anomalies[name], 0) << name;
  }
}

TEST(Generator, CleanCorpusHasNoAnomalyLines) {
  GeneratorOptions o;
  o.orders = 500;
  o.seed = 1;
  const Output out = GenerateAll(o);
  EXPECT_TRUE(out.truth.empty());
  Decoder decoder;
  Document doc;
  for (const std::string& line : Lines(out.documents)) {
    ASSERT_TRUE(decoder.Decode(line, &doc).ok()) << line;
  }
}

TEST(Generator, RegistryHoldsValidIdentityNumbers) {
  GeneratorOptions o;
  o.orders = 600;
  o.seed = 5;
  const Output out = GenerateAll(o);
  const std::vector<std::string> lines = Lines(out.registry);
  ASSERT_GT(lines.size(), 150u);
  for (const std::string& line : lines) {
    const size_t at = line.find("\"idNumber\":\"") + 12;
    const std::string id = line.substr(at, 18);
    EXPECT_TRUE(ValidateIdentityNumber(id, absl::CivilDay(2026, 11, 11)).ok())
        << id;
  }
}

// Counts documents of `doc_type` whose appTime falls in each hour of the day.
std::array<int, 24> PerHour(const std::string& documents,
                            std::string_view doc_type) {
  std::array<int, 24> hours{};
  Decoder decoder;
  Document doc;
  for (const std::string& line : Lines(documents)) {
    if (!decoder.Decode(line, &doc).ok() ||
        DocTypeName(TypeOf(doc)) != doc_type) {
      continue;
    }
    const absl::CivilSecond t = HeadOf(doc).appTime;
    if (absl::CivilDay(t) == absl::CivilDay(2026, 11, 11)) ++hours[t.hour()];
  }
  return hours;
}

TEST(Generator, Double11ProfileHasTheMidnightAndEveningPeaks) {
  GeneratorOptions o;
  o.orders = 4000;
  o.seed = 3;
  o.flow = Flow::kImport;
  o.profile = DayProfile::kDouble11;
  const std::array<int, 24> h = PerHour(GenerateAll(o).documents, "CEB311");
  EXPECT_GT(h[0], 5 * h[4]);
  EXPECT_GT(h[21], 3 * h[4]);
  EXPECT_GT(h[0], h[12]);
  o.profile = DayProfile::kFlat;
  const std::array<int, 24> flat = PerHour(GenerateAll(o).documents, "CEB311");
  EXPECT_LT(flat[0], 2 * flat[4]);
}

TEST(Generator, ContentIsRealistic) {
  GeneratorOptions o;
  o.orders = 5000;
  o.seed = 9;
  o.flow = Flow::kMixed;
  const Output out = GenerateAll(o);
  Decoder decoder;
  Document doc;
  std::set<std::string> tax_rows;
  std::map<std::string, int> per_buyer, per_seller;
  std::set<std::string> flags, modes;
  int over_limit = 0, lists = 0, export_lists = 0;
  for (const std::string& line : Lines(out.documents)) {
    ASSERT_TRUE(decoder.Decode(line, &doc).ok());
    if (const auto* list = std::get_if<Ceb621List>(&doc)) {
      ++lists;
      ++per_buyer[std::string(list->buyerIdNumber)];
      modes.insert(std::string(list->tradeMode));
      Decimal value = *list->freight + *list->insuredFee;
      for (const auto& item : list->items) {
        value += *item.totalPrice;
        tax_rows.insert(std::string(item.gcode.substr(0, 4)));
      }
      if (value > *Decimal::Parse("5000")) {
        ++over_limit;
        EXPECT_EQ(list->items.size(), 1u);
      }
    }
    if (const auto* list = std::get_if<Ceb603List>(&doc)) {
      ++export_lists;
      ++per_seller[std::string(list->ebcCode)];
      flags.insert(std::string(list->statisticsFlag));
    }
  }
  // Every row of the default tax table, and the default row.
  for (const char* row :
       {"0401", "0402", "3303", "3304", "7113", "9101", "9102", "2106"}) {
    EXPECT_TRUE(tax_rows.count(row)) << row;
  }
  EXPECT_GT(over_limit, 0);
  EXPECT_EQ(modes, (std::set<std::string>{"1210", "9610"}));
  EXPECT_EQ(flags, (std::set<std::string>{"A", "B"}));
  // A heavy tail: the busiest buyer places many orders.
  int busiest = 0;
  for (const auto& [id, n] : per_buyer) busiest = std::max(busiest, n);
  EXPECT_GT(busiest, 20);
  // A few sellers dominate export.
  std::vector<int> sellers;
  for (const auto& [code, n] : per_seller) sellers.push_back(n);
  std::sort(sellers.rbegin(), sellers.rend());
  ASSERT_GE(sellers.size(), 3u);
  EXPECT_GT(sellers[0] + sellers[1] + sellers[2], export_lists / 2);
  EXPECT_GT(lists, 3000);
}

}  // namespace
}  // namespace clearlane
