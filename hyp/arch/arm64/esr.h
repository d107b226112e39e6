// Typed decoding of the Exception Syndrome Register (Arm ARM D17.2.37).
#pragma once

#include <stdint.h>

namespace hyp::arm64 {

// ESR_ELx.EC values the hyp distinguishes (Arm ARM D17.2.37, table "EC").
enum class ExceptionClass : uint8_t {
  kUnknown = 0x00,
  kWfx = 0x01,
  kFpAccess = 0x07,
  kIllegalState = 0x0e,
  kSvc64 = 0x15,
  kHvc64 = 0x16,
  kSmc64 = 0x17,
  kSysReg = 0x18,
  kInstructionAbortLowerEl = 0x20,
  kInstructionAbortSameEl = 0x21,
  kPcAlignment = 0x22,
  kDataAbortLowerEl = 0x24,
  kDataAbortSameEl = 0x25,
  kSpAlignment = 0x26,
  kSError = 0x2f,
  kBrk = 0x3c,
};

class Esr {
 public:
  explicit constexpr Esr(uint64_t value) : value_(value) {}

  constexpr uint64_t value() const { return value_; }
  constexpr ExceptionClass exception_class() const {
    return static_cast<ExceptionClass>((value_ >> 26) & 0x3f);
  }
  // IL: 32-bit instruction (always 1 for the traps the hyp handles).
  constexpr bool il() const { return (value_ >> 25) & 1; }
  constexpr uint32_t iss() const { return value_ & 0x1ffffff; }

  static constexpr uint64_t kIl = 1ull << 25;
  static constexpr uint64_t make(ExceptionClass ec, uint32_t iss) {
    return (static_cast<uint64_t>(ec) << 26) | kIl | (iss & 0x1ffffff);
  }

 private:
  uint64_t value_;
};

// Fault status codes of data/instruction aborts (Arm ARM D17.2.37, DFSC/IFSC).
namespace fsc {
inline constexpr uint32_t kTranslationFaultL3 = 0x07;
inline constexpr uint32_t kPermissionFaultL3 = 0x0f;
inline constexpr uint32_t kSyncExternalAbort = 0x10;
// Translation faults at levels 0-3 are 0x04..0x07, access flag 0x08..0x0b,
// permission 0x0c..0x0f.
constexpr bool is_translation(uint32_t code) {
  return (code & 0x3c) == 0x04;
}
constexpr bool is_access_flag(uint32_t code) {
  return (code & 0x3c) == 0x08;
}
constexpr bool is_permission(uint32_t code) {
  return (code & 0x3c) == 0x0c;
}
}  // namespace fsc

// ISS of a data or instruction abort (Arm ARM D17.2.37, "ISS encoding for an
// exception from a Data Abort").
class AbortIss {
 public:
  explicit constexpr AbortIss(uint32_t iss) : iss_(iss) {}

  constexpr uint32_t fault_status() const { return iss_ & 0x3f; }
  constexpr bool write() const { return (iss_ >> 6) & 1; }              // WnR
  constexpr bool stage1_walk() const { return (iss_ >> 7) & 1; }        // S1PTW
  constexpr bool cache_maintenance() const { return (iss_ >> 8) & 1; }  // CM
  constexpr bool far_not_valid() const { return (iss_ >> 10) & 1; }     // FnV

 private:
  uint32_t iss_;
};

// The ISS fields of a data abort that describe the access itself, valid when ISV is set
// (Arm ARM D17.2.37: "ISV", "SAS", "SSE", "SRT", "SF"): what an MMIO emulation needs to
// perform a trapped single load or store on the faulting CPU's behalf.
class DataAccess {
 public:
  explicit constexpr DataAccess(uint32_t iss) : iss_(iss) {}

  constexpr bool valid() const { return (iss_ >> 24) & 1; }             // ISV
  constexpr unsigned size() const { return 1u << ((iss_ >> 22) & 3); }  // SAS, bytes
  constexpr bool sign_extend() const { return (iss_ >> 21) & 1; }       // SSE
  constexpr unsigned reg() const { return (iss_ >> 16) & 0x1f; }        // SRT (31: xzr)
  constexpr bool sixty_four() const { return (iss_ >> 15) & 1; }        // SF
  constexpr bool write() const { return (iss_ >> 6) & 1; }              // WnR

