// Times of the CEB documents. Every time in the standard is China Standard
// Time (UTC+8, no daylight saving), so clearlane keeps them as civil times in
// that zone: absl::CivilSecond arithmetic is then exact elapsed seconds.
//
// Operators take time only from documents (design.md "Time"); nothing here
// reads the clock.
//
// Thread-safety: pure functions.

#ifndef CLEARLANE_MODEL_EVENT_TIME_H_
#define CLEARLANE_MODEL_EVENT_TIME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"

namespace clearlane {

// YYYYMMDDhhmmss (appTime, payTime, accountingDate, leaveTime). A string that
// is not a real calendar instant (20240230..., month 13, hour 24) is an error.
absl::StatusOr<absl::CivilSecond> ParseTime14(std::string_view text);
// YYYYMMDD (declTime, ieDate).
absl::StatusOr<absl::CivilDay> ParseDate8(std::string_view text);

std::string FormatTime14(absl::CivilSecond t);
// The receipt's returnTime: YYYYMMDDhhmmssSSS with milliseconds 000.
std::string FormatReturnTime(absl::CivilSecond t);
// YYYYMM, the summary's period.
std::string FormatPeriod(absl::CivilMonth m);

// Seconds since 1970-01-01 00:00:00 CST, for compact storage and ordering.
int64_t ToEpochSeconds(absl::CivilSecond t);
absl::CivilSecond FromEpochSeconds(int64_t s);

// China Standard Time is UTC+8 all year.
inline constexpr int64_t kCstOffsetSeconds = 8 * 3600;
// Seconds since 1970-01-01 00:00:00 CST as Unix seconds (since 00:00 UTC),
// for comparing event time with a wall clock (metrics only).
inline int64_t ToUnixSeconds(int64_t cst_seconds) {
  return cst_seconds - kCstOffsetSeconds;
}

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_EVENT_TIME_H_
