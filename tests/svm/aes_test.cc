// AES-128 and CENC CTR (hyp/svm/aes.cc): the computed S-box against its definition, the
// FIPS-197 and SP 800-38A vectors, and OpenSSL as the oracle over random lengths and splits.
#include "svm/aes.h"

#include <hypheap/abi.h>

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "test_util.h"

namespace hyp::svm::testing {
namespace {

// The S-box from its definition, the slow way: brute-force inverse, then the affine map.
uint8_t gf_mul_ref(uint8_t a, uint8_t b) {
  uint8_t p = 0;
  for (int i = 0; i < 8; i++) {
    if (b & 1)
      p ^= a;
    b >>= 1;
    a = uint8_t((a << 1) ^ ((a & 0x80) ? 0x1b : 0));
  }
  return p;
}

uint8_t sbox_ref(uint8_t x) {
  uint8_t inv = 0;
  for (int y = 1; y < 256 && x != 0; y++) {
    if (gf_mul_ref(x, uint8_t(y)) == 1)
      inv = uint8_t(y);
  }
  uint8_t s = 0x63;
  for (int r = 0; r < 5; r++)
    s ^= uint8_t((inv << r) | (inv >> (8 - r)));
  return s;
}

TEST(AesTest, ComputedSboxIsTheAesSbox) {
  EXPECT_EQ(aes_sbox(0x00), 0x63);
  EXPECT_EQ(aes_sbox(0x53), 0xed);  // FIPS 197, 5.1.1
  for (int x = 0; x < 256; x++)
    EXPECT_EQ(aes_sbox(uint8_t(x)), sbox_ref(uint8_t(x))) << x;
}

TEST(AesTest, Fips197AppendixC1) {
  const auto key = from_hex("000102030405060708090a0b0c0d0e0f");
  const auto pt = from_hex("00112233445566778899aabbccddeeff");
  const Aes128 aes(key.data());
  uint8_t ct[16];
  aes.encrypt_block(pt.data(), ct);
  EXPECT_EQ(to_hex(ct, 16), "69c4e0d86a7b0430d8cdb78070b4c55a");
}

TEST(AesTest, Fips197AppendixBInPlace) {
  const auto key = from_hex("2b7e151628aed2a6abf7158809cf4f3c");
  auto block = from_hex("3243f6a8885a308d313198a2e0370734");
  const Aes128 aes(key.data());
  aes.encrypt_block(block.data(), block.data());
  EXPECT_EQ(to_hex(block.data(), 16), "3925841d02dc09fbdc118597196a0b32");
}

// The four blocks of a batch are independent: each equals its single-block encryption.
TEST(AesTest, FourBlockBatchEqualsSingleBlocks) {
  std::mt19937_64 rng(2);
  uint8_t key[16], in[64], out[64];
  for (auto& b : key)
    b = uint8_t(rng());
  for (auto& b : in)
    b = uint8_t(rng());
  const Aes128 aes(key);
  aes.encrypt4(in, out);
  for (int blk = 0; blk < 4; blk++) {
    uint8_t one[16];
    aes.encrypt_block(in + 16 * blk, one);
    EXPECT_EQ(to_hex(one, 16), to_hex(out + 16 * blk, 16)) << blk;
  }
}

// SP 800-38A F.5.1 CTR-AES128.Encrypt. Its initial counter f0..ff is iv f0..f7 with block
// number f8f9fafbfcfdfeff; the number does not wrap within the four blocks, so the CENC
// counter (iv || 64-bit block number) gives the same stream.
TEST(AesTest, Sp80038aF51) {
  const auto key = from_hex("2b7e151628aed2a6abf7158809cf4f3c");
  const auto iv = from_hex("f0f1f2f3f4f5f6f7");
  const auto pt = from_hex(
      "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
      "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
  const Aes128 aes(key.data());
  AesCtr ctr(aes, iv.data(), 0xf8f9fafbfcfdfeffULL);
  std::vector<uint8_t> ct(pt.size());
  ctr.apply(pt.data(), ct.data(), pt.size());
  EXPECT_EQ(to_hex(ct.data(), ct.size()),
            "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
            "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee");
}

TEST(AesTest, CtrMatchesOpenSslOverRandomLengthsAndSplits) {
  std::mt19937_64 rng(3);
  for (int iter = 0; iter < 300; iter++) {
    uint8_t key[16], iv[8];
    for (auto& b : key)
      b = uint8_t(rng());
    for (auto& b : iv)
      b = uint8_t(rng());
    const size_t len = iter < 100 ? size_t(iter) : rng() % 10000;
    std::vector<uint8_t> in(len), out(len);
    for (auto& b : in)
      b = uint8_t(rng());
    const Aes128 aes(key);
    AesCtr ctr(aes, iv);
    for (size_t pos = 0; pos < len;) {
      const size_t piece = std::min<size_t>(len - pos, rng() % 100);
      ctr.apply(in.data() + pos, out.data() + pos, piece);
      pos += piece;
    }
    const auto expect = openssl_ctr(key, iv, in.data(), len);
    ASSERT_EQ(to_hex(out.data(), len), to_hex(expect.data(), expect.size())) << iter;
  }
}

// Decryption is the same operation: applying the stream twice gives the input back, in place.
TEST(AesTest, CtrInPlaceRoundTrip) {
  const uint8_t key[16] = HYPHEAP_SVM_TEST_KEY;
  const uint8_t iv[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<uint8_t> buf(1000), orig;
  for (size_t i = 0; i < buf.size(); i++)
    buf[i] = uint8_t(i * 7);
  orig = buf;
  const Aes128 aes(key);
  AesCtr(aes, iv).apply(buf.data(), buf.data(), buf.size());
  EXPECT_NE(buf, orig);
  AesCtr(aes, iv).apply(buf.data(), buf.data(), buf.size());
  EXPECT_EQ(buf, orig);
}

}  // namespace
}  // namespace hyp::svm::testing
