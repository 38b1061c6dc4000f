#include "pipeline/files/ndjson_reader.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "model/decode.h"

namespace clearlane {
namespace {

class NdjsonReaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& content) {
    path_ =
        std::filesystem::path(::testing::TempDir()) /
        (std::string(
             ::testing::UnitTest::GetInstance()->current_test_info()->name()) +
         ".ndjson");
    std::ofstream(path_, std::ios::binary) << content;
    return path_;
  }
  std::vector<NdjsonReader::Record> ReadAll(const std::string& content,
                                            std::vector<std::string>* bytes) {
    auto reader = NdjsonReader::Open(Write(content));
    EXPECT_TRUE(reader.ok());
    std::vector<NdjsonReader::Record> out;
    NdjsonReader::Record r;
    while ((*reader)->Next(&r)) {
      out.push_back(r);
      bytes->emplace_back(r.bytes);
    }
    EXPECT_TRUE((*reader)->status().ok());
    return out;
  }
  std::string path_;
};

TEST_F(NdjsonReaderTest, SkipsBlankLinesButCountsThem) {
  std::vector<std::string> bytes;
  auto records =
      ReadAll("{\"a\":1}\n\n  \t\n{\"b\":2}\r\n\r\n{\"c\":3}", &bytes);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(bytes,
            (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"}));
  EXPECT_EQ(records[0].line, 1);
  EXPECT_EQ(records[1].line, 4);
  EXPECT_EQ(records[2].line, 6);
}

TEST_F(NdjsonReaderTest, RemovesOnlyOneTrailingCr) {
  std::vector<std::string> bytes;
  ReadAll("x\r\r\n", &bytes);
  EXPECT_EQ(bytes, std::vector<std::string>{"x\r"});
}

TEST_F(NdjsonReaderTest, OverLongLineIsAPrefixWithItsSize) {
  // Several read buffers long: only its head is kept.
  const std::string big(5 * kMaxRecordBytes + 100, 'z');
  std::vector<std::string> bytes;
  auto records = ReadAll("{}\n" + big + "\n{\"after\":1}\n", &bytes);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1].line, 2);
  EXPECT_EQ(records[1].size, big.size());
  EXPECT_LT(records[1].bytes.size(), 10000u);
  EXPECT_EQ(bytes[2], "{\"after\":1}");
  EXPECT_EQ(records[2].line, 3);
}

TEST_F(NdjsonReaderTest, JustOverTheLimitKeepsItsTrueSize) {
  const std::string big(kMaxRecordBytes + 1, 'z');
  std::vector<std::string> bytes;
  auto records = ReadAll(big + "\r\n{}", &bytes);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].size, kMaxRecordBytes + 1);
  EXPECT_EQ(bytes[1], "{}");
}

TEST_F(NdjsonReaderTest, LineOfExactlyTheLimitIsWhole) {
  const std::string line(kMaxRecordBytes, 'q');
  std::vector<std::string> bytes;
  auto records = ReadAll(line + "\n", &bytes);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].size, kMaxRecordBytes);
  EXPECT_EQ(bytes[0], line);
}

TEST_F(NdjsonReaderTest, SeekResumesAfterARecord) {
  const std::string path = Write("{\"a\":1}\n\n{\"b\":2}\n{\"c\":3}\n");
  auto first = NdjsonReader::Open(path);
  NdjsonReader::Record r;
  ASSERT_TRUE((*first)->Next(&r));
  ASSERT_TRUE((*first)->Next(&r));
  EXPECT_EQ(r.bytes, "{\"b\":2}");
  auto second = NdjsonReader::Open(path);
  ASSERT_TRUE((*second)->Seek(r.end_offset, r.line).ok());
  ASSERT_TRUE((*second)->Next(&r));
  EXPECT_EQ(r.bytes, "{\"c\":3}");
  EXPECT_EQ(r.line, 4);
  EXPECT_FALSE((*second)->Next(&r));
}

TEST_F(NdjsonReaderTest, MissingFileIsAnErrorNamingIt) {
  auto reader = NdjsonReader::Open("/nonexistent/x.ndjson");
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("/nonexistent/x.ndjson"),
            std::string::npos);
}

}  // namespace
}  // namespace clearlane
