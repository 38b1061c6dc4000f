#include "model/document_codec.h"

#include "model/coding.h"
#include "model/event_time.h"
#include "model/personal_data.h"

namespace clearlane {
namespace {

constexpr uint8_t kCodecVersion = 1;

template <class T>
void PutFields(const T& record, const PersonalHash& hash, BinaryWriter& w) {
  for (const FieldSpec<T>& f : T::Fields()) {
    VisitMember<T>(f.member, [&](auto member) {
      const auto& v = record.*member;
      using V = std::decay_t<decltype(v)>;
      if constexpr (std::is_same_v<V, std::string_view>) {
        if (!v.empty() && IsPersonalField(f.name)) {
          w.Bytes(hash(v));
        } else {
          w.Bytes(v);
        }
      } else {
        w.U8(v.has_value());
        if (!v) return;
        if constexpr (std::is_same_v<V, std::optional<Decimal>>) {
          w.SignedVarint(v->units());
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
        const int64_t n = r.SignedVarint();
        if constexpr (std::is_same_v<V, std::optional<Decimal>>) {
          v = Decimal::FromUnits(n);
        } else if constexpr (std::is_same_v<V,
                                            std::optional<absl::CivilSecond>>) {
          v = FromEpochSeconds(n);
        } else if constexpr (std::is_same_v<V, std::optional<absl::CivilDay>>) {
          v = absl::CivilDay(1970, 1, 1) + n;
        } else {
          v = n;
        }
      }
    });
  }
}

}  // namespace

std::string EncodeDocument(const Document& doc, const PersonalHash& hash) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kCodecVersion);
  w.U8(static_cast<uint8_t>(TypeOf(doc)));
  std::visit(
      [&](const auto& d) {
        using T = std::decay_t<decltype(d)>;
        w.Bytes(d.guid);
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
  if (r.U8() != kCodecVersion) {
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
