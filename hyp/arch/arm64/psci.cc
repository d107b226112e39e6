#include "psci.h"

#include "attest.h"
#include "core_glue.h"
#include "cpu.h"
#include "log.h"
#include "smccc.h"
#include "smmu.h"
#include "sysreg.h"

extern "C" char hyp_secondary_entry[];

namespace hyp::arm64 {

namespace {

bool is_64(uint32_t fid) {
  return (fid >> 30) & 1;
}

uint64_t arg(const GuestRegs& regs, int n, uint32_t fid) {
  // SMC32 calls pass 32-bit arguments; the upper halves are not defined.
  return is_64(fid) ? regs.x[n] : regs.x[n] & 0xffffffffull;
}

int64_t cpu_on(uint64_t target, uint64_t entry, uint64_t context) {
  CpuTable& cpus = cpu_table();
  PerCpu* cpu = cpus.find(target);
  if (!cpu) {
    return psci::kInvalidParameters;
  }
  CpuPower seen = CpuPower::kOff;
  if (!cpus.claim_for_on(*cpu, &seen)) {
    return seen == CpuPower::kOn ? psci::kAlreadyOn : psci::kOnPending;
  }
  cpu->host_entry = entry;
  cpu->host_context = context;
  dsb_ish();
  // The firmware starts the CPU at the hyp's entry, at EL2, with x0 = its
  // index; the hyp then enters the host's entry at EL1 with x0 = context.
  const FirmwareResult r = call_firmware(
      psci::kCpuOn64, target, reinterpret_cast<uint64_t>(hyp_secondary_entry), cpu->index);
  const auto status = static_cast<int64_t>(r.x0);
  if (status != psci::kSuccess) {
    cpus.set_power(*cpu, CpuPower::kOff);
  }
  return status;
}

int64_t cpu_off() {
  CpuTable& cpus = cpu_table();
  PerCpu& cpu = this_cpu();
  cpus.set_power(cpu, CpuPower::kOff);
  const FirmwareResult r = call_firmware(psci::kCpuOff);
  // CPU_OFF only returns on failure: this CPU is still running.
  cpus.set_power(cpu, CpuPower::kOn);
  return static_cast<int64_t>(r.x0);
}

int64_t features(uint32_t fid) {
  if (psci_implements(fid) || fid == smccc::kVersion) {
    return psci::kSuccess;
  }
  return psci::kNotSupported;
}

void log_exit_counters() {
  CpuTable& cpus = cpu_table();
  for (size_t i = 0; i < cpus.count(); ++i) {
    const ExitCounters& e = cpus.cpu(i).exits;
    log("cpu%zu exits: hvc %lu smc %lu psci %lu hypheap %lu ffa %lu unknown %lu s2-fault %lu "
        "s2-retry %lu injected %lu cmo-skipped %lu unexpected %lu; secure VM exits %lu, "
        "preempted %lu",
        i, e.hvc.get(), e.smc.get(), e.psci.get(), e.hypheap_calls.get(), e.ffa_calls.get(),
        e.unknown_calls.get(), e.stage2_faults.get(), e.stage2_retries.get(),
        e.injected_aborts.get(), e.cmo_skipped.get(), e.unexpected.get(), e.partition_exits.get(),
        e.partition_preempts.get());
  }
}

}  // namespace

bool psci_implements(uint32_t fid) {
  switch (fid) {
    case psci::kVersion:
    case psci::kFeatures:
    case psci::kCpuOn32:
    case psci::kCpuOn64:
    case psci::kCpuOff:
    case psci::kAffinityInfo32:
    case psci::kAffinityInfo64:
    case psci::kSystemOff:
    case psci::kSystemReset:
      return true;
    default:
      return false;
  }
}

void handle_psci(GuestRegs& regs) {
  const auto fid = static_cast<uint32_t>(regs.x[0]);
  int64_t ret = psci::kNotSupported;
  switch (fid) {
    case psci::kVersion:
      ret = psci::kVersion1_0;
      break;
    case psci::kFeatures:
      ret = features(static_cast<uint32_t>(regs.x[1]));
      break;
    case psci::kCpuOn32:
    case psci::kCpuOn64:
      ret = cpu_on(arg(regs, 1, fid), arg(regs, 2, fid), arg(regs, 3, fid));
      break;
    case psci::kCpuOff:
      ret = cpu_off();
      break;
    case psci::kAffinityInfo32:
    case psci::kAffinityInfo64:
      ret = static_cast<int64_t>(call_firmware(fid, arg(regs, 1, fid), arg(regs, 2, fid)).x0);
      break;
    case psci::kSystemOff:
    case psci::kSystemReset: {
      const char* what = fid == psci::kSystemOff ? "SYSTEM_OFF" : "SYSTEM_RESET";
      log("host requested %s", what);
      // The devices stop first: one still running (the secure VM's decoder) could write
      // into a page after the scrub below, or read a secret out before it.
      smmu_abort_all();
      // Before the scrub below: the boundary scenario compares lent pages with what they held.
      attest(fid == psci::kSystemOff ? "at SYSTEM_OFF" : "at SYSTEM_RESET");
      log_exit_counters();
      // RAM outlives a reset (QEMU keeps it; DRAM keeps its contents for a while after
      // power-off), and the next boot gives the host every page outside the carve-outs.
      const uint64_t start = read_cntpct_el0();
      const uint64_t pages = core_glue_scrub_secure_pages();
      const uint64_t us = (read_cntpct_el0() - start) * 1000000 / read_cntfrq_el0();
      log("scrubbed %lu secure-VM pages (%lu KiB) before %s in %lu us", pages, pages * 4, what, us);
      ret = static_cast<int64_t>(call_firmware(fid).x0);
      break;
    }
    default:
      break;
  }
  regs.x[0] = static_cast<uint64_t>(ret);
}

void psci_system_off() {
  call_firmware(psci::kSystemOff);
  // Only reached if the firmware refused: park this CPU.
  for (;;) {
    asm volatile("wfi");
  }
}

}  // namespace hyp::arm64
