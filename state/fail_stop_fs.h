// A RocksDB FileSystem that stops at the first failed write.
//
// Debian's RocksDB is built with assertions on. Once a write to one of its
// files has failed (a full disk, a quota, an I/O error), RocksDB keeps the
// file's writer and may use it again: to sync the WAL at the next commit, to
// close it when the database closes, from a background flush. In a build
// with assertions that second use aborts the process
// (WritableFileWriter::AssertFalseAndGetStatusForPrevError) with a core
// dump instead of an error. Nothing RocksDB offers turns that off.
//
// So clearlane does not let RocksDB see the failure: this file system
// passes every call to the one below it and, when creating, writing,
// syncing, truncating, closing or renaming a file fails, calls
// `on_failure` with the error, the file's path and what was being done,
// before RocksDB learns of it. `on_failure` must not return (it logs and
// ends the process); the state is then as after a kill -9 at that moment,
// which recovery handles: every epoch is in the WAL whole or not at all.
// Should it return, the error is passed on to RocksDB.
//
// Internal to state/: store.cc installs it; nothing else sees RocksDB.

#ifndef CLEARLANE_STATE_FAIL_STOP_FS_H_
#define CLEARLANE_STATE_FAIL_STOP_FS_H_

#include <memory>

#include "absl/status/status.h"
#include "rocksdb/file_system.h"
#include "state/store.h"

namespace clearlane {

std::shared_ptr<rocksdb::FileSystem> NewFailStopFileSystem(
    std::shared_ptr<rocksdb::FileSystem> base, WriteFailureHandler on_failure);

// The absl::Status for a failed write: ResourceExhausted when the
// filesystem is full or over its quota, Unavailable for other I/O errors.
absl::Status WriteFailureStatus(const rocksdb::IOStatus& s,
                                std::string_view what, std::string_view path);

}  // namespace clearlane

#endif  // CLEARLANE_STATE_FAIL_STOP_FS_H_
