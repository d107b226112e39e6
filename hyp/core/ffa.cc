// FF-A dispatch and the partition's vCPU state machine (docs/abi.md, "FF-A"). Every call is
// decoded and validated here before anything changes; the arch only moves registers and
// switches contexts as the FfaOutcome says. Mailbox calls are in ffa_mailbox.cc, memory
// calls in ffa_memory.cc.
#include "ffa_abi.h"
#include "ffa_regs.h"
#include "hyp.h"
#include "lock.h"

namespace hyp {
namespace {

using ffa::clear;
using ffa::set_error;
using ffa::set_success;

constexpr uint16_t kHostId = HYPHEAP_FFA_ID_HOST;
constexpr uint16_t kSvmId = HYPHEAP_FFA_ID_SVM;
// The secure VM's second endpoint, its OP-TEE face (docs/hypervisor.md): the same vCPUs
// serve it. FFA_INTERRUPT and FFA_RUN name a vCPU by the VM's first id whichever endpoint
// the request went to, since a vCPU belongs to the VM, not to an endpoint.
constexpr uint16_t kOpteeId = HYPHEAP_FFA_ID_OPTEE;
constexpr VmId kPartitionVm{HYPHEAP_VMID_SECURE_0};

constexpr bool is_smc64(uint32_t fid) {
  return (fid & ffa::kSmc64Bit) != 0;
}

// x0..x7 of a direct message as the receiver gets it: the 32-bit form carries w-registers,
// so the upper halves (which SMCCC says the callee ignores) are zero, and nothing past x7
// crosses from one world to the other.
void set_message(FfaRegs& r, uint32_t fid, uint32_t w1, const FfaRegs& from) {
  const uint64_t mask = is_smc64(fid) ? ~0ULL : 0xffffffffULL;
  uint64_t data[5];
  for (unsigned i = 0; i < 5; i++)
    data[i] = from.x[3 + i] & mask;
  clear(r);
  r.x[0] = fid;
  r.x[1] = w1;
  for (unsigned i = 0; i < 5; i++)
    r.x[3 + i] = data[i];
}

// FFA_VERSION: any v1.x caller is served (the callee reports its own version and the caller
// adapts); the version the caller speaks decides descriptor formats from then on.
void version(FfaRegs& r, uint32_t* negotiated) {
  const auto requested = uint32_t(r.x[1]);
  clear(r);
  if ((requested & ffa::kVersionMbz) != 0 || ffa::version_major(requested) != 1) {
    r.x[0] = uint64_t(int64_t(ffa::kNotSupported));
    return;
  }
  const uint32_t speak = requested < ffa::kVersionOurs ? requested : ffa::kVersionOurs;
  __atomic_store_n(negotiated, speak, __ATOMIC_RELAXED);
  r.x[0] = ffa::kVersionOurs;
}

constexpr uint32_t kHostFeatures[] = {
    ffa::kError,       ffa::kSuccess32,        ffa::kInterrupt,  ffa::kVersion,
    ffa::kFeatures,    ffa::kRxRelease,        ffa::kRxtxMap32,  ffa::kRxtxMap64,
    ffa::kRxtxUnmap,   ffa::kPartitionInfoGet, ffa::kIdGet,      ffa::kRun,
    ffa::kDirectReq32, ffa::kDirectReq64,      ffa::kMemShare32, ffa::kMemShare64,
    ffa::kMemLend32,   ffa::kMemLend64,        ffa::kMemFragTx,  ffa::kMemReclaim,
    ffa::kMemOpResume,
};
constexpr uint32_t kPartitionFeatures[] = {
    ffa::kError, ffa::kSuccess32, ffa::kVersion,      ffa::kFeatures,
    ffa::kIdGet, ffa::kMsgWait,   ffa::kDirectResp32, ffa::kDirectResp64,
};

// FFA_FEATURES of a function id: SUCCESS with no properties for what this side may call
// (RXTX_MAP's w2 = 0 says 4 KiB minimum buffer size and alignment; MEM_SHARE/LEND's says no
// buffer but TX), NOT_SUPPORTED for the rest, including every v1.1 feature id (bit 31
// clear).
template <size_t N>
void features(FfaRegs& r, const uint32_t (&table)[N]) {
  const auto id = uint32_t(r.x[1]);
  for (const uint32_t f : table) {
    if (f == id) {
      set_success(r);
      return;
    }
  }
  set_error(r, ffa::kNotSupported);
}

}  // namespace

class FfaDispatcher {
 public:
  explicit FfaDispatcher(Hyp& hyp) : hyp_(hyp), st_(hyp.ffa_) {}

