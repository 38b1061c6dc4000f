// Stage C of the 9610 export flow: the closed lists with statisticsFlag B
// of each month, and the summary declaration forms they become
// ("汇总申报" of "清单核放、汇总申报", 海关总署公告2018年第194号; contract §4,
// §10 "Months").

#include "operators/summary.h"

#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "absl/strings/str_format.h"
#include "model/coding.h"
#include "model/event_time.h"
#include "operators/clearance.h"

namespace clearlane {
namespace {

constexpr uint8_t kClosedListVersion = 1;
// Stage C's exchange records: kind (high nibble) and version (low), after
// the allowance exchange's (operators/allowance.cc).
constexpr uint8_t kClosedListRecordVersion = 0x51;
constexpr uint8_t kWatermarkMarkVersion = 0x61;

using LineKey = std::tuple<std::string, std::string, std::string, std::string>;

LineKey KeyOf(const ClosedLine& l) {
  return {l.gcode, l.country, l.currency, l.unit1};
}

}  // namespace

ClosedList ClosedListOf(const Ceb603List& list) {
  ClosedList c;
  c.ebcCode = std::string(list.ebcCode);
  c.trafMode = std::string(list.trafMode);
  c.ownerCode = std::string(list.ownerCode);
  c.country = std::string(list.country);
  c.portCode = std::string(list.portCode);
  c.orderNo = std::string(list.orderNo);
  c.logisticsNo = std::string(list.logisticsNo);
  c.invtNo = std::string(list.invtNo);
  c.copNo = std::string(list.copNo);
  c.grossWeight = list.grossWeight.value_or(Decimal());
  c.netWeight = list.netWeight.value_or(Decimal());
  for (const auto& item : list.items) {
    c.lines.push_back({std::string(item.gcode), std::string(item.country),
                       std::string(item.currency), std::string(item.unit1),
                       item.qty1.value_or(Decimal()),
                       item.totalPrice.value_or(Decimal())});
  }
  return c;
}

std::string EncodeClosedList(const ClosedList& c) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kClosedListVersion);
  for (const std::string* s :
       {&c.ebcCode, &c.trafMode, &c.ownerCode, &c.country, &c.portCode,
        &c.orderNo, &c.logisticsNo, &c.invtNo, &c.copNo}) {
    w.Bytes(*s);
  }
  w.SignedVarint128(c.grossWeight.units());
  w.SignedVarint128(c.netWeight.units());
  w.Varint(c.lines.size());
  for (const ClosedLine& l : c.lines) {
    w.Bytes(l.gcode);
    w.Bytes(l.country);
    w.Bytes(l.currency);
    w.Bytes(l.unit1);
    w.SignedVarint128(l.qty1.units());
    w.SignedVarint128(l.totalPrice.units());
  }
  return out;
}

absl::StatusOr<ClosedList> DecodeClosedList(std::string_view bytes) {
  BinaryReader r(bytes);
  ClosedList c;
  if (r.U8() != kClosedListVersion) {
    return absl::DataLossError("closed list of an unknown version");
  }
  for (std::string* s :
       {&c.ebcCode, &c.trafMode, &c.ownerCode, &c.country, &c.portCode,
        &c.orderNo, &c.logisticsNo, &c.invtNo, &c.copNo}) {
    *s = std::string(r.Bytes());
  }
  c.grossWeight = Decimal::FromUnits(r.SignedVarint128());
  c.netWeight = Decimal::FromUnits(r.SignedVarint128());
  const uint64_t n = r.Varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    ClosedLine l;
    l.gcode = std::string(r.Bytes());
    l.country = std::string(r.Bytes());
    l.currency = std::string(r.Bytes());
    l.unit1 = std::string(r.Bytes());
    l.qty1 = Decimal::FromUnits(r.SignedVarint128());
    l.totalPrice = Decimal::FromUnits(r.SignedVarint128());
    c.lines.push_back(std::move(l));
  }
  if (!r.ok() || !r.done()) {
    return absl::DataLossError("closed list is corrupt");
  }
  return c;
}

