// The fake arch: physical memory is a reserved host mapping whose address differs from the
// physical addresses it stands for, so a PA used as a pointer faults instead of working by
// luck. TLB and cache maintenance have no effect on the host; they are counted so tests can
// prove the core asked for them.
#include "fake_arch.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/arch.h"

namespace hyp::fake {
namespace {

struct AtomicCounters {
  std::atomic<uint64_t> pte_writes{0};
  std::atomic<uint64_t> tlb_ipa{0};
  std::atomic<uint64_t> tlb_vm{0};
  std::atomic<uint64_t> clean_bytes{0};
  std::atomic<uint64_t> clean_inval_bytes{0};
  std::atomic<uint64_t> bbm_violations{0};
};

AtomicCounters g_counters;
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

}  // namespace

Counters counters() {
  return Counters{g_counters.pte_writes.load(),
                  g_counters.tlb_ipa.load(),
                  g_counters.tlb_vm.load(),
                  g_counters.clean_bytes.load(),
                  g_counters.clean_inval_bytes.load(),
                  g_counters.bbm_violations.load()};
}

void reset_counters() {
  g_counters.pte_writes = 0;
  g_counters.tlb_ipa = 0;
  g_counters.tlb_vm = 0;
  g_counters.clean_bytes = 0;
  g_counters.clean_inval_bytes = 0;
  g_counters.bbm_violations = 0;
}

void set_copy_hook(void (*hook)(void* ctx), void* ctx) {
  g_copy_hook = hook;
  g_copy_hook_ctx = ctx;
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

void write_pte(uint64_t* ptep, uint64_t value) {
  const uint64_t old = __atomic_load_n(ptep, __ATOMIC_RELAXED);
  const bool both_valid = (old & 1) && (value & 1);
  if (both_valid && ((old ^ value) & ~fake::kInPlaceBits) != 0)
    fake::g_counters.bbm_violations++;
  fake::g_counters.pte_writes++;
  __atomic_store_n(ptep, value, __ATOMIC_RELEASE);
}

void tlb_invalidate_ipa(const Stage2Hw&, Ipa) {
  fake::g_counters.tlb_ipa++;
}
void tlb_invalidate_vm(const Stage2Hw&) {
  fake::g_counters.tlb_vm++;
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
