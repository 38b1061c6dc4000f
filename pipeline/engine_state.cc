#include "pipeline/engine_state.h"

#include <xxhash.h>

#include "model/coding.h"
#include "pipeline/partitioner.h"

namespace clearlane {
namespace {

// The key of an order in Store::kOrders: its stage A task (the partition
// of its orderNo), then 8 bytes of hash (point stores hash their memtable
// on the first 8 bytes), then the orderNo. A task's orders are one key
// range.
std::string OrderKey(int32_t partitions, std::string_view orderNo) {
  std::string key;
  BinaryWriter w(&key);
  w.Fixed32(static_cast<uint32_t>(PartitionOf(orderNo, partitions)));
  w.Fixed64(XXH3_64bits(orderNo.data(), orderNo.size()));
  key.append(orderNo);
  return key;
}

// Registry answers remembered, at most (about 100 bytes each).
constexpr size_t kRegistryMemo = 400000;

// Store::kLogistics holds import waybill versions (tag 'I', then the
// length-prefixed logisticsCode and the logisticsNo) and stage L's export
// shipments (tag 'E', then the logisticsNo), each key led by 8 bytes of
// hash of the rest.
std::string HashLed(const std::string& rest) {
  std::string key;
  BinaryWriter(&key).Fixed64(XXH3_64bits(rest.data(), rest.size()));
  key.append(rest);
  return key;
}

std::string WaybillKey(std::string_view code, std::string_view no) {
  std::string id;
  BinaryWriter w(&id);
  w.U8('I');
  w.Bytes(code);
  w.Raw(no);
  return HashLed(id);
}

std::string ShipmentKey(std::string_view no) {
  std::string id;
  BinaryWriter w(&id);
  w.U8('E');
  w.Raw(no);
  return HashLed(id);
}

// Store::kSummaries: 'M' + period for a month's state; 'L' + period +
// round + ClosedListKey for a closed list waiting for its forms.
std::string MonthKey(int32_t period) {
  std::string key;
  BinaryWriter w(&key);
  w.U8('M');
  w.Fixed32(static_cast<uint32_t>(period));
  return key;
}

std::string RoundPrefix(int32_t period, int32_t round) {
  std::string key;
  BinaryWriter w(&key);
  w.U8('L');
  w.Fixed32(static_cast<uint32_t>(period));
  w.Fixed32(static_cast<uint32_t>(round));
  return key;
}

std::string TotalKey(std::string_view buyer, int year) {
  std::string key(buyer);
  BinaryWriter(&key).Fixed32(static_cast<uint32_t>(year));
  return key;
}

// Timers are led by the task they belong to, so a task's timers are a key
// range too: 'A' + the stage A partition of a list's orderNo, or 'L' + the
// hash that leads a stage L expiry's shipment key. The firing order is
// kept in memory (EngineState::Timer).
std::string TimerKey(int32_t partitions, int64_t due, const ListKey& list) {
  std::string key;
  BinaryWriter w(&key);
  if (list.type == DocType::kCeb505) {
    const std::string shipment = ShipmentKey(list.orderNo);
    w.U8('L');
    w.Raw(std::string_view(shipment).substr(0, 8));
  } else {
    w.U8('A');
    w.Fixed32(static_cast<uint32_t>(PartitionOf(list.orderNo, partitions)));
  }
  w.Fixed64(static_cast<uint64_t>(due) ^ (1ull << 63));
  w.U8(static_cast<uint8_t>(list.type));
  w.Bytes(list.ebpCode);
  w.Bytes(list.orderNo);
  return key;
}

std::string EncodeWaybill(const WaybillVersion& v) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(1);  // version
  w.SignedVarint(v.appTime);
  w.U8(v.deleted);
  w.Bytes(v.orderNo);
  return out;
}

}  // namespace

EngineState::EngineState(StateStore* store, rocksdb::WriteBatch* batch,
                         std::string hmac_secret, bool has_registry,
                         Outputs outputs)
    : store_(store),
      batch_(batch),
      hmac_(hmac_secret),
      has_registry_(has_registry),
      outputs_(std::move(outputs)) {}

