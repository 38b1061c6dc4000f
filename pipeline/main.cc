// The clearlane binary: one command per job of contract §8. The
// composition root: the only file that reaches into bench/ (the generator
// and the load test are commands of the binary).

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <thread>

#include "absl/strings/str_format.h"
#include "bench/generator.h"
#include "bench/loadtest/loadtest.h"
#include "model/event_time.h"
#include "pipeline/files/check.h"
#include "pipeline/files/convert.h"
#include "pipeline/files/replay.h"
#include "pipeline/kafka/broker.h"
#include "pipeline/kafka/run.h"
#include "pipeline/observe/log.h"

namespace clearlane {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f && f != stdout) std::fclose(f);
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

File OpenForWriting(const std::string& path) {
  if (path.empty()) return nullptr;
  if (path == "-") return File(stdout);
  return File(std::fopen(path.c_str(), "w"));
}

// The engine's flags (EngineOptions), as replay takes them; defaults are
// the struct's.
void AddEngineFlags(CLI::App& app, EngineOptions& e) {
  app.add_option(
      "--state", e.state_dir,
      "RocksDB state directory; a run killed midway continues from it");
  app.add_option("--identity-registry", e.identity_registry,
                 "identity registry, NDJSON {idNumber, name}");
  app.add_option("--tax-rates", e.tax_rates,
                 "tax rates CSV (default: the contract's table)");
  app.add_option("--hmac-secret-file", e.hmac_secret_file,
                 "secret for the keyed hashes of personal fields: at least "
                 "32 bytes, readable by its owner only (default: a random "
                 "one kept in the state, logged)");
  app.add_option("--threads", e.threads,
                 "threads decoding input (default: the cores); the outputs "
                 "do not depend on it")
      ->check(CLI::Range(1, 256));
  app.add_option("--summary-flag", e.summary_flag,
                 "summary declarations: 1 leaves ownerCode out of the head "
                 "group (default 2)")
      ->check(CLI::IsMember({1, 2}));
  app.add_option("--form-lines", e.form_lines,
                 "lines per summary declaration form (default 50)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--month-close-hours", e.month_close_hours,
                 "hours of event time after its end at which a month closes "
                 "(default 48)")
      ->check(CLI::Range(0, 24 * 365));
  app.add_option("--import-timeout-hours", e.import_timeout_hours,
                 "hours of event time an import list waits for its "
                 "documents (default 24)")
      ->check(CLI::Range(1, 24 * 365));
  app.add_option("--export-timeout-days", e.export_timeout_days,
                 "days of event time an export list waits for its "
                 "documents (default 7)")
      ->check(CLI::Range(1, 365));
  app.add_option("--return-window-days", e.return_window_days,
                 "days after its release that a return is accepted "
                 "(default 30)")
      ->check(CLI::Range(1, 365));
  app.add_option("--epoch-records", e.epoch_records,
                 absl::StrFormat("records per epoch at most (default %d)",
                                 e.epoch_records))
      ->check(CLI::PositiveNumber);
  app.add_option("--epoch-millis", e.epoch_millis,
                 absl::StrFormat("milliseconds per epoch at most (default %d)",
                                 e.epoch_millis))
      ->check(CLI::PositiveNumber);
  app.add_option("--cache-entries", e.cache_entries,
                 "state entries each cache keeps in memory before it forgets "
                 "the oldest (default 200000)")
      ->check(CLI::PositiveNumber);
  app.add_option_function<std::string>(
      "--min-free-space",
      [&e](const std::string& v) {
        auto floor = ParseFreeSpaceFloor(v);
        if (!floor.ok()) {
          throw CLI::ValidationError("--min-free-space",
                                     std::string(floor.status().message()));
        }
        e.min_free_space = *floor;
      },
      "free space the state and output filesystems keep: a size, a "
      "percentage of the filesystem, or both, the smaller applying "
      "(default 1GiB,5%); below it the run stops with exit status 3; "
      "off: not checked (a write that fails still stops it with 3)");
  app.add_flag("--mask-dead-letters", e.mask_dead_letters,
               "mask personal data in the dead letters' raw record "
               "(contract §7)");
}

