// The arm64 implementation of the core's arch interface (hyp/core/arch.h), at EL2.
//
// Assumes the EL2 stage-1 maps all RAM at VA == PA (docs/hyp-core.md and the shared
// contract), so physical/virtual conversion is the identity.
#include "core/arch.h"

// The EL2 runtime's panic (hyp/arch/arm64, another owner): prints "[hyp] FATAL ..." and
// powers the machine off. Linked into the same image as this library.
#include "arch/arm64/cache.h"
#include "arch/arm64/fatal.h"
// The secure VM's vCPUs (hyp/arch/arm64/vcpu.h): vm_stopped stops them.
#include "arch/arm64/partition_stop.h"
// The SMMU's command queue (hyp/arch/arm64/smmu.h): a DMA table's TLB maintenance.
#include "arch/arm64/smmu.h"

namespace hyp::arch {
namespace {

inline void dsb_ishst() {
  asm volatile("dsb ishst" ::: "memory");
}
inline void dsb_ish() {
  asm volatile("dsb ish" ::: "memory");
}
inline void dsb_sy() {
  asm volatile("dsb sy" ::: "memory");
}
inline void isb() {
  asm volatile("isb" ::: "memory");
}

inline uint64_t read_vttbr() {
  uint64_t v;
  asm volatile("mrs %0, vttbr_el2" : "=r"(v));
  return v;
}

inline void write_vttbr(uint64_t v) {
  asm volatile("msr vttbr_el2, %0" ::"r"(v) : "memory");
  isb();
}

// TLBI by IPA and VMALLS12E1 act on the VMID in VTTBR_EL2, so the target stage-2 is made
// current for the duration (EL2's own translation does not depend on VTTBR_EL2).
class ScopedVttbr {
 public:
  explicit ScopedVttbr(const Stage2Hw& hw) : saved_(read_vttbr()) {
    write_vttbr(hw.root.value() | (uint64_t(hw.vmid) << 48));
  }
  ~ScopedVttbr() { write_vttbr(saved_); }
  ScopedVttbr(const ScopedVttbr&) = delete;
  ScopedVttbr& operator=(const ScopedVttbr&) = delete;

