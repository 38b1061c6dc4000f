#include "pipeline/files/buffered_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"

namespace clearlane {
namespace {

constexpr size_t kReadSize = 1 << 20;

}  // namespace

absl::StatusOr<BufferedFile> BufferedFile::Open(const std::string& path) {
  int fd = path == "-" ? dup(0) : open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrFormat("cannot open %s: %s", path, strerror(errno)));
  }
  return BufferedFile(fd, path);
}

BufferedFile::BufferedFile(BufferedFile&& other) noexcept
    : fd_(other.fd_),
      path_(std::move(other.path_)),
      buffer_(std::move(other.buffer_)),
      begin_(other.begin_),
      end_(other.end_),
      offset_(other.offset_),
      eof_(other.eof_),
      status_(std::move(other.status_)) {
  other.fd_ = -1;
}

BufferedFile::~BufferedFile() {
  if (fd_ >= 0) close(fd_);
}

bool BufferedFile::Fill() {
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

absl::Status BufferedFile::Seek(uint64_t offset) {
  if (lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
    return absl::DataLossError(absl::StrFormat("cannot seek %s to byte %d: %s",
                                               path_, offset, strerror(errno)));
  }
  begin_ = end_ = 0;
  offset_ = offset;
  eof_ = false;
  return absl::OkStatus();
}

}  // namespace clearlane
