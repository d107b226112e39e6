#include "host_fault.h"

#include "smmu.h"

#include "core/arch.h"
#include "core_glue.h"
#include "cpu.h"
#include "errata.h"
#include "gic.h"
#include "inject.h"
#include "log.h"
#include "spinlock.h"
#include "sysreg.h"

extern "C" uint64_t hyp_at_s1e1r(uint64_t va);

namespace hyp::arm64 {

namespace {

// At most kBurst lines per second across all CPUs: a host looping on a bad
// access must not turn the console into the bottleneck.
class RateLimit {
 public:
  // Returns true if a line may be printed; *suppressed gets how many were
  // dropped since the last printed one.
  bool allow(uint64_t* suppressed) {
    LockGuard guard(lock_);
    const uint64_t now = read_cntpct_el0();
    const uint64_t second = read_cntfrq_el0();
    if (now - window_start_ >= second) {
      window_start_ = now;
      printed_ = 0;
    }
    if (printed_ >= kBurst) {
      dropped_++;
      return false;
    }
    printed_++;
    *suppressed = dropped_;
    dropped_ = 0;
    return true;
  }

 private:
  static constexpr uint32_t kBurst = 10;
  SpinLock lock_;
  uint64_t window_start_ = 0;
  uint32_t printed_ = 0;
  uint64_t dropped_ = 0;
};

RateLimit g_fault_log_limit;

constexpr uint32_t kMaxRetries = 64;
// Retry bookkeeping key of a fault whose IPA could not be computed (AT failed).
constexpr uint64_t kNoIpa = ~0ull - 1;

const char* origin(uint64_t spsr) {
  return spsr_is_el0(spsr) ? "EL0" : "EL1";
}

bool cpu_has_erratum_834220() {
  return has_erratum_834220(read_midr_el1());
}

// The host's stage-1 translation of va for an EL1 read: the IPA, or false if it faults,
// including a walk that aborts (at.S). PAR_EL1 comes back as the host left it.
bool translate_host_va(uint64_t va, uint64_t* ipa) {
  const uint64_t par = hyp_at_s1e1r(va);
  if (par_failed(par)) {
    return false;
  }
  *ipa = ipa_from_par(par, va);
  return true;
}

struct FaultIpa {
  bool known = false;
  uint64_t value = 0;
};

FaultIpa fault_ipa(IpaSource source, uint64_t far) {
  switch (source) {
    case IpaSource::kHpfar:
      return {true, ipa_from_hpfar(read_hpfar_el2(), far)};
    case IpaSource::kAt: {
      FaultIpa r;
      r.known = translate_host_va(far, &r.value);
      return r;
    }
    case IpaSource::kUnknown:
      break;
  }
  return {};
}

Perms perms_of(Stage2Need need) {
  return Perms((need.r ? HYPHEAP_PERM_R : 0) | (need.w ? HYPHEAP_PERM_W : 0) |
               (need.x ? HYPHEAP_PERM_X : 0));
}

// A retry that keeps faulting on one key is a hyp bug, not a race: bounded.
bool may_retry(PerCpu& cpu, uint64_t key) {
  if (cpu.retry_ipa != key) {
    cpu.retry_ipa = key;
    cpu.retries = 0;
  }
  return ++cpu.retries <= kMaxRetries;
}

}  // namespace

void handle_host_stage2_abort(GuestRegs& regs, Esr esr) {
  PerCpu& cpu = this_cpu();
  const AbortIss iss(esr.iss());
  const bool data = esr.exception_class() == ExceptionClass::kDataAbortLowerEl;
  const uint64_t far = read_far_el2();
  const uint64_t spsr = read_spsr_el2();
  const Stage2Need need = stage2_need(esr);
  const bool entry_fault = is_entry_fault(iss.fault_status());
  const IpaSource source = fault_ipa_source(esr, cpu_has_erratum_834220());
  const FaultIpa ipa = fault_ipa(source, far);
  if (data && ipa.known && emulate_redistributor_access(regs, esr, Ipa(ipa.value))) {
    return;  // an RD_base frame the hyp keeps and emulates (gic.h)
  }
  // Retried: an entry fault the host's stage-2 no longer raises (a race with an update the
  // core made on another CPU: break-before-make leaves the entry invalid for a moment), or
  // one whose VA the host's own stage-1 no longer translates (it changed meanwhile, or
  // erratum 834220 reported a stage-2 fault where a stage-1 one is due: the retried access
  // takes that one at EL1). Everything else, above the IPA space included, is refused now.
  bool allowed = false;
  uint64_t key = kNoIpa;
  if (entry_fault && ipa.known) {
    allowed = core_glue_host_access_allowed(Ipa(ipa.value), perms_of(need));
    key = ipa.value;
  } else if (entry_fault && source == IpaSource::kAt) {
    allowed = true;
  }
  if (allowed) {
    if (may_retry(cpu, key)) {
      cpu.exits.stage2_retries.inc();
      return;
    }
    log("cpu%u: host access to ipa %lx va %lx keeps faulting though allowed: injecting", cpu.index,
        key, far);
  } else {
    cpu.exits.stage2_faults.inc();
  }
  cpu.retry_ipa = ~0ull;
  uint64_t suppressed = 0;
  if (g_fault_log_limit.allow(&suppressed)) {
    log("host %s stage-2 %s fault cpu%u: ipa %lx%s va %lx%s pc %lx esr %lx owner %u%s "
        "(%lu not logged)",
        origin(spsr), data ? "data" : "instruction", cpu.index, ipa.value,
        ipa.known ? "" : "(unknown)", far, iss.far_not_valid() ? "(invalid)" : "", read_elr_el2(),
        esr.value(), ipa.known ? core_glue_page_owner(Ipa(ipa.value)).value() : 0,
        iss.cache_maintenance() ? " cache maintenance, skipped"
                                : (need.w ? " write" : (need.x ? " exec" : "")),
        suppressed);
  }
  if (refused_access_is_skipped(esr)) {
    cpu.exits.cmo_skipped.inc();
    write_elr_el2(read_elr_el2() + 4);  // ESR_EL2.IL: a 32-bit instruction
    return;
  }
  cpu.exits.injected_aborts.inc();
  inject_abort(data ? AbortKind::kData : AbortKind::kInstruction, far, data && iss.write());
}

}  // namespace hyp::arm64

namespace hyp::arch {

// Counted by handle_host_stage2_abort() on each CPU; see CpuCounter for why a racy sum is
// safe. CPUs that are off keep their counts (PerCpu lives as long as the hyp).
HostFaultCounts host_fault_counts() {
  arm64::CpuTable& cpus = arm64::cpu_table();
  HostFaultCounts sum;
  for (size_t i = 0; i < cpus.count(); ++i) {
    const arm64::ExitCounters& e = cpus.cpu(i).exits;
    sum.faults += e.stage2_faults.get();
    sum.injected += e.injected_aborts.get();
    sum.spurious += e.stage2_retries.get();
  }
  // Blocked device accesses are counted as the event queue is drained, which reading the
  // counters does (the hyp takes no SMMU interrupt).
  sum.dma_faults = arm64::smmu_drain_events();
  return sum;
}

}  // namespace hyp::arch
