// FileSink writes the replay's three output files (contract §8) so that,
// together with the state in RocksDB, each output record lands exactly
// once whatever crashes happen.
//
// Records are appended as they are produced, ahead of the commit of the
// epoch that produced them, and synced before it. On open, a partial last
// line left by a crash is cut off and the complete lines are counted:
// record number n (0-based) of a stream is line n+1 of its file, so the
// driver cuts each file back to the records the state committed (CutTo),
// or republishes from an older state's outbox the records it lacks.
//
// Thread-safety: not thread-safe.

#ifndef CLEARLANE_PIPELINE_FILES_FILE_SINK_H_
#define CLEARLANE_PIPELINE_FILES_FILE_SINK_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/outputs.h"

namespace clearlane {

// "receipts.ndjson" ("receipts.xml" with receipts as XML),
// "summaries.ndjson", "deadletters.ndjson".
std::string_view OutputFileName(OutputStream s, bool receipts_xml = false);

class FileSink {
 public:
  // Opens or creates the three files in `dir` (which must exist).
  static absl::StatusOr<std::unique_ptr<FileSink>> Open(
      const std::string& dir, bool receipts_xml = false);
  ~FileSink();

  // Complete records in the stream's file.
  int64_t records(OutputStream s) const {
    return records_[static_cast<int>(s)];
  }

  // Appends record `seq` of stream `s` (one line, without its newline).
  // A record the file already holds (seq < records(s)) is skipped.
  // REQUIRES: seq <= records(s).
  absl::Status Append(OutputStream s, int64_t seq, std::string_view line);

  // Writes what Append buffered; with `sync`, also fsyncs the files.
  absl::Status Flush(bool sync);
  // Fsyncs the files (what Flush wrote). May run on another thread than
  // Append and Flush, which may go on meanwhile.
  absl::Status Sync();
  // Cuts the stream's file back to its first `records` records.
  // REQUIRES: nothing buffered; records <= this->records(s).
  absl::Status CutTo(OutputStream s, int64_t records);

 private:
  struct File {
    int fd = -1;
    std::string path;
    std::string buffer;
  };
  FileSink() = default;
  std::array<File, kOutputStreamCount> files_;
  std::array<int64_t, kOutputStreamCount> records_{};
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_FILES_FILE_SINK_H_
