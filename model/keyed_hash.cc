#include "model/keyed_hash.h"

#include <openssl/evp.h>

#include <cstring>

namespace clearlane {

KeyedHash::KeyedHash(std::string_view secret) {
  md_ = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  inner_ = EVP_MD_CTX_new();
  outer_ = EVP_MD_CTX_new();
  work_ = EVP_MD_CTX_new();
  // A key longer than the block is hashed first (RFC 2104 section 2).
  constexpr size_t kBlock = 64;
  unsigned char key[kBlock] = {};
  if (secret.size() > kBlock) {
    unsigned int len = 0;
    EVP_Digest(secret.data(), secret.size(), key, &len, md_, nullptr);
  } else {
    std::memcpy(key, secret.data(), secret.size());
  }
  unsigned char ipad[kBlock], opad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) {
    ipad[i] = key[i] ^ 0x36;
    opad[i] = key[i] ^ 0x5c;
  }
  EVP_DigestInit_ex(inner_, md_, nullptr);
  EVP_DigestUpdate(inner_, ipad, kBlock);
  EVP_DigestInit_ex(outer_, md_, nullptr);
  EVP_DigestUpdate(outer_, opad, kBlock);
}

KeyedHash::~KeyedHash() {
  EVP_MD_CTX_free(work_);
  EVP_MD_CTX_free(outer_);
  EVP_MD_CTX_free(inner_);
  EVP_MD_free(md_);
}

std::string KeyedHash::operator()(std::string_view data) {
  unsigned char inner[EVP_MAX_MD_SIZE];
  unsigned int inner_len = 0;
  EVP_MD_CTX_copy_ex(work_, inner_);
  EVP_DigestUpdate(work_, data.data(), data.size());
  EVP_DigestFinal_ex(work_, inner, &inner_len);
  std::string out(32, '\0');
  unsigned int len = 0;
  EVP_MD_CTX_copy_ex(work_, outer_);
  EVP_DigestUpdate(work_, inner, inner_len);
  EVP_DigestFinal_ex(work_, reinterpret_cast<unsigned char*>(out.data()), &len);
  return out;
}

}  // namespace clearlane
