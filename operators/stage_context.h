// StageContext is what the clearance operators see of the engine: their own
// state, their timers and their outputs. The pipeline implements it over
// RocksDB and the epoch (pipeline/replay.cc); tests implement it in memory.
// Operators never touch RocksDB, files, Kafka or the clock.

#ifndef CLEARLANE_OPERATORS_STAGE_CONTEXT_H_
#define CLEARLANE_OPERATORS_STAGE_CONTEXT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "model/dead_letter.h"
#include "model/decimal.h"
#include "model/document.h"
#include "model/outputs.h"
#include "operators/order_state.h"

namespace clearlane {

// A list's identity: docType, ebpCode, orderNo.
struct ListKey {
  DocType type;
  std::string ebpCode;
  std::string orderNo;
  friend auto operator<=>(const ListKey&, const ListKey&) = default;
};

// The held version of a waybill identity (contract §1: docType +
// logisticsCode + logisticsNo) and the orderNo it names.
struct WaybillVersion {
  int64_t appTime = 0;
  bool deleted = false;
  std::string orderNo;
};

class StageContext {
 public:
  virtual ~StageContext() = default;

  // Stage A: the documents of `orderNo`, empty if none. The reference stays
  // valid until the current record or timer is done; changes are written
  // back by the engine.
  virtual OrderGroup& Group(std::string_view orderNo) = 0;
  // The held version of an import waybill identity, or nullptr; Put
  // replaces it.
  virtual const WaybillVersion* Waybill(std::string_view logisticsCode,
                                        std::string_view logisticsNo) = 0;
  virtual void PutWaybill(std::string_view logisticsCode,
                          std::string_view logisticsNo,
                          const WaybillVersion& v) = 0;

  // A list's timeout, due at `due` (seconds). Set replaces nothing: cancel
  // the old one first.
  virtual void SetTimer(int64_t due, const ListKey& list) = 0;
  virtual void CancelTimer(int64_t due, const ListKey& list) = 0;

  // The keyed hash state keeps of a personal field (contract §7); a
  // buyer's key is the hash of the identity number.
  virtual std::string KeyedHash(std::string_view value) = 0;
  // Stage B: the buyer's released total for a calendar year, and the
  // registry.
  virtual Decimal YearTotal(std::string_view buyer, int year) = 0;
  virtual void SetYearTotal(std::string_view buyer, int year,
                            Decimal total) = 0;
  // Whether an identity registry is configured (contract §2).
  virtual bool HasRegistry() const = 0;
  // The registry's answer for a buyer key and the keyed hash of the name on
  // the list.
  enum class Registered { kUnknown, kNameDiffers, kMatches };
  virtual Registered LookUp(std::string_view buyer,
                            std::string_view name_hash) = 0;

  virtual void EmitReceipt(const Receipt& r) = 0;
  // A dead letter for the record being processed.
  virtual void EmitDeadLetter(DeadLetterCode code, std::string detail) = 0;
};

}  // namespace clearlane

#endif  // CLEARLANE_OPERATORS_STAGE_CONTEXT_H_
