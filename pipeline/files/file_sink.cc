#include "pipeline/files/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_format.h"

namespace clearlane {
namespace {

constexpr std::array<std::string_view, kOutputStreamCount> kFileNames = {
    "receipts.ndjson", "summaries.ndjson", "deadletters.ndjson"};

// Flushes appended records once this much is buffered, between epochs too.
constexpr size_t kBufferBytes = 1 << 20;

// errno as a status: a full filesystem or quota is ResourceExhausted (the
// exit status of a full disk, options.h), anything else Unavailable.
absl::Status Errno(std::string_view what, const std::string& path) {
  const int error = errno;
  const std::string message =
      absl::StrFormat("%s %s: %s", what, path, strerror(error));
  if (error == ENOSPC || error == EDQUOT) {
    return absl::ResourceExhaustedError(message);
  }
  return absl::UnavailableError(message);
}

// Counts the complete lines of `fd`, at most `limit`, and cuts the file
// after the last of them: a partial last line goes, and with a limit so do
// the lines past it.
absl::StatusOr<int64_t> CountAndCut(int fd, const std::string& path,
                                    int64_t limit = INT64_MAX) {
  struct stat st;
  if (fstat(fd, &st) != 0) return Errno("cannot stat", path);
  std::vector<char> buf(1 << 20);
  int64_t lines = 0;
  off_t offset = 0, last_newline_end = 0;
  while (offset < st.st_size && lines < limit) {
    ssize_t n = pread(fd, buf.data(), buf.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read", path);
    if (n == 0) break;
    for (ssize_t i = 0; i < n && lines < limit; ++i) {
      if (buf[i] == '\n') {
        ++lines;
        last_newline_end = offset + i + 1;
      }
    }
    offset += n;
  }
  if (last_newline_end != st.st_size && ftruncate(fd, last_newline_end) != 0) {
    return Errno("cannot cut", path);
  }
  return lines;
}

}  // namespace

std::string_view OutputFileName(OutputStream s, bool receipts_xml) {
  if (s == OutputStream::kReceipts && receipts_xml) return "receipts.xml";
  return kFileNames[static_cast<int>(s)];
}

absl::StatusOr<std::unique_ptr<FileSink>> FileSink::Open(const std::string& dir,
                                                         bool receipts_xml) {
  auto sink = std::unique_ptr<FileSink>(new FileSink());
  for (int i = 0; i < kOutputStreamCount; ++i) {
    File& f = sink->files_[i];
    f.path = absl::StrFormat(
        "%s/%s", dir,
        OutputFileName(static_cast<OutputStream>(i), receipts_xml));
    f.fd = open(f.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f.fd < 0) return Errno("cannot open", f.path);
    auto lines = CountAndCut(f.fd, f.path);
    if (!lines.ok()) return lines.status();
    sink->records_[i] = *lines;
    if (lseek(f.fd, 0, SEEK_END) < 0) return Errno("cannot seek", f.path);
  }
  return sink;
}

FileSink::~FileSink() {
  for (File& f : files_) {
    if (f.fd >= 0) close(f.fd);
  }
}

absl::Status FileSink::Append(OutputStream s, int64_t seq,
                              std::string_view line) {
  const int i = static_cast<int>(s);
  if (seq < records_[i]) return absl::OkStatus();
  if (seq > records_[i]) {
    return absl::DataLossError(
        absl::StrFormat("%s holds %d records; record %d cannot follow them",
                        files_[i].path, records_[i], seq));
  }
  File& f = files_[i];
  f.buffer.append(line);
  f.buffer.push_back('\n');
  ++records_[i];
  if (f.buffer.size() >= kBufferBytes) return Flush(false);
  return absl::OkStatus();
}

absl::Status FileSink::Sync() {
  for (const File& f : files_) {
    if (fdatasync(f.fd) != 0) return Errno("cannot sync", f.path);
  }
  return absl::OkStatus();
}

absl::Status FileSink::CutTo(OutputStream s, int64_t records) {
  File& f = files_[static_cast<int>(s)];
  auto lines = CountAndCut(f.fd, f.path, records);
  if (!lines.ok()) return lines.status();
  if (*lines != records) {
    return absl::InternalError(absl::StrFormat(
        "%s: cutting to %d records found %d", f.path, records, *lines));
  }
  records_[static_cast<int>(s)] = records;
  if (lseek(f.fd, 0, SEEK_END) < 0) return Errno("cannot seek", f.path);
  return absl::OkStatus();
}

absl::Status FileSink::Flush(bool sync) {
  for (File& f : files_) {
    size_t done = 0;
    while (done < f.buffer.size()) {
      ssize_t n = write(f.fd, f.buffer.data() + done, f.buffer.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("cannot write", f.path);
      done += n;
    }
    f.buffer.clear();
    if (sync && fdatasync(f.fd) != 0) return Errno("cannot sync", f.path);
  }
  return absl::OkStatus();
}

}  // namespace clearlane
