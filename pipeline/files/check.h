// `clearlane check`: the validator a platform engineer runs on a file of
// documents before sending it. Counts documents per docType, reports every
// line that would be a dead letter (line, code, field path) and every
// document that lacks a field Appendix A requires (its list would be
// rejected FIELD_INVALID). Never prints personal data.
//
// Thread-safety: RunCheck runs on the calling thread.

#ifndef CLEARLANE_PIPELINE_FILES_CHECK_H_
#define CLEARLANE_PIPELINE_FILES_CHECK_H_

#include <cstdio>
#include <string>
#include <vector>

namespace clearlane {

struct CheckOptions {
  std::vector<std::string> inputs;
  std::string dead_letters;  // when set, dead letters are written there
  // Mask personal data in the dead letters' raw record (contract §7).
  bool mask_dead_letters = false;
};

// Returns the process exit status: 0 when every record decodes, 1 when some
// would be dead letters, 2 on an operational failure (message on `err`).
int RunCheck(const CheckOptions& options, std::FILE* out, std::FILE* err);

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_FILES_CHECK_H_
