#include "pipeline/engine/writer_stamp.h"

#include <limits>

#include "model/coding.h"

namespace clearlane {

std::string Stamped(WriterStamp stamp, std::string_view record) {
  std::string out;
  out.reserve(record.size() + 8);
  BinaryWriter w(&out);
  w.U8(kStampVersion);
  w.Varint(static_cast<uint64_t>(stamp.writer));
  w.Varint(static_cast<uint64_t>(stamp.seq));
  out.append(record);
  return out;
}

absl::StatusOr<WriterStamp> Unstamp(std::string_view* record) {
  if (record->empty() || static_cast<uint8_t>((*record)[0]) != kStampVersion) {
    return WriterStamp{};
  }
  BinaryReader r(*record);
  r.U8();
  const uint64_t writer = r.Varint();
  const uint64_t seq = r.Varint();
  if (!r.ok() ||
      writer > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()) ||
      seq > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return absl::DataLossError(
        "the writer's stamp of an exchange record is "
        "cut short or out of range");
  }
  *record = r.Rest();
  return WriterStamp{static_cast<int32_t>(writer), static_cast<int64_t>(seq)};
}

}  // namespace clearlane
