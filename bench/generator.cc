#include "bench/generator.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <queue>
#include <span>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "model/decimal.h"
#include "model/event_time.h"
#include "model/identity_number.h"

namespace clearlane {
namespace {

// ---- Randomness -------------------------------------------------------------

// SplitMix64: the same sequence on every platform and compiler, unlike the
// distributions of <random>.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  // An independent stream for (seed, purpose, index).
  static Rng For(uint64_t seed, uint64_t purpose, uint64_t index) {
    Rng r(seed ^ (purpose * 0x9E3779B97F4A7C15ull));
    r.state_ ^= r.Next() + index * 0xD1B54A32D192ED03ull;
    r.Next();
    return r;
  }
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi], both inclusive.
  int64_t Uniform(int64_t lo, int64_t hi) {
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    if (span == 0) return static_cast<int64_t>(Next());
    return lo + static_cast<int64_t>(
                    (static_cast<unsigned __int128>(Next()) * span) >> 64);
  }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  template <class T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Uniform(0, static_cast<int64_t>(N) - 1)];
  }
  // An index in [0, n) where low indices are much likelier: u^power skews
  // toward 0, giving the heavy tail of real buyer and seller populations.
  int64_t Skewed(int64_t n, double power) {
    double u = Unit();
    double x = 1.0;
    for (int k = 0; k < static_cast<int>(power); ++k) x *= u;
    return std::min<int64_t>(n - 1, static_cast<int64_t>(x * n));
  }

 private:
  uint64_t state_;
};

enum Purpose : uint64_t {
  kPlanStream = 1,
  kContentStream = 2,
  kBuyerStream = 3,
  kRegistryStream = 4,
};

// ---- Reference tables
// ---------------------------------------------------------

struct Region {
  const char* code;  // GB/T 2260 district code, the identity number's prefix
  const char* city;
  const char* district;
};
constexpr Region kRegions[] = {
    {"110105", "北京市", "朝阳区"},
    {"110108", "北京市", "海淀区"},
    {"310115", "上海市", "浦东新区"},
    {"310104", "上海市", "徐汇区"},
    {"440305", "广东省深圳市", "南山区"},
    {"440106", "广东省广州市", "天河区"},
    {"330106", "浙江省杭州市", "西湖区"},
    {"320106", "江苏省南京市", "鼓楼区"},
    {"510107", "四川省成都市", "武侯区"},
    {"420106", "湖北省武汉市", "武昌区"},
    {"610113", "陕西省西安市", "雁塔区"},
    {"370202", "山东省青岛市", "市南区"},
    {"500103", "重庆市", "渝中区"},
    {"120101", "天津市", "和平区"},
    {"350203", "福建省厦门市", "思明区"},
    {"430104", "湖南省长沙市", "岳麓区"},
    {"210102", "辽宁省沈阳市", "和平区"},
    {"230103", "黑龙江省哈尔滨市", "南岗区"},
    {"530102", "云南省昆明市", "五华区"},
    {"450103", "广西壮族自治区南宁市", "青秀区"},
};
constexpr const char* kSurnames[] = {
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴",   "周",
    "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",   "罗",
    "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓",   "曹",
    "彭", "曾", "肖", "田", "董", "袁", "潘", "蒋", "蔡",   "余",
    "杜", "叶", "程", "苏", "魏", "吕", "丁", "沈", "欧阳", "司马"};
constexpr const char* kGiven[] = {
    "伟",   "芳",   "娜",   "秀英", "敏",   "静",   "丽",   "强",   "磊",
    "军",   "洋",   "勇",   "艳",   "杰",   "娟",   "涛",   "明",   "超",
    "兰",   "霞",   "平",   "刚",   "华",   "玉",   "萍",   "红",   "玲",
    "燕",   "彬",   "鑫",   "宇",   "浩然", "子轩", "梓涵", "一诺", "欣怡",
    "思远", "俊杰", "雨桐", "佳琪", "晨",   "悦",   "博文", "嘉怡", "天佑"};
constexpr const char* kStreets[] = {"建国路", "人民路",   "中山路", "解放路",
                                    "长江路", "南京路",   "淮海路", "科技园路",
                                    "文三路", "天府大道", "延安路", "和平大街",
                                    "光明路", "滨江大道"};

// An import goods line's template: the 10-digit gcode hits every row of the
// default tax table (contract §2) and the default row.
struct ImportGoods {
  const char* gcode;
  const char* name;
  const char* model;
  const char* unit;  // JGS-20 unit code of the transaction unit
  int64_t min_yuan, max_yuan;
  int64_t grams;                 // net weight of one unit, for qty1 in kg
  const char* origin;            // JGS-20 country code
  int vat_pct, consumption_pct;  // for the platform's pre-collected taxTotal
};
constexpr ImportGoods kImportGoods[] = {
    {"0401200000", "纯牛奶", "1L×12盒", "140", 69, 159, 12600, "601", 9, 0},
    {"0402100000", "婴幼儿配方奶粉", "900g 1段", "122", 158, 428, 900, "309", 9,
     0},
    {"0402210000", "全脂奶粉", "1kg 袋装", "125", 89, 199, 1000, "609", 9, 0},
    {"3303000000", "香水", "50ml 淡香", "142", 399, 1680, 50, "305", 13, 15},
    {"3304990099", "保湿面霜", "50ml", "142", 199, 2980, 50, "116", 13, 15},
    {"3304100000", "口红", "3.5g 哑光", "012", 180, 420, 4, "305", 13, 15},
    {"7113191100", "K金项链", "18K 45cm", "011", 1500, 4200, 10, "304", 13, 10},
    {"9101219000", "机械手表", "自动机芯 40mm", "007", 3000, 4600, 120, "331",
     13, 20},
    {"9102110000", "石英手表", "36mm 皮表带", "007", 800, 4500, 80, "116", 13,
     20},
    {"2106909090", "膳食补充剂", "60粒/瓶", "142", 99, 399, 120, "502", 13, 0},
    {"6403990090", "运动鞋", "42码 网面", "011", 299, 1299, 800, "132", 13, 0},
    {"8509809000", "料理机", "1.5L 220V", "007", 499, 2999, 3500, "304", 13, 0},
    {"3401300000", "洗面奶", "120g", "142", 59, 199, 120, "116", 13, 0},
    {"9004100000", "太阳镜", "偏光 UV400", "007", 599, 2999, 60, "307", 13, 0},
};
// Single items over the 5000.00 limit (财关税〔2018〕49号 clause 2).
constexpr ImportGoods kLuxuryGoods[] = {
    {"9101219000", "机械手表", "自动机芯 42mm 蓝宝石", "007", 5001, 23000, 150,
     "331", 13, 20},
    {"4202210090", "皮革手提包", "小牛皮 30cm", "007", 5001, 18000, 900, "305",
     13, 0},
};

struct Platform {
  const char* ebpCode;
  const char* ebpName;
  const char* order_prefix;
  bool decimals_as_numbers;  // some platforms send amounts as JSON numbers
};
constexpr Platform kImportPlatforms[] = {
    {"3301964J31", "天猫国际", "TM", false},
    {"1105910159", "京东国际", "JD", true},
    {"4403169D3W", "考拉海购", "KL", false},
    {"3120680001", "小红书福利社", "XH", true},
};
constexpr Platform kExportPlatforms[] = {
    {"4401968Z01", "速卖通", "AE", false},
    {"4403960XYZ", "希音", "SH", true},
    {"3301960ABC", "敦煌网", "DH", false},
};

struct Company {
  const char* code;
  const char* name;
};
constexpr Company kLogistics[] = {{"4403180001", "顺丰速运有限公司"},
                                  {"3101980008", "中国邮政速递物流"},
                                  {"3301260012", "菜鸟供应链"},
                                  {"1101580003", "京东物流"}};
