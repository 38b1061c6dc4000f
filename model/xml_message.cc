#include "model/xml_message.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <optional>
#include <pugixml.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "model/outputs.h"
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

// Whether the qualified name `name` has the prefix `prefix` (none: no
// colon at all).
bool HasPrefix(std::string_view name, std::string_view prefix) {
  if (prefix.empty()) {
    for (char c : name) {
      if (c == ':') return false;
    }
    return true;
  }
  if (name.size() <= prefix.size() || name[prefix.size()] != ':') return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (name[i] != prefix[i]) return false;
  }
  return true;
}

DecodeOutcome Malformed(std::string detail) {
  return DecodeOutcome::Rejected(DeadLetterCode::kMalformedXml,
                                 std::move(detail));
}

// The namespace bound to the element's prefix where it stands; nullopt
// when the prefix is bound nowhere (not namespace-well-formed).
std::optional<std::string_view> NamespaceOf(pugi::xml_node element) {
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

// Elements keep their first text as their value (fewer nodes to walk); a
// text of whitespace alone is kept where it is an element's only content.
constexpr unsigned kParseOptions =
    pugi::parse_default | pugi::parse_declaration |
    pugi::parse_ws_pcdata_single | pugi::parse_embed_pcdata;

bool IsNameEnd(char c) { return IsJsonSpace(c) || c == '>' || c == '/'; }

// Where the root's start tag begins in the message starting at `at`:
// past the declaration, comments and doctype; npos when `in` ends first.
size_t RootStart(std::string_view in, size_t at) {
  size_t p = at;
  while (p < in.size()) {
    if (IsJsonSpace(in[p])) {
      ++p;
    } else if (in.substr(p, 2) == "<?") {
      const size_t e = in.find("?>", p);
      if (e == std::string_view::npos) return e;
      p = e + 2;
    } else if (in.substr(p, 4) == "<!--") {
      const size_t e = in.find("-->", p);
      if (e == std::string_view::npos) return e;
      p = e + 3;
    } else if (in.substr(p, 2) == "<!") {
      const size_t e = in.find('>', p);
      if (e == std::string_view::npos) return e;
      p = e + 1;
    } else {
      break;
    }
  }
  return p;
}

}  // namespace

std::string_view XmlRootName(std::string_view in, size_t at) {
  const size_t p = RootStart(in, at);
  if (p >= in.size() || in[p] != '<') return {};
  size_t name_end = p + 1;
  while (name_end < in.size() && !IsNameEnd(in[name_end])) ++name_end;
  if (name_end >= in.size()) return {};  // the name may go on
  return in.substr(p + 1, name_end - p - 1);
}

size_t XmlMessageEnd(std::string_view in, size_t at) {
  const std::string_view name = XmlRootName(in, at);
  if (name.empty()) return std::string_view::npos;
  const size_t name_end = name.data() + name.size() - in.data();
  const size_t tag_end = in.find('>', name_end);
  if (tag_end == std::string_view::npos) return tag_end;
  if (in[tag_end - 1] == '/') return tag_end + 1;  // <root/>
  for (size_t close = in.find("</", tag_end); close != std::string_view::npos;
       close = in.find("</", close + 2)) {
    const std::string_view rest = in.substr(close + 2);
    if (rest.starts_with(name) && rest.size() > name.size() &&
        (IsJsonSpace(rest[name.size()]) || rest[name.size()] == '>')) {
      const size_t gt = in.find('>', close + 2 + name.size());
      return gt == std::string_view::npos ? gt : gt + 1;
    }
  }
  return std::string_view::npos;
}

