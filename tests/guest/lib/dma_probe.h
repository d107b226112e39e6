// A DMA master the host programs, aimed at a dma-buf: hypheap_dmaprobe.ko
// (/sys/kernel/debug/hypheap_dmaprobe/dma) attaches QEMU's edu to the buffer,
// maps it as any importing driver would, and moves the first kDmaProbeBytes
// between it and host memory. What the hypervisor's SMMU blocks does not fail:
// a blocked read gives zeros, a blocked write is dropped; STATS DMA_FAULTS
// counts it.
#pragma once

#include <cstdint>
#include <vector>

#include "dma_heap.h"

namespace hypheap::guest {

inline constexpr size_t kDmaProbeBytes = 2048;  // HYPHEAP_EDU_XFER

// Whether the module is loaded (its debugfs file exists).
bool DmaProbeLoaded();
// The bytes the host received from the buffer's first kDmaProbeBytes; the
// error is the command's errno (ENODEV: no edu, the host has no PCIe).
Outcome<std::vector<uint8_t>> DmaProbeRead(int dmabuf_fd);
// edu writes kDmaProbeBytes of `byte` at the buffer's start; 0 or the errno.
int DmaProbeWrite(int dmabuf_fd, uint8_t byte);

}  // namespace hypheap::guest