constexpr Company kPayers[] = {{"312226T001", "支付宝(中国)网络技术有限公司"},
                               {"440316T004", "财付通支付科技有限公司"},
                               {"31222699S7", "银联商务股份有限公司"}};
constexpr Company kAgents[] = {{"3301980AG1", "杭州跨境报关有限公司"},
                               {"4403980AG2", "深圳前海报关行"},
                               {"3101980AG3", "上海外高桥报关有限公司"}};

struct Seller {
  const char* ebcCode;
  const char* ebcName;
  const char* trafMode;  // JGS-20 transport mode
  const char* portCode;
  const char* countries[3];  // countries of arrival it ships to
};
// Large sellers first: the skewed pick makes the first few dominate, as in
// real 9610 export.
constexpr Seller kSellers[] = {
    {"4403960S01",
     "深圳市跨境优品科技有限公司",
     "5",
     "5316",
     {"502", "303", "304"}},
    {"4401960S02",
     "广州市环球衣橱服饰有限公司",
     "5",
     "5141",
     {"502", "601", "133"}},
    {"3301960S03",
     "杭州全球购电子商务有限公司",
     "2",
     "2248",
     {"502", "116", "304"}},
    {"3502960S04", "厦门海丝贸易有限公司", "2", "3700", {"132", "143", "112"}},
    {"3100960S05", "上海迅达数码有限公司", "5", "2244", {"116", "133", "502"}},
    {"4419960S06",
     "东莞市巧手玩具有限公司",
     "4",
     "5320",
     {"344", "110", "502"}},
    {"3310960S07",
     "义乌小商品出口有限公司",
     "5",
     "2900",
     {"502", "305", "303"}},
    {"3201960S08",
     "南京宁远家居用品有限公司",
     "2",
     "2301",
     {"601", "609", "502"}},
};
struct ExportGoods {
  const char* gcode;
  const char* name;
  const char* model;
  const char* unit;
  const char* unit1;  // 035 kilograms or 007 pieces
  int64_t min_fen, max_fen;
  int64_t grams;
};
constexpr ExportGoods kExportGoods[] = {
    {"3926909090", "手机壳", "TPU 透明", "007", "035", 500, 3000, 40},
    {"6110200090", "针织毛衣", "棉 M码", "011", "007", 3900, 15900, 350},
    {"8517629990", "蓝牙耳机", "TWS 5.3", "007", "007", 5900, 29900, 60},
    {"9503008900", "积木玩具", "500粒", "007", "035", 2900, 19900, 600},
    {"4202220000", "帆布手提包", "40cm", "007", "007", 3900, 12900, 300},
    {"6403999000", "休闲鞋", "41码", "011", "007", 7900, 29900, 700},
    {"8471300000", "平板电脑", "10英寸 64G", "001", "007", 59900, 159900, 480},
    {"6204620000", "女式长裤", "棉 S码", "011", "007", 2900, 9900, 300},
    {"9405420000", "LED台灯", "USB", "007", "007", 4900, 19900, 500},
};

// ---- The day's shape ------------------------------------------------------

// Relative order volume per hour. Double 11: the midnight rush, a quiet
// night, a steady day and the evening peak.
constexpr std::array<double, 24> kDouble11Hours = {
    12,  5,   2,   1,   0.6, 0.5, 0.7, 1.2, 2, 3,   3.5, 3.5,
    3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 4,   5,   7, 7.5, 6,   4};

// Creation times of the day's orders: order i is created at the
// (i + 0.5) / N quantile of the day's volume, so times are sorted without
// being stored.
class DayShape {
 public:
  DayShape(DayProfile profile) {
    cdf_.resize(kMinutes + 1);
    for (int m = 0; m < kMinutes; ++m) {
      double w = 1.0;
      if (profile == DayProfile::kDouble11) {
        w = kDouble11Hours[m / 60];
        if (m < 10) w *= 6;  // the first minutes after midnight
      }
      cdf_[m + 1] = cdf_[m] + w;
    }
  }
  // Seconds since midnight for quantile q in [0, 1).
  int64_t At(double q) const {
    const double target = q * cdf_.back();
    const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), target);
    const int m = std::max(0, static_cast<int>(it - cdf_.begin()) - 1);
    const double within = (target - cdf_[m]) / (cdf_[m + 1] - cdf_[m]);
    return m * 60 + static_cast<int64_t>(within * 60);
  }

 private:
  static constexpr int kMinutes = 24 * 60;
  std::vector<double> cdf_;
};

// ---- Plans: which documents an order sends, and when
// --------------------------

enum Kind : uint8_t {
  kOrder,
  kPayment,
  kWaybill,
  kList,
  kCancel,
  kReturn,
  kArrival,
  kDeparture,
  kKindCount
};

enum Variant : uint8_t {
  kNormal,
  kDuplicate,
  kStale,
  kFirstVersion,  // the order before its appType 2 correction
  kMalformed,     // + which of kMalformedKinds
};

// Anomalies that change a list's outcome: at most one per order, so the
// expectation written to the truth file is exact.
enum class Outcome : uint8_t {
  kClean,
  kMissing,
  kAmountMismatch,
  kPayerMismatch,
  kInvalidId,
  kCancel,
  kReturn,
  kLateReturn,
};

constexpr int64_t kDay = 24 * 3600;
constexpr int64_t kNever = -1;
// Export arrivals and departures each cover a bag of consecutive orders.
constexpr int64_t kBatch = 16;

struct Plan {
  bool is_export = false;
  std::array<int64_t, kKindCount> at{};  // appTime, seconds from midnight
  std::array<int64_t, kKindCount> emit{};
  Outcome outcome = Outcome::kClean;
  int missing = -1;       // the Kind not sent
  int sub = 0;            // which amount or payer field is broken
  int stale = -1;         // the Kind that also arrives in an older version
  bool modified = false;  // the order is sent twice, corrected by appType 2
  int64_t first_version_at = 0;
  int64_t return_lines = 0;  // 0: the whole list
};

// ---- The generator ----------------------------------------------------------

struct Line {
  int gnum;
  const ImportGoods* goods = nullptr;
  const ExportGoods* export_goods = nullptr;
  int64_t qty;
  Decimal price, total;
};

struct Buyer {
  std::string name, id, phone, address, reg_no;
};

struct Event {
  int64_t emit;
  int64_t order;
  uint8_t kind;
  uint8_t variant;
  bool operator>(const Event& o) const {
    if (emit != o.emit) return emit > o.emit;
    if (order != o.order) return order > o.order;
    if (kind != o.kind) return kind > o.kind;
    return variant > o.variant;
  }
};

// The malformed extra lines, each with the dead-letter code it must get.
struct MalformedKind {
  const char* name;
  const char* expect;
};
constexpr MalformedKind kMalformedKinds[] = {
    {"truncated", "MALFORMED_JSON"},          {"not_utf8", "NOT_UTF8"},
    {"unknown_doc_type", "UNKNOWN_DOC_TYPE"}, {"bad_app_time", "INVALID_FIELD"},
    {"bad_decimal", "INVALID_FIELD"},         {"missing_key", "MISSING_KEY"},
};
constexpr int kMalformedKindCount = std::size(kMalformedKinds);

class Generator {
 public:
  Generator(const GeneratorOptions& o, std::FILE* out, std::FILE* truth)
      : o_(o),
        out_(out),
        truth_(truth),
        shape_(o.profile),
        day_start_(o.day),
        buyers_(o.buyers > 0 ? o.buyers : std::max<int64_t>(50, o.orders / 3)) {
  }

  absl::Status Run(GeneratorStats* stats);
  void WriteRegistry(std::FILE* registry);

 private:
  int64_t CreatedAt(int64_t i) const {
    return shape_.At((static_cast<double>(i) + 0.5) / o_.orders);
  }
  bool IsExport(int64_t i) const;
  Plan MakePlan(int64_t i) const;
  Buyer MakeBuyer(int64_t b) const;
  int64_t BuyerOf(int64_t i) const;

