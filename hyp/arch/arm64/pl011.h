// Transmit side of an Arm PL011 UART (PrimeCell UART r1p5 TRM, 3.3).
// The host's Linux drives the same UART; the hyp only ever writes UARTDR,
// so it never disturbs the host's configuration.
#pragma once

#include <stdint.h>

namespace hyp::arm64 {

class Pl011 {
 public:
  constexpr Pl011() = default;
  explicit constexpr Pl011(uint64_t base) : base_(base) {}

  bool present() const { return base_ != 0; }
  void put(char c) const;

 private:
  static constexpr uint64_t kDr = 0x00;
  static constexpr uint64_t kFr = 0x18;
  static constexpr uint32_t kFrTxFull = 1u << 5;

  uint64_t base_ = 0;
};

}  // namespace hyp::arm64
