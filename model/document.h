// The twelve CEB documents clearlane accepts (contract §1), one struct each,
// fields named exactly as in the 2022-05 standard (ceb-reference.md §2-3).
//
// Each struct's fields are given once, in an X-macro list that reads like the
// standard's table: name, kind, and when Appendix A of the contract requires
// it. The list declares the members and builds the FieldSpec table that the
// decoder and the required-field check walk, so the two cannot disagree.
//
// Field kinds (contract §1 and §10):
//   T  text or code: a string; an integer is read as its decimal text
//   I  identifier: must be a string
//   D  decimal (N19,5), see Decimal
//   S  time YYYYMMDDhhmmss        Y  date YYYYMMDD
//   G  line number (gnum): an integer or a string of digits
// Absent, empty and null are the same (contract §10): a text field is then
// empty, any other kind nullopt.
//
// Text fields are views into the Decoder that produced the document: they
// stay valid until that Decoder's next Decode. Whoever keeps a document
// longer copies what it keeps (operators encode it into their state).
//
// Thread-safety: value types; a document is read by one thread at a time.

#ifndef CLEARLANE_MODEL_DOCUMENT_H_
#define CLEARLANE_MODEL_DOCUMENT_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/time/civil_time.h"
#include "model/decimal.h"

namespace clearlane {

enum class DocType : uint8_t {
  kCeb311,  // import order
  kCeb411,  // import payment
  kCeb511,  // import waybill
  kCeb621,  // import inventory list (申报清单)
  kCeb623,  // import list cancellation
  kCeb625,  // import return
  kCeb303,  // export order
  kCeb403,  // export payment received (收款单)
  kCeb505,  // export waybill
  kCeb507,  // export arrival (运抵单)
  kCeb509,  // export departure (离境单)
  kCeb603,  // export inventory list
};
inline constexpr int kDocTypeCount = 12;

std::string_view DocTypeName(DocType t);
std::optional<DocType> ParseDocType(std::string_view name);

enum class AppType : uint8_t { kAdd = 1, kModify = 2, kDelete = 3 };

enum class FieldKind : uint8_t { kT, kI, kD, kS, kY, kG };
// When Appendix A requires a field: always, or for one list tradeMode.
enum class Need : uint8_t {
  kOptional,
  kRequired,
  kRequired1210,
  kRequired9610
};

template <class T>
struct FieldSpec {
  using Member =
      std::variant<std::string_view T::*, std::optional<Decimal> T::*,
                   std::optional<absl::CivilSecond> T::*,
                   std::optional<absl::CivilDay> T::*,
                   std::optional<int64_t> T::*>;
  std::string_view name;
  FieldKind kind;
  Need need;
  Member member;
};

// Calls f with the member pointer a FieldSpec holds. A switch on the index:
// std::visit's generated dispatch is measurably slower on the decode path.
template <class T, class F>
inline void VisitMember(const typename FieldSpec<T>::Member& m, F&& f) {
  switch (m.index()) {
    case 0:
      return f(*std::get_if<0>(&m));
    case 1:
      return f(*std::get_if<1>(&m));
    case 2:
      return f(*std::get_if<2>(&m));
    case 3:
      return f(*std::get_if<3>(&m));
    default:
      return f(*std::get_if<4>(&m));
  }
}

// Fields every document carries at its top level. docType, appType and
// appTime are always present in a decoded document.
struct DocumentHead {
  std::string_view guid;
  AppType appType = AppType::kAdd;
  absl::CivilSecond appTime;
  std::string_view appStatus;
};

#define CLEARLANE_TYPE_T std::string_view
#define CLEARLANE_TYPE_I std::string_view
#define CLEARLANE_TYPE_D std::optional<Decimal>
#define CLEARLANE_TYPE_S std::optional<absl::CivilSecond>
#define CLEARLANE_TYPE_Y std::optional<absl::CivilDay>
#define CLEARLANE_TYPE_G std::optional<int64_t>
#define CLEARLANE_DECLARE_FIELD(name, kind, need) CLEARLANE_TYPE_##kind name;

// ---- Import ---------------------------------------------------------------

// clang-format off
#define CLEARLANE_CEB311_FIELDS(X) \
  X(orderType, T, Required) \
  X(orderNo, I, Required) \
  X(ebpCode, I, Required) \
  X(ebpName, T, Required) \
  X(ebcCode, I, Required) \
  X(ebcName, T, Required) \
  X(goodsValue, D, Required) \
  X(freight, D, Required) \
  X(discount, D, Required) \
  X(taxTotal, D, Required) \
  X(acturalPaid, D, Required) \
  X(currency, T, Required) \
  X(buyerRegNo, T, Required) \
  X(buyerName, T, Required) \
  X(buyerTelephone, T, Required) \
  X(buyerIdType, T, Required) \
  X(buyerIdNumber, I, Required) \
  X(payCode, I, Optional) \
  X(payName, T, Optional) \
  X(payTransactionId, I, Optional) \
  X(batchNumbers, T, Optional) \
  X(consignee, T, Required) \
  X(consigneeTelephone, T, Required) \
  X(consigneeAddress, T, Required) \
  X(consigneeDistrict, T, Optional) \
  X(note, T, Optional)

#define CLEARLANE_CEB311_ITEM_FIELDS(X) \
  X(gnum, G, Required) \
  X(itemNo, T, Optional) \
  X(itemName, T, Required) \
  X(gmodel, T, Required) \
  X(itemDescribe, T, Optional) \
  X(barCode, T, Optional) \
  X(unit, T, Required) \
  X(qty, D, Required) \
  X(price, D, Required) \
  X(totalPrice, D, Required) \
  X(currency, T, Required) \
  X(country, T, Required) \
  X(note, T, Optional)
// clang-format on

// clang-format off
#define CLEARLANE_CEB411_FIELDS(X) \
  X(payCode, I, Required) \
  X(payName, T, Required) \
  X(payTransactionId, I, Required) \
  X(orderNo, I, Required) \
  X(ebpCode, I, Required) \
  X(ebpName, T, Required) \
  X(payerIdType, T, Required) \
  X(payerIdNumber, I, Required) \
  X(payerName, T, Required) \
  X(telephone, T, Optional) \
  X(amountPaid, D, Required) \
  X(currency, T, Required) \
  X(payTime, S, Required) \
  X(note, T, Optional)
// clang-format on

// clang-format off
#define CLEARLANE_CEB511_FIELDS(X) \
  X(logisticsCode, I, Required) \
  X(logisticsName, T, Required) \
  X(logisticsNo, I, Required) \
  X(billNo, I, Optional) \
  X(orderNo, I, Required) \
  X(freight, D, Optional) \
  X(insuredFee, D, Optional) \
  X(currency, T, Required) \
  X(weight, D, Required) \
  X(packNo, T, Required) \
  X(goodsInfo, T, Optional) \
  X(consignee, T, Required) \
  X(consigneeAddress, T, Required) \
  X(consigneeTelephone, T, Required) \
  X(note, T, Optional)
// clang-format on

// clang-format off
#define CLEARLANE_CEB621_FIELDS(X) \
  X(orderNo, I, Required) \
  X(ebpCode, I, Required) \
  X(ebpName, T, Required) \
  X(ebcCode, I, Required) \
  X(ebcName, T, Required) \
  X(logisticsNo, I, Required) \
  X(logisticsCode, I, Required) \
  X(logisticsName, T, Required) \
  X(copNo, I, Optional) \
  X(preNo, I, Optional) \
  X(assureCode, I, Required) \
  X(emsNo, I, Required1210) \
  X(invtNo, I, Optional) \
  X(ieFlag, T, Required) \
  X(declTime, Y, Required) \
  X(customsCode, T, Required) \
  X(portCode, T, Required) \
  X(ieDate, Y, Optional) \
  X(buyerIdType, T, Required) \
  X(buyerIdNumber, I, Required) \
  X(buyerName, T, Required) \
  X(buyerTelephone, T, Required) \
  X(consigneeAddress, T, Required) \
  X(agentCode, I, Required) \
  X(agentName, T, Required) \
  X(areaCode, T, Required1210) \
  X(areaName, T, Required1210) \
  X(tradeMode, T, Required) \
  X(trafMode, T, Required) \
  X(trafNo, T, Required9610) \
  X(voyageNo, T, Required9610) \
  X(billNo, I, Required9610) \
  X(loctNo, T, Optional) \
  X(licenseNo, T, Optional) \
  X(country, T, Required) \
  X(freight, D, Required) \
  X(insuredFee, D, Required) \
  X(currency, T, Required) \
  X(wrapType, T, Optional) \
  X(packNo, T, Required) \
  X(grossWeight, D, Required) \
  X(netWeight, D, Required) \
  X(note, T, Optional)

#define CLEARLANE_CEB621_ITEM_FIELDS(X) \
  X(gnum, G, Required) \
  X(itemRecordNo, T, Required1210) \
  X(itemNo, T, Optional) \
  X(itemName, T, Optional) \
  X(gcode, T, Required) \
  X(gname, T, Required) \
  X(gmodel, T, Required) \
  X(barCode, T, Optional) \
  X(country, T, Required) \
  X(tradeCountry, T, Optional) \
  X(currency, T, Required) \
  X(qty, D, Required) \
  X(unit, T, Required) \
  X(qty1, D, Required) \
  X(unit1, T, Required) \
  X(qty2, D, Optional) \
  X(unit2, T, Optional) \
  X(price, D, Required) \
  X(totalPrice, D, Required) \
  X(note, T, Optional)
// clang-format on

// Cancels and returns name the list they act on; Appendix A requires none of
// their fields (identity aside), the rules check what they need.
// clang-format off
#define CLEARLANE_CANCEL_FIELDS(X) \
  X(customsCode, T, Optional) \
  X(orderNo, I, Optional) \
  X(ebpCode, I, Optional) \
  X(ebpName, T, Optional) \
  X(ebcCode, I, Optional) \
  X(ebcName, T, Optional) \
  X(logisticsNo, I, Optional) \
  X(logisticsCode, I, Optional) \
  X(logisticsName, T, Optional) \
  X(copNo, I, Optional) \
  X(preNo, I, Optional) \
  X(invtNo, I, Optional) \
  X(buyerIdType, T, Optional) \
  X(buyerIdNumber, I, Optional) \
  X(buyerName, T, Optional) \
  X(buyerTelephone, T, Optional) \
  X(agentCode, I, Optional) \
  X(agentName, T, Optional) \
  X(reason, T, Optional) \
  X(note, T, Optional)

#define CLEARLANE_CEB625_ITEM_FIELDS(X) \
  X(gnum, G, Optional) \
  X(gcode, T, Optional) \
  X(gname, T, Optional) \
  X(qty, D, Optional) \
  X(unit, T, Optional) \
  X(note, T, Optional)
// clang-format on

// ---- Export ---------------------------------------------------------------

// clang-format off
#define CLEARLANE_CEB303_FIELDS(X) \
  X(orderType, T, Required) \
  X(orderNo, I, Required) \
  X(ebpCode, I, Required) \
  X(ebpName, T, Required) \
  X(ebcCode, I, Required) \
  X(ebcName, T, Required) \
  X(goodsValue, D, Required) \
  X(freight, D, Required) \
  X(currency, T, Required) \
  X(note, T, Optional)

#define CLEARLANE_CEB303_ITEM_FIELDS(X) \
  X(gnum, G, Required) \
  X(itemNo, T, Required) \
  X(itemName, T, Required) \
  X(itemDescribe, T, Optional) \
  X(barCode, T, Optional) \
  X(unit, T, Required) \
  X(currency, T, Required) \
  X(qty, D, Required) \
  X(price, D, Required) \
  X(totalPrice, D, Required) \
  X(note, T, Optional)
// clang-format on

// clang-format off
#define CLEARLANE_CEB403_FIELDS(X) \
  X(ebpCode, I, Required) \
  X(ebpName, T, Required) \
  X(ebcCode, I, Required) \
  X(ebcName, T, Required) \
  X(orderNo, I, Required) \
  X(payCode, I, Optional) \
  X(payName, T, Required) \
  X(payNo, I, Optional) \
  X(charge, D, Required) \
  X(currency, T, Required) \
  X(accountingDate, S, Required) \
  X(note, T, Optional)
// clang-format on

// clang-format off
#define CLEARLANE_CEB505_FIELDS(X) \
  X(logisticsCode, I, Required) \
  X(logisticsName, T, Required) \
  X(logisticsNo, I, Required) \
  X(freight, D, Required) \
  X(insuredFee, D, Required) \
  X(currency, T, Required) \
  X(grossWeight, D, Required) \
  X(packNo, T, Required) \
  X(goodsInfo, T, Required) \
  X(ebcCode, I, Optional) \
  X(ebcName, T, Optional) \
  X(ebcTelephone, T, Optional) \
  X(note, T, Optional)
// clang-format on

// clang-format off
#define CLEARLANE_CEB507_FIELDS(X) \
  X(customsCode, T, Optional) \
  X(copNo, I, Optional) \
  X(preNo, I, Optional) \
  X(operatorCode, T, Optional) \
  X(operatorName, T, Optional) \
  X(loctNo, T, Optional) \
  X(ieFlag, T, Optional) \
  X(trafMode, T, Optional) \
  X(billNo, I, Optional) \
  X(domesticTrafNo, T, Optional) \
  X(logisticsCode, I, Optional) \
  X(logisticsName, T, Optional) \
  X(msgCount, T, Optional) \
  X(msgSeqNo, T, Optional) \
  X(note, T, Optional)

#define CLEARLANE_CEB507_ITEM_FIELDS(X) \
  X(gnum, G, Optional) \
  X(logisticsNo, I, Optional) \
  X(totalPackageNo, T, Optional) \
  X(note, T, Optional)
// clang-format on

// clang-format off
#define CLEARLANE_CEB509_FIELDS(X) \
  X(customsCode, T, Optional) \
  X(copNo, I, Optional) \
  X(preNo, I, Optional) \
  X(logisticsCode, I, Optional) \
  X(logisticsName, T, Optional) \
  X(trafMode, T, Optional) \
  X(trafName, T, Optional) \
  X(voyageNo, T, Optional) \
  X(billNo, I, Optional) \
  X(leaveTime, S, Optional) \
  X(msgCount, T, Optional) \
  X(msgSeqNo, T, Optional) \
  X(note, T, Optional)

#define CLEARLANE_CEB509_ITEM_FIELDS(X) \
  X(gnum, G, Optional) \
  X(totalPackageNo, T, Optional) \
  X(logisticsNo, I, Optional) \
  X(note, T, Optional)
// clang-format on

// clang-format off
#define CLEARLANE_CEB603_FIELDS(X) \
  X(customsCode, T, Required) \
  X(ebpCode, I, Required) \
  X(ebpName, T, Required) \
  X(orderNo, I, Required) \
  X(logisticsCode, I, Required) \
  X(logisticsName, T, Required) \
  X(logisticsNo, I, Required) \
  X(copNo, I, Required) \
  X(preNo, I, Optional) \
  X(invtNo, I, Optional) \
  X(ieFlag, T, Required) \
  X(portCode, T, Required) \
  X(ieDate, Y, Required) \
  X(statisticsFlag, T, Required) \
  X(agentCode, I, Required) \
  X(agentName, T, Required) \
  X(ebcCode, I, Required) \
  X(ebcName, T, Required) \
  X(ownerCode, I, Required) \
  X(ownerName, T, Required) \
  X(iacCode, T, Required1210) \
  X(iacName, T, Required1210) \
  X(emsNo, I, Optional) \
  X(tradeMode, T, Required) \
  X(trafMode, T, Required) \
  X(trafName, T, Optional) \
  X(voyageNo, T, Optional) \
  X(billNo, I, Optional) \
  X(totalPackageNo, T, Optional) \
  X(loctNo, T, Optional) \
  X(licenseNo, T, Optional) \
  X(country, T, Required) \
  X(POD, T, Required) \
  X(freight, D, Required) \
  X(fCurrency, T, Required) \
  X(fFlag, T, Required) \
  X(insuredFee, D, Required) \
  X(iCurrency, T, Required) \
  X(iFlag, T, Required) \
  X(wrapType, T, Required) \
  X(packNo, T, Required) \
  X(grossWeight, D, Required) \
  X(netWeight, D, Required) \
  X(note, T, Optional)

#define CLEARLANE_CEB603_ITEM_FIELDS(X) \
  X(gnum, G, Required) \
  X(itemNo, T, Required) \
  X(itemRecordNo, T, Required1210) \
  X(itemName, T, Optional) \
  X(gcode, T, Required) \
  X(gname, T, Required) \
  X(gmodel, T, Required) \
  X(barCode, T, Required) \
  X(country, T, Required) \
  X(currency, T, Required) \
  X(qty, D, Required) \
  X(qty1, D, Required) \
  X(qty2, D, Optional) \
  X(unit, T, Required) \
  X(unit1, T, Required) \
  X(unit2, T, Optional) \
  X(price, D, Required) \
  X(totalPrice, D, Required) \
  X(note, T, Optional)
// clang-format on

// Declares an item struct. `Fields()` is the table built from the same list.
#define CLEARLANE_ITEM_STRUCT(Name, LIST)             \
  struct Name {                                       \
    LIST(CLEARLANE_DECLARE_FIELD)                     \
    static std::span<const FieldSpec<Name>> Fields(); \
  };
#define CLEARLANE_DOCUMENT_STRUCT(Name, Type, LIST, ItemType) \
  struct Name : DocumentHead {                                \
    static constexpr DocType kType = DocType::Type;           \
    using Item = ItemType;                                    \
    LIST(CLEARLANE_DECLARE_FIELD)                             \
    std::vector<ItemType> items;                              \
    static std::span<const FieldSpec<Name>> Fields();         \
  };
#define CLEARLANE_HEAD_ONLY_STRUCT(Name, Type, LIST)  \
  struct Name : DocumentHead {                        \
    static constexpr DocType kType = DocType::Type;   \
    using Item = void;                                \
    LIST(CLEARLANE_DECLARE_FIELD)                     \
    static std::span<const FieldSpec<Name>> Fields(); \
  };

CLEARLANE_ITEM_STRUCT(Ceb311OrderItem, CLEARLANE_CEB311_ITEM_FIELDS)
CLEARLANE_DOCUMENT_STRUCT(Ceb311Order, kCeb311, CLEARLANE_CEB311_FIELDS,
                          Ceb311OrderItem)
CLEARLANE_HEAD_ONLY_STRUCT(Ceb411Payment, kCeb411, CLEARLANE_CEB411_FIELDS)
CLEARLANE_HEAD_ONLY_STRUCT(Ceb511Waybill, kCeb511, CLEARLANE_CEB511_FIELDS)
CLEARLANE_ITEM_STRUCT(Ceb621ListItem, CLEARLANE_CEB621_ITEM_FIELDS)
CLEARLANE_DOCUMENT_STRUCT(Ceb621List, kCeb621, CLEARLANE_CEB621_FIELDS,
                          Ceb621ListItem)
CLEARLANE_HEAD_ONLY_STRUCT(Ceb623Cancel, kCeb623, CLEARLANE_CANCEL_FIELDS)
CLEARLANE_ITEM_STRUCT(Ceb625ReturnItem, CLEARLANE_CEB625_ITEM_FIELDS)
CLEARLANE_DOCUMENT_STRUCT(Ceb625Return, kCeb625, CLEARLANE_CANCEL_FIELDS,
                          Ceb625ReturnItem)
CLEARLANE_ITEM_STRUCT(Ceb303OrderItem, CLEARLANE_CEB303_ITEM_FIELDS)
CLEARLANE_DOCUMENT_STRUCT(Ceb303Order, kCeb303, CLEARLANE_CEB303_FIELDS,
                          Ceb303OrderItem)
CLEARLANE_HEAD_ONLY_STRUCT(Ceb403PaymentReceived, kCeb403,
                           CLEARLANE_CEB403_FIELDS)
CLEARLANE_HEAD_ONLY_STRUCT(Ceb505Waybill, kCeb505, CLEARLANE_CEB505_FIELDS)
CLEARLANE_ITEM_STRUCT(Ceb507ArrivalItem, CLEARLANE_CEB507_ITEM_FIELDS)
CLEARLANE_DOCUMENT_STRUCT(Ceb507Arrival, kCeb507, CLEARLANE_CEB507_FIELDS,
                          Ceb507ArrivalItem)
CLEARLANE_ITEM_STRUCT(Ceb509DepartureItem, CLEARLANE_CEB509_ITEM_FIELDS)
CLEARLANE_DOCUMENT_STRUCT(Ceb509Departure, kCeb509, CLEARLANE_CEB509_FIELDS,
                          Ceb509DepartureItem)
CLEARLANE_ITEM_STRUCT(Ceb603ListItem, CLEARLANE_CEB603_ITEM_FIELDS)
CLEARLANE_DOCUMENT_STRUCT(Ceb603List, kCeb603, CLEARLANE_CEB603_FIELDS,
                          Ceb603ListItem)

#undef CLEARLANE_ITEM_STRUCT
#undef CLEARLANE_DOCUMENT_STRUCT
#undef CLEARLANE_HEAD_ONLY_STRUCT

// A decoded document. The alternatives are in DocType order, so
// `Document::index()` == static_cast<int>(DocType).
using Document =
    std::variant<Ceb311Order, Ceb411Payment, Ceb511Waybill, Ceb621List,
                 Ceb623Cancel, Ceb625Return, Ceb303Order, Ceb403PaymentReceived,
                 Ceb505Waybill, Ceb507Arrival, Ceb509Departure, Ceb603List>;

inline DocType TypeOf(const Document& d) {
  return static_cast<DocType>(d.index());
}
const DocumentHead& HeadOf(const Document& d);

template <class T>
inline constexpr bool kHasItems = !std::is_void_v<typename T::Item>;

// Copies every text field of `doc` into `storage` (replacing its contents)
// and points the fields there, so the document no longer depends on the
// Decoder that produced it. `storage` must not change while `doc` is used.
void RelocateDocument(Document* doc, std::string* storage);

// Paths of the fields Appendix A requires that `doc` lacks, in table order,
// head before items: "buyerName", "items[2].gmodel", "items" for a document
// without lines. The list tradeMode selects the 1210/9610 extras; for other
// documents only kRequired applies.
std::vector<std::string> MissingRequiredFields(const Document& doc);

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_DOCUMENT_H_
