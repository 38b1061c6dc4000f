// A process's resource figures from Linux's /proc.
//
// Thread-safety: reentrant (each call reads /proc afresh).

#ifndef CLEARLANE_PIPELINE_OBSERVE_PROC_H_
#define CLEARLANE_PIPELINE_OBSERVE_PROC_H_

#include <sys/types.h>

#include <optional>

namespace clearlane {

struct ProcessSample {
  double cpu_seconds = 0;  // user + system
  double resident_bytes = 0;
  double virtual_bytes = 0;
};

// `pid` 0: this process. Nullopt when the process is gone.
std::optional<ProcessSample> ReadProcess(pid_t pid = 0);

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_OBSERVE_PROC_H_
