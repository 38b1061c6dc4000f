// Dead letters (contract §6): every input that cannot be attributed to a
// list, with its source, the reason code and a detail naming the field.
//
// Thread-safety: value types and pure functions.

#ifndef CLEARLANE_MODEL_DEAD_LETTER_H_
#define CLEARLANE_MODEL_DEAD_LETTER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace clearlane {

// In the order of precedence of contract §10 "Which dead letter".
enum class DeadLetterCode : uint8_t {
  kTooLarge,
  kNotUtf8,
  kMalformedJson,
  kUnknownDocType,
  kInvalidField,
  kMissingKey,
  kListAlreadyDecided,
  // Last, so that the numbers stored for the others stay as they were.
  kMalformedXml,  // a CEB XML message that is not well-formed (§11)
};
inline constexpr int kDeadLetterCodeCount = 8;

std::string_view DeadLetterCodeName(DeadLetterCode code);

// A record's place in a replay: the file name as given on the command line
// and the 1-based physical line.
// A record of a CEB XML message adds its 1-based place in the message
// (contract §11), the line being the message's first; 0 for JSON records
// and whole messages.
struct FileSource {
  std::string file;
  int64_t line = 0;
  int64_t record = 0;
};
// A record's place in Kafka (and in the message a value holds).
struct TopicSource {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t record = 0;
};

struct DeadLetter {
  std::variant<FileSource, TopicSource> source;
  DeadLetterCode reason = DeadLetterCode::kMalformedJson;
  std::string detail;
  // The record as received; the encoder repairs and cuts it (contract §6).
  std::string raw;
};

// The bytes of `raw` kept in a dead letter: at most 4096, after repair.
inline constexpr size_t kMaxRawBytes = 4096;

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_DEAD_LETTER_H_
