#include "state/fail_stop_fs.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"

namespace clearlane {

absl::Status WriteFailureStatus(const rocksdb::IOStatus& s,
                                std::string_view what, std::string_view path) {
  const std::string message = absl::StrFormat("state write failed: %s %s: %s",
                                              what, path, s.ToString());
  // ENOSPC is NoSpace in RocksDB's POSIX files; EDQUOT is a plain IOError
  // whose text is strerror's.
  if (s.IsNoSpace() || absl::StrContains(s.ToString(), "quota")) {
    return absl::ResourceExhaustedError(message);
  }
  return absl::UnavailableError(message);
}

namespace {

// What the file system and its files share: the handler, called once.
class FailureSink {
 public:
  explicit FailureSink(WriteFailureHandler on_failure)
      : on_failure_(std::move(on_failure)) {}

  // Passes `s` through when it is ok; else reports it first.
  rocksdb::IOStatus Check(rocksdb::IOStatus s, std::string_view what,
                          std::string_view path) {
    if (!s.ok()) on_failure_(WriteFailureStatus(s, what, path));
    return s;
  }

 private:
  WriteFailureHandler on_failure_;
};

class FailStopFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FailStopFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::string path,
               std::shared_ptr<FailureSink> sink)
      : FSWritableFileOwnerWrapper(std::move(file)),
        path_(std::move(path)),
        sink_(std::move(sink)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data,
                           const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    return Check(target()->Append(data, options, dbg), "appending to");
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data,
                           const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    return Check(target()->Append(data, options, info, dbg), "appending to");
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data,
                                     uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    return Check(target()->PositionedAppend(data, offset, options, dbg),
                 "appending to");
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data,
                                     uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* dbg) override {
    return Check(target()->PositionedAppend(data, offset, options, info, dbg),
                 "appending to");
  }
  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    return Check(target()->Truncate(size, options, dbg), "truncating");
  }
  rocksdb::IOStatus Close(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    return Check(target()->Close(options, dbg), "closing");
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    return Check(target()->Flush(options, dbg), "flushing");
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                         rocksdb::IODebugContext* dbg) override {
    return Check(target()->Sync(options, dbg), "syncing");
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    return Check(target()->Fsync(options, dbg), "syncing");
  }
  // Allocate and RangeSync are hints whose failures RocksDB ignores.

 private:
  rocksdb::IOStatus Check(rocksdb::IOStatus s, std::string_view what) {
    return sink_->Check(std::move(s), what, path_);
  }

  std::string path_;
  std::shared_ptr<FailureSink> sink_;
};

class FailStopFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FailStopFileSystem(std::shared_ptr<rocksdb::FileSystem> base,
                     WriteFailureHandler on_failure)
      : FileSystemWrapper(std::move(base)),
        sink_(std::make_shared<FailureSink>(std::move(on_failure))) {}

  const char* Name() const override { return "ClearlaneFailStop"; }

  rocksdb::IOStatus NewWritableFile(
      const std::string& path, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override {
    return Wrap(target()->NewWritableFile(path, options, result, dbg), path,
                result);
  }
  rocksdb::IOStatus ReopenWritableFile(
      const std::string& path, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override {
    return Wrap(target()->ReopenWritableFile(path, options, result, dbg), path,
                result);
  }
  rocksdb::IOStatus ReuseWritableFile(
      const std::string& path, const std::string& old_path,
      const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override {
    return Wrap(
        target()->ReuseWritableFile(path, old_path, options, result, dbg), path,
        result);
  }
  rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override {
    return sink_->Check(target()->RenameFile(from, to, options, dbg),
                        "renaming to", to);
  }

 private:
  rocksdb::IOStatus Wrap(rocksdb::IOStatus s, const std::string& path,
                         std::unique_ptr<rocksdb::FSWritableFile>* result) {
    if (!s.ok()) return sink_->Check(std::move(s), "creating", path);
    *result = std::make_unique<FailStopFile>(std::move(*result), path, sink_);
    return s;
  }

  std::shared_ptr<FailureSink> sink_;
};

}  // namespace

std::shared_ptr<rocksdb::FileSystem> NewFailStopFileSystem(
    std::shared_ptr<rocksdb::FileSystem> base, WriteFailureHandler on_failure) {
  return std::make_shared<FailStopFileSystem>(std::move(base),
                                              std::move(on_failure));
}

}  // namespace clearlane