  FfaOutcome host(unsigned cpu, FfaRegs& r) {
    check_cpu(cpu);
    const auto fid = uint32_t(r.x[0]);
    switch (fid) {
      case ffa::kVersion:
        version(r, &st_.host_version);
        break;
      case ffa::kIdGet:
        set_success(r, kHostId);
        break;
      case ffa::kFeatures:
        features(r, kHostFeatures);
        break;
      case ffa::kRxtxMap32:
      case ffa::kRxtxMap64:
        hyp_.ffa_rxtx_map(r, is_smc64(fid));
        break;
      case ffa::kRxtxUnmap:
        hyp_.ffa_rxtx_unmap(r);
        break;
      case ffa::kRxRelease:
        hyp_.ffa_rx_release(r);
        break;
      case ffa::kPartitionInfoGet:
        hyp_.ffa_partition_info_get(r);
        break;
      case ffa::kDirectReq32:
      case ffa::kDirectReq64:
        return direct_request(cpu, r, fid);
      case ffa::kRun:
        return run(cpu, r);
      case ffa::kMemShare32:
      case ffa::kMemShare64:
      case ffa::kMemLend32:
      case ffa::kMemLend64:
        hyp_.ffa_mem_send(cpu, r, fid);
        break;
      case ffa::kMemFragTx:
        hyp_.ffa_mem_frag_tx(cpu, r);
        break;
      case ffa::kMemOpResume:
        hyp_.ffa_mem_resume(cpu, r);
        break;
      case ffa::kMemReclaim:
        hyp_.ffa_mem_reclaim(cpu, r);
        break;
      default:
        set_error(r, ffa::kNotSupported);
        break;
    }
    return {};
  }

  FfaOutcome partition(unsigned cpu, unsigned vcpu, FfaRegs& r) {
    check_cpu(cpu);
    check_vcpu(vcpu);
    const auto fid = uint32_t(r.x[0]);
    switch (fid) {
      case ffa::kVersion: {
        uint32_t ignored = 0;
        version(r, &ignored);
        return {};
      }
      case ffa::kIdGet:
        set_success(r, kSvmId);
        return {};
      case ffa::kFeatures:
        features(r, kPartitionFeatures);
        return {};
      default:
        break;
    }
    {
      LockGuard guard(st_.lock);
      FfaVcpu& v = st_.vcpus[vcpu];
      if (v.state == VcpuState::kBooting) {
        // Boot runs before any host call: nothing to hand back but "ready" (or its failure).
        if (fid != ffa::kMsgWait) {
          set_error(r, fid == ffa::kDirectResp32 || fid == ffa::kDirectResp64 ? ffa::kDenied
                                                                              : ffa::kNotSupported);
          return {};
        }
        if (!st_.aborted) {
          v.state = VcpuState::kWaiting;
          clear(r);
          return {FfaNext::kReturnToHost, uint16_t(vcpu)};
        }
      } else {
        if (v.state != VcpuState::kRunning || v.cpu != cpu)
          arch::fatal("ffa: a call from a partition vCPU that is not running there");
        if (!st_.aborted)
          return running_call(cpu, vcpu, v, r, fid);
      }
    }
    // Another vCPU faulted while this one ran (or booted): the request in flight fails with
    // it, and this vCPU is out of the partition for good.
    leave_aborted(cpu, vcpu);
    set_error(r, ffa::kAborted);
    return {FfaNext::kReturnToHost, uint16_t(vcpu)};
  }

  // False, with nothing changed, once the partition aborted: the host decides when a CPU
  // first starts (PSCI CPU_ON), so an abort on another CPU may come just before. Decided
  // here under the state lock, not by the arch's own flag, so no abort can slip in between.
  bool booting(unsigned vcpu) {
    check_vcpu(vcpu);
    LockGuard guard(st_.lock);
    FfaVcpu& v = st_.vcpus[vcpu];
    if (st_.aborted)
      return false;
    if (v.state != VcpuState::kOff)
      arch::fatal("ffa: a partition vCPU booted twice");
    v.state = VcpuState::kBooting;
    return true;
  }

  void preempted(unsigned cpu, unsigned vcpu, FfaRegs& host_regs) {
    check_cpu(cpu);
    check_vcpu(vcpu);
    {
      LockGuard guard(st_.lock);
      FfaVcpu& v = st_.vcpus[vcpu];
      if (v.state != VcpuState::kRunning || v.cpu != cpu)
        arch::fatal("ffa: preemption of a partition vCPU that is not running there");
      if (!st_.aborted) {
        leave(cpu, v, VcpuState::kPreempted);
        clear(host_regs);
        host_regs.x[0] = ffa::kInterrupt;
        host_regs.x[1] = ffa::pack_ids(kSvmId, uint16_t(vcpu));
        return;
      }
    }
    leave_aborted(cpu, vcpu);
    set_error(host_regs, ffa::kAborted);
  }

