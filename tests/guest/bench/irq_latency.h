// The host's timer interrupt latency while a heap allocates and frees 64 MiB buffers, as a
// ratio to the same probe with nothing else running, in the same boot (issue 13 item 4).
// The probe is hypheap_latency.ko's (<debugfs>/hypheap_latency/probe): a hard-interrupt
// hrtimer on CPU 0, where this process and the allocating child are pinned, so every
// hypercall the heap makes delays it by as long as the hypervisor keeps the CPU.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hypheap::guest {

struct IrqProbe {
  int64_t samples = 0;
  int64_t max_ns = 0;
  int64_t mean_ns = 0;
};

struct IrqLatency {
  std::string heap;
  std::string backend;
  uint64_t size = 0;
  // The worst of the rounds, each kind.
  IrqProbe idle;
  IrqProbe busy;
  int64_t buffers = 0;               // alloc+free cycles completed during the busy probes
  std::optional<int64_t> preempted;  // STATS PREEMPTED over the busy probes (hyp pieces)
};

inline constexpr const char* kIrqProbe = "/sys/kernel/debug/hypheap_latency/probe";

// Nothing when the probe module is not loaded, or a probe fails (said on stdout).
std::optional<IrqLatency> MeasureIrqLatency(int heap_fd, const std::string& heap,
                                            const std::string& backend);
// One line of the table, and the hh-bench-json record.
std::string IrqLatencyRow(const IrqLatency& l);
std::string IrqLatencyJson(const IrqLatency& l);

}  // namespace hypheap::guest
