// The arch interface: everything the core needs from the CPU, as free functions. One
// implementation is linked per build: hyp/arch/arm64/mm at EL2, hyp/arch/fake on the host.
// No virtual dispatch, so the EL2 build stays small and inlinable at link time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "types.h"

namespace hyp::arch {

// Hardware identity of one stage-2: what VTTBR_EL2 holds while it is live.
struct Stage2Hw {
  PhysAddr root;
  uint16_t vmid = 0;
  // Level the walk starts at (VTCR_EL2.SL0). The hardware takes it from VTCR_EL2; the fake
  // arch needs it to walk the tables when it checks TLB maintenance.
  uint8_t start_level = 0;
  // A DMA table (Stage2::init's `smmu`): stage-1 descriptors an SMMU walks, `vmid` being the
  // ASID its context is tagged with; TLB maintenance goes to the SMMU's command queue, not to
  // the CPUs. The fake arch models it as one more VM that reaches memory.
  bool smmu = false;
};

// Hyp's view of physical memory. At EL2 the hyp stage-1 is an identity map of RAM.
void* phys_to_virt(PhysAddr pa);
PhysAddr virt_to_phys(const void* va);

// Copies host-provided bytes into hyp memory. The single place where the core reads memory
// another VM can write concurrently: everything after it parses the private copy.
void copy_from_phys(void* dst, PhysAddr src, size_t len);

// Stores one descriptor of the stage-2 `hw` so the table walker observes it as a
// single-copy-atomic write (never torn), then orders it before any later TLB maintenance.
void write_pte(const Stage2Hw& hw, uint64_t* ptep, uint64_t value);

// Stores a table descriptor that links a table the core has just filled (zeroed by the
// pool, or the entries of a split): write_pte's contract, and in addition every store the
// core made to that table before the call is observed by any table walker, on any CPU,
// that observes the descriptor. Without it a walker could follow the new link and read what
// the page held before, e.g. a stale valid entry of a table freed earlier.
void publish_table(const Stage2Hw& hw, uint64_t* ptep, uint64_t value);

// Invalidates the TLB entries of `hw` that translate any of `ipas` (leaf entries: a removed
// table entry needs tlb_invalidate_vm) and waits until every CPU has completed it.
void tlb_invalidate_ipas(const Stage2Hw& hw, std::span<const Ipa> ipas);
// Invalidates everything cached for `hw`, walk caches included, and waits for completion.
void tlb_invalidate_vm(const Stage2Hw& hw);

// Data-cache maintenance by hyp VA, to the point of coherency.
void dcache_clean_poc(void* va, size_t size);
void dcache_clean_inval_poc(void* va, size_t size);

// Overwrites with zeros memory a VM is giving up, so nothing it wrote reaches the next
// owner. A call of its own (not a memset in the core) so the fake arch can check that no VM
// can still reach the pages when it happens, and that the zeros are cleaned to PoC before
// anyone maps them again.
void scrub(void* va, size_t size);

// Zeroes memory that the VM of `owner` keeps mapped and owns alone, then cleans and
// invalidates the zeros to PoC: the scrub of a lend in place (MEM_ASSIGN {svm} -> {svm}). The
// owner's CPUs and devices may reach the pages throughout (what they write meanwhile is their own,
// in their own memory); no other VM may. The fake arch holds every other VM to scrub()'s rule and
// lets only the owner's mappings stand.
void scrub_in_place(const Stage2Hw& owner, void* va, size_t size);

// The VM of `hw` never runs again (the machine goes down): none of its CPUs can reach memory
// through its stage-2 any more, so what it mapped may be scrubbed without unmapping it first.
// At EL2 nothing to do while no secure-VM code runs (the hyp never enters a secure VM); the
// hyp that schedules secure vCPUs must stop them here. The fake arch stops counting the VM's
// mappings and TLB entries as ways to reach memory.
void vm_stopped(const Stage2Hw& hw);

// A stage-2 table page goes back to the pool, where the next split may reuse it. Nothing
// to do on hardware (the core completed a VMID-wide invalidation before unlinking it); the
// fake arch checks that no table walk can still hold the page.
void table_page_freed(PhysAddr page);

struct SpinLock {
  uint32_t word = 0;
};
void spin_lock(SpinLock& lock);
void spin_unlock(SpinLock& lock);

// Host stage-2 aborts, which the arch takes and answers without the core (it only asks the
// core whether the access is allowed). Totals since boot over every CPU, for STATS. Each
// CPU's counters only grow, so a sum read while other CPUs run lies between the true totals
// at the start and at the end of the read, and a later read never gives less.
struct HostFaultCounts {
  uint64_t faults = 0;      // on pages the host may not access that way
  uint64_t injected = 0;    // aborts injected into the host for them
  uint64_t spurious = 0;    // retried: stage-2 allowed the access by the time it was checked
  uint64_t dma_faults = 0;  // device accesses the SMMU blocked (its event records)
};
HostFaultCounts host_fault_counts();

// A free-running counter for the phase profile (hyp/core/profile.h): CNTPCT_EL0 at EL2, a
// fake clock on the host. Only differences of two reads mean anything.
uint64_t counter_ticks();
// Ticks per second of counter_ticks().
uint64_t counter_frequency();

// A broken core invariant: there is no safe way to continue.
[[noreturn]] void fatal(const char* msg);

}  // namespace hyp::arch
