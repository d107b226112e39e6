// The arch interface: everything the core needs from the CPU, as free functions. One
// implementation is linked per build: hyp/arch/arm64/mm at EL2, hyp/arch/fake on the host.
// No virtual dispatch, so the EL2 build stays small and inlinable at link time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "types.h"

namespace hyp::arch {

// Hardware identity of one stage-2: what VTTBR_EL2 holds while it is live.
struct Stage2Hw {
  PhysAddr root;
  uint16_t vmid = 0;
};

// Hyp's view of physical memory. At EL2 the hyp stage-1 is an identity map of RAM.
void* phys_to_virt(PhysAddr pa);
PhysAddr virt_to_phys(const void* va);

// Copies host-provided bytes into hyp memory. The single place where the core reads memory
// another VM can write concurrently: everything after it parses the private copy.
void copy_from_phys(void* dst, PhysAddr src, size_t len);

// Stores one stage-2 descriptor so the table walker observes it as a single-copy-atomic
// write (never torn), then orders it before any later TLB maintenance.
void write_pte(uint64_t* ptep, uint64_t value);

// Invalidate TLB and walk-cache entries of `hw` for one entry mapped at `ipa`.
void tlb_invalidate_ipa(const Stage2Hw& hw, Ipa ipa);
// Invalidate everything cached for `hw` (used when a table entry is removed).
void tlb_invalidate_vm(const Stage2Hw& hw);

// Data-cache maintenance by hyp VA, to the point of coherency.
void dcache_clean_poc(void* va, size_t size);
void dcache_clean_inval_poc(void* va, size_t size);

struct SpinLock {
  uint32_t word = 0;
};
void spin_lock(SpinLock& lock);
void spin_unlock(SpinLock& lock);

// A broken core invariant: there is no safe way to continue.
[[noreturn]] void fatal(const char* msg);

}  // namespace hyp::arch