std::vector<XmlMessageText> SplitXmlMessages(std::string_view input) {
  std::vector<XmlMessageText> out;
  size_t pos = input.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  int64_t line = 1;
  while (true) {
    while (pos < input.size() && IsJsonSpace(input[pos])) {
      if (input[pos] == '\n') ++line;
      ++pos;
    }
    if (pos >= input.size()) break;
    size_t end = XmlMessageEnd(input, pos);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view text = input.substr(pos, end - pos);
    out.push_back({text, line});
    line += std::count(text.begin(), text.end(), '\n');
    pos = end;
  }
  return out;
}

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
  std::string buffer;    // the message, parsed in place
  bool unbound = false;  // an element's prefix was declared nowhere
  // No namespace is declared inside the record being read: an element
  // with its parent's prefix is in its parent's namespace, whatever its
  // attributes.
  bool inherit = false;
  std::string unbound_name;
  std::vector<size_t> starts;  // where each record's fields begin

  bool IsCeb(pugi::xml_node e) {
    const std::optional<std::string_view> ns = NamespaceOf(e);
    if (!ns) {
      if (!unbound) unbound_name = e.name();
      unbound = true;
      return false;
    }
    return *ns == kCebNamespace;
  }

  // Whether the child `e` (named `qname`) of a CEB element whose prefix is
  // `prefix` is a CEB element; *local is its local name. Without
  // attributes and with its parent's prefix it is in its parent's
  // namespace, with no lookup.
  bool IsCebChild(pugi::xml_node e, const char* qname, std::string_view prefix,
                  std::string_view* local) {
    const std::string_view name(qname);
    if (HasPrefix(name, prefix)) {
      *local = prefix.empty() ? name : name.substr(prefix.size() + 1);
      return inherit || !e.first_attribute() || IsCeb(e);
    }
    *local = LocalName(name);
    return IsCeb(e);
  }

  // The CEB child elements of `parent` (whose prefix is `prefix`) with
  // local name `local`, in order, given to `f`.
  template <class F>
  void ForEachChild(pugi::xml_node parent, std::string_view prefix,
                    std::string_view local, F&& f) {
    for (pugi::xml_node e = parent.first_child(); e; e = e.next_sibling()) {
      if (e.type() != pugi::node_element) continue;
      const char* qname = e.name();
      std::string_view name;
      if (LocalName(qname) == local && IsCebChild(e, qname, prefix, &name)) {
        f(e, PrefixOf(qname));
      }
    }
  }

  // The fields under the CEB element `parent` (prefix `prefix`) but those
  // named `skip`, appended to `out`.
  void CollectFields(pugi::xml_node parent, std::string_view prefix,
                     std::string_view skip, XmlMessage* out) {
    for (pugi::xml_node f = parent.first_child(); f; f = f.next_sibling()) {
      // Of the nodes this parse makes, only elements have names.
      const char* qname = f.name();
      if (*qname == '\0') continue;
      std::string_view name;
      if (!IsCebChild(f, qname, prefix, &name) || name == skip) continue;
      CollectField(f, name, out);
    }
  }

  // One field: its text, absent when empty; elements when it holds any.
  // The parse embeds an element's first text in the element (its value).
  void CollectField(pugi::xml_node f, std::string_view name, XmlMessage* out) {
    const char* value = f.value();
    const pugi::xml_node first = f.first_child();
    if (!first) {  // the usual case: text alone, or nothing
      if (*value != '\0') out->fields.push_back({name, value});
      return;
    }
    std::string joined(value);
    for (pugi::xml_node c = first; c; c = c.next_sibling()) {
      const pugi::xml_node_type t = c.type();
      if (t == pugi::node_element) {
        out->fields.push_back({name, {}, TextField::kElements});
        return;
      }
      if (t == pugi::node_pcdata || t == pugi::node_cdata) {
        joined.append(c.value());
      }
    }
    if (joined.empty()) return;
    out->joined.push_back(std::move(joined));
    out->fields.push_back({name, out->joined.back()});
  }

  // The fields of the record `r` (prefix `prefix`) of a message of `shape`:
  // its head's, then each line's after its kLine.
  void CollectRecord(pugi::xml_node r, std::string_view prefix,
                     const Shape& shape, XmlMessage* out) {
    if (shape.head.empty()) {
      CollectFields(r, prefix, shape.line, out);
    } else {
      ForEachChild(r, prefix, shape.head,
                   [&](pugi::xml_node h, std::string_view p) {
                     CollectFields(h, p, "", out);
                   });
    }
    if (!shape.line.empty()) {
      ForEachChild(r, prefix, shape.line,
                   [&](pugi::xml_node l, std::string_view p) {
                     out->fields.push_back({{}, {}, TextField::kLine});
                     CollectFields(l, p, "", out);
                   });
    }
  }
};

XmlReader::XmlReader() : parsed_(std::make_unique<Parsed>()) {}
XmlReader::~XmlReader() = default;

