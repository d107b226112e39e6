#include "smccc.h"

#include "core_glue.h"
#include "cpu.h"
#include "errata.h"
#include "log.h"
#include "psci.h"
#include "vcpu.h"

// Read by vectors.S on every exception from the host (hyp_harden_branch_predictor). Written
// once by the boot CPU before the host first runs; secondaries only read it.
extern "C" uint32_t hyp_branch_hardening;
uint32_t hyp_branch_hardening = static_cast<uint32_t>(hyp::arm64::BranchHardening::kMissing);

namespace hyp::arm64 {

namespace {

bool g_hardening_chosen = false;
// What the host is told (ARCH_FEATURES): the core's need, even in the measurement build,
// so that its host makes the same WORKAROUND_1 calls as on a product.
BranchHardening g_hardening_told = BranchHardening::kMissing;

BranchHardening hardening() {
  return static_cast<BranchHardening>(hyp_branch_hardening);
}

uint64_t read_id_aa64pfr0() {
  uint64_t v;
  asm volatile("mrs %0, id_aa64pfr0_el1" : "=r"(v));
  return v;
}

// Whether the firmware below offers WORKAROUND_1, asked the way SMCCC says to: PSCI_FEATURES
// first (a 1.0 firmware may not know SMCCC_VERSION), then the version, then ARCH_FEATURES.
bool firmware_offers_workaround_1() {
  if (static_cast<int64_t>(call_firmware(psci::kFeatures, smccc::kVersion).x0) < 0) {
    return false;
  }
  const auto version = static_cast<int64_t>(call_firmware(smccc::kVersion).x0);
  if (version < static_cast<int64_t>(smccc::kVersion1_1)) {
    return false;
  }
  return call_firmware(smccc::kArchFeatures, smccc::kArchWorkaround1).x0 == 0;
}

bool is_psci_range(uint32_t fid) {
  // PSCI owns function numbers 0x00-0x1f of the standard secure service,
  // in both calling conventions (PSCI 5.1).
  return (fid & ~0x4000001fu) == 0x84000000u;
}

// Only Arm Architecture Service calls the hyp answers. WORKAROUND_2 (Spectre-v4) and
// WORKAROUND_3 (Spectre-BHB) are not offered: their fixes are per-core controls only the
// firmware has (v4), or the host protects itself in its own vectors (BHB).
int64_t arch_features(uint32_t fid) {
  switch (fid) {
    case smccc::kVersion:
    case smccc::kArchFeatures:
      return 0;
    case smccc::kArchWorkaround1:
      switch (g_hardening_told) {
        case BranchHardening::kNotNeeded:
          return smccc::kArchWorkaroundUnaffected;
        case BranchHardening::kLocalA57:
        case BranchHardening::kFirmware:
          return 0;
        case BranchHardening::kMissing:
          break;
      }
      return smccc::kNotSupported;
    default:
      return smccc::kNotSupported;
  }
}

void handle_arch(GuestRegs& regs) {
  switch (static_cast<uint32_t>(regs.x[0])) {
    case smccc::kVersion:
      regs.x[0] = smccc::kVersion1_2;
      break;
    case smccc::kArchFeatures:
      regs.x[0] = static_cast<uint64_t>(arch_features(static_cast<uint32_t>(regs.x[1])));
      break;
    case smccc::kArchWorkaround1:
      // The exception that brought the call here already ran the hardening on entry
      // (vectors.S), which is all the host asks for.
      if (arch_features(smccc::kArchWorkaround1) != 0) {
        this_cpu().exits.unknown_calls.inc();
        regs.x[0] = static_cast<uint64_t>(smccc::kNotSupported);
        break;
      }
      regs.x[0] = 0;
      break;
    default:
      this_cpu().exits.unknown_calls.inc();
      regs.x[0] = static_cast<uint64_t>(smccc::kNotSupported);
      break;
  }
}

}  // namespace

// The control of a measurement (make bench's el2-unhardened image, docs/performance.md, "The
// Cortex-A57's hardening under TCG"): no sequence on any core, so that the benchmark shows
// what the one this core needs costs under QEMU TCG. Never a product image: the host could
// train the predictor the hyp's indirect branches use.
#if defined(HYPHEAP_MEASURE_UNHARDENED) && HYPHEAP_MEASURE_UNHARDENED
constexpr bool kMeasureUnhardened = true;
#else
constexpr bool kMeasureUnhardened = false;
#endif

void smccc_init_cpu() {
  const uint64_t midr = read_midr_el1();
  const uint64_t pfr0 = read_id_aa64pfr0();
  const bool firmware =
      branch_hardening_needs_firmware(midr, pfr0) && firmware_offers_workaround_1();
  const BranchHardening needed = branch_hardening(midr, pfr0, firmware);
  const BranchHardening mine = kMeasureUnhardened ? BranchHardening::kNotNeeded : needed;
  if (!g_hardening_chosen) {
    g_hardening_chosen = true;
    __atomic_store_n(&hyp_branch_hardening, static_cast<uint32_t>(mine), __ATOMIC_RELEASE);
    static const char* const kNames[] = {"not needed", "Cortex-A57/A72 sequence", "firmware",
                                         "MISSING: the host is told WORKAROUND_1 is not there"};
    g_hardening_told = needed;
    if (kMeasureUnhardened) {
      log("MEASUREMENT BUILD, NOT FOR USE: branch predictor left unhardened (this core needs: "
          "%s)",
          kNames[static_cast<uint32_t>(needed)]);
      log("branch predictor hardening on entry from the host: LEFT OUT, measurement build "
          "(MIDR %lx)",
          midr);
    } else {
      log("branch predictor hardening on entry from the host: %s (MIDR %lx)",
          kNames[static_cast<uint32_t>(mine)], midr);
    }
  } else if (mine != hardening()) {
    log("cpu%u (MIDR %lx) would harden its branch predictor differently from the boot CPU",
        this_cpu().index, midr);
  }
}

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
      // FF-A, by either conduit: the core answers, and may switch this CPU to the partition.
      if (is_ffa_call(fid)) {
        partition_host_ffa_call(regs);
        return;
      }
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
