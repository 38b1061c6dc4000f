// Decoder turns one input record (a Kafka message value or an NDJSON line)
// into a Document, or says why it is a dead letter (contract §1, §6, §10).
//
// Whatever the bytes, Decode never crashes, never reads out of bounds and
// always gives one of the two answers: the record is never lost.
//
// Thread-safety: not thread-safe; use one Decoder per thread. It owns the
// simdjson parser and the buffers it reuses from record to record.

#ifndef CLEARLANE_MODEL_DECODE_H_
#define CLEARLANE_MODEL_DECODE_H_

#include <simdjson.h>

#include <array>
#include <span>
#include <string>
#include <string_view>

#include "model/dead_letter.h"
#include "model/document.h"

namespace clearlane {

// JSON's whitespace (contract §10): space, tab, CR, LF.
inline bool IsJsonSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Records longer than this (not counting the newline) are TOO_LARGE.
inline constexpr size_t kMaxRecordBytes = 1048576;
// Arrays and objects nested deeper than this are MALFORMED_JSON (§10).
inline constexpr int kMaxJsonDepth = 64;

// Per document type, the field index last seen at each key position (see
// decode.cc KeyTable::Find).
using KeyHints = std::array<int16_t, 96>;
inline constexpr int16_t kNoHint = -99;

class DecodeOutcome {
 public:
  static DecodeOutcome Accepted() { return DecodeOutcome(); }
  static DecodeOutcome Rejected(DeadLetterCode code, std::string detail) {
    return DecodeOutcome(code, std::move(detail));
  }
  bool ok() const { return ok_; }
  // REQUIRES: !ok().
  DeadLetterCode code() const { return code_; }
  const std::string& detail() const { return detail_; }

 private:
  DecodeOutcome() = default;
  DecodeOutcome(DeadLetterCode code, std::string detail)
      : ok_(false), code_(code), detail_(std::move(detail)) {}
  bool ok_ = true;
  DeadLetterCode code_ = DeadLetterCode::kMalformedJson;
  std::string detail_;
};

// One field of a document given as text by a reader of a format other
// than JSON (CEB XML, contract §11): a field and its text (never empty:
// an empty element is absent), a field that held elements instead of text
// (judged as a JSON object in its place), or the start of the next line of
// `items`, whose fields follow it.
struct TextField {
  enum Kind : uint8_t { kText, kElements, kLine };
  std::string_view name;
  std::string_view text;
  Kind kind = kText;
};

class Decoder {
 public:
  Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes `record` (without its newline). On acceptance *doc holds the
  // document; its storage is reused when it already held the same type. On
  // rejection *doc is unspecified. `record_size` is the record's full length
  // when the caller passes only a prefix of an over-long record.
  DecodeOutcome Decode(std::string_view record, Document* doc);
  DecodeOutcome Decode(std::string_view record, size_t record_size,
                       Document* doc);

  // Decodes a document of `type` given field by field: the head's fields,
  // then each line (kLine) followed by its fields. Judged exactly as the
  // JSON object {"docType": type, name: text, ..., "items": [{...}, ...]}
  // would be: the same field checks, the same dead-letter precedence. The
  // document's views point into the fields' texts.
  DecodeOutcome DecodeFields(DocType type, std::span<const TextField> fields,
                             Document* doc);

 private:
  DecodeOutcome DecodeJson(std::string_view record, Document* doc);

  simdjson::ondemand::parser parser_;
  // One document of each type, holding its buffers while another type is
  // decoded (spare_[i] holds type i).
  std::array<Document, kDocTypeCount> spare_;
  std::array<KeyHints, 2 * kDocTypeCount> hints_;
  std::string buffer_;  // the record followed by simdjson's padding
};

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_DECODE_H_
