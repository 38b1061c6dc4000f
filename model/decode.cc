#include "model/decode.h"

#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "model/event_time.h"
#include "model/personal_data.h"
#include "model/utf8.h"

namespace clearlane {
namespace {

namespace od = simdjson::ondemand;

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && IsJsonSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size()) return false;
  if (s[i] == '0') {
    ++i;
  } else if (IsDigit(s[i])) {
    while (i < s.size() && IsDigit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == start) return false;
  }
  return i == s.size();
}

// An integer in the sense of §10: a JSON number without fraction or exponent.
bool IsJsonInteger(std::string_view s) {
  return s.find_first_of(".eE") == std::string_view::npos;
}

// Values quoted in error details are cut so a detail stays one short line.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "\"";
  // Cut at a character boundary: the record is known to be valid UTF-8.
  size_t n = std::min(s.size(), kMax);
  while (n < s.size() && n > 0 &&
         (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) {
    --n;
  }
  out.append(s.substr(0, n));
  if (n < s.size()) out.append("...");
  out.append("\"");
  return out;
}

std::string_view TypeWord(od::json_type t) {
  switch (t) {
    case od::json_type::array:
      return "an array";
    case od::json_type::object:
      return "an object";
    case od::json_type::number:
      return "a number";
    case od::json_type::string:
      return "a string";
    case od::json_type::boolean:
      return "a boolean";
    case od::json_type::null:
      return "null";
  }
  return "a value";
}

std::string_view Expectation(FieldKind kind) {
  switch (kind) {
    case FieldKind::kT:
      return "a string or an integer";
    case FieldKind::kI:
      return "a string";
    case FieldKind::kD:
      return "a decimal of 1 to 14 digits, optionally '.' and 1 to 5 digits";
    case FieldKind::kS:
      return "a time YYYYMMDDhhmmss";
    case FieldKind::kY:
      return "a date YYYYMMDD";
    case FieldKind::kG:
      return "a line number (an integer or a string of digits)";
  }
  return "";
}

// Where a field sits, for error paths: the head, or line `item`.
struct Where {
  int item = -1;
};

// A scalar read from JSON, before it is converted to a field's kind.
struct Scalar {
  od::json_type type;
  std::string_view text;  // string contents, or the number's token
};

// Keys the decoder treats outside the FieldSpec tables.
enum HeadKey : int16_t {
  kUnknownKey = -1,
  kDocTypeKey = -2,
  kItemsKey = -3,
  kGuidKey = -4,
  kAppTypeKey = -5,
  kAppTimeKey = -6,
  kAppStatusKey = -7,
};

// The slot of KeyHints that T's keys use: a document type's head, or its
// lines (kDocTypeCount + type).
template <class T, size_t I = 0>
constexpr int HintSlot() {
  if constexpr (I == kDocTypeCount) {
    static_assert(I != kDocTypeCount, "not a document or line type");
    return -1;
  } else {
    using D = std::variant_alternative_t<I, Document>;
    if constexpr (std::is_same_v<D, T>) {
      return I;
    } else if constexpr (std::is_same_v<typename D::Item, T>) {
      return kDocTypeCount + I;
    } else {
      return HintSlot<T, I + 1>();
    }
  }
}

// Maps a field name to its FieldSpec index (or a HeadKey). Open addressing
// over a cheap hash of length and three characters: field names are short
// and few, and this lookup runs once per key of every document.
template <class T>
class KeyTable {
 public:
  static const KeyTable& Get() {
    static const KeyTable* table = new KeyTable();
    return *table;
  }
  // As Find, trying first the key seen at this position in the previous
  // document of this type: producers write their fields in a fixed order,
  // so one comparison usually settles it.
  int Find(std::string_view key, size_t position, KeyHints& hints) const {
    if (position >= hints.size()) return Find(key);
    const int hint = hints[position];
    if (hint != kNoHint && SameKey(NameOf(hint), key)) return hint;
    const int code = Find(key);
    hints[position] = static_cast<int16_t>(code);
    return code;
  }

  int Find(std::string_view key) const {
    for (size_t slot = Hash(key);; slot = (slot + 1) & kMask) {
      const Entry& e = slots_[slot];
      if (e.code == kEmpty) return kUnknownKey;
      if (SameKey(e.name, key)) return e.code;
    }
  }

