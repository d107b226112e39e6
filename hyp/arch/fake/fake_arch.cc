// The fake arch: physical memory is a reserved host mapping whose address differs from the
// physical addresses it stands for, so a PA used as a pointer faults instead of working by
// luck. Cache maintenance has no effect on the host and is only counted. TLB maintenance is
// checked: the fake remembers every descriptor changed since the last invalidation covering
// it, so making a broken entry valid too early, or returning with maintenance still owed,
// is visible to tests and to the fuzzer.
#include "fake_arch.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/arch.h"

// The benchmarks build the fake with HYPHEAP_FAKE_CHECK_TLB=0: they want the core's cost,
// not the bookkeeping that checks it (a lock and a search per descriptor written).
#ifndef HYPHEAP_FAKE_CHECK_TLB
#define HYPHEAP_FAKE_CHECK_TLB 1
#endif

namespace hyp::fake {
namespace {

struct AtomicCounters {
  std::atomic<uint64_t> pte_writes{0};
  std::atomic<uint64_t> tlb_ipa{0};
  std::atomic<uint64_t> tlb_ipa_batches{0};
  std::atomic<uint64_t> tlb_vm{0};
  std::atomic<uint64_t> clean_bytes{0};
  std::atomic<uint64_t> clean_inval_bytes{0};
  std::atomic<uint64_t> bbm_violations{0};
};

AtomicCounters g_counters;
// Keyed by descriptor address, so bounded by the table pages in use (arch::publish_table).
std::mutex g_published_lock;
std::unordered_map<const uint64_t*, uint64_t> g_published;
// Set by tests, read by STATS on any thread.
std::mutex g_host_faults_lock;
arch::HostFaultCounts g_host_faults;
void (*g_copy_hook)(void*) = nullptr;
void* g_copy_hook_ctx = nullptr;

uint8_t* ram_window() {
  static uint8_t* const window = [] {
    void* p = mmap(nullptr, kRamSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      std::perror("fake arch: mmap of fake RAM");
      std::abort();
    }
    return static_cast<uint8_t*>(p);
  }();
  return window;
}

// Bits a valid stage-2 descriptor may change in place: S2AP, XN and the software bits.
constexpr uint64_t kInPlaceBits = (3ULL << 6) | (3ULL << 53) | (0xFULL << 55);

// What the TLBs of one stage-2 may still hold about a descriptor the core has changed. The
// fake models the worst case: every CPU cached every translation before the change.
struct Pending {
  uint16_t vmid;
  const uint64_t* ptep;
  uint64_t old;  // the value the TLBs may hold
};

std::mutex g_pending_lock;
std::vector<Pending> g_pending;

std::vector<Pending>::iterator find_pending(uint16_t vmid, const uint64_t* ptep) {
  return std::find_if(g_pending.begin(), g_pending.end(),
                      [&](const Pending& p) { return p.vmid == vmid && p.ptep == ptep; });
}

// An invalidation by IPA drops leaf translations of that IPA; walk caches of a removed
// table entry cover a whole range, so only a VMID-wide invalidation removes those. The
// fake walks the tables the way the hardware would to find which descriptors the IPA used.
void invalidate_path(const arch::Stage2Hw& hw, uint64_t ipa) {
  constexpr unsigned kLastLevel = 3;
  const auto* table = static_cast<const uint64_t*>(arch::phys_to_virt(hw.root));
  for (unsigned level = hw.start_level;; level++) {
    const unsigned shift = 12 + 9 * (kLastLevel - level);
    const uint64_t* ptep = &table[(ipa >> shift) & 511];
    const auto it = find_pending(hw.vmid, ptep);
    const bool was_table = level < kLastLevel && (it != g_pending.end()) && (it->old & 3) == 3;
    if (it != g_pending.end() && !was_table)
      g_pending.erase(it);
    const uint64_t pte = __atomic_load_n(ptep, __ATOMIC_RELAXED);
    if (level == kLastLevel || (pte & 3) != 3)
      return;
    table =
        static_cast<const uint64_t*>(arch::phys_to_virt(PhysAddr(pte & 0x0000'FFFF'FFFF'F000ULL)));
  }
}

}  // namespace

Counters counters() {
  return Counters{g_counters.pte_writes.load(),      g_counters.tlb_ipa.load(),
                  g_counters.tlb_ipa_batches.load(), g_counters.tlb_vm.load(),
                  g_counters.clean_bytes.load(),     g_counters.clean_inval_bytes.load(),
                  g_counters.bbm_violations.load()};
}

uint64_t published_table(const uint64_t* ptep) {
  std::lock_guard guard(g_published_lock);
  const auto it = g_published.find(ptep);
  return it == g_published.end() ? 0 : it->second;
}

void reset_counters() {
  g_counters.pte_writes = 0;
  g_counters.tlb_ipa = 0;
  g_counters.tlb_ipa_batches = 0;
  g_counters.tlb_vm = 0;
  g_counters.clean_bytes = 0;
  g_counters.clean_inval_bytes = 0;
  g_counters.bbm_violations = 0;
  set_host_fault_counts(arch::HostFaultCounts{});
  std::lock_guard guard(g_pending_lock);
  g_pending.clear();
}

size_t pending_invalidations() {
  std::lock_guard guard(g_pending_lock);
  return g_pending.size();
}

void set_copy_hook(void (*hook)(void* ctx), void* ctx) {
  g_copy_hook = hook;
  g_copy_hook_ctx = ctx;
}

void set_host_fault_counts(const arch::HostFaultCounts& counts) {
  std::lock_guard guard(g_host_faults_lock);
  g_host_faults = counts;
}

void reset_memory() {
  if (madvise(ram_window(), kRamSize, MADV_DONTNEED) != 0) {
    std::perror("fake arch: madvise");
    std::abort();
  }
}

}  // namespace hyp::fake

namespace hyp::arch {

void* phys_to_virt(PhysAddr pa) {
  const uint64_t off = pa.value() - fake::kRamBase;
  if (pa.value() < fake::kRamBase || off >= fake::kRamSize)
    fatal("fake arch: phys_to_virt outside fake RAM");
  return fake::ram_window() + off;
}

PhysAddr virt_to_phys(const void* va) {
  const auto* p = static_cast<const uint8_t*>(va);
  const uint8_t* base = fake::ram_window();
  if (p < base || p >= base + fake::kRamSize)
    fatal("fake arch: virt_to_phys outside fake RAM");
  return PhysAddr(fake::kRamBase + static_cast<uint64_t>(p - base));
}

void copy_from_phys(void* dst, PhysAddr src, size_t len) {
  if (len != 0)
    phys_to_virt(src + (len - 1));  // the whole source must be fake RAM
  std::memcpy(dst, phys_to_virt(src), len);
  if (fake::g_copy_hook != nullptr)
    fake::g_copy_hook(fake::g_copy_hook_ctx);
}

void write_pte(const Stage2Hw& hw, uint64_t* ptep, uint64_t value) {
  const uint64_t old = __atomic_load_n(ptep, __ATOMIC_RELAXED);
  const bool old_valid = old & 1, new_valid = value & 1;
  if (HYPHEAP_FAKE_CHECK_TLB) {
    std::lock_guard guard(fake::g_pending_lock);
    const auto it = fake::find_pending(hw.vmid, ptep);
    if (old_valid && new_valid && ((old ^ value) & ~fake::kInPlaceBits) != 0)
      fake::g_counters.bbm_violations++;
    if (!old_valid && new_valid && it != fake::g_pending.end() && (it->old & 1))
      fake::g_counters.bbm_violations++;  // made again before the break was invalidated
    // The TLBs may now disagree with the tables until an invalidation covers this entry;
    // what they may hold is the oldest valid value since the last one.
    if (old_valid && old != value && it == fake::g_pending.end())
      fake::g_pending.push_back(fake::Pending{hw.vmid, ptep, old});
  }
  fake::g_counters.pte_writes++;
  __atomic_store_n(ptep, value, __ATOMIC_RELEASE);
}

void publish_table(const Stage2Hw& hw, uint64_t* ptep, uint64_t value) {
  {
    std::lock_guard guard(fake::g_published_lock);
    fake::g_published[ptep] = value;
  }
  write_pte(hw, ptep, value);
}

void tlb_invalidate_ipas(const Stage2Hw& hw, std::span<const Ipa> ipas) {
  fake::g_counters.tlb_ipa += ipas.size();
  fake::g_counters.tlb_ipa_batches++;
  if (!HYPHEAP_FAKE_CHECK_TLB)
    return;
  std::lock_guard guard(fake::g_pending_lock);
  for (const Ipa ipa : ipas)
    fake::invalidate_path(hw, ipa.value());
}

void tlb_invalidate_vm(const Stage2Hw& hw) {
  fake::g_counters.tlb_vm++;
  if (!HYPHEAP_FAKE_CHECK_TLB)
    return;
  std::lock_guard guard(fake::g_pending_lock);
  std::erase_if(fake::g_pending, [&](const fake::Pending& p) { return p.vmid == hw.vmid; });
}

HostFaultCounts host_fault_counts() {
  std::lock_guard guard(fake::g_host_faults_lock);
  return fake::g_host_faults;
}

void dcache_clean_poc(void*, size_t size) {
  fake::g_counters.clean_bytes += size;
}
void dcache_clean_inval_poc(void*, size_t size) {
  fake::g_counters.clean_inval_bytes += size;
}

void spin_lock(SpinLock& lock) {
  while (__atomic_exchange_n(&lock.word, 1, __ATOMIC_ACQUIRE) != 0)
    std::this_thread::yield();
}

void spin_unlock(SpinLock& lock) {
  __atomic_store_n(&lock.word, 0, __ATOMIC_RELEASE);
}

void fatal(const char* msg) {
  std::fprintf(stderr, "[hyp] FATAL %s\n", msg);
  std::abort();
}

}  // namespace hyp::arch
