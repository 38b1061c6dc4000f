// JSON encodings of clearlane's outputs: one object per line, UTF-8, fields
// in the contract's table order, control characters escaped. Each function
// appends one object (without a newline) to *out.
//
// Thread-safety: pure functions.

#ifndef CLEARLANE_MODEL_ENCODE_H_
#define CLEARLANE_MODEL_ENCODE_H_

#include <string>

#include "model/dead_letter.h"
#include "model/outputs.h"

namespace clearlane {

void EncodeReceipt(const Receipt& r, std::string* out);
void EncodeSummaryForm(const SummaryForm& f, std::string* out);
// `raw` is repaired and cut to kMaxRawBytes here; with
// `mask_personal_data`, its personal values are masked first
// (MaskPersonalData, contract §7).
void EncodeDeadLetter(const DeadLetter& d, std::string* out,
                      bool mask_personal_data = false);

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_ENCODE_H_
