#include "mmu.h"

#include "sysreg.h"

namespace hyp::arm64 {

namespace {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kEntries = 512;

// VMSAv8-64 descriptor bits, stage 1, EL2 regime (Arm ARM D8.3).
constexpr uint64_t kValid = 1ull << 0;
constexpr uint64_t kTableOrPage = 1ull << 1;  // table at levels 0-2, page at level 3
constexpr uint64_t kAttrIndexShift = 2;
constexpr uint64_t kApReadOnly = 1ull << 7;  // AP[2]
// AP[1] is RES1 for a regime with one privilege level (Arm ARM D8.4.1.2.1).
constexpr uint64_t kApRes1 = 1ull << 6;
constexpr uint64_t kShInner = 3ull << 8;
constexpr uint64_t kAf = 1ull << 10;
constexpr uint64_t kXn = 1ull << 54;  // XN in the EL2 regime
constexpr uint64_t kAddrMask = 0x0000fffffffff000ull;

// MAIR_EL2 attribute slots (Arm ARM D17.2.97).
constexpr uint64_t kAttrDevice = 0;  // 0x04: Device-nGnRE
constexpr uint64_t kAttrNormal = 1;  // 0xff: Normal, inner/outer WB RW-allocate
constexpr uint64_t kMair = (0x04ull << (8 * kAttrDevice)) | (0xffull << (8 * kAttrNormal));

uint64_t leaf_attrs(MemKind kind) {
  const uint64_t normal = (kAttrNormal << kAttrIndexShift) | kShInner | kAf | kApRes1;
  switch (kind) {
    case MemKind::kDevice:
      return (kAttrDevice << kAttrIndexShift) | kAf | kApRes1 | kXn;
    case MemKind::kNormalRw:
      return normal | kXn;
    case MemKind::kNormalReadOnly:
      return normal | kApReadOnly | kXn;
    case MemKind::kNormalCode:
      return normal | kApReadOnly;
  }
  return 0;
}

constexpr int shift_of(int level) {
  return 12 + 9 * (3 - level);
}

// TCR_EL2 with E2H == 0 (Arm ARM D17.2.132): RES1 bits 23 and 31, T0SZ for a
// 39-bit VA, walks cacheable write-back and inner-shareable, 4 KiB granule,
// PS = the CPU's physical address size.
uint64_t tcr_value() {
  const uint64_t parange = read_id_aa64mmfr0_el1() & 0xf;
  const uint64_t ps = parange > 5 ? 5 : parange;  // 4 KiB granule without LPA: 48 bits
  return (1ull << 31) | (1ull << 23) | (ps << 16) | (3ull << 12) | (1ull << 10) | (1ull << 8) |
         (64 - 39);
}

}  // namespace

El2PageTables::El2PageTables(MemRange pool)
    : pool_(pool), next_(pool.base.value()), root_(nullptr) {
  root_ = alloc_table();
}

uint64_t* El2PageTables::alloc_table() {
  if (next_ + kPageSize > pool_.end().value()) {
    return nullptr;
  }
  auto* table = reinterpret_cast<uint64_t*>(next_);
  next_ += kPageSize;
  return table;  // the pool is zeroed: all entries invalid
}

BootStatus El2PageTables::map(MemRange range, MemKind kind) {
  if (!root_) {
    return BootStatus::kNoSpace;
  }
  const uint64_t base = boot::align_down(range.base.value(), kPageSize);
  const uint64_t end = boot::align_up(range.end().value(), kPageSize);
  if (end > (1ull << kVaBits) || end <= base) {
    return BootStatus::kOutOfRange;
  }
  return map_level(root_, kStartLevel, base, end, leaf_attrs(kind));
}

BootStatus El2PageTables::map_level(uint64_t* table, int level, uint64_t addr, uint64_t end,
                                    uint64_t attrs) {
  const uint64_t block = 1ull << shift_of(level);
  while (addr < end) {
    uint64_t& entry = table[(addr >> shift_of(level)) % kEntries];
    const uint64_t next = boot::align_down(addr, block) + block;
    const uint64_t chunk_end = next < end ? next : end;
    const bool whole = addr % block == 0 && chunk_end - addr == block;
    if (whole) {
      if (entry & kValid) {
        return BootStatus::kOverlap;
      }
      entry = addr | attrs | kValid | (level == 3 ? kTableOrPage : 0);
    } else {
      if ((entry & kValid) && !(entry & kTableOrPage)) {
        return BootStatus::kOverlap;  // a block is there already
      }
      if (!(entry & kValid)) {
        uint64_t* sub = alloc_table();
        if (!sub) {
          return BootStatus::kNoSpace;
        }
        entry = reinterpret_cast<uint64_t>(sub) | kTableOrPage | kValid;
      }
      auto* sub = reinterpret_cast<uint64_t*>(entry & kAddrMask);
      if (BootStatus s = map_level(sub, level + 1, addr, chunk_end, attrs); s != BootStatus::kOk) {
        return s;
      }
    }
    addr = chunk_end;
  }
  return BootStatus::kOk;
}

MmuRegs El2PageTables::registers() const {
  using namespace sctlr_el2;
  // WXN: no writable mapping is ever executable at EL2.
  return MmuRegs{.mair = kMair,
                 .tcr = tcr_value(),
                 .ttbr0 = reinterpret_cast<uint64_t>(root_),
                 .sctlr = kRes1 | kM | kC | kSa | kI | kWxn};
}

}  // namespace hyp::arm64
