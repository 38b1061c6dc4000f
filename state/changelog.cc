#include "state/changelog.h"

#include "absl/strings/str_format.h"
#include "model/coding.h"
#include "state/keys.h"

namespace clearlane {
namespace {

constexpr char kPut = 'P';
constexpr char kRange = 'R';
// Between "run" and the instance.id in a run record's changelog key.
constexpr char kRunRecordInstanceSeparator = '/';

// In kMeta while a whole state is being logged.
constexpr std::string_view kSnapshotKey = "changelog-snapshot";
// Records committed at a time while logging a whole state.
constexpr int64_t kSnapshotChunk = 20000;

constexpr Store kLogged[] = {Store::kMeta, Store::kOrders, Store::kLogistics,
                             Store::kBuyers, Store::kSummaries};

constexpr uint32_t kLoggedMask = [] {
  uint32_t mask = 0;
  for (Store s : kLogged) mask |= 1u << static_cast<int>(s);
  return mask;
}();

bool IsLogged(Store s) {
  return static_cast<int>(s) < kStoreCount &&
         (kLoggedMask & (1u << static_cast<int>(s)));
}

// The task whose changelog partition a kMeta key goes to: a writer's
// numbers, a task's position; nullopt for any other key.
std::optional<uint32_t> TaskOfMetaKey(std::string_view key) {
  if (std::optional<uint32_t> task = WriterOfSeqKey(key)) return task;
  return TaskOfPositionKey(key);
}

}  // namespace

uint32_t ChangeloggedStores() { return kLoggedMask; }

std::optional<ChangelogRecord> ToChangelogRecord(const Change& change,
                                                 std::string_view instance) {
  if (!IsLogged(change.store)) return std::nullopt;
  const bool run_record =
      change.store == Store::kMeta && change.key == kRunRecordKey;
  if (change.store == Store::kMeta && !run_record &&
      !TaskOfMetaKey(change.key)) {
    return std::nullopt;
  }
  ChangelogRecord r;
  r.key.reserve(2 + change.key.size() + instance.size());
  r.key.push_back(static_cast<char>(change.store));
  r.key.append(change.key);
  if (run_record) {
    r.key.push_back(kRunRecordInstanceSeparator);
    r.key.append(instance);
  }
  switch (change.kind) {
    case Change::Kind::kPut:
      r.value.reserve(1 + change.value.size());
      r.value.push_back(kPut);
      r.value.append(change.value);
      break;
    case Change::Kind::kDeleteRange:
      r.value.reserve(1 + change.value.size());
      r.value.push_back(kRange);
      r.value.append(change.value);
      break;
    case Change::Kind::kDelete:
      break;
  }
  return r;
}

bool IsRunRecordLogKey(std::string_view key,
                       std::optional<std::string_view>* instance) {
  if (key.size() < 1 + kRunRecordKey.size() ||
      static_cast<Store>(key[0]) != Store::kMeta ||
      key.substr(1, kRunRecordKey.size()) != kRunRecordKey) {
    return false;
  }
  const std::string_view rest = key.substr(1 + kRunRecordKey.size());
  if (rest.empty()) {
    if (instance) instance->reset();
    return true;
  }
  if (rest[0] != kRunRecordInstanceSeparator) return false;
  if (instance) *instance = rest.substr(1);
  return true;
}

int32_t ChangelogPartition(std::string_view key, int32_t partitions) {
  if (partitions <= 1 || key.empty()) return 0;
  // Every instance's run record where layout 1 put the one run record.
  if (IsRunRecordLogKey(key)) {
    return PartitionOf(key.substr(0, 1 + kRunRecordKey.size()), partitions);
  }
  const auto to = [partitions](uint32_t task) {
    return static_cast<int32_t>(task % static_cast<uint32_t>(partitions));
  };
  const std::string_view k = key.substr(1);
  switch (static_cast<Store>(key[0])) {
    case Store::kOrders:
      if (std::optional<uint32_t> task = TaskOfOrderKey(k)) return to(*task);
      break;
    case Store::kMeta:
      // A writer task's sequence numbers and a task's position travel
      // with their task.
      if (std::optional<uint32_t> task = TaskOfMetaKey(k)) return to(*task);
      break;
    case Store::kBuyers:
      if (std::optional<std::string_view> buyer = BuyerOfTotalKey(k)) {
        return PartitionOf(*buyer, partitions);
      }
      break;
    case Store::kLogistics:
      if (std::optional<std::string_view> no = LogisticsNoOfKey(k)) {
        return PartitionOf(*no, partitions);
      }
      break;
    case Store::kSummaries:
      return 0;
    default:
      break;
  }
  return PartitionOf(key, partitions);
}

std::string EncodeChangelogCheckpoint(const ChangelogCheckpoint& c) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(1);  // version
  w.Varint(c.offsets.size());
  for (size_t p = 0; p < c.offsets.size(); ++p) {
    w.SignedVarint(c.offsets[p]);
    w.SignedVarint(p < c.current_at.size() ? c.current_at[p] : -1);
    if (p >= c.marks.size()) {
      w.Varint(0);
      continue;
    }
    w.Varint(c.marks[p].size());
    for (const auto& [instance, seq] : c.marks[p]) {
      w.Bytes(instance);
      w.SignedVarint(seq);
    }
  }
  return out;
}

