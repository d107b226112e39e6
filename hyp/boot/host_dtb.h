// The DTB handed to the host: QEMU's blob with every device the host is not given disabled,
// plus no-map reservations for what the host must never touch, plus (optionally) a reusable
// CMA pool the host may lend buffers from, plus the /firmware/hypheap service node that the
// kernel driver probes (contract: docs/dt-binding.md).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "devices.h"
#include "range.h"
#include "status.h"

namespace hyp::boot {

struct NoMapRegion {
  const char* name;  // node name without unit address, e.g. "hypheap-hyp"
  MemRange range;
};

struct VmPerm {
  uint32_t vmid;
  uint32_t perms;
};

inline constexpr size_t kMaxHeapVmPerms = 4;

struct HeapDesc {
  const char* node;       // e.g. "heap-secure-video"
  const char* heap_name;  // e.g. "protected,secure-video"
  VmPerm vmperms[kMaxHeapVmPerms];
  size_t vmperm_count;
  // Serve this heap from the host CMA pool (memory-region), if there is one.
  bool from_host_cma = false;
  // hypheap,backend: "hyp", "cma", "ffa-lend" or "carveout" (docs/dt-binding.md); nullptr
  // leaves it out (the driver then infers it from memory-region).
  const char* backend = nullptr;
  // hypheap,pool-bytes: freed buffers the heap keeps lent to its secure VM for reuse
  // (docs/dt-binding.md); 0 leaves the property out (no pool).
  uint64_t pool_bytes = 0;
  // hypheap,use-case: the use case whose memory the heap serves, for a heap whose name is
  // not the use case's own (a benchmark heap); nullptr leaves it out (the name says it).
  const char* use_case = nullptr;
};

// Applies the value of the "hypheap.heap_backends=" boot option (`len` bytes at `spec`):
// comma-separated <heap>:<backend> pairs, <heap> a node name of `heaps` without its
// "heap-" prefix, <backend> one of the driver's; a cma or ffa-lend heap is served from the
// host CMA pool, a hyp or carveout one not. All or nothing: kBadPolicy, and `heaps`
// unchanged, for a heap or backend it does not know, a heap named twice or a malformed pair.
// A bench heap (add_bench_heaps(): one with a use_case) cannot be named, even among `count`;
// the hyp passes the production heaps' count.
BootStatus apply_heap_backends(const char* spec, size_t len, HeapDesc* heaps, size_t count);

// Applies the value of the "hypheap.heap_pools=" boot option: comma-separated
// <heap>:<bytes> pairs, <bytes> decimal with an optional K, M or G suffix, a multiple of
// 4 KiB (0: no pool). All or nothing, as apply_heap_backends().
BootStatus apply_heap_pools(const char* spec, size_t len, HeapDesc* heaps, size_t count);

// The heaps "hypheap.bench_heaps=" adds for the comparison benchmark, one per backend:
// node "heap-bench-<backend>", heap name "protected,bench-<backend>", lent to `dest`, use
// case "secure-video", served by <backend> (and the host CMA pool as above).
inline constexpr size_t kMaxBenchHeaps = 4;

// Appends to `heaps` (`*count` of `capacity` in use) the heaps of the value of
// "hypheap.bench_heaps=": comma-separated distinct backend names. All or nothing:
// kBadPolicy, and `heaps` and `*count` unchanged, for an unknown or repeated backend, an
// empty name, or more heaps than `capacity` holds.
BootStatus add_bench_heaps(const char* spec, size_t len, VmPerm dest, HeapDesc* heaps,
                           size_t* count, size_t capacity);

struct ServiceDesc {
  const char* conduit;  // "hvc" or "smc"
  uint32_t host_vmid;
  uint32_t abi_version;
  const HeapDesc* heaps;
  size_t heap_count;
  // The host CMA pool: becomes /reserved-memory/hypheap-cma@<base>
  // ("shared-dma-pool", reusable). Empty: no pool, and heaps that asked for
  // it get no memory-region (the kernel then serves them from its pages).
  MemRange host_cma{};
};

// Copies `orig` into buf (size bytes), marks every device `devices` denies the host
// status = "disabled", adds the nodes and packs the result. `devices` must have been planned
// from `orig`.
BootStatus build_host_dtb(const void* orig, void* buf, size_t size, const NoMapRegion* regions,
                          size_t region_count, const DevicePlan& devices,
                          const ServiceDesc& service);

// libfdt's description of the last failure of build_host_dtb().
const char* host_dtb_last_error();

}  // namespace hyp::boot