std::string ClosedListKey(const ClosedList& c, int summary_flag) {
  std::string key;
  BinaryWriter w(&key);
  w.OrderedBytes(c.ebcCode);
  w.OrderedBytes(c.trafMode);
  w.OrderedBytes(summary_flag == 1 ? std::string_view() : c.ownerCode);
  w.OrderedBytes(c.country);
  w.OrderedBytes(c.portCode);
  w.OrderedBytes(c.orderNo);
  w.OrderedBytes(c.logisticsNo);
  return key;
}

std::string HeadGroupKey(const SummaryForm& f) {
  return absl::StrFormat("%s|%s|%s|%s|%s", f.ebcCode, f.trafMode, f.ownerCode,
                         f.country, f.portCode);
}

bool SameHeadGroup(const ClosedList& a, const ClosedList& b, int summary_flag) {
  return a.ebcCode == b.ebcCode && a.trafMode == b.trafMode &&
         (summary_flag == 1 || a.ownerCode == b.ownerCode) &&
         a.country == b.country && a.portCode == b.portCode;
}

int32_t PeriodOf(absl::CivilSecond t) {
  return static_cast<int32_t>(t.year() * 12 + t.month() - 1);
}

absl::CivilMonth MonthOf(int32_t period) {
  return absl::CivilMonth(period / 12, period % 12 + 1);
}

std::vector<SummaryForm> BuildForms(int32_t period, int supplement,
                                    const std::vector<ClosedList>& lists,
                                    const FormOptions& options) {
  std::vector<SummaryForm> forms;
  if (lists.empty()) return forms;
  // The group's lines, merged and sorted bytewise (std::string compares as
  // unsigned bytes), each counting the distinct lists that have it.
  struct Sum {
    Decimal qty1, totalPrice;
    int64_t lists = 0;
    size_t index = 0;  // position in sort order
  };
  std::map<LineKey, Sum> lines;
  for (const ClosedList& c : lists) {
    std::set<LineKey> seen;
    for (const ClosedLine& l : c.lines) {
      Sum& s = lines[KeyOf(l)];
      s.qty1 += l.qty1;
      s.totalPrice += l.totalPrice;
      if (seen.insert(KeyOf(l)).second) ++s.lists;
    }
  }
  const size_t per_form = static_cast<size_t>(std::max(1, options.max_lines));
  const size_t count = (lines.size() + per_form - 1) / per_form;
  const ClosedList& head = lists.front();
  forms.resize(count);
  size_t index = 0;
  for (auto& [key, sum] : lines) {
    sum.index = index;
    SummaryForm& f = forms[index / per_form];
    SummaryItem item;
    item.gseqno = static_cast<int>(index % per_form) + 1;
    std::tie(item.gcode, item.country, item.currency, item.unit1) = key;
    item.qty1 = sum.qty1;
    item.totalPrice = sum.totalPrice;
    item.listCount = sum.lists;
    f.items.push_back(std::move(item));
    ++index;
  }
  for (size_t k = 0; k < count; ++k) {
    SummaryForm& f = forms[k];
    f.period = MonthOf(period);
    f.ebcCode = head.ebcCode;
    f.trafMode = head.trafMode;
    f.has_owner_code = options.summary_flag != 1;
    if (f.has_owner_code) f.ownerCode = head.ownerCode;
    f.country = head.country;
    f.portCode = head.portCode;
    f.form = static_cast<int>(k) + 1;
    f.forms = static_cast<int>(count);
    f.supplement = supplement;
  }
  // Each list, with its weights, on every form holding one of its lines, in
  // the order of `lists` (orderNo, then logisticsNo).
  for (const ClosedList& c : lists) {
    std::set<size_t> on;
    for (const ClosedLine& l : c.lines) {
      on.insert(lines.at(KeyOf(l)).index / per_form);
    }
    for (size_t k : on) {
      SummaryForm& f = forms[k];
      f.lists.push_back({c.orderNo, c.logisticsNo, c.invtNo, c.copNo});
      f.grossWeight += c.grossWeight;
      f.netWeight += c.netWeight;
      ++f.listCount;
    }
  }
  return forms;
}

int64_t Clearance::MonthCloseDue(int32_t period) const {
  const absl::CivilMonth next = MonthOf(period) + 1;
  return ToEpochSeconds(absl::CivilSecond(next)) + config_.month_close_delay;
}

