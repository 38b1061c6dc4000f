#include "pipeline/observe/proc.h"

#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"

namespace clearlane {

std::optional<ProcessSample> ReadProcess(pid_t pid) {
  std::ifstream stat(pid == 0 ? std::string("/proc/self/stat")
                              : absl::StrFormat("/proc/%d/stat", pid));
  if (!stat) return std::nullopt;
  const std::string text((std::istreambuf_iterator<char>(stat)),
                         std::istreambuf_iterator<char>());
  // The fields after the command name, which is in parentheses and may
  // hold spaces: utime and stime are fields 14 and 15, vsize 23, rss 24.
  const size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 > text.size()) {
    return std::nullopt;
  }
  std::istringstream in(text.substr(close + 2));
  std::vector<std::string> f;
  for (std::string s; in >> s;) f.push_back(s);
  if (f.size() < 22) return std::nullopt;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  ProcessSample p;
  p.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
  p.virtual_bytes = std::stod(f[20]);
  p.resident_bytes =
      std::stod(f[21]) * static_cast<double>(sysconf(_SC_PAGESIZE));
  return p;
}

}  // namespace clearlane
