// The one secure-VM call the core's arch layer (mm/mm.cc: arch::vm_stopped) makes into the
// EL2 runtime; no other include, since hypcore_el2 is built without the arch's generated
// headers.
#pragma once

namespace hyp::arm64 {

// The machine goes down (SYSTEM_OFF/RESET): no vCPU may run again; returns once none runs on
// any CPU.
void partition_stop();

}  // namespace hyp::arm64
