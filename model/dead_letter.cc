#include "model/dead_letter.h"

#include <array>

namespace clearlane {

std::string_view DeadLetterCodeName(DeadLetterCode code) {
  static constexpr std::array<std::string_view, kDeadLetterCodeCount> kNames = {
      "TOO_LARGE",
      "NOT_UTF8",
      "MALFORMED_JSON",
      "UNKNOWN_DOC_TYPE",
      "INVALID_FIELD",
      "MISSING_KEY",
      "LIST_ALREADY_DECIDED",
      "MALFORMED_XML"};
  return kNames[static_cast<int>(code)];
}

}  // namespace clearlane
