// XmlFileReader reads the messages of a replay file of CEB XML (contract
// §11): one complete message after another, each with or without its own
// declaration, the file's UTF-8 BOM skipped. A message ends at its root's
// closing tag (model/xml_message.h XmlMessageEnd); what never ends is one
// last message to the end of the file, which XmlReader then rejects. A
// message longer than kMaxXmlMessageBytes is returned as its head with its
// full size, read past without being held in memory.
//
// Thread-safety: not thread-safe.

#ifndef CLEARLANE_PIPELINE_FILES_XML_FILE_READER_H_
#define CLEARLANE_PIPELINE_FILES_XML_FILE_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pipeline/files/buffered_file.h"

namespace clearlane {

// Whether the file at `path` holds CEB XML: its first byte after a BOM and
// whitespace is '<' (contract §11). NotFound when it cannot be opened.
absl::StatusOr<bool> IsXmlFile(const std::string& path);

class XmlFileReader {
 public:
  struct Message {
    std::string_view text;  // the message, or its head when too large
    size_t size = 0;        // its full length
    int64_t line = 0;       // the 1-based line on which it begins
    uint64_t start = 0;     // its file offset
    uint64_t end = 0;       // the file offset just past it
    int64_t end_line = 0;   // lines before `end`
  };

  // Opens `path` for reading. "-" is standard input.
  static absl::StatusOr<std::unique_ptr<XmlFileReader>> Open(
      const std::string& path);

  // Reads `in` from where it stands (a message's start or end), with
  // `lines_before` lines before.
  static std::unique_ptr<XmlFileReader> Over(BufferedFile in,
                                             int64_t lines_before);

  // The next message, valid until the next call. False at the end of the
  // file or on a read error; status() tells which.
  bool Next(Message* message);
  const absl::Status& status() const { return in_.status(); }

 private:
  explicit XmlFileReader(BufferedFile in) : in_(std::move(in)) {}
  // Consumes `n` unread bytes, counting their lines.
  void Consume(size_t n);
  // Reads past the rest of an over-long message whose root is `name`,
  // keeping nothing; returns the bytes read past.
  size_t SkipRest(std::string_view name);

  BufferedFile in_;
  int64_t line_ = 0;  // lines before the first unread byte
  std::string head_;  // the head of an over-long message
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_FILES_XML_FILE_READER_H_
