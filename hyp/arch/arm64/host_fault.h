// Stage-2 aborts taken from the host.
#pragma once

#include "esr.h"
#include "frame.h"

namespace hyp::arm64 {

// The host touched an IPA its stage-2 does not let it touch: log (rate
// limited), count, and inject an abort into the host. Never fatal.
void handle_host_stage2_abort(GuestRegs& regs, Esr esr);

}  // namespace hyp::arm64
