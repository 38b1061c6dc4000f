#include "model/document.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace clearlane {

#define CLEARLANE_FIELD_SPEC(name, kind, need) \
  {#name, FieldKind::k##kind, Need::k##need, &Self::name},
#define CLEARLANE_DEFINE_FIELDS(Name, LIST)                                \
  std::span<const FieldSpec<Name>> Name::Fields() {                        \
    using Self = Name;                                                     \
    static const FieldSpec<Name> kFields[] = {LIST(CLEARLANE_FIELD_SPEC)}; \
    return kFields;                                                        \
  }

CLEARLANE_DEFINE_FIELDS(Ceb311OrderItem, CLEARLANE_CEB311_ITEM_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb311Order, CLEARLANE_CEB311_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb411Payment, CLEARLANE_CEB411_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb511Waybill, CLEARLANE_CEB511_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb621ListItem, CLEARLANE_CEB621_ITEM_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb621List, CLEARLANE_CEB621_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb623Cancel, CLEARLANE_CANCEL_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb625ReturnItem, CLEARLANE_CEB625_ITEM_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb625Return, CLEARLANE_CANCEL_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb303OrderItem, CLEARLANE_CEB303_ITEM_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb303Order, CLEARLANE_CEB303_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb403PaymentReceived, CLEARLANE_CEB403_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb505Waybill, CLEARLANE_CEB505_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb507ArrivalItem, CLEARLANE_CEB507_ITEM_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb507Arrival, CLEARLANE_CEB507_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb509DepartureItem, CLEARLANE_CEB509_ITEM_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb509Departure, CLEARLANE_CEB509_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb603ListItem, CLEARLANE_CEB603_ITEM_FIELDS)
CLEARLANE_DEFINE_FIELDS(Ceb603List, CLEARLANE_CEB603_FIELDS)

#undef CLEARLANE_DEFINE_FIELDS
#undef CLEARLANE_FIELD_SPEC

namespace {

constexpr std::array<std::string_view, kDocTypeCount> kDocTypeNames = {
    "CEB311", "CEB411", "CEB511", "CEB621", "CEB623", "CEB625",
    "CEB303", "CEB403", "CEB505", "CEB507", "CEB509", "CEB603"};

template <class T>
bool IsPresent(const T& record, const typename FieldSpec<T>::Member& m) {
  return std::visit(
      [&](auto member) {
        const auto& v = record.*member;
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>,
                                     std::string_view>) {
          return !v.empty();
        } else {
          return v.has_value();
        }
      },
      m);
}

bool Applies(Need need, std::string_view trade_mode) {
  switch (need) {
    case Need::kOptional:
      return false;
    case Need::kRequired:
      return true;
    case Need::kRequired1210:
      return trade_mode == "1210";
    case Need::kRequired9610:
      return trade_mode == "9610";
  }
  return false;
}

template <class T>
void AppendMissing(const T& record, std::string_view trade_mode,
                   std::string_view prefix, std::vector<std::string>* out) {
  for (const FieldSpec<T>& f : T::Fields()) {
    if (Applies(f.need, trade_mode) && !IsPresent(record, f.member)) {
      out->push_back(absl::StrFormat("%s%s", prefix, f.name));
    }
  }
}

// Documents whose Appendix A rows depend on the list's tradeMode.
template <class T>
std::string_view TradeModeOf(const T& doc) {
  if constexpr (std::is_same_v<T, Ceb621List> ||
                std::is_same_v<T, Ceb603List>) {
    return doc.tradeMode;
  } else {
    return {};
  }
}

// Whether Appendix A asks the document to have lines at all (§10: "A list or
// order without lines is FIELD_INVALID (items)").
template <class T>
constexpr bool kLinesRequired =
    std::is_same_v<T, Ceb311Order> || std::is_same_v<T, Ceb621List> ||
    std::is_same_v<T, Ceb303Order> || std::is_same_v<T, Ceb603List>;

template <class T, class F>
void ForEachText(T& record, F&& f) {
  for (const FieldSpec<T>& spec : T::Fields()) {
    VisitMember<T>(spec.member, [&](auto member) {
      auto& v = record.*member;
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>,
                                   std::string_view>) {
        f(v);
      }
    });
  }
}

}  // namespace

void RelocateDocument(Document* doc, std::string* storage) {
  std::visit(
      [&](auto& d) {
        using T = std::decay_t<decltype(d)>;
        // Two passes: size first, so the storage never reallocates while
        // fields point into it.
        size_t total = d.guid.size() + d.appStatus.size();
        auto count = [&](std::string_view& v) { total += v.size(); };
        ForEachText(d, count);
        if constexpr (kHasItems<T>) {
          for (auto& item : d.items) ForEachText(item, count);
        }
        storage->clear();
        storage->reserve(total);
        auto move = [&](std::string_view& v) {
          const size_t at = storage->size();
          storage->append(v);
          v = std::string_view(storage->data() + at, v.size());
        };
        move(d.guid);
        move(d.appStatus);
        ForEachText(d, move);
        if constexpr (kHasItems<T>) {
          for (auto& item : d.items) ForEachText(item, move);
        }
      },
      *doc);
}

std::string_view DocTypeName(DocType t) {
  return kDocTypeNames[static_cast<int>(t)];
}

std::optional<DocType> ParseDocType(std::string_view name) {
  for (int i = 0; i < kDocTypeCount; ++i) {
    if (kDocTypeNames[i] == name) return static_cast<DocType>(i);
  }
  return std::nullopt;
}

const DocumentHead& HeadOf(const Document& d) {
  return std::visit([](const auto& doc) -> const DocumentHead& { return doc; },
                    d);
}

std::vector<std::string> MissingRequiredFields(const Document& d) {
  std::vector<std::string> out;
  std::visit(
      [&](const auto& doc) {
        using T = std::decay_t<decltype(doc)>;
        const std::string_view mode = TradeModeOf(doc);
        AppendMissing(doc, mode, "", &out);
        if constexpr (kHasItems<T>) {
          if (kLinesRequired<T> && doc.items.empty()) out.push_back("items");
          for (size_t i = 0; i < doc.items.size(); ++i) {
            AppendMissing(doc.items[i], mode, absl::StrCat("items[", i, "]."),
                          &out);
          }
        }
      },
      d);
  return out;
}

}  // namespace clearlane
