// The free-space floor: how it is written, what it comes to on a
// filesystem of a given size, and the check's answer on a real one.

#include "pipeline/engine/disk_guard.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace clearlane {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

TEST(FreeSpaceFloor, ParsesSizesPercentagesAndBoth) {
  struct Case {
    const char* text;
    uint64_t bytes;
    double percent;
  };
  for (const Case& c :
       {Case{"1GiB,5%", kGiB, 5}, Case{"5%, 1G", kGiB, 5},
        Case{"512MiB", 512 * kMiB, 0}, Case{"512m", 512 * kMiB, 0},
        Case{"10%", 0, 10}, Case{"0", 0, 0}, Case{"4096", 4096, 0},
        Case{"1.5K", 1536, 0}, Case{"2TiB", 2048 * kGiB, 0}}) {
    auto f = ParseFreeSpaceFloor(c.text);
    ASSERT_TRUE(f.ok()) << c.text << ": " << f.status();
    EXPECT_EQ(f->bytes, c.bytes) << c.text;
    EXPECT_DOUBLE_EQ(f->percent, c.percent) << c.text;
    EXPECT_TRUE(f->checked) << c.text;
  }
  auto off = ParseFreeSpaceFloor(" off ");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->checked);
  for (const char* bad :
       {"", "lots", "5%%", "101%", "-1%", "1GB,2GB", "5%,6%", "12Q"}) {
    EXPECT_FALSE(ParseFreeSpaceFloor(bad).ok()) << bad;
  }
}

TEST(FreeSpaceFloor, IsTheSmallerOfTheSizeAndTheShare) {
  const FreeSpaceFloor standard;                   // 1 GiB or 5%
  EXPECT_EQ(standard.For(1000 * kGiB), kGiB);      // a large disk
  EXPECT_EQ(standard.For(10 * kGiB), 512 * kMiB);  // 5% of 10 GiB
  EXPECT_EQ((FreeSpaceFloor{.bytes = 0, .percent = 10}.For(100 * kMiB)),
            10 * kMiB);
  EXPECT_EQ((FreeSpaceFloor{.bytes = 3 * kMiB, .percent = 0}.For(kGiB)),
            3 * kMiB);
  EXPECT_EQ((FreeSpaceFloor{.bytes = 0, .percent = 0}.For(kGiB)), 0u);
}

TEST(FreeSpaceFloor, BytesReadAsAPersonWouldWriteThem) {
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(3 * kMiB / 2), "1.5 MiB");
  EXPECT_EQ(FormatBytes(kGiB), "1.0 GiB");
}

TEST(DiskGuard, AnswersOnTheRealFilesystem) {
  const std::string dir = ::testing::TempDir();
  // No floor: always enough. The whole filesystem as the floor: never.
  EXPECT_TRUE(
      DiskGuard({.bytes = 0, .percent = 0}, {dir}, "--opt").Check().ok());
  const absl::Status low =
      DiskGuard({.bytes = 0, .percent = 100}, {dir + "/not/made/yet"}, "--opt")
          .Check();
  ASSERT_EQ(low.code(), absl::StatusCode::kResourceExhausted) << low;
  EXPECT_NE(low.message().find(dir + "/not/made/yet"), std::string::npos);
  EXPECT_NE(low.message().find("--opt"), std::string::npos);
  // What the next commit will write counts against the free space.
  const absl::Status huge =
      DiskGuard({.bytes = 0, .percent = 0}, {dir}, "--opt")
          .Check(uint64_t{1} << 62);
  EXPECT_EQ(huge.code(), absl::StatusCode::kResourceExhausted) << huge;
  // "off": not even that is looked at.
  EXPECT_TRUE(
      DiskGuard({.bytes = 0, .percent = 100, .checked = false}, {dir}, "--opt")
          .Check(uint64_t{1} << 62)
          .ok());
}

}  // namespace
}  // namespace clearlane