absl::Status EngineState::LoadTimers() {
  auto it = store_->NewIterator(Store::kTimers);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    BinaryReader r(std::string_view(it->key().data(), it->key().size()));
    const uint8_t task = r.U8();
    if (task == 'L') {
      r.Fixed64();
    } else {
      r.Fixed32();
    }
    Timer t;
    t.due = static_cast<int64_t>(r.Fixed64() ^ (1ull << 63));
    t.list.type = static_cast<DocType>(r.U8());
    t.list.ebpCode = std::string(r.Bytes());
    t.list.orderNo = std::string(r.Bytes());
    if (!r.ok() || !r.done())
      return absl::DataLossError("timer key is corrupt");
    ++pending_[KindOf(t.list)];
    timers_.insert(std::move(t));
  }
  absl::Status st = FromRocks(it->status(), "reading the timers");
  if (!st.ok()) return st;
  auto months = store_->NewIterator(Store::kSummaries);
  for (months->Seek("M"); months->Valid() && months->key().starts_with("M");
       months->Next()) {
    BinaryReader r(
        std::string_view(months->key().data(), months->key().size()));
    r.U8();
    const auto period = static_cast<int32_t>(r.Fixed32());
    auto m = DecodeMonthState(
        std::string_view(months->value().data(), months->value().size()));
    if (!m.ok()) return m.status();
    months_[period] = *m;
  }
  return FromRocks(months->status(), "reading the months");
}

absl::Status EngineState::NoteStartedEmpty() {
  for (Store s : {Store::kOrders, Store::kLogistics, Store::kBuyers}) {
    auto it = store_->NewIterator(s);
    it->SeekToFirst();
    absl::Status st = FromRocks(it->status(), "reading the state");
    if (!st.ok()) return st;
    if (it->Valid()) return absl::OkStatus();  // not empty: read as usual
  }
  groups_.set_started_empty();
  waybills_.set_started_empty();
  totals_.set_started_empty();
  shipments_.set_started_empty();
  return absl::OkStatus();
}

bool EngineState::NextMonthClose(int64_t* due, int32_t* period) const {
  bool found = false;
  for (const auto& [p, m] : months_) {
    if (m.close_due != 0 && (!found || m.close_due < *due)) {
      *due = m.close_due;
      *period = p;
      found = true;
    }
  }
  return found;
}

Shipment& EngineState::ShipmentOf(std::string_view logisticsNo) {
  auto [it, inserted] = shipments_.try_emplace(ShipmentKey(logisticsNo));
  if (inserted && shipments_.MayBeStored(it->first)) {
    auto stored = store_->Get(Store::kLogistics, it->first);
    if (!stored.ok()) {
      if (status_.ok()) status_ = stored.status();
    } else if (stored->has_value()) {
      auto shipment = DecodeShipment(**stored);
      if (shipment.ok()) {
        it->second.value = *std::move(shipment);
      } else if (status_.ok()) {
        status_ = shipment.status();
      }
    }
  }
  if (!it->second.dirty) {
    it->second.dirty = true;
    dirty_shipments_.emplace_back(&it->first, &it->second);
  }
  return it->second.value;
}

MonthState& EngineState::Month(int32_t period) {
  dirty_months_.insert(period);
  return months_[period];
}

std::vector<int32_t> EngineState::Months() {
  std::vector<int32_t> out;
  for (const auto& [p, m] : months_) out.push_back(p);
  return out;
}

void EngineState::AddClosedList(int32_t period, int32_t round,
                                std::string_view key, std::string_view value) {
  std::string full = RoundPrefix(period, round);
  full.append(key);
  batch_->Put(store_->Handle(Store::kSummaries), full, value);
  unflushed_closed_[std::move(full)] = std::string(value);
}

void EngineState::ForEachClosedList(
    int32_t period, int32_t round,
    absl::FunctionRef<bool(std::string_view value)> visit) {
  const std::string begin = RoundPrefix(period, round);
  const std::string end = RoundPrefix(period, round + 1);
  // The committed lists and this epoch's, merged in key order.
  auto it = store_->NewIterator(Store::kSummaries);
  it->Seek(begin);
  auto mem = unflushed_closed_.lower_bound(begin);
  while (true) {
    const bool stored = it->Valid() && it->key().compare(end) < 0;
    const bool fresh = mem != unflushed_closed_.end() && mem->first < end;
    if (!stored && !fresh) break;
    bool more;
    if (fresh && (!stored || it->key().compare(mem->first) >= 0)) {
      if (stored && it->key().compare(mem->first) == 0) it->Next();
      more = visit(mem->second);
      ++mem;
    } else {
      more = visit(std::string_view(it->value().data(), it->value().size()));
      it->Next();
    }
    if (!more) break;
  }
  if (!it->status().ok() && status_.ok()) {
    status_ = FromRocks(it->status(), "reading the closed lists");
  }
}

