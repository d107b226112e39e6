// What a secondary CPU reads, with its MMU still off, to join the hyp: the
// EL2 stage-1 registers and its own stack and per-CPU pointer. Shared by
// entry.S and C++, so the layout is spelled out as offsets.
#pragma once

#include "platform_config.h"

#define BOOT_PARAMS_MAIR 0
#define BOOT_PARAMS_TCR 8
#define BOOT_PARAMS_TTBR0 16
#define BOOT_PARAMS_SCTLR 24
#define BOOT_PARAMS_STACK_TOP 32
#define BOOT_PARAMS_PERCPU (BOOT_PARAMS_STACK_TOP + 8 * HYP_MAX_CPUS)
#define BOOT_PARAMS_SIZE (BOOT_PARAMS_PERCPU + 8 * HYP_MAX_CPUS)

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

namespace hyp::arm64 {

struct MmuRegs {
  uint64_t mair;
  uint64_t tcr;
  uint64_t ttbr0;
  uint64_t sctlr;
};

struct BootParams {
  MmuRegs mmu;
  uint64_t stack_top[HYP_MAX_CPUS];
  uint64_t percpu[HYP_MAX_CPUS];
};

static_assert(offsetof(BootParams, mmu) + offsetof(MmuRegs, mair) == BOOT_PARAMS_MAIR);
static_assert(offsetof(BootParams, mmu) + offsetof(MmuRegs, tcr) == BOOT_PARAMS_TCR);
static_assert(offsetof(BootParams, mmu) + offsetof(MmuRegs, ttbr0) == BOOT_PARAMS_TTBR0);
static_assert(offsetof(BootParams, mmu) + offsetof(MmuRegs, sctlr) == BOOT_PARAMS_SCTLR);
static_assert(offsetof(BootParams, stack_top) == BOOT_PARAMS_STACK_TOP);
static_assert(offsetof(BootParams, percpu) == BOOT_PARAMS_PERCPU);
static_assert(sizeof(BootParams) == BOOT_PARAMS_SIZE);

extern "C" BootParams hyp_boot_params;

}  // namespace hyp::arm64
#endif
