// Where the hyp puts its carve-outs, decided once at boot from the DTB and
// the platform file, and checked against everything already in RAM.
#pragma once

#include <stdint.h>

#include "platform.h"
#include "range.h"
#include "status.h"

namespace hyp::boot {

// The placement policy (configs/platform/*.conf).
struct LayoutPolicy {
  uint64_t hyp_image_window;  // size of the window the hyp image is loaded in
  uint64_t hyp_carveout_size;
  uint64_t secure_vm_size;
  uint64_t host_dtb_region_size;
  uint64_t align;
  // The host's CMA pool (docs/dt-binding.md): ordinary host RAM that Linux
  // lends out of. 0 means none. Linux wants its base and size aligned to a
  // pageblock, which may be more than `align`.
  uint64_t host_cma_size = 0;
  uint64_t host_cma_align = 0;
  // The secure VM's carve-out pool (static protected memory it allocates buffers from on
  // request: the carveout backend). 0 means none.
  uint64_t secure_vm_pool_size = 0;
};

struct Layout {
  MemRange hyp_image;       // hidden from the host
  MemRange hyp_carveout;    // hidden from the host
  MemRange secure_vm;       // hidden from the host, owned by the secure VM
  MemRange host_dtb;        // host-owned; the patched DTB goes here
  MemRange host_cma;        // host-owned, reusable by Linux; empty if none
  MemRange secure_vm_pool;  // hidden from the host, owned by the secure VM; empty if none
  MemRange host_kernel;     // the host's Image, as its header describes it
};

// Carve-outs come from the top of the highest RAM bank, highest first: hyp,
// secure VM, host DTB, then the host CMA pool and the secure VM's carve-out
// pool if the policy asks for them.
// Fails with kOverlap if any of them (or the hyp image) would cover the host
// kernel, the initrd, the original DTB or a reserved region, with
// kOutOfRange if they do not fit in that bank, and with kBadPolicy if the
// CMA size or alignment is not a multiple of `align`.
BootStatus plan_layout(const PlatformInfo& info, const LayoutPolicy& policy, MemRange hyp_image,
                       MemRange host_kernel, Layout* out);

// The host kernel's footprint from its arm64 Image header (see the kernel's
// Documentation/arm64/booting.rst): kNoHostKernel if the magic is missing.
BootStatus host_kernel_range(uint64_t load_addr, const void* header, MemRange* out);

}  // namespace hyp::boot
