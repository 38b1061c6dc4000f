#ifndef CLEARLANE_PIPELINE_PARTITIONER_H_
#define CLEARLANE_PIPELINE_PARTITIONER_H_

#include <cstdint>
#include <string_view>

namespace clearlane {

// Kafka's murmur2 hash of a record key, as the Java client's default
// partitioner (and librdkafka's "murmur2" partitioners) compute it.
uint32_t Murmur2(std::string_view key);

// The partition of `key` among `partitions` that the Java client picks:
// the hash with its sign bit cleared, modulo the count. Stage A's tasks
// are these partitions of orderNo, so a task's state is a key range in
// Kafka mode and replay alike.
inline int32_t PartitionOf(std::string_view key, int32_t partitions) {
  return static_cast<int32_t>((Murmur2(key) & 0x7fffffffu) %
                              static_cast<uint32_t>(partitions));
}

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_PARTITIONER_H_
