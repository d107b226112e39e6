// Per-CPU state of the hyp. Each CPU finds its own through TPIDR_EL2; the
// objects live in the hyp carve-out.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "platform_config.h"
#include "stack.h"
#include "sysreg.h"
#include "vcpu.h"

namespace hyp::arm64 {

inline constexpr size_t kMaxCpus = HYP_MAX_CPUS;

// Power state as the hyp sees it, for PSCI CPU_ON races: only the CPU that
// moves a core from kOff to kOnPending may write its host entry point.
enum class CpuPower : uint32_t { kOff, kOnPending, kOn };

// One CPU's count of something: only that CPU adds to it, any CPU may read it (STATS sums
// them while the others run). A single writer needs no read-modify-write atomics; the
// relaxed atomic load and store make each access one single-copy-atomic 64-bit access
// (Arm ARM B2.2.1), so a reader never sees a torn value, and the value only grows.
class CpuCounter {
 public:
  void inc() { __atomic_store_n(&value_, get() + 1, __ATOMIC_RELAXED); }
  uint64_t get() const { return __atomic_load_n(&value_, __ATOMIC_RELAXED); }

 private:
  uint64_t value_ = 0;
};

// Exits counted per kind on each CPU.
struct ExitCounters {
  CpuCounter hvc;
  CpuCounter smc;
  CpuCounter psci;
  CpuCounter hypheap_calls;
  CpuCounter unknown_calls;
  CpuCounter stage2_faults;   // on pages the host may not access that way
  CpuCounter stage2_retries;  // the access was allowed by the time it was checked
  CpuCounter injected_aborts;
  CpuCounter cmo_skipped;  // refused cache maintenance by VA, completed as a no-op
  CpuCounter unexpected;
  CpuCounter ffa_calls;           // FF-A calls from the host
  CpuCounter partition_exits;     // exits of a secure-VM vCPU, of every kind
  CpuCounter partition_preempts;  // of them: physical interrupts that sent it back to the host
};

struct PerCpu {
  // First, so vectors.S finds its top as TPIDR_EL2 + PERCPU_EMERGENCY_STACK_TOP (stack.h)
  // without a free register. Only the fatal path runs on it.
  alignas(16) uint8_t emergency_stack[HYP_EMERGENCY_STACK_SIZE] = {};
  // Set by the first fatal exception on this CPU: a second one (the fatal path itself
  // faulting) powers off without printing.
  bool in_fatal = false;
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
  CpuGuestState guest;
};

static_assert(offsetof(PerCpu, emergency_stack) + sizeof(PerCpu::emergency_stack) ==
              PERCPU_EMERGENCY_STACK_TOP);

// What TPIDR_EL2 points at from the first instruction (entry.S) until a CPU takes its own
// PerCpu: gives an early fatal exception an emergency stack too. Secondaries only use it
// with their MMU off, for a few instructions.
extern "C" PerCpu hyp_boot_percpu;

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
