// The GICv3 redistributors as the host sees them. The host runs its GIC itself (distributor
// and SGI/PPI frames mapped directly), except for each redistributor's RD_base frame, which
// holds the LPI table registers: GICR_PROPBASER and GICR_PENDBASER give the GIC a physical
// address to read and write, so a host that owned them could aim the GIC at hyp or lent
// memory. Those frames (and the GICv4 VLPI frames, whose VPROPBASER/VPENDBASER are the same
// kind of register) are left out of the host stage-2 and every access is emulated here: LPIs
// are hidden (GICR_TYPER.PLPIS, DirectLPI and RVPEID read 0, GICR_CTLR.EnableLPIs, CES and
// IR cannot be seen or set) and the table registers are RAZ/WI. Why: docs/hypervisor.md,
// "Devices".
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/types.h"
#include "esr.h"
#include "frame.h"

namespace hyp::arm64 {

struct RedistributorProbe {
  uint64_t base = 0;    // the region's base: frame i starts at base + i * stride
  uint64_t stride = 0;  // 128 KiB (RD_base + SGI_base), 256 KiB with VLPI frames
  uint32_t frames = 0;  // up to and including the one whose GICR_TYPER.Last is set
  bool lpis = false;    // some redistributor has GICR_TYPER.PLPIS set
  uint64_t used_size() const { return frames * stride; }
  MemRange rd_base(uint32_t i) const;   // the frame the hyp keeps and emulates (64 KiB)
  MemRange sgi_base(uint32_t i) const;  // the frame the host gets (64 KiB)
};

// Walks the redistributor frames of `region` (GICv3 spec 12.10) up to the one whose
// GICR_TYPER.Last is set. Runs with the MMU off, before the host exists: Device accesses.
// At most `max_frames` frames are counted (the hyp's table size).
RedistributorProbe probe_redistributors(MemRange region, uint32_t max_frames);

// From now on host accesses to the probed RD_base frames are emulated (the frames must be
// absent from the host stage-2 and mapped as Device in the EL2 stage-1).
void trap_redistributors(const RedistributorProbe& probe);

// A host data abort at `ipa`: if it is a single aligned 32- or 64-bit load or store from
// AArch64 EL1 to a trapped RD_base or VLPI frame, performs it as described above (VLPI frames
// read as zero), steps the host past the instruction and returns true. Anything else (SGI_base,
// no valid syndrome, another size, EL0, AArch32, big-endian) returns false and is the
// caller's to inject.
bool emulate_redistributor_access(GuestRegs& regs, Esr esr, Ipa ipa);

}  // namespace hyp::arm64
