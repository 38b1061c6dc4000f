// RocksDB's statuses as absl::Status, for state/'s own files: the one place
// a RocksDB error becomes clearlane's, with what was being done and where.
//
// Thread-safety: a function of its arguments.

#ifndef CLEARLANE_STATE_ROCKS_STATUS_H_
#define CLEARLANE_STATE_ROCKS_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "rocksdb/status.h"

namespace clearlane {

// Corruption is DataLoss, an I/O error Unavailable, a bad argument
// InvalidArgument, anything else Internal; the message starts with `what`.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what);

}  // namespace clearlane

#endif  // CLEARLANE_STATE_ROCKS_STATUS_H_
