// What clearlane publishes: receipts (contract §3) and summary declaration
// forms (contract §4). Dead letters are in dead_letter.h. The JSON encodings
// are in encode.h.
//
// Thread-safety: value types.

#ifndef CLEARLANE_MODEL_OUTPUTS_H_
#define CLEARLANE_MODEL_OUTPUTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/civil_time.h"
#include "model/decimal.h"

namespace clearlane {

// The three streams clearlane writes (contract §8): one file each in
// replay, one topic each in Kafka mode. Each numbers its records from 0
// (the outbox's sequence numbers, state/outbox.h).
//
// A fourth, kChangelog, is internal to Kafka mode and no contract output:
// the state's changes, published through the outbox with the outputs of
// their epoch (state/changelog.h). Replay never emits it. So are the
// exchange's two (operators/allowance.h): kAllowance, stage A's requests
// and give-backs to the buyers' tasks, and kAllowanceAnswers, their
// answers back to the lists' tasks; and stage C's, kClosedLists, closed
// lists and watermark marks to stage C's task (operators/summary.h).
enum class OutputStream : uint8_t {
  kReceipts,
  kSummaries,
  kDeadLetters,
  kChangelog,
  kAllowance,
  kAllowanceAnswers,
  kClosedLists
};
// The contract's streams (the first three).
inline constexpr int kOutputStreamCount = 3;
// Every stream the outbox numbers, the internal ones included.
inline constexpr int kOutboxStreamCount = 7;

// "receipts", "summaries", "deadletters", "changelog", "allowance",
// "allowance-answers", "closed-lists".
inline std::string_view OutputStreamName(OutputStream s) {
  constexpr std::string_view kNames[] = {
      "receipts",  "summaries",         "deadletters", "changelog",
      "allowance", "allowance-answers", "closed-lists"};
  return kNames[static_cast<int>(s)];
}

struct Reason {
  std::string code;    // FIELD_INVALID, ORDER_MISSING, ... (contract §5)
  std::string detail;  // every failing field or line
};

struct TaxAmounts {
  Decimal dutiableValue;
  Decimal customsTax;
  Decimal valueAddedTax;
  Decimal consumptionTax;
  Decimal taxTotal;
};

// One receipt. Empty strings and nullopt are omitted from the JSON.
struct Receipt {
  std::string docType;  // CEB622, CEB624, CEB626, CEB604
  std::string guid;
  std::string orderNo, ebpCode, ebcCode, copNo, preNo, invtNo, agentCode,
      customsCode, tradeMode;
  std::string returnStatus;  // "800", "100", "300", "399", "899"
  absl::CivilSecond returnTime;
  std::string returnInfo;
  std::vector<Reason> reasons;
  std::optional<TaxAmounts> tax;       // import 800 only
  std::optional<Decimal> annualTotal;  // import 800 only
  // For the official XML receipts only (contract §11), never in the JSON:
  // when the list was first decided, where an earlier receipt decided it
  // (the date of an assigned preNo), and an export list's statisticsFlag
  // (CEB604 requires it).
  std::optional<absl::CivilSecond> first_decided;
  std::string statisticsFlag;
};

struct SummaryList {
  std::string orderNo, logisticsNo, invtNo, copNo;
};

struct SummaryItem {
  int gseqno = 0;
  std::string gcode, country, currency, unit1;
  Decimal qty1;
  Decimal totalPrice;
  int64_t listCount = 0;
};

// One summary declaration form (汇总申报).
struct SummaryForm {
  absl::CivilMonth period;
  std::string ebcCode, trafMode, ownerCode, country, portCode;
  bool has_owner_code = true;  // false when summaryFlag is 1
  int form = 1, forms = 1, supplement = 0;
  int64_t listCount = 0;
  Decimal grossWeight, netWeight;
  std::vector<SummaryList> lists;
  std::vector<SummaryItem> items;
};

// A 36-character uppercase GUID (8-4-4-4-12 hex digits) derived from
// `material` alone, so the same decision always gets the same guid.
std::string DeriveGuid(std::string_view material);

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_OUTPUTS_H_