namespace {

// Whether `text` may declare a namespace: it holds "xmlns" (in a tag or,
// harmlessly, in a text).
bool Declares(std::string_view text) {
  return text.find("xmlns") != std::string_view::npos;
}

// Where the tag `</name` that closes an element begins in `in`, searching
// from `from`; npos when it is not there.
size_t CloseTag(std::string_view in, std::string_view name, size_t from) {
  const std::string close = std::string("</").append(name);
  for (size_t at = in.find(close, from); at != std::string_view::npos;
       at = in.find(close, at + close.size())) {
    const size_t after = at + close.size();
    if (after < in.size() && (in[after] == '>' || IsJsonSpace(in[after]))) {
      return at;
    }
  }
  return std::string_view::npos;
}

// The text of the element `e` in `message`: from its '<' to the end of its
// closing tag, which is found forward from its last descendant.
std::string_view RawOf(std::string_view message, pugi::xml_node e) {
  const ptrdiff_t name_at = e.offset_debug();  // just past its '<'
  if (name_at <= 0 || static_cast<size_t>(name_at) >= message.size() ||
      message[name_at - 1] != '<') {
    return {};
  }
  const size_t start = static_cast<size_t>(name_at) - 1;
  const size_t tag_end = message.find('>', start);
  if (tag_end == std::string_view::npos) return {};
  if (message[tag_end - 1] == '/') {  // <Order/>
    return message.substr(start, tag_end + 1 - start);
  }
  size_t from = tag_end;
  pugi::xml_node last = e;
  while (pugi::xml_node c = last.last_child()) last = c;
  if (last != e) {
    const ptrdiff_t at = last.offset_debug();
    if (at > 0 && static_cast<size_t>(at) > from)
      from = static_cast<size_t>(at);
  }
  const size_t close = CloseTag(message, e.name(), from);
  if (close == std::string_view::npos) return {};
  const size_t gt = message.find('>', close);
  if (gt == std::string_view::npos) return {};
  return message.substr(start, gt + 1 - start);
}

}  // namespace

DecodeOutcome XmlReader::Read(std::string_view message, XmlMessage* out) {
  return Read(message, message.size(), out);
}

DecodeOutcome XmlReader::Read(std::string_view message, size_t message_size,
                              XmlMessage* out) {
  out->records.clear();
  out->fields.clear();
  out->joined.clear();
  if (message_size > kMaxXmlMessageBytes) {
    return DecodeOutcome::Rejected(
        DeadLetterCode::kTooLarge,
        absl::StrFormat("a message of %d bytes, over the %d allowed",
                        message_size, kMaxXmlMessageBytes));
  }
  if (!IsValidUtf8(message)) {
    return DecodeOutcome::Rejected(DeadLetterCode::kNotUtf8,
                                   "the message is not UTF-8");
  }
  Parsed& p = *parsed_;
  p.unbound = false;
  p.buffer.assign(message);
  const pugi::xml_parse_result result = p.doc.load_buffer_inplace(
      p.buffer.data(), p.buffer.size(), kParseOptions, pugi::encoding_utf8);
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
  out->type = *ParseDocType(shape->doc_type);
  std::vector<size_t>& starts = p.starts;
  starts.clear();
  p.ForEachChild(root, PrefixOf(root.name()), shape->record,
                 [&](pugi::xml_node r, std::string_view prefix) {
                   starts.push_back(out->fields.size());
                   const std::string_view raw = RawOf(message, r);
                   p.inherit = !raw.empty() && !Declares(raw);
                   p.CollectRecord(r, prefix, *shape, out);
                   p.inherit = false;
                   out->records.push_back({{}, raw});
                 });
  starts.push_back(out->fields.size());
  for (size_t i = 0; i < out->records.size(); ++i) {
    out->records[i].fields = std::span<const TextField>(out->fields)
                                 .subspan(starts[i], starts[i + 1] - starts[i]);
  }
  if (p.unbound) {
    out->records.clear();
    return Malformed(
        absl::StrFormat("prefix of %s is not declared", p.unbound_name));
  }
  // A character reference resolves to a code point of its own choosing,
  // which the parser does not check: one that is no character (past
  // U+10FFFF, a surrogate) leaves bytes that are not UTF-8, and the
  // message is not well-formed (XML 1.0, "Legal Character").
  if (message.find("&#") != std::string_view::npos) {
    for (const TextField& f : out->fields) {
      if (!IsValidUtf8(f.text)) {
        out->records.clear();
        return Malformed(absl::StrFormat(
            "a character reference in %s is not a character", f.name));
      }
    }
  }
  if (out->records.empty()) {
    return DecodeOutcome::Rejected(
        DeadLetterCode::kMissingKey,
        absl::StrFormat("%sMessage holds no %s record", shape->doc_type,
                        shape->record));
  }
  return DecodeOutcome::Accepted();
}

std::string XmlRecordJson(DocType type, std::span<const TextField> fields) {
  const std::string_view doc_type = DocTypeName(type);
  rapidjson::StringBuffer json;
  JsonWriter w(json);
  auto key = [&](std::string_view k) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
  };
  w.StartObject();
  key("docType");
  w.String(doc_type.data(), static_cast<rapidjson::SizeType>(doc_type.size()));
  bool in_items = false, in_line = false;
  for (const TextField& f : fields) {
    switch (f.kind) {
      case TextField::kLine:
        if (in_line) w.EndObject();
        if (!in_items) {
          key("items");
          w.StartArray();
          in_items = true;
        }
        w.StartObject();
        in_line = true;
        break;
      case TextField::kElements:
        key(f.name);
        w.StartObject();
        w.EndObject();
        break;
      case TextField::kText:
        key(f.name);
        w.String(f.text.data(),
                 static_cast<rapidjson::SizeType>(f.text.size()));
        break;
    }
  }
  if (in_line) w.EndObject();
  if (in_items) w.EndArray();
  w.EndObject();
  return std::string(json.GetString(), json.GetSize());
}

