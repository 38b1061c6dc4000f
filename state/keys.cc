#include "state/keys.h"

#include <xxhash.h>

#include "model/coding.h"

namespace clearlane {

uint32_t Murmur2(std::string_view key) {
  // MurmurHash2, 32 bits, with the seed Kafka uses.
  constexpr uint32_t kMix = 0x5bd1e995;
  constexpr uint32_t kSeed = 0x9747b28c;
  const auto* p = reinterpret_cast<const unsigned char*>(key.data());
  const size_t n = key.size();
  uint32_t h = kSeed ^ static_cast<uint32_t>(n);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t k = static_cast<uint32_t>(p[i]) |
                 static_cast<uint32_t>(p[i + 1]) << 8 |
                 static_cast<uint32_t>(p[i + 2]) << 16 |
                 static_cast<uint32_t>(p[i + 3]) << 24;
    k *= kMix;
    k ^= k >> 24;
    k *= kMix;
    h = h * kMix ^ k;
  }
  switch (n - i) {
    case 3:
      h ^= static_cast<uint32_t>(p[i + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(p[i + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= p[i];
      h *= kMix;
  }
  h ^= h >> 13;
  h *= kMix;
  h ^= h >> 15;
  return h;
}

namespace {

std::string HashLed(const std::string& rest) {
  std::string key;
  BinaryWriter(&key).Fixed64(XXH3_64bits(rest.data(), rest.size()));
  key.append(rest);
  return key;
}

}  // namespace

std::string OrderKey(int32_t partitions, std::string_view orderNo) {
  std::string key;
  BinaryWriter w(&key);
  w.Fixed32(static_cast<uint32_t>(PartitionOf(orderNo, partitions)));
  w.Fixed64(XXH3_64bits(orderNo.data(), orderNo.size()));
  key.append(orderNo);
  return key;
}

std::optional<std::string_view> OrderNoOfKey(std::string_view key) {
  if (key.size() < 12) return std::nullopt;
  return key.substr(12);
}

std::optional<uint32_t> TaskOfOrderKey(std::string_view key) {
  if (key.size() < 4) return std::nullopt;
  return BinaryReader(key.substr(0, 4)).Fixed32();
}

std::string WaybillKey(std::string_view logisticsCode,
                       std::string_view logisticsNo) {
  std::string id;
  BinaryWriter w(&id);
  w.U8('I');
  w.Bytes(logisticsCode);
  w.Raw(logisticsNo);
  return HashLed(id);
}

std::string ShipmentKey(std::string_view logisticsNo) {
  std::string id;
  BinaryWriter w(&id);
  w.U8('E');
  w.Raw(logisticsNo);
  return HashLed(id);
}

std::optional<std::string_view> LogisticsNoOfShipmentKey(std::string_view key) {
  if (key.size() < 9 || key[8] != 'E') return std::nullopt;
  return key.substr(9);
}

std::optional<std::string_view> LogisticsNoOfKey(std::string_view key) {
  if (std::optional<std::string_view> no = LogisticsNoOfShipmentKey(key)) {
    return no;
  }
  if (key.size() < 9 || key[8] != 'I') return std::nullopt;
  BinaryReader r(key.substr(9));
  r.Bytes();  // the logisticsCode
  const std::string_view no = r.Rest();
  if (!r.ok()) return std::nullopt;
  return no;
}

std::optional<std::string_view> BuyerOfTotalKey(std::string_view key) {
  if (key.size() < 4) return std::nullopt;
  return key.substr(0, key.size() - 4);
}

std::string TotalKey(std::string_view buyer, int year) {
  std::string key(buyer);
  BinaryWriter(&key).Fixed32(static_cast<uint32_t>(year));
  return key;
}

std::string WriterSeqKey(int32_t writer, OutputStream s, int32_t partition) {
  std::string key(kWriterSeqPrefix);
  BinaryWriter w(&key);
  w.Fixed32(static_cast<uint32_t>(writer));
  w.U8(static_cast<uint8_t>(s));
  w.Fixed32(static_cast<uint32_t>(partition));
  return key;
}

std::optional<uint32_t> WriterOfSeqKey(std::string_view key) {
  if (key.size() != kWriterSeqPrefix.size() + 9 ||
      !key.starts_with(kWriterSeqPrefix)) {
    return std::nullopt;
  }
  return BinaryReader(key.substr(kWriterSeqPrefix.size(), 4)).Fixed32();
}

std::string TaskPositionKey(int32_t task) {
  std::string key(kTaskPositionPrefix);
  BinaryWriter(&key).Fixed32(static_cast<uint32_t>(task));
  return key;
}

std::optional<uint32_t> TaskOfPositionKey(std::string_view key) {
  if (key.size() != kTaskPositionPrefix.size() + 4 ||
      !key.starts_with(kTaskPositionPrefix)) {
    return std::nullopt;
  }
  return BinaryReader(key.substr(kTaskPositionPrefix.size())).Fixed32();
}

std::string MonthKey(int32_t period) {
  std::string key(kMonthKeyPrefix);
  BinaryWriter(&key).Fixed32(static_cast<uint32_t>(period));
  return key;
}

std::optional<int32_t> PeriodOfMonthKey(std::string_view key) {
  if (!key.starts_with(kMonthKeyPrefix)) return std::nullopt;
  BinaryReader r(key.substr(kMonthKeyPrefix.size()));
  const auto period = static_cast<int32_t>(r.Fixed32());
  if (!r.ok() || !r.done()) return std::nullopt;
  return period;
}

std::string RoundPrefix(int32_t period, int32_t round) {
  std::string key;
  BinaryWriter w(&key);
  w.U8('L');
  w.Fixed32(static_cast<uint32_t>(period));
  w.Fixed32(static_cast<uint32_t>(round));
  return key;
}

std::string OutboxKey(OutputStream s, int64_t seq) {
  std::string key;
  BinaryWriter w(&key);
  w.U8(static_cast<uint8_t>(s));
  w.Fixed64(static_cast<uint64_t>(seq));
  return key;
}

std::optional<int64_t> SequenceOfOutboxKey(std::string_view key) {
  BinaryReader r(key);
  r.U8();
  const auto seq = static_cast<int64_t>(r.Fixed64());
  if (!r.ok() || !r.done()) return std::nullopt;
  return seq;
}

}  // namespace clearlane
