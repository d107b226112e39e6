// SHA-256 (hyp/svm/sha256.cc): FIPS 180 vectors, and OpenSSL as the oracle over random
// lengths and random splits of the message.
#include "svm/sha256.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "test_util.h"

namespace hyp::svm::testing {
namespace {

std::string digest_hex(const std::string& msg) {
  Sha256 sha;
  sha.update(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
  uint8_t d[32];
  sha.finish(d);
  return to_hex(d, 32);
}

TEST(Sha256Test, Fips180OneBlockMessage) {
  EXPECT_EQ(digest_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, Fips180TwoBlockMessage) {
  EXPECT_EQ(digest_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, Fips180OneMillionA) {
  EXPECT_EQ(digest_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, EmptyMessage) {
  EXPECT_EQ(digest_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// Lengths around the padding boundaries (55, 56, 63, 64 bytes mod 64) and random ones, each
// fed in random pieces, against OpenSSL.
TEST(Sha256Test, MatchesOpenSslOverRandomLengthsAndSplits) {
  std::mt19937_64 rng(1);
  std::vector<size_t> lengths;
  for (size_t n = 0; n < 200; n++)
    lengths.push_back(n);
  for (int i = 0; i < 100; i++)
    lengths.push_back(rng() % 20000);
  for (size_t len : lengths) {
    std::vector<uint8_t> msg(len);
    for (auto& b : msg)
      b = uint8_t(rng());
    Sha256 sha;
    for (size_t pos = 0; pos < len;) {
      const size_t piece = std::min<size_t>(len - pos, rng() % 150);
      sha.update(msg.data() + pos, piece);
      pos += piece;
    }
    uint8_t d[32];
    sha.finish(d);
    EXPECT_EQ(to_hex(d, 32), to_hex(openssl_sha256(msg.data(), len).data(), 32)) << len;
  }
}

TEST(Sha256Test, ResetStartsANewMessage) {
  Sha256 sha;
  sha.update(reinterpret_cast<const uint8_t*>("xyz"), 3);
  sha.reset();
  sha.update(reinterpret_cast<const uint8_t*>("abc"), 3);
  uint8_t d[32];
  sha.finish(d);
  EXPECT_EQ(to_hex(d, 32), digest_hex("abc"));
}

}  // namespace
}  // namespace hyp::svm::testing
