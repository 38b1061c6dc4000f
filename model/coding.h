// The compact binary encoding of state values: varints, fixed-width
// big-endian integers (so keys sort numerically), and length-prefixed bytes.
// Every stored value starts with a version byte so the format can evolve.
//
// Thread-safety: BinaryWriter and Decoder are not thread-safe; use one per
// thread.

#ifndef CLEARLANE_MODEL_CODING_H_
#define CLEARLANE_MODEL_CODING_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "model/decimal.h"

namespace clearlane {

class BinaryWriter {
 public:
  explicit BinaryWriter(std::string* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void Varint(uint64_t v);
  // Zigzag, for values that may be negative.
  void SignedVarint(int64_t v) {
    Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  // Zigzag over 128 bits (decimal amounts): the same bytes as SignedVarint
  // for every value that fits 64 bits, so either reads the other's small
  // values.
  void SignedVarint128(__int128 v) {
    Varint128((static_cast<unsigned __int128>(v) << 1) ^
              static_cast<unsigned __int128>(v >> 127));
  }
  void Varint128(unsigned __int128 v);
  // Big-endian, so encoded keys sort as the numbers do.
  void Fixed64(uint64_t v);
  void Fixed32(uint32_t v);
  void Bytes(std::string_view s) {
    Varint(s.size());
    out_->append(s);
  }
  // Raw bytes without a length, for the last part of a key.
  void Raw(std::string_view s) { out_->append(s); }
  // Bytes in a form whose byte order is the order of the strings, for the
  // parts of a key that must sort as text: 0 is written as 0 0xff, and the
  // string ends with 0 1.
  void OrderedBytes(std::string_view s);

 private:
  std::string* out_;
};

// Reads what BinaryWriter wrote. Reads past the end or malformed varints set
// ok() to false and return zeros; callers check ok() once at the end.
class BinaryReader {
 public:
  explicit BinaryReader(std::string_view in) : in_(in) {}
  uint8_t U8();
  uint64_t Varint();
  int64_t SignedVarint() {
    const uint64_t v = Varint();
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  unsigned __int128 Varint128();
  __int128 SignedVarint128() {
    const unsigned __int128 v = Varint128();
    return static_cast<__int128>((v >> 1) ^ (~(v & 1) + 1));
  }
  uint64_t Fixed64();
  uint32_t Fixed32();
  std::string_view Bytes();
  std::string OrderedBytes();
  std::string_view Rest() {
    std::string_view r = in_.substr(pos_);
    pos_ = in_.size();
    return r;
  }
  bool ok() const { return ok_; }
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// A decimal as its units (10^-5), zigzag varint: any width reads back.
inline void PutDecimal(BinaryWriter& w, Decimal d) {
  w.SignedVarint128(d.units());
}
inline Decimal GetDecimal(BinaryReader& r) {
  return Decimal::FromUnits(r.SignedVarint128());
}

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_CODING_H_
