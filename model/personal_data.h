// Which fields hold personal data (contract §7). They never appear in logs,
// metrics or error details; the decoder does not echo their values.

#ifndef CLEARLANE_MODEL_PERSONAL_DATA_H_
#define CLEARLANE_MODEL_PERSONAL_DATA_H_

#include <string_view>

namespace clearlane {

// True for buyer and payer names, identity numbers and telephones, the
// buyer's platform account, and consignee names, phones and addresses.
bool IsPersonalField(std::string_view name);

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_PERSONAL_DATA_H_
