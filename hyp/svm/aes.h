// AES-128 encryption (FIPS 197) and the CTR mode of the CENC 'cenc' scheme, for the secure
// VM's DECRYPT service (CTR decrypts with the forward cipher, so there is no inverse cipher).
//
// Constant time by construction: the host shares caches with the secure VM, so a table
// indexed by key- or plaintext-dependent bytes (the usual T-table or S-box AES) would leak
// the key through cache timing. This implementation is bitsliced: four blocks are spread
// over eight 64-bit words, one word per bit of every byte, and the S-box is computed, not
// looked up: the GF(2^8) inverse as x^254 (a fixed chain of bitsliced multiplications and
// squarings), then the affine map. Every operation is an AND, XOR, shift or rotate on whole
// words; no branch and no address depends on the key or the data.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hyp::svm {

class Aes128 {
 public:
  static constexpr size_t kKeySize = 16;
  static constexpr size_t kBlockSize = 16;
  static constexpr size_t kParallel = 4;  // blocks per bitsliced batch

  explicit Aes128(const uint8_t key[kKeySize]);
  ~Aes128();  // wipes the round keys
  Aes128(const Aes128&) = delete;
  Aes128& operator=(const Aes128&) = delete;

  // Encrypts kParallel consecutive blocks (in == out allowed).
  void encrypt4(const uint8_t in[kParallel * kBlockSize],
                uint8_t out[kParallel * kBlockSize]) const;
  void encrypt_block(const uint8_t in[kBlockSize], uint8_t out[kBlockSize]) const;

 private:
  uint64_t rk_[11][8];  // bitsliced round keys, each replicated over the four blocks
};

// The AES S-box, computed in constant time (the key schedule uses it; tests check it
// against the S-box's definition).
uint8_t aes_sbox(uint8_t x);

// AES-128-CTR with CENC's 'cenc' counter block: iv[0..7] || big-endian 64-bit block number,
// starting at 0. One stream spans any number of apply() calls: the keystream continues
// where the previous call stopped, so a message split anywhere gives the same result.
class AesCtr {
 public:
  static constexpr size_t kIvSize = 8;

  // `first_block` is where the block number starts (0 for CENC; the test vectors of
  // SP 800-38A start elsewhere).
  AesCtr(const Aes128& aes, const uint8_t iv[kIvSize], uint64_t first_block = 0);
  ~AesCtr();  // wipes the buffered keystream
  AesCtr(const AesCtr&) = delete;
  AesCtr& operator=(const AesCtr&) = delete;

  // out[i] = in[i] ^ keystream (in == out allowed, other overlaps not).
  void apply(const uint8_t* in, uint8_t* out, size_t n);

 private:
  void refill();

  const Aes128& aes_;
  uint8_t iv_[kIvSize];
  uint64_t next_block_ = 0;
  uint8_t stream_[Aes128::kParallel * Aes128::kBlockSize];
  size_t pos_ = sizeof(stream_);  // bytes of stream_ already used
};

// Zeroes memory in a way the compiler may not elide (secrets on the stack).
void secure_zero(void* p, size_t n);

}  // namespace hyp::svm