  void Schedule(int64_t i, const Plan& p);
  void ScheduleBatch(int64_t batch);
  void Emit(const Event& e);
  std::string Document(int64_t i, const Plan& p, Kind kind, Variant variant);
  std::string ImportDocument(int64_t i, const Plan& p, Kind kind,
                             Variant variant);
  std::string ExportDocument(int64_t i, const Plan& p, Kind kind,
                             Variant variant);
  std::string BagDocument(int64_t batch, Kind kind);
  void WriteLine(const std::string& line);
  void Truth(const std::string& json);
  void OrderTruth(int64_t i, const Plan& p);

  std::string Time14(int64_t seconds) const {
    return FormatTime14(absl::CivilSecond(day_start_) + seconds);
  }

  const GeneratorOptions& o_;
  std::FILE* out_;
  std::FILE* truth_;
  DayShape shape_;
  absl::CivilDay day_start_;
  int64_t buyers_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> pending_;
  GeneratorStats stats_;
  absl::Status status_;
};

bool Generator::IsExport(int64_t i) const {
  switch (o_.flow) {
    case Flow::kImport:
      return false;
    case Flow::kExport:
      return true;
    case Flow::kMixed:
      return Rng::For(o_.seed, kPlanStream, i).Chance(o_.export_share);
  }
  return false;
}

int64_t Generator::BuyerOf(int64_t i) const {
  Rng r = Rng::For(o_.seed, kContentStream, i);
  r.Next();
  // u^2 skew: the heaviest buyers place hundreds of orders a year, enough to
  // meet the 26000.00 allowance.
  return r.Skewed(buyers_, 2);
}

Buyer Generator::MakeBuyer(int64_t b) const {
  Rng r = Rng::For(o_.seed, kBuyerStream, b);
  Buyer buyer;
  // Region, birth date and sequence are a function of b that never repeats
  // (below 20 x 16000 x 999 buyers): one identity number per person, as
  // the registry must have it.
  const int64_t regions = std::size(kRegions);
  const Region& region = kRegions[b % regions];
  const int64_t rest = b / regions;
  buyer.name = absl::StrCat(r.Pick(kSurnames), r.Pick(kGiven));
  if (r.Chance(0.4)) absl::StrAppend(&buyer.name, r.Pick(kGiven));
  const absl::CivilDay birth = absl::CivilDay(1960, 1, 1) + rest % 16000;
  std::string first17 =
      absl::StrFormat("%s%04d%02d%02d%03d", region.code, birth.year(),
                      birth.month(), birth.day(), (rest / 16000) % 999 + 1);
  buyer.id = first17 + IdentityCheckCharacter(first17);
  buyer.phone =
      absl::StrFormat("1%d%09d", r.Uniform(3, 9), r.Uniform(0, 999999999));
  buyer.address = absl::StrFormat(
      "%s%s%s%d号%d栋%d室", region.city, region.district, r.Pick(kStreets),
      r.Uniform(1, 999), r.Uniform(1, 30), r.Uniform(101, 2808));
  buyer.reg_no = absl::StrFormat("u%010d", b);
  return buyer;
}

Plan Generator::MakePlan(int64_t i) const {
  Rng r = Rng::For(o_.seed, kPlanStream, i);
  Plan p;
  p.is_export = IsExport(i);
  r.Next();  // the draw IsExport used
  p.at.fill(kNever);
  const int64_t t0 = CreatedAt(i);
  const AnomalyRates& a = o_.anomalies;

  // At most one outcome-changing anomaly, drawn against cumulative rates.
  const double u = r.Unit();
  const std::array<std::pair<double, Outcome>, 7> outcomes = {{
      {a.missing, Outcome::kMissing},
      {a.amount_mismatches, Outcome::kAmountMismatch},
      {p.is_export ? 0 : a.payer_mismatches, Outcome::kPayerMismatch},
      {p.is_export ? 0 : a.invalid_ids, Outcome::kInvalidId},
      {p.is_export ? 0 : a.cancels, Outcome::kCancel},
      {p.is_export ? 0 : a.returns, Outcome::kReturn},
      {p.is_export ? 0 : a.late_returns, Outcome::kLateReturn},
  }};
  double cumulative = 0;
  for (const auto& [rate, outcome] : outcomes) {
    cumulative += rate;
    if (u < cumulative) {
      p.outcome = outcome;
      break;
    }
  }
  p.sub = static_cast<int>(r.Uniform(0, 2));

  p.modified = r.Chance(a.modifications);
  int64_t order_at = t0;
  if (p.modified) {
    p.first_version_at = t0;
    order_at = t0 + r.Uniform(60, 300);
  }
  p.at[kOrder] = order_at;
  if (!p.is_export) {
    p.at[kPayment] = t0 + r.Uniform(5, 600);
    p.at[kWaybill] = t0 + r.Uniform(600, 4 * 3600);
    p.at[kList] = std::max(order_at, p.at[kPayment]) + r.Uniform(60, 2 * 3600);
    const int64_t settled = *std::max_element(p.at.begin(), p.at.begin() + 4);
    if (p.outcome == Outcome::kMissing) {
      p.missing = static_cast<int>(r.Uniform(kOrder, kWaybill));
    } else if (p.outcome == Outcome::kCancel) {
      p.at[kCancel] = settled + r.Uniform(3600, 3 * kDay);
    } else if (p.outcome == Outcome::kReturn) {
      p.at[kReturn] = settled + r.Uniform(kDay, 29 * kDay);
      p.return_lines = r.Uniform(0, 1);
    } else if (p.outcome == Outcome::kLateReturn) {
      p.at[kReturn] = settled + r.Uniform(31 * kDay, 45 * kDay);
    }
  } else {
    p.at[kPayment] = t0 + r.Uniform(60, 1800);
    p.at[kWaybill] = t0 + r.Uniform(600, 3 * 3600);
    p.at[kList] = t0 + r.Uniform(1800, 4 * 3600);
    if (p.outcome == Outcome::kMissing) {
      const int choice = static_cast<int>(r.Uniform(0, 3));
      p.missing = choice == 3 ? kArrival : choice;
    }
  }
  // An order never sent has no first version either.
  if (p.missing == kOrder) p.modified = false;
  if (r.Chance(a.stale)) {
    const int kind = static_cast<int>(r.Uniform(kOrder, kList));
    if (kind != p.missing) p.stale = kind;
  }
  for (int k = 0; k < kKindCount; ++k) {
    p.emit[k] = p.at[k] == kNever ? kNever : p.at[k] + r.Uniform(0, 20);
  }
  if (p.missing >= 0) p.emit[p.missing] = kNever;
  return p;
}

void Generator::Schedule(int64_t i, const Plan& p) {
  Rng r = Rng::For(o_.seed, kPlanStream, i ^ 0x5bd1e995);
  const AnomalyRates& a = o_.anomalies;
  for (int k = kOrder; k <= kReturn; ++k) {
    if (p.emit[k] == kNever) continue;
    pending_.push({p.emit[k], i, static_cast<uint8_t>(k), kNormal});
    if (r.Chance(a.duplicates)) {
      pending_.push({p.emit[k] + r.Uniform(1, 600), i, static_cast<uint8_t>(k),
                     kDuplicate});
    }
    if (r.Chance(a.malformed)) {
      pending_.push({p.emit[k] + r.Uniform(0, 60), i, static_cast<uint8_t>(k),
                     static_cast<uint8_t>(
                         kMalformed + r.Uniform(0, kMalformedKindCount - 1))});
    }
  }
  if (p.stale >= 0) {
    pending_.push({p.emit[p.stale] + r.Uniform(60, 3600), i,
                   static_cast<uint8_t>(p.stale), kStale});
  }
  if (p.modified) {
    pending_.push({p.first_version_at, i, kOrder, kFirstVersion});
  }
}

