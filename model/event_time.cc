#include "model/event_time.h"

#include "absl/strings/str_format.h"

namespace clearlane {
namespace {

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int Number(std::string_view s) {
  int n = 0;
  for (char c : s) n = n * 10 + (c - '0');
  return n;
}

const absl::CivilSecond kEpoch(1970, 1, 1, 0, 0, 0);

}  // namespace

absl::StatusOr<absl::CivilSecond> ParseTime14(std::string_view text) {
  if (text.size() != 14 || !AllDigits(text)) {
    return absl::InvalidArgumentError("expected YYYYMMDDhhmmss");
  }
  const int y = Number(text.substr(0, 4)), mo = Number(text.substr(4, 2)),
            d = Number(text.substr(6, 2)), h = Number(text.substr(8, 2)),
            mi = Number(text.substr(10, 2)), s = Number(text.substr(12, 2));
  // CivilSecond normalises out-of-range fields (Feb 30 -> Mar 2); a time
  // whose fields change under normalisation is not a calendar instant.
  const absl::CivilSecond t(y, mo, d, h, mi, s);
  if (t.year() != y || t.month() != mo || t.day() != d || t.hour() != h ||
      t.minute() != mi || t.second() != s) {
    return absl::InvalidArgumentError("not a calendar date and time");
  }
  return t;
}

absl::StatusOr<absl::CivilDay> ParseDate8(std::string_view text) {
  if (text.size() != 8 || !AllDigits(text)) {
    return absl::InvalidArgumentError("expected YYYYMMDD");
  }
  const int y = Number(text.substr(0, 4)), mo = Number(text.substr(4, 2)),
            d = Number(text.substr(6, 2));
  const absl::CivilDay day(y, mo, d);
  if (day.year() != y || day.month() != mo || day.day() != d) {
    return absl::InvalidArgumentError("not a calendar date");
  }
  return day;
}

std::string FormatTime14(absl::CivilSecond t) {
  return absl::StrFormat("%04d%02d%02d%02d%02d%02d", t.year(), t.month(),
                         t.day(), t.hour(), t.minute(), t.second());
}

std::string FormatReturnTime(absl::CivilSecond t) {
  return FormatTime14(t) + "000";
}

std::string FormatPeriod(absl::CivilMonth m) {
  return absl::StrFormat("%04d%02d", m.year(), m.month());
}

int64_t ToEpochSeconds(absl::CivilSecond t) { return t - kEpoch; }

absl::CivilSecond FromEpochSeconds(int64_t s) { return kEpoch + s; }

}  // namespace clearlane
