#include "model/personal_data.h"

#include <array>
#include <cstdint>

namespace clearlane {

bool IsPersonalField(std::string_view name) {
  static constexpr std::array<std::string_view, 10> kPersonal = {
      "buyerName",          "buyerIdNumber",   "buyerTelephone", "buyerRegNo",
      "payerName",          "payerIdNumber",   "telephone",      "consignee",
      "consigneeTelephone", "consigneeAddress"};
  for (std::string_view p : kPersonal) {
    if (p == name) return true;
  }
  return false;
}

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The index just past the string token that opens at `at` (a '"'): after
// its closing quote, or the end of `s` when it is not closed.
size_t StringEnd(std::string_view s, size_t at, bool* closed = nullptr) {
  for (size_t i = at + 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      if (closed) *closed = true;
      return i + 1;
    }
  }
  if (closed) *closed = false;
  return s.size();
}

// The index just past the value that begins at `at`: a string, an object
// or array (brackets counted, strings skipped), or a bare word.
size_t ValueEnd(std::string_view s, size_t at) {
  if (at >= s.size()) return at;
  const char c = s[at];
  if (c == '"') return StringEnd(s, at);
  if (c == '{' || c == '[') {
    int depth = 0;
    for (size_t i = at; i < s.size(); ++i) {
      if (s[i] == '"') {
        i = StringEnd(s, i) - 1;
      } else if (s[i] == '{' || s[i] == '[') {
        ++depth;
      } else if (s[i] == '}' || s[i] == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return s.size();
  }
  size_t i = at;
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' &&
         !IsSpace(s[i])) {
    ++i;
  }
  return i;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The ASCII text of a string token's content with its escapes decoded;
// false when it holds anything else (no field name does).
bool AsciiName(std::string_view content, std::string* name) {
  name->clear();
  for (size_t i = 0; i < content.size(); ++i) {
    char c = content[i];
    if (c == '\\') {
      if (++i >= content.size()) return false;
      c = content[i];
      if (c == 'u') {
        if (i + 4 >= content.size()) return false;
        uint32_t code = 0;
        for (int k = 1; k <= 4; ++k) {
          const int d = HexDigit(content[i + k]);
          if (d < 0) return false;
          code = code * 16 + static_cast<uint32_t>(d);
        }
        if (code >= 0x80) return false;
        c = static_cast<char>(code);
        i += 4;
      } else if (c != '"' && c != '\\' && c != '/') {
        return false;  // \b \f \n \r \t: in no field name
      }
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      return false;
    }
    name->push_back(c);
  }
  return true;
}

}  // namespace

std::string MaskPersonalDataXml(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  size_t i = 0;
  while (i < raw.size()) {
    const size_t open = raw.find('<', i);
    if (open == std::string_view::npos) break;
    // A start tag: its name, then its '>'.
    size_t name_end = open + 1;
    while (name_end < raw.size() && !IsSpace(raw[name_end]) &&
           raw[name_end] != '>' && raw[name_end] != '/') {
      ++name_end;
    }
    const std::string_view qname = raw.substr(open + 1, name_end - open - 1);
    const size_t tag_end = raw.find('>', name_end);
    if (qname.empty() || qname[0] == '/' || qname[0] == '?' ||
        qname[0] == '!' || tag_end == std::string_view::npos ||
        raw[tag_end - 1] == '/') {
      out.append(raw.substr(i, open + 1 - i));
      i = open + 1;
      continue;
    }
    const size_t colon = qname.find(':');
    const std::string_view local =
        colon == std::string_view::npos ? qname : qname.substr(colon + 1);
    out.append(raw.substr(i, tag_end + 1 - i));
    i = tag_end + 1;
    if (!IsPersonalField(local)) continue;
    const std::string close = "</" + std::string(qname);
    const size_t content_end = raw.find(close, i);
    out.append("***");
    i = content_end == std::string_view::npos ? raw.size() : content_end;
  }
  out.append(raw.substr(std::min(i, raw.size())));
  return out;
}

std::string MaskPersonalData(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  std::string name;
  size_t i = 0;
  while (i < raw.size()) {
    if (raw[i] != '"') {
      out.push_back(raw[i++]);
      continue;
    }
    bool closed;
    const size_t end = StringEnd(raw, i, &closed);
    const std::string_view token = raw.substr(i, end - i);
    out.append(token);
    i = end;
    if (!closed || !AsciiName(token.substr(1, token.size() - 2), &name) ||
        !IsPersonalField(name)) {
      continue;
    }
    size_t j = i;
    while (j < raw.size() && IsSpace(raw[j])) ++j;
    if (j >= raw.size() || raw[j] != ':') continue;  // a value, not a name
    ++j;
    while (j < raw.size() && IsSpace(raw[j])) ++j;
    out.append(raw.substr(i, j - i));
    const size_t value_end = ValueEnd(raw, j);
    if (value_end > j) out.append("\"***\"");
    i = value_end;
  }
  return out;
}

}  // namespace clearlane
