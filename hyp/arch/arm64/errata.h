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

}  // namespace hyp::arm64
