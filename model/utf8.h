// UTF-8 checks and the dead-letter output's repair of bad bytes.
//
// Thread-safety: pure functions.

#ifndef CLEARLANE_MODEL_UTF8_H_
#define CLEARLANE_MODEL_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace clearlane {

// True when `bytes` is well-formed UTF-8 (no overlongs, surrogates or code
// points past U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

// `bytes` with each maximal ill-formed subsequence (Unicode's "maximal
// subpart", chapter 3) replaced by one U+FFFD, then cut to at most
// `max_bytes` bytes without splitting a character (contract §6 `raw`).
std::string RepairUtf8(std::string_view bytes, size_t max_bytes);

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_UTF8_H_
