// The secret of the keyed hashes (contract §7): where it comes from, what
// a file must be, and that a state refuses a secret other than the one it
// was made with, keeping only a keyed check value of it.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "pipeline/engine/resources.h"
#include "pipeline/observe/log.h"
#include "state/keys.h"
#include "state/store.h"
#include "tests/test_util.h"

namespace clearlane {
namespace {

namespace fs = std::filesystem;
using ::clearlane::testing::Slurp;
using ::clearlane::testing::WriteFileWithMode;

constexpr fs::perms kOwnerOnly = fs::perms::owner_read | fs::perms::owner_write;
const std::string kSecretA = "the first secret, of thirty-two bytes or more";
const std::string kSecretB = "another secret, also thirty-two bytes or more";

class SecretTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::path(::testing::TempDir()) /
        ("secret-" +
         std::string(
             ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    log_file_ = std::fopen((dir_ / "log").c_str(), "w");
    log_ = MakeJsonLogger("test", log_file_);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    log_.reset();
    std::fclose(log_file_);
    fs::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    auto store = StateStore::Open({.path = (dir_ / "state").string()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  std::string File(const std::string& name, const std::string& text,
                   fs::perms mode = kOwnerOnly) {
    const fs::path p = dir_ / name;
    WriteFileWithMode(p, text, mode);
    return p.string();
  }
  absl::StatusOr<std::string> Load(const std::string& file,
                                   bool required = false) {
    return LoadSecret(
        {.file = file, .option = "--the-option", .file_required = required},
        *store_, log_.get());
  }
  std::string Log() {
    std::fflush(log_file_);
    return Slurp(dir_ / "log");
  }

  fs::path dir_;
  std::FILE* log_file_ = nullptr;
  Logger log_;
  std::unique_ptr<StateStore> store_;
};

TEST_F(SecretTest, FileSecretIsUsedAndTheStateKeepsOnlyACheckValue) {
  const std::string file = File("a", kSecretA + "\n");
  auto secret = Load(file);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(*secret, kSecretA);  // the trailing newline is not part of it
  EXPECT_FALSE((*store_->Get(Store::kMeta, kSecretKey)).has_value());
  auto check = store_->Get(Store::kMeta, kSecretCheckKey);
  ASSERT_TRUE(check.ok() && check->has_value());
  EXPECT_EQ((*check)->find(kSecretA), std::string::npos);
  EXPECT_EQ((*check)->size(), 32u);  // an HMAC-SHA256
  Reopen();
  secret = Load(file, /*required=*/true);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(*secret, kSecretA);
}

TEST_F(SecretTest, StateRefusesAnotherSecret) {
  ASSERT_TRUE(Load(File("a", kSecretA)).ok());
  Reopen();
  const auto other = Load(File("b", kSecretB));
  ASSERT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(other.status().message().find("another hmac secret"),
            std::string::npos)
      << other.status();
  EXPECT_NE(other.status().message().find((dir_ / "state").string()),
            std::string::npos);
  // Without the file, replay's default would be a new random secret: the
  // state refuses that too.
  const auto none = Load("");
  ASSERT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(none.status().message().find("give it with --the-option"),
            std::string::npos)
      << none.status();
}

TEST_F(SecretTest, FileMustBeTheOwnersOnlyAndLongEnough) {
  struct Case {
    std::string text;
    fs::perms mode;
    std::string want;  // in the error; empty: accepted
  };
  const Case cases[] = {
      {kSecretA, kOwnerOnly | fs::perms::group_read, "readable by group"},
      {kSecretA, kOwnerOnly | fs::perms::others_read, "readable by group"},
      {std::string(31, 'x'), kOwnerOnly, "holds 31 bytes"},
      {std::string(31, 'x') + "\n", kOwnerOnly, "holds 31 bytes"},
      {std::string(32, 'x'), fs::perms::owner_read, ""},
  };
  int i = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(i);
    const auto secret = Load(File("s" + std::to_string(i++), c.text, c.mode));
    if (c.want.empty()) {
      EXPECT_TRUE(secret.ok()) << secret.status();
    } else {
      ASSERT_FALSE(secret.ok());
      EXPECT_NE(secret.status().message().find(c.want), std::string::npos)
          << secret.status();
    }
  }
  const auto missing = Load((dir_ / "nowhere").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nowhere"), std::string::npos);
}

TEST_F(SecretTest, RequiredFileAbsentIsAnErrorNamingTheOption) {
  const auto secret = Load("", /*required=*/true);
  ASSERT_EQ(secret.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(secret.status().message().find("--the-option is not set"),
            std::string::npos)
      << secret.status();
  // Nothing was written: a later start with the file is a fresh state.
  EXPECT_FALSE((*store_->Get(Store::kMeta, kSecretCheckKey)).has_value());
}

TEST_F(SecretTest, WithoutAFileARandomSecretIsKeptAndSaidSo) {
  auto first = Load("");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->size(), kMinSecretBytes);
  EXPECT_NE(Log().find("made a random secret and kept it in state"),
            std::string::npos)
      << Log();
  Reopen();
  auto again = Load("");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *first);
  EXPECT_NE(Log().find("using the random secret kept in state"),
            std::string::npos);
  // A file with another secret is refused; run (required) is refused.
  Reopen();
  EXPECT_EQ(Load(File("b", kSecretB)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Load("", /*required=*/true).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A state from before the check value kept its random secret: a file with
// that same secret takes over, and the state forgets the secret.
TEST_F(SecretTest, StateThatKeptItsSecretTakesTheSameOneFromAFile) {
  {
    WriteBatch batch(*store_);
    batch.Put(Store::kMeta, kSecretKey, kSecretA);
    ASSERT_TRUE(store_->Commit(&batch).ok());
  }
  EXPECT_EQ(Load(File("b", kSecretB)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto secret = Load(File("a", kSecretA));
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(*secret, kSecretA);
  Reopen();
  EXPECT_FALSE((*store_->Get(Store::kMeta, kSecretKey)).has_value());
  EXPECT_TRUE(Load(File("a2", kSecretA), /*required=*/true).ok());
}

}  // namespace
}  // namespace clearlane
