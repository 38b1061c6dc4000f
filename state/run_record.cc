#include "state/run_record.h"

#include "absl/strings/str_format.h"
#include "model/coding.h"
#include "state/keys.h"

namespace clearlane {
namespace {

// 2: the driver's position is an opaque blob; outbox values carry a key.
// 3: stage A's partition count; order and timer keys led by their task.
// 4: the changelog's sequence numbers (a fourth outbox stream). A version
// 3 record reads as one whose changelog has not started.
// 5: the exchange's two streams (allowance requests and answers).
// 6: stage C's exchange stream (closed lists).
// 7: the changelog's layout (state/changelog.h); older records read as
// layout 1.
constexpr uint8_t kVersion = 7;
constexpr uint8_t kOldestReadable = 3;

}  // namespace

std::string EncodeRunRecord(const RunRecord& m) {
  std::string out;
  BinaryWriter w(&out);
  w.U8(kVersion);
  w.U8(static_cast<uint8_t>(m.status));
  w.Bytes(m.position);
  w.U8(m.watermark.has_value());
  w.SignedVarint(m.watermark.value_or(0));
  for (int i = 0; i < kOutboxStreamCount; ++i) {
    w.Varint(m.next_seq[i]);
    w.Varint(m.outbox_floor[i]);
  }
  w.U8(m.has_registry);
  w.Varint(static_cast<uint64_t>(m.partitions));
  w.Varint(static_cast<uint64_t>(m.changelog_layout));
  return out;
}

absl::StatusOr<RunRecord> DecodeRunRecord(std::string_view bytes) {
  BinaryReader r(bytes);
  RunRecord m;
  const uint8_t version = r.U8();
  if (version < kOldestReadable) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "written by an older clearlane (run record version %d, this one "
        "reads %d), whose keys are laid out differently; start from a new "
        "state directory",
        version, kOldestReadable));
  }
  if (version > kVersion) {
    return absl::DataLossError("run record of an unknown version");
  }
  m.status = static_cast<RunStatus>(r.U8());
  m.position = std::string(r.Bytes());
  const bool has_watermark = r.U8();
  const int64_t watermark = r.SignedVarint();
  if (has_watermark) m.watermark = watermark;
  const int streams = version >= 6   ? kOutboxStreamCount
                      : version == 5 ? kOutputStreamCount + 3
                      : version == 4 ? kOutputStreamCount + 1
                                     : kOutputStreamCount;
  for (int i = 0; i < streams; ++i) {
    m.next_seq[i] = static_cast<int64_t>(r.Varint());
    m.outbox_floor[i] = static_cast<int64_t>(r.Varint());
  }
  m.has_registry = r.U8() != 0;
  m.partitions = static_cast<int32_t>(r.Varint());
  m.changelog_layout = version >= 7 ? static_cast<int32_t>(r.Varint()) : 1;
  if (!r.ok() || !r.done() || m.status > RunStatus::kDrained) {
    return absl::DataLossError("run record is corrupt");
  }
  return m;
}

absl::StatusOr<std::optional<RunRecord>> ReadRunRecord(
    const StateStore& store) {
  auto stored = store.Get(Store::kMeta, kRunRecordKey);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::nullopt;
  auto record = DecodeRunRecord(**stored);
  if (!record.ok()) {
    return absl::Status(record.status().code(),
                        absl::StrFormat("state %s: %s", store.path(),
                                        record.status().message()));
  }
  return *std::move(record);
}

void PutRunRecord(const RunRecord& r, WriteBatch* batch) {
  batch->Put(Store::kMeta, kRunRecordKey, EncodeRunRecord(r));
}

}  // namespace clearlane
