// Host-only view of the fake arch: lets tests inspect what the core asked the "CPU" to do.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/arch.h"

namespace hyp::fake {

// Fake physical memory: a 2 GiB window at the QEMU virt RAM base. It is reserved, not
// committed, so only pages the tests touch cost host memory.
inline constexpr uint64_t kRamBase = 0x4000'0000;
inline constexpr uint64_t kRamSize = 2ULL << 30;

struct Counters {
  uint64_t pte_writes = 0;
  uint64_t tlb_ipa = 0;          // IPAs invalidated one by one (tlbi ipas2e1is)
  uint64_t tlb_ipa_batches = 0;  // completion sequences for those (one per batch)
  uint64_t tlb_vm = 0;           // VMID-wide invalidations (tlbi vmalls12e1is)
  uint64_t clean_bytes = 0;
  uint64_t clean_inval_bytes = 0;
  // Break-before-make broken (Arm ARM D8.14): a valid descriptor overwritten by a valid one
  // that differs in more than permission or software bits, or an invalid descriptor made
  // valid while the TLB may still hold what it translated before it was broken.
  uint64_t bbm_violations = 0;
};

Counters counters();
// Clears the counters and forgets every pending invalidation.
void reset_counters();

// Descriptors changed since the last TLB invalidation that covers them: a valid entry made
// invalid, or changed in place. Zero whenever the core has returned from a call; nonzero
// means a VM may still translate through what the tables no longer say.
size_t pending_invalidations();
// Runs after every arch::copy_from_phys(), standing for a host CPU that rewrites the
// source the moment the hypervisor has copied it. nullptr clears it.
void set_copy_hook(void (*hook)(void* ctx), void* ctx);

// What arch::host_fault_counts() reports from now on: the fake takes no host faults, so a
// test plays the CPUs that did. reset_counters() sets it back to zero.
void set_host_fault_counts(const arch::HostFaultCounts& counts);

// The value last stored at ptep by arch::publish_table(), 0 if none: lets tests check that
// every live table descriptor was published that way, not by a plain write_pte().
uint64_t published_table(const uint64_t* ptep);

// Zero all of fake physical memory (returns it to the host kernel).
void reset_memory();

}  // namespace hyp::fake