void AddGen(CLI::App& app, GeneratorOptions& g, std::string& out,
            std::string& truth, std::string& registry, std::string& flow,
            std::string& profile, std::string& day) {
  app.add_option("--orders", g.orders, "orders to generate")->required();
  app.add_option("--seed", g.seed, "seed; the same seed gives the same bytes")
      ->required();
  app.add_option("--flow", flow, "import, export or mixed")
      ->check(CLI::IsMember({"import", "export", "mixed"}));
  app.add_option("--profile", profile, "flat or double11 (the day's shape)")
      ->check(CLI::IsMember({"flat", "double11"}));
  app.add_option("--day", day, "the day, YYYYMMDD (default 20261111)");
  app.add_option("--out", out, "documents, NDJSON (default: standard output)");
  app.add_option("--registry-out", registry,
                 "write the identity registry of the buyers (NDJSON)");
  app.add_option(
      "--truth-out", truth,
      "write one line per injected anomaly and its expected outcome");
  app.add_option("--export-share", g.export_share,
                 "share of export orders in the mixed flow");
  app.add_option("--top-sellers-share", g.top_sellers_share,
                 "export: share of orders from the three largest sellers "
                 "(default: the natural skew)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--bonded-share", g.bonded_share,
                 "share of import lists that are 1210 (else 9610)");
  app.add_option("--single-item-over-limit", g.single_item_over_limit,
                 "rate of import orders of one item over 5000.00");
  app.add_option("--buyers", g.buyers, "buyer population (default orders/3)");
  app.add_option("--registry-unknown", g.registry_unknown,
                 "rate of buyers left out of the registry");
  app.add_option("--registry-mismatch", g.registry_mismatch,
                 "rate of buyers registered under another name");
  AnomalyRates& a = g.anomalies;
  const auto rate = CLI::Range(0.0, 1.0);
  app.add_option("--duplicates", a.duplicates, "rate of duplicated documents")
      ->check(rate);
  app.add_option("--stale", a.stale, "rate of orders with a stale version")
      ->check(rate);
  app.add_option("--modifications", a.modifications,
                 "rate of orders corrected with appType 2")
      ->check(rate);
  app.add_option("--missing", a.missing, "rate of orders missing a document")
      ->check(rate);
  app.add_option("--amount-mismatches", a.amount_mismatches,
                 "rate of orders breaking an amount rule")
      ->check(rate);
  app.add_option("--payer-mismatches", a.payer_mismatches,
                 "rate of import orders paid by someone else")
      ->check(rate);
  app.add_option("--invalid-ids", a.invalid_ids,
                 "rate of import orders with an invalid identity number")
      ->check(rate);
  app.add_option("--cancels", a.cancels, "rate of import lists cancelled")
      ->check(rate);
  app.add_option("--returns", a.returns,
                 "rate of import lists returned within 30 days")
      ->check(rate);
  app.add_option("--late-returns", a.late_returns,
                 "rate of import lists returned after 30 days")
      ->check(rate);
  app.add_option("--malformed", a.malformed,
                 "rate of documents followed by a broken line")
      ->check(rate);
}

// gen --format xml: the day as NDJSON in an unnamed file, then converted.
int GenXml(const std::string& out_path, std::FILE* day, int64_t xml_records,
           int64_t* left_out) {
  ConvertOptions c{.input = absl::StrFormat("/proc/self/fd/%d", fileno(day)),
                   .output = out_path,
                   .to_xml = true,
                   .xml_records = xml_records,
                   .quiet = true};
  const int status = RunConvert(c, stderr, left_out);
  return status == 1 ? 0 : status;  // what has no XML form is counted
}

