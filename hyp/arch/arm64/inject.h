// Making the host take an exception at EL1 as if its own MMU had raised it.
#pragma once

#include <stdint.h>

namespace hyp::arm64 {

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
