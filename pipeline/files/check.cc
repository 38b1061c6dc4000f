#include "pipeline/files/check.h"

#include <array>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "model/decode.h"
#include "model/encode.h"
#include "model/xml_message.h"
#include "pipeline/files/file_util.h"
#include "pipeline/files/ndjson_reader.h"
#include "pipeline/files/xml_file_reader.h"

namespace clearlane {

namespace {

// What check counts and writes, for JSON and XML inputs alike.
struct Tally {
  const CheckOptions& options;
  std::FILE* out;
  std::FILE* dead;
  std::array<int64_t, kDocTypeCount> per_type{};
  std::array<int64_t, kDeadLetterCodeCount> per_code{};
  int64_t records = 0, incomplete = 0;
  std::string encoded;

  // A record that is a dead letter.
  void Dead(const FileSource& source, const DecodeOutcome& outcome,
            std::string_view raw) {
    ++per_code[static_cast<int>(outcome.code())];
    if (source.record > 0) {
      absl::FPrintF(out, "%s:%d: record %d: %s: %s\n", source.file, source.line,
                    source.record, DeadLetterCodeName(outcome.code()),
                    outcome.detail());
    } else {
      absl::FPrintF(out, "%s:%d: %s: %s\n", source.file, source.line,
                    DeadLetterCodeName(outcome.code()), outcome.detail());
    }
    if (!dead) return;
    encoded.clear();
    EncodeDeadLetter(
        {source, outcome.code(), outcome.detail(), std::string(raw)}, &encoded,
        options.mask_dead_letters);
    encoded.push_back('\n');
    std::fwrite(encoded.data(), 1, encoded.size(), dead);
  }

  // A record that decoded.
  void Accepted(const FileSource& source, const Document& doc) {
    ++per_type[static_cast<int>(TypeOf(doc))];
    std::vector<std::string> missing = MissingRequiredFields(doc);
    if (missing.empty()) return;
    ++incomplete;
    absl::FPrintF(out,
                  "%s:%d:%s warning: %s lacks required %s (its list would "
                  "be rejected FIELD_INVALID)\n",
                  source.file, source.line,
                  source.record > 0
                      ? absl::StrFormat(" record %d:", source.record)
                      : std::string(),
                  DocTypeName(TypeOf(doc)), absl::StrJoin(missing, ", "));
  }
};

// The messages of an XML file, each record judged as JSON would be.
absl::Status CheckXml(const std::string& input, Tally& tally) {
  auto content = ReadFile(input);
  if (!content.ok()) return content.status();
  XmlReader reader;
  XmlMessage message;
  Decoder decoder;
  Document doc;
  for (const XmlMessageText& m : SplitXmlMessages(*content)) {
    const DecodeOutcome read = reader.Read(m.text, &message);
    if (!read.ok()) {
      ++tally.records;
      tally.Dead(FileSource{input, m.line}, read, m.text);
      continue;
    }
    for (size_t i = 0; i < message.records.size(); ++i) {
      ++tally.records;
      const FileSource source{input, m.line, static_cast<int64_t>(i + 1)};
      const DecodeOutcome outcome =
          decoder.DecodeFields(message.type, message.records[i].fields, &doc);
      if (!outcome.ok()) {
        tally.Dead(source, outcome, message.records[i].raw);
      } else {
        tally.Accepted(source, doc);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

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
  Tally tally{options, out, dead};
  Decoder decoder;
  Document doc;
  for (const std::string& input : options.inputs) {
    auto xml = IsXmlFile(input);
    if (xml.ok() && *xml) {
      if (absl::Status st = CheckXml(input, tally); !st.ok()) {
        absl::FPrintF(err, "clearlane check: %s\n", st.message());
        if (dead) std::fclose(dead);
        return 2;
      }
      continue;
    }
    auto reader = NdjsonReader::Open(input);
    if (!reader.ok()) {
      absl::FPrintF(err, "clearlane check: %s\n", reader.status().message());
      if (dead) std::fclose(dead);
      return 2;
    }
    NdjsonReader::Record record;
    while ((*reader)->Next(&record)) {
      ++tally.records;
      const FileSource source{input, record.line};
      DecodeOutcome outcome = decoder.Decode(record.bytes, record.size, &doc);
      if (!outcome.ok()) {
        tally.Dead(source, outcome, record.bytes);
      } else {
        tally.Accepted(source, doc);
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
  const auto& per_type = tally.per_type;
  const auto& per_code = tally.per_code;
  const int64_t records = tally.records, incomplete = tally.incomplete;
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
