// The host's view of the PMU: it keeps the counters, but cannot make them count EL2.
//
// With FEAT_PMUv3p1, MDCR_EL2.HPMD prohibits event counting at EL2 (and FEAT_PMUv3p5's HCCD
// the cycle counter). Cortex-A57 has PMUv3 only: there, every event-type register has an NSH
// bit the host could set to count what the hyp does (cache misses, branches, cycles during
// a hypercall), so the hyp traps the PMU registers (MDCR_EL2.TPM) and performs each access
// itself, with NSH cleared on every write of an event type (pmu.cc).
#pragma once

#include <stdint.h>

#include "esr.h"

namespace hyp::arm64 {

struct GuestRegs;  // frame.h

namespace mdcr {
inline constexpr uint64_t kHpmnMask = 0x1f;
inline constexpr uint64_t kTpm = 1ull << 6;    // trap PMU register accesses from EL0/EL1
inline constexpr uint64_t kHpmd = 1ull << 17;  // FEAT_PMUv3p1: no event counting at EL2
inline constexpr uint64_t kHccd = 1ull << 23;  // FEAT_PMUv3p5: no cycle counting at EL2
}  // namespace mdcr

// PMEVTYPER<n>_EL0 / PMCCFILTR_EL0 NSH, bit 27: count events at EL2 (Arm ARM D17.5.10).
inline constexpr uint64_t kPmuTypeNsh = 1ull << 27;

// ID_AA64DFR0_EL1.PMUVer, bits [11:8]: 0 none, 1 PMUv3, 4 v3p1, 5 v3p4, 6 v3p5, ..., 0xf
// IMPLEMENTATION DEFINED (Arm ARM D17.2.59).
constexpr uint32_t pmu_version(uint64_t dfr0) {
  return (dfr0 >> 8) & 0xf;
}

// MDCR_EL2 for the host (Arm ARM D17.2.99). HPMN = PMCR_EL0.N: every event counter is the
// host's (HPMN resets to an UNKNOWN value). Debug: TDE, TDA, TDOSA, TDRA stay clear; see
// docs/hypervisor.md, "PMU and debug", for why the host keeps self-hosted debug.
constexpr uint64_t mdcr_el2_for_host(uint64_t dfr0, uint64_t pmcr) {
  uint64_t v = (pmcr >> 11) & mdcr::kHpmnMask;
  const uint32_t ver = pmu_version(dfr0);
  if (ver == 0) {
    return v;  // no PMU: its registers are UNDEFINED at EL1 anyway
  }
  // HPMD (PMUv3p1) stops the event counters at EL2, but the cycle counter only while the
  // host leaves PMCR_EL0.DP set, until HCCD (PMUv3p5) stops it too: before v3p5 the PMU
  // registers are trapped as on PMUv3 and every filter is made to exclude EL2.
  if (ver != 0xf && ver >= 6) {
    return v | mdcr::kHpmd | mdcr::kHccd;
  }
  return v | mdcr::kTpm;
}

// A trapped PMU register access (ESR_EL2.EC 0x18, ISS: Arm ARM D17.2.37, "ISS encoding for
// an exception from MSR, MRS, or System instruction execution").
enum class PmuReg : uint8_t {
  kNone,  // not a PMU register
  kPmcr,
  kCntenset,
  kCntenclr,
  kOvsclr,
  kSwinc,
  kSelr,
  kCeid0,
  kCeid1,
  kCcntr,
  kXevtyper,
  kXevcntr,
  kUserenr,
  kOvsset,
  kIntenset,
  kIntenclr,
  kEvcntr,   // PMEVCNTR<n>_EL0, n in .n
  kEvtyper,  // PMEVTYPER<n>_EL0, n in .n; n == 31 is PMCCFILTR_EL0
};

struct PmuAccess {
  PmuReg reg = PmuReg::kNone;
  uint32_t n = 0;
  uint32_t rt = 0;  // 31: XZR
  bool read = false;
};

constexpr PmuAccess decode_pmu_access(uint32_t iss) {
  const uint32_t op0 = (iss >> 20) & 3, op2 = (iss >> 17) & 7, op1 = (iss >> 14) & 7;
  const uint32_t crn = (iss >> 10) & 0xf, crm = (iss >> 1) & 0xf;
  PmuAccess a;
  a.rt = (iss >> 5) & 0x1f;
  a.read = iss & 1;
  if (op0 != 3) {
    return {};
  }
  if (op1 == 0 && crn == 9 && crm == 14) {
    a.reg = op2 == 1 ? PmuReg::kIntenset : op2 == 2 ? PmuReg::kIntenclr : PmuReg::kNone;
  } else if (op1 == 3 && crn == 9 && crm == 12) {
    constexpr PmuReg kRegs[] = {PmuReg::kPmcr,   PmuReg::kCntenset, PmuReg::kCntenclr,
                                PmuReg::kOvsclr, PmuReg::kSwinc,    PmuReg::kSelr,
                                PmuReg::kCeid0,  PmuReg::kCeid1};
    a.reg = kRegs[op2];
  } else if (op1 == 3 && crn == 9 && crm == 13) {
    constexpr PmuReg kRegs[] = {PmuReg::kCcntr, PmuReg::kXevtyper, PmuReg::kXevcntr};
    a.reg = op2 < 3 ? kRegs[op2] : PmuReg::kNone;
  } else if (op1 == 3 && crn == 9 && crm == 14) {
    a.reg = op2 == 0 ? PmuReg::kUserenr : op2 == 3 ? PmuReg::kOvsset : PmuReg::kNone;
  } else if (op1 == 3 && crn == 14 && crm >= 8) {
    a.reg = crm < 12 ? PmuReg::kEvcntr : PmuReg::kEvtyper;
    a.n = (crm & 3) * 8 + op2;
    if (a.reg == PmuReg::kEvcntr && a.n == 31) {
      a.reg = PmuReg::kNone;  // PMEVCNTR31 does not exist
    }
  }
  return a.reg == PmuReg::kNone ? PmuAccess{} : a;
}

// The value the hyp writes for a host write of an event type register.
constexpr uint64_t host_pmu_type(uint64_t value) {
  return value & ~kPmuTypeNsh;
}

// Programs MDCR_EL2 on this CPU and, where the PMU is trapped, clears NSH in every event
// type register. Before the CPU first enters the host.
void configure_pmu_for_host();

// A trapped MSR/MRS (EC 0x18): performs it if it is a PMU register access and returns true
// (an UNDEFINED one is injected as such); false if it is not one.
bool handle_pmu_access(GuestRegs& regs, Esr esr);

}  // namespace hyp::arm64