void EngineState::DropRound(int32_t period, int32_t round) {
  const std::string begin = RoundPrefix(period, round);
  const std::string end = RoundPrefix(period, round + 1);
  batch_->DeleteRange(store_->Handle(Store::kSummaries), begin, end);
  unflushed_closed_.erase(unflushed_closed_.lower_bound(begin),
                          unflushed_closed_.lower_bound(end));
}

bool EngineState::NextTimer(int64_t* due, ListKey* list) const {
  if (timers_.empty()) return false;
  *due = timers_.begin()->due;
  *list = timers_.begin()->list;
  return true;
}

// A timer set and removed within one epoch never reaches the store.
void EngineState::RemoveTimer(TimerSet::iterator it) {
  if (!unstored_timers_.erase(*it)) {
    batch_->Delete(store_->Handle(Store::kTimers),
                   TimerKey(partitions_, it->due, it->list));
  }
  --pending_[KindOf(it->list)];
  timers_.erase(it);
}

void EngineState::PopTimer() { RemoveTimer(timers_.begin()); }

void EngineState::SetTimer(int64_t due, const ListKey& list) {
  if (timers_.insert({due, list}).second) {
    ++pending_[KindOf(list)];
    unstored_timers_.insert({due, list});
  }
}

void EngineState::CancelTimer(int64_t due, const ListKey& list) {
  auto it = timers_.find({due, list});
  if (it != timers_.end()) RemoveTimer(it);
}

OrderGroup& EngineState::Group(std::string_view orderNo) {
  auto [it, inserted] = groups_.try_emplace(orderNo);
  if (inserted && groups_.MayBeStored(orderNo)) {
    auto stored = store_->Get(Store::kOrders, OrderKey(partitions_, orderNo));
    if (!stored.ok()) {
      if (status_.ok()) status_ = stored.status();
    } else if (stored->has_value()) {
      auto group = DecodeOrderGroup(**stored);
      if (group.ok()) {
        it->second.value = *std::move(group);
      } else if (status_.ok()) {
        status_ = group.status();
      }
    }
  }
  // Every caller of Group may change it.
  if (!it->second.dirty) {
    it->second.dirty = true;
    dirty_group_keys_.emplace_back(&it->first, &it->second);
  }
  return it->second.value;
}

const WaybillVersion* EngineState::Waybill(std::string_view logisticsCode,
                                           std::string_view logisticsNo) {
  const std::string key = WaybillKey(logisticsCode, logisticsNo);
  auto it = waybills_.find(key);
  if (it == waybills_.end()) {
    if (!waybills_.MayBeStored(key)) return nullptr;
    auto stored = store_->Get(Store::kLogistics, key);
    if (!stored.ok()) {
      if (status_.ok()) status_ = stored.status();
      return nullptr;
    }
    if (!stored->has_value()) return nullptr;
    BinaryReader r(**stored);
    WaybillVersion v;
    r.U8();
    v.appTime = r.SignedVarint();
    v.deleted = r.U8() != 0;
    v.orderNo = std::string(r.Bytes());
    if (!r.ok()) {
      if (status_.ok()) status_ = absl::DataLossError("waybill is corrupt");
      return nullptr;
    }
    it = waybills_.emplace(key, Cached<WaybillVersion>{std::move(v), false})
             .first;
  }
  return &it->second.value;
}

void EngineState::PutWaybill(std::string_view logisticsCode,
                             std::string_view logisticsNo,
                             const WaybillVersion& v) {
  auto [it, inserted] =
      waybills_.try_emplace(WaybillKey(logisticsCode, logisticsNo));
  it->second.value = v;
  if (!it->second.dirty) {
    it->second.dirty = true;
    dirty_waybills_.emplace_back(&it->first, &it->second);
  }
}

std::string EngineState::StateForm(const Document& doc) {
  if (&doc == prepared_doc_ && prepared_form_ && !prepared_form_->empty()) {
    prepared_doc_ = nullptr;
    return std::move(*prepared_form_);
  }
  return StageContext::StateForm(doc);
}

