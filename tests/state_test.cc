#include <gtest/gtest.h>

#include <filesystem>

#include "model/coding.h"
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

}  // namespace
}  // namespace clearlane
