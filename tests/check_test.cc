#include "pipeline/files/check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "model/xml_message.h"
#include "tests/fixtures.h"

namespace clearlane {
namespace {

std::string Slurp(std::FILE* f) {
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

TEST(Check, ReportsDeadLettersByLineAndCountsTypes) {
  const std::string dir = ::testing::TempDir();
  const std::string input = dir + "/check_input.ndjson";
  const std::string dead = dir + "/check_dead.ndjson";
  std::string order = testing::ValidRecord("CEB311");
  std::string bad = order;
  bad.replace(bad.find(R"("qty":"1")"), 9, R"("qty":"1.1234567")");
  std::string incomplete = order;
  incomplete.replace(incomplete.find(R"("gmodel":"900g",)"), 16, "");
  std::ofstream(input) << order << "\n\n"
                       << bad << "\n{oops\n"
                       << incomplete << "\n";
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  EXPECT_EQ(RunCheck({{input}, dead}, out, err), 1);
  const std::string text = Slurp(out);
  EXPECT_NE(text.find(input + ":3: INVALID_FIELD: items[0].qty"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(input + ":4: MALFORMED_JSON"), std::string::npos);
  EXPECT_NE(
      text.find(input + ":5: warning: CEB311 lacks required items[0].gmodel"),
      std::string::npos);
  EXPECT_NE(text.find("4 records: 2 documents, 2 dead letters"),
            std::string::npos)
      << text;
  // Personal data of the fixture never printed.
  EXPECT_EQ(text.find("张三"), std::string::npos);
  EXPECT_EQ(text.find("11010519491231002X"), std::string::npos);
  std::ifstream dead_in(dead);
  std::string line;
  std::getline(dead_in, line);
  EXPECT_TRUE(line.starts_with("{\"source\":{\"file\":\"" + input +
                               "\",\"line\":3},\"reason\":\"INVALID_FIELD\""))
      << line;
  std::fclose(out);
  std::fclose(err);
}

TEST(Check, CleanFileExitsZero) {
  const std::string input = ::testing::TempDir() + "/check_clean.ndjson";
  std::ofstream f(input);
  for (std::string_view t : testing::kAllDocTypes) {
    f << testing::ValidRecord(t) << "\n";
  }
  f.close();
  std::FILE* out = std::tmpfile();
  EXPECT_EQ(RunCheck({{input}, ""}, out, stderr), 0);
  EXPECT_NE(Slurp(out).find("12 records: 12 documents, 0 dead letters"),
            std::string::npos);
  std::fclose(out);
}

TEST(Check, UnreadableInputIsAnOperationalFailure) {
  std::FILE* err = std::tmpfile();
  EXPECT_EQ(RunCheck({{"/nonexistent/in.ndjson"}, ""}, stdout, err), 2);
  EXPECT_NE(Slurp(err).find("/nonexistent/in.ndjson"), std::string::npos);
  std::fclose(err);
}

// A file of CEB XML messages (contract §11): the records of each message
// judged one by one, dead letters with their record number and their XML
// text (masked when asked), a broken message one dead letter of its own.
TEST(Check, ReadsCebXmlMessagesRecordByRecord) {
  const std::string dir = ::testing::TempDir();
  const std::string input = dir + "/check_input.xml";
  const std::string dead = dir + "/check_dead_xml.ndjson";
  const std::string order = testing::ValidRecord("CEB311");
  std::string bad = order;
  bad.replace(bad.find(R"("qty":"1")"), 9, R"("qty":"1.1234567")");
  std::string orders, lists;
  ASSERT_TRUE(WriteXmlMessage("CEB311", {order, bad, order}, &orders).ok());
  ASSERT_TRUE(
      WriteXmlMessage("CEB621", {testing::ValidRecord("CEB621")}, &lists).ok());
  // The second message without its declaration; a third that never ends.
  lists = lists.substr(lists.find('\n') + 1);
  const std::string broken = "<ceb:CEB411Message>\n<ceb:Payment>";
  std::ofstream(input) << "\xEF\xBB\xBF" << orders << "\n" << lists << broken;
  const int64_t lists_line =
      1 + std::count(orders.begin(), orders.end(), '\n') + 1;
  const int64_t broken_line =
      lists_line + std::count(lists.begin(), lists.end(), '\n');
  std::FILE* out = std::tmpfile();
  CheckOptions options{{input}, dead};
  options.mask_dead_letters = true;
  EXPECT_EQ(RunCheck(options, out, stderr), 1);
  const std::string text = Slurp(out);
  EXPECT_NE(text.find(input + ":1: record 2: INVALID_FIELD: items[0].qty"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find(input + ":" + std::to_string(broken_line) + ": MALFORMED_XML"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("5 records: 3 documents, 2 dead letters"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  CEB311                 2"), std::string::npos) << text;
  EXPECT_NE(text.find("  CEB621                 1"), std::string::npos) << text;
  EXPECT_EQ(text.find("张三"), std::string::npos);
  std::ifstream dead_in(dead);
  std::string line;
  std::getline(dead_in, line);
  EXPECT_TRUE(line.starts_with("{\"source\":{\"file\":\"" + input +
                               "\",\"line\":1,\"record\":2},\"reason\":"
                               "\"INVALID_FIELD\""))
      << line;
  // The raw text is the record's XML, its personal data masked.
  EXPECT_NE(line.find("\"raw\":\"<ceb:Order><ceb:OrderHead>"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("<ceb:buyerName>***</ceb:buyerName>"), std::string::npos)
      << line;
  EXPECT_EQ(line.find("张三"), std::string::npos) << line;
  EXPECT_EQ(line.find("11010519491231002X"), std::string::npos) << line;
  std::getline(dead_in, line);
  EXPECT_TRUE(line.starts_with("{\"source\":{\"file\":\"" + input +
                               "\",\"line\":" + std::to_string(broken_line) +
                               "},\"reason\":\"MALFORMED_XML\""))
      << line;
  std::fclose(out);
}

}  // namespace
}  // namespace clearlane
