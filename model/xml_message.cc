#include "model/xml_message.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstring>
#include <optional>
#include <pugixml.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "model/utf8.h"

namespace clearlane {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Where a message type keeps its documents (FORMAT.md §3): the record
// element, its head (null: the fields are the record's own children) and
// its line element (null: none).
struct Shape {
  std::string_view doc_type;
  std::string_view record;
  std::string_view head;
  std::string_view line;
};
constexpr Shape kShapes[] = {
    {"CEB311", "Order", "OrderHead", "OrderList"},
    {"CEB411", "Payment", "PaymentHead", ""},
    {"CEB511", "Logistics", "LogisticsHead", ""},
    {"CEB621", "Inventory", "InventoryHead", "InventoryList"},
    {"CEB623", "InvtCancel", "", ""},
    {"CEB625", "InvtRefund", "InvtRefundHead", "InvtRefundList"},
    {"CEB303", "Order", "OrderHead", "OrderList"},
    {"CEB403", "Receipts", "", ""},
    {"CEB505", "Logistics", "", ""},
    {"CEB507", "Arrival", "ArrivalHead", "ArrivalList"},
    {"CEB509", "Departure", "DepartureHead", "DepartureList"},
    {"CEB603", "Inventory", "InventoryHead", "InventoryList"},
};

const Shape* ShapeOf(std::string_view doc_type) {
  for (const Shape& s : kShapes) {
    if (s.doc_type == doc_type) return &s;
  }
  return nullptr;
}

std::string_view LocalName(std::string_view qname) {
  const size_t colon = qname.find(':');
  return colon == std::string_view::npos ? qname : qname.substr(colon + 1);
}

std::string_view PrefixOf(std::string_view qname) {
  const size_t colon = qname.find(':');
  return colon == std::string_view::npos ? std::string_view()
                                         : qname.substr(0, colon);
}

DecodeOutcome Malformed(std::string detail) {
  return DecodeOutcome::Rejected(DeadLetterCode::kMalformedXml,
                                 std::move(detail));
}

// Element names seen as qualified names, and whether each is a CEB element.
class Namespaces {
 public:
  // The namespace bound to the element's prefix where it stands; nullopt
  // when the prefix is bound nowhere (not namespace-well-formed).
  static std::optional<std::string_view> Of(pugi::xml_node element) {
    const std::string_view prefix = PrefixOf(element.name());
    for (pugi::xml_node n = element; n.type() == pugi::node_element;
         n = n.parent()) {
      for (pugi::xml_attribute a : n.attributes()) {
        const std::string_view name = a.name();
        if (prefix.empty()
                ? name == "xmlns"
                : name.size() == prefix.size() + 6 &&
                      name.starts_with("xmlns:") && name.substr(6) == prefix) {
          return std::string_view(a.value());
        }
      }
    }
    if (prefix.empty()) return std::string_view();  // no namespace
    return std::nullopt;
  }
};

}  // namespace

bool LooksLikeXml(std::string_view input) {
  if (input.starts_with("\xEF\xBB\xBF")) input.remove_prefix(3);
  for (char c : input) {
    if (IsJsonSpace(c)) continue;
    return c == '<';
  }
  return false;
}

struct XmlReader::Parsed {
  pugi::xml_document doc;
  std::string buffer;  // the message, parsed in place
  rapidjson::StringBuffer json;
  bool unbound = false;  // an element's prefix was declared nowhere
  std::string unbound_name;

  // Whether `e` is the CEB element `local`.
  bool Is(pugi::xml_node e, std::string_view local) {
    return LocalName(e.name()) == local && IsCeb(e);
  }
  bool IsCeb(pugi::xml_node e) {
    const std::optional<std::string_view> ns = Namespaces::Of(e);
    if (!ns) {
      if (!unbound) unbound_name = e.name();
      unbound = true;
      return false;
    }
    return *ns == kCebNamespace;
  }

