// The configuration file of `clearlane run`: its format, defaults,
// pass-through of kafka.* keys, and errors that name the line and key.

#include "pipeline/kafka/run_config.h"

#include <gtest/gtest.h>

namespace clearlane {
namespace {

constexpr char kMinimal[] =
    "# a comment line\n"
    "bootstrap.servers = b1:9092,b2:9092   # a trailing comment\n"
    "topic.orders = ceb311\n"
    "topic.lists = ceb621\n"
    "topic.arrivals = ceb507\n"
    "topic.decisions = decisions\n"
    "topic.summaries = summaries\n"
    "topic.deadletters = dead\n"
    "state.dir = /var/lib/clearlane\n";

TEST(RunConfigTest, MinimalConfigGetsTheDefaults) {
  auto c = ParseRunConfig(kMinimal);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->brokers, "b1:9092,b2:9092");
  EXPECT_EQ(c->group_id, "clearlane");
  EXPECT_EQ(c->order_keyed_topics,
            (std::vector<std::string>{"ceb311", "ceb621"}));
  EXPECT_EQ(c->other_topics, std::vector<std::string>{"ceb507"});
  EXPECT_EQ(c->engine.epoch_records, 32768);
  EXPECT_EQ(c->engine.epoch_millis, 200);
  EXPECT_TRUE(c->engine.sync);
  EXPECT_TRUE(c->fresh_state_check);
  EXPECT_EQ(c->engine.summary_flag, 2);
  EXPECT_EQ(c->instance_id, "clearlane-clearlane");
  EXPECT_TRUE(c->kafka.empty());
  EXPECT_FALSE(c->engine.mask_dead_letters);
  auto masked =
      ParseRunConfig(std::string(kMinimal) + "deadletters.mask = true\n");
  ASSERT_TRUE(masked.ok()) << masked.status();
  EXPECT_TRUE(masked->engine.mask_dead_letters);
  auto allow = ParseRunConfig(std::string(kMinimal) + "fresh.state = allow\n");
  ASSERT_TRUE(allow.ok()) << allow.status();
  EXPECT_FALSE(allow->fresh_state_check);
}

// The changelog is named after the group unless named; creating it is
// allowed unless refused.
TEST(RunConfigTest, ChangelogTopicFollowsTheGroup) {
  auto c = ParseRunConfig(std::string(kMinimal) + "group.id = customs-a\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->changelog_topic, "customs-a-changelog");
  EXPECT_TRUE(c->create_changelog);
  auto named = ParseRunConfig(std::string(kMinimal) +
                              "topic.changelog = state-log\n"
                              "changelog.create = false\n");
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->changelog_topic, "state-log");
  EXPECT_FALSE(named->create_changelog);
  auto bad = ParseRunConfig(std::string(kMinimal) + "changelog.create = yes\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("changelog.create"), std::string::npos)
      << bad.status();
}

// Stage B's exchange topics are named after the group unless named.
TEST(RunConfigTest, ExchangeTopicsFollowTheGroup) {
  auto c = ParseRunConfig(std::string(kMinimal) + "group.id = customs-a\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->allowance_topic, "customs-a-allowance");
  EXPECT_EQ(c->answers_topic, "customs-a-allowance-answers");
  auto named = ParseRunConfig(std::string(kMinimal) +
                              "topic.allowance = b-in\n"
                              "topic.allowance.answers = b-out\n");
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->allowance_topic, "b-in");
  EXPECT_EQ(named->answers_topic, "b-out");
}

TEST(RunConfigTest, KafkaKeysPassThroughUnchanged) {
  auto c = ParseRunConfig(std::string(kMinimal) +
                          "kafka.security.protocol = SASL_SSL\n"
                          "kafka.sasl.mechanism=SCRAM-SHA-512\n"
                          "sync = none\nsummary.flag = 1\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kafka.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(c->kafka.at("sasl.mechanism"), "SCRAM-SHA-512");
  EXPECT_FALSE(c->engine.sync);
  EXPECT_EQ(c->engine.summary_flag, 1);
}

TEST(RunConfigTest, EngineKeysReachTheEngineOptions) {
  auto c = ParseRunConfig(std::string(kMinimal) +
                          "return.window.days = 15\n"
                          "cache.entries = 1000\n"
                          "decode.threads = 3\n"
                          "timeout.import.hours = 12\n"
                          "min.free.space = 256MiB, 2%\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->engine.return_window_days, 15);
  EXPECT_EQ(c->engine.cache_entries, 1000);
  EXPECT_EQ(c->engine.threads, 3);
  EXPECT_EQ(c->engine.Clearance().import_timeout, 12 * 3600);
  EXPECT_EQ(c->engine.Clearance().return_window, 15 * 24 * 3600);
  EXPECT_EQ(c->engine.state_dir, "/var/lib/clearlane");
  EXPECT_EQ(c->engine.min_free_space.bytes, uint64_t{256} << 20);
  EXPECT_DOUBLE_EQ(c->engine.min_free_space.percent, 2);
  auto defaults = ParseRunConfig(kMinimal);
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->engine.threads, 1);
  EXPECT_EQ(defaults->engine.return_window_days, 30);
  EXPECT_FALSE(
      ParseRunConfig(std::string(kMinimal) + "decode.threads = 0\n").ok());
  EXPECT_FALSE(
      ParseRunConfig(std::string(kMinimal) + "min.free.space = plenty\n").ok());
}

// group.members: one by default; many divides import inputs only, and
// each member needs an instance.id of its own.
TEST(RunConfigTest, ManyMembersNeedImportInputsAndAnInstanceId) {
  auto one = ParseRunConfig(kMinimal);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_FALSE(one->many_members);
  constexpr char kImport[] =
      "bootstrap.servers = b1:9092\n"
      "topic.orders = ceb311\n"
      "topic.lists = ceb621\n"
      "topic.decisions = decisions\n"
      "topic.summaries = summaries\n"
      "topic.deadletters = dead\n"
      "state.dir = /var/lib/clearlane\n"
      "group.members = many\n";
  auto many = ParseRunConfig(kImport, {"instance.id=clearlane-1"});
  ASSERT_TRUE(many.ok()) << many.status();
  EXPECT_TRUE(many->many_members);
  EXPECT_EQ(many->instance_id, "clearlane-1");
  auto unnamed = ParseRunConfig(kImport);
  ASSERT_FALSE(unnamed.ok());
  EXPECT_NE(std::string(unnamed.status().message())
                .find("line 8: group.members: many needs instance.id"),
            std::string::npos)
      << unnamed.status();
  // kMinimal reads arrivals: stage L would be needed across processes.
  auto exports = ParseRunConfig(std::string(kMinimal) +
                                "group.members = many\n"
                                "instance.id = clearlane-1\n");
  ASSERT_FALSE(exports.ok());
  EXPECT_NE(std::string(exports.status().message())
                .find("many divides import inputs only"),
            std::string::npos)
      << exports.status();
  auto bad = ParseRunConfig(std::string(kMinimal) + "group.members = 3\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message())
                .find("group.members: expected one or many"),
            std::string::npos);
}

TEST(RunConfigTest, ErrorsNameTheLineAndTheKey) {
  struct Case {
    std::string extra, want;
  };
  for (const Case& k : {
           Case{"epoch.records = lots\n", "line 10: epoch.records"},
           Case{"summary.flag = 3\n", "summary.flag"},
           Case{"topic.order = x\n", "topic.order: unknown key"},
           Case{"state.dir = again\n", "state.dir given twice"},
           Case{"sync = sometimes\n", "sync: expected epoch or none"},
           Case{"fresh.state = maybe\n",
                "fresh.state: expected check or allow"},
           Case{"deadletters.mask = yes\n",
                "deadletters.mask: expected true or false"},
           Case{"just words\n", "line 10: expected key = value"},
       }) {
    auto c = ParseRunConfig(std::string(kMinimal) + k.extra);
    ASSERT_FALSE(c.ok()) << k.extra;
    EXPECT_NE(std::string(c.status().message()).find(k.want), std::string::npos)
        << c.status().message();
  }
  auto missing = ParseRunConfig("topic.orders = a\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("bootstrap.servers"),
            std::string::npos);
}

// `run --set`: one file for every pod of a StatefulSet, each with its own
// instance.id (deploy/kubernetes).
TEST(RunConfigTest, SetReplacesOrAddsAKeyAndIsCheckedAsTheFileIs) {
  auto c = ParseRunConfig(std::string(kMinimal) + "epoch.millis = 100\n",
                          {"instance.id=clearlane-2", " epoch.millis = 50 "});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->instance_id, "clearlane-2");
  EXPECT_EQ(c->engine.epoch_millis, 50);
  EXPECT_EQ(c->engine.state_dir, "/var/lib/clearlane");
  // A required key may come from --set alone.
  auto from_set =
      ParseRunConfig("topic.orders = a\n", {
                                               "bootstrap.servers=k:9092",
                                               "topic.decisions=d",
                                               "topic.summaries=s",
                                               "topic.deadletters=x",
                                               "state.dir=/s",
                                           });
  ASSERT_TRUE(from_set.ok()) << from_set.status();
  EXPECT_EQ(from_set->brokers, "k:9092");
  struct Case {
    std::vector<std::string> sets;
    std::string want;
  };
  for (const Case& k : {
           Case{{"epoch.millis=soon"},
                "--set epoch.millis: expected an integer"},
           Case{{"instance.idd=x"}, "--set instance.idd: unknown key"},
           Case{{"instance.id"}, "--set instance.id: expected key=value"},
           Case{{"=x"}, "expected key=value"},
           Case{{"sync=none", "sync=epoch"}, "sync set twice"},
       }) {
    auto bad = ParseRunConfig(kMinimal, k.sets);
    ASSERT_FALSE(bad.ok()) << k.want;
    EXPECT_NE(std::string(bad.status().message()).find(k.want),
              std::string::npos)
        << bad.status().message();
  }
}

TEST(RunConfigTest, MissingFileIsNamed) {
  auto c = LoadRunConfig("/nonexistent/clearlane.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string(c.status().message()).find("/nonexistent"),
            std::string::npos);
}

}  // namespace
}  // namespace clearlane
