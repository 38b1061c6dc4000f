#include "state/registry_store.h"

#include "state/keys.h"

namespace clearlane {

RegistryStore::Loader::Loader(StateStore* store)
    : store_(store), batch_(*store) {
  batch_.DeleteRange(Store::kRegistry, "", kRegistryEnd);
}

RegistryStore::Loader RegistryStore::Replace() { return Loader(store_); }

absl::Status RegistryStore::Loader::Add(std::string_view id_hash,
                                        std::string_view name_hash) {
  batch_.Put(Store::kRegistry, id_hash, name_hash);
  if (++added_ % 10000 != 0) return absl::OkStatus();
  absl::Status st = store_->Commit(&batch_);
  batch_.Clear();
  return st;
}

absl::Status RegistryStore::Loader::Finish(
    absl::FunctionRef<void(WriteBatch*)> also) {
  also(&batch_);
  absl::Status st = store_->Commit(&batch_);
  batch_.Clear();
  return st;
}

absl::StatusOr<const std::optional<std::string>*> RegistryStore::LookUp(
    std::string_view id_hash) {
  const absl::string_view key(id_hash.data(), id_hash.size());
  auto it = memo_.find(key);
  if (it == memo_.end()) {
    auto stored = store_->Get(Store::kRegistry, id_hash);
    if (!stored.ok()) return stored.status();
    // A memo, not state: it may be dropped whole at any time.
    if (memo_.size() >= kMemo) memo_.clear();
    it = memo_.emplace(key, *std::move(stored)).first;
  }
  return &it->second;
}

}  // namespace clearlane
