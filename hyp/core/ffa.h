// FF-A (Arm Firmware Framework for A-profile, DEN0077A v1.0, v1.1 callers accepted) as the
// core answers it: the host and the secure-VM partition call it, the arch switches CPUs
// between them as the answers say. Everything here is arch-neutral and host-tested; the
// arch keeps only the register contexts and performs the switches.
//
// The arch-facing contract (hyp/arch/arm64/ffa_glue.cc calls these; hyp/arch/fake and the
// fuzzer drive them on the host):
//   - every SMCCC call whose function id is_ffa_call() goes to Hyp::ffa_host_call() when the
//     host made it, to Hyp::ffa_partition_call() when a partition vCPU made it;
//   - the returned FfaOutcome says what the calling CPU runs next;
//   - a physical interrupt while a partition vCPU runs ends in ffa_partition_preempted(),
//     a fault the partition cannot recover from in ffa_partition_aborted();
//   - the arch keeps its side: a host call only from a CPU that runs the host; a partition
//     call, preemption or abort only for the vCPU that runs on that CPU (or is booting);
//     ffa_vcpu_booting() once per vCPU, and no entry when it answers false (the partition
//     aborted, perhaps a moment ago on another CPU); no preemption of a booting
//     vCPU (the arch keeps interrupts pending until its MSG_WAIT); a vCPU's registers saved
//     where any CPU can load them before the partition call, preemption or abort that
//     reports its exit: the moment the core makes it PREEMPTED or WAITING, another CPU may
//     enter it (the FF-A state lock orders that save before the other CPU's load). A breach
//     is a hyp bug, and the core stops with arch::fatal rather than guess.
#pragma once

#include <cstdint>

namespace hyp {

// x0..x17 of an SMCCC v1.2 call (FF-A v1.0 uses x0..x7; the rest are returned as zero).
struct FfaRegs {
  uint64_t x[18];
};

enum class FfaNext : uint8_t {
  kReturn,           // resume the caller with `regs` (already written)
  kEnterPartition,   // run partition vCPU `vcpu` on this CPU with `regs` as its x0..x17
  kResumePartition,  // FFA_RUN: resume partition vCPU `vcpu` where it was preempted; the
                     // caller's `regs` are not the partition's
  kReturnToHost,     // a partition vCPU answered or went waiting: switch back to the host,
                     // whose x0..x17 become `regs`
};

struct FfaOutcome {
  FfaNext next = FfaNext::kReturn;
  uint16_t vcpu = 0;
};

// Function ids FF-A owns: 0x84000060-0x840000FF (SMC32) and 0xC4000060-0xC40000FF (SMC64).
constexpr bool is_ffa_call(uint32_t fid) {
  return (fid & ~0x40000000u) >= 0x84000060u && (fid & ~0x40000000u) <= 0x840000FFu;
}

}  // namespace hyp
