// Layout of the bitsliced state (a choice of this file): q[i] holds bit i of each of the 64
// bytes of four blocks; the byte of block `blk` at row r, column c of the AES state (input
// byte 4c + r) is bit 16r + 4c + blk. With rows in 16-bit lanes, ShiftRows is a rotation
// inside each lane and MixColumns reaches the next row by rotating the word by 16.
#include "aes.h"

namespace hyp::svm {
namespace {

using Planes = uint64_t[8];

constexpr uint64_t rotr64(uint64_t x, unsigned n) {
  return (x >> n) | (x << (64 - n));
}

// Transposes the 8x8 bit matrix whose row m is byte m of x (bit 8m + i -> bit 8i + m).
constexpr uint64_t transpose8x8(uint64_t x) {
  uint64_t t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAULL;
  x ^= t ^ (t << 7);
  t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCULL;
  x ^= t ^ (t << 14);
  t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ULL;
  x ^= t ^ (t << 28);
  return x;
}

// Input byte of the group of 8 state positions g (bits 8g..8g+7), entry m.
constexpr size_t byte_index(unsigned g, unsigned m) {
  const unsigned j = 8 * g + m;
  const unsigned r = j / 16, c = (j / 4) % 4, blk = j % 4;
  return blk * Aes128::kBlockSize + 4 * c + r;
}

void pack(const uint8_t in[64], Planes q) {
  for (int i = 0; i < 8; i++)
    q[i] = 0;
  for (unsigned g = 0; g < 8; g++) {
    uint64_t w = 0;
    for (unsigned m = 0; m < 8; m++)
      w |= uint64_t(in[byte_index(g, m)]) << (8 * m);
    w = transpose8x8(w);
    for (unsigned i = 0; i < 8; i++)
      q[i] |= ((w >> (8 * i)) & 0xff) << (8 * g);
  }
}

void unpack(const Planes q, uint8_t out[64]) {
  for (unsigned g = 0; g < 8; g++) {
    uint64_t w = 0;
    for (unsigned i = 0; i < 8; i++)
      w |= ((q[i] >> (8 * g)) & 0xff) << (8 * i);
    w = transpose8x8(w);
    for (unsigned m = 0; m < 8; m++)
      out[byte_index(g, m)] = uint8_t(w >> (8 * m));
  }
}

// Reduces a product of degree <= 14 modulo x^8 + x^4 + x^3 + x + 1, highest term first so
// that the terms it folds down are folded in turn.
void reduce(uint64_t p[15], Planes out) {
  for (int k = 14; k >= 8; k--) {
    p[k - 4] ^= p[k];
    p[k - 5] ^= p[k];
    p[k - 7] ^= p[k];
    p[k - 8] ^= p[k];
  }
  for (int i = 0; i < 8; i++)
    out[i] = p[i];
}

void gf_mul(const Planes a, const Planes b, Planes out) {
  uint64_t p[15] = {};
  for (int i = 0; i < 8; i++) {
    for (int j = 0; j < 8; j++)
      p[i + j] ^= a[i] & b[j];
  }
  reduce(p, out);
}

// Squaring is linear in GF(2^8): bit i moves to 2i, then the reduction.
void gf_sq(const Planes a, Planes out) {
  uint64_t p[15] = {};
  for (int i = 0; i < 8; i++)
    p[2 * i] = a[i];
  reduce(p, out);
}

// x^254: the inverse of x in GF(2^8), and 0 for 0 as the S-box wants.
void gf_inv(const Planes x, Planes out) {
  Planes x2, x3, t, u;
  gf_sq(x, x2);
  gf_mul(x2, x, x3);  // x^3
  gf_sq(x3, t);       // x^6
  gf_sq(t, u);        // x^12
  gf_mul(u, x3, t);   // x^15
  gf_sq(t, u);        // x^30
  gf_sq(u, t);        // x^60
  gf_mul(t, x3, u);   // x^63
  gf_sq(u, t);        // x^126
  gf_mul(t, x, u);    // x^127
  gf_sq(u, out);      // x^254
}

void sub_bytes(Planes q) {
  Planes b;
  gf_inv(q, b);
  // s_i = b_i ^ b_(i+4) ^ b_(i+5) ^ b_(i+6) ^ b_(i+7) ^ bit i of 0x63.
  for (int i = 0; i < 8; i++)
    q[i] = b[i] ^ b[(i + 4) % 8] ^ b[(i + 5) % 8] ^ b[(i + 6) % 8] ^ b[(i + 7) % 8];
  q[0] = ~q[0];
  q[1] = ~q[1];
  q[5] = ~q[5];
  q[6] = ~q[6];
}

// Row r (the 16-bit lane at 16r) rotates its columns (4-bit nibbles) left by r.
void shift_rows(Planes q) {
  for (int i = 0; i < 8; i++) {
    const uint64_t x = q[i];
    q[i] = (x & 0x000000000000FFFFULL) | ((x >> 4) & 0x000000000FFF0000ULL) |
           ((x << 12) & 0x00000000F0000000ULL) | ((x >> 8) & 0x000000FF00000000ULL) |
           ((x << 8) & 0x0000FF0000000000ULL) | ((x >> 12) & 0x000F000000000000ULL) |
           ((x << 4) & 0xFFF0000000000000ULL);
  }
}

// new[r] = 2 a[r] ^ 3 a[r+1] ^ a[r+2] ^ a[r+3] = xtime(a[r] ^ a[r+1]) ^ a[r+1] ^ a[r+2] ^ a[r+3];
// rotating a word right by 16 puts row r+1 where row r is.
void mix_columns(Planes q) {
  Planes t, rest;
  for (int i = 0; i < 8; i++) {
    const uint64_t a1 = rotr64(q[i], 16), a2 = rotr64(q[i], 32), a3 = rotr64(q[i], 48);
    t[i] = q[i] ^ a1;
    rest[i] = a1 ^ a2 ^ a3;
  }
  // xtime: multiply by x, folding bit 7 back as 0x1b (bits 0, 1, 3, 4).
  q[0] = t[7] ^ rest[0];
  q[1] = t[0] ^ t[7] ^ rest[1];
  q[2] = t[1] ^ rest[2];
  q[3] = t[2] ^ t[7] ^ rest[3];
  q[4] = t[3] ^ t[7] ^ rest[4];
  q[5] = t[4] ^ rest[5];
  q[6] = t[5] ^ rest[6];
  q[7] = t[6] ^ rest[7];
}

void add_round_key(Planes q, const uint64_t rk[8]) {
  for (int i = 0; i < 8; i++)
    q[i] ^= rk[i];
}

}  // namespace

void secure_zero(void* p, size_t n) {
  auto* b = static_cast<volatile uint8_t*>(p);
  for (size_t i = 0; i < n; i++)
    b[i] = 0;
}

uint8_t aes_sbox(uint8_t x) {
  Planes q;
  for (int i = 0; i < 8; i++)
    q[i] = (x >> i) & 1;
  sub_bytes(q);
  uint8_t s = 0;
  for (int i = 0; i < 8; i++)
    s |= uint8_t((q[i] & 1) << i);
  return s;
}

Aes128::Aes128(const uint8_t key[kKeySize]) {
  // FIPS 197 key expansion, in bytes: w[i] = w[i-4] ^ f(w[i-1]).
  uint8_t w[11 * kBlockSize];
  for (size_t i = 0; i < kKeySize; i++)
    w[i] = key[i];
  uint8_t rcon = 1;
  for (size_t i = 4; i < 44; i++) {
    uint8_t t[4] = {w[4 * i - 4], w[4 * i - 3], w[4 * i - 2], w[4 * i - 1]};
    if (i % 4 == 0) {
      const uint8_t t0 = t[0];
      t[0] = uint8_t(aes_sbox(t[1]) ^ rcon);
      t[1] = aes_sbox(t[2]);
      t[2] = aes_sbox(t[3]);
      t[3] = aes_sbox(t0);
      rcon = uint8_t((rcon << 1) ^ ((rcon >> 7) * 0x1b));
    }
    for (size_t k = 0; k < 4; k++)
      w[4 * i + k] = uint8_t(w[4 * i - 16 + k] ^ t[k]);
  }
  uint8_t rep[kParallel * kBlockSize];
  for (size_t r = 0; r < 11; r++) {
    for (size_t b = 0; b < kParallel; b++) {
      for (size_t k = 0; k < kBlockSize; k++)
        rep[b * kBlockSize + k] = w[r * kBlockSize + k];
    }
    pack(rep, rk_[r]);
  }
  secure_zero(w, sizeof(w));
  secure_zero(rep, sizeof(rep));
}

Aes128::~Aes128() {
  secure_zero(rk_, sizeof(rk_));
}

void Aes128::encrypt4(const uint8_t in[kParallel * kBlockSize],
                      uint8_t out[kParallel * kBlockSize]) const {
  Planes q;
  pack(in, q);
  add_round_key(q, rk_[0]);
  for (int r = 1; r < 10; r++) {
    sub_bytes(q);
    shift_rows(q);
    mix_columns(q);
    add_round_key(q, rk_[r]);
  }
  sub_bytes(q);
  shift_rows(q);
  add_round_key(q, rk_[10]);
  unpack(q, out);
  secure_zero(q, sizeof(q));
}

void Aes128::encrypt_block(const uint8_t in[kBlockSize], uint8_t out[kBlockSize]) const {
  uint8_t buf[kParallel * kBlockSize] = {};
  for (size_t i = 0; i < kBlockSize; i++)
    buf[i] = in[i];
  encrypt4(buf, buf);
  for (size_t i = 0; i < kBlockSize; i++)
    out[i] = buf[i];
  secure_zero(buf, sizeof(buf));
}

AesCtr::AesCtr(const Aes128& aes, const uint8_t iv[kIvSize], uint64_t first_block)
    : aes_(aes), next_block_(first_block) {
  for (size_t i = 0; i < kIvSize; i++)
    iv_[i] = iv[i];
}

AesCtr::~AesCtr() {
  secure_zero(stream_, sizeof(stream_));
}

void AesCtr::refill() {
  for (size_t b = 0; b < Aes128::kParallel; b++) {
    uint8_t* block = stream_ + b * Aes128::kBlockSize;
    for (size_t i = 0; i < kIvSize; i++)
      block[i] = iv_[i];
    const uint64_t n = next_block_ + b;
    for (size_t i = 0; i < 8; i++)
      block[kIvSize + i] = uint8_t(n >> (56 - 8 * i));
  }
  next_block_ += Aes128::kParallel;
  aes_.encrypt4(stream_, stream_);
  pos_ = 0;
}

void AesCtr::apply(const uint8_t* in, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (pos_ == sizeof(stream_))
      refill();
    out[i] = uint8_t(in[i] ^ stream_[pos_++]);
  }
}

}  // namespace hyp::svm