 private:
  uint64_t saved_;
};

// Smallest data-cache line of the system (CTR_EL0.DminLine, log2 of words).
inline size_t dcache_line() {
  uint64_t ctr;
  asm volatile("mrs %0, ctr_el0" : "=r"(ctr));
  return size_t(4) << ((ctr >> 16) & 0xF);
}

}  // namespace

void* phys_to_virt(PhysAddr pa) {
  return reinterpret_cast<void*>(pa.value());
}

PhysAddr virt_to_phys(const void* va) {
  return PhysAddr(reinterpret_cast<uintptr_t>(va));
}

void copy_from_phys(void* dst, PhysAddr src, size_t len) {
  __builtin_memcpy(dst, phys_to_virt(src), len);
}

void write_pte(const Stage2Hw&, uint64_t* ptep, uint64_t value) {
  // A 64-bit aligned store is single-copy atomic; the DSB makes it visible to the table
  // walker before any TLB maintenance that follows.
  __atomic_store_n(ptep, value, __ATOMIC_RELAXED);
  dsb_ishst();
}

void publish_table(const Stage2Hw& hw, uint64_t* ptep, uint64_t value) {
  // The table's contents were written with plain stores. The Arm ARM only promises that a
  // table walk observes stores a DSB has completed; a DMB or a store-release orders them
  // for other CPUs' loads but is not specified to do so for walkers, this CPU's included.
  // So: complete the contents (inner shareable, where every walker of this stage-2 is),
  // then store the link, which write_pte completes in turn.
  dsb_ishst();
  write_pte(hw, ptep, value);
}

// One completion sequence for the whole batch: the broadcast TLBIs by IPA are only ordered
// by the DSB that follows them, so issuing them back to back and waiting once is what makes
// a batch cheaper than one call per entry (Arm ARM D8.13, "TLB maintenance").
void tlb_invalidate_ipas(const Stage2Hw& hw, std::span<const Ipa> ipas) {
  if (ipas.empty())
    return;
  // One context-wide invalidation and one CMD_SYNC per batch. By address would be finer,
  // but QEMU 7.2's model caches block translations under keys a TLBI_NH_VA of another page
  // in the block is not documented to reach; the ASID is always right (docs/hypervisor.md).
  if (hw.smmu) {
    arm64::smmu_tlb_invalidate_asid(hw.vmid);
    return;
  }
  ScopedVttbr scoped(hw);
  dsb_ishst();
  for (const Ipa ipa : ipas)
    asm volatile("tlbi ipas2e1is, %0" ::"r"(ipa.value() >> 12) : "memory");
  // Combined stage-1+2 entries are not tagged by IPA: drop them for this VMID too, once.
  dsb_ish();
  asm volatile("tlbi vmalle1is" ::: "memory");
  dsb_ish();
  isb();
}

void tlb_invalidate_vm(const Stage2Hw& hw) {
  if (hw.smmu) {
    arm64::smmu_tlb_invalidate_asid(hw.vmid);
    return;
  }
  ScopedVttbr scoped(hw);
  dsb_ishst();
  asm volatile("tlbi vmalls12e1is" ::: "memory");
  dsb_ish();
  isb();
}

void dcache_clean_poc(void* va, size_t size) {
  const size_t line = dcache_line();
  uintptr_t p = reinterpret_cast<uintptr_t>(va) & ~(line - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(va) + size;
  for (; p < end; p += line)
    asm volatile("dc cvac, %0" ::"r"(p) : "memory");
  dsb_sy();
}

void dcache_clean_inval_poc(void* va, size_t size) {
  const size_t line = dcache_line();
  uintptr_t p = reinterpret_cast<uintptr_t>(va) & ~(line - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(va) + size;
  for (; p < end; p += line)
    asm volatile("dc civac, %0" ::"r"(p) : "memory");
  dsb_sy();
}

// Every scrub is whole pages of RAM, Normal memory in the hyp's map: DC ZVA
// (arm64::zero_by_blocks), else the freestanding memset's 8-byte stores. It was that memset
// when it stored a byte at a time, and the reclaim's scrub was then most of a protected
// buffer's alloc+free under TCG. The DSB completes the zeros before the caller's clean to PoC.
void scrub(void* va, size_t size) {
  if (!arm64::zero_by_blocks(va, size))
    __builtin_memset(va, 0, size);
  dsb_ish();
}

// The owner keeps its mappings: the same zeros, written back and dropped from the caches
// at once (as a lend's clean and invalidate leaves a page), with nothing to order against
// them.
void scrub_in_place(const Stage2Hw&, void* va, size_t size) {
  scrub(va, size);
  dcache_clean_inval_poc(va, size);
}

void table_page_freed(PhysAddr) {}

// The isb keeps the read from being taken before the work it is meant to follow.
uint64_t counter_ticks() {
  uint64_t ticks;
  asm volatile("isb\n\tmrs %0, cntpct_el0" : "=r"(ticks) : : "memory");
  return ticks;
}

uint64_t counter_frequency() {
  uint64_t hz;
  asm volatile("mrs %0, cntfrq_el0" : "=r"(hz));
  return hz;
}

// Only the partition (VM 10) ever runs code; stopping it is stopping every secure vCPU.
void vm_stopped(const Stage2Hw& hw) {
  if (hw.smmu)
    return;  // a device table: nothing runs on it
  arm64::partition_stop();
}

void spin_lock(SpinLock& lock) {
  uint32_t busy, failed;
  // Load-acquire exclusive; sleep in WFE until the holder's store-release to the lock word
  // clears our exclusive monitor and wakes us.
  asm volatile(
      "   sevl\n"
      "1: wfe\n"
      "2: ldaxr  %w0, [%2]\n"
      "   cbnz   %w0, 1b\n"
      "   stxr   %w1, %w3, [%2]\n"
      "   cbnz   %w1, 2b\n"
      : "=&r"(busy), "=&r"(failed)
      : "r"(&lock.word), "r"(1u)
      : "memory");
}

void spin_unlock(SpinLock& lock) {
  asm volatile("stlr wzr, [%0]" ::"r"(&lock.word) : "memory");
}

void fatal(const char* msg) {
  arm64::panic("core: %s", msg);
}

}  // namespace hyp::arch
