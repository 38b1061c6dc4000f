#include "pipeline/files/ndjson_reader.h"

#include "model/decode.h"

namespace clearlane {
namespace {

// Bytes kept of an over-long record: enough for the dead letter's raw
// (kMaxRawBytes) plus the rest of a character cut at its end.
constexpr size_t kLongPrefixBytes = 8192;

bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (!IsJsonSpace(c)) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<NdjsonReader>> NdjsonReader::Open(
    const std::string& path) {
  absl::StatusOr<BufferedFile> in = BufferedFile::Open(path);
  if (!in.ok()) return in.status();
  return std::unique_ptr<NdjsonReader>(new NdjsonReader(*std::move(in)));
}

std::unique_ptr<NdjsonReader> NdjsonReader::Over(BufferedFile in,
                                                 int64_t lines_before) {
  std::unique_ptr<NdjsonReader> reader(new NdjsonReader(std::move(in)));
  reader->line_ = lines_before;
  return reader;
}

NdjsonReader::NdjsonReader(BufferedFile in) : in_(std::move(in)) {}

NdjsonReader::~NdjsonReader() = default;

bool NdjsonReader::Next(Record* record) {
  while (true) {
    // Find the end of the next line, reading as needed. A line longer than
    // the record limit is consumed while only its head is kept.
    size_t scanned = 0;  // unread bytes known to hold no newline
    size_t long_size = 0;
    bool too_long = false;
    size_t nl = std::string_view::npos;
    while (true) {
      nl = in_.unread().find('\n', scanned);
      if (nl != std::string_view::npos) break;
      scanned = in_.unread().size();
      if (!too_long && scanned > kMaxRecordBytes + 1) {
        too_long = true;
        long_prefix_.assign(in_.unread().substr(0, kLongPrefixBytes));
      }
      if (too_long) {
        long_size += scanned;
        in_.Consume(scanned);
        scanned = 0;
      }
      if (!in_.Fill()) break;  // Fill moves the unread bytes to the front
    }
    if (!in_.status().ok()) return false;
    const std::string_view unread = in_.unread();
    const bool found = nl != std::string_view::npos;
    const size_t line_end = found ? nl : unread.size();
    if (!found && line_end == 0 && !too_long) return false;  // end of file
    ++line_;
    std::string_view bytes = unread.substr(0, line_end);
    in_.Consume(line_end + (found ? 1 : 0));
    size_t size = long_size + bytes.size();
    if (!bytes.empty() && bytes.back() == '\r') {
      bytes.remove_suffix(1);
      --size;
    }
    if (too_long) bytes = long_prefix_;
    if (!too_long && IsBlank(bytes)) continue;
    record->line = line_;
    record->bytes = bytes;
    record->size = size;
    record->end_offset = in_.offset();
    return true;
  }
}

absl::Status NdjsonReader::Seek(uint64_t offset, int64_t line) {
  line_ = line;
  return in_.Seek(offset);
}

}  // namespace clearlane