void Generator::ScheduleBatch(int64_t batch) {
  // The bag leaves for the supervised site once every list and waybill of
  // its export orders is in, and departs hours later.
  int64_t ready = kNever;
  const int64_t first = batch * kBatch;
  const int64_t last = std::min(o_.orders, first + kBatch) - 1;
  for (int64_t i = first; i <= last; ++i) {
    if (!IsExport(i)) continue;
    const Plan p = MakePlan(i);
    ready = std::max({ready, p.at[kList], p.at[kWaybill]});
  }
  if (ready == kNever) return;
  Rng r = Rng::For(o_.seed, kPlanStream, ~batch);
  const int64_t arrival =
      std::max(ready + r.Uniform(3600, 6 * 3600), CreatedAt(last));
  const int64_t departure = arrival + r.Uniform(2 * 3600, 12 * 3600);
  pending_.push({arrival, first, kArrival, kNormal});
  pending_.push({departure, first, kDeparture, kNormal});
}

// ---- JSON ---------------------------------------------------------------

class Json {
 public:
  explicit Json(bool decimals_as_numbers)
      : numbers_(decimals_as_numbers), w_(buf_) {
    w_.StartObject();
  }
  Json& S(std::string_view key, std::string_view value) {
    Key(key);
    w_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    return *this;
  }
  Json& D(std::string_view key, Decimal value) {
    Key(key);
    const std::string text = value.ToPlain();
    if (numbers_) {
      w_.RawValue(text.data(), text.size(), rapidjson::kNumberType);
    } else {
      w_.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
    }
    return *this;
  }
  Json& I(std::string_view key, int64_t value) {
    Key(key);
    w_.Int64(value);
    return *this;
  }
  Json& BeginItems() {
    Key("items");
    w_.StartArray();
    return *this;
  }
  Json& BeginItem() {
    w_.StartObject();
    return *this;
  }
  Json& EndItem() {
    w_.EndObject();
    return *this;
  }
  Json& EndItems() {
    w_.EndArray();
    return *this;
  }
  std::string Finish() {
    w_.EndObject();
    return std::string(buf_.GetString(), buf_.GetSize());
  }

 private:
  void Key(std::string_view key) {
    w_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  }
  bool numbers_;
  rapidjson::StringBuffer buf_;
  rapidjson::Writer<rapidjson::StringBuffer> w_;
};

Decimal Yuan(int64_t fen) { return Decimal::FromUnits(fen * Decimal::kFen); }
Decimal Grams(int64_t grams) { return Decimal::FromUnits(grams * 100); }

std::string Guid(uint64_t seed, int64_t i, int kind, int variant) {
  Rng r = Rng::For(seed, 99, (i << 8) ^ (kind << 4) ^ variant);
  const uint64_t a = r.Next(), b = r.Next();
  return absl::StrFormat("%08X-%04X-%04X-%04X-%012X", a >> 32,
                         (a >> 16) & 0xFFFF, a & 0xFFFF, b >> 48,
                         b & 0xFFFFFFFFFFFFull);
}

// ---- Import documents -------------------------------------------------------

