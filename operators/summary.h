// Stage C of the 9610 export flow: what a closed list brings to its month's
// summary declaration (汇总申报, 海关总署公告2018年第194号), and how the lists
// of one head group become declaration forms (contract §4). Clearance's
// own stage C (a month's close, its supplements) is in summary.cc too.
//
// Each closed list is kept as a record of its own, under a key that sorts
// by head group, orderNo and logisticsNo: a large seller's month is then
// many small writes, never one value rewritten per list, and the month's
// close reads the forms' lists in the order they are written.
//
// Thread-safety: functions of their arguments.

#ifndef CLEARLANE_OPERATORS_SUMMARY_H_
#define CLEARLANE_OPERATORS_SUMMARY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "model/decimal.h"
#include "model/document.h"
#include "model/outputs.h"

namespace clearlane {

struct ClosedLine {
  std::string gcode, country, currency, unit1;
  Decimal qty1, totalPrice;
};

// A closed export list with statisticsFlag B, as its summary needs it.
struct ClosedList {
  // The head group (contract §4). ownerCode is kept even when summaryFlag
  // 1 leaves it out of the group.
  std::string ebcCode, trafMode, ownerCode, country, portCode;
  std::string orderNo, logisticsNo, invtNo, copNo;
  Decimal grossWeight, netWeight;
  std::vector<ClosedLine> lines;
};

// From a released list (which passed every required-field check).
ClosedList ClosedListOf(const Ceb603List& list);

std::string EncodeClosedList(const ClosedList& c);
absl::StatusOr<ClosedList> DecodeClosedList(std::string_view bytes);

// The sort key of a closed list within its month and supplement: head group
// (ownerCode left out when summaryFlag is 1), then orderNo, then
// logisticsNo, each in bytewise order.
std::string ClosedListKey(const ClosedList& c, int summary_flag);

// A month, as a number that sorts: year * 12 + month - 1.
int32_t PeriodOf(absl::CivilSecond t);
absl::CivilMonth MonthOf(int32_t period);

struct FormOptions {
  int summary_flag = 2;  // 1: ownerCode is not part of the head group
  int max_lines = 50;    // lines per form
};

// The forms of one head group: `lists` are its closed lists in key order
// (all with the same head group); `supplement` is 0 for the month's first
// emission.
std::vector<SummaryForm> BuildForms(int32_t period, int supplement,
                                    const std::vector<ClosedList>& lists,
                                    const FormOptions& options);

// A form's head group as one text, ebcCode|trafMode|ownerCode|country|
// portCode: the Kafka key of its summaries (docs/kafka-mode.md).
std::string HeadGroupKey(const SummaryForm& f);

// Whether two closed lists fall in the same head group.
bool SameHeadGroup(const ClosedList& a, const ClosedList& b, int summary_flag);

// Stage C's exchange (Kafka mode; docs/engine.md "Stage C across
// processes"). Stage C owns every month (contract §10: a month's close and
// its supplements span its head groups), so its records go to one task. A
// closed list travels with the watermark its writer saw when it closed
// (StageContext::Watermark): stage C's event time is the greatest watermark
// its records bring, so a month's close fires between the same lists as
// in replay however late the records arrive. A watermark mark brings a
// writer's watermark alone, so a month closes when no list comes.
struct ClosedListRecord {
  std::string closing;  // EncodeClosedList
  int64_t closed_at = 0;
  std::optional<int64_t> watermark;
  friend bool operator==(const ClosedListRecord&,
                         const ClosedListRecord&) = default;
};
std::string EncodeClosedListRecord(const ClosedListRecord& r);
// DataLoss for bytes that are no record of this version.
absl::StatusOr<ClosedListRecord> DecodeClosedListRecord(std::string_view b);
std::string EncodeWatermarkMark(int64_t watermark);
absl::StatusOr<int64_t> DecodeWatermarkMark(std::string_view b);
// Whether `b` is a watermark mark rather than a closed list.
bool IsWatermarkMark(std::string_view b);

}  // namespace clearlane

#endif  // CLEARLANE_OPERATORS_SUMMARY_H_
