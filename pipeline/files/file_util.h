// Writing a small file whole.
//
// Thread-safety: reentrant.

#ifndef CLEARLANE_PIPELINE_FILES_FILE_UTIL_H_
#define CLEARLANE_PIPELINE_FILES_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"

namespace clearlane {

// Writes `text` to `path` through a temporary file renamed over it, so a
// reader sees the old file or the whole new one, never a part.
absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& text);

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_FILES_FILE_UTIL_H_