std::string Generator::ImportDocument(int64_t i, const Plan& p, Kind kind,
                                      Variant variant) {
  Rng r = Rng::For(o_.seed, kContentStream, i);
  r.Next();  // the draw BuyerOf used
  const Buyer buyer = MakeBuyer(BuyerOf(i));
  const Platform& platform = r.Pick(kImportPlatforms);
  const int64_t ebc = r.Uniform(1, 60);
  const std::string ebcCode = absl::StrFormat("33019%05dE", ebc * 37);
  const std::string ebcName =
      absl::StrFormat("跨境优选第%d号贸易有限公司", ebc);
  const std::string orderNo = absl::StrFormat(
      "%s%04d%02d%02d%010d", platform.order_prefix, day_start_.year(),
      day_start_.month(), day_start_.day(), i);
  const Company& logistics = r.Pick(kLogistics);
  const std::string logisticsNo = absl::StrFormat("LP%012d", 700000000000 + i);
  const Company& payer = r.Pick(kPayers);
  const Company& agent = r.Pick(kAgents);
  const bool bonded = r.Chance(o_.bonded_share);

  // Goods lines; the dutiable value stays within the 5000.00 single limit
  // unless this is one of the single items over it.
  std::vector<Line> lines;
  if (r.Chance(o_.single_item_over_limit)) {
    const ImportGoods& g = r.Pick(kLuxuryGoods);
    const Decimal price = Yuan(r.Uniform(g.min_yuan * 100, g.max_yuan * 100));
    lines.push_back({1, &g, nullptr, 1, price, price});
  } else {
    const int n = static_cast<int>(1 + r.Skewed(5, 2));
    Decimal sum;
    for (int k = 0; k < n; ++k) {
      const ImportGoods& g = r.Pick(kImportGoods);
      const int64_t qty = 1 + r.Skewed(3, 3);
      const Decimal price =
          Yuan(r.Uniform(g.min_yuan * 100, g.max_yuan * 100 - 1) / 10 * 10 + 9);
      const Decimal total =
          Decimal::MultiplyRoundToFen(price, Decimal::FromInteger(qty));
      if (!lines.empty() && (sum + total).units() > 4800 * Decimal::kScale)
        break;
      if ((sum + total).units() > 4800 * Decimal::kScale) continue;
      sum += total;
      lines.push_back(
          {static_cast<int>(lines.size()) + 1, &g, nullptr, qty, price, total});
    }
    if (lines.empty()) {
      const ImportGoods& g = kImportGoods[0];
      lines.push_back(
          {1, &g, nullptr, 1, Yuan(g.min_yuan * 100), Yuan(g.min_yuan * 100)});
    }
  }
  Decimal goodsValue;
  Decimal estimated_tax;
  int64_t net_grams = 0;
  for (const Line& l : lines) {
    goodsValue += l.total;
    // The platform pre-collects roughly the tax within the limits; no rule
    // compares it with customs' computation.
    const int64_t permille =
        (l.goods->vat_pct * 10 + l.goods->consumption_pct * 10) * 700 /
        (1000 - l.goods->consumption_pct * 10);
    estimated_tax +=
        Decimal::FromUnits(l.total.units() / 1000 * permille).RoundToFen();
    net_grams += l.goods->grams * l.qty;
  }
  const Decimal freight =
      r.Chance(0.6) ? Decimal() : Yuan(r.Uniform(5, 20) * 100);
  const Decimal insuredFee =
      r.Chance(0.8) ? Decimal() : Yuan(r.Uniform(50, 300));
  Decimal discount = r.Chance(0.7)
                         ? Decimal()
                         : Yuan(std::min<int64_t>(
                               5000, goodsValue.units() / Decimal::kFen / 20));
  Decimal taxTotal = estimated_tax;
  Decimal acturalPaid = goodsValue + freight + taxTotal - discount;
  Decimal amountPaid = acturalPaid;
  const bool consignee_is_buyer = r.Chance(0.8);
  const Buyer consignee =
      consignee_is_buyer ? buyer : MakeBuyer(buyers_ + r.Uniform(0, 1000000));
  std::string buyer_id = buyer.id;
  std::string payer_name = buyer.name, payer_id = buyer.id;
  const int64_t gross_grams = net_grams + 100 + net_grams / 10;
  const std::string payTransactionId =
      absl::StrFormat("%s%016d", payer.code, i);

  // Outcome anomalies, each breaking exactly one rule.
  if (p.outcome == Outcome::kAmountMismatch) {
    if (p.sub == 0) acturalPaid += Yuan(100);   // ORDER_AMOUNT_INCONSISTENT
    if (p.sub == 1) amountPaid += Yuan(100);    // PAYMENT_AMOUNT_MISMATCH
    if (p.sub == 2) lines[0].total += Yuan(1);  // LINE_TOTAL_INCONSISTENT
    if (p.sub == 2) {
      goodsValue += Yuan(1);
      acturalPaid += Yuan(1);
      amountPaid += Yuan(1);
    }
  } else if (p.outcome == Outcome::kPayerMismatch) {
    if (p.sub == 0 || p.sub == 2)
      payer_name = MakeBuyer(BuyerOf(i) + 1).name + "某";
    if (p.sub == 1) payer_id = MakeBuyer(BuyerOf(i) + 1).id;
  } else if (p.outcome == Outcome::kInvalidId) {
    buyer_id[17] = buyer_id[17] == '1' ? '2' : '1';
    payer_id = buyer_id;
  }
  if (buyer_id == payer_id && payer_name == buyer.name &&
      p.outcome == Outcome::kPayerMismatch) {
    payer_name += "某";
  }

  int64_t at = p.at[kind];
  int app_type = 1;
  if (kind == kOrder && p.modified) {
    if (variant == kFirstVersion) {
      at = p.first_version_at;
      acturalPaid += Yuan(1000);  // wrong, corrected by the appType 2 version
    } else {
      app_type = 2;
    }
  }
  if (variant == kStale) {
    at -= 60 + static_cast<int64_t>(Rng::For(o_.seed, 7, i).Uniform(1, 3600));
    acturalPaid += Yuan(700);  // had it been applied, a rule would fail
    amountPaid += Yuan(500);
  }

  Json j(platform.decimals_as_numbers);
  switch (kind) {
    case kOrder: {
      j.S("docType", "CEB311")
          .S("guid", Guid(o_.seed, i, kind, variant))
          .S("appType", absl::StrCat(app_type))
          .S("appTime", Time14(at))
          .S("appStatus", "2")
          .S("orderType", "I")
          .S("orderNo", orderNo)
          .S("ebpCode", platform.ebpCode)
          .S("ebpName", platform.ebpName)
          .S("ebcCode", ebcCode)
          .S("ebcName", ebcName)
          .D("goodsValue", goodsValue)
          .D("freight", freight)
          .D("discount", discount)
          .D("taxTotal", taxTotal)
          .D("acturalPaid", acturalPaid)
          .S("currency", "142")
          .S("buyerRegNo", buyer.reg_no)
          .S("buyerName", buyer.name)
          .S("buyerTelephone", buyer.phone)
          .S("buyerIdType", "1")
          .S("buyerIdNumber", buyer_id)
          .S("payCode", payer.code)
          .S("payName", payer.name)
          .S("payTransactionId", payTransactionId)
          .S("consignee", consignee.name)
          .S("consigneeTelephone", consignee.phone)
          .S("consigneeAddress", consignee.address);
      j.BeginItems();
      for (const Line& l : lines) {
        j.BeginItem()
            .I("gnum", l.gnum)
            .S("itemNo", absl::StrCat("SKU-", l.goods->gcode))
            .S("itemName", l.goods->name)
            .S("gmodel", l.goods->model)
            .S("unit", l.goods->unit)
            .D("qty", Decimal::FromInteger(l.qty))
            .D("price", l.price)
            .D("totalPrice", l.total)
            .S("currency", "142")
            .S("country", l.goods->origin)
            .EndItem();
      }
      j.EndItems();
      break;
    }
    case kPayment:
      j.S("docType", "CEB411")
          .S("guid", Guid(o_.seed, i, kind, variant))
          .S("appType", "1")
          .S("appTime", Time14(at))
          .S("appStatus", "2")
          .S("payCode", payer.code)
          .S("payName", payer.name)
          .S("payTransactionId", payTransactionId)
          .S("orderNo", orderNo)
          .S("ebpCode", platform.ebpCode)
          .S("ebpName", platform.ebpName)
          .S("payerIdType", "1")
          .S("payerIdNumber", payer_id)
          .S("payerName", payer_name)
          .S("telephone", buyer.phone)
          .D("amountPaid", amountPaid)
          .S("currency", "142")
          .S("payTime", Time14(at - 30));
      break;
    case kWaybill:
      j.S("docType", "CEB511")
          .S("guid", Guid(o_.seed, i, kind, variant))
          .S("appType", "1")
          .S("appTime", Time14(at))
          .S("appStatus", "2")
          .S("logisticsCode", logistics.code)
          .S("logisticsName", logistics.name)
          .S("logisticsNo", logisticsNo)
          .S("orderNo", orderNo)
          .D("freight", freight)
          .D("insuredFee", insuredFee)
          .S("currency", "142")
          .D("weight", Grams(gross_grams))
          .S("packNo", "1")
          .S("goodsInfo", lines[0].goods->name)
          .S("consignee", consignee.name)
          .S("consigneeAddress", consignee.address)
          .S("consigneeTelephone", consignee.phone);
      break;
    case kList: {
      j.S("docType", "CEB621")
          .S("guid", Guid(o_.seed, i, kind, variant))
          .S("appType", "1")
          .S("appTime", Time14(at))
          .S("appStatus", "2")
          .S("orderNo", orderNo)
          .S("ebpCode", platform.ebpCode)
          .S("ebpName", platform.ebpName)
          .S("ebcCode", ebcCode)
          .S("ebcName", ebcName)
          .S("logisticsNo", logisticsNo)
          .S("logisticsCode", logistics.code)
          .S("logisticsName", logistics.name)
          .S("copNo", absl::StrFormat("C%010d", i))
          .S("assureCode", ebcCode);
      if (bonded) j.S("emsNo", absl::StrFormat("T2244W%06d", ebc));
      j.S("ieFlag", "I")
          .S("declTime", Time14(at).substr(0, 8))
          .S("customsCode", bonded ? "2244" : "2233")
          .S("portCode", bonded ? "2244" : "2233")
          .S("buyerIdType", "1")
          .S("buyerIdNumber", buyer_id)
          .S("buyerName", buyer.name)
          .S("buyerTelephone", buyer.phone)
          .S("consigneeAddress", consignee.address)
          .S("agentCode", agent.code)
          .S("agentName", agent.name);
      if (bonded) {
        j.S("areaCode", "3122460001")
            .S("areaName", "上海外高桥保税物流园区仓储有限公司");
      }
      j.S("tradeMode", bonded ? "1210" : "9610")
          .S("trafMode", bonded ? "4" : "5");
      if (!bonded) {
        j.S("trafNo", "MU5100")
            .S("voyageNo", Time14(at).substr(2, 6))
            .S("billNo", absl::StrFormat("781-%08d", i / 500));
      }
      j.S("country", bonded ? "142" : lines[0].goods->origin)
          .D("freight", freight)
          .D("insuredFee", insuredFee)
          .S("currency", "142")
          .S("packNo", "1")
          .D("grossWeight", Grams(gross_grams))
          .D("netWeight", Grams(net_grams));
      j.BeginItems();
      for (const Line& l : lines) {
        j.BeginItem().I("gnum", l.gnum);
        if (bonded) j.S("itemRecordNo", absl::StrCat("R", l.goods->gcode));
        j.S("gcode", l.goods->gcode)
            .S("gname", l.goods->name)
            .S("gmodel", l.goods->model)
            .S("country", l.goods->origin)
            .S("currency", "142")
            .D("qty", Decimal::FromInteger(l.qty))
            .S("unit", l.goods->unit)
            .D("qty1", Grams(l.goods->grams * l.qty))
            .S("unit1", "035")
            .D("price", l.price)
            .D("totalPrice", l.total)
            .EndItem();
      }
      j.EndItems();
      break;
    }
    case kCancel:
      j.S("docType", "CEB623")
          .S("guid", Guid(o_.seed, i, kind, variant))
          .S("appType", "1")
          .S("appTime", Time14(at))
          .S("appStatus", "2")
          .S("customsCode", bonded ? "2244" : "2233")
          .S("orderNo", orderNo)
          .S("ebpCode", platform.ebpCode)
          .S("ebpName", platform.ebpName)
          .S("ebcCode", ebcCode)
          .S("ebcName", ebcName)
          .S("logisticsNo", logisticsNo)
          .S("logisticsCode", logistics.code)
          .S("logisticsName", logistics.name)
          .S("copNo", absl::StrFormat("C%010d", i))
          .S("buyerIdType", "1")
          .S("buyerIdNumber", buyer_id)
          .S("buyerName", buyer.name)
          .S("buyerTelephone", buyer.phone)
          .S("agentCode", agent.code)
          .S("agentName", agent.name)
          .S("reason", "消费者取消订单");
      break;
    case kReturn: {
      j.S("docType", "CEB625")
          .S("guid", Guid(o_.seed, i, kind, variant))
          .S("appType", "1")
          .S("appTime", Time14(at))
          .S("appStatus", "2")
          .S("customsCode", bonded ? "2244" : "2233")
          .S("orderNo", orderNo)
          .S("ebpCode", platform.ebpCode)
          .S("ebpName", platform.ebpName)
          .S("ebcCode", ebcCode)
          .S("ebcName", ebcName)
          .S("logisticsNo", logisticsNo)
          .S("logisticsCode", logistics.code)
          .S("logisticsName", logistics.name)
          .S("copNo", absl::StrFormat("C%010d", i))
          .S("buyerIdType", "1")
          .S("buyerIdNumber", buyer_id)
          .S("buyerName", buyer.name)
          .S("buyerTelephone", buyer.phone)
          .S("agentCode", agent.code)
          .S("agentName", agent.name)
          .S("reason", "七天无理由退货");
      if (p.return_lines > 0) {
        // A partial return: the first line, all of it.
        const Line& l = lines[0];
        j.BeginItems()
            .BeginItem()
            .I("gnum", l.gnum)
            .S("gcode", l.goods->gcode)
            .S("gname", l.goods->name)
            .D("qty", Decimal::FromInteger(l.qty))
            .S("unit", l.goods->unit)
            .EndItem()
            .EndItems();
      }
      break;
    }
    default:
      break;
  }
  return j.Finish();
}

