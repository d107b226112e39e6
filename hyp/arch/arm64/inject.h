// Making the host take an exception at EL1 as if its own MMU had raised it.
#pragma once

#include <stdint.h>

#include "sysreg.h"

namespace hyp::arm64 {

// Offsets in the EL1 vector table (Arm ARM D1.10.2, table "Vector offsets").
namespace el1_vector {
inline constexpr uint64_t kCurrentElSp0 = 0x000;
inline constexpr uint64_t kCurrentElSpx = 0x200;
inline constexpr uint64_t kLowerElAArch64 = 0x400;
inline constexpr uint64_t kLowerElAArch32 = 0x600;
}  // namespace el1_vector

// True if the interrupted host context (SPSR_EL2) was EL0. HCR_EL2.RW makes EL1 AArch64,
// so an AArch32 context (M[4] set) can only be EL0.
constexpr bool spsr_is_el0(uint64_t spsr) {
  return (spsr & spsr::kModeAArch32) != 0 || (spsr & spsr::kModeMask) == spsr::kModeEl0t;
}

// The EL1 vector an exception injected into the host context `spsr` enters: from EL0 the
// lower-EL vector of EL0's execution state, from EL1 the current-EL vector of its SP.
constexpr uint64_t el1_vector_offset(uint64_t spsr) {
  if ((spsr & spsr::kModeAArch32) != 0)
    return el1_vector::kLowerElAArch32;
  switch (spsr & spsr::kModeMask) {
    case spsr::kModeEl0t:
      return el1_vector::kLowerElAArch64;
    case spsr::kModeEl1t:
      return el1_vector::kCurrentElSp0;
    default:
      return el1_vector::kCurrentElSpx;
  }
}

enum class AbortKind { kData, kInstruction };

// Injects a synchronous abort for `far` into the host, returning to its EL1
// vector instead of the faulting instruction. The fault status depends on
// where the access came from, because Linux 6.1 handles them differently
// (arch/arm64/mm/fault.c):
//   - from EL1: a level-3 permission fault, so *_nofault accessors are fixed
//     up to -EFAULT and other kernel accesses oops cleanly;
//   - from EL0: a synchronous external abort, so the task gets SIGBUS (a
//     translation or permission fault on a present PTE would be retried
//     forever).
void inject_abort(AbortKind kind, uint64_t far, bool write);

// Injects an Undefined Instruction exception (EC 0) at the host's EL1.
void inject_undefined();

}  // namespace hyp::arm64
