#include "model/coding.h"

namespace clearlane {

void BinaryWriter::Varint(uint64_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

void BinaryWriter::Varint128(unsigned __int128 v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>(static_cast<uint8_t>(v) | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

void BinaryWriter::Fixed64(uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out_->push_back(static_cast<char>(v >> shift));
  }
}

void BinaryWriter::Fixed32(uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out_->push_back(static_cast<char>(v >> shift));
  }
}

uint8_t BinaryReader::U8() {
  if (pos_ >= in_.size()) {
    ok_ = false;
    return 0;
  }
  return static_cast<uint8_t>(in_[pos_++]);
}

uint64_t BinaryReader::Varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= in_.size()) break;
    const uint8_t b = static_cast<uint8_t>(in_[pos_++]);
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
  ok_ = false;
  return 0;
}

unsigned __int128 BinaryReader::Varint128() {
  unsigned __int128 v = 0;
  for (int shift = 0; shift < 128; shift += 7) {
    if (pos_ >= in_.size()) break;
    const uint8_t b = static_cast<uint8_t>(in_[pos_++]);
    v |= static_cast<unsigned __int128>(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
  ok_ = false;
  return 0;
}

uint64_t BinaryReader::Fixed64() {
  if (in_.size() - pos_ < 8 || pos_ > in_.size()) {
    ok_ = false;
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<uint8_t>(in_[pos_++]);
  }
  return v;
}

uint32_t BinaryReader::Fixed32() {
  if (in_.size() - pos_ < 4 || pos_ > in_.size()) {
    ok_ = false;
    return 0;
  }
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v = (v << 8) | static_cast<uint8_t>(in_[pos_++]);
  }
  return v;
}

std::string_view BinaryReader::Bytes() {
  const uint64_t n = Varint();
  if (!ok_ || n > in_.size() - pos_) {
    ok_ = false;
    return {};
  }
  std::string_view s = in_.substr(pos_, n);
  pos_ += n;
  return s;
}

void BinaryWriter::OrderedBytes(std::string_view s) {
  for (char c : s) {
    out_->push_back(c);
    if (c == '\0') out_->push_back('\xff');
  }
  out_->push_back('\0');
  out_->push_back('\1');
}

std::string BinaryReader::OrderedBytes() {
  std::string out;
  while (pos_ + 1 < in_.size() || (pos_ < in_.size() && in_[pos_] != '\0')) {
    const char c = in_[pos_++];
    if (c != '\0') {
      out.push_back(c);
      continue;
    }
    const char next = in_[pos_++];
    if (next == '\1') return out;
    if (next != '\xff') break;
    out.push_back('\0');
  }
  ok_ = false;
  return std::string();
}

}  // namespace clearlane
