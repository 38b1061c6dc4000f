#include "pipeline/files/check.h"

#include <array>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "model/decode.h"
#include "model/encode.h"
#include "pipeline/files/ndjson_reader.h"

namespace clearlane {

int RunCheck(const CheckOptions& options, std::FILE* out, std::FILE* err) {
  std::FILE* dead = nullptr;
  if (!options.dead_letters.empty()) {
    dead = std::fopen(options.dead_letters.c_str(), "w");
    if (!dead) {
      absl::FPrintF(err, "clearlane check: cannot write %s: %s\n",
                    options.dead_letters, strerror(errno));
      return 2;
    }
  }
  Decoder decoder;
  Document doc;
  std::array<int64_t, kDocTypeCount> per_type{};
  std::array<int64_t, kDeadLetterCodeCount> per_code{};
  int64_t records = 0, incomplete = 0;
  std::string encoded;
  for (const std::string& input : options.inputs) {
    auto reader = NdjsonReader::Open(input);
    if (!reader.ok()) {
      absl::FPrintF(err, "clearlane check: %s\n", reader.status().message());
      if (dead) std::fclose(dead);
      return 2;
    }
    NdjsonReader::Record record;
    while ((*reader)->Next(&record)) {
      ++records;
      DecodeOutcome outcome = decoder.Decode(record.bytes, record.size, &doc);
      if (!outcome.ok()) {
        ++per_code[static_cast<int>(outcome.code())];
        absl::FPrintF(out, "%s:%d: %s: %s\n", input, record.line,
                      DeadLetterCodeName(outcome.code()), outcome.detail());
        if (dead) {
          encoded.clear();
          EncodeDeadLetter({FileSource{input, record.line}, outcome.code(),
                            outcome.detail(), std::string(record.bytes)},
                           &encoded, options.mask_dead_letters);
          encoded.push_back('\n');
          std::fwrite(encoded.data(), 1, encoded.size(), dead);
        }
        continue;
      }
      ++per_type[static_cast<int>(TypeOf(doc))];
      std::vector<std::string> missing = MissingRequiredFields(doc);
      if (!missing.empty()) {
        ++incomplete;
        absl::FPrintF(out,
                      "%s:%d: warning: %s lacks required %s (its list would "
                      "be rejected FIELD_INVALID)\n",
                      input, record.line, DocTypeName(TypeOf(doc)),
                      absl::StrJoin(missing, ", "));
      }
    }
    if (!(*reader)->status().ok()) {
      absl::FPrintF(err, "clearlane check: %s\n",
                    (*reader)->status().message());
      if (dead) std::fclose(dead);
      return 2;
    }
  }
  if (dead && std::fclose(dead) != 0) {
    absl::FPrintF(err, "clearlane check: writing %s: %s\n",
                  options.dead_letters, strerror(errno));
    return 2;
  }
  int64_t dead_total = 0;
  for (int64_t n : per_code) dead_total += n;
  absl::FPrintF(out, "\n%d records: %d documents, %d dead letters\n", records,
                records - dead_total, dead_total);
  for (int i = 0; i < kDocTypeCount; ++i) {
    if (per_type[i]) {
      absl::FPrintF(out, "  %-22s %d\n", DocTypeName(static_cast<DocType>(i)),
                    per_type[i]);
    }
  }
  for (int i = 0; i < kDeadLetterCodeCount; ++i) {
    if (per_code[i]) {
      absl::FPrintF(out, "  %-22s %d\n",
                    DeadLetterCodeName(static_cast<DeadLetterCode>(i)),
                    per_code[i]);
    }
  }
  if (incomplete) {
    absl::FPrintF(out, "  %-22s %d\n", "lacking required fields", incomplete);
  }
  return dead_total == 0 ? 0 : 1;
}

}  // namespace clearlane
