// Exceptions taken to EL2: one switch over the exception class, one small
// handler per kind, a counter per kind.
#include "cpu.h"
#include "esr.h"
#include "fatal.h"
#include "frame.h"
#include "host_fault.h"
#include "inject.h"
#include "log.h"
#include "pmu.h"
#include "psci.h"
#include "smccc.h"
#include "stack.h"
#include "sysreg.h"
#include "vcpu.h"

namespace hyp::arm64 {

namespace {

void handle_hvc(GuestRegs& regs, Esr esr) {
  this_cpu().exits.hvc.inc();
  // SMCCC calls use HVC #0; other immediates are not ours to define.
  if ((esr.iss() & 0xffff) != 0) {
    regs.x[0] = static_cast<uint64_t>(smccc::kNotSupported);
    return;
  }
  handle_smccc(regs, Conduit::kHvc);
}

void handle_smc(GuestRegs& regs, Esr esr) {
  this_cpu().exits.smc.inc();
  // A trapped SMC leaves ELR_EL2 on the SMC itself (Arm ARM D1.10.4,
  // "Exceptions ... trapped SMC"): step over it.
  write_elr_el2(read_elr_el2() + 4);
  if ((esr.iss() & 0xffff) != 0) {
    regs.x[0] = static_cast<uint64_t>(smccc::kNotSupported);
    return;
  }
  handle_smccc(regs, Conduit::kSmc);
}

// Anything else the host manages to trap is answered as an undefined
// instruction at EL1, never by stopping the hyp.
void handle_unexpected(Esr esr) {
  PerCpu& cpu = this_cpu();
  cpu.exits.unexpected.inc();
  if (cpu.exits.unexpected.get() <= 4) {
    log("cpu%u: unexpected trap from host, esr %lx elr %lx: injecting undef", cpu.index,
        esr.value(), read_elr_el2());
  }
  inject_undefined();
}

const char* vector_name(uint64_t kind) {
  static const char* const kNames[] = {
      "EL2t sync",    "EL2t irq",    "EL2t fiq",    "EL2t serror",   "EL2h sync", "EL2h irq",
      "EL2h fiq",     "EL2h serror", "lower sync",  "lower irq",     "lower fiq", "lower serror",
      "lower32 sync", "lower32 irq", "lower32 fiq", "lower32 serror"};
  return kind < 16 ? kNames[kind] : "?";
}

constexpr uint64_t kFirstLowerElVector = 8;

// An EL2 data abort on a stack guard page, or an exception taken with SP
// already in one: the stack of CPU *owner ran out.
bool overflowed_stack(Esr esr, uint64_t sp, size_t* owner) {
  const StackLayout& stacks = stack_layout();
  if (esr.exception_class() == ExceptionClass::kDataAbortSameEl &&
      stacks.in_guard(read_far_el2(), owner)) {
    return true;
  }
  return stacks.in_guard(sp, owner);
}

}  // namespace

extern "C" void hyp_handle_lower_sync(GuestRegs* regs) {
  if (current_guest() == Guest::kPartition) {
    partition_sync_exit(*regs);
    return;
  }
  const Esr esr(read_esr_el2());
  switch (esr.exception_class()) {
    case ExceptionClass::kHvc64:
      handle_hvc(*regs, esr);
      break;
    case ExceptionClass::kSmc64:
      handle_smc(*regs, esr);
      break;
    case ExceptionClass::kDataAbortLowerEl:
    case ExceptionClass::kInstructionAbortLowerEl:
      handle_host_stage2_abort(*regs, esr);
      break;
    case ExceptionClass::kSysReg:
      if (!handle_pmu_access(*regs, esr)) {
        handle_unexpected(esr);
      }
      break;
    default:
      handle_unexpected(esr);
      break;
  }
}

extern "C" [[noreturn]] void hyp_handle_unexpected_vector(uint64_t kind, FatalFrame* frame);

// A lower-EL IRQ, FIQ or SError: only a secure-VM vCPU runs with them routed to EL2.
extern "C" void hyp_handle_lower_async(uint64_t kind, GuestRegs* regs) {
  if (current_guest() != Guest::kPartition) {
    hyp_handle_unexpected_vector(kind, reinterpret_cast<FatalFrame*>(regs));
  }
  partition_async_exit(*regs, kind);
}

// Vectors the hyp never expects: an exception at EL2 itself (a hyp bug), or
// a lower-EL IRQ/FIQ/SError, which the hyp's HCR_EL2 never routes here. The
// EL2 ones arrive on the CPU's emergency stack with the SP they interrupted.
extern "C" [[noreturn]] void hyp_handle_unexpected_vector(uint64_t kind, FatalFrame* frame) {
  PerCpu& cpu = this_cpu();
  if (cpu.in_fatal) {
    // The fatal path itself faulted: printing is what failed, just stop.
    psci_system_off();
  }
  cpu.in_fatal = true;
  const Esr esr(read_esr_el2());
  const bool from_el2 = kind < kFirstLowerElVector;
  size_t owner = 0;
  if (from_el2 && overflowed_stack(esr, frame->sp, &owner)) {
    panic(
        "EL2 stack overflow on cpu%u: '%s' (EC 0x%x) at far %lx, sp %lx, in the guard page "
        "below cpu%zu's stack, lr %lx",
        cpu.index, vector_name(kind), static_cast<unsigned>(esr.exception_class()), read_far_el2(),
        frame->sp, owner, frame->x[30]);
  }
  panic("unexpected exception '%s' (EC 0x%x) at EL2 on cpu%u, lr %lx", vector_name(kind),
        static_cast<unsigned>(esr.exception_class()), cpu.index, frame->x[30]);
}

}  // namespace hyp::arm64
