#include "model/document_codec.h"

#include <algorithm>
#include <iterator>
#include <vector>

#include "model/coding.h"
#include "model/event_time.h"
#include "model/personal_data.h"

namespace clearlane {
namespace {

// Version 2 keeps a text field that no operator reads as a one-byte
// mark of its presence; version 1 kept every value. Both decode the same
// way.
constexpr uint8_t kCodecVersion = 2;

// The text fields whose values the operators read: the rules of contract
// §5, the fields receipts echo, the heads and lines of the monthly
// summary, and the buyer's key. State keeps any other text field only as
// present or absent, which is all the required-field check (FIELD_INVALID)
// asks of it: an order's documents are written to RocksDB at every epoch
// that changes the order, and most of their bytes are names and
// descriptions that nothing reads. A rule that reads a new field must add
// it here.
constexpr std::string_view kReadFields[] = {"agentCode",
                                            "buyerIdNumber",
                                            "buyerIdType",
                                            "buyerName",
                                            "consignee",
                                            "consigneeAddress",
                                            "consigneeTelephone",
                                            "copNo",
                                            "country",
                                            "currency",
                                            "customsCode",
                                            "ebcCode",
                                            "ebpCode",
                                            "gcode",
                                            "invtNo",
                                            "logisticsCode",
                                            "logisticsNo",
                                            "orderNo",
                                            "ownerCode",
                                            "payerIdNumber",
                                            "payerName",
                                            "portCode",
                                            "preNo",
                                            "statisticsFlag",
                                            "tradeMode",
                                            "trafMode",
                                            "unit1"};

// The presence mark of a text field that state does not keep.
constexpr std::string_view kPresent = "\x01";

enum class Kept : uint8_t { kPresence, kValue, kHashed };

// What state keeps of each field of T, in the order of T::Fields().
template <class T>
const std::vector<Kept>& KeptOf() {
  static const std::vector<Kept> kept = [] {
    std::vector<Kept> out;
    for (const FieldSpec<T>& f : T::Fields()) {
      const bool read =
          std::find(std::begin(kReadFields), std::end(kReadFields), f.name) !=
          std::end(kReadFields);
      out.push_back(!read                     ? Kept::kPresence
                    : IsPersonalField(f.name) ? Kept::kHashed
                                              : Kept::kValue);
    }
    return out;
  }();
  return kept;
}

template <class T>
void PutFields(const T& record, PersonalHash hash, BinaryWriter& w) {
  const std::vector<Kept>& kept = KeptOf<T>();
  size_t i = 0;
  for (const FieldSpec<T>& f : T::Fields()) {
    const Kept k = kept[i++];
    VisitMember<T>(f.member, [&](auto member) {
      const auto& v = record.*member;
      using V = std::decay_t<decltype(v)>;
      if constexpr (std::is_same_v<V, std::string_view>) {
        if (v.empty() || k == Kept::kValue) {
          w.Bytes(v);
        } else if (k == Kept::kHashed) {
          w.Bytes(hash(v));
        } else {
          w.Bytes(kPresent);
        }
      } else {
        w.U8(v.has_value());
        if (!v) return;
        if constexpr (std::is_same_v<V, std::optional<Decimal>>) {
          w.SignedVarint128(v->units());
        } else if constexpr (std::is_same_v<V,
                                            std::optional<absl::CivilSecond>>) {
          w.SignedVarint(ToEpochSeconds(*v));
        } else if constexpr (std::is_same_v<V, std::optional<absl::CivilDay>>) {
          w.SignedVarint(*v - absl::CivilDay(1970, 1, 1));
        } else {
          w.SignedVarint(*v);
        }
      }
    });
  }
}

template <class T>
void GetFields(BinaryReader& r, T* record) {
  for (const FieldSpec<T>& f : T::Fields()) {
    VisitMember<T>(f.member, [&](auto member) {
      auto& v = record->*member;
      using V = std::decay_t<decltype(v)>;
      if constexpr (std::is_same_v<V, std::string_view>) {
        v = r.Bytes();
      } else {
        v.reset();
        if (!r.U8()) return;
        if constexpr (std::is_same_v<V, std::optional<Decimal>>) {
          v = Decimal::FromUnits(r.SignedVarint128());
        } else {
          const int64_t n = r.SignedVarint();
          if constexpr (std::is_same_v<V, std::optional<absl::CivilSecond>>) {
            v = FromEpochSeconds(n);
          } else if constexpr (std::is_same_v<V,
                                              std::optional<absl::CivilDay>>) {
            v = absl::CivilDay(1970, 1, 1) + n;
          } else {
            v = n;
          }
        }
      }
    });
  }
}

}  // namespace

std::string EncodeDocument(const Document& doc, PersonalHash hash) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kCodecVersion);
  w.U8(static_cast<uint8_t>(TypeOf(doc)));
  std::visit(
      [&](const auto& d) {
        using T = std::decay_t<decltype(d)>;
        // No operator reads the guid either.
        w.Bytes(d.guid.empty() ? std::string_view() : kPresent);
        w.U8(static_cast<uint8_t>(d.appType));
        w.SignedVarint(ToEpochSeconds(d.appTime));
        w.Bytes(d.appStatus);
        PutFields(d, hash, w);
        if constexpr (kHasItems<T>) {
          w.Varint(d.items.size());
          for (const auto& item : d.items) PutFields(item, hash, w);
        }
      },
      doc);
  return out;
}

absl::Status DecodeDocument(std::string_view bytes, Document* doc) {
  BinaryReader r(bytes);
  if (const uint8_t version = r.U8(); version != 1 && version != 2) {
    return absl::DataLossError("stored document of an unknown version");
  }
  const uint8_t type = r.U8();
  if (type >= kDocTypeCount) return absl::DataLossError("stored docType");
  [&]<size_t... I>(std::index_sequence<I...>) {
    ((type == I ? (void)doc->template emplace<I>() : (void)0), ...);
  }
  (std::make_index_sequence<kDocTypeCount>());
  std::visit(
      [&](auto& d) {
        using T = std::decay_t<decltype(d)>;
        d.guid = r.Bytes();
        d.appType = static_cast<AppType>(r.U8());
        d.appTime = FromEpochSeconds(r.SignedVarint());
        d.appStatus = r.Bytes();
        GetFields(r, &d);
        if constexpr (kHasItems<T>) {
          const uint64_t n = r.Varint();
          d.items.clear();
          for (uint64_t i = 0; i < n && r.ok(); ++i) {
            d.items.emplace_back();
            GetFields(r, &d.items.back());
          }
        }
      },
      *doc);
  if (!r.ok() || !r.done())
    return absl::DataLossError("stored document is corrupt");
  return absl::OkStatus();
}

}  // namespace clearlane