 private:
  static constexpr size_t kSlots = 512;
  static constexpr int kSpecials = 8;
  std::string_view NameOf(int code) const {
    return code >= 0 ? T::Fields()[code].name : special_names_[-code];
  }
  static constexpr size_t kMask = kSlots - 1;
  static constexpr int kEmpty = -100;
  struct Entry {
    std::string_view name;
    int code = kEmpty;
  };
  // Keys are a few bytes long: a loop beats a call to memcmp.
  static bool SameKey(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  // FNV-1a: cheap on keys this short, and spreads names that share their
  // length and ends (qty, qty1, qty2; unit, unit1, unit2).
  __attribute__((always_inline)) static size_t Hash(std::string_view k) {
    uint32_t h = 2166136261u;
    for (char c : k) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    return (h ^ (h >> 15)) & kMask;
  }
  KeyTable() {
    const auto fields = T::Fields();
    for (size_t i = 0; i < fields.size(); ++i) {
      Insert(fields[i].name, static_cast<int>(i));
    }
    if constexpr (std::is_base_of_v<DocumentHead, T>) {
      Insert("docType", kDocTypeKey);
      Insert("items", kItemsKey);
      Insert("guid", kGuidKey);
      Insert("appType", kAppTypeKey);
      Insert("appTime", kAppTimeKey);
      Insert("appStatus", kAppStatusKey);
    }
  }
  void Insert(std::string_view name, int code) {
    if (code < 0) special_names_[-code] = name;
    size_t slot = Hash(name);
    while (slots_[slot].code != kEmpty) slot = (slot + 1) & kMask;
    slots_[slot] = {name, code};
  }
  std::array<Entry, kSlots> slots_;
  std::array<std::string_view, kSpecials> special_names_;
};

// One pass over a record's JSON. Malformed JSON stops it at once; a field of
// the wrong form is remembered (the first, in document order) and the walk
// goes on, because malformed JSON anywhere takes precedence (§10).
class Walker {
 public:
  explicit Walker(std::array<KeyHints, 2 * kDocTypeCount>& hints)
      : hints_(hints) {}
  template <class T>
  KeyHints& HintsFor() {
    return hints_[HintSlot<T>()];
  }

  bool malformed() const { return malformed_; }
  const std::optional<std::string>& form_error() const { return form_error_; }

  // Validates a value this decoder does not read.
  bool Skip(od::value v, int depth) {
    od::json_type t;
    if (v.type().get(t)) return Fail();
    switch (t) {
      case od::json_type::object: {
        if (depth + 1 > kMaxJsonDepth) return Fail();
        od::object o;
        if (v.get_object().get(o)) return Fail();
        for (auto field : o) {
          std::string_view key;
          od::value child;
          if (field.error() || field.unescaped_key().get(key) ||
              field.value().get(child)) {
            return Fail();
          }
          if (!Skip(child, depth + 1)) return false;
        }
        return true;
      }
      case od::json_type::array: {
        if (depth + 1 > kMaxJsonDepth) return Fail();
        od::array a;
        if (v.get_array().get(a)) return Fail();
        for (auto element : a) {
          od::value child;
          if (element.get(child)) return Fail();
          if (!Skip(child, depth + 1)) return false;
        }
        return true;
      }
      default: {
        Scalar s;
        return ReadScalar(v, t, &s);
      }
    }
  }

  // Reads a scalar, validating it. Strings are unescaped (rejecting lone
  // surrogates); numbers keep their token, checked against RFC 8259.
  bool ReadScalar(od::value v, od::json_type t, Scalar* out) {
    out->type = t;
    switch (t) {
      case od::json_type::string:
        if (v.get_string().get(out->text)) return Fail();
        return true;
      case od::json_type::number:
        out->text = TrimRight(v.raw_json_token());
        if (!IsJsonNumber(out->text)) return Fail();
        return true;
      case od::json_type::boolean: {
        bool b;
        if (v.get_bool().get(b)) return Fail();
        out->text = b ? "true" : "false";
        return true;
      }
      case od::json_type::null: {
        bool is_null;
        if (v.is_null().get(is_null) || !is_null) return Fail();
        return true;
      }
      default:
        return Fail();
    }
  }

