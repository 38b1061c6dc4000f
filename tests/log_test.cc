// The log is JSON lines whatever a message holds: quotes, backslashes,
// newlines and control characters come out escaped, and a reader gets the
// message back as it was.

#include "pipeline/observe/log.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdio>
#include <string>

#include "tests/test_util.h"

namespace clearlane {
namespace {

TEST(LogTest, EveryMessageIsOneJsonLineThatReadsBackTheSame) {
  const std::string path = ::testing::TempDir() + "/log-test.jsonl";
  std::FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  const std::string messages[] = {
      "plain",
      "a \"quoted\" path C:\\state",
      "two\nlines\r\tand a tab",
      std::string("control \x01\x1f and NUL \0 inside", 27),
      "汉字 stay as they are",
  };
  {
    Logger log = MakeJsonLogger("test", f, spdlog::level::debug);
    for (const std::string& m : messages) log->info(m);
    log->debug("below");
  }
  std::fclose(f);
  const auto lines = testing::Lines(path);
  ASSERT_EQ(lines.size(), std::size(messages) + 1);
  for (size_t i = 0; i < std::size(messages); ++i) {
    rapidjson::Document d;
    d.Parse(lines[i].data(), lines[i].size());
    ASSERT_FALSE(d.HasParseError()) << lines[i];
    EXPECT_EQ(std::string(d["level"].GetString()), "info");
    EXPECT_EQ(std::string(d["logger"].GetString()), "test");
    EXPECT_EQ(std::string(d["msg"].GetString(), d["msg"].GetStringLength()),
              messages[i]);
  }
  EXPECT_NE(lines.back().find("\"level\":\"debug\""), std::string::npos);
  std::remove(path.c_str());
}

TEST(LogTest, LevelsParseAndOthersAreRefused) {
  EXPECT_EQ(*ParseLogLevel("warn"), spdlog::level::warn);
  EXPECT_EQ(*ParseLogLevel("error"), spdlog::level::err);
  EXPECT_FALSE(ParseLogLevel("verbose").ok());
}

}  // namespace
}  // namespace clearlane
