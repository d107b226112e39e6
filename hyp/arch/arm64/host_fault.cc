#include "host_fault.h"

#include "core/arch.h"
#include "core_glue.h"
#include "cpu.h"
#include "inject.h"
#include "log.h"
#include "spinlock.h"
#include "sysreg.h"

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

const char* origin(uint64_t spsr) {
  return spsr_is_el0(spsr) ? "EL0" : "EL1";
}

}  // namespace

void handle_host_stage2_abort(GuestRegs& regs, Esr esr) {
  (void)regs;
  PerCpu& cpu = this_cpu();
  const AbortIss iss(esr.iss());
  const bool data = esr.exception_class() == ExceptionClass::kDataAbortLowerEl;
  const uint64_t far = read_far_el2();
  const Ipa ipa(ipa_from_hpfar(read_hpfar_el2(), far));
  const uint64_t spsr = read_spsr_el2();
  const bool write = data && iss.write();
  // A fault that raced with a stage-2 update on another CPU: retry the
  // access, a bounded number of times in a row so a core bug cannot turn
  // into a silent livelock of the host.
  const bool allowed = core_glue_host_access_allowed(ipa, write);
  if (allowed) {
    if (cpu.retry_ipa == ipa.value() && ++cpu.retries > kMaxRetries) {
      log("cpu%u: host access to ipa %lx keeps faulting though allowed: injecting", cpu.index,
          ipa.value());
    } else {
      if (cpu.retry_ipa != ipa.value()) {
        cpu.retry_ipa = ipa.value();
        cpu.retries = 0;
      }
      cpu.exits.stage2_retries.inc();
      return;
    }
  }
  cpu.retry_ipa = ~0ull;
  if (!allowed) {
    cpu.exits.stage2_faults.inc();
  }
  uint64_t suppressed = 0;
  if (g_fault_log_limit.allow(&suppressed)) {
    log("host %s stage-2 %s fault cpu%u: ipa %lx va %lx%s pc %lx esr %lx owner %u%s "
        "(%lu not logged)",
        origin(spsr), data ? "data" : "instruction", cpu.index, ipa.value(), far,
        iss.far_not_valid() ? "(invalid)" : "", read_elr_el2(), esr.value(),
        core_glue_page_owner(ipa).value(), write ? " write" : "", suppressed);
  }
  cpu.exits.injected_aborts.inc();
  inject_abort(data ? AbortKind::kData : AbortKind::kInstruction, far, write);
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
  return sum;
}

}  // namespace hyp::arch
