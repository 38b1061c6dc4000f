#include "model/encode.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <xxhash.h>

#include "absl/strings/str_format.h"
#include "model/event_time.h"
#include "model/personal_data.h"
#include "model/utf8.h"
#include "model/xml_message.h"

namespace clearlane {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// Writes "key": "value", omitting the field when value is empty (§3: fields
// that do not apply are omitted, never null).
void Field(JsonWriter& w, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  Str(w, key);
  Str(w, value);
}

void Append(const rapidjson::StringBuffer& buf, std::string* out) {
  out->append(buf.GetString(), buf.GetSize());
}

}  // namespace

std::string DeriveGuid(std::string_view material) {
  const XXH128_hash_t h = XXH3_128bits(material.data(), material.size());
  return absl::StrFormat("%08X-%04X-%04X-%04X-%012X", h.high64 >> 32,
                         (h.high64 >> 16) & 0xFFFF, h.high64 & 0xFFFF,
                         h.low64 >> 48, h.low64 & 0xFFFFFFFFFFFFull);
}

void EncodeReceipt(const Receipt& r, std::string* out) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  Field(w, "docType", r.docType);
  Field(w, "guid", r.guid);
  Field(w, "orderNo", r.orderNo);
  Field(w, "ebpCode", r.ebpCode);
  Field(w, "ebcCode", r.ebcCode);
  Field(w, "copNo", r.copNo);
  Field(w, "preNo", r.preNo);
  Field(w, "invtNo", r.invtNo);
  Field(w, "agentCode", r.agentCode);
  Field(w, "customsCode", r.customsCode);
  Field(w, "tradeMode", r.tradeMode);
  Field(w, "returnStatus", r.returnStatus);
  Field(w, "returnTime", FormatReturnTime(r.returnTime));
  Field(w, "returnInfo", r.returnInfo);
  Str(w, "reasons");
  w.StartArray();
  for (const Reason& reason : r.reasons) {
    w.StartObject();
    Str(w, "code");
    Str(w, reason.code);
    Str(w, "detail");
    Str(w, reason.detail);
    w.EndObject();
  }
  w.EndArray();
  if (r.tax) {
    Str(w, "tax");
    w.StartObject();
    Field(w, "dutiableValue", r.tax->dutiableValue.ToFixed2());
    Field(w, "customsTax", r.tax->customsTax.ToFixed2());
    Field(w, "valueAddedTax", r.tax->valueAddedTax.ToFixed2());
    Field(w, "consumptionTax", r.tax->consumptionTax.ToFixed2());
    Field(w, "taxTotal", r.tax->taxTotal.ToFixed2());
    w.EndObject();
  }
  if (r.annualTotal) Field(w, "annualTotal", r.annualTotal->ToFixed2());
  w.EndObject();
  Append(buf, out);
}

void EncodeSummaryForm(const SummaryForm& f, std::string* out) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  Field(w, "docType", "SUMMARY");
  Field(w, "period", FormatPeriod(f.period));
  Field(w, "ebcCode", f.ebcCode);
  Field(w, "trafMode", f.trafMode);
  if (f.has_owner_code) Field(w, "ownerCode", f.ownerCode);
  Field(w, "country", f.country);
  Field(w, "portCode", f.portCode);
  Str(w, "form");
  w.Int(f.form);
  Str(w, "forms");
  w.Int(f.forms);
  Str(w, "supplement");
  w.Int(f.supplement);
  Str(w, "listCount");
  w.Int64(f.listCount);
  Field(w, "grossWeight", f.grossWeight.ToPlain());
  Field(w, "netWeight", f.netWeight.ToPlain());
  Str(w, "lists");
  w.StartArray();
  for (const SummaryList& l : f.lists) {
    w.StartObject();
    Field(w, "orderNo", l.orderNo);
    Field(w, "logisticsNo", l.logisticsNo);
    Field(w, "invtNo", l.invtNo);
    Field(w, "copNo", l.copNo);
    w.EndObject();
  }
  w.EndArray();
  Str(w, "items");
  w.StartArray();
  for (const SummaryItem& i : f.items) {
    w.StartObject();
    Str(w, "gseqno");
    w.Int(i.gseqno);
    Field(w, "gcode", i.gcode);
    Field(w, "country", i.country);
    Field(w, "currency", i.currency);
    Field(w, "unit1", i.unit1);
    Field(w, "qty1", i.qty1.ToPlain());
    Field(w, "totalPrice", i.totalPrice.ToPlain());
    Str(w, "listCount");
    w.Int64(i.listCount);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  Append(buf, out);
}

void EncodeDeadLetter(const DeadLetter& d, std::string* out,
                      bool mask_personal_data) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  Str(w, "source");
  w.StartObject();
  if (const auto* file = std::get_if<FileSource>(&d.source)) {
    Str(w, "file");
    Str(w, RepairUtf8(file->file, file->file.size() * 3));
    Str(w, "line");
    w.Int64(file->line);
    if (file->record > 0) {
      Str(w, "record");
      w.Int64(file->record);
    }
  } else {
    const auto& topic = std::get<TopicSource>(d.source);
    Str(w, "topic");
    Str(w, topic.topic);
    Str(w, "partition");
    w.Int(topic.partition);
    Str(w, "offset");
    w.Int64(topic.offset);
    if (topic.record > 0) {
      Str(w, "record");
      w.Int64(topic.record);
    }
  }
  w.EndObject();
  Str(w, "reason");
  Str(w, DeadLetterCodeName(d.reason));
  Str(w, "detail");
  Str(w, d.detail);
  Str(w, "raw");
  // A CEB XML record or message is masked as XML (contract §11).
  const auto mask = [](std::string_view raw) {
    return LooksLikeXml(raw) ? MaskPersonalDataXml(raw) : MaskPersonalData(raw);
  };
  Str(w, RepairUtf8(mask_personal_data ? mask(d.raw) : d.raw, kMaxRawBytes));
  w.EndObject();
  Append(buf, out);
}

}  // namespace clearlane
