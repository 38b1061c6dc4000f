// XmlReader reads one official CEB XML message (contract §11,
// ceb-xml/FORMAT.md) into the contract documents it carries: each record
// under the root becomes the fields of the §1 document it maps to, which
// Decoder::DecodeFields then judges exactly as the JSON record (the same
// field checks, the same dead-letter precedence, by construction).
//
// Mapping: the root's local name `CEBnnnMessage` gives `docType`; each
// record element (`Order`, `Payment`, `Logistics`, `Inventory`,
// `InvtCancel`, `InvtRefund`, `Receipts`, `Arrival`, `Departure`: the one
// its message type has) is one document; the children of its head element
// (or of the record itself, for the flat ones) are the fields, under the
// same names; each line element is one entry of `items`, in order.
// Elements are matched by the CEB namespace and local name, whatever the
// prefix; BaseTransfer, BaseSubscribe, ExtendMessage, ds:Signature and
// unknown elements are read past. An empty element is absent. Text is
// taken as written (whitespace kept), entities resolved, and is always
// read as a JSON string would be. A field element with element children is
// read as a JSON object in its place, which the Decoder rejects.
//
// Whatever the bytes, Read never crashes and never recurses on the input's
// depth: it answers with the records, or with the one dead letter of the
// whole message (TOO_LARGE, NOT_UTF8, MALFORMED_XML, UNKNOWN_DOC_TYPE).
//
// Thread-safety: not thread-safe; use one XmlReader per thread.

#ifndef CLEARLANE_MODEL_XML_MESSAGE_H_
#define CLEARLANE_MODEL_XML_MESSAGE_H_

#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "model/decode.h"

namespace clearlane {

// Messages longer than this are TOO_LARGE (contract §11).
inline constexpr size_t kMaxXmlMessageBytes = 16777216;

// The CEB namespace (FORMAT.md §1.1).
inline constexpr std::string_view kCebNamespace =
    "http://www.chinaport.gov.cn/ceb";

// Whether `input`, after an optional UTF-8 BOM and whitespace, begins with
// '<': XML rather than JSON (contract §11).
bool LooksLikeXml(std::string_view input);

// The root element's name as written (with its prefix) in the message that
// starts at `in[at]`, past its declaration and comments; empty when `in`
// does not hold all of it.
std::string_view XmlRootName(std::string_view in, size_t at = 0);

// Where the message that starts at `in[at]` ends: just past its root's
// closing tag (a root never nests in itself); npos when `in` ends first.
size_t XmlMessageEnd(std::string_view in, size_t at = 0);

// One message of a CEB XML input (a file of one or more messages one after
// another, each with or without its declaration; contract §11) and the
// 1-based line on which it begins.
struct XmlMessageText {
  std::string_view text;
  int64_t line = 0;
};

// Splits `input` into its messages: each from its first non-space byte
// (after the file's BOM) to the end of its root element, found by the
// root's closing tag (a root never nests in itself). What does not end
// (a root never closed, text that is not XML) is one last message, which
// XmlReader rejects. Views into `input`.
std::vector<XmlMessageText> SplitXmlMessages(std::string_view input);

// One record of a message: views into the message read and into the
// reader's parsed copy of it, valid until the reader's next Read.
struct XmlRecord {
  std::span<const TextField> fields;  // for Decoder::DecodeFields
  std::string_view raw;               // its XML text, in the message read
};

struct XmlMessage {
  DocType type = DocType::kCeb311;
  std::vector<XmlRecord> records;
  // The records' fields, one after another, and the texts of fields
  // written in several pieces (text and CDATA), joined.
  std::vector<TextField> fields;
  std::deque<std::string> joined;
};

// The §1 JSON document a record of `type` maps to: {"docType": ..., its
// fields as strings (an object {} for one that held elements), "items":
// [...]}. Decoder::Decode judges it as DecodeFields judges the record.
std::string XmlRecordJson(DocType type, std::span<const TextField> fields);

class XmlReader {
 public:
  XmlReader();
  ~XmlReader();
  XmlReader(const XmlReader&) = delete;
  XmlReader& operator=(const XmlReader&) = delete;

  // Reads `message`. Accepted: *out holds its records (views into
  // `message`, which must outlive them, and into this reader, until the
  // next Read), at least one. Rejected: the message as a whole is the dead
  // letter the outcome names.
  DecodeOutcome Read(std::string_view message, XmlMessage* out);
  // The same, where `message` may be only the head of a message of
  // `message_size` bytes (a reader that did not keep an over-long one).
  DecodeOutcome Read(std::string_view message, size_t message_size,
                     XmlMessage* out);

 private:
  struct Parsed;
  std::unique_ptr<Parsed> parsed_;
};

// Appends `text` escaped for element content; false when it holds a
// character XML 1.0 cannot carry (a control character other than tab, LF
// and CR), of which it then appended the part before.
bool AppendXmlText(std::string_view text, std::string* out);

// Writes `records`, contract §1 JSON documents all of `doc_type`, as one
// CEB XML message in the `ceb:` prefix form, with a BaseTransfer: each
// member is a field element, in the member's order (null is absent; a
// string's text escaped, a number's and true's or false's text as written),
// each entry of `items` a line element; the message guid derives from the
// records. XmlReader gives the records back as equal documents. For
// `convert --to xml` and `gen --format xml`. InvalidArgument for a record
// that is not an object of `doc_type`, or holds a character XML 1.0 cannot
// carry (a control character other than tab, LF and CR).
absl::Status WriteXmlMessage(std::string_view doc_type,
                             absl::Span<const std::string> records,
                             std::string* out);

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_XML_MESSAGE_H_
