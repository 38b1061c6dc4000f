#include "pipeline/observe/log.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>

#include <mutex>

#include "absl/strings/str_format.h"

namespace clearlane {
namespace {

// A sink onto a FILE* the caller owns (stderr, or a test's file). The
// mutex type is spdlog's template parameter: lines from several threads
// do not interleave.
class FileSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit FileSink(std::FILE* out) : out_(out) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    std::fwrite(line.data(), 1, line.size(), out_);
  }
  void flush_() override { std::fflush(out_); }

 private:
  std::FILE* out_;
};

// %* in the pattern: the message as the inside of a JSON string, escaped
// by RapidJSON's writer (its quotes left out: the pattern has them).
class JsonMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
    writer.String(msg.payload.data(),
                  static_cast<rapidjson::SizeType>(msg.payload.size()));
    const std::string_view quoted(buf.GetString(), buf.GetSize());
    const std::string_view inside = quoted.substr(1, quoted.size() - 2);
    dest.append(inside.data(), inside.data() + inside.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessage>();
  }
};

}  // namespace

Logger MakeJsonLogger(const std::string& name, std::FILE* out,
                      spdlog::level::level_enum level) {
  auto sink = std::make_shared<FileSink>(out);
  auto formatter = std::make_unique<spdlog::pattern_formatter>(
      spdlog::pattern_time_type::utc, std::string("\n"));
  formatter->add_flag<JsonMessage>('*').set_pattern(
      R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","msg":"%*"})");
  sink->set_formatter(std::move(formatter));
  auto logger = std::make_shared<spdlog::logger>(name, std::move(sink));
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  return logger;
}

absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(std::string_view s) {
  if (s == "debug") return spdlog::level::debug;
  if (s == "info") return spdlog::level::info;
  if (s == "warn") return spdlog::level::warn;
  if (s == "error") return spdlog::level::err;
  return absl::InvalidArgumentError(
      absl::StrFormat("log level %s: expected debug, info, warn or error", s));
}

}  // namespace clearlane
