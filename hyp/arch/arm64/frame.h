// Register frames vectors.S saves. Both are 256 bytes, a multiple of 16 so SP
// stays aligned (SCTLR_EL2.SA).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "stack.h"

namespace hyp::arm64 {

// The host's general-purpose registers, saved on the EL2 stack on every
// exception from a lower EL; written back on return.
struct GuestRegs {
  uint64_t x[31];
  uint64_t reserved;  // keeps the frame a multiple of 16 bytes
};
static_assert(sizeof(GuestRegs) == 256);

// What vectors.S saves, on the CPU's emergency stack, for an exception taken from EL2
// itself: the hyp's registers and the SP it was running on (stack.h).
struct FatalFrame {
  uint64_t x[31];
  uint64_t sp;
};
static_assert(sizeof(FatalFrame) == 256);
static_assert(offsetof(FatalFrame, sp) == FATAL_FRAME_SP);

}  // namespace hyp::arm64
