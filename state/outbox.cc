#include "state/outbox.h"

#include <string>

#include "absl/strings/str_format.h"
#include "model/coding.h"
#include "state/keys.h"

namespace clearlane {

int64_t Outbox::Append(WriteBatch* batch, OutputStream s, std::string_view key,
                       std::string_view line) {
  const int64_t seq = run_->next_seq[static_cast<int>(s)]++;
  std::string value;
  value.reserve(key.size() + line.size() + 2);
  BinaryWriter(&value).Bytes(key);
  value.append(line);
  batch->Put(Store::kOutbox, OutboxKey(s, seq), value);
  return seq;
}

int64_t Outbox::Skip(OutputStream s) {
  const int i = static_cast<int>(s);
  const int64_t seq = run_->next_seq[i]++;
  if (run_->outbox_floor[i] == seq) run_->outbox_floor[i] = seq + 1;
  return seq;
}

void Outbox::Trim(WriteBatch* batch,
                  const std::array<int64_t, kOutboxStreamCount>& published) {
  for (int i = 0; i < kOutboxStreamCount; ++i) {
    const auto s = static_cast<OutputStream>(i);
    int64_t& floor = run_->outbox_floor[i];
    if (published[i] > floor) {
      batch->DeleteRange(Store::kOutbox, OutboxKey(s, floor),
                         OutboxKey(s, published[i]));
      floor = published[i];
    }
  }
}

int64_t Outbox::size() const {
  int64_t n = 0;
  for (int i = 0; i < kOutboxStreamCount; ++i) {
    n += run_->next_seq[i] - run_->outbox_floor[i];
  }
  return n;
}

absl::Status Outbox::ForEachUnpublished(
    OutputStream s, int64_t from,
    absl::FunctionRef<absl::Status(int64_t, std::string_view, std::string_view)>
        visit) {
  const int64_t next = next_seq(s);
  StoreIterator it = store_->NewIterator(Store::kOutbox);
  const std::string end = OutboxKey(s, next);
  int64_t expected = from;
  for (it.Seek(OutboxKey(s, from)); it.Valid() && it.key() < end; it.Next()) {
    if (SequenceOfOutboxKey(it.key()) != expected) break;
    BinaryReader value(it.value());
    const std::string_view out_key = value.Bytes();
    const std::string_view line = value.Rest();
    if (!value.ok()) return absl::DataLossError("outbox record is corrupt");
    absl::Status st = visit(expected, out_key, line);
    if (!st.ok()) return st;
    ++expected;
  }
  if (absl::Status st = it.status(); !st.ok()) return st;
  if (expected != next) {
    return absl::DataLossError(
        absl::StrFormat("state %s lacks outbox record %d of %s", store_->path(),
                        expected, OutputStreamName(s)));
  }
  return absl::OkStatus();
}

}  // namespace clearlane
