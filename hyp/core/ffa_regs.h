// Building FF-A answers in an FfaRegs: every answer starts from zeroed registers, so nothing
// of the caller's (or the other world's) x0..x17 survives into it by accident.
#pragma once

#include "ffa.h"
#include "ffa_abi.h"

namespace hyp::ffa {

inline void clear(FfaRegs& r) {
  for (uint64_t& x : r.x)
    x = 0;
}

// x0 = FFA_ERROR, w2 = the code (x2's upper half zero: callers read it as a signed w2).
inline void set_error(FfaRegs& r, int32_t code) {
  clear(r);
  r.x[0] = kError;
  r.x[2] = uint32_t(code);
}

inline void set_success(FfaRegs& r, uint32_t w2 = 0, uint32_t w3 = 0) {
  clear(r);
  r.x[0] = kSuccess32;
  r.x[2] = w2;
  r.x[3] = w3;
}

}  // namespace hyp::ffa
