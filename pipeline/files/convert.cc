#include "pipeline/files/convert.h"

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "model/event_time.h"
#include "model/outputs.h"
#include "model/receipt_xml.h"
#include "model/xml_message.h"
#include "pipeline/files/buffered_file.h"
#include "pipeline/files/ndjson_reader.h"
#include "pipeline/files/xml_file_reader.h"
#include "simdjson.h"

namespace clearlane {
namespace {

namespace od = simdjson::ondemand;

bool IsReceiptType(std::string_view t) {
  return t == "CEB622" || t == "CEB624" || t == "CEB626" || t == "CEB604";
}

// A JSON receipt (contract §3) as a Receipt, with what the XML message
// needs beside: `statisticsFlag` when the line carries one (a JSON receipt
// has none; then "A").
absl::Status ParseReceipt(od::object o, Receipt* r) {
  for (auto member : o) {
    std::string_view key;
    od::value v;
    if (member.unescaped_key().get(key) || member.value().get(v)) {
      return absl::InvalidArgumentError("not JSON");
    }
    if (key == "reasons") {
      od::array reasons;
      if (v.get_array().get(reasons)) {
        return absl::InvalidArgumentError("reasons is not an array");
      }
      for (auto element : reasons) {
        od::object reason;
        std::string_view code, detail;
        if (element.get_object().get(reason) ||
            reason["code"].get_string().get(code) ||
            reason["detail"].get_string().get(detail)) {
          return absl::InvalidArgumentError(
              "a reason that is not {\"code\", \"detail\"}");
        }
        r->reasons.push_back({std::string(code), std::string(detail)});
      }
      continue;
    }
    std::string_view text;
    if (v.get_string().get(text)) continue;  // tax, annualTotal: no element
    const std::pair<std::string_view, std::string*> fields[] = {
        {"docType", &r->docType},
        {"guid", &r->guid},
        {"orderNo", &r->orderNo},
        {"ebpCode", &r->ebpCode},
        {"ebcCode", &r->ebcCode},
        {"copNo", &r->copNo},
        {"preNo", &r->preNo},
        {"invtNo", &r->invtNo},
        {"agentCode", &r->agentCode},
        {"customsCode", &r->customsCode},
        {"returnStatus", &r->returnStatus},
        {"returnInfo", &r->returnInfo},
        {"statisticsFlag", &r->statisticsFlag}};
    for (const auto& [name, field] : fields) {
      if (key == name) field->assign(text);
    }
    if (key == "returnTime") {
      auto t = ParseTime14(text.substr(0, 14));
      if (text.size() != 17 || !t.ok()) {
        return absl::InvalidArgumentError(
            "returnTime is not YYYYMMDDhhmmssSSS");
      }
      r->returnTime = *t;
    }
  }
  if (r->statisticsFlag.empty()) r->statisticsFlag = "A";
  return absl::OkStatus();
}

class ToXml {
 public:
  ToXml(std::FILE* out, std::FILE* err, int64_t per_message, bool quiet)
      : out_(out), err_(err), per_message_(per_message), quiet_(quiet) {}

  // One line of the input.
  void Line(int64_t line, std::string_view bytes) {
    const simdjson::padded_string padded(bytes);
    od::document doc;
    od::object o;
    std::string_view type;
    if (parser_.iterate(padded).get(doc) || doc.get_object().get(o) ||
        o["docType"].get_string().get(type)) {
      Skip(line, "not a JSON object with a docType");
      return;
    }
    const std::string doc_type(type);
    if (IsReceiptType(doc_type)) {
      Flush();
      Receipt r;
      o.reset();
      if (absl::Status st = ParseReceipt(o, &r); !st.ok()) {
        Skip(line, std::string(st.message()));
        return;
      }
      // Every receipt of a list carries the preNo of its first decision.
      auto [first, fresh] = first_decided_.try_emplace(
          std::string(r.ebpCode).append("|").append(r.orderNo), r.returnTime);
      if (!fresh) r.first_decided = first->second;
      std::string message;
      EncodeReceiptXml(r, &message);
      message.push_back('\n');
      Write(message);
      return;
    }
    if (doc_type != type_ ||
        static_cast<int64_t>(records_.size()) >= per_message_) {
      Flush();
    }
    type_ = doc_type;
    records_.emplace_back(bytes);
    lines_.push_back(line);
  }