  // The fields under `parent`, as members of the object being written.
  void WriteFields(pugi::xml_node parent, JsonWriter& w,
                   std::string_view skip_a, std::string_view skip_b) {
    for (pugi::xml_node f = parent.first_child(); f; f = f.next_sibling()) {
      if (f.type() != pugi::node_element || !IsCeb(f)) continue;
      const std::string_view name = LocalName(f.name());
      if (name == skip_a || name == skip_b) continue;
      WriteField(f, name, w);
    }
  }

  // One field: its text as a string, absent when empty, an object when it
  // holds elements.
  void WriteField(pugi::xml_node f, std::string_view name, JsonWriter& w) {
    bool element = false;
    std::string_view only;  // the usual case: one text node
    std::string joined;
    int texts = 0;
    for (pugi::xml_node c = f.first_child(); c; c = c.next_sibling()) {
      const pugi::xml_node_type t = c.type();
      if (t == pugi::node_element) {
        element = true;
      } else if (t == pugi::node_pcdata || t == pugi::node_cdata) {
        const std::string_view v = c.value();
        if (++texts == 1) {
          only = v;
        } else {
          if (texts == 2) joined.assign(only);
          joined.append(v);
        }
      }
    }
    if (element) {
      w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
      w.StartObject();
      w.EndObject();
      return;
    }
    const std::string_view text = texts > 1 ? std::string_view(joined) : only;
    if (text.empty()) return;  // empty is absent (§10)
    w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  }

  // The record `r` of a message of `shape` as its §1 document.
  void WriteRecord(pugi::xml_node r, const Shape& shape, std::string* out) {
    json.Clear();
    JsonWriter w(json);
    w.StartObject();
    w.Key("docType");
    w.String(shape.doc_type.data(),
             static_cast<rapidjson::SizeType>(shape.doc_type.size()));
    if (shape.head.empty()) {
      WriteFields(r, w, shape.line, "");
    } else {
      for (pugi::xml_node h = r.first_child(); h; h = h.next_sibling()) {
        if (h.type() == pugi::node_element && Is(h, shape.head)) {
          WriteFields(h, w, "", "");
        }
      }
    }
    if (!shape.line.empty()) {
      bool started = false;
      for (pugi::xml_node l = r.first_child(); l; l = l.next_sibling()) {
        if (l.type() != pugi::node_element || !Is(l, shape.line)) continue;
        if (!started) {
          w.Key("items");
          w.StartArray();
          started = true;
        }
        w.StartObject();
        WriteFields(l, w, "", "");
        w.EndObject();
      }
      if (started) w.EndArray();
    }
    w.EndObject();
    out->assign(json.GetString(), json.GetSize());
  }
};

XmlReader::XmlReader() : parsed_(std::make_unique<Parsed>()) {}
XmlReader::~XmlReader() = default;

namespace {

// The text of the element `e` in `message`: from its '<' to the end of its
// closing tag, found before `bound` (the next element's start).
std::string_view RawOf(std::string_view message, pugi::xml_node e,
                       size_t bound) {
  const ptrdiff_t at = e.offset_debug();
  if (at < 0 || static_cast<size_t>(at) >= message.size()) return {};
  const size_t start = message.rfind('<', static_cast<size_t>(at));
  if (start == std::string_view::npos) return {};
  bound = std::min(bound, message.size());
  const std::string close = absl::StrCat("</", e.name());
  const std::string_view span = message.substr(start, bound - start);
  size_t end = span.rfind(close);
  if (end != std::string_view::npos) {
    end = span.find('>', end);
  } else {
    end = span.find('>');  // <Order/>
  }
  if (end == std::string_view::npos) return span;
  return span.substr(0, end + 1);
}

// Where the next element after `e` among its siblings begins, or `fallback`.
size_t NextStart(std::string_view message, pugi::xml_node e, size_t fallback) {
  for (pugi::xml_node n = e.next_sibling(); n; n = n.next_sibling()) {
    if (n.type() != pugi::node_element) continue;
    const ptrdiff_t at = n.offset_debug();
    if (at < 0) break;
    const size_t start = message.rfind('<', static_cast<size_t>(at));
    return start == std::string_view::npos ? fallback : start;
  }
  return fallback;
}

}  // namespace

