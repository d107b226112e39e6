// Data-cache maintenance by VA for the boot path: data written with caches on
// that a CPU (or the host) later reads with its MMU off must be cleaned to the
// Point of Coherency first (Arm ARM D7.5.9). QEMU TCG models no caches, so
// mistakes here never show in a test: these calls are needed by construction.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace hyp::arm64 {

inline size_t dcache_line_size() {
  uint64_t ctr;
  asm volatile("mrs %0, ctr_el0" : "=r"(ctr));
  return size_t{4} << ((ctr >> 16) & 0xf);  // CTR_EL0.DminLine, log2 of words
}

inline void clean_dcache_to_poc(const void* start, size_t size) {
  const size_t line = dcache_line_size();
  uintptr_t p = reinterpret_cast<uintptr_t>(start) & ~(line - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(start) + size;
  for (; p < end; p += line) {
    asm volatile("dc cvac, %0" : : "r"(p) : "memory");
  }
  asm volatile("dsb sy" ::: "memory");
}

// Writes back and discards every line for [start, start + size): memory another agent then
// reads and writes with its MMU off, where no stale line may shadow it later.
inline void clean_invalidate_dcache_to_poc(const void* start, size_t size) {
  const size_t line = dcache_line_size();
  uintptr_t p = reinterpret_cast<uintptr_t>(start) & ~(line - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(start) + size;
  for (; p < end; p += line) {
    asm volatile("dc civac, %0" : : "r"(p) : "memory");
  }
  asm volatile("dsb sy" ::: "memory");
}

// Discards any line for [start, start + size): used on memory written with
// the MMU off, so no stale line from before can shadow it once caches are on.
inline void invalidate_dcache_to_poc(const void* start, size_t size) {
  const size_t line = dcache_line_size();
  uintptr_t p = reinterpret_cast<uintptr_t>(start) & ~(line - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(start) + size;
  for (; p < end; p += line) {
    asm volatile("dc ivac, %0" : : "r"(p) : "memory");
  }
  asm volatile("dsb sy" ::: "memory");
}

// Zeroes [start, start + size) with DC ZVA a block at a time, when DCZID_EL0 allows it (DZP
// clear) and the range is whole blocks; then DSB ISH. False, nothing written, otherwise. One
// instruction per block (64 bytes here) where a store loop takes eight; the zeros stay in the
// cache: a caller that hands the memory on cleans it to PoC. Normal memory only (DC ZVA
// faults on Device memory); never trapped at EL2, and at EL1 only if HCR_EL2.TDZ is set.
inline bool zero_by_blocks(void* start, size_t size) {
  uint64_t dczid;
  asm volatile("mrs %0, dczid_el0" : "=r"(dczid));
  const uint64_t block = uint64_t{4} << (dczid & 0xf);
  const auto p = reinterpret_cast<uintptr_t>(start);
  if ((dczid & 0x10) != 0 || p % block != 0 || size % block != 0)
    return false;
  for (uintptr_t a = p; a < p + size; a += block)
    asm volatile("dc zva, %0" ::"r"(a) : "memory");
  asm volatile("dsb ish" ::: "memory");
  return true;
}

}  // namespace hyp::arm64
