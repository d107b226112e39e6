// The payload's calls to the hyp: HVC #0, SMCCC v1.2 (x0-x17 in and out), the only conduit of
// the secure VM.
#pragma once

#include <stdint.h>

namespace hyp::svm {

struct HvcRegs {
  uint64_t x[8];
};

// FF-A function ids the partition uses (DEN0077A 1.0, table 5.x).
inline constexpr uint32_t kFfaError = 0x84000060;
inline constexpr uint32_t kFfaMsgWait = 0x8400006B;
inline constexpr uint32_t kFfaMsgSendDirectReq32 = 0x8400006F;
inline constexpr uint32_t kFfaMsgSendDirectResp32 = 0x84000070;
inline constexpr uint32_t kFfaMsgSendDirectReq64 = 0xC400006F;
inline constexpr uint32_t kFfaMsgSendDirectResp64 = 0xC4000070;

// x0..x7 in and out; the hyp may return values in x8..x17 too (SMCCC 1.2), so they are
// clobbered.
inline HvcRegs hvc(const HvcRegs& in) {
  register uint64_t x0 asm("x0") = in.x[0];
  register uint64_t x1 asm("x1") = in.x[1];
  register uint64_t x2 asm("x2") = in.x[2];
  register uint64_t x3 asm("x3") = in.x[3];
  register uint64_t x4 asm("x4") = in.x[4];
  register uint64_t x5 asm("x5") = in.x[5];
  register uint64_t x6 asm("x6") = in.x[6];
  register uint64_t x7 asm("x7") = in.x[7];
  asm volatile("hvc #0"
               : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5), "+r"(x6), "+r"(x7)
               :
               : "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "memory");
  return {{x0, x1, x2, x3, x4, x5, x6, x7}};
}

}  // namespace hyp::svm
