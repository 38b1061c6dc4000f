#include "state/sorted_store.h"

namespace clearlane {

void SortedStore::Put(std::string key, std::string value) {
  put_[std::move(key)] = std::move(value);
}

void SortedStore::DeleteRange(std::string begin, std::string end) {
  put_.erase(put_.lower_bound(begin), put_.lower_bound(end));
  deleted_.emplace_back(std::move(begin), std::move(end));
}

bool SortedStore::Deleted(std::string_view key) const {
  for (const auto& [begin, end] : deleted_) {
    if (key >= begin && key < end) return true;
  }
  return false;
}

void SortedStore::Scan(std::string_view begin, std::string_view end,
                       absl::FunctionRef<bool(std::string_view)> visit) {
  // What RocksDB holds and this epoch's puts, merged in key order; a put
  // replaces what the store holds under its key.
  StoreIterator it = store_->NewIterator(which_);
  it.Seek(begin);
  auto mem = put_.lower_bound(begin);
  while (true) {
    while (it.Valid() && it.key() < end && Deleted(it.key())) it.Next();
    const bool stored = it.Valid() && it.key() < end;
    const bool fresh = mem != put_.end() && mem->first < end;
    if (!stored && !fresh) break;
    bool more;
    if (fresh && (!stored || it.key() >= mem->first)) {
      if (stored && it.key() == mem->first) it.Next();
      more = visit(mem->second);
      ++mem;
    } else {
      more = visit(it.value());
      it.Next();
    }
    if (!more) break;
  }
  if (absl::Status st = it.status(); !st.ok() && status_.ok()) status_ = st;
}

void SortedStore::Flush(WriteBatch* batch) {
  for (const auto& [begin, end] : deleted_) {
    batch->DeleteRange(which_, begin, end);
  }
  deleted_.clear();
  for (const auto& [key, value] : put_) batch->Put(which_, key, value);
  put_.clear();
}

}  // namespace clearlane
