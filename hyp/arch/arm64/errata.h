// CPU identification from MIDR_EL1 and the CPU-specific behaviours the hyp works around.
// Pure functions of register values, so they are unit-tested on the host
// (tests/arm64/errata_test.cc); the EL2 code reads the registers and asks.
#pragma once

#include <stdint.h>

namespace hyp::arm64 {

// MIDR_EL1 fields (Arm ARM D17.2.100).
constexpr uint32_t midr_implementer(uint64_t midr) {
  return (midr >> 24) & 0xff;
}
constexpr uint32_t midr_part(uint64_t midr) {
  return (midr >> 4) & 0xfff;
}
// Variant and revision as one number: r1p2 is 0x12.
constexpr uint32_t midr_rev(uint64_t midr) {
  return (((midr >> 20) & 0xf) << 4) | (midr & 0xf);
}

inline constexpr uint32_t kImplementerArm = 0x41;
inline constexpr uint32_t kPartCortexA57 = 0xd07;
inline constexpr uint32_t kPartCortexA72 = 0xd08;

constexpr bool is_arm_part(uint64_t midr, uint32_t part) {
  return midr_implementer(midr) == kImplementerArm && midr_part(midr) == part;
}

// Cortex-A57 erratum 834220 (r0p0 to r1p2): a stage-2 fault may be reported, with a wrong
// HPFAR_EL2, for an access whose stage-1 translation faults and should have been taken at
// EL1 instead. The hyp then recomputes the IPA with AT S1E1R (esr.h fault_ipa_source),
// and a failing AT means the stage-1 fault is the real one: the access is retried so the
// CPU takes it.
constexpr bool has_erratum_834220(uint64_t midr) {
  return is_arm_part(midr, kPartCortexA57) && midr_rev(midr) <= 0x12;
}

inline constexpr uint32_t kPartCortexA35 = 0xd04;
inline constexpr uint32_t kPartCortexA53 = 0xd03;
inline constexpr uint32_t kPartCortexA55 = 0xd05;

// ID_AA64PFR0_EL1.CSV2, bits [59:56] (Arm ARM D17.2.67): branch targets trained in one
// context cannot steer another context's speculation.
constexpr bool has_csv2(uint64_t pfr0) {
  return ((pfr0 >> 56) & 0xf) != 0;
}

// How EL2 keeps the host's branch-predictor training (Spectre-v2, CVE-2017-5715; and the
// branch history, Spectre-BHB, CVE-2022-23960) from steering its own speculation, applied
// on every exception from the host before the first indirect branch (vectors.S). The value
// is what vectors.S reads (hyp_branch_hardening).
enum class BranchHardening : uint32_t {
  kNotNeeded = 0,  // CSV2, or a core Arm lists as unaffected (in-order A35/A53/A55)
  kLocalA57 = 1,   // Cortex-A57/A72: an 8-branch loop overwrites the branch history, then
                   // the EL2 MMU is turned off and on, which invalidates these cores'
                   // branch predictor (the sequence Arm's firmware uses at EL3 for them)
  kFirmware = 2,   // any other affected core whose firmware offers SMCCC_ARCH_WORKAROUND_1
  kMissing = 3,    // affected, and the hyp knows no way: the host is told so
};

constexpr BranchHardening branch_hardening(uint64_t midr, uint64_t pfr0, bool firmware_wa1) {
  if (has_csv2(pfr0) || is_arm_part(midr, kPartCortexA35) || is_arm_part(midr, kPartCortexA53) ||
      is_arm_part(midr, kPartCortexA55)) {
    return BranchHardening::kNotNeeded;
  }
  if (is_arm_part(midr, kPartCortexA57) || is_arm_part(midr, kPartCortexA72)) {
    return BranchHardening::kLocalA57;
  }
  return firmware_wa1 ? BranchHardening::kFirmware : BranchHardening::kMissing;
}

// Only a core that neither has CSV2 nor is known safe or handled locally makes the hyp ask
// its firmware (an SMC QEMU's built-in PSCI would not answer).
constexpr bool branch_hardening_needs_firmware(uint64_t midr, uint64_t pfr0) {
  return branch_hardening(midr, pfr0, false) == BranchHardening::kMissing;
}

}  // namespace hyp::arm64