  // Reads the value of a known field into `record`. Returns false only on
  // malformed JSON.
  template <class T>
  bool ReadField(od::value v, int depth, const FieldSpec<T>& spec,
                 Where path_prefix, T* record) {
    od::json_type t;
    if (v.type().get(t)) return Fail();
    if (t == od::json_type::object || t == od::json_type::array) {
      if (!Skip(v, depth)) return false;
      NoteFormError(path_prefix, spec.name,
                    absl::StrFormat("expected %s, got %s",
                                    Expectation(spec.kind), TypeWord(t)));
      return true;
    }
    Scalar s;
    if (!ReadScalar(v, t, &s)) return false;
    VisitMember<T>(spec.member, [&](auto member) {
      Assign(s, spec, path_prefix, &(record->*member));
    });
    return true;
  }

  // Reads a field given as text (TextField) into `record`, as ReadField
  // would read a JSON string of that text, or an object in its place.
  template <class T>
  void ReadText(const TextField& f, const FieldSpec<T>& spec, Where path_prefix,
                T* record) {
    if (f.kind == TextField::kElements) {
      NoteFormError(path_prefix, spec.name,
                    absl::StrFormat("expected %s, got an object",
                                    Expectation(spec.kind)));
      return;
    }
    const Scalar s{od::json_type::string, f.text};
    VisitMember<T>(spec.member, [&](auto member) {
      Assign(s, spec, path_prefix, &(record->*member));
    });
  }

  void NoteFormError(Where where, std::string_view name, std::string message) {
    if (form_error_) return;
    form_error_ = where.item < 0 ? absl::StrFormat("%s: %s", name, message)
                                 : absl::StrFormat("items[%d].%s: %s",
                                                   where.item, name, message);
  }

  bool Fail() {
    malformed_ = true;
    return false;
  }

 private:
  // The text of a scalar for a text-like kind, or nullopt with the form
  // error noted. Null and "" leave the field absent.
  template <class T>
  __attribute__((always_inline)) std::optional<std::string_view> TextOf(
      const Scalar& s, const FieldSpec<T>& spec, Where prefix) {
    if (s.type == od::json_type::string) return s.text;
    if (s.type == od::json_type::number) {
      const bool integer_ok =
          spec.kind == FieldKind::kT || spec.kind == FieldKind::kG;
      if (integer_ok && IsJsonInteger(s.text)) return s.text;
      if (spec.kind == FieldKind::kD) return s.text;
    }
    WrongType(s, spec, prefix);
    return std::nullopt;
  }

  // The error path of TextOf, kept out of line so the common path stays
  // small.
  template <class T>
  __attribute__((noinline)) void WrongType(const Scalar& s,
                                           const FieldSpec<T>& spec,
                                           Where prefix) {
    std::string got =
        s.type == od::json_type::number && !IsPersonalField(spec.name)
            ? std::string(s.text)
            : std::string(TypeWord(s.type));
    NoteFormError(
        prefix, spec.name,
        absl::StrFormat("expected %s, got %s", Expectation(spec.kind), got));
  }

  template <class T>
  void Invalid(const Scalar& s, const FieldSpec<T>& spec, Where prefix) {
    NoteFormError(prefix, spec.name,
                  absl::StrFormat("expected %s, got %s", Expectation(spec.kind),
                                  IsPersonalField(spec.name)
                                      ? std::string("a value of another form")
                                      : (s.type == od::json_type::string
                                             ? Quote(s.text)
                                             : std::string(s.text))));
  }

  template <class T>
  void Assign(const Scalar& s, const FieldSpec<T>& spec, Where prefix,
              std::string_view* out) {
    *out = {};
    if (s.type == od::json_type::null) return;
    if (auto text = TextOf(s, spec, prefix)) *out = *text;
  }

  template <class T>
  void Assign(const Scalar& s, const FieldSpec<T>& spec, Where prefix,
              std::optional<Decimal>* out) {
    out->reset();
    if (s.type == od::json_type::null) return;
    auto text = TextOf(s, spec, prefix);
    if (!text || text->empty()) return;
    auto d = Decimal::Parse(*text);
    if (!d.ok()) return Invalid(s, spec, prefix);
    *out = *d;
  }

  template <class T>
  void Assign(const Scalar& s, const FieldSpec<T>& spec, Where prefix,
              std::optional<absl::CivilSecond>* out) {
    out->reset();
    if (s.type == od::json_type::null) return;
    auto text = TextOf(s, spec, prefix);
    if (!text || text->empty()) return;
    auto t = ParseTime14(*text);
    if (!t.ok()) return Invalid(s, spec, prefix);
    *out = *t;
  }