// ---- Export documents -------------------------------------------------------

struct ExportOrder {
  const Platform* platform;
  const Seller* seller;
  std::string ownerCode, ownerName, country, orderNo, logisticsNo;
  const Company* logistics;
  std::vector<Line> lines;
  Decimal goodsValue, freight, insuredFee;
  int64_t net_grams = 0;
  bool flag_a = false;
};

ExportOrder MakeExportOrder(const GeneratorOptions& o, absl::CivilDay day,
                            int64_t i) {
  Rng r = Rng::For(o.seed, kContentStream, i);
  ExportOrder e;
  e.platform = &r.Pick(kExportPlatforms);
  e.seller = &kSellers[r.Skewed(std::size(kSellers), 3)];
  if (o.top_sellers_share > 0) {
    // A stream of its own, so the other fields stay as they were.
    Rng skew = Rng::For(o.seed, kContentStream ^ 0x5e11e5, i);
    const int64_t n = std::size(kSellers);
    e.seller =
        &kSellers[skew.Chance(o.top_sellers_share) ? skew.Uniform(0, 2)
                                                   : skew.Uniform(3, n - 1)];
  }
  const int64_t owner = r.Uniform(1, 3);
  e.ownerCode = absl::StrFormat("%.6sOW%02d", e.seller->ebcCode, owner);
  e.ownerName = absl::StrFormat("%s第%d工厂", e.seller->ebcName, owner);
  e.country = e.seller->countries[r.Skewed(3, 2)];
  e.orderNo = absl::StrFormat("%s%04d%02d%02d%010d", e.platform->order_prefix,
                              day.year(), day.month(), day.day(), i);
  // A bag (one arrival, one departure) is one carrier's: the arrival's
  // head logisticsCode must be each of its waybills' (contract §1). The
  // draw is still made so the other fields stay as they were.
  r.Pick(kLogistics);
  e.logistics = &kLogistics[(i / kBatch) % std::size(kLogistics)];
  e.logisticsNo = absl::StrFormat("EX%012d", 800000000000 + i);
  const int n = static_cast<int>(1 + r.Skewed(4, 2));
  for (int k = 0; k < n; ++k) {
    const ExportGoods& g = kExportGoods[r.Skewed(std::size(kExportGoods), 2)];
    const int64_t qty = 1 + r.Skewed(5, 3);
    const Decimal price = Yuan(r.Uniform(g.min_fen, g.max_fen) / 10 * 10);
    const Decimal total =
        Decimal::MultiplyRoundToFen(price, Decimal::FromInteger(qty));
    e.lines.push_back({k + 1, nullptr, &g, qty, price, total});
    e.goodsValue += total;
    e.net_grams += g.grams * qty;
  }
  e.freight = Yuan(r.Uniform(1500, 9000));
  e.insuredFee = r.Chance(0.9) ? Decimal() : Yuan(r.Uniform(100, 500));
  e.flag_a = r.Chance(o.statistics_flag_a);
  return e;
}

