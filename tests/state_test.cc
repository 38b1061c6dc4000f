#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "model/coding.h"
#include "state/changelog.h"
#include "state/run_record.h"
#include "state/store.h"

namespace clearlane {
namespace {

TEST(Coding, RoundTripsEveryKind) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(7);
  w.Varint(0);
  w.Varint(300);
  w.Varint(UINT64_MAX);
  w.SignedVarint(-1);
  w.SignedVarint(INT64_MIN);
  w.Fixed64(0x0102030405060708ull);
  w.Fixed32(0xA0B0C0D0u);
  w.Bytes("张三");
  w.Bytes("");
  BinaryReader r(out);
  EXPECT_EQ(r.U8(), 7);
  EXPECT_EQ(r.Varint(), 0u);
  EXPECT_EQ(r.Varint(), 300u);
  EXPECT_EQ(r.Varint(), UINT64_MAX);
  EXPECT_EQ(r.SignedVarint(), -1);
  EXPECT_EQ(r.SignedVarint(), INT64_MIN);
  EXPECT_EQ(r.Fixed64(), 0x0102030405060708ull);
  EXPECT_EQ(r.Fixed32(), 0xA0B0C0D0u);
  EXPECT_EQ(r.Bytes(), "张三");
  EXPECT_EQ(r.Bytes(), "");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.done());
}

// Decimal amounts are written as 128-bit zigzag varints, whose bytes are
// those of the 64-bit ones for every value that fits 64 bits: a state
// written before amounts were widened reads the same.
TEST(Coding, WideVarintsExtendTheNarrowOnes) {
  const __int128 big = (__int128{1} << 100) + 12345;
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{300},
                    int64_t{-300}, INT64_MAX, INT64_MIN}) {
    std::string narrow, wide;
    BinaryWriter(&narrow).SignedVarint(v);
    BinaryWriter(&wide).SignedVarint128(v);
    EXPECT_EQ(narrow, wide) << v;
    BinaryReader r(narrow);
    EXPECT_TRUE(r.SignedVarint128() == v) << v;
    EXPECT_TRUE(r.ok() && r.done()) << v;
  }
  for (__int128 v : {big, -big, ~(__int128{1} << 127),
                     static_cast<__int128>(__int128{1} << 127)}) {
    std::string out;
    BinaryWriter(&out).SignedVarint128(v);
    BinaryReader r(out);
    EXPECT_TRUE(r.SignedVarint128() == v);
    EXPECT_TRUE(r.ok() && r.done());
  }
  // Cut short, or longer than 128 bits: not ok.
  std::string out;
  BinaryWriter(&out).SignedVarint128(big);
  BinaryReader cut(std::string_view(out).substr(0, out.size() - 1));
  cut.SignedVarint128();
  EXPECT_FALSE(cut.ok());
  const std::string ff(20, '\xff');
  BinaryReader endless(ff);
  endless.Varint128();
  EXPECT_FALSE(endless.ok());
}

TEST(Coding, FixedKeysSortAsNumbers) {
  std::string a, b;
  BinaryWriter(&a).Fixed64(255);
  BinaryWriter(&b).Fixed64(256);
  EXPECT_LT(a, b);
}

TEST(Coding, TruncatedInputIsNotOkAndNeverReadsPastTheEnd) {
  std::string out;
  BinaryWriter w(&out);
  w.Bytes("hello");
  w.Fixed64(1);
  for (size_t n = 0; n < out.size(); ++n) {
    BinaryReader r(std::string_view(out).substr(0, n));
    r.Bytes();
    r.Fixed64();
    EXPECT_FALSE(r.ok()) << n;
  }
  BinaryReader bad("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff");
  bad.Varint();
  EXPECT_FALSE(bad.ok());
}

