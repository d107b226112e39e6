// The host's general-purpose registers as vectors.S saves them on the EL2
// stack on every exception from a lower EL; written back on return.
#pragma once

#include <stdint.h>

namespace hyp::arm64 {

struct GuestRegs {
  uint64_t x[31];
  uint64_t reserved;  // keeps the frame a multiple of 16 bytes
};
static_assert(sizeof(GuestRegs) == 256);

}  // namespace hyp::arm64
