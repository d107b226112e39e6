// Exceptions taken to EL2: one switch over the exception class, one small
// handler per kind, a counter per kind.
#include "cpu.h"
#include "esr.h"
#include "fatal.h"
#include "frame.h"
#include "host_fault.h"
#include "inject.h"
#include "log.h"
#include "smccc.h"
#include "sysreg.h"

namespace hyp::arm64 {

namespace {

void handle_hvc(GuestRegs& regs, Esr esr) {
  this_cpu().exits.hvc++;
  // SMCCC calls use HVC #0; other immediates are not ours to define.
  if ((esr.iss() & 0xffff) != 0) {
    regs.x[0] = static_cast<uint64_t>(smccc::kNotSupported);
    return;
  }
  handle_smccc(regs, Conduit::kHvc);
}

void handle_smc(GuestRegs& regs, Esr esr) {
  this_cpu().exits.smc++;
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
  cpu.exits.unexpected++;
  if (cpu.exits.unexpected <= 4) {
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

}  // namespace

extern "C" void hyp_handle_lower_sync(GuestRegs* regs) {
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
    default:
      handle_unexpected(esr);
      break;
  }
}

// Vectors the hyp never expects: an exception at EL2 itself (a hyp bug), or
// a lower-EL IRQ/FIQ/SError, which the hyp's HCR_EL2 never routes here.
extern "C" [[noreturn]] void hyp_handle_unexpected_vector(uint64_t kind, GuestRegs* regs) {
  const Esr esr(read_esr_el2());
  panic("unexpected exception '%s' (EC 0x%x) at EL2, lr %lx", vector_name(kind),
        static_cast<unsigned>(esr.exception_class()), regs->x[30]);
}

}  // namespace hyp::arm64
