#include "pipeline/files/ndjson_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "model/decode.h"

namespace clearlane {
namespace {

constexpr size_t kReadSize = 1 << 20;
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
  int fd = path == "-" ? dup(0) : open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrFormat("cannot open %s: %s", path, strerror(errno)));
  }
  return std::unique_ptr<NdjsonReader>(new NdjsonReader(fd, path));
}

NdjsonReader::NdjsonReader(int fd, std::string path)
    : fd_(fd), path_(std::move(path)) {}

NdjsonReader::~NdjsonReader() { close(fd_); }

bool NdjsonReader::Fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    buffer_.erase(0, begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() < end_ + kReadSize) buffer_.resize(end_ + kReadSize);
  ssize_t n;
  do {
    n = read(fd_, buffer_.data() + end_, kReadSize);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    status_ = absl::DataLossError(
        absl::StrFormat("reading %s: %s", path_, strerror(errno)));
    eof_ = true;
    return false;
  }
  if (n == 0) {
    eof_ = true;
    return false;
  }
  end_ += n;
  return true;
}

bool NdjsonReader::Next(Record* record) {
  while (true) {
    // Find the end of the next line, reading as needed. A line longer than
    // the record limit is consumed while only its head is kept.
    size_t scanned = 0;  // bytes after begin_ known to hold no newline
    size_t long_size = 0;
    bool too_long = false;
    const char* nl = nullptr;
    while (true) {
      nl = static_cast<const char*>(memchr(buffer_.data() + begin_ + scanned,
                                           '\n', end_ - begin_ - scanned));
      if (nl) break;
      scanned = end_ - begin_;
      if (!too_long && end_ - begin_ > kMaxRecordBytes + 1) {
        too_long = true;
        long_prefix_.assign(buffer_.data() + begin_, kLongPrefixBytes);
      }
      if (too_long) {
        long_size += end_ - begin_;
        offset_ += end_ - begin_;
        begin_ = end_ = scanned = 0;
      }
      if (!Fill()) break;  // Fill moves the unread bytes to the front
    }
    if (!status_.ok()) return false;
    const size_t line_end = nl ? nl - buffer_.data() : end_;
    if (!nl && line_end == begin_ && !too_long) return false;  // end of file
    ++line_;
    std::string_view bytes(buffer_.data() + begin_, line_end - begin_);
    const size_t consumed = line_end - begin_ + (nl ? 1 : 0);
    offset_ += consumed;
    begin_ += consumed;
    size_t size = long_size + bytes.size();
    if (!bytes.empty() && bytes.back() == '\r') {
      bytes.remove_suffix(1);
      --size;
    }
    if (too_long) {
      record->line = line_;
      record->bytes = long_prefix_;
      record->size = size;
      record->end_offset = offset_;
      return true;
    }
    if (IsBlank(bytes)) continue;
    record->line = line_;
    record->bytes = bytes;
    record->size = size;
    record->end_offset = offset_;
    return true;
  }
}

absl::Status NdjsonReader::Seek(uint64_t offset, int64_t line) {
  if (lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
    return absl::DataLossError(absl::StrFormat("cannot seek %s to byte %d: %s",
                                               path_, offset, strerror(errno)));
  }
  begin_ = end_ = 0;
  offset_ = offset;
  line_ = line;
  eof_ = false;
  return absl::OkStatus();
}

}  // namespace clearlane
