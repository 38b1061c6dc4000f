// The import waybill index's records (operators/waybill_index.h); its rules
// are stage A's, in import_clearance.cc.

#include "operators/waybill_index.h"

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "model/coding.h"

namespace clearlane {
namespace {

// A record's first byte: its kind (high nibble) and version (low), apart
// from stage B's (allowance.cc: 0x1_ to 0x3_) and stage C's (summary.cc:
// 0x5_, 0x6_), whose topics these records share.
constexpr uint8_t kFactVersion = 0x71;
constexpr uint8_t kLetGoVersion = 0x81;

absl::Status Corrupt(std::string_view what) {
  return absl::DataLossError(
      absl::StrFormat("%s record is corrupt or of an unknown version", what));
}

bool Starts(std::string_view b, uint8_t kind) {
  return !b.empty() && static_cast<uint8_t>(b[0]) == kind;
}

}  // namespace

std::string EncodeWaybillFact(const WaybillFact& f) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kFactVersion);
  w.Bytes(f.logisticsCode);
  w.Bytes(f.logisticsNo);
  w.SignedVarint(f.appTime);
  w.U8(f.deleted);
  w.Bytes(f.orderNo);
  return out;
}

bool IsWaybillFact(std::string_view b) { return Starts(b, kFactVersion); }

absl::StatusOr<WaybillFact> DecodeWaybillFact(std::string_view b) {
  BinaryReader r(b);
  WaybillFact f;
  const bool kind = r.U8() == kFactVersion;
  f.logisticsCode = std::string(r.Bytes());
  f.logisticsNo = std::string(r.Bytes());
  f.appTime = r.SignedVarint();
  const uint8_t deleted = r.U8();
  f.deleted = deleted == 1;
  f.orderNo = std::string(r.Bytes());
  if (!kind || deleted > 1 || !r.ok() || !r.done()) {
    return Corrupt("waybill fact");
  }
  return f;
}

std::string EncodeLetGo(const LetGo& g) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kLetGoVersion);
  w.Bytes(g.logisticsCode);
  w.Bytes(g.logisticsNo);
  w.Bytes(g.orderNo);
  w.SignedVarint(g.appTime);
  return out;
}

bool IsLetGo(std::string_view b) { return Starts(b, kLetGoVersion); }

absl::StatusOr<LetGo> DecodeLetGo(std::string_view b) {
  BinaryReader r(b);
  LetGo g;
  const bool kind = r.U8() == kLetGoVersion;
  g.logisticsCode = std::string(r.Bytes());
  g.logisticsNo = std::string(r.Bytes());
  g.orderNo = std::string(r.Bytes());
  g.appTime = r.SignedVarint();
  if (!kind || !r.ok() || !r.done()) return Corrupt("let-go");
  return g;
}

}  // namespace clearlane
