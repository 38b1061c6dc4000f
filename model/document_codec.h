// The compact binary form in which state keeps documents (not JSON), with
// every personal field (personal_data.h) replaced by a keyed hash: state
// only ever compares those fields for equality, so it never needs them in
// clear (contract §7).
//
// Thread-safety: functions of their arguments.

#ifndef CLEARLANE_MODEL_DOCUMENT_CODEC_H_
#define CLEARLANE_MODEL_DOCUMENT_CODEC_H_

#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "model/document.h"

namespace clearlane {

// Maps a personal field's value to what state keeps of it.
using PersonalHash = absl::FunctionRef<std::string(std::string_view value)>;

std::string EncodeDocument(const Document& doc, PersonalHash hash);

// Decodes what EncodeDocument wrote. Text fields are views into `bytes`,
// which must outlive `doc`.
absl::Status DecodeDocument(std::string_view bytes, Document* doc);

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_DOCUMENT_CODEC_H_
