#include "pipeline/partitioner.h"

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

}  // namespace clearlane
