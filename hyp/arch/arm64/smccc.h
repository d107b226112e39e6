// SMC Calling Convention (Arm DEN 0028, SMCCC v1.2): function-ID decoding,
// the calls the hyp answers itself, and the conduit to QEMU's firmware.
#pragma once

#include <stdint.h>

#include "frame.h"

namespace hyp::arm64 {

namespace smccc {
inline constexpr uint32_t kVersion = 0x80000000;
inline constexpr uint32_t kArchFeatures = 0x80000001;
inline constexpr uint32_t kVersion1_1 = 0x10001;
// What the hyp reports: 1.2, the first version with x0-x17 arguments and results, which
// Linux's FF-A transport requires. Not 1.3: with it Linux ORs the SVE hint (bit 16) into x0
// of every arm_smccc_smc/hvc call on an SVE CPU.
inline constexpr uint32_t kVersion1_2 = 0x10002;
inline constexpr uint32_t kArchWorkaround1 = 0x80008000;  // Spectre-v2 (CVE-2017-5715)
// ARCH_FEATURES(WORKAROUND_1): this PE does not need it (SMCCC 1.2+, as Linux reads it).
inline constexpr int64_t kArchWorkaroundUnaffected = 1;
inline constexpr int64_t kNotSupported = -1;

// Function ID fields (SMCCC 2.5).
constexpr bool is_fast(uint32_t fid) {
  return fid >> 31;
}
constexpr uint32_t owner(uint32_t fid) {
  return (fid >> 24) & 0x3f;
}
inline constexpr uint32_t kOwnerArch = 0;
inline constexpr uint32_t kOwnerStandardSecure = 4;  // PSCI lives here
inline constexpr uint32_t kOwnerVendorHyp = 6;
}  // namespace smccc

struct FirmwareResult {
  uint64_t x0, x1, x2, x3;
};

// Issues `smc #0` at EL2: QEMU's emulated PSCI answers it (no EL3 here).
FirmwareResult call_firmware(uint64_t fid, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0);

enum class Conduit { kHvc, kSmc };

// Dispatches one SMCCC call from the host; results go to regs.x[0..3].
void handle_smccc(GuestRegs& regs, Conduit conduit);

// Chooses, on this CPU, how the lower-EL vectors harden the branch predictor (errata.h,
// BranchHardening) and so what ARCH_FEATURES(WORKAROUND_1) answers. Per CPU, before its
// first entry to the host; the boot CPU's choice is the one used (CPUs of one kind assumed,
// a CPU that would choose otherwise is logged).
void smccc_init_cpu();

}  // namespace hyp::arm64
