// The secure VM's vCPUs and the switches between them and the host (docs/hypervisor.md,
// "The secure VM"). One vCPU per physical CPU; each is entered on the CPU that calls it and
// can be resumed (FFA_RUN) on another one, so its context is memory, not a CPU's registers.
//
// Every switch rewrites the trap frame vectors.S saved on the EL2 stack: the exception that
// came from one guest returns (restore_frame, eret) into the other.
#pragma once

#include <stdint.h>

#include <span>

#include "../../boot/range.h"
#include "core/ffa.h"
#include "frame.h"
#include "partition_stop.h"

namespace hyp::arm64 {

// The EL1 state a guest owns, switched in full (the host's virtual timer is not: see
// docs/hypervisor.md, "Interrupts and timers").
struct El1Regs {
  uint64_t sctlr, cpacr, ttbr0, ttbr1, tcr, mair, amair, vbar, contextidr;
  uint64_t tpidr_el0, tpidrro_el0, tpidr_el1, sp_el0, sp_el1, elr, spsr, esr, far, afsr0, afsr1,
      par, csselr, cntkctl, mdscr;
};

struct GuestContext {
  uint64_t x[31];
  uint64_t elr_el2;
  uint64_t spsr_el2;
  El1Regs el1;
};

enum class Guest : uint8_t { kHost, kPartition };

// Where a boot-time run of a vCPU returns to (vcpu_entry.S): the EL2 C context that started it.
struct BootJump {
  uint64_t regs[12];  // x19..x30
  uint64_t sp;
};

// This CPU's side of the switches (a member of PerCpu).
struct CpuGuestState {
  Guest guest = Guest::kHost;
  uint16_t vcpu = 0;
  // 1 from just before an eret into a partition vCPU until its next exit (partition_stop).
  uint32_t in_partition = 0;
  BootJump* boot_jump = nullptr;  // set while partition_boot_vcpu runs a vCPU
  uint64_t pmcnten = 0;           // the host's enabled PMU counters, off while a vCPU runs
  GuestContext host;              // the host's registers while a vCPU runs here
};

// Boot: everything the switches need, once the core and the host stage-2 exist. Copies the
// payload into VM 10's carve-out and writes its boot info; false if there is no partition.
struct PartitionBoot {
  uint64_t carveout_base = 0;
  uint64_t carveout_size = 0;
  MemRange pool;  // its carve-out pool (hyp/svm/carveout.h); empty if none
  uint64_t fault_ipa = 0;
  bool fault_op = false;
  bool fault_at_boot = false;
  uint64_t host_vttbr = 0;
  std::span<const MemRange> ram;  // every bank: the payload's stage-1 maps them all
};
void partition_init(const PartitionBoot& boot);

// The part of the partition's memory it writes itself (its data, bss, stacks, tables): what
// attest.h leaves out of the secure-VM checksum. Empty without a partition.
MemRange partition_writable();

// Runs this CPU's vCPU (index = CPU index) from its entry point to its first FFA_MSG_WAIT,
// before the host runs on this CPU; logs "ready" or "ABORTED". Only the first time a CPU
// starts, and only after vCPU 0 came up (it relocates the shared image). frame_stack: the
// EL2 stack its exits use (0: the current one).
void partition_boot_vcpu(uint64_t frame_stack);

// An FF-A call from the host (smccc.cc): the core answers it; the frame then holds what the
// CPU runs next (the host again, or a partition vCPU).
void partition_host_ffa_call(GuestRegs& frame);

// Which guest the exception came from, on this CPU.
Guest current_guest();

// Exits of a partition vCPU (vmexit.cc): a synchronous one, and an IRQ/FIQ/SError.
void partition_sync_exit(GuestRegs& frame);
void partition_async_exit(GuestRegs& frame, uint64_t kind);

// The partition is about to be entered (or re-entered) on this CPU from the frame: marks it
// running unless the secure VM was stopped (then this CPU never leaves EL2 again).
void partition_entering();

}  // namespace hyp::arm64
