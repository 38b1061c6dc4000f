#include "model/personal_data.h"

#include <array>

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

}  // namespace clearlane
