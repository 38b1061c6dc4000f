#include "pipeline/engine/task_context.h"

#include "absl/strings/str_cat.h"
#include "model/coding.h"
#include "model/encode.h"
#include "model/event_time.h"
#include "model/receipt_xml.h"
#include "operators/summary.h"
#include "pipeline/engine/epoch.h"
#include "pipeline/engine/writer_stamp.h"
#include "pipeline/observe/metrics.h"
#include "state/keys.h"

namespace clearlane {
namespace {

// An integer value: a yearly total in units of 10^-5, a writer's next
// number, stage C's watermark.
std::string EncodeInteger(const int64_t& v) {
  std::string value;
  BinaryWriter(&value).SignedVarint(v);
  return value;
}
absl::StatusOr<int64_t> DecodeInteger(std::string_view bytes) {
  BinaryReader r(bytes);
  const int64_t v = r.SignedVarint();
  if (!r.ok() || !r.done()) {
    return absl::DataLossError("an integer value of the state is corrupt");
  }
  return v;
}

bool IsEmptyGroup(const OrderGroup& g) { return g.empty(); }
bool IsEmptyShipment(const Shipment& s) { return s.empty() && s.expires == 0; }

}  // namespace

TaskContext::TaskContext(StateStore* store, bool has_registry)
    : store_(store),
      has_registry_(has_registry),
      groups_(store, Store::kOrders,
              {&EncodeOrderGroup, &DecodeOrderGroup, &IsEmptyGroup},
              [this](std::string_view orderNo) {
                return OrderKey(partitions_, orderNo);
              }),
      waybills_(store, Store::kLogistics,
                {&EncodeWaybillVersion, &DecodeWaybillVersion}),
      totals_(store, Store::kBuyers, {&EncodeInteger, &DecodeInteger}),
      writer_seqs_(store, Store::kMeta, {&EncodeInteger, &DecodeInteger}),
      shipments_(store, Store::kLogistics,
                 {&EncodeShipment, &DecodeShipment, &IsEmptyShipment}),
      months_({&EncodeMonthState, &DecodeMonthState}),
      closed_(store, Store::kSummaries),
      registry_(store) {}

absl::Status TaskContext::Load(const Clearance& rules) {
  absl::Status st = timers_.Load(*store_);
  if (st.ok()) st = LoadStageC();
  if (st.ok()) st = RestoreTimers(rules);
  return st;
}

absl::Status TaskContext::LoadStageC() {
  if (absl::Status st = months_.Load(*store_); !st.ok()) return st;
  auto stored = store_->Get(Store::kSummaries, kSummaryWatermarkKey);
  if (!stored.ok()) return stored.status();
  summary_watermark_.reset();
  if (*stored) {
    auto w = DecodeInteger(**stored);
    if (!w.ok()) return w.status();
    summary_watermark_ = *w;
  }
  return absl::OkStatus();
}

// Every group and shipment is read once; the timers they imply are set,
// and the lists waiting for their buyer's answer counted.
absl::Status TaskContext::RestoreTimers(const Clearance& rules) {
  return ReadTasks(std::nullopt, rules, /*adopt=*/true);
}

absl::Status TaskContext::ReadTasks(
    const std::optional<absl::flat_hash_set<int32_t>>& tasks,
    const Clearance& rules, bool adopt) {
  const auto set = [this](int64_t due, const ListKey& list) {
    timers_.Set(due, list);
  };
  // A task's order groups are a key range (keys.h); all of them without
  // `tasks`.
  std::vector<std::optional<std::string>> ranges;
  if (!tasks) {
    ranges.emplace_back();
  } else {
    for (int32_t t : *tasks) {
      std::string prefix;
      BinaryWriter(&prefix).Fixed32(static_cast<uint32_t>(t));
      ranges.emplace_back(std::move(prefix));
    }
  }
  for (const std::optional<std::string>& prefix : ranges) {
    StoreIterator it = store_->NewIterator(Store::kOrders);
    for (prefix ? it.Seek(*prefix) : it.SeekToFirst();
         it.Valid() && (!prefix || it.key().starts_with(*prefix)); it.Next()) {
      std::optional<std::string_view> orderNo = OrderNoOfKey(it.key());
      absl::StatusOr<OrderGroup> g = DecodeOrderGroup(it.value());
      if (!orderNo || !g.ok()) {
        return absl::DataLossError("an order group is corrupt");
      }
      if (adopt) rules.ForEachTimer(*orderNo, *g, set);
      for (const auto& [id, entry] : g->lists) {
        if (entry.pending) awaiting_allowance_ += adopt ? 1 : -1;
      }
    }
    if (!it.status().ok()) return it.status();
  }
  if (!adopt) return absl::OkStatus();
  StoreIterator it = store_->NewIterator(Store::kLogistics);
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    std::optional<std::string_view> logisticsNo =
        LogisticsNoOfShipmentKey(it.key());
    if (!logisticsNo) continue;  // an import waybill
    if (tasks && !tasks->contains(PartitionOf(*logisticsNo, partitions_))) {
      continue;
    }
    absl::StatusOr<Shipment> s = DecodeShipment(it.value());
    if (!s.ok()) return absl::DataLossError("a shipment is corrupt");
    rules.ForEachTimer(*logisticsNo, *s, set);
  }
  return it.status();
}

