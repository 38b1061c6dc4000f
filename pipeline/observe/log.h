// clearlane's log: one JSON object per line, with levels (spdlog).
//
//   {"time":"2026-11-26T01:33:00.123Z","level":"info","logger":"run",
//    "msg":"assigned 4 partition(s)"}
//
// Messages name topics, partitions, offsets, paths, counts and reason
// codes, never a document's content: no personal data is ever logged
// (contract §7).
//
// Thread-safety: a logger may be used from any thread; its lines never
// interleave.

#ifndef CLEARLANE_PIPELINE_OBSERVE_LOG_H_
#define CLEARLANE_PIPELINE_OBSERVE_LOG_H_

#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace clearlane {

using Logger = std::shared_ptr<spdlog::logger>;

// A logger named `name` writing JSON lines to `out` (not owned), flushed
// at every line, at `level` and above.
Logger MakeJsonLogger(const std::string& name, std::FILE* out,
                      spdlog::level::level_enum level = spdlog::level::info);

// "debug", "info", "warn" or "error".
absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(std::string_view s);

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_OBSERVE_LOG_H_
