// The hyp's own EL2 stage-1 translation: an identity map (VA == PA) of all
// RAM and of the device MMIO the hyp drives, so the core's phys_to_virt is
// the identity at EL2. 4 KiB granule, 39-bit VA, walks start at level 1.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "../../boot/range.h"
#include "../../boot/status.h"
#include "boot_params.h"

namespace hyp::arm64 {

using boot::BootStatus;
using ::hyp::MemRange;

enum class MemKind {
  kDevice,          // Device-nGnRE, execute-never
  kNormalRw,        // Normal write-back, execute-never
  kNormalReadOnly,  // Normal write-back, read-only, execute-never
  kNormalCode,      // Normal write-back, read-only, executable
};

class El2PageTables {
 public:
  // Tables are taken from [pool.base, pool.end()), which must be zeroed,
  // page aligned and identity-accessible.
  explicit El2PageTables(MemRange pool);

  // Identity-maps [range.base, range.end()) with the largest blocks that fit.
  // Fails if the range is outside the 39-bit VA space, overlaps something
  // mapped already, or the pool runs out.
  BootStatus map(MemRange range, MemKind kind);

  // MAIR/TCR/TTBR0/SCTLR for this table, for hyp_mmu_enable().
  MmuRegs registers() const;

  MemRange pool_used() const { return {pool_.base, next_ - pool_.base.value()}; }

 private:
  static constexpr int kStartLevel = 1;
  static constexpr uint64_t kVaBits = 39;

  BootStatus map_level(uint64_t* table, int level, uint64_t addr, uint64_t end, uint64_t attrs);
  uint64_t* alloc_table();

  MemRange pool_;
  uint64_t next_;
  uint64_t* root_;
};

extern "C" void hyp_mmu_enable(const MmuRegs* regs);

}  // namespace hyp::arm64
