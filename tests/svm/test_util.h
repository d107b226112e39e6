// Helpers shared by the tests of hyp/svm: hex, and OpenSSL's EVP as the oracle.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hyp::svm::testing {

inline std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(uint8_t(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

inline std::string to_hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

inline std::vector<uint8_t> openssl_sha256(const uint8_t* p, size_t n) {
  std::vector<uint8_t> out(32);
  unsigned len = 0;
  EVP_Digest(p, n, out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

// AES-128-CTR with a 128-bit big-endian counter starting at iv || 0: the CENC 'cenc' layout
// as long as the block number stays below 2^64.
inline std::vector<uint8_t> openssl_ctr(const uint8_t key[16], const uint8_t iv8[8],
                                        const uint8_t* in, size_t n) {
  uint8_t iv[16] = {};
  for (int i = 0; i < 8; i++)
    iv[i] = iv8[i];
  std::vector<uint8_t> out(n + 16);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0, total = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, key, iv);
  EVP_EncryptUpdate(ctx, out.data(), &len, in, int(n));
  total = len;
  EVP_EncryptFinal_ex(ctx, out.data() + total, &len);
  total += len;
  EVP_CIPHER_CTX_free(ctx);
  out.resize(size_t(total));
  return out;
}

}  // namespace hyp::svm::testing
