// libFuzzer target: whatever the bytes, decoding gives a document or a dead
// letter, never a crash, a hang or an out-of-bounds read; a document's
// state form reads back and writes the same bytes again (decimals of any
// width included); and a dead letter always encodes as valid UTF-8 within
// the raw limit, masked or not. The same bytes as a record of the
// exchange between stages A and B (operators/allowance.h, which crosses
// the exchange's topics) are refused or give a record that writes and
// reads back as itself, and so does the writer's stamp in front of one
// (pipeline/engine/writer_stamp.h).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "model/decode.h"
#include "model/document_codec.h"
#include "model/encode.h"
#include "model/utf8.h"
#include "operators/allowance.h"
#include "operators/summary.h"
#include "pipeline/engine/writer_stamp.h"
#include "state/changelog.h"

namespace {

// A record that decodes writes bytes that decode to it again.
template <typename Encode, typename Decode>
void ExpectReadsBack(std::string_view bytes, Encode encode, Decode decode) {
  auto first = decode(bytes);
  if (!first.ok()) return;
  auto again = decode(encode(*first));
  if (!again.ok() || !(*again == *first)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static clearlane::Decoder* decoder = new clearlane::Decoder();
  static clearlane::Document* doc = new clearlane::Document();
  const std::string_view record(reinterpret_cast<const char*>(data), size);
  // As they come, and after the first byte of each of today's records (so
  // that the corpus, JSON lines, reaches past it).
  const std::string request = "\x11" + std::string(record);
  const std::string give_back = "\x21" + std::string(record);
  const std::string answer = "\x31" + std::string(record);
  const std::string closed = "\x51" + std::string(record);
  const std::string mark = "\x61" + std::string(record);
  const std::string stamped = "\x41" + std::string(record);
  std::string_view unstamped = stamped;
  if (const auto stamp = clearlane::Unstamp(&unstamped); stamp.ok()) {
    const std::string again = clearlane::Stamped(*stamp, unstamped);
    std::string_view rest = again;
    const auto back = clearlane::Unstamp(&rest);
    if (!back.ok() || *back != *stamp || rest != unstamped) std::abort();
  }
  for (std::string_view bytes :
       {record, std::string_view(request), std::string_view(give_back),
        std::string_view(answer), std::string_view(closed),
        std::string_view(mark), unstamped}) {
    ExpectReadsBack(bytes, clearlane::EncodeAllowanceRequest,
                    clearlane::DecodeAllowanceRequest);
    ExpectReadsBack(bytes, clearlane::EncodeAllowanceAnswer,
                    clearlane::DecodeAllowanceAnswer);
    ExpectReadsBack(bytes, clearlane::EncodeGiveBack,
                    clearlane::DecodeGiveBack);
    ExpectReadsBack(bytes, clearlane::EncodeClosedListRecord,
                    clearlane::DecodeClosedListRecord);
    ExpectReadsBack(bytes, clearlane::EncodeWatermarkMark,
                    clearlane::DecodeWatermarkMark);
  }
  // A state's changelog checkpoint (version byte 1) that reads writes
  // bytes that read to the same.
  const std::string checkpoint = "\x01" + std::string(record);
  if (auto c = clearlane::DecodeChangelogCheckpoint(checkpoint); c.ok()) {
    const std::string bytes = clearlane::EncodeChangelogCheckpoint(*c);
    auto again = clearlane::DecodeChangelogCheckpoint(bytes);
    if (!again.ok() || clearlane::EncodeChangelogCheckpoint(*again) != bytes) {
      std::abort();
    }
  }
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
