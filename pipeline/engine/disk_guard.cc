#include "pipeline/engine/disk_guard.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace clearlane {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(s.front())) s.remove_prefix(1);
  while (!s.empty() && absl::ascii_isspace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// A size with an optional binary unit: "512", "64KiB", "1G".
bool ParseSize(std::string_view text, uint64_t* out) {
  size_t digits = 0;
  while (digits < text.size() &&
         (absl::ascii_isdigit(text[digits]) || text[digits] == '.')) {
    ++digits;
  }
  double value = 0;
  if (digits == 0 ||
      !absl::SimpleAtod(std::string(text.substr(0, digits)), &value)) {
    return false;
  }
  std::string unit = absl::AsciiStrToUpper(Trim(text.substr(digits)));
  if (unit.size() == 3 && unit[1] == 'I' && unit[2] == 'B') unit.resize(1);
  int shift = 0;
  if (unit.empty() || unit == "B") {
    shift = 0;
  } else if (unit == "K") {
    shift = 10;
  } else if (unit == "M") {
    shift = 20;
  } else if (unit == "G") {
    shift = 30;
  } else if (unit == "T") {
    shift = 40;
  } else {
    return false;
  }
  const double bytes = std::ldexp(value, shift);
  if (bytes >= 1.8e19) return false;
  *out = static_cast<uint64_t>(bytes);
  return true;
}

}  // namespace

uint64_t FreeSpaceFloor::For(uint64_t size) const {
  const auto share =
      static_cast<uint64_t>(static_cast<double>(size) * percent / 100);
  if (bytes == 0) return share;
  if (percent <= 0) return bytes;
  return std::min(bytes, share);
}

absl::StatusOr<FreeSpaceFloor> ParseFreeSpaceFloor(std::string_view text) {
  FreeSpaceFloor floor{.bytes = 0, .percent = 0};
  if (Trim(std::string(text)) == "off") {
    floor.checked = false;
    return floor;
  }
  bool size_seen = false, percent_seen = false;
  const std::vector<std::string> pieces =
      absl::StrSplit(std::string(text), ',', absl::SkipEmpty());
  if (pieces.empty()) {
    return absl::InvalidArgumentError(
        "empty: expected a size (512MiB, 1GiB), a percentage (5%) or both");
  }
  for (const std::string& piece : pieces) {
    const std::string part = Trim(piece);
    if (!part.empty() && part.back() == '%' && !percent_seen) {
      double p = 0;
      if (!absl::SimpleAtod(part.substr(0, part.size() - 1), &p) || p < 0 ||
          p > 100) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: expected a percentage from 0%% to 100%%", part));
      }
      floor.percent = p;
      percent_seen = true;
    } else if (!size_seen && ParseSize(part, &floor.bytes)) {
      size_seen = true;
    } else {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected a size (512MiB, 1GiB), a percentage (5%%) or both, "
          "comma-separated",
          text));
    }
  }
  return floor;
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  return unit == 0 ? absl::StrFormat("%d B", bytes)
                   : absl::StrFormat("%.1f %s", v, kUnits[unit]);
}

DiskGuard::DiskGuard(FreeSpaceFloor floor, std::vector<std::string> paths,
                     std::string option)
    : floor_(floor), paths_(std::move(paths)), option_(std::move(option)) {}

absl::Status DiskGuard::Check(uint64_t about_to_write) const {
  if (!floor_.checked) return absl::OkStatus();
  for (const std::string& path : paths_) {
    // A directory not made yet lives on its nearest existing parent's
    // filesystem.
    std::filesystem::path at = std::filesystem::absolute(path);
    std::error_code ec;
    while (!std::filesystem::exists(at, ec) && at.has_parent_path() &&
           at != at.parent_path()) {
      at = at.parent_path();
    }
    struct statvfs fs {};
    if (::statvfs(at.c_str(), &fs) != 0) continue;  // not ours to judge
    const uint64_t size = uint64_t{fs.f_blocks} * fs.f_frsize;
    const uint64_t free = uint64_t{fs.f_bavail} * fs.f_frsize;
    const uint64_t floor = floor_.For(size);
    if (free < floor + about_to_write) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "disk low: %s has %s free of %s; the next commit needs %s and "
          "the floor is %s (%s); free space there, or lower the floor",
          path, FormatBytes(free), FormatBytes(size),
          FormatBytes(about_to_write), FormatBytes(floor), option_));
    }
  }
  return absl::OkStatus();
}

}  // namespace clearlane
