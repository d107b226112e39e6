#include "sha256.h"

namespace hyp::svm {
namespace {

// The first 32 bits of the fractional parts of the cube roots of the first 64 primes.
constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// The first 32 bits of the fractional parts of the square roots of the first 8 primes.
constexpr uint32_t kInit[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

constexpr uint32_t rotr(uint32_t x, unsigned n) {
  return (x >> n) | (x << (32 - n));
}

// Byte loads: the payload may be built with -mstrict-align and callers' data has any
// alignment; the compiler merges these into one load where that is allowed.
inline uint32_t load_be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

}  // namespace

Sha256::Sha256() {
  reset();
}

void Sha256::reset() {
  for (int i = 0; i < 8; i++)
    state_[i] = kInit[i];
  total_ = 0;
  buf_len_ = 0;
}

// The message schedule is kept as a 16-word ring rather than 64 words: less stack, and
// the same work.
void Sha256::compress_blocks(const uint8_t* blocks, size_t nr_blocks) {
  uint32_t s0 = state_[0], s1 = state_[1], s2 = state_[2], s3 = state_[3];
  uint32_t s4 = state_[4], s5 = state_[5], s6 = state_[6], s7 = state_[7];
  for (; nr_blocks > 0; nr_blocks--, blocks += kBlockSize) {
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
      w[i] = load_be32(blocks + 4 * i);
    uint32_t a = s0, b = s1, c = s2, d = s3, e = s4, f = s5, g = s6, h = s7;
    for (int i = 0; i < 64; i++) {
      uint32_t wi;
      if (i < 16) {
        wi = w[i];
      } else {
        const uint32_t w15 = w[(i - 15) & 15], w2 = w[(i - 2) & 15];
        const uint32_t sig0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3);
        const uint32_t sig1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10);
        wi = w[i & 15] = w[i & 15] + sig0 + w[(i - 7) & 15] + sig1;
      }
      const uint32_t t1 =
          h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kK[i] + wi;
      const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    s0 += a;
    s1 += b;
    s2 += c;
    s3 += d;
    s4 += e;
    s5 += f;
    s6 += g;
    s7 += h;
  }
  state_[0] = s0;
  state_[1] = s1;
  state_[2] = s2;
  state_[3] = s3;
  state_[4] = s4;
  state_[5] = s5;
  state_[6] = s6;
  state_[7] = s7;
}

void Sha256::update(const uint8_t* data, size_t n) {
  total_ += n;
  if (buf_len_ > 0) {
    const size_t take = n < kBlockSize - buf_len_ ? n : kBlockSize - buf_len_;
    for (size_t i = 0; i < take; i++)
      buf_[buf_len_ + i] = data[i];
    buf_len_ += take;
    data += take;
    n -= take;
    if (buf_len_ < kBlockSize)
      return;
    compress_blocks(buf_, 1);
    buf_len_ = 0;
  }
  // Whole blocks straight from the caller's memory: no copy on the bulk path.
  if (n >= kBlockSize) {
    compress_blocks(data, n / kBlockSize);
    data += n - n % kBlockSize;
    n %= kBlockSize;
  }
  for (size_t i = 0; i < n; i++)
    buf_[i] = data[i];
  buf_len_ = n;
}

void Sha256::finish(uint8_t out[kDigestSize]) {
  const uint64_t bits = total_ * 8;
  buf_[buf_len_++] = 0x80;
  if (buf_len_ > kBlockSize - 8) {
    while (buf_len_ < kBlockSize)
      buf_[buf_len_++] = 0;
    compress_blocks(buf_, 1);
    buf_len_ = 0;
  }
  while (buf_len_ < kBlockSize - 8)
    buf_[buf_len_++] = 0;
  for (int i = 0; i < 8; i++)
    buf_[kBlockSize - 1 - i] = uint8_t(bits >> (8 * i));
  compress_blocks(buf_, 1);
  buf_len_ = 0;
  for (int i = 0; i < 8; i++)
    store_be32(out + 4 * i, state_[i]);
}

}  // namespace hyp::svm