  void aborted(unsigned cpu, unsigned vcpu, FfaRegs& host_regs) {
    check_cpu(cpu);
    check_vcpu(vcpu);
    Vm& vm = partition_vm();
    // The secure VM's lock first (lock order), so no HOLD or PIN can slip in between the
    // abort and the drop of the marks.
    LockGuard vm_guard(vm.lock);
    bool last_out = false;
    {
      LockGuard guard(st_.lock);
      FfaVcpu& v = st_.vcpus[vcpu];
      const bool running_here = v.state == VcpuState::kRunning && v.cpu == cpu;
      if (!running_here && v.state != VcpuState::kBooting)
        arch::fatal("ffa: abort from a partition vCPU that is not running there");
      if (running_here)
        leave(cpu, v, VcpuState::kOff);
      else
        v.state = VcpuState::kOff;
      st_.aborted = true;
      last_out = !st_.in_partition();
    }
    // Another vCPU still running keeps using what it holds: its exit drops the marks.
    if (last_out)
      hyp_.drop_marks(vm);
    set_error(host_regs, ffa::kAborted);
  }

  bool is_aborted() const {
    LockGuard guard(st_.lock);
    return st_.aborted;
  }

  VcpuState vcpu_state(unsigned vcpu) const {
    check_vcpu(vcpu);
    LockGuard guard(st_.lock);
    return st_.vcpus[vcpu].state;
  }

 private:
  static void check_cpu(unsigned cpu) {
    if (cpu >= Hyp::kMaxCpus)
      arch::fatal("ffa: cpu index out of range");
  }
  static void check_vcpu(unsigned vcpu) {
    if (vcpu >= Hyp::ffa_vcpu_count())
      arch::fatal("ffa: vcpu index out of range");
  }

  bool has_partition() const { return hyp_.find_secure_vm(kPartitionVm) != nullptr; }

  Vm& partition_vm() {
    Vm* vm = hyp_.find_secure_vm(kPartitionVm);
    if (vm == nullptr)
      arch::fatal("ffa: a partition vCPU runs but its VM does not exist");
    return *vm;
  }

  // vCPU `vcpu`, running (or booting) on `cpu`, leaves the aborted partition: it is OFF, and
  // if it was the last one in the partition every mark of the secure VM goes (the rule in
  // ffa_state.h). Only this CPU changes the state of the vCPU it runs, so the check made
  // under the state lock alone still holds once both locks are taken in order here.
  void leave_aborted(unsigned cpu, unsigned vcpu) {
    Vm& vm = partition_vm();
    LockGuard vm_guard(vm.lock);
    bool last_out = false;
    {
      LockGuard guard(st_.lock);
      FfaVcpu& v = st_.vcpus[vcpu];
      if (v.state == VcpuState::kRunning && v.cpu == cpu)
        leave(cpu, v, VcpuState::kOff);
      else if (v.state == VcpuState::kBooting)
        v.state = VcpuState::kOff;
      else
        arch::fatal("ffa: a vCPU that is not in the partition left it");
      last_out = !st_.in_partition();
    }
    if (last_out)
      hyp_.drop_marks(vm);
  }

  // Under the state lock: CPU `cpu` leaves vCPU `v` for the host.
  void leave(unsigned cpu, FfaVcpu& v, VcpuState next) {
    v.state = next;
    st_.cpus[cpu] = FfaCpu{};
  }
  void enter(unsigned cpu, unsigned vcpu, FfaVcpu& v) {
    if (st_.cpus[cpu].in_partition)
      arch::fatal("ffa: a host call on a CPU that runs a partition vCPU");
    v.state = VcpuState::kRunning;
    v.cpu = uint16_t(cpu);
    st_.cpus[cpu] = FfaCpu{true, uint16_t(vcpu)};
  }

  // Under the state lock, from vCPU `v` running on `cpu` in a partition that has not aborted.
  FfaOutcome running_call(unsigned cpu, unsigned vcpu, FfaVcpu& v, FfaRegs& r, uint32_t fid) {
    switch (fid) {
      case ffa::kDirectResp32:
      case ffa::kDirectResp64:
        return direct_response(cpu, vcpu, v, r, fid);
      case ffa::kMsgWait:
        // Only a response ends a request: waiting instead would leave the host's call hanging.
        set_error(r, ffa::kDenied);
        return {};
      default:
        set_error(r, ffa::kNotSupported);
        return {};
    }
  }

