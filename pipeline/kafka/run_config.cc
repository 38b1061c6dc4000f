#include "pipeline/kafka/run_config.h"

#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "pipeline/observe/log.h"

namespace clearlane {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// The input topic keys, by how their documents are keyed (contract §1).
constexpr std::string_view kOrderKeyedTopics[] = {
    "topic.orders",        "topic.payments",        "topic.waybills",
    "topic.lists",         "topic.cancels",         "topic.returns",
    "topic.export.orders", "topic.export.payments", "topic.export.lists"};
constexpr std::string_view kOtherTopics[] = {
    "topic.export.waybills", "topic.arrivals", "topic.departures"};

}  // namespace

absl::StatusOr<RunConfig> ParseRunConfig(std::string_view text,
                                         const RunConfigOverrides& overrides) {
  RunConfig c;
  // value, line; a --set has line 0
  std::map<std::string, std::pair<std::string, int>> values;
  int line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text =
        nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    const size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    line = Trim(line);
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "line %d: expected key = value, got \"%s\"", line_no, line));
    }
    const std::string key(Trim(line.substr(0, eq)));
    const std::string value(Trim(line.substr(eq + 1)));
    if (key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("line %d: a value without a key", line_no));
    }
    if (!values.emplace(key, std::make_pair(value, line_no)).second) {
      return absl::InvalidArgumentError(
          absl::StrFormat("line %d: %s given twice (first on line %d)", line_no,
                          key, values[key].second));
    }
  }

  std::set<std::string> set_keys;
  for (const std::string& o : overrides) {
    const size_t eq = o.find('=');
    const std::string key(Trim(std::string_view(o).substr(0, eq)));
    if (eq == std::string::npos || key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--set %s: expected key=value", o));
    }
    if (!set_keys.insert(key).second) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--set %s: %s set twice", o, key));
    }
    values[key] = {std::string(Trim(std::string_view(o).substr(eq + 1))), 0};
  }

  std::set<std::string> used;
  auto error = [&](const std::string& key, std::string_view why) {
    const int line = values[key].second;
    return absl::InvalidArgumentError(
        line == 0 ? absl::StrFormat("--set %s: %s", key, why)
                  : absl::StrFormat("line %d: %s: %s", line, key, why));
  };
  auto text_of = [&](const std::string& key, std::string* out) {
    auto it = values.find(key);
    if (it == values.end()) return;
    used.insert(key);
    *out = it->second.first;
  };
  absl::Status status;
  auto int_of = [&](const std::string& key, int64_t* out, int64_t min,
                    int64_t max) {
    auto it = values.find(key);
    if (it == values.end() || !status.ok()) return;
    used.insert(key);
    int64_t v = 0;
    if (!absl::SimpleAtoi(it->second.first, &v) || v < min || v > max) {
      status = error(
          key, absl::StrFormat("expected an integer from %d to %d", min, max));
      return;
    }
    *out = v;
  };

  EngineOptions& e = c.engine;
  text_of("bootstrap.servers", &c.brokers);
  text_of("group.id", &c.group_id);
  for (std::string_view k : kOrderKeyedTopics) {
    std::string topic;
    text_of(std::string(k), &topic);
    if (!topic.empty()) c.order_keyed_topics.push_back(topic);
  }
  for (std::string_view k : kOtherTopics) {
    std::string topic;
    text_of(std::string(k), &topic);
    if (!topic.empty()) c.other_topics.push_back(topic);
  }
  text_of("topic.decisions", &c.decisions_topic);
  text_of("topic.summaries", &c.summaries_topic);
  text_of("topic.deadletters", &c.dead_letters_topic);
  text_of("topic.changelog", &c.changelog_topic);
  text_of("topic.allowance", &c.allowance_topic);
  text_of("topic.allowance.answers", &c.answers_topic);
  text_of("topic.closed.lists", &c.closed_lists_topic);
  std::string create_changelog = "true";
  text_of("changelog.create", &create_changelog);
  text_of("state.dir", &e.state_dir);
  text_of("hmac.secret.file", &e.hmac_secret_file);
  text_of("registry.file", &e.identity_registry);
  text_of("tax.rates.file", &e.tax_rates);
  text_of("instance.id", &c.instance_id);
  text_of("metrics.address", &c.observe.metrics_address);
  std::string log_level = "info";
  text_of("log.level", &log_level);
  std::string sync = "epoch";
  text_of("sync", &sync);
  std::string mask = "false";
  text_of("deadletters.mask", &mask);
  std::string fresh = "check";
  text_of("fresh.state", &fresh);
  std::string members = "one";
  text_of("group.members", &members);
  std::string format = "json";
  text_of("output.format", &format);
  std::string min_free_space;
  text_of("min.free.space", &min_free_space);
  int64_t summary_flag = e.summary_flag, form_lines = e.form_lines,
          threads = e.threads;
  int_of("epoch.records", &e.epoch_records, 1, 10000000);
  int_of("epoch.millis", &e.epoch_millis, 1, 3600000);
  int_of("idle.timeout.ms", &c.idle_timeout_ms, 0, 86400000);
  int_of("changelog.delete.retention.ms", &c.changelog_delete_retention_ms, 0,
         int64_t{1} << 53);
  int_of("timeout.import.hours", &e.import_timeout_hours, 1, 24 * 365);
  int_of("timeout.export.days", &e.export_timeout_days, 1, 365);
  int_of("return.window.days", &e.return_window_days, 1, 365);
  int_of("month.close.hours", &e.month_close_hours, 0, 24 * 365);
  int_of("summary.flag", &summary_flag, 1, 2);
  int_of("form.lines", &form_lines, 1, 100000);
  int_of("cache.entries", &e.cache_entries, 1, 1000000000);
  int_of("decode.threads", &threads, 1, 256);
  if (!status.ok()) return status;
  e.summary_flag = static_cast<int>(summary_flag);
  e.form_lines = static_cast<int>(form_lines);
  e.threads = static_cast<int>(threads);
  for (const auto& [key, value] : values) {
    if (key.rfind("kafka.", 0) == 0 && key.size() > 6) {
      used.insert(key);
      c.kafka[key.substr(6)] = value.first;
    }
  }

  for (const auto& [key, value] : values) {
    if (!used.count(key)) return error(key, "unknown key");
  }
  if (sync != "epoch" && sync != "none") {
    return error("sync", "expected epoch or none");
  }
  e.sync = sync == "epoch";
  if (mask != "true" && mask != "false") {
    return error("deadletters.mask", "expected true or false");
  }
  e.mask_dead_letters = mask == "true";
  if (create_changelog != "true" && create_changelog != "false") {
    return error("changelog.create", "expected true or false");
  }
  c.create_changelog = create_changelog == "true";
  if (fresh != "check" && fresh != "allow") {
    return error("fresh.state", "expected check or allow");
  }
  c.fresh_state_check = fresh == "check";
  if (members != "one" && members != "many") {
    return error("group.members", "expected one or many");
  }
  c.many_members = members == "many";
  if (format != "json" && format != "xml") {
    return error("output.format", "expected json or xml");
  }
  e.receipts_xml = format == "xml";
  if (!min_free_space.empty()) {
    auto floor = ParseFreeSpaceFloor(min_free_space);
    if (!floor.ok()) {
      return error("min.free.space", std::string(floor.status().message()));
    }
    e.min_free_space = *floor;
  }
  auto level = ParseLogLevel(log_level);
  if (!level.ok())
    return error("log.level", "expected debug, info, warn or error");
  c.observe.log_level = *level;
  auto required = [&](const std::string& key, const std::string& v) {
    return v.empty() ? absl::InvalidArgumentError(
                           absl::StrFormat("%s is required", key))
                     : absl::OkStatus();
  };
  for (const auto& [key, v] :
       {std::pair<std::string, std::string>{"bootstrap.servers", c.brokers},
        {"group.id", c.group_id},
        {"state.dir", e.state_dir},
        {"topic.decisions", c.decisions_topic},
        {"topic.summaries", c.summaries_topic},
        {"topic.deadletters", c.dead_letters_topic}}) {
    absl::Status st = required(key, v);
    if (!st.ok()) return st;
  }
  if (c.order_keyed_topics.empty() && c.other_topics.empty()) {
    return absl::InvalidArgumentError(
        "no input topic: set at least one topic.orders, topic.lists, ...");
  }
  if (c.many_members) {
    if (!c.other_topics.empty()) {
      return error("group.members",
                   "many divides import inputs only: export waybills, "
                   "arrivals and departures need stage L across processes, "
                   "which is not built (docs/kafka-mode.md \"Scaling out\")");
    }
    if (c.instance_id.empty()) {
      return error("group.members",
                   "many needs instance.id, one of its own per member: "
                   "members sharing one fence each other");
    }
  }
  if (c.instance_id.empty()) c.instance_id = "clearlane-" + c.group_id;
  if (c.changelog_topic.empty()) c.changelog_topic = c.group_id + "-changelog";
  if (c.allowance_topic.empty()) c.allowance_topic = c.group_id + "-allowance";
  if (c.answers_topic.empty()) {
    c.answers_topic = c.group_id + "-allowance-answers";
  }
  if (c.closed_lists_topic.empty()) {
    c.closed_lists_topic = c.group_id + "-closed-lists";
  }
  return c;
}

absl::StatusOr<RunConfig> LoadRunConfig(const std::string& path,
                                        const RunConfigOverrides& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrFormat("cannot read --config %s", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = ParseRunConfig(ss.str(), overrides);
  if (!c.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--config %s: %s", path, c.status().message()));
  }
  return c;
}

}  // namespace clearlane
