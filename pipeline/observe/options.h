// ObserveOptions: how a running clearlane is watched, whatever drives it:
// where its Prometheus metrics and health endpoints are served, and its
// log's threshold. Replay's flags and run's configuration file fill it.
//
// Thread-safety: a value type.

#ifndef CLEARLANE_PIPELINE_OBSERVE_OPTIONS_H_
#define CLEARLANE_PIPELINE_OBSERVE_OPTIONS_H_

#include <spdlog/spdlog.h>

#include <string>

namespace clearlane {

struct ObserveOptions {
  // Prometheus metrics, /healthz and /readyz served here ("host:port");
  // empty: none.
  std::string metrics_address;
  // The log's threshold. The log is JSON lines on the error stream
  // (observe/log.h).
  spdlog::level::level_enum log_level = spdlog::level::info;
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_OBSERVE_OPTIONS_H_
