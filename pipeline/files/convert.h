// `clearlane convert`: documents between the contract's JSON lines and the
// official CEB XML messages, record for record (contract §1, §11), so that
// a platform can try clearlane on its own XML, and receipts from JSON lines
// to official receipt messages (model/receipt_xml.h).
//
// To XML: consecutive documents of one type go into one message, at most
// `xml_records` a message (a document of another type starts a new one);
// receipts are one a message, one message a line. To JSON: each record of
// each message becomes one line, the §1 document it maps to. What cannot be
// converted (a line that is not a JSON object of a known type, a message
// that is not well-formed XML) is named on `err` with its line and left
// out; the command then ends with status 1, after converting the rest.
//
// Thread-safety: one call at a time.

#ifndef CLEARLANE_PIPELINE_FILES_CONVERT_H_
#define CLEARLANE_PIPELINE_FILES_CONVERT_H_

#include <cstdint>
#include <cstdio>
#include <string>

namespace clearlane {

struct ConvertOptions {
  std::string input;   // "-": standard input
  std::string output;  // "-" or empty: standard output
  bool to_xml = true;
  int64_t xml_records = 1;  // records a message, 1 to 100
  // Only count what is left out (gen's malformed lines have no XML form).
  bool quiet = false;
};

// Converts; 0 when everything converted, 1 when something was left out,
// 2 when the input cannot be read or the output written. *left_out (when
// given) counts what was left out.
int RunConvert(const ConvertOptions& options, std::FILE* err,
               int64_t* left_out = nullptr);

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_FILES_CONVERT_H_