  template <class T>
  void Assign(const Scalar& s, const FieldSpec<T>& spec, Where prefix,
              std::optional<absl::CivilDay>* out) {
    out->reset();
    if (s.type == od::json_type::null) return;
    auto text = TextOf(s, spec, prefix);
    if (!text || text->empty()) return;
    auto d = ParseDate8(*text);
    if (!d.ok()) return Invalid(s, spec, prefix);
    *out = *d;
  }

  template <class T>
  void Assign(const Scalar& s, const FieldSpec<T>& spec, Where prefix,
              std::optional<int64_t>* out) {
    out->reset();
    if (s.type == od::json_type::null) return;
    auto text = TextOf(s, spec, prefix);
    if (!text || text->empty()) return;
    // Up to 9 digits: gnum is N5 in the standard; leading zeros allowed.
    size_t first = text->find_first_not_of('0');
    std::string_view significant = first == std::string_view::npos
                                       ? std::string_view()
                                       : text->substr(first);
    bool digits = !text->empty();
    for (char c : *text) digits = digits && IsDigit(c);
    if (!digits || significant.size() > 9) return Invalid(s, spec, prefix);
    int64_t n = 0;
    for (char c : significant) n = n * 10 + (c - '0');
    *out = n;
  }

  std::array<KeyHints, 2 * kDocTypeCount>& hints_;
  bool malformed_ = false;
  std::optional<std::string> form_error_;
};

// Reads the fields of one JSON object into `record`; unknown keys are
// validated and ignored. Duplicate keys: the last occurrence wins.
template <class T>
bool ReadObject(Walker& w, od::object o, int depth, Where prefix, T* record) {
  const KeyTable<T>& keys = KeyTable<T>::Get();
  const auto fields = T::Fields();
  KeyHints& hints = w.HintsFor<T>();
  size_t position = 0;
  for (auto field : o) {
    std::string_view key;
    od::value v;
    if (field.error() || field.unescaped_key().get(key) ||
        field.value().get(v)) {
      return w.Fail();
    }
    const int code = keys.Find(key, position++, hints);
    if (code < 0) {
      if (!w.Skip(v, depth)) return false;
    } else if (!w.ReadField(v, depth, fields[code], prefix, record)) {
      return false;
    }
  }
  return true;
}

// `items` that is not an array of lines: `got` names what it was; the
// document has no lines.
template <class Item>
void ItemsOfWrongForm(Walker& w, std::string_view got,
                      std::vector<Item>* items) {
  w.NoteFormError(Where{}, "items",
                  absl::StrFormat("expected an array of lines, got %s", got));
  items->clear();
}

template <class T>
bool ReadItems(Walker& w, od::value v, int depth, std::vector<T>* items) {
  size_t n = 0;
  od::json_type t;
  if (v.type().get(t)) return w.Fail();
  if (t == od::json_type::null) {
    bool is_null;
    if (v.is_null().get(is_null) || !is_null) return w.Fail();
    items->clear();
    return true;
  }
  if (t != od::json_type::array) {
    if (!w.Skip(v, depth)) return false;
    ItemsOfWrongForm(w, TypeWord(t), items);
    return true;
  }
  if (depth + 1 > kMaxJsonDepth) return w.Fail();
  od::array a;
  if (v.get_array().get(a)) return w.Fail();
  for (auto element : a) {
    od::value item;
    od::json_type item_type;
    if (element.get(item) || item.type().get(item_type)) return w.Fail();
    const Where prefix{static_cast<int>(n)};
    items->emplace_back();
    if (item_type != od::json_type::object) {
      if (!w.Skip(item, depth + 1)) return false;
      w.NoteFormError(
          Where{}, absl::StrCat("items[", n, "]"),
          absl::StrFormat("expected an object, got %s", TypeWord(item_type)));
    } else {
      if (depth + 2 > kMaxJsonDepth) return w.Fail();
      od::object o;
      if (item.get_object().get(o)) return w.Fail();
      if (!ReadObject(w, o, depth + 2, prefix, &(*items)[n])) return false;
    }
    ++n;
  }
  items->resize(n);
  return true;
}

// The head fields every document has, read outside the FieldSpec tables
// because they are not optional in the decoded document.
struct HeadFields {
  // '1', '2' or '3'; 0 when absent. Not an optional<char>: gcc 12 warns
  // that one may be read uninitialized where it cannot.
  char app_type = 0;
  std::optional<absl::CivilSecond> app_time;
};

// The wrong form of a head field: `got` names what was there instead.
void HeadFieldOfWrongForm(Walker& w, int code, std::string_view key,
                          std::string_view got) {
  w.NoteFormError(
      Where{}, key,
      absl::StrFormat("expected %s, got %s",
                      code == kAppTimeKey ? "a time YYYYMMDDhhmmss"
                                          : "a string or an integer",
                      got));
}

// Sets guid, appStatus, appType or appTime from a scalar of a suitable
// type (a string, an integer, or null).
template <class T>
void SetHeadField(Walker& w, int code, std::string_view key, const Scalar& s,
                  T* doc, HeadFields* head) {
  const od::json_type t = s.type;
  const bool absent = t == od::json_type::null || s.text.empty();
  const std::string_view text = absent ? std::string_view() : s.text;
  switch (code) {
    case kGuidKey:
      doc->guid = text;
      break;
    case kAppStatusKey:
      doc->appStatus = text;
      break;
    case kAppTypeKey:
      head->app_type = 0;
      if (absent) break;
      if (text != "1" && text != "2" && text != "3") {
        w.NoteFormError(
            Where{}, key,
            absl::StrFormat(
                "expected 1, 2 or 3, got %s",
                t == od::json_type::string ? Quote(text) : std::string(text)));
      } else {
        head->app_type = text[0];
      }
      break;
    default: {
      head->app_time.reset();
      if (absent) break;
      auto parsed = ParseTime14(text);
      if (!parsed.ok()) {
        w.NoteFormError(
            Where{}, key,
            absl::StrFormat("expected a time YYYYMMDDhhmmss, got %s",
                            Quote(text)));
      } else {
        head->app_time = *parsed;
      }
    }
  }
}

// Reads guid, appStatus, appType or appTime: code-like scalars kept in the
// head rather than in the FieldSpec tables.
template <class T>
bool ReadHeadField(Walker& w, od::value v, int code, std::string_view key,
                   T* doc, HeadFields* head) {
  od::json_type t;
  Scalar s;
  if (v.type().get(t)) return w.Fail();
  const bool is_time = code == kAppTimeKey;
  if (t == od::json_type::object || t == od::json_type::array ||
      t == od::json_type::boolean ||
      (t == od::json_type::number &&
       (is_time || !IsJsonInteger(TrimRight(v.raw_json_token()))))) {
    if (!w.Skip(v, 1)) return false;
    HeadFieldOfWrongForm(w, code, key, TypeWord(t));
    return true;
  }
  if (!w.ReadScalar(v, t, &s)) return false;
  SetHeadField(w, code, key, s, doc, head);
  return true;
}

template <class T>
bool ReadDocument(Walker& w, od::object o, std::string_view doc_type,
                  bool* doc_type_conflict, T* doc, HeadFields* head) {
  const KeyTable<T>& keys = KeyTable<T>::Get();
  const auto fields = T::Fields();
  KeyHints& hints = w.HintsFor<T>();
  size_t position = 0;
  for (auto field : o) {
    std::string_view key;
    od::value v;
    if (field.error() || field.unescaped_key().get(key) ||
        field.value().get(v)) {
      return w.Fail();
    }
    const int code = keys.Find(key, position++, hints);
    if (code >= 0) {
      if (!w.ReadField(v, 1, fields[code], Where{}, doc)) return false;
      continue;
    }
    switch (code) {
      case kDocTypeKey: {
        Scalar s;
        od::json_type t;
        if (v.type().get(t)) return w.Fail();
        if (t == od::json_type::object || t == od::json_type::array) {
          if (!w.Skip(v, 1)) return false;
          *doc_type_conflict = true;
        } else {
          if (!w.ReadScalar(v, t, &s)) return false;
          if (t != od::json_type::string || s.text != doc_type) {
            *doc_type_conflict = true;
          }
        }
        break;
      }
      case kItemsKey:
        if constexpr (kHasItems<T>) {
          if (!ReadItems(w, v, 1, &doc->items)) return false;
        } else {
          if (!w.Skip(v, 1)) return false;
        }
        break;
      case kGuidKey:
      case kAppTypeKey:
      case kAppTimeKey:
      case kAppStatusKey:
        if (!ReadHeadField(w, v, code, key, doc, head)) return false;
        break;
      default:
        if (!w.Skip(v, 1)) return false;
    }
  }
  return true;
}

// MISSING_KEY detail for a document whose identity is incomplete, or "".
template <class T>
std::string MissingKey(const T& doc) {
  if constexpr (std::is_same_v<T, Ceb507Arrival> ||
                std::is_same_v<T, Ceb509Departure>) {
    if (doc.items.empty()) {
      return "items: no lines, so no logisticsNo to identify the document";
    }
    for (size_t i = 0; i < doc.items.size(); ++i) {
      if (doc.items[i].logisticsNo.empty()) {
        return absl::StrCat("items[", i, "].logisticsNo: absent or empty");
      }
    }
    return "";
  } else if constexpr (std::is_same_v<T, Ceb511Waybill> ||
                       std::is_same_v<T, Ceb505Waybill>) {
    if (doc.logisticsCode.empty()) return "logisticsCode: absent or empty";
    if (doc.logisticsNo.empty()) return "logisticsNo: absent or empty";
    return "";
  } else {
    if (doc.ebpCode.empty()) return "ebpCode: absent or empty";
    if (doc.orderNo.empty()) return "orderNo: absent or empty";
    return "";
  }
}

// After the root object was read to its end: true when nothing but
// whitespace follows it in `record` (the parser's copy of the record).
bool NothingAfterRoot(od::document& json, std::string_view record) {
  std::string_view root;
  if (json.raw_json().get(root)) return false;
  const char* p = root.data() + root.size();
  const char* end = record.data() + record.size();
  if (p < record.data() || p > end) return false;
  for (; p < end; ++p) {
    if (!IsJsonSpace(*p)) return false;
  }
  return true;
}

// *out made a fresh document of type T, keeping the buffers of its line
// vectors: those of another type wait in `spare` for their type's turn.
template <class T>
T& Fresh(std::array<Document, kDocTypeCount>& spare, Document* out) {
  if (!std::holds_alternative<T>(*out)) {
    const size_t old = out->index();
    std::visit(
        [&](auto& current) {
          using Old = std::decay_t<decltype(current)>;
          if constexpr (kHasItems<Old>) {
            std::get<Old>(spare[old]).items = std::move(current.items);
          }
        },
        *out);
    T& fresh = out->template emplace<T>();
    if constexpr (kHasItems<T>) {
      fresh.items =
          std::move(std::get<T>(spare[static_cast<int>(T::kType)]).items);
      fresh.items.resize(0);
    }
    return fresh;
  }
  // Fields are views and optionals: assigning a fresh document is a plain
  // copy, cheaper than resetting them one by one.
  T& doc = std::get<T>(*out);
  if constexpr (kHasItems<T>) {
    auto items = std::move(doc.items);
    doc = T();
    doc.items = std::move(items);
    doc.items.resize(0);
  } else {
    doc = T();
  }
  return doc;
}

// The verdict on a document read to its end, in the order of §10 after
// well-formedness: docType, field forms, appTime, appType, the key.
template <class T>
DecodeOutcome Judge(const Walker& w, bool doc_type_conflict,
                    const HeadFields& head, T& doc) {
  if (doc_type_conflict) {
    return DecodeOutcome::Rejected(DeadLetterCode::kUnknownDocType,
                                   "docType given twice with different values");
  }
  if (w.form_error()) {
    return DecodeOutcome::Rejected(DeadLetterCode::kInvalidField,
                                   *w.form_error());
  }
  if (!head.app_time) {
    return DecodeOutcome::Rejected(DeadLetterCode::kInvalidField,
                                   "appTime: required, absent or empty");
  }
  if (head.app_type == 0) {
    return DecodeOutcome::Rejected(DeadLetterCode::kInvalidField,
                                   "appType: required, absent or empty");
  }
  doc.appTime = *head.app_time;
  doc.appType = static_cast<AppType>(head.app_type - '0');
  std::string missing = MissingKey(doc);
  if (!missing.empty()) {
    return DecodeOutcome::Rejected(DeadLetterCode::kMissingKey,
                                   std::move(missing));
  }
  return DecodeOutcome::Accepted();
}

template <class T>
DecodeOutcome DecodeAs(Walker& w, od::document& json, od::object o,
                       std::string_view record, std::string_view doc_type,
                       std::array<Document, kDocTypeCount>& spare,
                       Document* out) {
  T& doc = Fresh<T>(spare, out);
  bool conflict = false;
  HeadFields head;
  if (!ReadDocument(w, o, doc_type, &conflict, &doc, &head) || w.malformed() ||
      !NothingAfterRoot(json, record)) {
    return DecodeOutcome::Rejected(DeadLetterCode::kMalformedJson,
                                   "not one well-formed JSON object");
  }
  return Judge(w, conflict, head, doc);
}

// A document given field by field (Decoder::DecodeFields): each field is
// taken as ReadDocument takes a member whose value is a string of its text
// (or an object, for kElements), the lines as the entries of `items`.
template <class T>
DecodeOutcome DecodeTextAs(Walker& w, std::span<const TextField> fields,
                           std::string_view doc_type,
                           std::array<Document, kDocTypeCount>& spare,
                           Document* out) {
  T& doc = Fresh<T>(spare, out);
  bool conflict = false;
  HeadFields head;
  const KeyTable<T>& keys = KeyTable<T>::Get();
  const auto specs = T::Fields();
  KeyHints& hints = w.HintsFor<T>();
  size_t i = 0;
  // Position 0 is docType's, in the JSON form of the same document.
  for (size_t position = 1; i < fields.size(); ++i) {
    const TextField& f = fields[i];
    if (f.kind == TextField::kLine) break;
    const int code = keys.Find(f.name, position++, hints);
    if (code >= 0) {
      w.ReadText(f, specs[code], Where{}, &doc);
      continue;
    }
    const std::string_view got =
        f.kind == TextField::kElements ? "an object" : "a string";
    switch (code) {
      case kDocTypeKey:
        if (f.kind == TextField::kElements || f.text != doc_type) {
          conflict = true;
        }
        break;
      case kItemsKey:
        if constexpr (kHasItems<T>) ItemsOfWrongForm(w, got, &doc.items);
        break;
      case kGuidKey:
      case kAppTypeKey:
      case kAppTimeKey:
      case kAppStatusKey:
        if (f.kind == TextField::kElements) {
          HeadFieldOfWrongForm(w, code, f.name, got);
        } else {
          SetHeadField(w, code, f.name, Scalar{od::json_type::string, f.text},
                       &doc, &head);
        }
        break;
      default:
        break;
    }
  }
  if constexpr (kHasItems<T>) {
    using Item = typename T::Item;
    const KeyTable<Item>& item_keys = KeyTable<Item>::Get();
    const auto item_specs = Item::Fields();
    KeyHints& item_hints = w.HintsFor<Item>();
    while (i < fields.size()) {  // fields[i] starts a line
      const Where prefix{static_cast<int>(doc.items.size())};
      Item& item = doc.items.emplace_back();
      for (size_t position = 0;
           ++i < fields.size() && fields[i].kind != TextField::kLine;) {
        const int code = item_keys.Find(fields[i].name, position++, item_hints);
        if (code >= 0) w.ReadText(fields[i], item_specs[code], prefix, &item);
      }
    }
  }
  return Judge(w, conflict, head, doc);
}

using DecodeFn = DecodeOutcome (*)(Walker&, od::document&, od::object,
                                   std::string_view, std::string_view,
                                   std::array<Document, kDocTypeCount>&,
                                   Document*);

template <size_t... I>
constexpr std::array<DecodeFn, sizeof...(I)> MakeDecoders(
    std::index_sequence<I...>) {
  return {&DecodeAs<std::variant_alternative_t<I, Document>>...};
}
constexpr auto kDecoders =
    MakeDecoders(std::make_index_sequence<std::variant_size_v<Document>>());

using TextDecodeFn = DecodeOutcome (*)(Walker&, std::span<const TextField>,
                                       std::string_view,
                                       std::array<Document, kDocTypeCount>&,
                                       Document*);
template <size_t... I>
constexpr std::array<TextDecodeFn, sizeof...(I)> MakeTextDecoders(
    std::index_sequence<I...>) {
  return {&DecodeTextAs<std::variant_alternative_t<I, Document>>...};
}
constexpr auto kTextDecoders =
    MakeTextDecoders(std::make_index_sequence<std::variant_size_v<Document>>());

DecodeOutcome Malformed(std::string_view why) {
  return DecodeOutcome::Rejected(DeadLetterCode::kMalformedJson,
                                 std::string(why));
}

}  // namespace