int RunGen(GeneratorOptions g, const std::string& out_path,
           const std::string& truth_path, const std::string& registry_path,
           const std::string& flow, const std::string& profile,
           const std::string& day, const std::string& format,
           int64_t xml_records) {
  g.flow = flow == "import"   ? Flow::kImport
           : flow == "export" ? Flow::kExport
                              : Flow::kMixed;
  g.profile = profile == "double11" ? DayProfile::kDouble11 : DayProfile::kFlat;
  if (!day.empty()) {
    auto parsed = ParseDate8(day);
    if (!parsed.ok()) {
      absl::FPrintF(stderr, "clearlane gen: --day %s: %s\n", day,
                    parsed.status().message());
      return 2;
    }
    g.day = *parsed;
  }
  const bool xml = format == "xml";
  File out = xml ? File(std::tmpfile())
                 : OpenForWriting(out_path.empty() ? "-" : out_path);
  File truth = OpenForWriting(truth_path);
  File registry = OpenForWriting(registry_path);
  for (const auto& [file, path] : {std::pair{&out, out_path},
                                   {&truth, truth_path},
                                   {&registry, registry_path}}) {
    if (!path.empty() && !*file) {
      absl::FPrintF(stderr, "clearlane gen: cannot write %s\n", path);
      return 2;
    }
  }
  static char buffer[1 << 20];
  std::setvbuf(out.get(), buffer, _IOFBF, sizeof buffer);
  GeneratorStats stats;
  absl::Status s = Generate(g, out.get(), truth.get(), registry.get(), &stats);
  if (s.ok() && std::fflush(out.get()) != 0) {
    s = absl::DataLossError("cannot write the output");
  }
  if (!s.ok()) {
    absl::FPrintF(stderr, "clearlane gen: %s\n", s.message());
    return 2;
  }
  int64_t left_out = 0;
  if (xml) {
    if (int st = GenXml(out_path, out.get(), xml_records, &left_out); st != 0) {
      return st;
    }
  }
  absl::FPrintF(stderr,
                "clearlane gen: %d lines, %d import and %d export orders, %d "
                "malformed lines\n",
                stats.lines, stats.orders_import, stats.orders_export,
                stats.malformed_lines);
  if (xml) {
    absl::FPrintF(stderr,
                  "clearlane gen: as CEB XML, %d records a message at most; "
                  "%d line(s) have no XML form and were left out\n",
                  xml_records, left_out);
  }
  return 0;
}

}  // namespace
}  // namespace clearlane

