// Physical ranges at boot: the core's MemRange, plus the empty-range and
// alignment helpers DTB values need (a DTB may describe zero-sized things).
#pragma once

#include <stdint.h>

#include "core/types.h"

namespace hyp::boot {

using ::hyp::MemRange;
using ::hyp::PhysAddr;

constexpr MemRange make_range(uint64_t base, uint64_t size) {
  return {PhysAddr(base), size};
}
constexpr bool is_empty(const MemRange& r) {
  return r.size == 0;
}
// Unlike MemRange::overlaps, an empty range overlaps nothing.
constexpr bool intersects(const MemRange& a, const MemRange& b) {
  return !is_empty(a) && !is_empty(b) && a.overlaps(b);
}

constexpr uint64_t align_down(uint64_t v, uint64_t align) {
  return v & ~(align - 1);
}
constexpr uint64_t align_up(uint64_t v, uint64_t align) {
  return align_down(v + align - 1, align);
}

}  // namespace hyp::boot
