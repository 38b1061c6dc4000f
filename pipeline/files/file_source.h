// FileRecordSource: replay's input as the driver loop's RecordSource (and
// the engine load test's): the records of a list of files, each NDJSON or
// CEB XML (told by its first byte, contract §11), in file order then line
// (and record) order, read and decoded ahead on threads of their own
// (engine/decoder.h DecodeAhead). Its position, kept in the run record,
// is the inputs, the file reached, and the byte offset and line in it
// (and the records of the XML message there already processed), so
// that a restart continues after the last record committed.
//
// Thread-safety: one thread, the driver's.

#ifndef CLEARLANE_PIPELINE_FILES_FILE_SOURCE_H_
#define CLEARLANE_PIPELINE_FILES_FILE_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pipeline/engine/decoder.h"
#include "pipeline/engine/record_source.h"

namespace clearlane {

// Where a replay stands: its inputs and the next record to read.
struct FilePosition {
  std::vector<std::string> inputs;
  int64_t file = 0;     // input index
  uint64_t offset = 0;  // byte offset in it
  int64_t line = 0;     // lines before it
  // Records of the XML message at `offset` already processed (a commit
  // may fall inside a message).
  int64_t record = 0;
};
std::string EncodeFilePosition(const FilePosition& p);
absl::StatusOr<FilePosition> DecodeFilePosition(std::string_view bytes);

class FileRecordSource : public RecordSource {
 public:
  // Reads `start.inputs` from `start` on, decoding on `threads` threads
  // (at least one), each record's state form prepared under `secret`.
  FileRecordSource(FilePosition start, int threads, std::string secret);
  ~FileRecordSource() override;

  absl::Span<DecodedRecord> Next() override;
  bool ended() const override { return ended_; }
  absl::Status status() const override { return status_; }
  void Processed(const DecodedRecord& record) override {
    const RecordOrigin& o = record.origin;
    if (o.last) {
      position_.offset = o.end;
      position_.line = o.end_line;
      position_.record = 0;
    } else {  // inside an XML message: it is read again, these left out
      position_.offset = o.start;
      position_.line = o.offset - 1;
      position_.record = o.record;
    }
  }
  std::string Position() const override {
    return EncodeFilePosition(position_);
  }
  std::variant<FileSource, TopicSource> SourceOf(
      const RecordOrigin& origin) const override {
    return FileSource{position_.inputs[origin.input], origin.offset,
                      origin.record};
  }
  std::string_view InputName(int32_t input) const override {
    return position_.inputs[input];
  }
  const FilePosition& position() const { return position_; }

 private:
  FilePosition position_;
  const int threads_;
  const std::string secret_;
  std::unique_ptr<DecodeAhead> ahead_;  // of position_.file
  bool ended_ = false;
  absl::Status status_;
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_FILES_FILE_SOURCE_H_