 private:
  uint32_t iss_;
};

// HPFAR_EL2.FIPA holds IPA[47:12] in bits [43:4] (Arm ARM D17.2.51).
constexpr uint64_t ipa_from_hpfar(uint64_t hpfar, uint64_t far) {
  return ((hpfar & 0xffffffffff0ull) << 8) | (far & 0xfff);
}

// PAR_EL1 after a successful AT (F, bit 0, clear) holds PA[47:12] of the translation; after
// an AT S1E1x issued at EL2 for the host, that is the IPA (Arm ARM D17.2.112).
constexpr bool par_failed(uint64_t par) {
  return par & 1;
}
constexpr uint64_t ipa_from_par(uint64_t par, uint64_t va) {
  return (par & 0x0000fffffffff000ull) | (va & 0xfff);
}

// The stage-2 permissions a lower-EL abort's access needed, from its syndrome.
struct Stage2Need {
  bool r = false, w = false, x = false;
  friend constexpr bool operator==(Stage2Need, Stage2Need) = default;
};

constexpr Stage2Need stage2_need(Esr esr) {
  const AbortIss iss(esr.iss());
  if (esr.exception_class() == ExceptionClass::kInstructionAbortLowerEl) {
    // Stage-2 execute is its own permission (S2AP = 00 with XN = 0 is execute-only): a
    // fetch needs X alone, or a fetch from an X-only share that raced a break-before-make
    // would be refused instead of retried.
    return {.x = true};
  }
  // A cache maintenance or AT instruction reports WnR = 1 whatever it does; none needs
  // more than read at stage 2 (DC IVAC without write is performed as a clean and
  // invalidate). A stage-1 walk reads descriptors, and writes them (WnR) only for a
  // hardware access-flag or dirty update.
  if (iss.cache_maintenance()) {
    return {.r = true};
  }
  // A hardware access-flag or dirty update of a stage-1 descriptor reads and writes it.
  if (iss.stage1_walk() && iss.write()) {
    return {.r = true, .w = true};
  }
  // A store needs W alone (S2AP = 10 is write-only); the read of a read-modify-write that
  // faults reports WnR = 0 and so needs R.
  if (iss.write()) {
    return {.w = true};
  }
  return {.r = true};
}

// A refused host access that is completed by doing nothing instead of injecting an abort:
// data cache maintenance by VA (DC IVAC/CIVAC/CVAC/CVAU..., CM = 1) on memory the host may
// not access. Such a page was cleaned to PoC when it left the host, which cannot have
// dirtied it since, so there is nothing for the host to clean or invalidate; an abort would
// only oops a kernel whose importer called dma_sync_*() on a protected buffer. Not when the
// fault is on the host's own stage-1 walk (S1PTW): tables in memory the host does not own
// are a broken host, answered with an abort like any access.
constexpr bool refused_access_is_skipped(Esr esr) {
  const AbortIss iss(esr.iss());
  return esr.exception_class() == ExceptionClass::kDataAbortLowerEl && iss.cache_maintenance() &&
         !iss.stage1_walk();
}

// Faults a stage-2 entry itself raises (translation, access flag, permission): the only
// ones a change of that entry on another CPU can explain, so the only ones retried.
constexpr bool is_entry_fault(uint32_t code) {
  return fsc::is_translation(code) || fsc::is_access_flag(code) || fsc::is_permission(code);
}

// Where the faulting IPA of a lower-EL stage-2 abort can be read. HPFAR_EL2 is valid for a
// fault on a stage-1 walk and for translation and access-flag faults; for a permission
// fault it is UNKNOWN (Arm ARM D17.2.51), and Cortex-A57 erratum 834220 may report a
// stage-2 fault with a wrong HPFAR where a stage-1 fault should have been taken. Then the
// IPA is recomputed by translating FAR with AT S1E1R (valid unless FnV is set).
enum class IpaSource { kHpfar, kAt, kUnknown };

constexpr IpaSource fault_ipa_source(Esr esr, bool erratum_834220) {
  const AbortIss iss(esr.iss());
  if (iss.stage1_walk()) {
    return IpaSource::kHpfar;
  }
  if (!fsc::is_permission(iss.fault_status()) && !erratum_834220) {
    return IpaSource::kHpfar;
  }
  return iss.far_not_valid() ? IpaSource::kUnknown : IpaSource::kAt;
}

}  // namespace hyp::arm64
