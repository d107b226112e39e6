// SHA-256 (FIPS 180-4) for the secure VM's HASH service. Written here because no maintained
// library runs freestanding at EL1. Its control flow and memory accesses depend only on the
// length of the message, never on its contents, so hashing secret data leaks nothing but the
// length (which the host chose anyway).
#pragma once

#include <cstddef>
#include <cstdint>

namespace hyp::svm {

class Sha256 {
 public:
  static constexpr size_t kDigestSize = 32;
  static constexpr size_t kBlockSize = 64;

  Sha256();
  // Nothing computed yet, so a static pool of them is constant-initialised: reset() first.
  struct Unset {};
  constexpr explicit Sha256(Unset) : state_{}, buf_{} {}
  // Appends `n` bytes; any split of a message gives the same digest.
  void update(const uint8_t* data, size_t n);
  // Pads, writes the digest and leaves the object unusable until reset().
  void finish(uint8_t out[kDigestSize]);
  void reset();

 private:
  void compress_blocks(const uint8_t* blocks, size_t nr_blocks);

  uint32_t state_[8];
  uint64_t total_ = 0;  // bytes so far
  uint8_t buf_[kBlockSize];
  size_t buf_len_ = 0;
};

}  // namespace hyp::svm
