// Which fields hold personal data (contract §7). They never appear in logs,
// metrics or error details; the decoder does not echo their values.
//
// Thread-safety: constant tables and pure functions.

#ifndef CLEARLANE_MODEL_PERSONAL_DATA_H_
#define CLEARLANE_MODEL_PERSONAL_DATA_H_

#include <string>
#include <string_view>

namespace clearlane {

// True for buyer and payer names, identity numbers and telephones, the
// buyer's platform account, and consignee names, phones and addresses.
bool IsPersonalField(std::string_view name);

// What `raw` (a received record, any bytes) becomes in a dead letter when
// personal data is masked (contract §7): the value of every member named by
// a personal field, at any depth, is replaced by "***" (a string, an
// object, an array or a bare word alike). Names are compared after their
// JSON escapes are decoded, as the decoder reads them. Everything else is
// kept byte for byte. A value cut off by the end of the record is masked to
// the end; so a record that does not parse loses only the personal values
// it names.
std::string MaskPersonalData(std::string_view raw);

// The same for a CEB XML record's text (contract §11): the content of every
// element whose local name is a personal field becomes "***", whatever its
// prefix; a content cut off by the end of the text is masked to the end.
std::string MaskPersonalDataXml(std::string_view raw);

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_PERSONAL_DATA_H_