  // FFA_MSG_SEND_DIRECT_REQ from the host: vCPU `cpu` takes it on this CPU if it is waiting.
  FfaOutcome direct_request(unsigned cpu, FfaRegs& r, uint32_t fid) {
    const auto w1 = uint32_t(r.x[1]);
    const auto dst = uint16_t(w1 & 0xffff);
    // OP-TEE's FF-A ABI is defined in w-registers only: its endpoint takes SMC32 alone.
    const bool dst_ok = dst == kSvmId || (dst == kOpteeId && !is_smc64(fid));
    if (w1 >> 16 != kHostId || !dst_ok || !has_partition() || uint32_t(r.x[2]) != 0) {
      set_error(r, ffa::kInvalidParameters);
      return {};
    }
    LockGuard guard(st_.lock);
    if (st_.aborted) {
      set_error(r, ffa::kAborted);
      return {};
    }
    FfaVcpu& v = st_.vcpus[cpu];
    if (v.state != VcpuState::kWaiting) {
      set_error(r, ffa::kBusy);
      return {};
    }
    enter(cpu, cpu, v);
    v.width64 = is_smc64(fid);
    v.dst = dst;
    set_message(r, fid, w1, r);
    return {FfaNext::kEnterPartition, uint16_t(cpu)};
  }

  // Under the state lock, from the running vCPU.
  FfaOutcome direct_response(unsigned cpu, unsigned vcpu, FfaVcpu& v, FfaRegs& r, uint32_t fid) {
    const auto w1 = uint32_t(r.x[1]);
    // From the endpoint the request went to: the host's driver for the other one would
    // take it for an answer of its own.
    if (is_smc64(fid) != v.width64 || w1 != ffa::pack_ids(v.dst, kHostId) ||
        uint32_t(r.x[2]) != 0) {
      set_error(r, ffa::kInvalidParameters);
      return {};
    }
    leave(cpu, v, VcpuState::kWaiting);
    set_message(r, fid, w1, r);
    return {FfaNext::kReturnToHost, uint16_t(vcpu)};
  }

  // FFA_RUN: resume a preempted vCPU, on whichever CPU the host asks from.
  FfaOutcome run(unsigned cpu, FfaRegs& r) {
    const auto w1 = uint32_t(r.x[1]);
    const unsigned vcpu = w1 & 0xffff;
    if (w1 >> 16 != kSvmId || vcpu >= Hyp::ffa_vcpu_count() || !has_partition()) {
      set_error(r, ffa::kInvalidParameters);
      return {};
    }
    LockGuard guard(st_.lock);
    if (st_.aborted) {
      set_error(r, ffa::kAborted);
      return {};
    }
    FfaVcpu& v = st_.vcpus[vcpu];
    switch (v.state) {
      case VcpuState::kPreempted:
        enter(cpu, vcpu, v);
        return {FfaNext::kResumePartition, uint16_t(vcpu)};
      case VcpuState::kRunning:
        set_error(r, ffa::kBusy);
        return {};
      default:
        // Off, booting or waiting: there is no interrupted request to resume.
        set_error(r, ffa::kDenied);
        return {};
    }
  }

  Hyp& hyp_;
  FfaState<Hyp::kMaxCpus>& st_;
};

FfaOutcome Hyp::ffa_host_call(unsigned cpu, FfaRegs& regs) {
  stats_.host_calls.add(1);
  return FfaDispatcher(*this).host(cpu, regs);
}

FfaOutcome Hyp::ffa_partition_call(unsigned cpu, unsigned vcpu, FfaRegs& regs) {
  return FfaDispatcher(*this).partition(cpu, vcpu, regs);
}

bool Hyp::ffa_vcpu_booting(unsigned vcpu) {
  return FfaDispatcher(*this).booting(vcpu);
}

void Hyp::ffa_partition_preempted(unsigned cpu, unsigned vcpu, FfaRegs& host_regs) {
  FfaDispatcher(*this).preempted(cpu, vcpu, host_regs);
}

void Hyp::ffa_partition_aborted(unsigned cpu, unsigned vcpu, FfaRegs& host_regs) {
  FfaDispatcher(*this).aborted(cpu, vcpu, host_regs);
}

bool Hyp::ffa_aborted() const {
  return FfaDispatcher(const_cast<Hyp&>(*this)).is_aborted();
}

VcpuState Hyp::ffa_vcpu_state(unsigned vcpu) const {
  return FfaDispatcher(const_cast<Hyp&>(*this)).vcpu_state(vcpu);
}

}  // namespace hyp