void Clearance::Summarise(std::string_view closing, int64_t closed_at,
                          StageContext& ctx) {
  auto closed = DecodeClosedList(closing);
  if (!closed.ok()) return;
  const std::string key = ClosedListKey(*closed, config_.forms.summary_flag);
  const int32_t period = PeriodOf(FromEpochSeconds(closed_at));
  MonthState& m = ctx.Month(period);
  if (m.written) {
    // The month's forms are out: the list waits for the next supplement.
    ctx.AddClosedList(period, m.round, key, closing);
    m.pending = true;
    return;
  }
  ctx.AddClosedList(period, 0, key, closing);
  const int64_t due = MonthCloseDue(period);
  const std::optional<int64_t> watermark = ctx.Watermark();
  if (m.close_due == 0 && watermark && *watermark >= due) {
    // The month's first list, closing after its close was due: its forms
    // follow its 899 at once, as supplement 0 (contract §10 "Months").
    WriteRound(period, 0, ctx);
    return;
  }
  m.close_due = due;
}

void Clearance::WriteRound(int32_t period, int32_t round, StageContext& ctx) {
  group_.clear();
  auto flush = [&] {
    for (const SummaryForm& f :
         BuildForms(period, round, group_, config_.forms)) {
      ctx.EmitSummary(f);
    }
    group_.clear();
  };
  ctx.ForEachClosedList(period, round, [&](std::string_view value) {
    auto c = DecodeClosedList(value);
    if (!c.ok()) return true;
    if (!group_.empty() &&
        !SameHeadGroup(group_.back(), *c, config_.forms.summary_flag)) {
      flush();
    }
    group_.push_back(*std::move(c));
    return true;
  });
  flush();
  ctx.DropRound(period, round);
  MonthState& m = ctx.Month(period);
  m.written = true;
  m.round = round + 1;
  m.pending = false;
  m.close_due = 0;
}

void Clearance::OnMonthClose(int32_t period, StageContext& ctx) {
  // The forms written together go in order of period (contract §10): an
  // earlier month's supplement before this month's own forms.
  for (int32_t p : ctx.Months()) {
    const MonthState m = ctx.Month(p);
    if (p == period && !m.written) {
      WriteRound(p, 0, ctx);
    } else if (m.written && m.pending) {
      WriteRound(p, m.round, ctx);
    }
  }
  ctx.Month(period).close_due = 0;  // fired, whatever it found
}

void Clearance::OnEndOfInput(StageContext& ctx) {
  for (int32_t p : ctx.Months()) {
    const MonthState m = ctx.Month(p);
    if (m.written && m.pending) WriteRound(p, m.round, ctx);
  }
}

std::string EncodeClosedListRecord(const ClosedListRecord& r) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kClosedListRecordVersion);
  w.Bytes(r.closing);
  w.SignedVarint(r.closed_at);
  w.U8(r.watermark.has_value());
  w.SignedVarint(r.watermark.value_or(0));
  return out;
}

absl::StatusOr<ClosedListRecord> DecodeClosedListRecord(std::string_view b) {
  BinaryReader r(b);
  ClosedListRecord c;
  bool valid = r.U8() == kClosedListRecordVersion;
  c.closing = std::string(r.Bytes());
  c.closed_at = r.SignedVarint();
  const uint8_t has = r.U8();
  const int64_t watermark = r.SignedVarint();
  valid = valid && has <= 1 && (has || watermark == 0) &&
          DecodeClosedList(c.closing).ok();
  if (!valid || !r.ok() || !r.done()) {
    return absl::DataLossError("a closed list's record is corrupt");
  }
  if (has) c.watermark = watermark;
  return c;
}

std::string EncodeWatermarkMark(int64_t watermark) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kWatermarkMarkVersion);
  w.SignedVarint(watermark);
  return out;
}

bool IsWatermarkMark(std::string_view b) {
  return !b.empty() && static_cast<uint8_t>(b[0]) == kWatermarkMarkVersion;
}

absl::StatusOr<int64_t> DecodeWatermarkMark(std::string_view b) {
  BinaryReader r(b);
  const bool valid = r.U8() == kWatermarkMarkVersion;
  const int64_t watermark = r.SignedVarint();
  if (!valid || !r.ok() || !r.done()) {
    return absl::DataLossError("a watermark mark is corrupt");
  }
  return watermark;
}

}  // namespace clearlane
