#include "fatal.h"

#include "log.h"
#include "psci.h"
#include "sysreg.h"

namespace hyp::arm64 {

void dump_el2_syndrome() {
  log("FATAL state: ESR_EL2 %016lx FAR_EL2 %016lx ELR_EL2 %016lx HPFAR_EL2 %016lx "
      "SPSR_EL2 %016lx MPIDR %lx",
      read_esr_el2(), read_far_el2(), read_elr_el2(), read_hpfar_el2(), read_spsr_el2(),
      read_mpidr_el1() & kMpidrAffinityMask);
}

void panic(const char* fmt, ...) {
  asm volatile("msr daifset, #0xf");
  va_list args;
  va_start(args, fmt);
  vlog("[hyp] FATAL: ", fmt, args);
  va_end(args);
  dump_el2_syndrome();
  psci_system_off();
}

}  // namespace hyp::arm64