TEST(StateStore, CommitsABatchAtomicallyAndKeepsItAcrossReopen) {
  const std::string path = ::testing::TempDir() + "/state-store-test";
  std::filesystem::remove_all(path);
  {
    auto store = StateStore::Open({.path = path});
    ASSERT_TRUE(store.ok()) << store.status();
    WriteBatch batch(**store);
    batch.Put(Store::kOrders, "O1", "order");
    batch.Put(Store::kMeta, "run", "position");
    ASSERT_TRUE((*store)->Commit(&batch).ok());
    auto missing = (*store)->Get(Store::kOrders, "O2");
    ASSERT_TRUE(missing.ok());
    EXPECT_FALSE(missing->has_value());
  }
  auto store = StateStore::Open({.path = path});
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->Get(Store::kOrders, "O1")->value(), "order");
  EXPECT_EQ((*store)->Get(Store::kMeta, "run")->value(), "position");
  // Stores are separate key spaces.
  EXPECT_FALSE((*store)->Get(Store::kMeta, "O1")->has_value());
}

TEST(StateStore, UnopenablePathIsAnErrorNamingIt) {
  auto store = StateStore::Open({.path = "/proc/clearlane/state"});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("/proc/clearlane/state"),
            std::string::npos);
}

// A damaged state is refused with a message naming it and what to do; it
// never opens as a new, empty state beside the old files.
class DamagedStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/damaged-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(path_);
    auto store = StateStore::Open({.path = path_});
    ASSERT_TRUE(store.ok()) << store.status();
    for (int i = 0; i < 2000; ++i) {
      WriteBatch batch(**store);
      batch.Put(Store::kOrders, "order-" + std::to_string(i),
                std::string(100, 'o'));
      ASSERT_TRUE((*store)->Commit(&batch).ok());
    }
    ASSERT_TRUE((*store)->Flush().ok());
  }
  void TearDown() override { std::filesystem::remove_all(path_); }

  // The first file of the state whose name passes `match`.
  std::filesystem::path FileOf(bool (*match)(const std::string&)) {
    for (const auto& e : std::filesystem::directory_iterator(path_)) {
      if (match(e.path().filename().string())) return e.path();
    }
    ADD_FAILURE() << "no such file in " << path_;
    return {};
  }
  // Opening (and reading every order) fails with DataLoss naming the
  // state and saying what to do.
  void ExpectRefused() {
    absl::Status st;
    auto store = StateStore::Open({.path = path_});
    if (!store.ok()) {
      st = store.status();
    } else {
      for (int i = 0; i < 2000 && st.ok(); ++i) {
        st = (*store)
                 ->Get(Store::kOrders, "order-" + std::to_string(i))
                 .status();
      }
    }
    ASSERT_FALSE(st.ok()) << "a damaged state was opened and read";
    EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
    EXPECT_NE(st.message().find(path_), std::string::npos) << st;
    if (!store.ok()) {
      EXPECT_NE(st.message().find("restore the state from a backup"),
                std::string::npos)
          << st;
    }
  }

  std::string path_;
};

TEST_F(DamagedStateTest, MissingCurrentIsRefused) {
  std::filesystem::remove(std::filesystem::path(path_) / "CURRENT");
  ExpectRefused();
  // Nothing was created in its place.
  EXPECT_FALSE(
      std::filesystem::exists(std::filesystem::path(path_) / "CURRENT"));
}

TEST_F(DamagedStateTest, GarbageManifestIsRefused) {
  const auto manifest =
      FileOf([](const std::string& n) { return n.rfind("MANIFEST-", 0) == 0; });
  std::ofstream(manifest, std::ios::binary | std::ios::trunc)
      << std::string(4096, '\x5a');
  ExpectRefused();
}

TEST_F(DamagedStateTest, TruncatedTableFileIsRefused) {
  const auto sst = FileOf([](const std::string& n) {
    return n.size() > 4 && n.compare(n.size() - 4, 4, ".sst") == 0;
  });
  std::filesystem::resize_file(sst, std::filesystem::file_size(sst) / 2);
  ExpectRefused();
}

// A state killed while it was first created (no data yet) starts afresh.
TEST(StateStore, StateKilledBeforeItsFirstDataStartsAfresh) {
  const std::string path = ::testing::TempDir() + "/state-half-made";
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  std::ofstream(path + "/LOCK");
  std::ofstream(path + "/LOG") << "rocksdb's log";
  auto store = StateStore::Open({.path = path});
  EXPECT_TRUE(store.ok()) << store.status();
  store = absl::UnknownError("closed");
  std::filesystem::remove_all(path);
}