Decoder::Decoder() {
  for (KeyHints& h : hints_) h.fill(kNoHint);
  [&]<size_t... I>(std::index_sequence<I...>) {
    (spare_[I].template emplace<I>(), ...);
  }
  (std::make_index_sequence<kDocTypeCount>());
}

DecodeOutcome Decoder::Decode(std::string_view record, Document* doc) {
  return Decode(record, record.size(), doc);
}

DecodeOutcome Decoder::Decode(std::string_view record, size_t record_size,
                              Document* doc) {
  if (record_size > kMaxRecordBytes) {
    return DecodeOutcome::Rejected(
        DeadLetterCode::kTooLarge,
        absl::StrFormat("record of %d bytes; the limit is %d", record_size,
                        kMaxRecordBytes));
  }
  DecodeOutcome outcome = DecodeJson(record, doc);
  // simdjson validates UTF-8 while indexing, so an accepted record is UTF-8.
  // A rejected one may be rejected for another reason first; NOT_UTF8 takes
  // precedence (contract §10).
  if (!outcome.ok() && !IsValidUtf8(record)) {
    return DecodeOutcome::Rejected(DeadLetterCode::kNotUtf8,
                                   "record is not valid UTF-8");
  }
  return outcome;
}

DecodeOutcome Decoder::DecodeJson(std::string_view record, Document* doc) {
  buffer_.assign(record);
  buffer_.resize(record.size() + simdjson::SIMDJSON_PADDING);
  const std::string_view copy(buffer_.data(), record.size());
  od::document json;
  od::object root;
  simdjson::error_code error =
      parser_.iterate(buffer_.data(), record.size(), buffer_.size()).get(json);
  if (!error) error = json.get_object().get(root);
  if (error) {
    return Malformed(absl::StrFormat("not a JSON object (%s)",
                                     simdjson::error_message(error)));
  }
  std::string_view doc_type;
  bool has_doc_type = false;
  {
    od::value v;
    auto found = root.find_field_unordered("docType").get(v);
    if (found == simdjson::SUCCESS) {
      od::json_type t;
      if (v.type().get(t)) return Malformed("not a well-formed JSON object");
      if (t == od::json_type::string) {
        if (v.get_string().get(doc_type)) {
          return Malformed("not a well-formed JSON string in docType");
        }
        has_doc_type = true;
      }
    } else if (found != simdjson::NO_SUCH_FIELD) {
      return Malformed("not a well-formed JSON object");
    }
  }
  if (root.reset().error()) return Malformed("not a well-formed JSON object");

  Walker w(hints_);
  const std::optional<DocType> type =
      has_doc_type ? ParseDocType(doc_type) : std::nullopt;
  if (!type) {
    // Still a dead letter for malformed JSON if anything else is wrong.
    for (auto field : root) {
      std::string_view key;
      od::value v;
      if (field.error() || field.unescaped_key().get(key) ||
          field.value().get(v) || !w.Skip(v, 1)) {
        return Malformed("not a well-formed JSON object");
      }
    }
    if (!NothingAfterRoot(json, copy)) {
      return Malformed("not one well-formed JSON object");
    }
    if (!has_doc_type) {
      return DecodeOutcome::Rejected(DeadLetterCode::kUnknownDocType,
                                     "docType: absent or not a string");
    }
    return DecodeOutcome::Rejected(
        DeadLetterCode::kUnknownDocType,
        absl::StrFormat("docType: %s is not one of the twelve CEB documents",
                        Quote(doc_type)));
  }
  // doc_type points into the parser's string buffer, which the full pass
  // below overwrites: keep the canonical name instead.
  return kDecoders[static_cast<int>(*type)](w, json, root, copy,
                                            DocTypeName(*type), spare_, doc);
}

DecodeOutcome Decoder::DecodeFields(DocType type,
                                    std::span<const TextField> fields,
                                    Document* doc) {
  Walker w(hints_);
  return kTextDecoders[static_cast<int>(type)](w, fields, DocTypeName(type),
                                               spare_, doc);
}

}  // namespace clearlane
