// Stage B of the import flow, keyed by the buyer, and the exchange stage A
// reaches it through (design.md "The dataflow"; docs/engine.md "Stage B
// across processes").
//
// Stage A owns a list and everything that is a function of the list alone:
// its checks, its tax, the single-transaction limit. Stage B owns what is a
// sum over the buyer's lists in every partition of orderNo: the yearly
// total (财关税〔2018〕49号), and the identity registry, keyed by the same
// hash. A list that passed stage A's checks becomes an AllowanceRequest;
// stage B answers it with an AllowanceAnswer; an accepted cancel or return
// becomes a GiveBack, which needs no answer. Stage A never reads a yearly
// total and stage B never reads an order: the three records are all that
// crosses between them, so the same rules run whether the buyer's task is
// in this process (replay, StageContext::AskAllowance answering at once)
// or behind a repartition topic keyed by the buyer (their encodings below).
//
// Thread-safety: value types and free functions; a BuyerContext is one
// task's.

#ifndef CLEARLANE_OPERATORS_ALLOWANCE_H_
#define CLEARLANE_OPERATORS_ALLOWANCE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "model/decimal.h"
#include "model/list_key.h"
#include "operators/reasons.h"

namespace clearlane {

// What a list that passed every check of stage A asks its buyer's task.
struct AllowanceRequest {
  ListKey list;           // the answer goes back to this list's task
  std::string buyer;      // keyed hash of the identity number: B's key
  std::string name_hash;  // keyed hash of the buyer's name on the list
  int32_t year = 0;       // calendar year of the list's appTime
  Decimal value;          // the list's dutiable value
  // False when stage A rejects the list anyway (the single-transaction
  // limit): stage B then checks and counts nothing in, but still says
  // what else is wrong, so the receipt names every failed check.
  bool may_release = true;
  friend bool operator==(const AllowanceRequest&,
                         const AllowanceRequest&) = default;
};

// Stage B's answer.
struct AllowanceAnswer {
  ListKey list;
  // Counted in the buyer's year: released, as far as stage B goes.
  bool released = false;
  // The buyer's released total for the year once the answer is given (with
  // the list's value if released).
  Decimal total;
  // ID_UNKNOWN, ID_NAME_MISMATCH, ANNUAL_LIMIT_EXCEEDED.
  ReasonList reasons;
  friend bool operator==(const AllowanceAnswer&,
                         const AllowanceAnswer&) = default;
};

// An accepted cancel or return: `amount` leaves the buyer's year
// (海关总署公告2020年第45号).
struct GiveBack {
  std::string buyer;
  int32_t year = 0;
  Decimal amount;
  friend bool operator==(const GiveBack&, const GiveBack&) = default;
};

// Stage B's state: what a buyer's task reads and writes.
class BuyerContext {
 public:
  virtual ~BuyerContext() = default;
  // The buyer's released total for a calendar year.
  virtual Decimal YearTotal(std::string_view buyer, int year) = 0;
  virtual void SetYearTotal(std::string_view buyer, int year,
                            Decimal total) = 0;
  // Whether an identity registry is configured (contract §2).
  virtual bool HasRegistry() const = 0;
  // The registry's answer for a buyer key (the keyed hash of the identity
  // number) and the keyed hash of the name on the list.
  enum class Registered { kUnknown, kNameDiffers, kMatches };
  virtual Registered LookUp(std::string_view buyer,
                            std::string_view name_hash) = 0;
};

// Stage B's rules: checks the buyer against the registry and the yearly
// limit and, when nothing fails and the request may release, counts the
// list's value in the buyer's year.
AllowanceAnswer AnswerAllowance(const AllowanceRequest& request,
                                BuyerContext& ctx);
// Takes an accepted cancel's or return's amount out of the buyer's year.
void ApplyGiveBack(const GiveBack& back, BuyerContext& ctx);

// The records as they cross a repartition topic: a byte naming the kind of
// record and its version, then the fields. Decoding checks every byte (a
// record of another kind or version, cut short or with bytes left over is
// DataLoss): a topic is input too. Requests and give-backs share the
// buyers' topic; IsGiveBack tells them apart.
std::string EncodeAllowanceRequest(const AllowanceRequest& r);
absl::StatusOr<AllowanceRequest> DecodeAllowanceRequest(std::string_view b);
std::string EncodeAllowanceAnswer(const AllowanceAnswer& a);
absl::StatusOr<AllowanceAnswer> DecodeAllowanceAnswer(std::string_view b);
std::string EncodeGiveBack(const GiveBack& g);
absl::StatusOr<GiveBack> DecodeGiveBack(std::string_view b);
bool IsGiveBack(std::string_view b);

}  // namespace clearlane

#endif  // CLEARLANE_OPERATORS_ALLOWANCE_H_
