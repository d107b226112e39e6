// Pure decisions about the secure-VM partition's vCPUs (no register access), so the host
// tests (tests/arm64/partition_test.cc) can check them: the EL2 controls it runs under, and
// what each of its exits means.
#pragma once

#include <stdint.h>

#include <hypheap/abi.h>

#include "esr.h"
#include "sysreg.h"

namespace hyp::arm64 {

namespace hcr {
inline constexpr uint64_t kFmo = 1ull << 3;    // physical FIQ to EL2
inline constexpr uint64_t kImo = 1ull << 4;    // physical IRQ to EL2
inline constexpr uint64_t kAmo = 1ull << 5;    // physical SError to EL2
inline constexpr uint64_t kTacr = 1ull << 21;  // trap ACTLR_EL1 (not switched)
}  // namespace hcr

// CPTR_EL2.TFP (bit 10): FP/SIMD traps to EL2.
inline constexpr uint64_t kCptrTfp = 1ull << 10;
// CNTHCTL_EL2 with EL1PCTEN and EL1PCEN clear: the physical counter and timer trap.
inline constexpr uint64_t kCnthctlPartition = 0;

// HCR_EL2 while the partition runs on behalf of a host whose PSTATE (SPSR_EL2 of its call)
// is host_spsr. A physical IRQ (FIQ) preempts the partition and goes back to the host, which
// takes it as soon as it runs: only worth it when the host has it unmasked. With it masked,
// the host would call FFA_RUN at once with the interrupt still pending and the partition
// would never make progress; so then it stays pending (its PSTATE.I is set) until the
// partition answers. SErrors always end the partition at EL2 (one already pending when the
// host calls is the host's: may_enter_partition). ACTLR_EL1 is not part of the
// switched context, so the partition may not touch it. At boot (no host yet) host_spsr has
// every mask set: nothing preempts the init.
constexpr uint64_t hcr_for_partition(uint64_t host_spsr) {
  uint64_t v = hcr::kRw | hcr::kTsc | hcr::kVm | hcr::kAmo | hcr::kTacr;
  if ((host_spsr & (1ull << 7)) == 0) {  // PSTATE.I
    v |= hcr::kImo;
  }
  if ((host_spsr & (1ull << 6)) == 0) {  // PSTATE.F
    v |= hcr::kFmo;
  }
  return v;
}

// ISR_EL1.A (bit 8) read at EL2: a physical SError is pending.
inline constexpr uint64_t kIsrA = 1ull << 8;

// Whether a host call may switch to the partition now, given ISR_EL1 read at EL2 after a DSB
// on the host's behalf. A pending SError at that point comes from the host's own accesses
// before the call; with AMO set it would be taken at EL2 as soon as the partition runs and
// abort the partition for the host's error. So the entry is deferred instead: the host is
// answered FFA_INTERRUPT (the vCPU preempted before its first instruction), takes its SError
// at EL1 under its own controls (AMO clear), and resumes the request with FFA_RUN.
constexpr bool may_enter_partition(uint64_t isr_el1) {
  return (isr_el1 & kIsrA) == 0;
}

// What a synchronous exit of the partition is.
enum class PartitionExit : uint8_t {
  kCall,   // HVC #0: an SMCCC call (FF-A or HYPHEAP_FN_SVM_*)
  kAbort,  // anything else: stage-2 abort, FP trap, system register, SMC, HVC #imm != 0
};

constexpr PartitionExit classify_partition_exit(Esr esr) {
  if (esr.exception_class() == ExceptionClass::kHvc64 && (esr.iss() & 0xffff) == 0) {
    return PartitionExit::kCall;
  }
  return PartitionExit::kAbort;
}

// The calls of the secure VM's own that the core answers (HYPHEAP_FN_SVM_HOLD..UNPIN and the
// SVM_FFA_* ones); SVM_ABORT is the arch's.
constexpr bool is_svm_core_call(uint32_t fid) {
  return (fid >= HYPHEAP_FN_SVM_HOLD && fid <= HYPHEAP_FN_SVM_UNPIN) ||
         fid == HYPHEAP_FN_SVM_FFA_RETRIEVE || fid == HYPHEAP_FN_SVM_FFA_RELINQUISH ||
         fid == HYPHEAP_FN_SVM_FFA_REGION;
}

// Why the partition was aborted, for the log line.
constexpr const char* abort_reason(Esr esr) {
  switch (esr.exception_class()) {
    case ExceptionClass::kDataAbortLowerEl:
      return "data abort outside its stage-2";
    case ExceptionClass::kInstructionAbortLowerEl:
      return "instruction abort outside its stage-2";
    case ExceptionClass::kFpAccess:
      return "FP/SIMD access";
    case ExceptionClass::kSysReg:
      return "trapped system register";
    case ExceptionClass::kSmc64:
      return "SMC";
    case ExceptionClass::kHvc64:
      return "HVC with a non-zero immediate";
    case ExceptionClass::kSError:
      return "SError";
    default:
      return "exception";
  }
}

}  // namespace hyp::arm64
