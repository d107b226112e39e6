// The seam between the arm64 arch code and the hyp core (hyp/core): the only
// file pair that knows both. Everything ownership-related is the core's.
#pragma once

#include <stdint.h>

#include <span>

#include "../../boot/layout.h"
#include "../../boot/platform.h"
#include "core/ffa.h"
#include "core/hyp.h"
#include "core/types.h"
#include "frame.h"
#include "smccc.h"

namespace hyp::arm64 {

// The host's and secure VMs' IPA space: IPA == PA, so RAM and every device the host is given
// must lie below 2^39 (512 GiB). Nothing at or above it is mapped.
inline constexpr unsigned kHostIpaBits = 39;

struct HostStage2 {
  uint64_t vttbr = 0;  // 0: no stage-2 (HCR_EL2.VM stays clear)
  uint64_t vtcr = 0;
};

// Hands the core its pool and the machine's memory map; the core builds the
// host's stage-2 (identity map of RAM minus the hidden carve-outs, plus the
// `mmio` windows of the devices the host is given, as device memory) and the
// secure VM domain.
// With `iommu` every VM also gets a DMA table (hyp/core/dma.h) for the SMMU.
boot::BootStatus core_glue_init(const boot::Layout& layout, const boot::PlatformInfo& info,
                                std::span<const MemRange> mmio, MemRange pool, bool iommu,
                                HostStage2* out);

// The DMA tables' roots and ASIDs: the host's, and secure VM 10's (zero without an IOMMU).
struct DmaRoot {
  PhysAddr root;
  uint16_t asid = 0;
};
DmaRoot core_glue_host_dma();
DmaRoot core_glue_secure_dma();

// A vendor-hyp SMCCC call (owner 6). Returns false if the core does not
// implement this function id; results are in regs.x[0..3] otherwise.
bool core_glue_hypercall(GuestRegs& regs, Conduit conduit);

// True if the host's stage-2 now maps ipa (below its input size) with every
// permission in need: the fault raced with a change the core made on another
// CPU (break-before-make leaves the entry invalid for a moment), and the
// access only needs to be retried.
bool core_glue_host_access_allowed(Ipa ipa, Perms need);

// Zeroes and cleans every page a secure VM owns (core: Hyp::scrub_secure_pages), before
// the host's SYSTEM_RESET or SYSTEM_OFF is forwarded. Returns the pages scrubbed.
uint64_t core_glue_scrub_secure_pages();

// The owner the core records for the page at ipa (for the fault log).
VmId core_glue_page_owner(Ipa ipa);

// Calls fn for every range the host has lent to a secure VM (exclusive, outside the
// carve-outs), in ascending order, holding the host's lock.
void core_glue_for_each_lent(void (*fn)(MemRange range, void* ctx), void* ctx);

// FF-A (hyp/core/ffa.h: the contract) and the secure VM's own calls, answered by the core.
FfaOutcome core_glue_ffa_host_call(unsigned cpu, FfaRegs& regs);
FfaOutcome core_glue_ffa_partition_call(unsigned cpu, unsigned vcpu, FfaRegs& regs);
[[nodiscard]] bool core_glue_ffa_vcpu_booting(unsigned vcpu);
void core_glue_ffa_partition_preempted(unsigned cpu, unsigned vcpu, FfaRegs& host_regs);
void core_glue_ffa_partition_aborted(unsigned cpu, unsigned vcpu, FfaRegs& host_regs);
// HYPHEAP_FN_SVM_HOLD..UNPIN from the partition (VM HYPHEAP_VMID_SECURE_0).
SmcccResult core_glue_partition_call(unsigned cpu, const SmcccArgs& args);
// VTTBR_EL2 of the partition's stage-2 (0 without a core).
uint64_t core_glue_secure_vttbr();

}  // namespace hyp::arm64
