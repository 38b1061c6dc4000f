// Writing a small file whole, and reading a file whole.
//
// Thread-safety: reentrant.

#ifndef CLEARLANE_PIPELINE_FILES_FILE_UTIL_H_
#define CLEARLANE_PIPELINE_FILES_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace clearlane {

// Writes `text` to `path` through a temporary file renamed over it, so a
// reader sees the old file or the whole new one, never a part.
absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& text);

// The bytes of the file at `path`; the error names the path.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_FILES_FILE_UTIL_H_