absl::StatusOr<ChangelogCheckpoint> DecodeChangelogCheckpoint(
    std::string_view bytes) {
  BinaryReader r(bytes);
  if (r.U8() != 1) {
    return absl::DataLossError("changelog checkpoint of an unknown version");
  }
  ChangelogCheckpoint c;
  const uint64_t partitions = r.Varint();
  for (uint64_t p = 0; p < partitions && r.ok() && p < bytes.size(); ++p) {
    c.offsets.push_back(r.SignedVarint());
    c.current_at.push_back(r.SignedVarint());
    auto& marks = c.marks.emplace_back();
    for (uint64_t n = r.Varint(); n > 0 && r.ok(); --n) {
      std::string instance(r.Bytes());
      marks[std::move(instance)] = r.SignedVarint();
    }
  }
  if (!r.ok() || !r.done() || c.offsets.size() != partitions) {
    return absl::DataLossError("changelog checkpoint is corrupt");
  }
  return c;
}

absl::StatusOr<std::optional<ChangelogCheckpoint>> ReadChangelogCheckpoint(
    const StateStore& store) {
  auto stored = store.Get(Store::kMeta, kChangelogCheckpointKey);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::nullopt;
  auto c = DecodeChangelogCheckpoint(**stored);
  if (!c.ok()) return c.status();
  return *std::move(c);
}

absl::Status ApplyChangelogRecord(std::string_view key,
                                  std::optional<std::string_view> value,
                                  WriteBatch* batch) {
  const Store s = key.empty() ? Store::kOutbox : static_cast<Store>(key[0]);
  if (!IsLogged(s) || (value && value->empty())) {
    return absl::DataLossError(absl::StrFormat(
        "changelog record of %d key bytes is not one clearlane writes",
        key.size()));
  }
  // A run record's, of any instance, is the run record.
  const std::string_view store_key =
      IsRunRecordLogKey(key) ? kRunRecordKey : key.substr(1);
  if (!value) {
    batch->Delete(s, store_key);
  } else if ((*value)[0] == kPut) {
    batch->Put(s, store_key, value->substr(1));
  } else if ((*value)[0] == kRange) {
    batch->DeleteRange(s, store_key, value->substr(1));
  } else {
    return absl::DataLossError(
        absl::StrFormat("changelog record of an unknown kind (%d)",
                        static_cast<int>(static_cast<uint8_t>((*value)[0]))));
  }
  return absl::OkStatus();
}

absl::Status RebuildTasks(StateStore* store,
                          const absl::flat_hash_set<int32_t>& tasks,
                          int32_t partitions, std::string_view instance,
                          ChangelogCheckpoint* c, WriteBatch* batch) {
  std::string key;
  for (Store s : kLogged) {
    StoreIterator it = store->NewIterator(s);
    for (it.SeekToFirst(); it.Valid(); it.Next()) {
      if (s == Store::kMeta && !TaskOfMetaKey(it.key())) continue;
      key.assign(1, static_cast<char>(s));
      key.append(it.key());
      if (tasks.contains(ChangelogPartition(key, partitions))) {
        batch->Delete(s, it.key());
      }
    }
    if (!it.status().ok()) return it.status();
  }
  for (int32_t t : tasks) {
    if (t < 0 || static_cast<size_t>(t) >= c->offsets.size()) continue;
    c->offsets[t] = 0;
    c->current_at[t] = -1;
    c->marks[t].clear();
    c->marks[t].emplace(std::string(instance), -1);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> LogWholeStateIfNeeded(StateStore* store, Outbox* outbox,
                                              RunRecord* run,
                                              std::string_view instance) {
  const int changelog = static_cast<int>(OutputStream::kChangelog);
  auto marker = store->Get(Store::kMeta, kSnapshotKey);
  if (!marker.ok()) return marker.status();
  auto stored = ReadRunRecord(*store);
  if (!stored.ok()) return stored.status();
  if (!*marker && (!*stored || (run->next_seq[changelog] > 0 &&
                                run->changelog_layout >= kChangelogLayout))) {
    return 0;
  }
  // Everything from here on is logged in this layout.
  run->changelog_layout = kChangelogLayout;

  int64_t logged = 0;
  WriteBatch batch(*store);
  batch.Put(Store::kMeta, kSnapshotKey, "");
  auto log = [&](const Change& c) -> absl::Status {
    std::optional<ChangelogRecord> r = ToChangelogRecord(c, instance);
    if (!r) return absl::OkStatus();
    outbox->Append(&batch, OutputStream::kChangelog, r->key, r->value);
    if (++logged % kSnapshotChunk == 0) {
      PutRunRecord(*run, &batch);
      absl::Status st = store->Commit(&batch);
      batch.Clear();
      return st;
    }
    return absl::OkStatus();
  };
  for (Store s : kLogged) {
    // Of kMeta, the tasks' keys now; the run record goes last.
    StoreIterator it = store->NewIterator(s);
    for (it.SeekToFirst(); it.Valid(); it.Next()) {
      if (s == Store::kMeta && !TaskOfMetaKey(it.key())) continue;
      absl::Status st = log({s, Change::Kind::kPut, std::string(it.key()),
                             std::string(it.value())});
      if (!st.ok()) return st;
    }
    if (!it.status().ok()) return it.status();
  }
  // The run record logged is the one before the snapshot's numbers, as
  // an epoch's (a restore counts the changelog itself).
  absl::Status st = log({Store::kMeta, Change::Kind::kPut,
                         std::string(kRunRecordKey), EncodeRunRecord(*run)});
  if (!st.ok()) return st;
  batch.Delete(Store::kMeta, kSnapshotKey);
  PutRunRecord(*run, &batch);
  st = store->Commit(&batch);
  if (!st.ok()) return st;
  return logged;
}

}  // namespace clearlane
