// libFuzzer target for the CEB XML reader: whatever the bytes, a message
// gives its records or one dead letter, never a crash, a hang or an
// out-of-bounds read; every record is judged from its fields exactly as
// its JSON form is judged (the same outcome, the same detail), that JSON
// is never rejected as JSON, and its raw text lies inside the message.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "model/decode.h"
#include "model/xml_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static clearlane::XmlReader* reader = new clearlane::XmlReader();
  static clearlane::Decoder* decoder = new clearlane::Decoder();
  static clearlane::Document* doc = new clearlane::Document();
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  clearlane::XmlMessage out;
  const clearlane::DecodeOutcome read = reader->Read(message, &out);
  if (!read.ok()) {
    if (read.detail().empty() || !out.records.empty()) std::abort();
    return 0;
  }
  if (out.records.empty()) std::abort();
  for (const clearlane::XmlRecord& r : out.records) {
    if (!r.raw.empty() &&
        (r.raw.data() < message.data() ||
         r.raw.data() + r.raw.size() > message.data() + message.size())) {
      std::abort();
    }
    const clearlane::DecodeOutcome fields =
        decoder->DecodeFields(out.type, r.fields, doc);
    const clearlane::DecodeOutcome d =
        decoder->Decode(clearlane::XmlRecordJson(out.type, r.fields), doc);
    if (!d.ok() && (d.code() == clearlane::DeadLetterCode::kMalformedJson ||
                    d.code() == clearlane::DeadLetterCode::kNotUtf8)) {
      std::abort();
    }
    if (fields.ok() != d.ok() || (!d.ok() && (fields.code() != d.code() ||
                                              fields.detail() != d.detail()))) {
      std::abort();
    }
  }
  return 0;
}
