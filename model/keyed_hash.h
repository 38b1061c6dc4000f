// The keyed hash that state keeps of personal fields (contract §7) and
// that keys a buyer: HMAC-SHA256 under the run's secret. The decoder
// threads hash a record's personal fields with it (its state form,
// document_codec.h); the engine hashes the identity registry with it.

#ifndef CLEARLANE_MODEL_KEYED_HASH_H_
#define CLEARLANE_MODEL_KEYED_HASH_H_

#include <openssl/types.h>

#include <string>
#include <string_view>

namespace clearlane {

// HMAC-SHA256 under one secret (RFC 2104). The key's inner and outer pads
// are hashed once, here; each message then costs two copies of those
// digest states and two short hashes. (OpenSSL's EVP_MAC re-derives the
// pads on every message: two and a half times as slow.)
//
// Thread-safety: not thread-safe; one per thread.
class KeyedHash {
 public:
  explicit KeyedHash(std::string_view secret);
  ~KeyedHash();
  KeyedHash(const KeyedHash&) = delete;
  KeyedHash& operator=(const KeyedHash&) = delete;
  // The 32 raw bytes of the HMAC of `data`.
  std::string operator()(std::string_view data);

 private:
  EVP_MD* md_ = nullptr;
  EVP_MD_CTX* inner_ = nullptr;  // SHA-256 after the key XOR ipad
  EVP_MD_CTX* outer_ = nullptr;  // SHA-256 after the key XOR opad
  EVP_MD_CTX* work_ = nullptr;
};

}  // namespace clearlane

#endif  // CLEARLANE_MODEL_KEYED_HASH_H_
