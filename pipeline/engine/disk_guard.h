// DiskGuard: free disk space as a condition clearlane checks, not a write
// error it meets. Before it opens its state and before each epoch commit, a
// driver asks whether the filesystems of its state (and output) directories
// still have the floor free (`--min-free-space`, `min.free.space`); below
// it, nothing of the epoch is written: replay stops with exit status 3,
// run waits until space returns. RocksDB's own reaction to a full disk
// (Debian builds it with assertions on: a failed write can abort the
// process) is never reached in the ordinary course; should a write fail
// all the same (a floor set too low, another process filling the disk),
// state/fail_stop_fs.h ends the process at that write, with exit status 3
// and the path.
//
// Thread-safety: a DiskGuard is immutable; Check may run on any thread.

#ifndef CLEARLANE_PIPELINE_ENGINE_DISK_GUARD_H_
#define CLEARLANE_PIPELINE_ENGINE_DISK_GUARD_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace clearlane {

// How much free space a filesystem must keep: the smaller of an absolute
// size and a share of the filesystem's size (so that a small disk is not
// held to a large machine's floor). Both zero: no floor, though a commit
// must still fit. Not `checked`: free space is not looked at at all (a
// filesystem whose free space statvfs does not tell, such as some network
// filesystems); a write that fails then stops the run (fail_stop_fs.h).
struct FreeSpaceFloor {
  uint64_t bytes = uint64_t{1} << 30;  // 1 GiB
  double percent = 5;
  bool checked = true;

  // The floor on a filesystem of `size` bytes.
  uint64_t For(uint64_t size) const;
};

// "off", or "1GiB,5%", "512MiB", "10%", "0": a size (B, KiB, MiB, GiB, TiB; K,
// M, G, T the same binary units), a percentage, or both, comma-separated (the
// floor is then the smaller of the two).
absl::StatusOr<FreeSpaceFloor> ParseFreeSpaceFloor(std::string_view text);

// "1.5 GiB", "12.0 MiB", "512 B".
std::string FormatBytes(uint64_t bytes);

class DiskGuard {
 public:
  // `option` names the setting in messages ("--min-free-space").
  DiskGuard(FreeSpaceFloor floor, std::vector<std::string> paths,
            std::string option);

  // OK when the filesystem of every path (or of its nearest existing
  // parent) has at least the floor free, beyond `about_to_write` bytes;
  // else ResourceExhausted naming the path, the free space and the floor.
  absl::Status Check(uint64_t about_to_write = 0) const;

 private:
  FreeSpaceFloor floor_;
  std::vector<std::string> paths_;
  std::string option_;
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_ENGINE_DISK_GUARD_H_
