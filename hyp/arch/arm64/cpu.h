// Per-CPU state of the hyp. Each CPU finds its own through TPIDR_EL2; the
// objects live in the hyp carve-out.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "platform_config.h"
#include "sysreg.h"

namespace hyp::arm64 {

inline constexpr size_t kMaxCpus = HYP_MAX_CPUS;

// Power state as the hyp sees it, for PSCI CPU_ON races: only the CPU that
// moves a core from kOff to kOnPending may write its host entry point.
enum class CpuPower : uint32_t { kOff, kOnPending, kOn };

// Exits counted per kind on each CPU (no atomics: only the owner writes).
struct ExitCounters {
  uint64_t hvc = 0;
  uint64_t smc = 0;
  uint64_t psci = 0;
  uint64_t hypheap_calls = 0;
  uint64_t unknown_calls = 0;
  uint64_t stage2_faults = 0;
  uint64_t stage2_retries = 0;
  uint64_t injected_aborts = 0;
  uint64_t unexpected = 0;
};

struct PerCpu {
  uint32_t index = 0;
  uint64_t mpidr = 0;
  uint64_t stack_top = 0;
  // Set by the CPU that issued CPU_ON for this one; read by this CPU at entry.
  uint64_t host_entry = 0;
  uint64_t host_context = 0;
  CpuPower power = CpuPower::kOff;
  // Stage-2 fault retries in a row on one IPA (host_fault.cc).
  uint64_t retry_ipa = ~0ull;
  uint32_t retries = 0;
  ExitCounters exits;
};

inline PerCpu& this_cpu() {
  return *reinterpret_cast<PerCpu*>(read_tpidr_el2());
}

// The table of CPUs from the DTB, MPIDR to index.
class CpuTable {
 public:
  void init(PerCpu* cpus, const uint64_t* mpidrs, size_t count);
  size_t count() const { return count_; }
  PerCpu& cpu(size_t index) { return cpus_[index]; }
  // nullptr if no CPU of the DTB has this MPIDR affinity.
  PerCpu* find(uint64_t mpidr);

  CpuPower power(const PerCpu& cpu) const { return __atomic_load_n(&cpu.power, __ATOMIC_ACQUIRE); }
  void set_power(PerCpu& cpu, CpuPower state) {
    __atomic_store_n(&cpu.power, state, __ATOMIC_RELEASE);
  }
  // Atomically kOff -> kOnPending; returns the state seen if it was not kOff.
  bool claim_for_on(PerCpu& cpu, CpuPower* seen);

 private:
  PerCpu* cpus_ = nullptr;
  size_t count_ = 0;
};

CpuTable& cpu_table();

}  // namespace hyp::arm64
