// The DMA tables (docs/hyp-core.md, "DMA tables"): what each VM's devices reach through the
// SMMU the hyp owns, as a function of that VM's stage-2, which the ownership engine applies
// at every change under the VM's lock, with the same break-before-make and TLB batching
// (the SMMU's command queue at EL2). The host's devices reach exactly what the host's CPUs
// may read; a secure VM's device reaches what was lent to it, and reads what was shared with
// it, never its own carve-out and never a page the host can read back.
#pragma once

#include <cstdint>

#include "pgtable.h"
#include "types.h"

namespace hyp {

// ASIDs of the DMA tables' SMMU contexts: the host's, then secure VM i's at + 1 + i. Apart
// from the CPU stage-2s' VMIDs (0 .. secure VMs), which the fake arch keys its model by too.
inline constexpr uint16_t kDmaAsidBase = 0x100;

// The host's DMA leaf for a RAM page its stage-2 maps with `perms` (identity).
LeafSpec host_dma_leaf(PhysAddr pa, Perms perms);
// A secure VM's DMA leaf for a page its stage-2 maps with `perms` in `state`, outside its
// carve-out: lent (kOwned) as the VM may use it, shared (kSharedBorrowed) read only.
LeafSpec svm_dma_leaf(PhysAddr pa, Perms perms, PageState state);

}  // namespace hyp