absl::Status TaskContext::ForgetTasks(const absl::flat_hash_set<int32_t>& tasks,
                                      const Clearance& rules) {
  const auto gone = [&](std::optional<std::string_view> of) {
    return of && tasks.contains(PartitionOf(*of, partitions_));
  };
  groups_.Drop([&](std::string_view orderNo) { return gone(orderNo); });
  waybills_.Drop(
      [&](std::string_view key) { return gone(LogisticsNoOfKey(key)); });
  shipments_.Drop(
      [&](std::string_view key) { return gone(LogisticsNoOfKey(key)); });
  totals_.Drop(
      [&](std::string_view key) { return gone(BuyerOfTotalKey(key)); });
  writer_seqs_.Drop([&](std::string_view key) {
    const std::optional<uint32_t> writer = WriterOfSeqKey(key);
    return writer && tasks.contains(static_cast<int32_t>(*writer));
  });
  // A list's timer is its orderNo's task's; a shipment's expiry holds its
  // logisticsNo where a list's holds the orderNo (ExpiryKey).
  timers_.DropIf([&](const ListKey& list) { return gone(list.orderNo); });
  return ReadTasks(tasks, rules, /*adopt=*/false);
}

absl::Status TaskContext::AdoptTasks(const absl::flat_hash_set<int32_t>& tasks,
                                     const Clearance& rules) {
  groups_.ReadThrough();
  waybills_.ReadThrough();
  shipments_.ReadThrough();
  totals_.ReadThrough();
  writer_seqs_.ReadThrough();
  if (tasks.contains(0)) {
    if (absl::Status st = LoadStageC(); !st.ok()) return st;
  }
  return ReadTasks(tasks, rules, /*adopt=*/true);
}

absl::Status TaskContext::NoteStartedEmpty() {
  for (Store s : {Store::kOrders, Store::kLogistics, Store::kBuyers}) {
    StoreIterator it = store_->NewIterator(s);
    it.SeekToFirst();
    if (absl::Status st = it.status(); !st.ok()) return st;
    if (it.Valid()) return absl::OkStatus();  // not empty: read as usual
  }
  groups_.set_started_empty();
  waybills_.set_started_empty();
  totals_.set_started_empty();
  shipments_.set_started_empty();
  return absl::OkStatus();
}

