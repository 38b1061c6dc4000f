#include "tests/fixtures.h"

#include <stdexcept>

namespace clearlane::testing {

std::string ValidRecord(std::string_view doc_type) {
  if (doc_type == "CEB311") {
    return R"({"docType":"CEB311","guid":"4CDE1CFD-EDED-46B1-946C-B8022E42FC94","appType":"1","appTime":"20261111093000","appStatus":"2","orderType":"I","orderNo":"O1","ebpCode":"EBP1","ebpName":"平台","ebcCode":"EBC1","ebcName":"电商","goodsValue":"100","freight":"10","discount":"0","taxTotal":"9.1","acturalPaid":"119.1","currency":"142","buyerRegNo":"u1","buyerName":"张三","buyerTelephone":"13800000000","buyerIdType":"1","buyerIdNumber":"11010519491231002X","consignee":"张三","consigneeTelephone":"13800000000","consigneeAddress":"北京市朝阳区","items":[{"gnum":1,"itemName":"奶粉","gmodel":"900g","unit":"122","qty":"1","price":"100","totalPrice":"100","currency":"142","country":"116"}]})";
  }
  if (doc_type == "CEB411") {
    return R"({"docType":"CEB411","appType":"1","appTime":"20261111093100","payCode":"PAY1","payName":"支付","payTransactionId":"T1","orderNo":"O1","ebpCode":"EBP1","ebpName":"平台","payerIdType":"1","payerIdNumber":"11010519491231002X","payerName":"张三","amountPaid":"119.1","currency":"142","payTime":"20261111093055"})";
  }
  if (doc_type == "CEB511") {
    return R"({"docType":"CEB511","appType":"1","appTime":"20261111100000","logisticsCode":"LOG1","logisticsName":"物流","logisticsNo":"L1","orderNo":"O1","currency":"142","weight":"1.2","packNo":"1","consignee":"张三","consigneeAddress":"北京市朝阳区","consigneeTelephone":"13800000000"})";
  }
  if (doc_type == "CEB621") {
    return R"({"docType":"CEB621","appType":"1","appTime":"20261111110000","orderNo":"O1","ebpCode":"EBP1","ebpName":"平台","ebcCode":"EBC1","ebcName":"电商","logisticsNo":"L1","logisticsCode":"LOG1","logisticsName":"物流","copNo":"C1","assureCode":"EBC1","emsNo":"T1234W000001","ieFlag":"I","declTime":"20261111","customsCode":"2244","portCode":"2244","buyerIdType":"1","buyerIdNumber":"11010519491231002X","buyerName":"张三","buyerTelephone":"13800000000","consigneeAddress":"北京市朝阳区","agentCode":"AG1","agentName":"报关","areaCode":"AREA1","areaName":"仓储","tradeMode":"1210","trafMode":"4","country":"142","freight":"10","insuredFee":"0","currency":"142","packNo":"1","grossWeight":"1.2","netWeight":"1.0","items":[{"gnum":1,"itemRecordNo":"R1","gcode":"0402100000","gname":"奶粉","gmodel":"900g","country":"116","currency":"142","qty":"1","unit":"122","qty1":"0.9","unit1":"035","price":"100","totalPrice":"100"}]})";
  }
  if (doc_type == "CEB623") {
    return R"({"docType":"CEB623","appType":"1","appTime":"20261112110000","orderNo":"O1","ebpCode":"EBP1","invtNo":"22442026I000000001","reason":"不要了"})";
  }
  if (doc_type == "CEB625") {
    return R"({"docType":"CEB625","appType":"1","appTime":"20261112110000","orderNo":"O1","ebpCode":"EBP1","invtNo":"22442026I000000001","reason":"质量","items":[{"gnum":1,"qty":"1"}]})";
  }
  if (doc_type == "CEB303") {
    return R"({"docType":"CEB303","appType":"1","appTime":"20261111093000","orderType":"E","orderNo":"E1","ebpCode":"EBP2","ebpName":"平台","ebcCode":"EBC2","ebcName":"卖家","goodsValue":"200","freight":"20","currency":"142","items":[{"gnum":1,"itemNo":"SKU1","itemName":"手机壳","unit":"007","currency":"142","qty":"10","price":"20","totalPrice":"200"}]})";
  }
  if (doc_type == "CEB403") {
    return R"({"docType":"CEB403","appType":"1","appTime":"20261111093500","ebpCode":"EBP2","ebpName":"平台","ebcCode":"EBC2","ebcName":"卖家","orderNo":"E1","payName":"支付","charge":"220","currency":"142","accountingDate":"20261111093400"})";
  }
  if (doc_type == "CEB505") {
    return R"({"docType":"CEB505","appType":"1","appTime":"20261111100000","logisticsCode":"LOG2","logisticsName":"物流","logisticsNo":"EL1","freight":"20","insuredFee":"0","currency":"142","grossWeight":"0.5","packNo":"1","goodsInfo":"手机壳"})";
  }
  if (doc_type == "CEB507") {
    return R"({"docType":"CEB507","appType":"1","appTime":"20261111150000","customsCode":"5100","logisticsCode":"LOG2","billNo":"B1","items":[{"gnum":1,"logisticsNo":"EL1"},{"gnum":2,"logisticsNo":"EL2"}]})";
  }
  if (doc_type == "CEB509") {
    return R"({"docType":"CEB509","appType":"1","appTime":"20261111220000","logisticsCode":"LOG2","billNo":"B1","leaveTime":"20261111215500","items":[{"gnum":1,"logisticsNo":"EL1"}]})";
  }
  if (doc_type == "CEB603") {
    return R"({"docType":"CEB603","appType":"1","appTime":"20261111110000","customsCode":"5100","ebpCode":"EBP2","ebpName":"平台","orderNo":"E1","logisticsCode":"LOG2","logisticsName":"物流","logisticsNo":"EL1","copNo":"C2","ieFlag":"E","portCode":"5100","ieDate":"20261111","statisticsFlag":"B","agentCode":"AG2","agentName":"报关","ebcCode":"EBC2","ebcName":"卖家","ownerCode":"OWN2","ownerName":"工厂","tradeMode":"9610","trafMode":"5","country":"502","POD":"USLAX","freight":"20","fCurrency":"142","fFlag":"3","insuredFee":"0","iCurrency":"142","iFlag":"3","wrapType":"2","packNo":"1","grossWeight":"0.5","netWeight":"0.4","items":[{"gnum":1,"itemNo":"SKU1","gcode":"3926909090","gname":"手机壳","gmodel":"TPU","barCode":"无","country":"502","currency":"142","qty":"10","qty1":"0.4","unit":"007","unit1":"035","price":"20","totalPrice":"200"}]})";
  }
  throw std::invalid_argument("no fixture for this docType");
}

}  // namespace clearlane::testing
