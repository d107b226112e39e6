#include "vcpu.h"

#include <hypheap/abi.h>

#include "cache.h"
#include "core/ffa_abi.h"
#include "core_glue.h"
#include "cpu.h"
#include "fatal.h"
#include "log.h"
#include "partition.h"
#include "pmu.h"
#include "stack.h"
#include "svm/runtime/boot_info.h"
#include "sysreg.h"

// The payload, embedded in the image (svm_image.S).
extern "C" const char hyp_svm_image[], hyp_svm_image_end[];

extern "C" uint64_t hyp_boot_run(hyp::arm64::BootJump* jump, const uint64_t* regs,
                                 uint64_t frame_stack);
extern "C" [[noreturn]] void hyp_boot_return(hyp::arm64::BootJump* jump, uint64_t result);

namespace hyp::arm64 {

namespace {

#define READ_SYSREG(reg)                      \
  ({                                          \
    uint64_t v_;                              \
    asm volatile("mrs %0, " #reg : "=r"(v_)); \
    v_;                                       \
  })
#define WRITE_SYSREG(reg, v) asm volatile("msr " #reg ", %0" ::"r"(uint64_t(v)))

struct Partition {
  bool present = false;
  bool vcpu0_up = false;
  unsigned nr_vcpus = 0;
  uint64_t entry = 0;
  MemRange writable;
  uint64_t boot_info = 0;
  uint64_t vttbr = 0;
  uint64_t host_vttbr = 0;
  bool pmu = false;
};

constinit Partition g_svm;
constinit GuestContext g_vcpu[kMaxCpus];
constinit bool g_vcpu_started[kMaxCpus];
// Set once by partition_stop: from then on no vCPU is entered on any CPU.
constinit uint32_t g_stopped = 0;

void save_el1(El1Regs& r) {
  r.sctlr = READ_SYSREG(sctlr_el1);
  r.cpacr = READ_SYSREG(cpacr_el1);
  r.ttbr0 = READ_SYSREG(ttbr0_el1);
  r.ttbr1 = READ_SYSREG(ttbr1_el1);
  r.tcr = READ_SYSREG(tcr_el1);
  r.mair = READ_SYSREG(mair_el1);
  r.amair = READ_SYSREG(amair_el1);
  r.vbar = READ_SYSREG(vbar_el1);
  r.contextidr = READ_SYSREG(contextidr_el1);
  r.tpidr_el0 = READ_SYSREG(tpidr_el0);
  r.tpidrro_el0 = READ_SYSREG(tpidrro_el0);
  r.tpidr_el1 = READ_SYSREG(tpidr_el1);
  r.sp_el0 = READ_SYSREG(sp_el0);
  r.sp_el1 = READ_SYSREG(sp_el1);
  r.elr = READ_SYSREG(elr_el1);
  r.spsr = READ_SYSREG(spsr_el1);
  r.esr = READ_SYSREG(esr_el1);
  r.far = READ_SYSREG(far_el1);
  r.afsr0 = READ_SYSREG(afsr0_el1);
  r.afsr1 = READ_SYSREG(afsr1_el1);
  r.par = READ_SYSREG(par_el1);
  r.csselr = READ_SYSREG(csselr_el1);
  r.cntkctl = READ_SYSREG(cntkctl_el1);
  r.mdscr = READ_SYSREG(mdscr_el1);
}

void load_el1(const El1Regs& r) {
  WRITE_SYSREG(sctlr_el1, r.sctlr);
  WRITE_SYSREG(cpacr_el1, r.cpacr);
  WRITE_SYSREG(ttbr0_el1, r.ttbr0);
  WRITE_SYSREG(ttbr1_el1, r.ttbr1);
  WRITE_SYSREG(tcr_el1, r.tcr);
  WRITE_SYSREG(mair_el1, r.mair);
  WRITE_SYSREG(amair_el1, r.amair);
  WRITE_SYSREG(vbar_el1, r.vbar);
  WRITE_SYSREG(contextidr_el1, r.contextidr);
  WRITE_SYSREG(tpidr_el0, r.tpidr_el0);
  WRITE_SYSREG(tpidrro_el0, r.tpidrro_el0);
  WRITE_SYSREG(tpidr_el1, r.tpidr_el1);
  WRITE_SYSREG(sp_el0, r.sp_el0);
  WRITE_SYSREG(sp_el1, r.sp_el1);
  WRITE_SYSREG(elr_el1, r.elr);
  WRITE_SYSREG(spsr_el1, r.spsr);
  WRITE_SYSREG(esr_el1, r.esr);
  WRITE_SYSREG(far_el1, r.far);
  WRITE_SYSREG(afsr0_el1, r.afsr0);
  WRITE_SYSREG(afsr1_el1, r.afsr1);
  WRITE_SYSREG(par_el1, r.par);
  WRITE_SYSREG(csselr_el1, r.csselr);
  WRITE_SYSREG(cntkctl_el1, r.cntkctl);
  WRITE_SYSREG(mdscr_el1, r.mdscr);
}

// The EL2 controls of the host (host_el2.cc sets the same at boot) and of the partition.
void host_el2(CpuGuestState& g) {
  WRITE_SYSREG(vttbr_el2, g_svm.host_vttbr);
  WRITE_SYSREG(cptr_el2, kCptrNoTraps);
  WRITE_SYSREG(cnthctl_el2, kCnthctlHostTimers);
  WRITE_SYSREG(hcr_el2, hcr::kRw | hcr::kTsc | hcr::kVm);
  if (g_svm.pmu) {
    write_pmcntenset_el0(g.pmcnten);
  }
  isb();
}

void partition_el2(CpuGuestState& g, uint64_t host_spsr) {
  // The host's PMU counters would count what the partition does at EL1 (its cycles and
  // branches during a decryption): stopped while it runs.
  if (g_svm.pmu) {
    g.pmcnten = read_pmcntenset_el0();
    write_pmcntenclr_el0(g.pmcnten);
  }
  WRITE_SYSREG(cnthctl_el2, kCnthctlPartition);
  WRITE_SYSREG(cptr_el2, kCptrNoTraps | kCptrTfp);
  WRITE_SYSREG(vttbr_el2, g_svm.vttbr);
  WRITE_SYSREG(hcr_el2, hcr_for_partition(host_spsr));
  isb();
}

void save_guest(GuestContext& ctx, const GuestRegs& frame) {
  for (int i = 0; i < 31; ++i) {
    ctx.x[i] = frame.x[i];
  }
  ctx.elr_el2 = read_elr_el2();
  ctx.spsr_el2 = read_spsr_el2();
  save_el1(ctx.el1);
}

void load_guest(const GuestContext& ctx, GuestRegs& frame) {
  for (int i = 0; i < 31; ++i) {
    frame.x[i] = ctx.x[i];
  }
  write_elr_el2(ctx.elr_el2);
  write_spsr_el2(ctx.spsr_el2);
  load_el1(ctx.el1);
}

void copy_out(const FfaRegs& r, GuestRegs& frame) {
  for (int i = 0; i < 18; ++i) {
    frame.x[i] = r.x[i];
  }
}

FfaRegs copy_in(const GuestRegs& frame) {
  FfaRegs r;
  for (int i = 0; i < 18; ++i) {
    r.x[i] = frame.x[i];
  }
  return r;
}

void left_partition(CpuGuestState& g) {
  __atomic_store_n(&g.in_partition, 0, __ATOMIC_RELEASE);
}

// Every exit of a vCPU that may end its turn on this CPU (an FF-A call, a preemption, an
// abort) saves its registers first, before the core hears of it: once the core has made it
// PREEMPTED or WAITING, another CPU may enter it at once (FFA_RUN, a direct request) and
// load g_vcpu[]. The FF-A state lock orders the two: this CPU stores, then the core takes
// and releases the lock; the entering CPU takes it, sees the new state, then loads. For a
// call the core answers in place (kReturn) the copy is simply never used.
void save_vcpu(const GuestRegs& frame) {
  save_guest(g_vcpu[this_cpu().guest.vcpu], frame);
}

// Back to the host, the partition's registers already saved (save_vcpu): the host's come
// back with x0..x17 = regs (the FF-A answer its call gets).
void to_host(GuestRegs& frame, const FfaRegs& regs) {
  CpuGuestState& g = this_cpu().guest;
  load_guest(g.host, frame);
  copy_out(regs, frame);
  g.guest = Guest::kHost;
  host_el2(g);
}

// From the host to vCPU `vcpu`: with regs as its x0..x17 (a request for a waiting vCPU) or,
// without, exactly as it was preempted (FFA_RUN).
void to_partition(GuestRegs& frame, uint16_t vcpu, const FfaRegs* regs) {
  if (!g_svm.present || vcpu >= g_svm.nr_vcpus || !g_vcpu_started[vcpu]) {
    panic("core: asked to run secure vCPU %u, which never started", vcpu);
  }
  CpuGuestState& g = this_cpu().guest;
  save_guest(g.host, frame);
  load_guest(g_vcpu[vcpu], frame);
  if (regs) {
    copy_out(*regs, frame);
  }
  g.vcpu = vcpu;
  g.guest = Guest::kPartition;
  partition_el2(g, g.host.spsr_el2);
}

// A vCPU run by partition_boot_vcpu stopped (its first FFA_MSG_WAIT, or a fault; saved by
// save_vcpu): back to the boot path with the host's EL1 state as it was before.
[[noreturn]] void back_to_boot(bool up) {
  CpuGuestState& g = this_cpu().guest;
  load_el1(g.host.el1);
  g.guest = Guest::kHost;
  host_el2(g);
  BootJump* jump = g.boot_jump;
  g.boot_jump = nullptr;
  hyp_boot_return(jump, up ? 1 : 0);
}

// The partition cannot go on: log the exception the way the secure VM saw it, let the core
// mark it ABORTED (its holds and pins dropped), and give the host the core's answer. Never a
// reason to stop the hyp.
void abort_partition(GuestRegs& frame, uint64_t esr, uint64_t far, uint64_t elr, const char* why,
                     const char* source) {
  PerCpu& cpu = this_cpu();
  CpuGuestState& g = cpu.guest;
  log("secure VM %u vCPU %u ABORTED on cpu%u: %s (%s): ESR %lx FAR %lx ELR %lx",
      HYPHEAP_VMID_SECURE_0, g.vcpu, cpu.index, why, source, esr, far, elr);
  save_vcpu(frame);
  FfaRegs host{};
  core_glue_ffa_partition_aborted(cpu.index, g.vcpu, host);
  if (g.boot_jump) {
    back_to_boot(false);
  }
  to_host(frame, host);
}

void apply_partition_outcome(GuestRegs& frame, const FfaOutcome& out, const FfaRegs& regs) {
  CpuGuestState& g = this_cpu().guest;
  switch (out.next) {
    case FfaNext::kReturn:
      copy_out(regs, frame);
      return;
    case FfaNext::kReturnToHost:
      if (g.boot_jump) {
        // MSG_WAIT, or FFA_ERROR(ABORTED) if another vCPU aborted the partition meanwhile.
        back_to_boot(regs.x[0] != ffa::kError);
      }
      to_host(frame, regs);
      return;
    case FfaNext::kEnterPartition:
    case FfaNext::kResumePartition:
      break;
  }
  abort_partition(frame, read_esr_el2(), read_far_el2(), read_elr_el2(),
                  "the core switched a partition call to another vCPU", "core");
}

// After the host's accesses before its call have completed (DSB), whether a physical
// SError is pending (partition.h: may_enter_partition). No ESB: with RAS it would defer a
// pending SError into DISR_EL1 (PSTATE.A is set at EL2) and take it from the host.
bool host_serror_pending() {
  asm volatile("dsb sy\n isb" ::: "memory");
  return !may_enter_partition(READ_SYSREG(isr_el1));
}

[[noreturn]] void park() {
  for (;;) {
    asm volatile("wfi");
  }
}

}  // namespace

void partition_init(const PartitionBoot& boot) {
  const auto* image = hyp_svm_image;
  const uint64_t file = static_cast<uint64_t>(hyp_svm_image_end - hyp_svm_image);
  svm::ImageHeader header;
  __builtin_memcpy(&header, image, sizeof(header));
  const uint64_t image_base = boot.carveout_base + svm::kImageOffset;
  if (file < sizeof(header) || header.magic != svm::kImageMagic || header.file_size != file ||
      header.image_size < file || header.rw_offset > file ||
      svm::kImageOffset + header.image_size > boot.carveout_size) {
    log("secure VM %u: payload image unusable (%lu bytes, magic %x): not started",
        HYPHEAP_VMID_SECURE_0, file, header.magic);
    return;
  }
  const uint64_t vttbr = core_glue_secure_vttbr();
  if (vttbr == 0 || boot.host_vttbr == 0) {
    log("secure VM %u: no stage-2: not started", HYPHEAP_VMID_SECURE_0);
    return;
  }
  // The image, its bss zeroed (vCPU 0 zeroes it again with its MMU off), then the boot info.
  auto* dst = reinterpret_cast<char*>(image_base);
  __builtin_memcpy(dst, image, file);
  __builtin_memset(dst + file, 0, header.image_size - file);
  auto* info = reinterpret_cast<svm::BootInfo*>(boot.carveout_base + svm::kBootInfoOffset);
  __builtin_memset(info, 0, sizeof(*info));
  const CpuTable& cpus = cpu_table();
  info->magic = svm::kBootInfoMagic;
  info->version = svm::kBootInfoVersion;
  info->nr_vcpus = static_cast<uint32_t>(const_cast<CpuTable&>(cpus).count());
  info->carveout = {boot.carveout_base, boot.carveout_size};
  info->pool = {boot.pool.base.value(), boot.pool.size};
  info->image = {image_base, header.image_size};
  info->fault_ipa = boot.fault_ipa;
  info->flags = (boot.fault_op ? svm::kBootFlagFaultOp : 0) |
                (boot.fault_at_boot ? svm::kBootFlagFaultAtBoot : 0);
  for (size_t i = 0; i < boot.ram.size() && i < svm::kBootInfoMaxRam; ++i) {
    info->ram[i] = {boot.ram[i].base.value(), boot.ram[i].size};
    info->ram_count = static_cast<uint32_t>(i + 1);
  }
  // vCPUs start with their MMU off: what they read must be in memory, and no line of it may
  // stay in a cache to shadow what they write with the MMU off.
  clean_invalidate_dcache_to_poc(info, sizeof(*info));
  clean_invalidate_dcache_to_poc(dst, header.image_size);
  asm volatile("ic ialluis\n dsb ish\n isb" ::: "memory");

  g_svm.present = true;
  g_svm.nr_vcpus = info->nr_vcpus;
  g_svm.entry = image_base;
  g_svm.writable = {PhysAddr(image_base + header.rw_offset), header.image_size - header.rw_offset};
  g_svm.boot_info = reinterpret_cast<uint64_t>(info);
  g_svm.vttbr = vttbr;
  g_svm.host_vttbr = boot.host_vttbr;
  const uint32_t pmuver = pmu_version(READ_SYSREG(id_aa64dfr0_el1));
  g_svm.pmu = pmuver != 0 && pmuver != 0xf;
  log("secure VM %u: payload %lu KiB at %lx (image %lu KiB with bss), %u vCPUs%s",
      HYPHEAP_VMID_SECURE_0, file / 1024, image_base, header.image_size / 1024, g_svm.nr_vcpus,
      boot.fault_op ? ", FAULT op on (hypheap.svm_fault_op)" : "");
}

MemRange partition_writable() {
  return g_svm.writable;
}

void partition_boot_vcpu(uint64_t frame_stack) {
  PerCpu& cpu = this_cpu();
  const unsigned v = cpu.index;
  if (!g_svm.present || v >= g_svm.nr_vcpus || g_vcpu_started[v]) {
    return;
  }
  g_vcpu_started[v] = true;
  // vCPU 0 relocates the image all vCPUs share; without it nothing else can run. An aborted
  // partition stays down: the core decides that under its lock, since the host picks when
  // this CPU starts and an abort on another CPU may come at any moment before.
  const bool vcpu0_up = v == 0 || g_svm.vcpu0_up;
  if (!vcpu0_up || !core_glue_ffa_vcpu_booting(v)) {
    log("secure VM %u vCPU %u not started on cpu%u: %s", HYPHEAP_VMID_SECURE_0, v, cpu.index,
        vcpu0_up ? "the partition was aborted" : "vCPU 0 is not up");
    return;
  }
  GuestContext& ctx = g_vcpu[v];
  ctx = GuestContext{};
  ctx.x[0] = g_svm.boot_info;
  ctx.x[1] = v;
  ctx.elr_el2 = g_svm.entry;
  ctx.spsr_el2 = kSpsrEl1hDaifMasked;
  ctx.el1.sctlr = kSctlrEl1HostReset;  // MMU and caches off, RES1 bits

  CpuGuestState& g = cpu.guest;
  BootJump jump;
  save_el1(g.host.el1);
  load_el1(ctx.el1);
  write_elr_el2(ctx.elr_el2);
  write_spsr_el2(ctx.spsr_el2);
  g.vcpu = static_cast<uint16_t>(v);
  g.boot_jump = &jump;
  g.guest = Guest::kPartition;
  // No host yet: every mask "set", so nothing preempts the init.
  partition_el2(g, kSpsrEl1hDaifMasked);
  partition_entering();
  const uint64_t start = read_cntpct_el0();
  const bool up = hyp_boot_run(&jump, ctx.x, frame_stack) != 0;
  const uint64_t us = (read_cntpct_el0() - start) * 1000000 / read_cntfrq_el0();
  if (v == 0) {
    g_svm.vcpu0_up = up;
  }
  if (up) {
    log("secure VM %u vCPU %u ready on cpu%u (FF-A id 0x%x, FFA_MSG_WAIT after %lu us)",
        HYPHEAP_VMID_SECURE_0, v, cpu.index, HYPHEAP_FFA_ID_SVM, us);
  }
}

Guest current_guest() {
  return this_cpu().guest.guest;
}

void partition_host_ffa_call(GuestRegs& frame) {
  PerCpu& cpu = this_cpu();
  cpu.exits.ffa_calls.inc();
  FfaRegs regs = copy_in(frame);
  const FfaOutcome out = core_glue_ffa_host_call(cpu.index, regs);
  switch (out.next) {
    case FfaNext::kReturn:
    case FfaNext::kReturnToHost:
      copy_out(regs, frame);
      return;
    case FfaNext::kEnterPartition:
    case FfaNext::kResumePartition:
      to_partition(frame, out.vcpu, out.next == FfaNext::kEnterPartition ? &regs : nullptr);
      if (!host_serror_pending()) {
        partition_entering();
        return;
      }
      // The host's own SError, still pending: the vCPU is preempted before it ran an
      // instruction (its request kept in its context), the host takes the SError and resumes
      // with FFA_RUN.
      cpu.exits.partition_preempts.inc();
      save_vcpu(frame);
      {
        FfaRegs host{};
        core_glue_ffa_partition_preempted(cpu.index, out.vcpu, host);
        to_host(frame, host);
      }
      return;
  }
}

void partition_sync_exit(GuestRegs& frame) {
  PerCpu& cpu = this_cpu();
  CpuGuestState& g = cpu.guest;
  left_partition(g);
  cpu.exits.partition_exits.inc();
  const Esr esr(read_esr_el2());
  if (classify_partition_exit(esr) == PartitionExit::kAbort) {
    abort_partition(frame, esr.value(), read_far_el2(), read_elr_el2(), abort_reason(esr),
                    "trapped at EL2");
    return;
  }
  const auto fid = static_cast<uint32_t>(frame.x[0]);
  if (fid == HYPHEAP_FN_SVM_ABORT) {
    abort_partition(frame, frame.x[1], frame.x[2], frame.x[3],
                    "its own EL1 vectors took an exception", "HYPHEAP_FN_SVM_ABORT");
    return;
  }
  if (is_ffa_call(fid)) {
    save_vcpu(frame);
    FfaRegs regs = copy_in(frame);
    regs.x[0] = fid;
    const FfaOutcome out = core_glue_ffa_partition_call(cpu.index, g.vcpu, regs);
    apply_partition_outcome(frame, out, regs);
  } else if (is_svm_core_call(fid)) {
    const SmcccResult r =
        core_glue_partition_call(cpu.index, {{fid, frame.x[1], frame.x[2], frame.x[3]}});
    for (int i = 0; i < 4; ++i) {
      frame.x[i] = r.x[i];
    }
  } else {
    frame.x[0] = static_cast<uint64_t>(int64_t{HYPHEAP_ERR_NOT_SUPPORTED});
  }
  if (g.guest == Guest::kPartition) {
    partition_entering();
  }
}

void partition_async_exit(GuestRegs& frame, uint64_t kind) {
  PerCpu& cpu = this_cpu();
  CpuGuestState& g = cpu.guest;
  left_partition(g);
  cpu.exits.partition_exits.inc();
  constexpr uint64_t kLowerSError = 11;
  if (kind == kLowerSError) {
    abort_partition(frame, read_esr_el2(), read_far_el2(), read_elr_el2(), "SError",
                    "trapped at EL2");
    return;
  }
  if (g.boot_jump) {
    // Nothing is routed here at boot (partition_el2 with every mask set); resume it.
    partition_entering();
    return;
  }
  // The interrupt stays pending at the GIC: the host takes it as soon as it runs, then
  // resumes the call with FFA_RUN.
  cpu.exits.partition_preempts.inc();
  save_vcpu(frame);
  FfaRegs host{};
  core_glue_ffa_partition_preempted(cpu.index, g.vcpu, host);
  to_host(frame, host);
}

void partition_entering() {
  CpuGuestState& g = this_cpu().guest;
  __atomic_store_n(&g.in_partition, 1, __ATOMIC_SEQ_CST);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (__atomic_load_n(&g_stopped, __ATOMIC_SEQ_CST) != 0) {
    // SYSTEM_OFF/RESET is scrubbing the secure VM's memory on another CPU: this CPU never
    // runs the partition (nor anything else) again; the machine goes down at once.
    __atomic_store_n(&g.in_partition, 0, __ATOMIC_SEQ_CST);
    park();
  }
}

namespace {

// The stack below this function's frame: what earlier exits on this CPU left there (copies
// of the partition's x0..x17 in FfaRegs, save_guest's temporaries) is dead. The margin keeps
// the loop clear of its own frame; the loop itself uses no stack.
[[gnu::noinline]] void zero_dead_stack() {
  const uint64_t top = this_cpu().stack_top;
  uint64_t sp;
  asm volatile("mov %0, sp" : "=r"(sp));
  constexpr uint64_t kMargin = 256;
  const uint64_t bottom = top - HYP_STACK_SIZE;
  if (sp - kMargin <= bottom || sp > top) {
    return;
  }
  auto* p = reinterpret_cast<volatile uint64_t*>(bottom);
  auto* end = reinterpret_cast<volatile uint64_t*>(sp - kMargin);
  for (; p < end; ++p) {
    *p = 0;
  }
  clean_invalidate_dcache_to_poc(reinterpret_cast<void*>(bottom), sp - kMargin - bottom);
}

// SYSTEM_OFF/RESET, every CPU out of the partition for good: the partition's registers the
// hyp kept go too (every vCPU's saved context), so a reset that keeps RAM hands the next boot
// none of them, wherever that boot puts the host. Other CPUs' EL2 stacks are not touched:
// they may be in use at EL2 at this moment.
void forget_partition_registers() {
  __builtin_memset(g_vcpu, 0, sizeof(g_vcpu));
  asm volatile("" ::: "memory");
  clean_invalidate_dcache_to_poc(g_vcpu, sizeof(g_vcpu));
  zero_dead_stack();
}

}  // namespace

void partition_stop() {
  __atomic_store_n(&g_stopped, 1, __ATOMIC_SEQ_CST);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  // A vCPU still running on another CPU leaves at its next exit: the host's next timer
  // interrupt (it preempts the partition) or, for a call made with the host's interrupts
  // masked, its answer.
  CpuTable& cpus = cpu_table();
  for (size_t i = 0; i < cpus.count(); ++i) {
    const CpuGuestState& g = cpus.cpu(i).guest;
    const uint64_t start = read_cntpct_el0();
    bool logged = false;
    while (__atomic_load_n(&g.in_partition, __ATOMIC_SEQ_CST) != 0) {
      if (!logged && read_cntpct_el0() - start > read_cntfrq_el0()) {
        log("waiting for cpu%zu to leave the secure VM before the scrub", i);
        logged = true;
      }
      asm volatile("yield");
    }
  }
  forget_partition_registers();
}

}  // namespace hyp::arm64
