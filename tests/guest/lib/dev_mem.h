// Physical memory through /dev/mem, the way an attacker with root would read
// a page the host lent away, and a forked reader that is allowed to die.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dma_heap.h"

namespace hypheap::guest {

// A cacheable shared mapping of [pa, pa + length) (no O_SYNC: the kernel maps
// RAM cacheable too, and mismatched attributes would be a test bug).
Outcome<Mapping> MapPhysical(uint64_t pa, size_t length, int prot);
// pread() of /dev/mem: the kernel copies with a fault-tolerant accessor.
Outcome<std::vector<uint8_t>> ReadPhysical(uint64_t pa, size_t length);

// How a forked child touching memory ended, and what reached the parent.
struct ChildTouch {
  int wait_status = 0;
  // Bytes the child read (or the count of writes that completed) before it
  // ended: each is sent to the parent before the next access.
  std::vector<uint8_t> leaked;
};

// Forks a child that reads bytes one by one.
Outcome<ChildTouch> ReadInChild(std::span<volatile uint8_t> bytes);
// Forks a child that maps pa itself, then reads as ReadInChild does.
Outcome<ChildTouch> MapAndReadInChild(uint64_t pa, size_t length);
// Forks a child that writes value to each byte.
Outcome<ChildTouch> WriteInChild(std::span<volatile uint8_t> bytes, uint8_t value);

bool AllBytesAre(std::span<const volatile uint8_t> bytes, uint8_t value);

}  // namespace hypheap::guest
