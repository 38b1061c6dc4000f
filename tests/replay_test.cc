// End-to-end tests of `clearlane replay` as a separate process: outputs,
// continuation with --keep-open, operational failures, and the crash test:
// a run killed with SIGKILL at random moments and restarted until it
// finishes must write exactly the bytes of an uninterrupted run.
//
// CLEARLANE_CRASH_KILLS and CLEARLANE_CRASH_ORDERS set the crash test's
// size (defaults: 20 kills, 6000 orders; the long mode in README uses 100
// kills and 1000000 orders), CLEARLANE_CRASH_MAX_MS the longest a run lives
// before its kill (default 120) and CLEARLANE_CRASH_EPOCH_RECORDS the epoch
// size of the killed runs (default 40, so kills land in every phase of an
// epoch).

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "bench/generator.h"
#include "tests/process.h"
#include "tests/test_util.h"

extern char** environ;

namespace clearlane {
namespace {

using ::clearlane::testing::All;
using ::clearlane::testing::Lines;
using ::clearlane::testing::PersonalDataIn;
using ::clearlane::testing::Slurp;

namespace fs = std::filesystem;

using ::clearlane::testing::EnvOr;
using ::clearlane::testing::Exited;
using ::clearlane::testing::RunToEnd;
using ::clearlane::testing::SmallFilesystem;
using ::clearlane::testing::Wait;

// The clearlane binary with `args`.
std::vector<std::string> Clearlane(std::vector<std::string> args) {
  args.insert(args.begin(), CLEARLANE_BINARY);
  return args;
}
pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
  return ::clearlane::testing::Spawn(Clearlane(args), log);
}
// Runs clearlane to completion; returns its exit status.
int RunClearlane(const std::vector<std::string>& args, const std::string& log) {
  return RunToEnd(Clearlane(args), log);
}

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::path(::testing::TempDir()) /
        ("replay-" +
         std::string(
             ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    log_ = (dir_ / "stderr.log").string();
  }
  // A corpus with every anomaly, dead letters included.
  std::string Corpus(const std::string& name, int64_t orders, uint64_t seed,
                     absl::CivilDay day = absl::CivilDay(2026, 11, 11)) {
    GeneratorOptions o;
    o.orders = orders;
    o.seed = seed;
    o.day = day;
    AnomalyRates& a = o.anomalies;
    a.duplicates = a.stale = a.modifications = a.missing = 0.03;
    a.amount_mismatches = a.payer_mismatches = a.invalid_ids = 0.02;
    a.cancels = a.returns = a.late_returns = 0.01;
    a.malformed = 0.03;
    const std::string path = (dir_ / name).string();
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::FILE* registry = std::fopen((path + ".registry").c_str(), "w");
    EXPECT_TRUE(Generate(o, f, nullptr, registry, nullptr).ok());
    std::fclose(f);
    std::fclose(registry);
    return path;
  }
  // Replays a 300-order day to its end into `out`; `args` runs it again.
  void FinishedReplay(const fs::path& out, std::vector<std::string>* args) {
    *args = {"replay",     "--input", Corpus("day.ndjson", 300, 9), "--out",
             out.string(), "--state", (dir_ / "state").string()};
    ASSERT_EQ(RunClearlane(*args, log_), 0) << Slurp(log_);
  }
  void ExpectSameOutputs(const fs::path& a, const fs::path& b) {
    for (const char* name :
         {"receipts.ndjson", "summaries.ndjson", "deadletters.ndjson"}) {
      const std::string x = Slurp(a / name), y = Slurp(b / name);
      EXPECT_EQ(x.size(), y.size()) << name;
      EXPECT_TRUE(x == y) << name << " differs";
    }
  }
  fs::path dir_;
  std::string log_;
};

TEST_F(ReplayTest, WritesTheThreeFilesAndDeadLettersWithTheirSource) {
  const std::string input = (dir_ / "in.ndjson").string();
  std::ofstream(input) << "{oops\n\n{\"docType\":\"CEB999\",\"appTime\":"
                          "\"20261111000000\"}\n";
  const fs::path out = dir_ / "out";
  ASSERT_EQ(
      RunClearlane({"replay", "--input", input, "--out", out.string()}, log_),
      0)
      << Slurp(log_);
  EXPECT_EQ(Slurp(out / "receipts.ndjson"), "");
  EXPECT_EQ(Slurp(out / "summaries.ndjson"), "");
  const std::string dead = Slurp(out / "deadletters.ndjson");
  EXPECT_NE(dead.find("{\"source\":{\"file\":\"" + input +
                      "\",\"line\":1},\"reason\":\"MALFORMED_JSON\""),
            std::string::npos)
      << dead;
  EXPECT_NE(dead.find("{\"source\":{\"file\":\"" + input +
                      "\",\"line\":3},\"reason\":\"UNKNOWN_DOC_TYPE\""),
            std::string::npos)
      << dead;
  // The temporary state is gone.
  for (const auto& entry : fs::directory_iterator(out)) {
    EXPECT_EQ(entry.path().filename().string().find(".clearlane-state"),
              std::string::npos);
  }
}

TEST_F(ReplayTest, MaskedDeadLettersHoldNoPersonalDataAndLoseNothing) {
  const std::string input = Corpus("day.ndjson", 800, 3);
  const std::string registry = input + ".registry";
  for (const char* run : {"kept", "masked"}) {
    std::vector<std::string> args = {"replay",
                                     "--input",
                                     input,
                                     "--out",
                                     (dir_ / run).string(),
                                     "--identity-registry",
                                     registry};
    if (std::string(run) == "masked") args.push_back("--mask-dead-letters");
    ASSERT_EQ(RunClearlane(args, log_), 0) << Slurp(log_);
  }
  for (const char* name : {"receipts.ndjson", "summaries.ndjson"}) {
    EXPECT_TRUE(Slurp(dir_ / "kept" / name) == Slurp(dir_ / "masked" / name))
        << name;
  }
  // The same dead letters, line for line, up to "raw".
  const std::vector<std::string> kept =
      Lines(dir_ / "kept" / "deadletters.ndjson");
  const std::vector<std::string> masked =
      Lines(dir_ / "masked" / "deadletters.ndjson");
  ASSERT_EQ(kept.size(), masked.size());
  ASSERT_GT(kept.size(), 10u);
  for (size_t i = 0; i < kept.size(); ++i) {
    const size_t raw = kept[i].find(",\"raw\":");
    ASSERT_NE(raw, std::string::npos) << kept[i];
    EXPECT_EQ(masked[i].substr(0, raw + 7), kept[i].substr(0, raw + 7));
  }
  // The kept raw records hold personal data; the masked ones none of it.
  // (Dead letters escape the record's quotes: unescape before matching.)
  const std::set<std::string> personal = PersonalDataIn(
      All(Slurp(dir_ / "kept" / "deadletters.ndjson"), "\\\"", "\""));
  ASSERT_GT(personal.size(), 10u);
  const std::string masked_text = Slurp(dir_ / "masked" / "deadletters.ndjson");
  for (const std::string& value : personal) {
    EXPECT_EQ(masked_text.find(value), std::string::npos) << value;
  }
  EXPECT_NE(masked_text.find(R"(\"buyerName\":\"***\")"), std::string::npos);
}

TEST_F(ReplayTest, SameInputSameBytesWhateverTheThreadsAndEpochs) {
  const std::string input = Corpus("day.ndjson", 800, 3);
  const std::string registry = input + ".registry";
  ASSERT_EQ(
      RunClearlane({"replay", "--input", input, "--out", (dir_ / "a").string(),
                    "--threads", "1", "--identity-registry", registry},
                   log_),
      0);
  ASSERT_EQ(
      RunClearlane({"replay", "--input", input, "--out", (dir_ / "b").string(),
                    "--threads", "4", "--epoch-records", "7",
                    "--identity-registry", registry},
                   log_),
      0);
  EXPECT_GT(Slurp(dir_ / "a" / "deadletters.ndjson").size(), 1000u);
  EXPECT_GT(Slurp(dir_ / "a" / "receipts.ndjson").size(), 100000u);
  ExpectSameOutputs(dir_ / "a", dir_ / "b");
}

// Caches of a few entries forget almost everything at every commit: what
// they forgot is read back from RocksDB, and on a state that started empty
// what they never held is not read at all. Either way, the same bytes.
TEST_F(ReplayTest, TinyCachesGiveTheSameBytes) {
  const std::string input = Corpus("day.ndjson", 600, 8);
  const std::string registry = input + ".registry";
  ASSERT_EQ(
      RunClearlane({"replay", "--input", input, "--out", (dir_ / "a").string(),
                    "--identity-registry", registry},
                   log_),
      0);
  ASSERT_EQ(
      RunClearlane({"replay", "--input", input, "--out", (dir_ / "b").string(),
                    "--identity-registry", registry, "--cache-entries", "3",
                    "--epoch-records", "50"},
                   log_),
      0);
  EXPECT_GT(Slurp(dir_ / "a" / "receipts.ndjson").size(), 100000u);
  ExpectSameOutputs(dir_ / "a", dir_ / "b");
  // And continued on a state that did not start empty.
  const std::string first = Corpus("first.ndjson", 300, 9);
  const std::string second = Corpus("second.ndjson", 300, 10);
  ASSERT_EQ(RunClearlane({"replay", "--input", first, "--input", second,
                          "--out", (dir_ / "one").string()},
                         log_),
            0);
  const std::string state = (dir_ / "state").string();
  const std::string out = (dir_ / "two").string();
  for (const std::string& in : {first, second}) {
    std::vector<std::string> args = {
        "replay", "--input",         in,  "--out",           out, "--state",
        state,    "--cache-entries", "3", "--epoch-records", "50"};
    if (in == first) args.push_back("--keep-open");
    ASSERT_EQ(RunClearlane(args, log_), 0) << Slurp(log_);
  }
  ExpectSameOutputs(dir_ / "one", out);
}

TEST_F(ReplayTest, KeepOpenContinuationEqualsOneRun) {
  const std::string first = Corpus("first.ndjson", 400, 5);
  const std::string second = Corpus("second.ndjson", 400, 6);
  ASSERT_EQ(RunClearlane({"replay", "--input", first, "--input", second,
                          "--out", (dir_ / "one").string()},
                         log_),
            0);
  const std::string state = (dir_ / "state").string();
  const std::string out = (dir_ / "two").string();
  ASSERT_EQ(RunClearlane({"replay", "--input", first, "--out", out, "--state",
                          state, "--keep-open"},
                         log_),
            0);
  ASSERT_EQ(
      RunClearlane(
          {"replay", "--input", second, "--out", out, "--state", state}, log_),
      0)
      << Slurp(log_);
  ExpectSameOutputs(dir_ / "one", out);
  // Drained at the end: the state cannot be continued with other inputs.
  EXPECT_EQ(
      RunClearlane({"replay", "--input", first, "--out", out, "--state", state},
                   log_),
      2);
  EXPECT_NE(Slurp(log_).find("drained"), std::string::npos);
  // The same replay started again has nothing to do, and its outputs stay.
  EXPECT_EQ(
      RunClearlane(
          {"replay", "--input", second, "--out", out, "--state", state}, log_),
      0);
  EXPECT_NE(Slurp(log_).find("already finished"), std::string::npos);
  ExpectSameOutputs(dir_ / "one", out);
}

// A kill after the last commit and before the last outputs reach the files
// leaves a drained state and short files: the same command again completes
// them.
// Outputs reach the files ahead of the commit of their epoch: a kill
// between the two leaves records past what the state committed, and the
// restart cuts them and produces them again. Here, a finished replay's
// files with such records after them (and a partial line) come back to
// the same bytes.
TEST_F(ReplayTest, RecordsPastTheCommittedOnesAreCutAndProducedAgain) {
  const fs::path out = dir_ / "out";
  std::vector<std::string> args;
  ASSERT_NO_FATAL_FAILURE(FinishedReplay(out, &args));
  const std::string receipts = Slurp(out / "receipts.ndjson");
  const std::string dead = Slurp(out / "deadletters.ndjson");
  ASSERT_GT(receipts.size(), 1000u);
  std::ofstream(out / "receipts.ndjson", std::ios::app)
      << "{\"written\":\"ahead\"}\n{\"partial";
  std::ofstream(out / "deadletters.ndjson", std::ios::app) << "{}\n{}\n";
  ASSERT_EQ(RunClearlane(args, log_), 0) << Slurp(log_);
  EXPECT_TRUE(Slurp(out / "receipts.ndjson") == receipts);
  EXPECT_TRUE(Slurp(out / "deadletters.ndjson") == dead);
  EXPECT_NE(Slurp(log_).find("2 records written ahead of a commit"),
            std::string::npos);
}

// Records the state committed are in the files before the commit (synced
// with it): a file that lacks some was cut or replaced behind clearlane's
// back, which is an error, not something to paper over.
TEST_F(ReplayTest, AFileShorterThanTheStateIsAnError) {
  const fs::path out = dir_ / "out";
  std::vector<std::string> args;
  ASSERT_NO_FATAL_FAILURE(FinishedReplay(out, &args));
  const std::string receipts = Slurp(out / "receipts.ndjson");
  const size_t cut = receipts.rfind('\n', receipts.size() - 2) + 1;
  fs::resize_file(out / "receipts.ndjson", cut);
  EXPECT_NE(RunClearlane(args, log_), 0);
  EXPECT_NE(Slurp(log_).find("the file was truncated or replaced"),
            std::string::npos)
      << Slurp(log_);
}

TEST_F(ReplayTest, RestartOfAnUnfinishedRunNeedsTheSameInputs) {
  const std::string first = Corpus("first.ndjson", 500, 7);
  const std::string other = Corpus("other.ndjson", 50, 8);
  const std::string state = (dir_ / "state").string();
  const std::string out = (dir_ / "out").string();
  // Kill a run before it ends (a slow, tiny-epoch run), then restart it
  // with other inputs.
  pid_t pid = Spawn({"replay", "--input", first, "--out", out, "--state", state,
                     "--epoch-records", "1"},
                    log_);
  ASSERT_GT(pid, 0);
  // Kill it once it has committed some epochs (its outputs show them).
  for (int i = 0; i < 1000; ++i) {
    std::error_code ec;
    const auto size = fs::file_size(fs::path(out) / "receipts.ndjson", ec);
    if (!ec && size > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  ASSERT_EQ(Wait(pid), 128 + SIGKILL) << "the run ended before it was killed";
  EXPECT_EQ(
      RunClearlane({"replay", "--input", other, "--out", out, "--state", state},
                   log_),
      2);
  EXPECT_NE(Slurp(log_).find("same --input"), std::string::npos);
  EXPECT_EQ(
      RunClearlane({"replay", "--input", first, "--out", out, "--state", state},
                   log_),
      0);
}

// Contract §7: a state keyed by one secret refuses another, and never
// holds a secret given in a file.
TEST_F(ReplayTest, StateMadeWithOneSecretRefusesAnother) {
  const std::string input = Corpus("day.ndjson", 50, 12);
  const std::string state = (dir_ / "state").string();
  const auto owner_only = fs::perms::owner_read | fs::perms::owner_write;
  const fs::path a = dir_ / "a.secret", b = dir_ / "b.secret";
  ::clearlane::testing::WriteFileWithMode(a, std::string(40, 'a'), owner_only);
  ::clearlane::testing::WriteFileWithMode(b, std::string(40, 'b'), owner_only);
  ASSERT_EQ(RunClearlane({"replay", "--input", input, "--out",
                          (dir_ / "one").string(), "--state", state,
                          "--keep-open", "--hmac-secret-file", a.string()},
                         log_),
            0)
      << Slurp(log_);
  EXPECT_EQ(Slurp(log_).find("random secret"), std::string::npos);
  EXPECT_EQ(RunClearlane(
                {"replay", "--input", input, "--out", (dir_ / "two").string(),
                 "--state", state, "--hmac-secret-file", b.string()},
                log_),
            2);
  EXPECT_NE(Slurp(log_).find("was made with another hmac secret"),
            std::string::npos)
      << Slurp(log_);
  // Nowhere in the state's files is the secret.
  for (const auto& f : fs::recursive_directory_iterator(state)) {
    if (f.is_regular_file()) {
      EXPECT_EQ(Slurp(f.path()).find(std::string(40, 'a')), std::string::npos)
          << f.path();
    }
  }
}

// A filesystem that fills under replay: the run stops before the commit
// that would not fit (exit status 3, one error naming the path), never with
// a signal; once there is space, the same command finishes with the bytes
// of an uninterrupted run. The small filesystem is a tmpfs the test mounts
// where it may (root, or a container that allows mounts).
TEST_F(ReplayTest, DiskBelowTheFloorStopsCleanlyAndTheSameCommandFinishes) {
  const std::string input = Corpus("day.ndjson", 20000, 3);
  ASSERT_EQ(RunClearlane({"replay", "--input", input, "--out",
                          (dir_ / "clean").string()},
                         log_),
            0);
  const SmallFilesystem small(dir_ / "small", "12m");
  if (!small.mounted()) GTEST_SKIP() << SmallFilesystem::kCannotMount;
  const std::vector<std::string> args = {"replay",
                                         "--input",
                                         input,
                                         "--out",
                                         (small.dir() / "out").string(),
                                         "--state",
                                         (small.dir() / "state").string(),
                                         "--min-free-space",
                                         "2MiB",
                                         "--epoch-records",
                                         "1000"};
  EXPECT_EQ(RunClearlane(args, log_), 3) << Slurp(log_);
  const std::string log = Slurp(log_);
  EXPECT_NE(log.find("disk low: " + (small.dir() / "state").string()),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("the floor is 2.0 MiB (--min-free-space)"),
            std::string::npos)
      << log;
  ASSERT_TRUE(small.Resize("400m"));
  ASSERT_EQ(RunClearlane(args, log_), 0) << Slurp(log_);
  ExpectSameOutputs(dir_ / "clean", small.dir() / "out");
}

// With the free-space check off the disk really fills, and the write that fails
// ends the run there, with exit status 3 and the path (never RocksDB's abort on
// a file it failed to write): first the state's filesystem, then the outputs'.
// Each time the same command, once there is space, finishes with the bytes of
// an uninterrupted run.
TEST_F(ReplayTest, AFailedWriteStopsCleanlyAndTheSameCommandFinishes) {
  const std::string input = Corpus("day.ndjson", 20000, 3);
  ASSERT_EQ(RunClearlane({"replay", "--input", input, "--out",
                          (dir_ / "clean").string()},
                         log_),
            0);
  const SmallFilesystem small(dir_ / "small", "6m");
  if (!small.mounted()) GTEST_SKIP() << SmallFilesystem::kCannotMount;
  struct Case {
    fs::path state, out, full;  // `full` is on the small filesystem
    std::string message;
  };
  const std::vector<Case> cases = {
      {small.dir() / "state", dir_ / "out1", small.dir() / "state",
       "state write failed: "},
      {dir_ / "state2", small.dir() / "out2", small.dir() / "out2",
       "cannot write " + (small.dir() / "out2").string()}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.full.string());
    ASSERT_TRUE(small.Resize("6m"));
    fs::remove(log_);
    const std::vector<std::string> args = {"replay",
                                           "--input",
                                           input,
                                           "--out",
                                           c.out.string(),
                                           "--state",
                                           c.state.string(),
                                           "--min-free-space",
                                           "off",
                                           "--epoch-records",
                                           "1000"};
    EXPECT_EQ(RunClearlane(args, log_), 3);
    const std::string log = Slurp(log_);
    EXPECT_NE(log.find(c.message), std::string::npos) << log;
    EXPECT_NE(log.find(c.full.string()), std::string::npos) << log;
    EXPECT_NE(log.find("No space left on device"), std::string::npos) << log;
    ASSERT_TRUE(small.Resize("400m"));
    ASSERT_EQ(RunClearlane(args, log_), 0) << Slurp(log_);
    ExpectSameOutputs(dir_ / "clean", c.out);
    fs::remove_all(c.full);
  }
}

TEST_F(ReplayTest, BadRegistryLinesAreReportedAndSkipped) {
  const std::string input = Corpus("day.ndjson", 200, 4);
  const std::string registry = (dir_ / "registry.ndjson").string();
  // The generated registry with two broken lines in front (lines 1 and 3).
  std::ofstream(registry) << "{oops\n\n{\"idNumber\":7,\"name\":\"x\"}\n"
                          << Slurp(input + ".registry");
  const std::string out = (dir_ / "out").string();
  ASSERT_EQ(RunClearlane({"replay", "--input", input, "--out", out,
                          "--identity-registry", registry},
                         log_),
            0);
  const std::string log = Slurp(log_);
  EXPECT_NE(log.find(registry + ":1: "), std::string::npos) << log;
  EXPECT_NE(log.find(registry + ":3: "), std::string::npos) << log;
  EXPECT_EQ(log.find(registry + ":4: "), std::string::npos) << log;
  // The good lines were loaded: released lists exist.
  EXPECT_NE(Slurp(fs::path(out) / "receipts.ndjson").find("\"800\""),
            std::string::npos);
}

TEST_F(ReplayTest, UnwritableOutputIsAnOperationalFailureNamingThePath) {
  const std::string input = Corpus("day.ndjson", 10, 1);
  std::ofstream(dir_ / "file") << "x";
  const std::string out = (dir_ / "file" / "out").string();
  EXPECT_EQ(RunClearlane({"replay", "--input", input, "--out", out}, log_), 2);
  EXPECT_NE(Slurp(log_).find(out), std::string::npos) << Slurp(log_);
}

TEST_F(ReplayTest, MissingInputIsAnOperationalFailureNamingThePath) {
  EXPECT_EQ(RunClearlane({"replay", "--input", (dir_ / "nope.ndjson").string(),
                          "--out", (dir_ / "out").string()},
                         log_),
            2);
  EXPECT_NE(Slurp(log_).find("nope.ndjson"), std::string::npos);
}

TEST_F(ReplayTest, KilledAtRandomMomentsEndsWithTheSameBytes) {
  const int64_t kills = EnvOr("CLEARLANE_CRASH_KILLS", 20);
  // The last day of a month, so export lists close in two months and the
  // months' summaries are written mid-stream (when the late returns move
  // event time past the closes) and in the drain.
  const std::string input =
      Corpus("day.ndjson", EnvOr("CLEARLANE_CRASH_ORDERS", 6000), 2026,
             absl::CivilDay(2026, 11, 30));
  const std::string registry = input + ".registry";
  ASSERT_EQ(
      RunClearlane({"replay", "--input", input, "--out",
                    (dir_ / "clean").string(), "--identity-registry", registry},
                   log_),
      0);
  // Decisions of every kind are in the comparison, and summaries of both
  // months.
  const std::string receipts = Slurp(dir_ / "clean" / "receipts.ndjson");
  for (const char* what :
       {"\"returnStatus\":\"800\"", "\"returnStatus\":\"100\"",
        "\"returnStatus\":\"399\"", "\"returnStatus\":\"899\"",
        "ANNUAL_LIMIT_EXCEEDED", "ID_UNKNOWN", "ORDER_MISSING",
        "ARRIVAL_MISSING", "RETURN_WINDOW_EXPIRED"}) {
    EXPECT_NE(receipts.find(what), std::string::npos) << what;
  }
  const std::string summaries = Slurp(dir_ / "clean" / "summaries.ndjson");
  EXPECT_NE(summaries.find("\"period\":\"202611\""), std::string::npos);
  EXPECT_NE(summaries.find("\"period\":\"202612\""), std::string::npos);
  const std::string state = (dir_ / "state").string();
  const std::string out = (dir_ / "crashed").string();
  const std::vector<std::string> args = {
      "replay",
      "--input",
      input,
      "--out",
      out,
      "--state",
      state,
      "--epoch-records",
      std::to_string(EnvOr("CLEARLANE_CRASH_EPOCH_RECORDS", 40)),
      "--identity-registry",
      registry};
  const int max_ms = static_cast<int>(EnvOr("CLEARLANE_CRASH_MAX_MS", 120));
  std::mt19937 rng(20261111);
  int64_t killed = 0, restarts = 0;
  while (killed < kills) {
    pid_t pid = Spawn(args, log_);
    ASSERT_GT(pid, 0);
    ++restarts;
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::uniform_int_distribution<>(5, max_ms)(rng)));
    if (const std::optional<int> code = Exited(pid)) {
      // It finished before the kill: start over from scratch so every kill
      // lands inside a run.
      ASSERT_EQ(*code, 0) << Slurp(log_);
      ASSERT_LT(restarts, 20 * kills) << "runs end too fast to be killed";
      fs::remove_all(state);
      fs::remove_all(out);
      continue;
    }
    kill(pid, SIGKILL);
    if (Wait(pid) == 128 + SIGKILL) ++killed;
  }
  ASSERT_EQ(RunClearlane(args, log_), 0) << Slurp(log_);
  ExpectSameOutputs(dir_ / "clean", out);
}

