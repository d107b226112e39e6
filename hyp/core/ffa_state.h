// What the core remembers of FF-A between calls: the partition's vCPUs, which CPU runs
// which of them, the host's negotiated version and its RX/TX mailbox. Part of the Hyp
// object, so it is copied and restored with it (the fuzzer relies on that).
//
// Locks: the vCPU table, the CPU table, the versions and `aborted` are under `lock` (the
// FF-A state lock); the mailbox fields under the host VM lock, because mapping and
// unmapping the mailbox changes the host stage-2. `aborted` is written under the secure
// VM's lock as well, so HOLD and PIN (which hold only that lock) see it.
//
// After an abort the secure VM's pins and holds stay until no vCPU is in the partition any
// more (in_partition() false): a vCPU still running on another CPU (a DECRYPT for a host
// that called with its interrupts masked is never preempted) keeps using what it holds,
// so the host's reclaim answers BUSY until that vCPU leaves, through whichever exit comes
// first (its next FF-A call, which answers ABORTED; its preemption; its own fault). The
// last one out drops the marks under the secure VM's lock. No vCPU enters after an abort,
// so the set only shrinks and exactly one leaver finds it empty.
#pragma once

#include <cstdint>

#include "arch.h"
#include "types.h"

namespace hyp {

enum class VcpuState : uint8_t {
  kOff,        // never entered
  kBooting,    // entered at its entry point, not yet at FFA_MSG_WAIT
  kWaiting,    // at FFA_MSG_WAIT or after a direct response: takes the next request
  kRunning,    // handling a direct request on `cpu`
  kPreempted,  // a physical interrupt took its CPU back mid-request; FFA_RUN resumes it
};

struct FfaVcpu {
  VcpuState state = VcpuState::kOff;
  bool width64 = false;  // the request in flight is SMC64 (its response must be too)
  uint16_t cpu = 0;      // where it runs (kRunning)
  uint16_t dst = 0;      // the partition's FF-A id the request in flight went to
};

// What a physical CPU runs, as far as FF-A is concerned: the host, or vCPU `vcpu`.
struct FfaCpu {
  bool in_partition = false;
  uint16_t vcpu = 0;
};

template <unsigned kCpus>
struct FfaState {
  mutable arch::SpinLock lock;
  bool aborted = false;       // the partition faulted: it never runs again
  uint32_t host_version = 0;  // 0 until FFA_VERSION: treated as v1.0
  FfaVcpu vcpus[kCpus] = {};
  FfaCpu cpus[kCpus] = {};

  // Under `lock`: some vCPU executes partition code on a CPU (handles a request, or boots).
  bool in_partition() const {
    for (const FfaVcpu& v : vcpus) {
      if (v.state == VcpuState::kRunning || v.state == VcpuState::kBooting)
        return true;
    }
    return false;
  }

  // Under the host VM lock.
  bool mailbox_mapped = false;
  bool rx_full = false;  // the host owns the RX buffer until FFA_RX_RELEASE
  PhysAddr tx, rx;
};

}  // namespace hyp
