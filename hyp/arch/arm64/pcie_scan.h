// Bus 0 of the PCIe root complex the host is given, read once at boot: which function is
// there to receive the secure VM's SMMU context. Its stream is a requester ID, and the hyp
// must know that exactly one device, the one the platform file names, can emit it.
#pragma once

#include <stdint.h>

namespace hyp::arm64 {

inline constexpr uint32_t kNoSecureStream = ~0u;

// With the EL2 MMU off, reads the config space (ECAM) of the root complex at `pci_node` and
// returns `sid` if the function at that requester ID of bus 0 has vendor and device
// `want_id` (config dword 0: device << 16 | vendor) and nothing on bus 0 could emit the same
// requester ID: no bridge (QEMU takes a bridge's secondary bus number, which the host
// writes, at translation time), no SR-IOV function (a VF's ID is chosen by the host through
// First VF Offset and NumVFs), no ARI function (up to 256 functions of device 0). Else
// kNoSecureStream, logged with the reason: that stream then translates as the host's.
uint32_t pcie_check_secure_stream(const void* fdt, int pci_node, uint32_t sid, uint32_t want_id);

}  // namespace hyp::arm64
