#include "pl011.h"

namespace hyp::arm64 {

namespace {
uint32_t mmio_read32(uint64_t addr) {
  return *reinterpret_cast<volatile uint32_t*>(addr);
}
void mmio_write32(uint64_t addr, uint32_t value) {
  *reinterpret_cast<volatile uint32_t*>(addr) = value;
}
}  // namespace

void Pl011::put(char c) const {
  // Bounded wait: if the FIFO never drains (UART gated by the host), drop the
  // character rather than hang the hyp.
  for (int spins = 0; spins < 1000000; ++spins) {
    if (!(mmio_read32(base_ + kFr) & kFrTxFull)) {
      mmio_write32(base_ + kDr, static_cast<uint8_t>(c));
      return;
    }
  }
}

}  // namespace hyp::arm64
