#include "host_el2.h"

#include "pmu.h"
#include "smccc.h"
#include "sysreg.h"

namespace hyp::arm64 {

namespace {

bool has_gicv3_sysregs() {
  uint64_t pfr0;
  asm volatile("mrs %0, id_aa64pfr0_el1" : "=r"(pfr0));
  return ((pfr0 >> 24) & 0xf) != 0;  // ID_AA64PFR0_EL1.GIC (Arm ARM D17.2.64)
}

}  // namespace

void configure_el2_for_host(const HostStage2& stage2) {
  smccc_init_cpu();
  write_cnthctl_el2(kCnthctlHostTimers);
  write_cntvoff_el2(0);
  write_cptr_el2(kCptrNoTraps);
  configure_pmu_for_host();
  if (has_gicv3_sysregs()) {
    // Without SRE at EL2, EL1's own ICC_SRE_EL1.SRE is stuck at 0 and Linux
    // cannot use the GICv3 system registers (GICv3 spec 12.7.11).
    write_icc_sre_el2(read_icc_sre_el2() | kIccSreEl2Sre | kIccSreEl2Enable);
  }
  // VPIDR/VMPIDR reset to UNKNOWN values and are what EL1 reads as
  // MIDR/MPIDR: give the host the real ones (Arm ARM D17.2.150, D17.2.151).
  write_vpidr_el2(read_midr_el1());
  write_vmpidr_el2(read_mpidr_el1());
  write_sctlr_el1(kSctlrEl1HostReset);
  write_vtcr_el2(stage2.vtcr);
  write_vttbr_el2(stage2.vttbr);
  isb();
  // TLBs are UNKNOWN after reset: drop every EL1&0 entry of every VMID once.
  asm volatile("tlbi alle1\n dsb nsh" ::: "memory");
  uint64_t hcr = hcr::kRw | hcr::kTsc;
  if (stage2.vttbr) {
    hcr |= hcr::kVm;
  }
  write_hcr_el2(hcr);
  isb();
}

}  // namespace hyp::arm64
