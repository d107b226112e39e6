// System register access and the EL2 register values the hyp programs.
//
// Values cite the Arm Architecture Reference Manual (DDI 0487, "Arm ARM"),
// chapter D17 (AArch64 System Register Descriptions).
#pragma once

#include <stdint.h>

namespace hyp::arm64 {

#define HYP_SYSREG_RW(reg, name)                     \
  inline uint64_t read_##name() {                    \
    uint64_t value;                                  \
    asm volatile("mrs %0, " #reg : "=r"(value));     \
    return value;                                    \
  }                                                  \
  inline void write_##name(uint64_t value) {         \
    asm volatile("msr " #reg ", %0" : : "r"(value)); \
  }

HYP_SYSREG_RW(hcr_el2, hcr_el2)
HYP_SYSREG_RW(vtcr_el2, vtcr_el2)
HYP_SYSREG_RW(vttbr_el2, vttbr_el2)
HYP_SYSREG_RW(sctlr_el2, sctlr_el2)
HYP_SYSREG_RW(tcr_el2, tcr_el2)
HYP_SYSREG_RW(mair_el2, mair_el2)
HYP_SYSREG_RW(ttbr0_el2, ttbr0_el2)
HYP_SYSREG_RW(vbar_el2, vbar_el2)
HYP_SYSREG_RW(tpidr_el2, tpidr_el2)
HYP_SYSREG_RW(esr_el2, esr_el2)
HYP_SYSREG_RW(far_el2, far_el2)
HYP_SYSREG_RW(hpfar_el2, hpfar_el2)
HYP_SYSREG_RW(elr_el2, elr_el2)
HYP_SYSREG_RW(spsr_el2, spsr_el2)
HYP_SYSREG_RW(cnthctl_el2, cnthctl_el2)
HYP_SYSREG_RW(cntvoff_el2, cntvoff_el2)
HYP_SYSREG_RW(cptr_el2, cptr_el2)
HYP_SYSREG_RW(mdcr_el2, mdcr_el2)
HYP_SYSREG_RW(vpidr_el2, vpidr_el2)
HYP_SYSREG_RW(vmpidr_el2, vmpidr_el2)
HYP_SYSREG_RW(sctlr_el1, sctlr_el1)
HYP_SYSREG_RW(esr_el1, esr_el1)
HYP_SYSREG_RW(far_el1, far_el1)
HYP_SYSREG_RW(elr_el1, elr_el1)
HYP_SYSREG_RW(spsr_el1, spsr_el1)
HYP_SYSREG_RW(vbar_el1, vbar_el1)
HYP_SYSREG_RW(par_el1, par_el1)
HYP_SYSREG_RW(midr_el1, midr_el1)
HYP_SYSREG_RW(mpidr_el1, mpidr_el1)
HYP_SYSREG_RW(id_aa64mmfr0_el1, id_aa64mmfr0_el1)
HYP_SYSREG_RW(pmcr_el0, pmcr_el0)
HYP_SYSREG_RW(pmcntenset_el0, pmcntenset_el0)
HYP_SYSREG_RW(pmcntenclr_el0, pmcntenclr_el0)
HYP_SYSREG_RW(pmovsclr_el0, pmovsclr_el0)
HYP_SYSREG_RW(pmovsset_el0, pmovsset_el0)
HYP_SYSREG_RW(pmselr_el0, pmselr_el0)
HYP_SYSREG_RW(pmccntr_el0, pmccntr_el0)
HYP_SYSREG_RW(pmxevtyper_el0, pmxevtyper_el0)
HYP_SYSREG_RW(pmxevcntr_el0, pmxevcntr_el0)
HYP_SYSREG_RW(pmuserenr_el0, pmuserenr_el0)
HYP_SYSREG_RW(pmintenset_el1, pmintenset_el1)
HYP_SYSREG_RW(pmintenclr_el1, pmintenclr_el1)
HYP_SYSREG_RW(pmccfiltr_el0, pmccfiltr_el0)
HYP_SYSREG_RW(cntpct_el0, cntpct_el0)
HYP_SYSREG_RW(cntfrq_el0, cntfrq_el0)
// ICC_SRE_EL2 by encoding: binutils only knows it with the GICv3 extension.
HYP_SYSREG_RW(S3_4_C12_C9_5, icc_sre_el2)

#undef HYP_SYSREG_RW

// CurrentEL.EL, bits [3:2] (Arm ARM C5.2.1).
inline uint64_t read_current_el() {
  uint64_t value;
  asm volatile("mrs %0, CurrentEL" : "=r"(value));
  return (value >> 2) & 3;
}

inline void isb() {
  asm volatile("isb" ::: "memory");
}
inline void dsb_ish() {
  asm volatile("dsb ish" ::: "memory");
}
inline void dsb_sy() {
  asm volatile("dsb sy" ::: "memory");
}

// HCR_EL2 (Arm ARM D17.2.48).
namespace hcr {
inline constexpr uint64_t kVm = 1ull << 0;    // stage-2 translation for EL1&0
inline constexpr uint64_t kSwio = 1ull << 1;  // set/way invalidate acts as clean+invalidate
inline constexpr uint64_t kFb = 1ull << 9;    // broadcast TLB/IC maintenance inner-shareable
inline constexpr uint64_t kBsuInner = 1ull << 10;
inline constexpr uint64_t kTsc = 1ull << 19;  // trap SMC from EL1 (EC 0x17)
inline constexpr uint64_t kRw = 1ull << 31;   // EL1 is AArch64
}  // namespace hcr

// SCTLR_EL2 with HCR_EL2.E2H == 0 (Arm ARM D17.2.119): RES1 bits 4,5,11,16,18,22,23,28,29.
namespace sctlr_el2 {
inline constexpr uint64_t kRes1 = 0x30c50830;
inline constexpr uint64_t kM = 1ull << 0;
inline constexpr uint64_t kA = 1ull << 1;
inline constexpr uint64_t kC = 1ull << 2;
inline constexpr uint64_t kSa = 1ull << 3;
inline constexpr uint64_t kI = 1ull << 12;
inline constexpr uint64_t kWxn = 1ull << 19;
}  // namespace sctlr_el2

// SCTLR_EL1 as Linux expects it at entry: MMU and D-cache off, EL1 RES1 bits
// (Arm ARM D17.2.118; Documentation/arm64/booting.rst).
inline constexpr uint64_t kSctlrEl1HostReset = 0x30d00800;

// SPSR_EL2 for the first entry to the host: EL1h with D, A, I, F masked
// (Arm ARM C5.2.19; booting.rst requires all interrupts masked).
inline constexpr uint64_t kSpsrEl1hDaifMasked = 0x3c5;

// SPSR_ELx fields (Arm ARM C5.2.19).
namespace spsr {
inline constexpr uint64_t kModeMask = 0xf;
inline constexpr uint64_t kModeAArch32 = 1ull << 4;  // M[4]: the context was AArch32
inline constexpr uint64_t kModeEl0t = 0x0;
inline constexpr uint64_t kModeEl1t = 0x4;
inline constexpr uint64_t kModeEl1h = 0x5;
inline constexpr uint64_t kDaifMask = 0xfull << 6;
inline constexpr uint64_t kIl = 1ull << 20;
inline constexpr uint64_t kSs = 1ull << 21;
inline constexpr uint64_t kPan = 1ull << 22;
}  // namespace spsr

// CNTHCTL_EL2: EL1PCTEN | EL1PCEN, so the host keeps direct access to the
// physical timer and counter (Arm ARM D17.11.4).
inline constexpr uint64_t kCnthctlHostTimers = 0x3;

// CPTR_EL2 with E2H == 0: RES1 bits 0-7, 9, 12, 13; TFP (10), TTA (20),
// TCPAC (31) clear, so FP/SIMD and trace are not trapped (Arm ARM D17.2.35).
inline constexpr uint64_t kCptrNoTraps = 0x33ff;

// ICC_SRE_EL2: SRE (0) so EL2 uses the system-register GIC interface, Enable
// (3) so EL1 may too (Arm ARM / GICv3 spec 12.7.11).
inline constexpr uint64_t kIccSreEl2Sre = 1ull << 0;
inline constexpr uint64_t kIccSreEl2Enable = 1ull << 3;

// MPIDR_EL1 affinity fields (Arm ARM D17.2.101).
inline constexpr uint64_t kMpidrAffinityMask = 0xff00ffffffull;

}  // namespace hyp::arm64
