// GB 11643-1999 citizen identity numbers (18 characters): the check behind
// the ID_INVALID reason (contract §5, domain.md "Identity number").
//
// Thread-safety: pure functions.

#ifndef CLEARLANE_MODEL_IDENTITY_NUMBER_H_
#define CLEARLANE_MODEL_IDENTITY_NUMBER_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"

namespace clearlane {

// OK when `number` is 17 digits and a check character (uppercase 'X' only),
// with a province code of GB/T 2260, a birth date that exists and is not
// after `as_of`, and the right check character. The error message says which
// part failed and never contains the number.
absl::Status ValidateIdentityNumber(std::string_view number,
                                    absl::CivilDay as_of);

// The check character of the first 17 digits. REQUIRES: 17 ASCII digits.
char IdentityCheckCharacter(std::string_view first17);

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_IDENTITY_NUMBER_H_