// Kills that land in the drain at the end of input: every list of an import
// day without its orders is decided there, by its timeout, so the first
// receipt says the drain has begun.
TEST_F(ReplayTest, KilledDuringTheDrainEndsWithTheSameBytes) {
  const int64_t kills = EnvOr("CLEARLANE_DRAIN_KILLS", 10);
  // About ten kills fit the drain of 3,000 orders.
  const std::string day =
      Corpus("day.ndjson", 300 * std::max<int64_t>(kills, 10), 7);
  const std::string input = (dir_ / "no-orders.ndjson").string();
  {
    std::ofstream filtered(input);
    int64_t lists = 0;
    for (const std::string& line : Lines(day)) {
      for (const char* kept : {"CEB411", "CEB511", "CEB621"}) {
        if (line.find(std::string("\"docType\":\"") + kept + "\"") !=
            std::string::npos) {
          filtered << line << '\n';
          lists += std::string(kept) == "CEB621";
        }
      }
    }
    ASSERT_GT(lists, 1000);
  }
  ASSERT_EQ(RunClearlane({"replay", "--input", input, "--out",
                          (dir_ / "clean").string()},
                         log_),
            0);
  EXPECT_NE(Slurp(dir_ / "clean" / "receipts.ndjson").find("ORDER_MISSING"),
            std::string::npos);
  const std::string state = (dir_ / "state").string();
  const fs::path out = dir_ / "crashed";
  const std::vector<std::string> args = {
      "replay", "--input",         input, "--out", out, "--state",
      state,    "--epoch-records", "10"};
  std::mt19937 rng(1111);
  int64_t killed = 0, starts = 0;
  std::vector<uintmax_t> sizes;  // of the receipts at each kill
  while (killed < kills) {
    ASSERT_LT(++starts, 50 * kills) << "the drain ends too fast to be killed";
    pid_t pid = Spawn(args, log_);
    ASSERT_GT(pid, 0);
    // Wait until this run is in the drain and has got on with it: the
    // receipts grew since it started.
    std::error_code ec;
    const uintmax_t before = fs::file_size(out / "receipts.ndjson", ec);
    const uintmax_t at_start = ec ? 0 : before;
    std::optional<int> exited;
    while (!exited) {
      const uintmax_t now = fs::file_size(out / "receipts.ndjson", ec);
      if (!ec && now > at_start) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      exited = Exited(pid);
    }
    if (!exited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(
          std::uniform_int_distribution<>(0, 30)(rng)));
      exited = Exited(pid);
    }
    if (exited) {
      // The drain ended before the kill: start over so every kill lands
      // in a drain.
      ASSERT_EQ(*exited, 0) << Slurp(log_);
      fs::remove_all(state);
      fs::remove_all(out);
      killed = 0;
      sizes.clear();
      continue;
    }
    kill(pid, SIGKILL);
    if (Wait(pid) == 128 + SIGKILL) {
      ++killed;
      sizes.push_back(fs::file_size(out / "receipts.ndjson", ec));
    }
  }
  // The kills fell at different places in the drain: the output had grown
  // between at least half of them.
  int grew = 0;
  for (size_t i = 1; i < sizes.size(); ++i) grew += sizes[i] > sizes[i - 1];
  EXPECT_GE(grew, kills / 2) << ::testing::PrintToString(sizes);
  EXPECT_LT(sizes.back(), fs::file_size(dir_ / "clean" / "receipts.ndjson"));
  ASSERT_EQ(RunClearlane(args, log_), 0) << Slurp(log_);
  ExpectSameOutputs(dir_ / "clean", out);
}

}  // namespace
}  // namespace clearlane