namespace {

namespace od = simdjson::ondemand;

void Open(std::string_view name, std::string* out) {
  out->append("<ceb:").append(name).push_back('>');
}
void Close(std::string_view name, std::string* out) {
  out->append("</ceb:").append(name).push_back('>');
}

// The members of `o` as field elements on `out`; `items` (when `line`
// names the line element) as line elements on `lines`.
absl::Status WriteMembers(od::object o, std::string_view line, std::string* out,
                          std::string* lines) {
  for (auto member : o) {
    std::string_view key;
    od::value v;
    if (member.unescaped_key().get(key) || member.value().get(v)) {
      return absl::InvalidArgumentError("not JSON");
    }
    if (key == "docType") continue;
    od::json_type t;
    if (v.type().get(t)) return absl::InvalidArgumentError("not JSON");
    if (key == "items" && !line.empty() && t == od::json_type::array) {
      for (auto element : v.get_array()) {
        od::object item;
        if (element.get_object().get(item)) {
          return absl::InvalidArgumentError("an item that is not an object");
        }
        Open(line, lines);
        if (absl::Status st = WriteMembers(item, "", lines, nullptr);
            !st.ok()) {
          return st;
        }
        Close(line, lines);
      }
      continue;
    }
    switch (t) {
      case od::json_type::null:
        break;
      case od::json_type::string: {
        std::string_view text;
        if (v.get_string().get(text)) {
          return absl::InvalidArgumentError("not JSON");
        }
        if (text.empty()) break;
        Open(key, out);
        if (!AppendXmlText(text, out)) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "%s holds a control character XML 1.0 cannot carry", key));
        }
        Close(key, out);
        break;
      }
      case od::json_type::number:
      case od::json_type::boolean: {
        std::string_view raw = v.raw_json_token();
        while (!raw.empty() && IsJsonSpace(raw.back())) raw.remove_suffix(1);
        Open(key, out);
        out->append(raw);
        Close(key, out);
        break;
      }
      case od::json_type::object:
      case od::json_type::array:
        // Read back as an object: rejected for a known field, as in JSON.
        Open(key, out);
        out->append("<ceb:value/>");
        Close(key, out);
        if (t == od::json_type::object) {
          od::object skipped;
          if (v.get_object().get(skipped)) {
            return absl::InvalidArgumentError("not JSON");
          }
        }
        break;
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool AppendXmlText(std::string_view text, std::string* out) {
  for (char c : text) {
    switch (c) {
      case '&':
        out->append("&amp;");
        break;
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '\r':
        out->append("&#13;");  // a parser would turn a raw CR into LF
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') {
          return false;
        }
        out->push_back(c);
    }
  }
  return true;
}

absl::Status WriteXmlMessage(std::string_view doc_type,
                             absl::Span<const std::string> records,
                             std::string* out) {
  const Shape* shape = ShapeOf(doc_type);
  if (!shape) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s is not a message type clearlane reads", doc_type));
  }
  std::string body;
  std::string material(doc_type);
  od::parser parser;
  for (size_t i = 0; i < records.size(); ++i) {
    material.append(records[i]);
    const simdjson::padded_string padded(records[i]);
    od::document doc;
    od::object o;
    if (parser.iterate(padded).get(doc) || doc.get_object().get(o)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("record %d is not a JSON object", i + 1));
    }
    Open(shape->record, &body);
    if (!shape->head.empty()) Open(shape->head, &body);
    std::string lines;
    if (absl::Status st = WriteMembers(o, shape->line, &body, &lines);
        !st.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("record %d: %s", i + 1, st.message()));
    }
    if (!shape->head.empty()) Close(shape->head, &body);
    body.append(lines);
    Close(shape->record, &body);
    body.push_back('\n');
  }
  out->clear();
  out->append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ceb:")
      .append(doc_type)
      .append("Message guid=\"")
      .append(DeriveGuid(material))
      .append("\" version=\"1.0\" xmlns:ceb=\"")
      .append(kCebNamespace)
      .append("\">\n")
      .append(body)
      .append(
          "<ceb:BaseTransfer><ceb:copCode>clearlane</ceb:copCode>"
          "<ceb:copName>clearlane</ceb:copName><ceb:dxpMode>DXP</ceb:dxpMode>"
          "<ceb:dxpId>clearlane</ceb:dxpId></ceb:BaseTransfer>\n</ceb:")
      .append(doc_type)
      .append("Message>\n");
  return absl::OkStatus();
}

}  // namespace clearlane
