#include "pmu.h"

#include "frame.h"
#include "inject.h"
#include "sysreg.h"

namespace hyp::arm64 {

namespace {

uint64_t read_id_aa64dfr0() {
  uint64_t v;
  asm volatile("mrs %0, id_aa64dfr0_el1" : "=r"(v));
  return v;
}

bool has_pmuv3() {
  const uint32_t ver = pmu_version(read_id_aa64dfr0());
  return ver != 0 && ver != 0xf;
}

uint32_t nr_counters() {
  return (read_pmcr_el0() >> 11) & 0x1f;
}

// Whether the host's PMSELR_EL0.SEL names an event counter (or, for PMXEVTYPER_EL0, the
// cycle counter's filter, 31).
bool selects_counter(bool cycle_counter_ok) {
  const uint64_t sel = read_pmselr_el0() & 0x1f;
  return sel < nr_counters() || (cycle_counter_ok && sel == 31);
}

// PMEVCNTR<n>/PMEVTYPER<n> through the selector, so one instruction serves every n; the
// host's own PMSELR_EL0 is put back.
uint64_t indirect(uint32_t n, bool type, bool read, uint64_t value) {
  const uint64_t saved = read_pmselr_el0();
  write_pmselr_el0(n);
  isb();
  if (type) {
    if (read) {
      value = read_pmxevtyper_el0();
    } else {
      write_pmxevtyper_el0(host_pmu_type(value));
    }
  } else if (read) {
    value = read_pmxevcntr_el0();
  } else {
    write_pmxevcntr_el0(value);
  }
  write_pmselr_el0(saved);
  isb();
  return value;
}

// A read into v, or a write of `written`, of a register the host may read and write.
#define HYP_PMU_ACCESS(reg, written) \
  do {                               \
    if (r) {                         \
      v = read_##reg();              \
    } else {                         \
      write_##reg(written);          \
    }                                \
  } while (0)

// Performs the access; false if it is UNDEFINED (a read-only register written, a
// write-only one read, a counter that does not exist).
bool perform(const PmuAccess& a, uint64_t* value) {
  const bool r = a.read;
  uint64_t& v = *value;
  switch (a.reg) {
    case PmuReg::kNone:
      return false;
    case PmuReg::kPmcr:
      HYP_PMU_ACCESS(pmcr_el0, v);
      return true;
    case PmuReg::kCntenset:
      HYP_PMU_ACCESS(pmcntenset_el0, v);
      return true;
    case PmuReg::kCntenclr:
      HYP_PMU_ACCESS(pmcntenclr_el0, v);
      return true;
    case PmuReg::kOvsclr:
      HYP_PMU_ACCESS(pmovsclr_el0, v);
      return true;
    case PmuReg::kOvsset:
      HYP_PMU_ACCESS(pmovsset_el0, v);
      return true;
    case PmuReg::kSwinc:  // write-only
      if (r) {
        return false;
      }
      asm volatile("msr pmswinc_el0, %0" ::"r"(v));
      return true;
    case PmuReg::kSelr:
      HYP_PMU_ACCESS(pmselr_el0, v);
      return true;
    case PmuReg::kCeid0:  // read-only
    case PmuReg::kCeid1:
      if (!r) {
        return false;
      }
      if (a.reg == PmuReg::kCeid0) {
        asm volatile("mrs %0, pmceid0_el0" : "=r"(v));
      } else {
        asm volatile("mrs %0, pmceid1_el0" : "=r"(v));
      }
      return true;
    case PmuReg::kCcntr:
      HYP_PMU_ACCESS(pmccntr_el0, v);
      return true;
    case PmuReg::kXevtyper:
      // With PMSELR_EL0 = 31 this is PMCCFILTR_EL0: the same mask applies. A selector
      // naming no counter makes the access CONSTRAINED UNPREDICTABLE, at EL2 too: refused
      // rather than performed.
      if (!selects_counter(/*cycle_counter_ok=*/true)) {
        return false;
      }
      HYP_PMU_ACCESS(pmxevtyper_el0, host_pmu_type(v));
      return true;
    case PmuReg::kXevcntr:
      if (!selects_counter(/*cycle_counter_ok=*/false)) {
        return false;
      }
      HYP_PMU_ACCESS(pmxevcntr_el0, v);
      return true;
    case PmuReg::kUserenr:
      HYP_PMU_ACCESS(pmuserenr_el0, v);
      return true;
    case PmuReg::kIntenset:
      HYP_PMU_ACCESS(pmintenset_el1, v);
      return true;
    case PmuReg::kIntenclr:
      HYP_PMU_ACCESS(pmintenclr_el1, v);
      return true;
    case PmuReg::kEvtyper:
      if (a.n == 31) {
        HYP_PMU_ACCESS(pmccfiltr_el0, host_pmu_type(v));
        return true;
      }
      [[fallthrough]];
    case PmuReg::kEvcntr:
      if (a.n >= nr_counters()) {
        return false;
      }
      v = indirect(a.n, a.reg == PmuReg::kEvtyper, r, v);
      return true;
  }
  return false;
}

#undef HYP_PMU_ACCESS

}  // namespace

void configure_pmu_for_host() {
  const uint64_t dfr0 = read_id_aa64dfr0();
  // PMCR_EL0 is UNDEFINED without a PMU: ask only when there is one.
  const uint64_t mdcr = mdcr_el2_for_host(dfr0, pmu_version(dfr0) != 0 ? read_pmcr_el0() : 0);
  write_mdcr_el2(mdcr);
  // The other ways to watch EL2 reset to UNKNOWN values where they exist (not on
  // Cortex-A57): statistical profiling of EL2 (PMSCR_EL2.E2SPE; MDCR_EL2.E2PB = 0 keeps
  // the profiling buffer from the host anyway) and self-hosted trace of EL2
  // (TRFCR_EL2.E2TRE).
  if (((dfr0 >> 32) & 0xf) != 0) {
    asm volatile("msr S3_4_C9_C9_0, xzr");  // PMSCR_EL2
  }
  if (((dfr0 >> 40) & 0xf) != 0) {
    asm volatile("msr S3_4_C1_C2_1, xzr");  // TRFCR_EL2
  }
  isb();
  if ((mdcr & mdcr::kTpm) == 0 || !has_pmuv3()) {
    return;
  }
  // The event types reset to UNKNOWN values, NSH included: start the host with none set.
  for (uint32_t n = 0; n < nr_counters(); n++) {
    write_pmselr_el0(n);
    isb();
    write_pmxevtyper_el0(host_pmu_type(read_pmxevtyper_el0()));
  }
  write_pmselr_el0(0);
  write_pmccfiltr_el0(host_pmu_type(read_pmccfiltr_el0()));
  isb();
}

bool handle_pmu_access(GuestRegs& regs, Esr esr) {
  const PmuAccess a = decode_pmu_access(esr.iss());
  if (a.reg == PmuReg::kNone) {
    return false;
  }
  uint64_t value = a.rt == 31 ? 0 : regs.x[a.rt];
  if (!has_pmuv3() || !perform(a, &value)) {
    inject_undefined();
    return true;
  }
  if (a.read && a.rt != 31) {
    regs.x[a.rt] = value;
  }
  write_elr_el2(read_elr_el2() + 4);
  return true;
}

}  // namespace hyp::arm64
