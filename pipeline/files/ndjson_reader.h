// NdjsonReader reads the records of a replay file (contract §1): lines split
// on '\n', one trailing CR removed, empty or whitespace-only lines skipped
// (but counted, so line numbers are physical lines). A record longer than
// kMaxRecordBytes is returned as a prefix with its full size, so the caller
// can make it a TOO_LARGE dead letter without holding it in memory.
//
// Thread-safety: not thread-safe.

#ifndef CLEARLANE_PIPELINE_FILES_NDJSON_READER_H_
#define CLEARLANE_PIPELINE_FILES_NDJSON_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pipeline/files/buffered_file.h"

namespace clearlane {

class NdjsonReader {
 public:
  struct Record {
    int64_t line = 0;         // 1-based physical line
    std::string_view bytes;   // the record, or its first bytes when too large
    size_t size = 0;          // the record's full length
    uint64_t end_offset = 0;  // file offset just past this line's newline
  };

  // Opens `path` for reading. "-" is standard input.
  static absl::StatusOr<std::unique_ptr<NdjsonReader>> Open(
      const std::string& path);
  // Reads `in` from where it stands, with `lines_before` lines before.
  static std::unique_ptr<NdjsonReader> Over(BufferedFile in,
                                            int64_t lines_before);
  ~NdjsonReader();

  // The next record, valid until the next call. False at the end of the file
  // or on a read error; status() tells which.
  bool Next(Record* record);
  const absl::Status& status() const { return in_.status(); }

  // Continues from a position a previous reader reported (Record::end_offset
  // and Record::line of the last record it returned).
  absl::Status Seek(uint64_t offset, int64_t line);

 private:
  explicit NdjsonReader(BufferedFile in);

  BufferedFile in_;
  int64_t line_ = 0;
  std::string long_prefix_;  // the head of an over-long record
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_FILES_NDJSON_READER_H_
