#include "smccc.h"

#include "core_glue.h"
#include "cpu.h"
#include "psci.h"

namespace hyp::arm64 {

namespace {

bool is_psci_range(uint32_t fid) {
  // PSCI owns function numbers 0x00-0x1f of the standard secure service,
  // in both calling conventions (PSCI 5.1).
  return (fid & ~0x4000001fu) == 0x84000000u;
}

int64_t arch_features(uint32_t fid) {
  if (fid == smccc::kVersion || fid == smccc::kArchFeatures || psci_implements(fid)) {
    return 0;
  }
  // Not implemented: SMCCC_ARCH_WORKAROUND_*; the host then assumes the
  // firmware neither needs nor provides them.
  return smccc::kNotSupported;
}

void handle_arch(GuestRegs& regs) {
  switch (static_cast<uint32_t>(regs.x[0])) {
    case smccc::kVersion:
      regs.x[0] = smccc::kVersion1_1;
      break;
    case smccc::kArchFeatures:
      regs.x[0] = static_cast<uint64_t>(arch_features(static_cast<uint32_t>(regs.x[1])));
      break;
    default:
      this_cpu().exits.unknown_calls.inc();
      regs.x[0] = static_cast<uint64_t>(smccc::kNotSupported);
      break;
  }
}

}  // namespace

FirmwareResult call_firmware(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3) {
  register uint64_t x0 asm("x0") = fid;
  register uint64_t x1 asm("x1") = a1;
  register uint64_t x2 asm("x2") = a2;
  register uint64_t x3 asm("x3") = a3;
  // SMCCC v1.0 firmware may clobber x4-x17.
  asm volatile("smc #0"
               : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
               :
               : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
                 "x16", "x17", "memory");
  return {x0, x1, x2, x3};
}

void handle_smccc(GuestRegs& regs, Conduit conduit) {
  // The upper half of x0 is not part of the function ID (SMCCC 2.6).
  const auto fid = static_cast<uint32_t>(regs.x[0]);
  regs.x[0] = fid;
  ExitCounters& exits = this_cpu().exits;
  if (!smccc::is_fast(fid)) {
    exits.unknown_calls.inc();
    regs.x[0] = static_cast<uint64_t>(smccc::kNotSupported);
    return;
  }
  switch (smccc::owner(fid)) {
    case smccc::kOwnerArch:
      handle_arch(regs);
      return;
    case smccc::kOwnerStandardSecure:
      if (is_psci_range(fid)) {
        exits.psci.inc();
        handle_psci(regs);
        return;
      }
      break;
    case smccc::kOwnerVendorHyp:
      if (core_glue_hypercall(regs, conduit)) {
        exits.hypheap_calls.inc();
        return;
      }
      break;
    default:
      break;
  }
  exits.unknown_calls.inc();
  regs.x[0] = static_cast<uint64_t>(smccc::kNotSupported);
}

}  // namespace hyp::arm64