  // Writes the message being gathered.
  void Flush() {
    if (records_.empty()) return;
    std::string message;
    absl::Status st = WriteXmlMessage(type_, records_, &message);
    if (st.ok()) {
      Write(message);
    } else if (records_.size() == 1) {
      Skip(lines_[0], std::string(st.message()));
    } else {  // one at a time, to name and leave out only the bad ones
      std::vector<std::string> records = std::move(records_);
      std::vector<int64_t> lines = std::move(lines_);
      for (size_t i = 0; i < records.size(); ++i) {
        records_ = {std::move(records[i])};
        lines_ = {lines[i]};
        Flush();
      }
    }
    records_.clear();
    lines_.clear();
  }

  int64_t skipped() const { return skipped_; }
  bool write_failed() const { return write_failed_; }

 private:
  void Skip(int64_t line, std::string_view why) {
    ++skipped_;
    if (quiet_) return;
    absl::FPrintF(err_, "clearlane convert: line %d left out: %s\n", line, why);
  }
  void Write(std::string_view bytes) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), out_) != bytes.size()) {
      write_failed_ = true;
    }
  }

  std::FILE* out_;
  std::FILE* err_;
  const int64_t per_message_;
  const bool quiet_;
  od::parser parser_;
  std::string type_;
  std::vector<std::string> records_;
  std::vector<int64_t> lines_;
  absl::flat_hash_map<std::string, absl::CivilSecond> first_decided_;
  int64_t skipped_ = 0;
  bool write_failed_ = false;
};

}  // namespace

int RunConvert(const ConvertOptions& options, std::FILE* err,
               int64_t* left_out) {
  if (options.xml_records < 1 || options.xml_records > 100) {
    absl::FPrintF(err, "clearlane convert: --xml-records must be 1 to 100\n");
    return 2;
  }
  const bool to_stdout = options.output.empty() || options.output == "-";
  std::FILE* out = to_stdout ? stdout : std::fopen(options.output.c_str(), "w");
  if (!out) {
    absl::FPrintF(err, "clearlane convert: cannot write %s\n", options.output);
    return 2;
  }
  int64_t skipped = 0;
  bool write_failed = false;
  absl::Status read;
  if (options.to_xml) {
    auto reader = NdjsonReader::Open(options.input);
    if (!reader.ok()) {
      absl::FPrintF(err, "clearlane convert: %s\n", reader.status().message());
      if (!to_stdout) std::fclose(out);
      return 2;
    }
    ToXml convert(out, err, options.xml_records, options.quiet);
    NdjsonReader::Record record;
    while ((*reader)->Next(&record)) {
      convert.Line(record.line, record.bytes);
    }
    convert.Flush();
    read = (*reader)->status();
    skipped = convert.skipped();
    write_failed = convert.write_failed();
  } else {
    auto reader = XmlFileReader::Open(options.input);
    if (!reader.ok()) {
      absl::FPrintF(err, "clearlane convert: %s\n", reader.status().message());
      if (!to_stdout) std::fclose(out);
      return 2;
    }
    XmlReader xml;
    XmlMessage message;
    XmlFileReader::Message m;
    while ((*reader)->Next(&m)) {
      const DecodeOutcome outcome = xml.Read(m.text, m.size, &message);
      if (!outcome.ok()) {
        ++skipped;
        absl::FPrintF(err,
                      "clearlane convert: the message on line %d left out: "
                      "%s: %s\n",
                      m.line, DeadLetterCodeName(outcome.code()),
                      outcome.detail());
        continue;
      }
      for (const XmlRecord& record : message.records) {
        std::string json = XmlRecordJson(message.type, record.fields);
        json.push_back('\n');
        if (std::fwrite(json.data(), 1, json.size(), out) != json.size()) {
          write_failed = true;
        }
      }
    }
    read = (*reader)->status();
  }
  if (std::fflush(out) != 0) write_failed = true;
  if (!to_stdout) std::fclose(out);
  if (!read.ok()) {
    absl::FPrintF(err, "clearlane convert: %s\n", read.message());
    return 2;
  }
  if (write_failed) {
    absl::FPrintF(err, "clearlane convert: cannot write %s\n",
                  to_stdout ? "the standard output" : options.output);
    return 2;
  }
  if (left_out) *left_out = skipped;
  if (skipped > 0) {
    if (!options.quiet) {
      absl::FPrintF(err, "clearlane convert: %d left out\n", skipped);
    }
    return 1;
  }
  return 0;
}

}  // namespace clearlane
