// BufferedFile: a file read forward in large chunks, for the readers of
// replay's inputs (NDJSON lines, XML messages). The unread bytes are
// buffer()[begin, end); a reader consumes from the front and calls Fill()
// for more, which moves what is unread to the front first.
//
// Thread-safety: not thread-safe.

#ifndef CLEARLANE_PIPELINE_FILES_BUFFERED_FILE_H_
#define CLEARLANE_PIPELINE_FILES_BUFFERED_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace clearlane {

class BufferedFile {
 public:
  // Opens `path` for reading. "-" is standard input.
  static absl::StatusOr<BufferedFile> Open(const std::string& path);
  BufferedFile(BufferedFile&& other) noexcept;
  BufferedFile& operator=(BufferedFile&&) = delete;
  ~BufferedFile();

  // Reads more bytes after the unread ones; false at the end of the file
  // or on a read error (then status() is not ok).
  bool Fill();
  // Continues at byte `offset` of the file, the buffer emptied.
  absl::Status Seek(uint64_t offset);

  // The unread bytes.
  std::string_view unread() const {
    return std::string_view(buffer_.data() + begin_, end_ - begin_);
  }
  // Consumes the first `n` unread bytes.
  void Consume(size_t n) {
    begin_ += n;
    offset_ += n;
  }
  // The file offset of the first unread byte.
  uint64_t offset() const { return offset_; }
  bool eof() const { return eof_; }
  const absl::Status& status() const { return status_; }
  const std::string& path() const { return path_; }

 private:
  BufferedFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  int fd_;
  std::string path_;
  std::string buffer_;
  size_t begin_ = 0, end_ = 0;  // unread bytes are buffer_[begin_, end_)
  uint64_t offset_ = 0;         // file offset of buffer_[begin_]
  bool eof_ = false;
  absl::Status status_;
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_FILES_BUFFERED_FILE_H_