std::string Generator::ExportDocument(int64_t i, const Plan& p, Kind kind,
                                      Variant variant) {
  const ExportOrder e = MakeExportOrder(o_, day_start_, i);
  int64_t at = p.at[kind];
  Decimal goodsValue = e.goodsValue;
  Decimal charge = e.goodsValue + e.freight;
  int app_type = 1;
  if (kind == kOrder && p.modified) {
    if (variant == kFirstVersion) {
      at = p.first_version_at;
      goodsValue += Yuan(1000);
    } else {
      app_type = 2;
    }
  }
  if (p.outcome == Outcome::kAmountMismatch) charge += Yuan(500);
  if (variant == kStale) {
    at -= 60 + static_cast<int64_t>(Rng::For(o_.seed, 7, i).Uniform(1, 3600));
    goodsValue += Yuan(300);
    charge += Yuan(700);
  }
  const Company& agent = kAgents[i % std::size(kAgents)];
  Json j(e.platform->decimals_as_numbers);
  switch (kind) {
    case kOrder:
      j.S("docType", "CEB303")
          .S("guid", Guid(o_.seed, i, kind, variant))
          .S("appType", absl::StrCat(app_type))
          .S("appTime", Time14(at))
          .S("appStatus", "2")
          .S("orderType", "E")
          .S("orderNo", e.orderNo)
          .S("ebpCode", e.platform->ebpCode)
          .S("ebpName", e.platform->ebpName)
          .S("ebcCode", e.seller->ebcCode)
          .S("ebcName", e.seller->ebcName)
          .D("goodsValue", goodsValue)
          .D("freight", e.freight)
          .S("currency", "142");
      j.BeginItems();
      for (const Line& l : e.lines) {
        j.BeginItem()
            .I("gnum", l.gnum)
            .S("itemNo", absl::StrCat("SKU-", l.export_goods->gcode))
            .S("itemName", l.export_goods->name)
            .S("unit", l.export_goods->unit)
            .S("currency", "142")
            .D("qty", Decimal::FromInteger(l.qty))
            .D("price", l.price)
            .D("totalPrice", l.total)
            .EndItem();
      }
      j.EndItems();
      break;
    case kPayment:
      j.S("docType", "CEB403")
          .S("guid", Guid(o_.seed, i, kind, variant))
          .S("appType", "1")
          .S("appTime", Time14(at))
          .S("appStatus", "2")
          .S("ebpCode", e.platform->ebpCode)
          .S("ebpName", e.platform->ebpName)
          .S("ebcCode", e.seller->ebcCode)
          .S("ebcName", e.seller->ebcName)
          .S("orderNo", e.orderNo)
          .S("payCode", kPayers[i % 3].code)
          .S("payName", kPayers[i % 3].name)
          .S("payNo", absl::StrFormat("PN%016d", i))
          .D("charge", charge)
          .S("currency", "142")
          .S("accountingDate", Time14(at - 45));
      break;
    case kWaybill:
      j.S("docType", "CEB505")
          .S("guid", Guid(o_.seed, i, kind, variant))
          .S("appType", "1")
          .S("appTime", Time14(at))
          .S("appStatus", "2")
          .S("logisticsCode", e.logistics->code)
          .S("logisticsName", e.logistics->name)
          .S("logisticsNo", e.logisticsNo)
          .D("freight", e.freight)
          .D("insuredFee", e.insuredFee)
          .S("currency", "142")
          .D("grossWeight", Grams(e.net_grams + 80))
          .S("packNo", "1")
          .S("goodsInfo", e.lines[0].export_goods->name)
          .S("ebcCode", e.seller->ebcCode)
          .S("ebcName", e.seller->ebcName);
      break;
    case kList: {
      j.S("docType", "CEB603")
          .S("guid", Guid(o_.seed, i, kind, variant))
          .S("appType", "1")
          .S("appTime", Time14(at))
          .S("appStatus", "2")
          .S("customsCode", e.seller->portCode)
          .S("ebpCode", e.platform->ebpCode)
          .S("ebpName", e.platform->ebpName)
          .S("orderNo", e.orderNo)
          .S("logisticsCode", e.logistics->code)
          .S("logisticsName", e.logistics->name)
          .S("logisticsNo", e.logisticsNo)
          .S("copNo", absl::StrFormat("EC%010d", i))
          .S("ieFlag", "E")
          .S("portCode", e.seller->portCode)
          .S("ieDate", Time14(at).substr(0, 8))
          .S("statisticsFlag", e.flag_a ? "A" : "B")
          .S("agentCode", agent.code)
          .S("agentName", agent.name)
          .S("ebcCode", e.seller->ebcCode)
          .S("ebcName", e.seller->ebcName)
          .S("ownerCode", e.ownerCode)
          .S("ownerName", e.ownerName)
          .S("tradeMode", "9610")
          .S("trafMode", e.seller->trafMode)
          .S("country", e.country)
          .S("POD", absl::StrCat(e.country, "0"))
          .D("freight", e.freight)
          .S("fCurrency", "142")
          .S("fFlag", "3")
          .D("insuredFee", e.insuredFee)
          .S("iCurrency", "142")
          .S("iFlag", "3")
          .S("wrapType", "2")
          .S("packNo", "1")
          .D("grossWeight", Grams(e.net_grams + 80))
          .D("netWeight", Grams(e.net_grams));
      j.BeginItems();
      for (const Line& l : e.lines) {
        const ExportGoods& g = *l.export_goods;
        const Decimal qty1 = std::string_view(g.unit1) == "035"
                                 ? Grams(g.grams * l.qty)
                                 : Decimal::FromInteger(l.qty);
        j.BeginItem()
            .I("gnum", l.gnum)
            .S("itemNo", absl::StrCat("SKU-", g.gcode))
            .S("gcode", g.gcode)
            .S("gname", g.name)
            .S("gmodel", g.model)
            .S("barCode", "无")
            .S("country", e.country)
            .S("currency", "142")
            .D("qty", Decimal::FromInteger(l.qty))
            .D("qty1", qty1)
            .S("unit", g.unit)
            .S("unit1", g.unit1)
            .D("price", l.price)
            .D("totalPrice", l.total)
            .EndItem();
      }
      j.EndItems();
      break;
    }
    default:
      break;
  }
  return j.Finish();
}

std::string Generator::BagDocument(int64_t batch, Kind kind) {
  const int64_t first = batch * kBatch;
  const int64_t last = std::min(o_.orders, first + kBatch) - 1;
  std::vector<std::string> waybills;
  std::string logisticsCode, logisticsName, portCode;
  for (int64_t i = first; i <= last; ++i) {
    if (!IsExport(i)) continue;
    const Plan p = MakePlan(i);
    // An order whose arrival is missing is left off its bag's arrival, and
    // so never departs either.
    if (p.missing == kArrival) continue;
    const ExportOrder e = MakeExportOrder(o_, day_start_, i);
    if (logisticsCode.empty()) {
      logisticsCode = e.logistics->code;
      logisticsName = e.logistics->name;
      portCode = e.seller->portCode;
    }
    waybills.push_back(e.logisticsNo);
  }
  if (waybills.empty()) return "";
  // Recompute the times ScheduleBatch drew.
  int64_t ready = kNever;
  for (int64_t i = first; i <= last; ++i) {
    if (!IsExport(i)) continue;
    const Plan p = MakePlan(i);
    ready = std::max({ready, p.at[kList], p.at[kWaybill]});
  }
  Rng times = Rng::For(o_.seed, kPlanStream, ~batch);
  const int64_t arrival =
      std::max(ready + times.Uniform(3600, 6 * 3600), CreatedAt(last));
  const int64_t departure = arrival + times.Uniform(2 * 3600, 12 * 3600);
  const std::string bill = absl::StrFormat("999-%08d", batch);
  Json j(false);
  if (kind == kArrival) {
    j.S("docType", "CEB507")
        .S("guid", Guid(o_.seed, first, kind, 0))
        .S("appType", "1")
        .S("appTime", Time14(arrival))
        .S("appStatus", "2")
        .S("customsCode", portCode)
        .S("copNo", absl::StrFormat("AR%08d", batch))
        .S("operatorCode", "5141980OP1")
        .S("operatorName", "白云机场跨境监管中心")
        .S("ieFlag", "E")
        .S("trafMode", "5")
        .S("billNo", bill)
        .S("logisticsCode", logisticsCode)
        .S("logisticsName", logisticsName)
        .S("msgCount", "1")
        .S("msgSeqNo", "1");
  } else {
    j.S("docType", "CEB509")
        .S("guid", Guid(o_.seed, first, kind, 0))
        .S("appType", "1")
        .S("appTime", Time14(departure))
        .S("appStatus", "2")
        .S("customsCode", portCode)
        .S("copNo", absl::StrFormat("DP%08d", batch))
        .S("logisticsCode", logisticsCode)
        .S("logisticsName", logisticsName)
        .S("trafMode", "5")
        .S("trafName", "CZ")
        .S("voyageNo", "CZ3101")
        .S("billNo", bill)
        .S("leaveTime", Time14(departure - 300))
        .S("msgCount", "1")
        .S("msgSeqNo", "1");
  }
  j.BeginItems();
  for (size_t k = 0; k < waybills.size(); ++k) {
    j.BeginItem()
        .I("gnum", static_cast<int64_t>(k + 1))
        .S("logisticsNo", waybills[k])
        .S("totalPackageNo", absl::StrFormat("BAG%08d", batch))
        .EndItem();
  }
  j.EndItems();
  return j.Finish();
}

std::string Generator::Document(int64_t i, const Plan& p, Kind kind,
                                Variant variant) {
  return p.is_export ? ExportDocument(i, p, kind, variant)
                     : ImportDocument(i, p, kind, variant);
}

// ---- Malformed lines --------------------------------------------------------

// Breaks `doc` the named way. Every document written by this generator has
// "docType" first, "appTime" and a non-ASCII name.
std::string Break(std::string doc, int which) {
  switch (which) {
    case 0: {
      // Cut between characters, so the line stays UTF-8.
      size_t at = doc.size() / 2;
      while ((static_cast<unsigned char>(doc[at]) & 0xC0) == 0x80) --at;
      return doc.substr(0, at);
    }
    case 1: {
      // A byte that is never UTF-8, inside a string.
      const size_t at = doc.find("\",\"");
      doc.insert(at, "\xC0\xFF");
      return doc;
    }
    case 2:
      doc.replace(doc.find("\"CEB") + 4, 3, "999");
      return doc;
    case 3: {
      const size_t at = doc.find("\"appTime\":\"") + 15;
      doc.replace(at, 2, "13");  // month 13
      return doc;
    }
    case 4: {
      // An amount with six fractional digits, in place of appStatus's value
      // for documents without one the generator always writes.
      const size_t at = doc.find("\"appStatus\":\"2\"");
      doc.replace(
          at, 15,
          "\"appStatus\":\"2\",\"freight\":\"1.234567\",\"goodsValue\":\"1."
          "234567\",\"charge\":\"1.234567\",\"weight\":\"1.234567\","
          "\"amountPaid\":\"1.234567\",\"grossWeight\":\"1.234567\"");
      return doc;
    }
    default: {
      // Without its identity: orderNo for orders, payments and lists,
      // logisticsNo for waybills.
      const bool waybill = doc.find("\"CEB511\"") != std::string::npos ||
                           doc.find("\"CEB505\"") != std::string::npos;
      const std::string key = waybill ? "\"logisticsNo\":\"" : "\"orderNo\":\"";
      const size_t at = doc.find(key);
      const size_t end = doc.find('"', at + key.size());
      doc.replace(at, end + 2 - at, "");
      return doc;
    }
  }
}

