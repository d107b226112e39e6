// PSCI (Arm DEN 0022) proxied to QEMU's firmware. CPU_ON is rewritten so a
// starting CPU always enters the hyp at EL2 first.
#pragma once

#include <stdint.h>

#include "frame.h"

namespace hyp::arm64 {

namespace psci {
inline constexpr uint32_t kVersion = 0x84000000;
inline constexpr uint32_t kCpuSuspend32 = 0x84000001;
inline constexpr uint32_t kCpuOff = 0x84000002;
inline constexpr uint32_t kCpuOn32 = 0x84000003;
inline constexpr uint32_t kCpuOn64 = 0xc4000003;
inline constexpr uint32_t kAffinityInfo32 = 0x84000004;
inline constexpr uint32_t kAffinityInfo64 = 0xc4000004;
inline constexpr uint32_t kSystemOff = 0x84000008;
inline constexpr uint32_t kSystemReset = 0x84000009;
inline constexpr uint32_t kFeatures = 0x8400000a;

inline constexpr int64_t kSuccess = 0;
inline constexpr int64_t kNotSupported = -1;
inline constexpr int64_t kInvalidParameters = -2;
inline constexpr int64_t kDenied = -3;
inline constexpr int64_t kAlreadyOn = -4;
inline constexpr int64_t kOnPending = -5;
inline constexpr int64_t kInternalFailure = -6;

// The PSCI version the hyp implements towards the host: 1.0 (FEATURES).
inline constexpr uint32_t kVersion1_0 = 0x10000;
}  // namespace psci

// True if fid is a PSCI function the hyp implements (for PSCI_FEATURES and
// SMCCC_ARCH_FEATURES).
bool psci_implements(uint32_t fid);

// Handles a PSCI call from the host; results go to regs.x[0].
void handle_psci(GuestRegs& regs);

// Powers the machine off through the firmware; never returns.
[[noreturn]] void psci_system_off();

}  // namespace hyp::arm64