int main(int argc, char** argv) {
  using namespace clearlane;
  CLI::App app{"clearlane: cross-border e-commerce clearance (1210, 9610)"};
  app.require_subcommand(1);

  CheckOptions check;
  CLI::App* check_cmd =
      app.add_subcommand("check", "validate a file of documents");
  check_cmd->add_option("--input", check.inputs, "NDJSON file(s) of documents")
      ->required();
  check_cmd->add_option("--dead-letters", check.dead_letters,
                        "write the dead letters here (contract §6)");
  check_cmd->add_flag("--mask-dead-letters", check.mask_dead_letters,
                      "mask personal data in the dead letters' raw record");

  GeneratorOptions gen;
  std::string gen_out, gen_truth, gen_registry, gen_flow = "mixed",
                                                gen_profile = "flat", gen_day;
  CLI::App* gen_cmd = app.add_subcommand("gen", "generate a day of documents");
  AddGen(*gen_cmd, gen, gen_out, gen_truth, gen_registry, gen_flow, gen_profile,
         gen_day);
  std::string gen_format = "json";
  int64_t gen_xml_records = 1;
  gen_cmd
      ->add_option("--format", gen_format,
                   "json (default) or xml (CEB XML messages; malformed "
                   "lines have no XML form and are left out)")
      ->check(CLI::IsMember({"json", "xml"}));
  gen_cmd
      ->add_option("--xml-records", gen_xml_records,
                   "records a message at most, of one type, consecutive "
                   "(default 1)")
      ->check(CLI::Range(1, 100));

  ConvertOptions convert;
  std::string convert_to = "xml";
  CLI::App* convert_cmd = app.add_subcommand(
      "convert",
      "documents between JSON lines and CEB XML messages, record for "
      "record; receipts from JSON lines to CEB receipt messages");
  convert_cmd->add_option("--input", convert.input, "the file to convert")
      ->required();
  convert_cmd->add_option("--out", convert.output,
                          "where to write (default: standard output)");
  convert_cmd->add_option("--to", convert_to, "xml or json")
      ->required()
      ->check(CLI::IsMember({"json", "xml"}));
  convert_cmd
      ->add_option("--xml-records", convert.xml_records,
                   "records a message at most (default 1)")
      ->check(CLI::Range(1, 100));

  ReplayOptions replay;
  std::string replay_sync = "epoch", replay_log_level = "info";
  CLI::App* replay_cmd = app.add_subcommand(
      "replay", "process files of documents with the embedded engine");
  replay_cmd
      ->add_option("--input", replay.inputs,
                   "NDJSON file(s), processed in the order given")
      ->required();
  replay_cmd
      ->add_option("--out", replay.out_dir,
                   "directory for receipts, summaries and dead letters")
      ->required();
  replay_cmd->add_flag("--keep-open", replay.keep_open,
                       "leave state open for a later replay to continue");
  replay_cmd
      ->add_option("--sync", replay_sync,
                   "epoch: sync the WAL and outputs every epoch; none: never")
      ->check(CLI::IsMember({"epoch", "none"}));
  replay.engine.threads = std::max(1u, std::thread::hardware_concurrency());
  AddEngineFlags(*replay_cmd, replay.engine);
  replay_cmd->add_option(
      "--metrics-address", replay.observe.metrics_address,
      "serve Prometheus metrics, /healthz and /readyz on host:port");
  replay_cmd
      ->add_option("--log-level", replay_log_level,
                   "debug, info, warn or error (the log: JSON lines on "
                   "stderr)")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  replay_cmd
      ->add_option_function<std::string>(
          "--receipts-format",
          [&replay](const std::string& f) {
            replay.engine.receipts_xml = f == "xml";
          },
          "json (default: receipts.ndjson) or xml (official CEB receipt "
          "messages, one a line: receipts.xml)")
      ->check(CLI::IsMember({"json", "xml"}));
  replay_cmd->add_option("--metrics-out", replay.metrics_out,
                         "write the final metrics to this file "
                         "(Prometheus text format)");

  BrokerOptions broker;
  CLI::App* broker_cmd = app.add_subcommand(
      "broker",
      "run librdkafka's mock Kafka cluster until SIGTERM (in memory only)");
  broker_cmd->add_option("--brokers", broker.brokers, "brokers (default 1)")
      ->check(CLI::Range(1, 16));
  broker_cmd
      ->add_option("--port", broker.port,
                   "bootstrap port on 127.0.0.1 (default: the first "
                   "broker's ephemeral port)")
      ->check(CLI::Range(0, 65535));
  broker_cmd->add_option("--bootstrap-file", broker.bootstrap_file,
                         "write the bootstrap address here once up");
  broker_cmd->add_option("--topic", broker.topics,
                         "create a topic, name:partitions (repeatable)");

  std::string run_config;
  CLI::App* run_cmd = app.add_subcommand(
      "run", "Kafka mode: clear the platforms' topics (docs/kafka-mode.md)");
  run_cmd->add_option("--config", run_config, "the configuration file")
      ->required();
  RunConfigOverrides run_sets;
  run_cmd->add_option("--set", run_sets,
                      "key=value: replaces or adds a key of the "
                      "configuration (repeatable; e.g. instance.id per pod)");
  bool run_standby = false;
  run_cmd->add_flag("--standby", run_standby,
                    "follow the changelog into the state (a new one, or a "
                    "standby's) without joining the group, until SIGTERM: "
                    "a warm copy that run then takes over with");
  bool run_check = false;
  run_cmd->add_flag("--check", run_check,
                    "check the configuration, print it as run would take "
                    "it, and exit (0: valid) without connecting");

  LoadtestOptions load;
  CLI::App* load_cmd = app.add_subcommand(
      "loadtest",
      "replay a peak day through the engine or Kafka and write a report "
      "with plots (docs/loadtest.md)");
  load_cmd->add_option("--out", load.out_dir, "the report directory")
      ->required();
  load_cmd->add_option("--input", load.input,
                       "the corpus (default: generate a Double-11 day)");
  load_cmd->add_option("--identity-registry", load.registry,
                       "the corpus's identity registry");
  load_cmd->add_option("--orders", load.orders,
                       "orders of the generated day (default 100000)");
  load_cmd->add_option("--seed", load.seed, "seed of the generated day");
  load_cmd->add_option("--flow", load.flow, "import, export or mixed")
      ->check(CLI::IsMember({"import", "export", "mixed"}));
  load_cmd->add_option("--via", load.via, "engine (default) or kafka")
      ->check(CLI::IsMember({"engine", "kafka"}));
  load_cmd->add_option("--bootstrap", load.bootstrap,
                       "kafka: a cluster (default: an embedded one)");
  load_cmd
      ->add_option("--partitions", load.kafka_partitions,
                   "kafka: partitions of the input topic (default 32)")
      ->check(CLI::Range(1, 1024));
  load_cmd
      ->add_option("--instances", load.instances,
                   "kafka: clearlane run processes sharing the work as one "
                   "consumer group (default 1; more needs --flow import)")
      ->check(CLI::Range(1, 64));
  load_cmd->add_option(
      "--run-option", load.run_options,
      "kafka: a line 'key = value' for the run configuration (repeatable)");
  CLI::Option* rate =
      load_cmd->add_option("--rate", load.rate, "documents per second")
          ->check(CLI::PositiveNumber);
  load_cmd
      ->add_option("--speedup", load.speedup,
                   "replay the corpus's event time this many times "
                   "faster (3600: an hour a second)")
      ->check(CLI::PositiveNumber)
      ->excludes(rate);
  load.threads = std::max(1u, std::thread::hardware_concurrency());
  load_cmd->add_option("--threads", load.threads, "decoding threads (engine)")
      ->check(CLI::Range(1, 256));
  std::string load_sync = "epoch";
  load_cmd->add_option("--sync", load_sync, "epoch or none")
      ->check(CLI::IsMember({"epoch", "none"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*check_cmd) return RunCheck(check, stdout, stderr);
  if (*convert_cmd) {
    convert.to_xml = convert_to == "xml";
    return RunConvert(convert, stderr);
  }
  if (*broker_cmd) return RunBroker(broker, stderr);
  if (*run_cmd) {
    return run_check ? CheckRunConfig(run_config, run_sets, stdout, stderr)
                     : RunKafka(run_config, run_sets, run_standby, stderr);
  }
  if (*load_cmd) {
    load.sync = load_sync == "epoch";
    for (int i = 0; i < argc; ++i) {
      load.command_line += (i ? " " : "") + std::string(argv[i]);
    }
    return RunLoadtest(load, stderr);
  }
  if (*replay_cmd) {
    replay.engine.sync = replay_sync == "epoch";
    replay.observe.log_level = *ParseLogLevel(replay_log_level);
    return RunReplay(replay, stderr);
  }
  if (*gen_cmd) {
    return RunGen(gen, gen_out, gen_truth, gen_registry, gen_flow, gen_profile,
                  gen_day, gen_format, gen_xml_records);
  }
  return 2;
}
