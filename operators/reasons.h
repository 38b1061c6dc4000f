// The reason codes of contract §5, in the order of its table: a receipt
// lists its reasons in this order.
//
// Thread-safety: value types and constant tables.

#ifndef CLEARLANE_OPERATORS_REASONS_H_
#define CLEARLANE_OPERATORS_REASONS_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/outputs.h"

namespace clearlane {

enum class ReasonCode : uint8_t {
  kFieldInvalid,
  kCurrencyNotCny,
  kOrderMissing,
  kPaymentMissing,
  kWaybillMissing,
  kArrivalMissing,
  kOrderAmountInconsistent,
  kLineTotalInconsistent,
  kPaymentAmountMismatch,
  kBuyerPayerMismatch,
  kListOrderMismatch,
  kConsigneeMismatch,
  kLogisticsMismatch,
  kIdInvalid,
  kIdUnknown,
  kIdNameMismatch,
  kSingleLimitExceeded,
  kAnnualLimitExceeded,
  kNotReleased,
  kReturnWindowExpired,
};
inline constexpr int kReasonCodeCount =
    static_cast<int>(ReasonCode::kReturnWindowExpired) + 1;

std::string_view ReasonCodeName(ReasonCode c);

// Collects failed checks, one entry per code however many fields fail it,
// and hands them out in table order.
class ReasonList {
 public:
  // Adds `detail` to the code's entry ("; " between details).
  void Add(ReasonCode code, std::string_view detail);
  // Adds each of `other`'s entries.
  void AddAll(const ReasonList& other);
  bool empty() const { return entries_.empty(); }
  // The reasons in table order.
  std::vector<Reason> Sorted() const;
  // "CODE: detail | CODE: detail", the receipt's returnInfo.
  static std::string Info(const std::vector<Reason>& reasons);
  // The entries in the order they were added.
  const std::vector<std::pair<ReasonCode, std::string>>& entries() const {
    return entries_;
  }
  friend bool operator==(const ReasonList&, const ReasonList&) = default;

 private:
  std::vector<std::pair<ReasonCode, std::string>> entries_;
};

}  // namespace clearlane

#endif  // CLEARLANE_OPERATORS_REASONS_H_