absl::Status TaskContext::status() const {
  for (const absl::Status* st :
       {&status_, &groups_.status(), &waybills_.status(), &totals_.status(),
        &writer_seqs_.status(), &shipments_.status(), &closed_.status()}) {
    if (!st->ok()) return *st;
  }
  return absl::OkStatus();
}

bool TaskContext::NextMonthClose(int64_t* due, int32_t* period) const {
  bool found = false;
  for (const auto& [p, m] : months_.months()) {
    if (m.close_due != 0 && (!found || m.close_due < *due)) {
      *due = m.close_due;
      *period = p;
      found = true;
    }
  }
  return found;
}

OrderGroup& TaskContext::Group(std::string_view orderNo) {
  // Every caller of Group may change it.
  return groups_.Modify(orderNo);
}

const WaybillVersion* TaskContext::Waybill(std::string_view logisticsCode,
                                           std::string_view logisticsNo) {
  return waybills_.Find(WaybillKey(logisticsCode, logisticsNo));
}

void TaskContext::PutWaybill(std::string_view logisticsCode,
                             std::string_view logisticsNo,
                             const WaybillVersion& v) {
  waybills_.Put(WaybillKey(logisticsCode, logisticsNo), v);
}

Shipment& TaskContext::ShipmentOf(std::string_view logisticsNo) {
  return shipments_.Modify(ShipmentKey(logisticsNo));
}

void TaskContext::EmitExchange(OutputStream s, int32_t writer, std::string key,
                               std::string_view record) {
  // Stage C's topic has one partition: one task owns every month.
  const int32_t partitions = s == OutputStream::kClosedLists ? 1 : partitions_;
  int64_t& next = writer_seqs_.Modify(
      WriterSeqKey(writer, s, PartitionOf(key, partitions)));
  epoch_->Emit(s, std::move(key), Stamped({writer, next++}, record));
}

// The writer of a fact is the order's task; of a let-go, the index's.
bool TaskContext::SendWaybillFact(const WaybillFact& fact) {
  if (Here(PartitionOf(fact.logisticsNo, partitions_))) return false;
  EmitExchange(OutputStream::kAllowance, PartitionOf(fact.orderNo, partitions_),
               fact.logisticsNo, EncodeWaybillFact(fact));
  return true;
}

bool TaskContext::SendLetGo(const LetGo& go) {
  if (Here(PartitionOf(go.orderNo, partitions_))) return false;
  EmitExchange(OutputStream::kAllowanceAnswers,
               PartitionOf(go.logisticsNo, partitions_), go.orderNo,
               EncodeLetGo(go));
  return true;
}

// The writer of stage A's records is the list's task.
std::optional<AllowanceAnswer> TaskContext::AskAllowance(
    const AllowanceRequest& request) {
  if (!through_topics_) return AnswerAllowance(request, *this);
  ++awaiting_allowance_;
  EmitExchange(OutputStream::kAllowance,
               PartitionOf(request.list.orderNo, partitions_), request.buyer,
               EncodeAllowanceRequest(request));
  return std::nullopt;
}

void TaskContext::SendGiveBack(const ListKey& list, const GiveBack& back) {
  if (!through_topics_) {
    ApplyGiveBack(back, *this);
    return;
  }
  EmitExchange(OutputStream::kAllowance, PartitionOf(list.orderNo, partitions_),
               back.buyer, EncodeGiveBack(back));
}

bool TaskContext::SendClosedList(const ListKey& list, std::string_view closing,
                                 int64_t closed_at) {
  if (!through_topics_) return false;
  EmitExchange(
      OutputStream::kClosedLists, PartitionOf(list.orderNo, partitions_),
      absl::StrCat(PeriodOf(FromEpochSeconds(closed_at))),
      EncodeClosedListRecord({std::string(closing), closed_at, watermark_}));
  return true;
}

