// Stage B of the import flow, keyed by the buyer: the identity registry
// (contract §2), the yearly limit (财关税〔2018〕49号), and the buyer's
// yearly total, which accepted cancels and returns give back
// (海关总署公告2020年第45号). Stage A's half (the tax and the
// single-transaction limit, functions of the list alone) is in
// import_clearance.cc.

#include "operators/allowance.h"

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "model/coding.h"

namespace clearlane {
namespace {

// 财关税〔2018〕49号: the yearly limit.
const Decimal kAnnualLimit = Decimal::FromInteger(26000);

// A record's first byte: its kind (high nibble) and version (low), so
// that requests and give-backs share a topic.
constexpr uint8_t kRequestVersion = 0x11;
constexpr uint8_t kGiveBackVersion = 0x21;
constexpr uint8_t kAnswerVersion = 0x31;

void PutListKey(BinaryWriter& w, const ListKey& k) {
  w.U8(static_cast<uint8_t>(k.type));
  w.Bytes(k.ebpCode);
  w.Bytes(k.orderNo);
}

// False when the type byte names no document type.
bool GetListKey(BinaryReader& r, ListKey* k) {
  const uint8_t type = r.U8();
  k->type = static_cast<DocType>(type);
  k->ebpCode = std::string(r.Bytes());
  k->orderNo = std::string(r.Bytes());
  return type < kDocTypeCount;
}

// A year as a list's appTime can carry it (contract §3: yyyyMMddHHmmss).
bool GetYear(BinaryReader& r, int32_t* year) {
  const int64_t y = r.SignedVarint();
  *year = static_cast<int32_t>(y);
  return y >= 0 && y <= 9999;
}

absl::Status Corrupt(std::string_view what) {
  return absl::DataLossError(
      absl::StrFormat("%s record is corrupt or of an unknown version", what));
}

}  // namespace

AllowanceAnswer AnswerAllowance(const AllowanceRequest& request,
                                BuyerContext& ctx) {
  AllowanceAnswer a;
  a.list = request.list;
  if (ctx.HasRegistry()) {
    const auto found = ctx.LookUp(request.buyer, request.name_hash);
    if (found == BuyerContext::Registered::kUnknown) {
      a.reasons.Add(ReasonCode::kIdUnknown,
                    "CEB621 buyerIdNumber is not in the identity registry");
    } else if (found == BuyerContext::Registered::kNameDiffers) {
      a.reasons.Add(ReasonCode::kIdNameMismatch,
                    "CEB621 buyerName differs from the registered name");
    }
  }
  const Decimal before = ctx.YearTotal(request.buyer, request.year);
  const Decimal after = before + request.value;
  if (after > kAnnualLimit) {
    a.reasons.Add(ReasonCode::kAnnualLimitExceeded,
                  absl::StrFormat("the buyer's %d total would be %s, over %s",
                                  request.year, after.ToFixed2(),
                                  kAnnualLimit.ToFixed2()));
  }
  a.released = request.may_release && a.reasons.empty();
  a.total = a.released ? after : before;
  if (a.released) ctx.SetYearTotal(request.buyer, request.year, after);
  return a;
}

void ApplyGiveBack(const GiveBack& back, BuyerContext& ctx) {
  const Decimal total = ctx.YearTotal(back.buyer, back.year);
  ctx.SetYearTotal(back.buyer, back.year, total - back.amount);
}

std::string EncodeAllowanceRequest(const AllowanceRequest& r) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kRequestVersion);
  PutListKey(w, r.list);
  w.Bytes(r.buyer);
  w.Bytes(r.name_hash);
  w.SignedVarint(r.year);
  PutDecimal(w, r.value);
  w.U8(r.may_release);
  return out;
}

absl::StatusOr<AllowanceRequest> DecodeAllowanceRequest(std::string_view b) {
  BinaryReader r(b);
  AllowanceRequest q;
  bool valid = r.U8() == kRequestVersion && GetListKey(r, &q.list);
  q.buyer = std::string(r.Bytes());
  q.name_hash = std::string(r.Bytes());
  valid = GetYear(r, &q.year) && valid;
  q.value = GetDecimal(r);
  const uint8_t may_release = r.U8();
  q.may_release = may_release == 1;
  if (!valid || may_release > 1 || !r.ok() || !r.done()) {
    return Corrupt("allowance request");
  }
  return q;
}

std::string EncodeAllowanceAnswer(const AllowanceAnswer& a) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kAnswerVersion);
  PutListKey(w, a.list);
  w.U8(a.released);
  PutDecimal(w, a.total);
  w.Varint(a.reasons.entries().size());
  for (const auto& [code, detail] : a.reasons.entries()) {
    w.U8(static_cast<uint8_t>(code));
    w.Bytes(detail);
  }
  return out;
}

absl::StatusOr<AllowanceAnswer> DecodeAllowanceAnswer(std::string_view b) {
  BinaryReader r(b);
  AllowanceAnswer a;
  bool valid = r.U8() == kAnswerVersion && GetListKey(r, &a.list);
  const uint8_t released = r.U8();
  a.released = released == 1;
  a.total = GetDecimal(r);
  const uint64_t n = r.Varint();
  for (uint64_t i = 0; i < n && r.ok() && valid; ++i) {
    const uint8_t code = r.U8();
    const std::string_view detail = r.Bytes();
    valid = code < kReasonCodeCount;
    if (valid) a.reasons.Add(static_cast<ReasonCode>(code), detail);
  }
  if (!valid || released > 1 || !r.ok() || !r.done()) {
    return Corrupt("allowance answer");
  }
  return a;
}

std::string EncodeGiveBack(const GiveBack& g) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kGiveBackVersion);
  w.Bytes(g.buyer);
  w.SignedVarint(g.year);
  PutDecimal(w, g.amount);
  return out;
}

bool IsGiveBack(std::string_view b) {
  return !b.empty() && static_cast<uint8_t>(b[0]) == kGiveBackVersion;
}

absl::StatusOr<GiveBack> DecodeGiveBack(std::string_view b) {
  BinaryReader r(b);
  GiveBack g;
  bool valid = r.U8() == kGiveBackVersion;
  g.buyer = std::string(r.Bytes());
  valid = GetYear(r, &g.year) && valid;
  g.amount = GetDecimal(r);
  if (!valid || !r.ok() || !r.done()) return Corrupt("give-back");
  return g;
}

}  // namespace clearlane
