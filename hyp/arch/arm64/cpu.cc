#include "cpu.h"

#include <new>

namespace hyp::arm64 {

PerCpu hyp_boot_percpu;

namespace {
CpuTable g_cpus;
}

CpuTable& cpu_table() {
  return g_cpus;
}

void CpuTable::init(PerCpu* cpus, const uint64_t* mpidrs, size_t count) {
  cpus_ = cpus;
  count_ = count;
  for (size_t i = 0; i < count; ++i) {
    // In place: a PerCpu temporary would take a page of the small boot stack.
    new (&cpus_[i]) PerCpu();
    cpus_[i].index = static_cast<uint32_t>(i);
    cpus_[i].mpidr = mpidrs[i] & kMpidrAffinityMask;
  }
}

PerCpu* CpuTable::find(uint64_t mpidr) {
  for (size_t i = 0; i < count_; ++i) {
    if (cpus_[i].mpidr == (mpidr & kMpidrAffinityMask)) {
      return &cpus_[i];
    }
  }
  return nullptr;
}

bool CpuTable::claim_for_on(PerCpu& cpu, CpuPower* seen) {
  CpuPower expected = CpuPower::kOff;
  if (__atomic_compare_exchange_n(&cpu.power, &expected, CpuPower::kOnPending, false,
                                  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    return true;
  }
  *seen = expected;
  return false;
}

}  // namespace hyp::arm64
