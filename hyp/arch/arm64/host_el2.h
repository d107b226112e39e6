// EL2 state a CPU needs before it can run the host, and the jump into it.
#pragma once

#include <stdint.h>

#include "core_glue.h"

namespace hyp::arm64 {

// Programs HCR_EL2 (RW, TSC, VM if a stage-2 is given), the stage-2 base,
// and the EL2 controls that let the host own its timers, GIC CPU interface,
// FP/SIMD and PMU (which cannot count EL2: pmu.h), and chooses how exits harden
// the branch predictor (smccc.h). Per CPU, before the first entry to the host.
void configure_el2_for_host(const HostStage2& stage2);

}  // namespace hyp::arm64

// Enters the host at EL1h, interrupts masked, with x0 = arg and every other
// general-purpose register zero. SP_EL2 is reset to stack_top, so the frames
// of the boot path are dropped for good.
extern "C" [[noreturn]] void hyp_enter_host(uint64_t entry, uint64_t arg, uint64_t stack_top);
