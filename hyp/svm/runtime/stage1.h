// The payload's stage-1 (EL1&0 regime, 4 KiB granule, 39-bit VA, identity map): RAM as
// Normal write-back memory so the services run with caches on, the image with W^X per
// section, stack guard pages left out. Built once by vCPU 0 with its MMU off.
#pragma once

#include <stdint.h>

#include "boot_info.h"

namespace hyp::svm {

// What each vCPU loads before turning its MMU on (entry.S reads it by offset).
struct MmuRegs {
  uint64_t mair;
  uint64_t tcr;
  uint64_t ttbr0;
  uint64_t sctlr;
};

}  // namespace hyp::svm

// Returns &g_svm_mmu, or nullptr if the boot info is unusable or the tables do not fit.
extern "C" hyp::svm::MmuRegs* svm_build_stage1(const hyp::svm::BootInfo* info);
extern "C" hyp::svm::MmuRegs g_svm_mmu;
