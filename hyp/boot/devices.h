// Which of the DTB's devices the host is given. Deny by default: outside RAM the host stage-2
// maps only the MMIO windows of devices whose compatible is on the platform's allowlist and
// that cannot be made to write memory themselves. Every other device is left out of the host
// stage-2 and disabled in the DTB handed to Linux, so an address the hyp has not judged safe
// is never reachable (a device that masters DMA could otherwise write the hyp image or lent
// pages behind the stage-2's back). Why each default is what it is: docs/hypervisor.md,
// "Devices".
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "range.h"
#include "status.h"

namespace hyp::boot {

inline constexpr size_t kMaxHostWindows = 16;
inline constexpr size_t kMaxDeniedDevices = 128;

// What a window is, where the arch must look closer before giving it.
enum class WindowKind : uint8_t {
  kPlain,
  kGicRedistributors,  // the arch probes the frames and keeps the RD_base ones (gic.h)
};

struct HostWindow {
  MemRange range;  // page-aligned, inside the IPA space
  int node;        // offset of the device node in the DTB the plan was made from
  WindowKind kind;
};

enum class Denial : uint8_t {
  kDmaMaster,       // a device known to write memory itself (fw_cfg DMA, ITS, virtio, PCIe)
  kNotAllowed,      // compatible not on the allowlist
  kUntranslatable,  // its reg is behind a bus whose address translation the hyp does not do
  kSharesPage,      // its window would share a page with a device the host is not given
  kBeyondIpa,       // its window lies at or above the host's IPA limit
};

struct DeniedDevice {
  int node;
  Denial why;
};

struct DevicePolicy {
  // Compatible strings the host may be given, separated by spaces
  // (PLATFORM_HOST_DEVICES in configs/platform/*.conf).
  const char* allowed;
  uint64_t ipa_limit;  // the host's IPA space is [0, ipa_limit)
  // Offset of the SMMU the hyp owns and sets up before the host runs, or -1. A PCIe host
  // whose iommu-map sends every requester to it is given to the host: its endpoints' DMA
  // translates through the hyp's tables (docs/hypervisor.md, "SMMU").
  int smmu_node = -1;
};

struct DevicePlan {
  HostWindow windows[kMaxHostWindows];  // ascending, disjoint
  size_t window_count = 0;
  DeniedDevice denied[kMaxDeniedDevices];  // in DTB order (ascending node offsets)
  size_t denied_count = 0;
  // For kOverlap: the device whose reg overlaps RAM, for the FATAL line.
  int overlap_node = -1;
  // The PCIe host given behind the SMMU, or -1. Its config space and the CPU windows of its
  // ranges below policy.ipa_limit are in `windows`; the host DTB loses its iommu-map and
  // msi-map (the SMMU and the ITS are not the host's) and the windows the stage-2 cannot map.
  int pci_host_node = -1;
  uint64_t ipa_limit = 0;
};

// Walks the DTB and decides, for every enabled node with a "reg" or a translating "ranges",
// whether the host gets it. Fails with kOverlap (overlap_node set) if a device's reg overlaps
// a RAM bank of `info`, kBadPolicy if the allowlist names a known DMA master, kNoSpace if the
// fixed tables are too small, kBadDtb if a node's reg cannot be read.
BootStatus plan_host_devices(const void* fdt, const PlatformInfo& info, const DevicePolicy& policy,
                             DevicePlan* out);

// Why a device was denied, as the boot log says it: "DMA master", ...
const char* denial_name(Denial why);

}  // namespace hyp::boot
