// libFuzzer target: whatever the bytes, decoding gives a document or a dead
// letter, never a crash, a hang or an out-of-bounds read; a document's
// state form reads back and writes the same bytes again (decimals of any
// width included); and a dead letter always encodes as valid UTF-8 within
// the raw limit, masked or not.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "model/decode.h"
#include "model/document_codec.h"
#include "model/encode.h"
#include "model/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static clearlane::Decoder* decoder = new clearlane::Decoder();
  static clearlane::Document* doc = new clearlane::Document();
  const std::string_view record(reinterpret_cast<const char*>(data), size);
  clearlane::DecodeOutcome outcome = decoder->Decode(record, doc);
  if (outcome.ok()) {
    (void)clearlane::MissingRequiredFields(*doc);
    const auto same = [](std::string_view v) { return std::string(v); };
    const std::string stored = clearlane::EncodeDocument(*doc, same);
    clearlane::Document back;
    if (!clearlane::DecodeDocument(stored, &back).ok()) std::abort();
    if (clearlane::EncodeDocument(back, same) != stored) std::abort();
    return 0;
  }
  if (outcome.detail().empty()) std::abort();
  for (bool mask : {false, true}) {
    std::string encoded;
    clearlane::EncodeDeadLetter(
        {clearlane::FileSource{"fuzz", 1}, outcome.code(), outcome.detail(),
         std::string(record)},
        &encoded, mask);
    if (!clearlane::IsValidUtf8(encoded)) std::abort();
  }
  return 0;
}
