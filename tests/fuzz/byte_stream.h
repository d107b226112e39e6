// The byte streams both fuzzers' input formats are read and written with (tests/fuzz for the
// hypercall entry, tests/svm for the secure VM's services): little-endian fields, and past
// the end of an input every field reads as zero, so any byte string is a valid input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace hyp::fuzz_io {

// Reads a format front to back; past the end every field is zero.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  template <typename T>
  T get() {
    T v{};
    const size_t n = size_ - pos_ < sizeof(T) ? size_ - pos_ : sizeof(T);
    std::memcpy(&v, data_ + pos_, n);
    pos_ += n;
    return v;
  }
  // Up to `n` bytes (fewer at the end of the input).
  const uint8_t* bytes(size_t* n) {
    if (*n > size_ - pos_)
      *n = size_ - pos_;
    const uint8_t* p = data_ + pos_;
    pos_ += *n;
    return p;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Builds inputs in a format (seed writers and tests); Derived adds its format's helpers and
// keeps chaining (`w.put(x).op(y)`).
template <typename Derived>
class BasicWriter {
 public:
  template <typename T>
  Derived& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out_.insert(out_.end(), p, p + sizeof(T));
    return static_cast<Derived&>(*this);
  }
  const std::vector<uint8_t>& bytes() const { return out_; }

 private:
  std::vector<uint8_t> out_;
};

}  // namespace hyp::fuzz_io