// A run record as clearlane wrote it at `version` (5 or 6): running, at
// "position", `streams` streams numbered from 20 (floors from 10), no
// registry, `partitions` tasks.
std::string OlderRunRecord(uint8_t version, int streams, int partitions) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(version);
  w.U8(0);  // running
  w.Bytes("position");
  w.U8(0);
  w.SignedVarint(0);
  for (int i = 0; i < streams; ++i) {
    w.Varint(20 + i);  // next
    w.Varint(10 + i);  // floor
  }
  w.U8(0);
  w.Varint(partitions);
  return out;
}

// Version 5 numbered six streams; stage C's (closed lists) starts at 0.
TEST(RunRecordVersions, AVersion5RecordReadsWithStageCsStreamAtZero) {
  const std::string v5 = OlderRunRecord(5, 6, 4);
  auto read = DecodeRunRecord(v5);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->next_seq[static_cast<int>(OutputStream::kAllowanceAnswers)],
            25);
  EXPECT_EQ(read->next_seq[static_cast<int>(OutputStream::kClosedLists)], 0);
  EXPECT_EQ(read->outbox_floor[static_cast<int>(OutputStream::kClosedLists)],
            0);
  EXPECT_EQ(read->partitions, 4);
  RunRecord now = *read;
  now.next_seq[static_cast<int>(OutputStream::kClosedLists)] = 9;
  auto back = DecodeRunRecord(EncodeRunRecord(now));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->next_seq, now.next_seq);
  EXPECT_FALSE(DecodeRunRecord(v5 + "x").ok());
}

// Before version 7 the changelog was in layout 1 (state/changelog.h); a
// record says its layout from version 7 on, and a new one says 2.
TEST(RunRecordVersions, AVersion6RecordSaysChangelogLayout1) {
  const std::string v6 = OlderRunRecord(6, kOutboxStreamCount, 3);
  auto read = DecodeRunRecord(v6);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->changelog_layout, 1);
  EXPECT_EQ(read->partitions, 3);
  EXPECT_EQ(read->next_seq[static_cast<int>(OutputStream::kClosedLists)],
            20 + kOutboxStreamCount - 1);
  EXPECT_FALSE(DecodeRunRecord(v6 + "x").ok());
  EXPECT_EQ(RunRecord().changelog_layout, kChangelogLayout);
  RunRecord now = *read;
  now.changelog_layout = 2;
  auto back = DecodeRunRecord(EncodeRunRecord(now));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->changelog_layout, 2);
  EXPECT_EQ(back->next_seq, now.next_seq);
  EXPECT_EQ(back->position, "position");
}

TEST(RunRecordVersions, AVersion4RecordReadsWithTheExchangeAtZero) {
  std::string v4;
  BinaryWriter w(&v4);
  w.U8(4);
  w.U8(0);  // running
  w.Bytes("position");
  w.U8(1);
  w.SignedVarint(1234);
  for (int i = 0; i < 4; ++i) {
    w.Varint(10 + i);  // next
    w.Varint(5 + i);   // floor
  }
  w.U8(1);
  w.Varint(8);
  auto read = DecodeRunRecord(v4);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->position, "position");
  EXPECT_EQ(read->next_seq[static_cast<int>(OutputStream::kChangelog)], 13);
  EXPECT_EQ(read->next_seq[static_cast<int>(OutputStream::kAllowance)], 0);
  EXPECT_EQ(
      read->outbox_floor[static_cast<int>(OutputStream::kAllowanceAnswers)], 0);
  EXPECT_EQ(read->partitions, 8);

  RunRecord now = *read;
  now.next_seq[static_cast<int>(OutputStream::kAllowance)] = 77;
  now.outbox_floor[static_cast<int>(OutputStream::kAllowanceAnswers)] = 66;
  auto back = DecodeRunRecord(EncodeRunRecord(now));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->next_seq, now.next_seq);
  EXPECT_EQ(back->outbox_floor, now.outbox_floor);
  EXPECT_FALSE(DecodeRunRecord(v4 + "x").ok());
}

}  // namespace
}  // namespace clearlane