DecodeOutcome XmlReader::Read(std::string_view message, XmlMessage* out) {
  out->doc_type.clear();
  out->records.clear();
  if (message.size() > kMaxXmlMessageBytes) {
    return DecodeOutcome::Rejected(
        DeadLetterCode::kTooLarge,
        absl::StrFormat("a message of %d bytes, over the %d allowed",
                        message.size(), kMaxXmlMessageBytes));
  }
  if (!IsValidUtf8(message)) {
    return DecodeOutcome::Rejected(DeadLetterCode::kNotUtf8,
                                   "the message is not UTF-8");
  }
  Parsed& p = *parsed_;
  p.unbound = false;
  p.buffer.assign(message);
  const pugi::xml_parse_result result =
      p.doc.load_buffer_inplace(p.buffer.data(), p.buffer.size(),
                                pugi::parse_default | pugi::parse_declaration |
                                    pugi::parse_ws_pcdata_single,
                                pugi::encoding_utf8);
  if (!result) {
    return Malformed(
        absl::StrFormat("%s at byte %d", result.description(), result.offset));
  }
  pugi::xml_node root;
  for (pugi::xml_node n = p.doc.first_child(); n; n = n.next_sibling()) {
    if (n.type() == pugi::node_declaration) {
      const std::string encoding =
          absl::AsciiStrToLower(n.attribute("encoding").value());
      if (!encoding.empty() && encoding != "utf-8" && encoding != "utf8" &&
          encoding != "us-ascii") {
        return Malformed(absl::StrFormat(
            "declared encoding %s: only UTF-8 is read", encoding));
      }
    } else if (n.type() == pugi::node_element) {
      if (root) return Malformed("more than one root element");
      root = n;
    } else if (n.type() == pugi::node_pcdata || n.type() == pugi::node_cdata) {
      return Malformed("text outside the root element");
    }
  }
  if (!root) return Malformed("no root element");

  const std::string_view root_name = LocalName(root.name());
  const Shape* shape = nullptr;
  if (root_name.ends_with("Message")) {
    shape = ShapeOf(root_name.substr(0, root_name.size() - 7));
  }
  const bool ceb = p.IsCeb(root);
  if (p.unbound) {
    return Malformed(
        absl::StrFormat("prefix of %s is not declared", p.unbound_name));
  }
  if (!shape || !ceb) {
    return DecodeOutcome::Rejected(
        DeadLetterCode::kUnknownDocType,
        ceb ? absl::StrFormat("root element %s is not a message type clearlane "
                              "reads (contract §1)",
                              root_name)
            : absl::StrFormat("root element %s is not in namespace %s",
                              root_name, kCebNamespace));
  }
  out->doc_type = std::string(shape->doc_type);
  for (pugi::xml_node r = root.first_child(); r; r = r.next_sibling()) {
    if (r.type() != pugi::node_element || !p.Is(r, shape->record)) continue;
    XmlRecord& record = out->records.emplace_back();
    p.WriteRecord(r, *shape, &record.json);
    record.raw = RawOf(message, r, NextStart(message, r, message.size()));
  }
  if (p.unbound) {
    out->records.clear();
    return Malformed(
        absl::StrFormat("prefix of %s is not declared", p.unbound_name));
  }
  if (out->records.empty()) {
    return DecodeOutcome::Rejected(
        DeadLetterCode::kMissingKey,
        absl::StrFormat("%sMessage holds no %s record", shape->doc_type,
                        shape->record));
  }
  return DecodeOutcome::Accepted();
}

}  // namespace clearlane