// ---- Output -----------------------------------------------------------------

void Generator::WriteLine(const std::string& line) {
  if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() ||
      std::fputc('\n', out_) == EOF) {
    if (status_.ok()) status_ = absl::DataLossError("cannot write the output");
  }
  ++stats_.lines;
}

void Generator::Truth(const std::string& json) {
  if (!truth_) return;
  std::fwrite(json.data(), 1, json.size(), truth_);
  std::fputc('\n', truth_);
}

void Generator::OrderTruth(int64_t i, const Plan& p) {
  if (!truth_) return;
  static constexpr const char* kKindNames[] = {"order",   "payment",  "waybill",
                                               "list",    "cancel",   "return",
                                               "arrival", "departure"};
  std::string anomaly, expect;
  const char* receipt = p.is_export ? "CEB604" : "CEB622";
  switch (p.outcome) {
    case Outcome::kClean:
      break;
    case Outcome::kMissing:
      anomaly = absl::StrCat("missing_", kKindNames[p.missing]);
      expect = p.missing == kOrder     ? "ORDER_MISSING"
               : p.missing == kPayment ? "PAYMENT_MISSING"
               : p.missing == kWaybill ? "WAYBILL_MISSING"
                                       : "ARRIVAL_MISSING";
      break;
    case Outcome::kAmountMismatch:
      anomaly = "amount_mismatch";
      expect = p.is_export  ? "PAYMENT_AMOUNT_MISMATCH"
               : p.sub == 0 ? "ORDER_AMOUNT_INCONSISTENT"
               : p.sub == 1 ? "PAYMENT_AMOUNT_MISMATCH"
                            : "LINE_TOTAL_INCONSISTENT";
      break;
    case Outcome::kPayerMismatch:
      anomaly = "payer_mismatch";
      expect = "BUYER_PAYER_MISMATCH";
      break;
    case Outcome::kInvalidId:
      anomaly = "invalid_id";
      expect = "ID_INVALID";
      break;
    case Outcome::kCancel:
      anomaly = "cancel";
      expect = "399";
      receipt = "CEB624";
      break;
    case Outcome::kReturn:
      anomaly = p.return_lines ? "partial_return" : "return";
      expect = "399";
      receipt = "CEB626";
      break;
    case Outcome::kLateReturn:
      anomaly = "late_return";
      expect = "RETURN_WINDOW_EXPIRED";
      receipt = "CEB626";
      break;
  }
  std::string orderNo, ebpCode;
  if (p.is_export) {
    const ExportOrder e = MakeExportOrder(o_, day_start_, i);
    orderNo = e.orderNo;
    ebpCode = e.platform->ebpCode;
  } else {
    Rng r = Rng::For(o_.seed, kContentStream, i);
    r.Next();
    const Platform& platform = r.Pick(kImportPlatforms);
    orderNo = absl::StrFormat("%s%04d%02d%02d%010d", platform.order_prefix,
                              day_start_.year(), day_start_.month(),
                              day_start_.day(), i);
    ebpCode = platform.ebpCode;
  }
  auto record = [&](const std::string& what, const std::string& want,
                    const char* doc) {
    Truth(absl::StrFormat(
        R"({"orderNo":"%s","ebpCode":"%s","flow":"%s","anomaly":"%s","receipt":"%s","expect":"%s"})",
        orderNo, ebpCode, p.is_export ? "export" : "import", what, doc, want));
  };
  if (!anomaly.empty()) record(anomaly, expect, receipt);
  if (p.stale >= 0) {
    record(absl::StrCat("stale_", kKindNames[p.stale]), "no effect",
           p.is_export ? "CEB604" : "CEB622");
  }
  if (p.modified) {
    record("modified_order", "no effect", p.is_export ? "CEB604" : "CEB622");
  }
}

void Generator::Emit(const Event& e) {
  if (e.kind == kArrival || e.kind == kDeparture) {
    const std::string doc =
        BagDocument(e.order / kBatch, static_cast<Kind>(e.kind));
    if (!doc.empty()) WriteLine(doc);
    return;
  }
  const Plan p = MakePlan(e.order);
  if (e.variant >= kMalformed) {
    int which = e.variant - kMalformed;
    // Cancels and returns have no decimal at the top level to break.
    if (which == 4 && (e.kind == kCancel || e.kind == kReturn)) which = 3;
    WriteLine(
        Break(Document(e.order, p, static_cast<Kind>(e.kind), kNormal), which));
    ++stats_.malformed_lines;
    Truth(absl::StrFormat(
        R"({"line":%d,"anomaly":"malformed_%s","expect":"%s"})", stats_.lines,
        kMalformedKinds[which].name, kMalformedKinds[which].expect));
    return;
  }
  const Variant variant =
      e.variant == kDuplicate ? kNormal : static_cast<Variant>(e.variant);
  WriteLine(Document(e.order, p, static_cast<Kind>(e.kind), variant));
  if (e.variant == kDuplicate) {
    Truth(absl::StrFormat(
        R"({"line":%d,"anomaly":"duplicate","expect":"no effect"})",
        stats_.lines));
  }
}

absl::Status Generator::Run(GeneratorStats* stats) {
  for (int64_t i = 0; i < o_.orders && status_.ok(); ++i) {
    const Plan p = MakePlan(i);
    (p.is_export ? stats_.orders_export : stats_.orders_import)++;
    Schedule(i, p);
    OrderTruth(i, p);
    if (o_.flow != Flow::kImport &&
        (i % kBatch == kBatch - 1 || i == o_.orders - 1)) {
      ScheduleBatch(i / kBatch);
    }
    // Every later order's documents are emitted at or after its creation.
    const int64_t horizon = i + 1 < o_.orders ? CreatedAt(i + 1) : INT64_MAX;
    while (!pending_.empty() && pending_.top().emit < horizon) {
      Emit(pending_.top());
      pending_.pop();
    }
  }
  *stats = stats_;
  return status_;
}

void Generator::WriteRegistry(std::FILE* registry) {
  for (int64_t b = 0; b < buyers_; ++b) {
    Rng r = Rng::For(o_.seed, kRegistryStream, b);
    const double u = r.Unit();
    if (u < o_.registry_unknown) continue;
    Buyer buyer = MakeBuyer(b);
    if (u < o_.registry_unknown + o_.registry_mismatch) {
      buyer.name = MakeBuyer(b + buyers_).name;
    }
    Json j(false);
    j.S("idNumber", buyer.id).S("name", buyer.name);
    const std::string line = j.Finish();
    std::fwrite(line.data(), 1, line.size(), registry);
    std::fputc('\n', registry);
  }
}

}  // namespace

absl::Status Generate(const GeneratorOptions& options, std::FILE* out,
                      std::FILE* truth, std::FILE* registry,
                      GeneratorStats* stats) {
  if (options.orders < 0) {
    return absl::InvalidArgumentError("--orders must not be negative");
  }
  Generator g(options, out, truth);
  GeneratorStats local;
  absl::Status s = g.Run(stats ? stats : &local);
  if (s.ok() && registry) g.WriteRegistry(registry);
  return s;
}

}  // namespace clearlane