std::string EngineState::KeyedHash(std::string_view value) {
  return hmac_(value);
}

Decimal EngineState::YearTotal(std::string_view buyer, int year) {
  const std::string key = TotalKey(buyer, year);
  auto it = totals_.find(key);
  if (it == totals_.end()) {
    absl::StatusOr<std::optional<std::string>> stored = std::nullopt;
    if (totals_.MayBeStored(key)) stored = store_->Get(Store::kBuyers, key);
    int64_t units = 0;
    if (!stored.ok()) {
      if (status_.ok()) status_ = stored.status();
    } else if (stored->has_value()) {
      BinaryReader r(**stored);
      units = r.SignedVarint();
    }
    it = totals_.emplace(key, Cached<int64_t>{units, false}).first;
  }
  return Decimal::FromUnits(it->second.value);
}

void EngineState::SetYearTotal(std::string_view buyer, int year,
                               Decimal total) {
  auto [it, inserted] = totals_.try_emplace(TotalKey(buyer, year));
  it->second.value = total.units();
  if (!it->second.dirty) {
    it->second.dirty = true;
    dirty_totals_.emplace_back(&it->first, &it->second);
  }
}

StageContext::Registered EngineState::LookUp(std::string_view buyer,
                                             std::string_view name_hash) {
  const absl::string_view key(buyer.data(), buyer.size());
  auto it = registry_memo_.find(key);
  if (it == registry_memo_.end()) {
    auto stored = store_->Get(Store::kRegistry, buyer);
    if (!stored.ok()) {
      if (status_.ok()) status_ = stored.status();
      return Registered::kUnknown;
    }
    // A memo, not state: it may be dropped whole at any time.
    if (registry_memo_.size() >= kRegistryMemo) registry_memo_.clear();
    it = registry_memo_.emplace(key, std::move(*stored)).first;
  }
  if (!it->second) return Registered::kUnknown;
  return *it->second == name_hash ? Registered::kMatches
                                  : Registered::kNameDiffers;
}

void EngineState::Flush() {
  for (const Timer& t : unstored_timers_) {
    batch_->Put(store_->Handle(Store::kTimers),
                TimerKey(partitions_, t.due, t.list), "");
  }
  unstored_timers_.clear();
  // The dirty lists point into the caches' nodes, which stay put: a dirty
  // entry is never forgotten.
  for (auto& [key, entry] : dirty_group_keys_) {
    if (entry->value.empty()) {
      batch_->Delete(store_->Handle(Store::kOrders),
                     OrderKey(partitions_, *key));
    } else {
      batch_->Put(store_->Handle(Store::kOrders), OrderKey(partitions_, *key),
                  EncodeOrderGroup(entry->value));
    }
    entry->dirty = false;
  }
  for (auto& [key, entry] : dirty_waybills_) {
    batch_->Put(store_->Handle(Store::kLogistics), *key,
                EncodeWaybill(entry->value));
    entry->dirty = false;
  }
  for (auto& [key, entry] : dirty_shipments_) {
    if (entry->value.empty() && entry->value.expires == 0) {
      batch_->Delete(store_->Handle(Store::kLogistics), *key);
    } else {
      batch_->Put(store_->Handle(Store::kLogistics), *key,
                  EncodeShipment(entry->value));
    }
    entry->dirty = false;
  }
  for (int32_t period : dirty_months_) {
    batch_->Put(store_->Handle(Store::kSummaries), MonthKey(period),
                EncodeMonthState(months_[period]));
  }
  dirty_months_.clear();
  unflushed_closed_.clear();
  for (auto& [key, entry] : dirty_totals_) {
    std::string value;
    BinaryWriter(&value).SignedVarint(entry->value);
    batch_->Put(store_->Handle(Store::kBuyers), *key, value);
    entry->dirty = false;
  }
  dirty_group_keys_.clear();
  dirty_waybills_.clear();
  dirty_totals_.clear();
  dirty_shipments_.clear();
}

void EngineState::Forget() {
  shipments_.Trim(cache_entries_, reaper_);
  groups_.Trim(cache_entries_, reaper_);
  waybills_.Trim(cache_entries_, reaper_);
  totals_.Trim(cache_entries_, reaper_);
}

}  // namespace clearlane
