#include "pipeline/observe/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>

#include <mutex>

#include "absl/strings/str_format.h"

namespace clearlane {
namespace {

// A sink onto a FILE* the caller owns (stderr, or a test's file).
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

// %* in the pattern: the message as the inside of a JSON string.
class JsonMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string escaped;
    AppendJsonEscaped(std::string_view(msg.payload.data(), msg.payload.size()),
                      &escaped);
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessage>();
  }
};

}  // namespace

void AppendJsonEscaped(std::string_view s, std::string* out) {
  for (const char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out->append(absl::StrFormat("\\u%04x", c));
        } else {
          out->push_back(c);
        }
    }
  }
}

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