// A mark's number is its watermark: the reader keeps the greatest, which
// is what stage C's event time is.
void TaskContext::SendWatermarkMark(std::optional<int64_t> watermark) {
  if (!MarkDue(watermark)) return;
  mark_sent_ = watermark;
  epoch_->Emit(OutputStream::kClosedLists, "watermark",
               Stamped({kWatermarkWriter, std::max<int64_t>(0, *watermark)},
                       EncodeWatermarkMark(*watermark)));
}

Decimal TaskContext::YearTotal(std::string_view buyer, int year) {
  const int64_t* units = totals_.Find(TotalKey(buyer, year));
  return Decimal::FromUnits(units ? *units : 0);
}

void TaskContext::SetYearTotal(std::string_view buyer, int year,
                               Decimal total) {
  // Only released lists count, and none is released past the annual limit
  // (26,000 yuan), so a year's total is far inside 64 bits.
  totals_.Put(TotalKey(buyer, year), static_cast<int64_t>(total.units()));
}

BuyerContext::Registered TaskContext::LookUp(std::string_view buyer,
                                             std::string_view name_hash) {
  auto registered = registry_.LookUp(buyer);
  if (!registered.ok()) {
    if (status_.ok()) status_ = registered.status();
    return Registered::kUnknown;
  }
  const std::optional<std::string>& name = **registered;
  if (!name) return Registered::kUnknown;
  return *name == name_hash ? Registered::kMatches : Registered::kNameDiffers;
}

std::vector<int32_t> TaskContext::Months() {
  std::vector<int32_t> out;
  for (const auto& [p, m] : months_.months()) out.push_back(p);
  return out;
}

void TaskContext::AddClosedList(int32_t period, int32_t round,
                                std::string_view key, std::string_view value) {
  std::string full = RoundPrefix(period, round);
  full.append(key);
  closed_.Put(std::move(full), std::string(value));
}

void TaskContext::ForEachClosedList(
    int32_t period, int32_t round,
    absl::FunctionRef<bool(std::string_view value)> visit) {
  closed_.Scan(RoundPrefix(period, round), RoundPrefix(period, round + 1),
               visit);
}

void TaskContext::DropRound(int32_t period, int32_t round) {
  closed_.DeleteRange(RoundPrefix(period, round),
                      RoundPrefix(period, round + 1));
}

void TaskContext::EmitReceipt(const Receipt& r) {
  if (metrics_) metrics_->Receipt(r);
  std::string line;
  if (receipts_xml_) {
    EncodeReceiptXml(r, &line);
  } else {
    EncodeReceipt(r, &line);
  }
  epoch_->Emit(OutputStream::kReceipts, r.orderNo, std::move(line));
}

void TaskContext::EmitSummary(const SummaryForm& f) {
  if (metrics_) metrics_->SummaryForm();
  std::string line;
  EncodeSummaryForm(f, &line);
  epoch_->Emit(OutputStream::kSummaries, HeadGroupKey(f), std::move(line));
}

void TaskContext::Flush(WriteBatch* batch) {
  timers_.Flush(batch);
  groups_.Flush(batch);
  waybills_.Flush(batch);
  shipments_.Flush(batch);
  months_.Flush(batch);
  closed_.Flush(batch);
  totals_.Flush(batch);
  writer_seqs_.Flush(batch);
  if (summary_watermark_dirty_) {
    batch->Put(Store::kSummaries, kSummaryWatermarkKey,
               EncodeInteger(*summary_watermark_));
    summary_watermark_dirty_ = false;
  }
}

void TaskContext::Forget(size_t capacity, Reaper* reaper) {
  auto dispose = [reaper](auto forgotten) {
    if (forgotten.empty()) return;
    if (reaper) {
      reaper->Dispose(std::move(forgotten));
    }  // else: freed here, as `forgotten` goes
  };
  dispose(shipments_.Trim(capacity));
  dispose(groups_.Trim(capacity));
  dispose(waybills_.Trim(capacity));
  dispose(totals_.Trim(capacity));
}

}  // namespace clearlane
