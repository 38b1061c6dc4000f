#include "model/receipt_xml.h"

#include <xxhash.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_format.h"
#include "model/event_time.h"
#include "model/xml_message.h"

namespace clearlane {
namespace {

// Characters (code points) in UTF-8 `s`.
size_t Chars(std::string_view s) {
  return std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  });
}

// The first `n` characters of UTF-8 `s`.
std::string_view FirstChars(std::string_view s, size_t n) {
  size_t i = 0;
  for (size_t seen = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && seen++ == n) {
      break;
    }
  }
  return s.substr(0, i);
}

// Text that XML 1.0 cannot carry has each such control character replaced
// by U+FFFD (the decoder lets them through in strings; the schema's types
// cannot hold them).
void AppendText(std::string_view text, std::string* out) {
  std::string clean;
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' &&
        c != '\r') {
      clean.append("\xEF\xBF\xBD");
    } else {
      clean.push_back(c);
    }
  }
  AppendXmlText(clean, out);
}

// Writes receipt fields: <prefix name>text</prefix name>.
class Fields {
 public:
  Fields(std::string_view prefix, std::string* out)
      : prefix_(prefix), out_(out) {}
  // A required field: written even when empty.
  void Required(std::string_view name, std::string_view text) {
    out_->append("<").append(prefix_).append(name).push_back('>');
    AppendText(text, out_);
    out_->append("</").append(prefix_).append(name).push_back('>');
  }
  // An optional one: left out when empty.
  void Optional(std::string_view name, std::string_view text) {
    if (!text.empty()) Required(name, text);
  }

 private:
  std::string_view prefix_;
  std::string* out_;
};

}  // namespace

std::string AssignedPreNo(bool is_export, absl::CivilDay first_decision,
                          std::string_view ebpCode, std::string_view orderNo) {
  std::string identity(ebpCode);
  identity.push_back('|');
  identity.append(orderNo);
  const uint64_t h = XXH3_64bits(identity.data(), identity.size());
  return absl::StrFormat("%c%04d%02d%02d%09d", is_export ? 'P' : 'B',
                         first_decision.year(), first_decision.month(),
                         first_decision.day(), h % 1000000000);
}

std::string XmlReturnInfo(const Receipt& r) {
  if (r.reasons.empty()) {
    return std::string(FirstChars(r.returnInfo, kMaxReturnInfoChars));
  }
  std::vector<std::string> parts;
  for (const Reason& reason : r.reasons) {
    parts.push_back(absl::StrFormat("%s: %s", reason.code, reason.detail));
  }
  std::string all;
  for (const std::string& part : parts) {
    if (!all.empty()) all.append("; ");
    all.append(part);
  }
  if (Chars(all) <= kMaxReturnInfoChars) return all;
  // Something is left out: keep the reasons that fit with "; +N more".
  std::string info;
  size_t chars = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const size_t left = parts.size() - i - 1;  // after this one
    const std::string more =
        left == 0 ? std::string() : absl::StrFormat("; +%d more", left);
    const size_t with = chars + (i == 0 ? 0 : 2) + Chars(parts[i]);
    if (with + Chars(more) <= kMaxReturnInfoChars) {
      if (i > 0) info.append("; ");
      info.append(parts[i]);
      chars = with;
      continue;
    }
    if (i > 0) {
      return info + absl::StrFormat("; +%d more", parts.size() - i);
    }
    // Not even the first reason fits: its head, marked as cut.
    return std::string(
               FirstChars(parts[0], kMaxReturnInfoChars - Chars(more) - 1))
        .append("\xE2\x80\xA6")
        .append(more);
  }
  return info;
}

void EncodeReceiptXml(const Receipt& r, std::string* out) {
  const bool is_export = r.docType == "CEB604";
  const std::string_view record = r.docType == "CEB624"   ? "InvtCancelReturn"
                                  : r.docType == "CEB626" ? "InvtRefundReturn"
                                                          : "InventoryReturn";
  const std::string_view prefix = is_export ? "ceb:" : "";
  const std::string& copNo = r.copNo.empty() ? r.orderNo : r.copNo;
  const std::string preNo =
      !r.preNo.empty()
          ? r.preNo
          : AssignedPreNo(
                is_export,
                absl::CivilDay(r.first_decided.value_or(r.returnTime)),
                r.ebpCode, r.orderNo);
  out->append("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>");
  out->append("<").append(prefix).append(r.docType);
  out->append("Message guid=\"")
      .append(DeriveGuid("message|" + r.guid))
      .append("\" version=\"1.0\" xmlns")
      .append(is_export ? ":ceb" : "")
      .append("=\"")
      .append(kCebNamespace)
      .append("\"><")
      .append(prefix)
      .append(record)
      .push_back('>');
  Fields f(prefix, out);
  f.Required("guid", r.guid);
  if (is_export) {
    f.Required("agentCode", r.agentCode);
    f.Required("copNo", copNo);
    f.Required("preNo", preNo);
    f.Required("invtNo", r.invtNo.empty() ? r.orderNo : r.invtNo);
    f.Required("ebcCode", r.ebcCode);
    f.Required("ebpCode", r.ebpCode);
    f.Required("orderNo", r.orderNo);
    f.Required("statisticsFlag", r.statisticsFlag);
  } else {
    f.Optional("customsCode", r.customsCode);
    if (r.docType == "CEB622") {
      f.Optional("ebpCode", r.ebpCode);
      f.Optional("ebcCode", r.ebcCode);
      f.Optional("agentCode", r.agentCode);
    } else {
      f.Optional("agentCode", r.agentCode);
      f.Optional("ebpCode", r.ebpCode);
      f.Optional("ebcCode", r.ebcCode);
    }
    f.Required("copNo", copNo);
    f.Required("preNo", preNo);
    f.Optional("invtNo", r.invtNo);
  }
  f.Required("returnStatus", r.returnStatus);
  f.Required("returnTime", FormatReturnTime(r.returnTime));
  f.Required("returnInfo", XmlReturnInfo(r));
  out->append("</").append(prefix).append(record).append("></");
  out->append(prefix).append(r.docType).append("Message>");
}

}  // namespace clearlane
