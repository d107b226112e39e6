#include "inject.h"

#include "esr.h"
#include "sysreg.h"

namespace hyp::arm64 {

namespace {

// PSTATE on exception entry to EL1 (Arm ARM D1.10.4): EL1h, DAIF all set,
// PAN set when implemented and SCTLR_EL1.SPAN is 0.
uint64_t el1_entry_pstate() {
  uint64_t pstate = spsr::kModeEl1h | spsr::kDaifMask;
  uint64_t mmfr1;
  asm volatile("mrs %0, id_aa64mmfr1_el1" : "=r"(mmfr1));
  const bool has_pan = (mmfr1 >> 20) & 0xf;
  const bool span = (read_sctlr_el1() >> 23) & 1;
  if (has_pan && !span) {
    pstate |= spsr::kPan;
  }
  return pstate;
}

// Takes the exception for the host: the interrupted context goes to
// ELR_EL1/SPSR_EL1, and the eret from EL2 lands on the EL1 vector.
void enter_el1_vector(uint64_t esr, uint64_t far) {
  const uint64_t spsr = read_spsr_el2();
  write_elr_el1(read_elr_el2());
  write_spsr_el1(spsr);
  write_esr_el1(esr);
  write_far_el1(far);
  write_elr_el2(read_vbar_el1() + el1_vector_offset(spsr));
  write_spsr_el2(el1_entry_pstate());
}

}  // namespace

void inject_abort(AbortKind kind, uint64_t far, bool write) {
  const bool el0 = spsr_is_el0(read_spsr_el2());
  ExceptionClass ec;
  if (kind == AbortKind::kData) {
    ec = el0 ? ExceptionClass::kDataAbortLowerEl : ExceptionClass::kDataAbortSameEl;
  } else {
    ec = el0 ? ExceptionClass::kInstructionAbortLowerEl : ExceptionClass::kInstructionAbortSameEl;
  }
  uint32_t iss = el0 ? fsc::kSyncExternalAbort : fsc::kPermissionFaultL3;
  if (kind == AbortKind::kData && write) {
    iss |= 1u << 6;  // WnR
  }
  enter_el1_vector(Esr::make(ec, iss), far);
}

void inject_undefined() {
  enter_el1_vector(Esr::make(ExceptionClass::kUnknown, 0), 0);
}

}  // namespace hyp::arm64
