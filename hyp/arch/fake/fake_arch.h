// Host-only view of the fake arch: lets tests inspect what the core asked the "CPU" to do.
#pragma once

#include <cstdint>

namespace hyp::fake {

// Fake physical memory: a 2 GiB window at the QEMU virt RAM base. It is reserved, not
// committed, so only pages the tests touch cost host memory.
inline constexpr uint64_t kRamBase = 0x4000'0000;
inline constexpr uint64_t kRamSize = 2ULL << 30;

struct Counters {
  uint64_t pte_writes = 0;
  uint64_t tlb_ipa = 0;
  uint64_t tlb_vm = 0;
  uint64_t clean_bytes = 0;
  uint64_t clean_inval_bytes = 0;
  // A valid descriptor overwritten by a valid one that differs in more than permission or
  // software bits: the Arm ARM requires break-before-make there.
  uint64_t bbm_violations = 0;
};

Counters counters();
void reset_counters();
// Runs after every arch::copy_from_phys(), standing for a host CPU that rewrites the
// source the moment the hypervisor has copied it. nullptr clears it.
void set_copy_hook(void (*hook)(void* ctx), void* ctx);

// Zero all of fake physical memory (returns it to the host kernel).
void reset_memory();

}  // namespace hyp::fake
