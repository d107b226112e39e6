// Stopping the machine on a hyp bug: print what is known, then power off
// through PSCI so QEMU exits (-no-reboot) instead of hanging. The line starts
// with "[hyp] FATAL" (the launcher fails a run on that marker).
#pragma once

#include <stdint.h>

namespace hyp::arm64 {

[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Prints ESR, FAR, ELR, HPFAR and SPSR of EL2 as they are now.
void dump_el2_syndrome();

}  // namespace hyp::arm64
