// hh-heap-bench: how much a protected heap's allocation costs next to the
// system heap's, measured in the same boot. One sample is
// DMA_HEAP_IOCTL_ALLOC followed by close() of the dma-buf (the heap frees, and
// a protected heap reclaims from the hypervisor, before close() returns).
// Heaps are interleaved within every round, and their order rotates each
// round, so drift in the emulator hits every heap alike.
//
// Where the hypervisor's share of that time goes: the change of each phase
// of its PROFILE (debugfs hypheap/profile: validate, stage-2 writes, TLB
// maintenance, clean to PoC, scrub) over the same few buffers, per buffer.
//
// Where the kernel's share goes: the trace event hypheap_phase (page allocation, zeroing,
// clean to PoC, descriptor build, the MEM_ASSIGN call as the kernel waits for it, page free,
// and a pool's zeroing by the secure VM, which runs in a worker after the free), summed over
// the same few buffers, per buffer.
//
// A heap with a pool (hypheap.heap_pools=) is measured three times: warm, in the rounds above
// (what it freed the round before is pooled and zeroed by then), and cold, in rounds of its own
// beside the system heap with the pool drained before every sample (outside the timing), so
// every allocation lends new pages; a heap on the same backend without a pool is the
// "disabled" case. And a third time, steady: back-to-back alloc+free with no pause, so each
// allocation waits for the secure VM's zeroing of the buffer freed just before it, which the
// warm rounds leave out (their pause lets the worker finish): the pool's throughput, its
// zeroing counted in, against the system heap's, back to back too.
//
// Then, per heap, what the comparison of backends needs (issue 11,
// docs/performance.md): host calls into the hypervisor per buffer (STATS
// HOST_CALLS: MEM_ASSIGN and FF-A alike) and stage-2 leaves written per MiB
// (STATS S2_LEAF_WRITES), each a delta over a few extra alloc+free minus what
// reading the counters costs; memory the backend reserved at boot and does
// not use; the largest buffer it still serves after a churn of mixed sizes;
// and the secure VM's HASH throughput on one of its buffers.
//
// And bursts: many buffers of one size held at once, then freed (the calls a backend that
// sub-allocates from a lent block amortises over its buffers).
//
// Prints a table for people and one "hh-bench-json:" line per result for
// tools/bench-report. Never a timed assertion: exits 0 when every allocation
// of the latency rounds succeeded and the results were printed, 1 otherwise.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench_record.h"
#include "dma_heap.h"
#include "fd_io.h"
#include "heap_names.h"
#include "hypheap_debugfs.h"
#include "irq_latency.h"
#include "svm_device.h"

namespace {

using hypheap::guest::Allocate;
using hypheap::guest::BackendOf;
using hypheap::guest::BenchRecord;
using hypheap::guest::Counters;
using hypheap::guest::CounterValue;
using hypheap::guest::HeapStats;
using hypheap::guest::HypStats;
using hypheap::guest::IsProtectedHeap;
using hypheap::guest::kDmaHeapDir;
using hypheap::guest::kKiB;
using hypheap::guest::kMiB;
using hypheap::guest::kSystemHeap;
using hypheap::guest::ListDmaHeaps;
using hypheap::guest::OpenHeap;
using hypheap::guest::Outcome;
using hypheap::guest::ReadCounters;
using hypheap::guest::SvmDevice;
using hypheap::guest::TotalStats;
using hypheap::guest::UniqueFd;
using hypheap::guest::WriteAll;

constexpr const char* kDriverStats = "/sys/kernel/debug/hypheap/stats";
constexpr const char* kDriverHypercalls = "hypercalls";
constexpr const char* kHypStats = "/sys/kernel/debug/hypheap/hyp";
constexpr const char* kHypHostCalls = "host_calls";
constexpr const char* kHypLeafWrites = "s2_leaf_writes";
// A backend that sets memory aside at boot says how much in its heap's stats.
constexpr const char* kHeapReservedBytes = "reserved_bytes";
constexpr const char* kHeapChargedBytes = "charged_bytes";
constexpr const char* kHeapLimitBytes = "limit_bytes";
constexpr const char* kHypProfile = "/sys/kernel/debug/hypheap/profile";
// The phases of HYPHEAP_PROFILE_*, as the profile file names them ("<phase>_ns").
constexpr std::array<const char*, 5> kPhases = {"validate", "stage2", "tlb", "clean", "scrub"};
// The kernel's phases of enum hypheap_phase, as the trace event hypheap_phase names them.
constexpr std::array<const char*, 7> kKernelPhases = {"alloc", "zero", "clean",     "desc",
                                                      "hvc",   "free", "pool_scrub"};
// One page; a typical 1080p NV12 frame (3 MiB); a 4K frame (12 MiB); a large
// video pool buffer where per-page costs dominate.
constexpr std::array<size_t, 4> kSizes = {4 * kKiB, 3 * kMiB, 12 * kMiB, 64 * kMiB};
constexpr int kWarmupRounds = 2;
constexpr int kMeasuredRounds = 15;
// The steady pass: per (heap, size), kSteadyBursts runs of kSteadyPerBurst + 1 back-to-back
// alloc+free, heaps interleaved run by run. The first of a run is left out: the pause before
// it (the other heaps' run) let the worker zero what this heap freed last. Runs of 3 (15
// samples) were mostly the cycles just after that pause, for both heaps, and their median at
// 4 KiB swung from 1.8x to 3.7x the system heap between boots of the same code.
constexpr int kSteadyBursts = 5;
constexpr int kSteadyPerBurst = 12;
// Buffers per (heap, size) for the hypercall counts; they are integers per
// buffer when the driver batches as designed, so a few suffice.
constexpr int kCountedBuffers = 4;
// The consumer's view: the secure VM hashing a frame and a 4K frame. Three
// calls each, median; a 64 MiB HASH takes seconds under TCG.
constexpr std::array<size_t, 2> kHashSizes = {3 * kMiB, 12 * kMiB};
constexpr int kHashRepeats = 3;
// The churn: buffers of mixed video-ish sizes, allocated in a fixed
// pseudo-random order up to kChurnBytes, then every other one freed, so the
// holes are scattered through whatever the backend allocates from.
constexpr std::array<size_t, 4> kChurnSizes = {64 * kKiB, 1 * kMiB, 3 * kMiB, 12 * kMiB};
constexpr uint64_t kChurnBytes = 72 * kMiB;
// Largest-buffer search: MiB granularity, never more than this (a quarter of
// the guest's RAM, the default heap limit).
constexpr uint64_t kLargestCap = 256 * kMiB;
// Bursts: many buffers of one size held at once, then all freed, as a decoder allocates its
// frame pool. A backend that lends a block and sub-allocates (ffa-lend) pays its calls once
// per block there, where the one-at-a-time rounds above pay them for every buffer.
struct Burst {
  size_t size;
  int buffers;
};
constexpr std::array<Burst, 2> kBursts = {{{4 * kKiB, 32}, {3 * kMiB, 8}}};
constexpr int kBurstRepeats = 3;

struct Heap {
  std::string name;
  std::string backend;
  // "warm", "cold" or "steady" for a heap with a pool (docs/kernel.md, "Heap pools"), else
  // empty.
  std::string pool;
  // Steady pass, per size: allocations the pool missed (a lend, not a wait for the zeroing).
  std::array<int64_t, kSizes.size()> steady_misses{};
  UniqueFd fd;
  // samples[size index]: alloc+free times in nanoseconds
  std::array<std::vector<int64_t>, kSizes.size()> samples;
  std::array<int, kSizes.size()> first_errno{};
  std::array<std::optional<double>, kSizes.size()> driver_calls_per_buffer;
  std::array<std::optional<double>, kSizes.size()> host_calls_per_buffer;
  std::array<std::optional<double>, kSizes.size()> leaves_per_mib;
  // [size][phase]: microseconds of the hypervisor's phase per alloc+free
  std::array<std::array<std::optional<double>, kPhases.size()>, kSizes.size()> phase_us;
  // [size][phase]: microseconds of the kernel's phase per alloc+free (trace hypheap_phase)
  std::array<std::array<std::optional<double>, kKernelPhases.size()>, kSizes.size()> kernel_us;
  std::optional<int64_t> reserved_unused_bytes;
  struct Churn {
    uint64_t held_bytes = 0;
    uint64_t largest_bytes = 0;
    uint64_t cap_bytes = 0;
  };
  std::optional<Churn> churn;
  std::array<std::optional<double>, kHashSizes.size()> hash_mib_per_s;
  std::array<int64_t, kHashSizes.size()> hash_status{};
  struct BurstResult {
    std::vector<int64_t> ns_per_buffer;  // one per repeat
    std::optional<double> host_calls_per_buffer;
    std::optional<double> driver_calls_per_buffer;
    std::optional<double> leaves_per_mib;
    int error = 0;
  };
  std::array<BurstResult, kBursts.size()> bursts;
};

int64_t NowNs() {
  timespec ts{};
  // CLOCK_MONOTONIC cannot fail with a valid clock id and pointer.
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// 0, or the errno of the allocation or of the close.
int AllocFree(int heap_fd, size_t len) {
  Outcome<UniqueFd> buffer = Allocate(heap_fd, {.len = len});
  return buffer.ok() ? buffer.value.Close() : buffer.error;
}

// The time of one alloc+free, or the errno that stopped it.
struct Sample {
  int64_t ns = 0;
  int error = 0;
};

// A cold sample starts with nothing pooled: the drain (reclaims, outside the timing) first.
void Prepare(const Heap& heap) {
  if (heap.pool == "cold") {
    static_cast<void>(hypheap::guest::DrainPool(heap.name));
  }
}

std::string Shown(const Heap& heap) {
  return heap.pool.empty() ? heap.name : heap.name + " [" + heap.pool + "]";
}

Sample TimeAllocFree(int heap_fd, size_t len) {
  const int64_t start = NowNs();
  const int error = AllocFree(heap_fd, len);
  return {NowNs() - start, error};
}

std::vector<std::string> HeapsToMeasure() {
  std::vector<std::string> names = ListDmaHeaps();
  std::erase_if(
      names, [](const std::string& name) { return name != kSystemHeap && !IsProtectedHeap(name); });
  // The reference first, then the protected heaps by name.
  std::stable_partition(names.begin(), names.end(),
                        [](const std::string& name) { return name == kSystemHeap; });
  return names;
}

// A counter of a debugfs file, or nothing when the file or the line is missing.
std::optional<int64_t> ReadCounter(const Outcome<Counters>& counters, const char* key) {
  return counters.ok() ? CounterValue(counters.value, key) : std::nullopt;
}

std::optional<int64_t> DriverHypercalls() {
  return ReadCounter(TotalStats(), kDriverHypercalls);
}
std::optional<int64_t> HypHostCalls() {
  return ReadCounter(HypStats(), kHypHostCalls);
}
std::optional<int64_t> HypLeafWrites() {
  return ReadCounter(HypStats(), kHypLeafWrites);
}

// The heaps with a pool: their worker zeroes freed buffers after the free, with host calls
// and stage-2 changes of its own that would land in whichever heap's counting window is open.
std::vector<std::string> g_pooled_heaps;

// Waits (up to 30 s each) until no pool has a freed buffer left to zero.
void QuietPools() {
  for (const std::string& name : g_pooled_heaps) {
    for (int i = 0; i < 300; ++i) {
      const Outcome<Counters> pool = hypheap::guest::PoolStats(name);
      if (!pool.ok() || CounterValue(pool.value, "unscrubbed_bytes").value_or(0) == 0) {
        break;
      }
      usleep(100 * 1000);
    }
  }
}

// Waits (up to 30 s) until the heap's own pool worker has zeroed what the heap just freed.
// The worker's MEM_QUERY and FILL are the buffer's cost: a window that closes before them
// misses them, and the next window that opens would catch them. unscrubbed_bytes drops only
// after both, and reading the pool file makes no hypercall.
void WaitForPoolWorker(const Heap& heap) {
  if (heap.pool.empty()) {
    return;
  }
  for (int i = 0; i < 300; ++i) {
    const Outcome<Counters> pool = hypheap::guest::PoolStats(heap.name);
    if (!pool.ok() || CounterValue(pool.value, "unscrubbed_bytes").value_or(0) == 0) {
      return;
    }
    usleep(100 * 1000);
  }
}

// Change of a counter per buffer over kCountedBuffers alloc+free, the heap's own pool
// worker included; reading the counter may itself cost hypercalls (the hyp file makes
// STATS calls), so the change across two back-to-back reads is taken off. Both the
// reading-cost pair and every window open with all pools idle, so no worker's FILL
// lands in them (one in the pair would be subtracted from every buffer).
// A cold heap's drain before each buffer is left out (its reclaims are not the buffer's).
std::optional<double> PerBuffer(std::optional<int64_t> (*read)(), const Heap& heap, size_t len,
                                int& error) {
  QuietPools();
  const auto first = read();
  const auto second = read();
  if (!first || !second) {
    return std::nullopt;
  }
  const int64_t reading_cost = *second - *first;
  int64_t sum = 0;
  for (int i = 0; i < kCountedBuffers && error == 0; ++i) {
    Prepare(heap);
    QuietPools();
    const auto before = read();
    error = AllocFree(heap.fd.get(), len);
    WaitForPoolWorker(heap);
    const auto after = read();
    if (!before || !after) {
      return std::nullopt;
    }
    sum += *after - *before - reading_cost;
  }
  if (error != 0) {
    return std::nullopt;
  }
  return static_cast<double>(sum) / kCountedBuffers;
}

void MeasureLatency(std::vector<Heap>& heaps) {
  for (int round = 0; round < kWarmupRounds + kMeasuredRounds; ++round) {
    for (size_t s = 0; s < kSizes.size(); ++s) {
      for (size_t i = 0; i < heaps.size(); ++i) {
        Heap& heap = heaps[(i + static_cast<size_t>(round)) % heaps.size()];
        Prepare(heap);
        const Sample sample = TimeAllocFree(heap.fd.get(), kSizes[s]);
        if (sample.error != 0) {
          if (heap.first_errno[s] == 0) {
            heap.first_errno[s] = sample.error;
          }
        } else if (round >= kWarmupRounds) {
          heap.samples[s].push_back(sample.ns);
        }
      }
    }
  }
}

std::optional<int64_t> PoolMisses(const Heap& heap) {
  return heap.pool.empty() ? std::nullopt
                           : ReadCounter(hypheap::guest::PoolStats(heap.name), "misses");
}

// The steady pass (heaps.front() is the system heap): see kSteadyBursts. Each size starts
// with the pools drained, so a buffer of it fits whenever the pool holds one of its size, and each
// run with every pool idle, so no worker's zeroing slows another heap's run (the system
// heap's above all: the reference); both outside the timing. A sample the pool missed is
// counted: it would be a lend, not a wait.
void MeasureSteady(std::vector<Heap>& heaps) {
  for (size_t s = 0; s < kSizes.size(); ++s) {
    for (const Heap& heap : heaps) {
      if (!heap.pool.empty()) {
        if (const int error = hypheap::guest::DrainPool(heap.name); error != 0) {
          std::printf("hh-heap-bench: steady pass: draining %s's pool: %s\n", heap.name.c_str(),
                      std::strerror(error));
        }
      }
    }
    for (int burst = 0; burst < kSteadyBursts; ++burst) {
      for (size_t i = 0; i < heaps.size(); ++i) {
        Heap& heap = heaps[(i + static_cast<size_t>(burst)) % heaps.size()];
        QuietPools();
        const std::optional<int64_t> misses_before = PoolMisses(heap);
        for (int k = 0; k <= kSteadyPerBurst; ++k) {
          const Sample sample = TimeAllocFree(heap.fd.get(), kSizes[s]);
          if (sample.error != 0) {
            if (heap.first_errno[s] == 0) {
              heap.first_errno[s] = sample.error;
            }
            break;
          }
          if (k > 0) {
            heap.samples[s].push_back(sample.ns);
          }
        }
        // The first allocation of a run may miss (its size's pool was just drained).
        if (const auto after = PoolMisses(heap); after && misses_before) {
          heap.steady_misses[s] += std::max<int64_t>(0, *after - *misses_before - (burst == 0));
        }
      }
    }
  }
  QuietPools();
}

// Microseconds per buffer of each hypervisor phase over kCountedBuffers
// alloc+free; nothing when the profile file is missing (an older hypervisor).
std::array<std::optional<double>, kPhases.size()> PhasesPerBuffer(const Heap& heap, size_t len,
                                                                  int& error) {
  std::array<std::optional<double>, kPhases.size()> out;
  std::array<int64_t, kPhases.size()> sum{};
  std::array<bool, kPhases.size()> seen{};
  for (int i = 0; i < kCountedBuffers && error == 0; ++i) {
    Prepare(heap);
    QuietPools();
    const Outcome<Counters> before = ReadCounters(kHypProfile);
    error = AllocFree(heap.fd.get(), len);
    WaitForPoolWorker(heap);
    const Outcome<Counters> after = ReadCounters(kHypProfile);
    if (!before.ok() || !after.ok()) {
      return out;
    }
    for (size_t p = 0; p < kPhases.size(); ++p) {
      const std::string key = std::string(kPhases[p]) + "_ns";
      const auto b = CounterValue(before.value, key);
      const auto a = CounterValue(after.value, key);
      if (a && b) {
        sum[p] += *a - *b;
        seen[p] = true;
      }
    }
  }
  if (error != 0) {
    return out;
  }
  for (size_t p = 0; p < kPhases.size(); ++p) {
    if (seen[p]) {
      out[p] = static_cast<double>(sum[p]) / 1000.0 / kCountedBuffers;
    }
  }
  return out;
}

// tracefs where it is mounted, or where debugfs mounts it by itself; empty without one.
std::string TraceDir() {
  for (const char* dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    if (access((std::string(dir) + "/trace").c_str(), R_OK) == 0) {
      return dir;
    }
  }
  return {};
}

bool WriteFile(const std::string& path, const std::string& text, bool truncate = false) {
  std::ofstream out(path, truncate ? std::ios::trunc : std::ios::out);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

// Sums the ns= of each hypheap_phase line of the trace, by phase.
std::array<int64_t, kKernelPhases.size()> SumTrace(const std::string& dir, bool& any) {
  std::array<int64_t, kKernelPhases.size()> sum{};
  std::ifstream in(dir + "/trace");
  for (std::string line; std::getline(in, line);) {
    const size_t at = line.find(" hypheap_phase: phase=");
    if (at == std::string::npos) {
      continue;
    }
    const size_t name = at + std::strlen(" hypheap_phase: phase=");
    const size_t end = line.find(' ', name);
    const size_t ns = line.find(" ns=", name);
    if (end == std::string::npos || ns == std::string::npos) {
      continue;
    }
    const std::string phase = line.substr(name, end - name);
    for (size_t p = 0; p < kKernelPhases.size(); ++p) {
      if (phase == kKernelPhases[p]) {
        sum[p] += std::stoll(line.substr(ns + 4));
        any = true;
      }
    }
  }
  return sum;
}

// Microseconds per buffer of each kernel phase over kCountedBuffers alloc+free; nothing
// without tracefs or the event (an older driver).
std::array<std::optional<double>, kKernelPhases.size()> KernelPhasesPerBuffer(const Heap& heap,
                                                                              size_t len,
                                                                              int& error) {
  std::array<std::optional<double>, kKernelPhases.size()> out;
  const std::string dir = TraceDir();
  const std::string enable = dir + "/events/hypheap/hypheap_phase/enable";
  if (dir.empty() || !WriteFile(enable, "1")) {
    return out;
  }
  std::array<int64_t, kKernelPhases.size()> sum{};
  bool any = false;
  for (int i = 0; i < kCountedBuffers && error == 0; ++i) {
    Prepare(heap);
    WaitForPoolWorker(heap);
    WriteFile(dir + "/trace", "", true);
    error = AllocFree(heap.fd.get(), len);
    WaitForPoolWorker(heap);
    const auto one = SumTrace(dir, any);
    for (size_t p = 0; p < kKernelPhases.size(); ++p) {
      sum[p] += one[p];
    }
  }
  WriteFile(enable, "0");
  if (error != 0 || !any) {
    return out;  // no event: a backend the trace does not cover (ffa-lend, carveout)
  }
  for (size_t p = 0; p < kKernelPhases.size(); ++p) {
    out[p] = static_cast<double>(sum[p]) / 1000.0 / kCountedBuffers;
  }
  return out;
}

void CountHypercalls(std::vector<Heap>& heaps) {
  for (Heap& heap : heaps) {
    for (size_t s = 0; s < kSizes.size(); ++s) {
      int error = 0;
      heap.driver_calls_per_buffer[s] = PerBuffer(DriverHypercalls, heap, kSizes[s], error);
      heap.host_calls_per_buffer[s] = PerBuffer(HypHostCalls, heap, kSizes[s], error);
      const auto leaves = PerBuffer(HypLeafWrites, heap, kSizes[s], error);
      if (leaves) {
        heap.leaves_per_mib[s] = *leaves * static_cast<double>(kMiB) / kSizes[s];
      }
      heap.phase_us[s] = PhasesPerBuffer(heap, kSizes[s], error);
      heap.kernel_us[s] = KernelPhasesPerBuffer(heap, kSizes[s], error);
      if (error != 0 && heap.first_errno[s] == 0) {
        heap.first_errno[s] = error;
      }
    }
  }
}

// kBursts on every heap, heaps interleaved as in the rounds: per repeat, the time from the
// first allocation to the last close, per buffer, and the counters' change per buffer (read
// outside the timing, less what reading them costs).
void MeasureBursts(std::vector<Heap>& heaps) {
  for (int repeat = 0; repeat < kBurstRepeats; ++repeat) {
    for (size_t b = 0; b < kBursts.size(); ++b) {
      for (size_t i = 0; i < heaps.size(); ++i) {
        Heap& heap = heaps[(i + static_cast<size_t>(repeat)) % heaps.size()];
        Heap::BurstResult& out = heap.bursts[b];
        if (out.error != 0) {
          continue;
        }
        const auto reads = [] {
          return std::array{HypHostCalls(), DriverHypercalls(), HypLeafWrites()};
        };
        QuietPools();
        const auto twice = reads();
        const auto before = reads();
        std::vector<UniqueFd> held;
        const int64_t start = NowNs();
        for (int n = 0; n < kBursts[b].buffers && out.error == 0; ++n) {
          Outcome<UniqueFd> buffer = Allocate(heap.fd.get(), {.len = kBursts[b].size});
          if (buffer.ok()) {
            held.push_back(std::move(buffer.value));
          } else {
            out.error = buffer.error;
          }
        }
        for (UniqueFd& fd : held) {
          if (const int error = fd.Close(); error != 0 && out.error == 0) {
            out.error = error;
          }
        }
        const int64_t ns = NowNs() - start;
        WaitForPoolWorker(heap);  // outside the timing: its FILL and MEM_QUERY are counted
        const auto after = reads();
        if (out.error != 0) {
          continue;
        }
        out.ns_per_buffer.push_back(ns / kBursts[b].buffers);
        if (repeat != kBurstRepeats - 1) {
          continue;  // the counters of the last repeat, when every heap is warm
        }
        std::array<std::optional<double>, 3> per;
        for (size_t c = 0; c < per.size(); ++c) {
          if (twice[c] && before[c] && after[c]) {
            // reads() once cost before - twice
            const int64_t reading = *before[c] - *twice[c];
            per[c] = static_cast<double>(*after[c] - *before[c] - reading) / kBursts[b].buffers;
          }
        }
        out.host_calls_per_buffer = per[0];
        out.driver_calls_per_buffer = per[1];
        if (per[2]) {
          out.leaves_per_mib = *per[2] * static_cast<double>(kMiB) / kBursts[b].size;
        }
      }
    }
  }
}

// Nearest-rank percentile of sorted samples, p in (0, 100].
int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::max<size_t>(rank, 1) - 1];
}

struct Summary {
  double median_us = 0;
  double p90_us = 0;
};

std::optional<Summary> Summarize(std::vector<int64_t> samples) {
  if (samples.empty()) {
    return std::nullopt;
  }
  std::sort(samples.begin(), samples.end());
  return Summary{Percentile(samples, 50) / 1000.0, Percentile(samples, 90) / 1000.0};
}

std::string SizeText(size_t bytes) {
  return bytes >= kMiB ? std::to_string(bytes / kMiB) + " MiB"
                       : std::to_string(bytes / kKiB) + " KiB";
}

std::string Format(const char* format, auto... args) {
  char line[256];
  std::snprintf(line, sizeof(line), format, args...);
  return line;
}

std::string Number(std::optional<double> value, const char* format) {
  return value ? Format(format, *value) : "n/a";
}

// Memory the backend set aside at boot that no buffer uses now: what Linux
// lost to it. Zero for a backend that reserves nothing (the line is absent).
std::optional<int64_t> ReservedUnused(const std::string& heap) {
  const Outcome<Counters> stats = HeapStats(heap);
  if (!stats.ok()) {
    return std::nullopt;
  }
  const auto reserved = CounterValue(stats.value, kHeapReservedBytes);
  const auto charged = CounterValue(stats.value, kHeapChargedBytes);
  if (!reserved) {
    return 0;
  }
  return charged ? std::max<int64_t>(*reserved - *charged, 0) : std::optional<int64_t>{};
}

// A fixed pseudo-random sequence (xorshift), the same for every heap.
class Sequence {
 public:
  uint32_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }

 private:
  uint32_t state_ = 0x2545f491;
};

// Whether the heap serves one buffer of len bytes right now (kept for a
// moment, then freed).
bool Serves(int heap_fd, uint64_t len) {
  return AllocFree(heap_fd, len) == 0;
}

// The largest MiB multiple in [1 MiB, cap] the heap serves; 0 when not even
// 1 MiB. Binary search: whether a size fits is monotonic for one state.
uint64_t LargestServed(int heap_fd, uint64_t cap) {
  uint64_t lo = 0;               // MiB known to fit (0: none known)
  uint64_t hi = cap / kMiB + 1;  // MiB known not to fit
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    if (Serves(heap_fd, mid * kMiB)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo * kMiB;
}

// Churn, free every other buffer, then search the largest buffer that still
// fits beside what is held. The search is capped by the heap's own limit less
// what is held, so a page-backed heap reports the cap (flagged as such) and a
// contiguous one reports its fragmentation.
Heap::Churn MeasureChurn(const Heap& heap) {
  Sequence sequence;
  std::vector<UniqueFd> held;
  uint64_t allocated = 0;
  std::vector<uint64_t> sizes;
  while (allocated < kChurnBytes) {
    const size_t len = kChurnSizes[sequence.Next() % kChurnSizes.size()];
    Outcome<UniqueFd> buffer = Allocate(heap.fd.get(), {.len = len});
    if (!buffer.ok()) {
      break;  // a small pool: the churn is what fitted
    }
    held.push_back(std::move(buffer.value));
    sizes.push_back(len);
    allocated += len;
  }
  Heap::Churn churn;
  for (size_t i = 0; i < held.size(); ++i) {
    if (i % 2 == 0) {
      (void)held[i].Close();
    } else {
      churn.held_bytes += sizes[i];
    }
  }
  uint64_t cap = kLargestCap;
  if (const Outcome<Counters> stats = HeapStats(heap.name); stats.ok()) {
    if (const auto limit = CounterValue(stats.value, kHeapLimitBytes); limit && *limit > 0) {
      const uint64_t room =
          static_cast<uint64_t>(*limit) - std::min<uint64_t>(*limit, churn.held_bytes);
      cap = std::min(cap, room);
    }
  }
  churn.cap_bytes = cap / kMiB * kMiB;
  churn.largest_bytes = LargestServed(heap.fd.get(), churn.cap_bytes);
  return churn;  // `held` closes the rest
}

// MiB/s of the secure VM's SHA-256 over one buffer of each kHashSizes, or
// nothing with the secure VM's status when it refused (a heap lent to
// another VM, or a page-backed system heap the secure VM may not read).
void MeasureHash(const SvmDevice& svm, Heap& heap) {
  for (size_t s = 0; s < kHashSizes.size(); ++s) {
    Outcome<UniqueFd> buffer = Allocate(heap.fd.get(), {.len = kHashSizes[s]});
    if (!buffer.ok()) {
      continue;
    }
    std::vector<int64_t> samples;
    for (int i = 0; i < kHashRepeats; ++i) {
      const int64_t start = NowNs();
      const auto digest = svm.Hash(buffer.value.get());
      const int64_t ns = NowNs() - start;
      if (!digest.answer.ok()) {
        heap.hash_status[s] = digest.answer.status;
        break;
      }
      samples.push_back(ns);
    }
    if (samples.size() == kHashRepeats) {
      std::sort(samples.begin(), samples.end());
      const double seconds = static_cast<double>(samples[kHashRepeats / 2]) / 1e9;
      heap.hash_mib_per_s[s] = static_cast<double>(kHashSizes[s]) / kMiB / seconds;
    }
  }
}

std::optional<double> Ratio(std::optional<double> value, std::optional<double> reference) {
  if (!value || !reference || *reference == 0) {
    return std::nullopt;
  }
  return *value / *reference;
}

struct Row {
  std::optional<Summary> summary;
  std::optional<double> median_ratio;
  std::optional<double> p90_ratio;
};

Row LatencyRow(const Heap& heap, const Heap& reference, size_t s) {
  Row row;
  row.summary = Summarize(heap.samples[s]);
  const auto ref = Summarize(reference.samples[s]);
  if (row.summary && ref) {
    row.median_ratio = row.summary->median_us / ref->median_us;
    row.p90_ratio = row.summary->p90_us / ref->p90_us;
  }
  return row;
}

// The reference of the HASH ratios: the plain `hyp` backend (kernel pages lent by
// MEM_ASSIGN) lending to VM 10 like every other bench heap, so the ratio compares
// backends and not secure VMs: protected,bench-hyp, else the first hyp-pages heap
// without a pool, else the first that hashed.
const Heap* HashReference(const std::vector<Heap>& heaps) {
  const Heap* plain = nullptr;
  const Heap* first = nullptr;
  for (const Heap& heap : heaps) {
    if (!heap.hash_mib_per_s[0]) {
      continue;
    }
    if (heap.name == "protected,bench-hyp") {
      return &heap;
    }
    if (heap.backend == "hyp-pages" && heap.pool.empty() && !plain) {
      plain = &heap;
    }
    first = first ? first : &heap;
  }
  return plain ? plain : first;
}

// Where the kernel's time goes, per buffer: its phases (trace hypheap_phase), the share of
// the alloc+free median spent in the kernel outside the hypercall ("kernel"), in the
// MEM_ASSIGN calls as the kernel waits for them ("hvc", the hypervisor's PROFILE inside), and
// the pool's zeroing by the secure VM, which runs in a worker after the free ("scrub async").
std::string KernelTable(const std::vector<const Heap*>& heaps) {
  std::string out = Format("%-30s %-10s %7s %9s %9s %9s %9s %9s %9s %9s %7s %7s\n", "heap",
                           "backend", "size", "alloc us", "zero us", "clean us", "desc us",
                           "hvc us", "free us", "scrub us", "kernel", "hvc");
  for (size_t s = 0; s < kSizes.size(); ++s) {
    for (const Heap* heap : heaps) {
      const auto& k = heap->kernel_us[s];
      std::optional<double> kernel;
      for (size_t p : {0, 1, 2, 3, 5}) {
        if (k[p]) {
          kernel = kernel.value_or(0) + *k[p];
        }
      }
      const auto summary = Summarize(heap->samples[s]);
      const auto percent = summary ? std::optional(summary->median_us / 100.0) : std::nullopt;
      out += Format("%-30s %-10s %7s %9s %9s %9s %9s %9s %9s %9s %7s %7s\n", Shown(*heap).c_str(),
                    heap->backend.c_str(), SizeText(kSizes[s]).c_str(),
                    Number(k[0], "%.1f").c_str(), Number(k[1], "%.1f").c_str(),
                    Number(k[2], "%.1f").c_str(), Number(k[3], "%.1f").c_str(),
                    Number(k[4], "%.1f").c_str(), Number(k[5], "%.1f").c_str(),
                    Number(k[6], "%.1f").c_str(), Number(Ratio(kernel, percent), "%.0f%%").c_str(),
                    Number(Ratio(k[4], percent), "%.0f%%").c_str());
    }
  }
  return out;
}

// The latency table of one pass (its first heap the system heap, the reference); `how` says
// how its samples were taken.
std::string LatencyTable(const std::vector<Heap>& heaps, const char* what, const std::string& how) {
  const Heap& system = heaps.front();
  std::string out = Format(
      "hh-heap-bench: alloc+free (DMA_HEAP_IOCTL_ALLOC, close) latency%s; %s, heaps "
      "interleaved; clock_gettime(CLOCK_MONOTONIC) loop\n",
      what, how.c_str());
  out += Format("%-31s %-10s %7s %11s %11s %9s %9s %9s %10s\n", "heap", "backend", "size",
                "median us", "p90 us", "x system", "p90 x sys", "calls/buf", "leaves/MiB");
  for (size_t s = 0; s < kSizes.size(); ++s) {
    for (const Heap& heap : heaps) {
      const Row row = LatencyRow(heap, system, s);
      out += Format(
          "%-31s %-10s %7s %11s %11s %9s %9s %9s %10s\n", Shown(heap).c_str(), heap.backend.c_str(),
          SizeText(kSizes[s]).c_str(),
          Number(row.summary ? std::optional(row.summary->median_us) : std::nullopt, "%.1f")
              .c_str(),
          Number(row.summary ? std::optional(row.summary->p90_us) : std::nullopt, "%.1f").c_str(),
          Number(row.median_ratio, "%.2f").c_str(), Number(row.p90_ratio, "%.2f").c_str(),
          Number(heap.host_calls_per_buffer[s], "%.2f").c_str(),
          Number(heap.leaves_per_mib[s], "%.1f").c_str());
    }
  }
  return out;
}

std::string Table(const std::vector<Heap>& heaps) {
  const Heap& system = heaps.front();
  std::string out = Format(
      "hh-heap-bench: alloc+free (DMA_HEAP_IOCTL_ALLOC, close) latency; %d rounds after %d "
      "warm-up, heaps interleaved; clock_gettime(CLOCK_MONOTONIC) loop\n",
      kMeasuredRounds, kWarmupRounds);
  out += Format("%-30s %-10s %7s %11s %11s %9s %9s %9s %10s\n", "heap", "backend", "size",
                "median us", "p90 us", "x system", "p90 x sys", "calls/buf", "leaves/MiB");
  for (size_t s = 0; s < kSizes.size(); ++s) {
    for (const Heap& heap : heaps) {
      const Row row = LatencyRow(heap, system, s);
      out += Format(
          "%-30s %-10s %7s %11s %11s %9s %9s %9s %10s\n", Shown(heap).c_str(), heap.backend.c_str(),
          SizeText(kSizes[s]).c_str(),
          Number(row.summary ? std::optional(row.summary->median_us) : std::nullopt, "%.1f")
              .c_str(),
          Number(row.summary ? std::optional(row.summary->p90_us) : std::nullopt, "%.1f").c_str(),
          Number(row.median_ratio, "%.2f").c_str(), Number(row.p90_ratio, "%.2f").c_str(),
          Number(heap.host_calls_per_buffer[s], "%.2f").c_str(),
          Number(heap.leaves_per_mib[s], "%.1f").c_str());
    }
  }
  out += Format("%-30s %-10s %7s %10s %10s %10s %10s %10s %9s\n", "heap", "backend", "size",
                "hyp valid", "stage-2", "TLB", "clean", "scrub", "hyp share");
  for (size_t s = 0; s < kSizes.size(); ++s) {
    for (const Heap& heap : heaps) {
      if (heap.name == kSystemHeap) {
        continue;
      }
      const auto& ph = heap.phase_us[s];
      std::optional<double> total;
      for (const auto& v : ph) {
        if (v) {
          total = total.value_or(0) + *v;
        }
      }
      const auto summary = Summarize(heap.samples[s]);
      out += Format(
          "%-30s %-10s %7s %10s %10s %10s %10s %10s %9s\n", Shown(heap).c_str(),
          heap.backend.c_str(), SizeText(kSizes[s]).c_str(), Number(ph[0], "%.1f").c_str(),
          Number(ph[1], "%.1f").c_str(), Number(ph[2], "%.1f").c_str(),
          Number(ph[3], "%.1f").c_str(), Number(ph[4], "%.1f").c_str(),
          Number(Ratio(total, summary ? std::optional(summary->median_us / 100.0) : std::nullopt),
                 "%.0f%%")
              .c_str());
    }
  }
  out += Format("%-30s %-10s %14s %12s %14s %13s %13s\n", "heap", "backend", "reserved unused",
                "churn held", "largest after", "HASH 3M MiB/s", "HASH 12M MiB/s");
  for (const Heap& heap : heaps) {
    const std::string largest =
        heap.churn ? SizeText(heap.churn->largest_bytes) +
                         (heap.churn->largest_bytes == heap.churn->cap_bytes ? " (cap)" : "")
                   : "n/a";
    out +=
        Format("%-30s %-10s %14s %12s %14s %13s %13s\n", heap.name.c_str(), heap.backend.c_str(),
               heap.reserved_unused_bytes ? SizeText(*heap.reserved_unused_bytes).c_str() : "n/a",
               heap.churn ? SizeText(heap.churn->held_bytes).c_str() : "n/a", largest.c_str(),
               Number(heap.hash_mib_per_s[0], "%.2f").c_str(),
               Number(heap.hash_mib_per_s[1], "%.2f").c_str());
  }
  return out;
}

// The machine-readable lines: one per (heap, size) of the latency rounds, one
// per heap for the rest.
BenchRecord LatencyRecord(const Heap& heap, const Heap& system, size_t s) {
  const Row row = LatencyRow(heap, system, s);
  BenchRecord record("latency");
  record.Text("heap", heap.name)
      .Text("backend", heap.backend)
      .Text("pool", heap.pool.empty() ? "none" : heap.pool)
      .Int("size", static_cast<int64_t>(kSizes[s]))
      .Int("samples", static_cast<int64_t>(heap.samples[s].size()))
      .Real("median_us", row.summary ? std::optional(row.summary->median_us) : std::nullopt)
      .Real("p90_us", row.summary ? std::optional(row.summary->p90_us) : std::nullopt)
      .Real("median_x_system", row.median_ratio)
      .Real("p90_x_system", row.p90_ratio)
      .Real("host_calls_per_buffer", heap.host_calls_per_buffer[s])
      .Real("driver_calls_per_buffer", heap.driver_calls_per_buffer[s])
      .Real("s2_leaves_per_mib", heap.leaves_per_mib[s])
      .Real("hyp_validate_us", heap.phase_us[s][0])
      .Real("hyp_stage2_us", heap.phase_us[s][1])
      .Real("hyp_tlb_us", heap.phase_us[s][2])
      .Real("hyp_clean_us", heap.phase_us[s][3])
      .Real("hyp_scrub_us", heap.phase_us[s][4])
      .Real("pool_misses", heap.pool == "steady"
                               ? std::optional(static_cast<double>(heap.steady_misses[s]))
                               : std::nullopt);
  for (size_t p = 0; p < kKernelPhases.size(); ++p) {
    record.Real(std::string("kernel_") + kKernelPhases[p] + "_us", heap.kernel_us[s][p]);
  }
  return record;
}

// The cold or steady pass: one latency line per (heap, size), its ratio to that pass's
// system heap.
std::string PassJsonLines(const std::vector<Heap>& pass) {
  std::string out;
  for (size_t i = 1; i < pass.size(); ++i) {
    for (size_t s = 0; s < kSizes.size(); ++s) {
      out += LatencyRecord(pass[i], pass.front(), s).Line();
    }
  }
  return out;
}

std::string JsonLines(const std::vector<Heap>& heaps) {
  const Heap& system = heaps.front();
  const Heap* hash_reference = HashReference(heaps);
  std::string out;
  for (const Heap& heap : heaps) {
    for (size_t s = 0; s < kSizes.size(); ++s) {
      out += LatencyRecord(heap, system, s).Line();
    }
    BenchRecord record("heap");
    record.Text("heap", heap.name)
        .Text("backend", heap.backend)
        .Int("reserved_unused_bytes", heap.reserved_unused_bytes)
        .Int("churn_held_bytes", heap.churn
                                     ? std::optional(static_cast<int64_t>(heap.churn->held_bytes))
                                     : std::nullopt)
        .Int("largest_after_churn_bytes",
             heap.churn ? std::optional(static_cast<int64_t>(heap.churn->largest_bytes))
                        : std::nullopt)
        .Flag("largest_is_cap", heap.churn && heap.churn->largest_bytes == heap.churn->cap_bytes);
    for (size_t s = 0; s < kHashSizes.size(); ++s) {
      const std::string size = std::to_string(kHashSizes[s] / kMiB) + "m";
      record.Real("hash_mib_per_s_" + size, heap.hash_mib_per_s[s])
          .Real("hash_x_hyp_" + size,
                Ratio(heap.hash_mib_per_s[s],
                      hash_reference ? hash_reference->hash_mib_per_s[s] : std::nullopt))
          .Int("hash_status_" + size, heap.hash_status[s] != 0
                                          ? std::optional<int64_t>(heap.hash_status[s])
                                          : std::nullopt);
    }
    out += record.Line();
  }
  return out;
}

// One "burst" line per (heap, burst): median over the repeats, and its ratio to the system
// heap's (the first heap).
std::string BurstLines(const std::vector<Heap>& heaps, std::string* table) {
  std::string out;
  *table = Format("%-30s %-10s %7s %7s %12s %9s %10s %10s %10s\n", "heap (burst)", "backend",
                  "size", "buffers", "us/buffer", "x system", "calls/buf", "MEM/buf", "leaves/MiB");
  for (size_t b = 0; b < kBursts.size(); ++b) {
    std::optional<double> system;
    for (const Heap& heap : heaps) {
      const Heap::BurstResult& r = heap.bursts[b];
      const auto summary = Summarize(r.ns_per_buffer);
      const auto us = summary ? std::optional(summary->median_us) : std::nullopt;
      if (heap.name == kSystemHeap) {
        system = us;
      }
      BenchRecord record("burst");
      record.Text("heap", heap.name)
          .Text("backend", heap.backend)
          .Text("pool", heap.pool.empty() ? "none" : heap.pool)
          .Int("size", static_cast<int64_t>(kBursts[b].size))
          .Int("buffers", kBursts[b].buffers)
          .Int("repeats", static_cast<int64_t>(r.ns_per_buffer.size()))
          .Real("us_per_buffer", us)
          .Real("x_system", Ratio(us, system))
          .Real("host_calls_per_buffer", r.host_calls_per_buffer)
          .Real("driver_calls_per_buffer", r.driver_calls_per_buffer)
          .Real("s2_leaves_per_mib", r.leaves_per_mib)
          .Int("errno", r.error != 0 ? std::optional<int64_t>(r.error) : std::nullopt);
      out += record.Line();
      *table += Format("%-30s %-10s %7s %7d %12s %9s %10s %10s %10s\n", Shown(heap).c_str(),
                       heap.backend.c_str(), SizeText(kBursts[b].size).c_str(), kBursts[b].buffers,
                       Number(us, "%.1f").c_str(), Number(Ratio(us, system), "%.2f").c_str(),
                       Number(r.host_calls_per_buffer, "%.2f").c_str(),
                       Number(r.driver_calls_per_buffer, "%.2f").c_str(),
                       Number(r.leaves_per_mib, "%.1f").c_str());
    }
  }
  return out;
}

bool ReportFailures(const std::vector<Heap>& heaps) {
  bool failed = false;
  for (const Heap& heap : heaps) {
    for (size_t s = 0; s < kSizes.size(); ++s) {
      if (heap.first_errno[s] != 0) {
        std::printf("hh-heap-bench: %s %s: allocation failed: %s\n", heap.name.c_str(),
                    SizeText(kSizes[s]).c_str(), std::strerror(heap.first_errno[s]));
        failed = true;
      }
    }
    for (size_t b = 0; b < kBursts.size(); ++b) {
      if (heap.bursts[b].error != 0) {
        std::printf("hh-heap-bench: %s burst of %d x %s: %s\n", heap.name.c_str(),
                    kBursts[b].buffers, SizeText(kBursts[b].size).c_str(),
                    std::strerror(heap.bursts[b].error));
        failed = true;
      }
    }
  }
  return failed;
}

}  // namespace

int main() {
  std::vector<Heap> heaps;
  for (const std::string& name : HeapsToMeasure()) {
    Outcome<UniqueFd> fd = OpenHeap(name);
    if (!fd.ok()) {
      std::printf("hh-heap-bench: open %s/%s: %s\n", kDmaHeapDir, name.c_str(),
                  std::strerror(fd.error));
      return 1;
    }
    Heap& heap = heaps.emplace_back();
    heap.name = name;
    const std::string backend = BackendOf(name);
    heap.backend = name == kSystemHeap ? "system" : backend.empty() ? "unknown" : backend;
    heap.fd = std::move(fd.value);
  }
  if (heaps.empty() || heaps.front().name != kSystemHeap) {
    std::printf("hh-heap-bench: %s/%s (the reference) is missing\n", kDmaHeapDir, kSystemHeap);
    return 1;
  }
  if (heaps.size() == 1) {
    std::printf("hh-heap-bench: no protected,* heap in %s (is hypheap.ko loaded?)\n", kDmaHeapDir);
    return 1;
  }
  if (!HypHostCalls() || !HypLeafWrites()) {
    std::printf(
        "hh-heap-bench: no %s or %s in %s (a hypervisor older than ABI 1.4?): "
        "calls/buf and leaves/MiB are n/a\n",
        kHypHostCalls, kHypLeafWrites, kHypStats);
  }
  std::fflush(stdout);

  // A heap with a pool is the warm case here, and again cold and steady in passes of their
  // own, each with the system heap first.
  std::vector<Heap> cold, steady;
  auto add_to = [](std::vector<Heap>& pass, const Heap& heap, const char* pool) {
    if (pass.empty()) {
      Heap& system = pass.emplace_back();
      system.name = kSystemHeap;
      system.backend = "system";
      system.fd = OpenHeap(kSystemHeap).value;
    }
    Heap& c = pass.emplace_back();
    c.name = heap.name;
    c.backend = heap.backend;
    c.pool = pool;
    c.fd = OpenHeap(heap.name).value;
  };
  for (Heap& heap : heaps) {
    if (heap.name == kSystemHeap || !hypheap::guest::HasPool(heap.name)) {
      continue;
    }
    g_pooled_heaps.push_back(heap.name);
    heap.pool = "warm";
    add_to(cold, heap, "cold");
    add_to(steady, heap, "steady");
  }

  MeasureLatency(heaps);
  CountHypercalls(heaps);
  MeasureBursts(heaps);
  if (!cold.empty()) {
    MeasureLatency(cold);
    CountHypercalls(cold);
    QuietPools();
    MeasureSteady(steady);
    for (const Heap& heap : steady) {
      for (size_t s = 0; s < kSizes.size(); ++s) {
        if (heap.steady_misses[s] != 0) {
          std::printf(
              "hh-heap-bench: steady pass: %s %s missed its pool %lld times (those "
              "samples lent new pages)\n",
              heap.name.c_str(), SizeText(kSizes[s]).c_str(),
              static_cast<long long>(heap.steady_misses[s]));
        }
      }
    }
  }
  // The host's interrupt latency while each heap allocates and frees 64 MiB buffers, over the
  // same probe with nothing running (hypheap_latency.ko; n/a without it).
  std::vector<hypheap::guest::IrqLatency> irq;
  for (const Heap& heap : heaps) {
    if (auto l = hypheap::guest::MeasureIrqLatency(heap.fd.get(), heap.name, heap.backend))
      irq.push_back(std::move(*l));
  }
  if (irq.empty())
    std::printf("hh-heap-bench: no %s (hypheap_latency.ko): interrupt latency is n/a\n",
                hypheap::guest::kIrqProbe);
  for (Heap& heap : heaps) {
    heap.reserved_unused_bytes = heap.name == kSystemHeap ? 0 : ReservedUnused(heap.name);
    heap.churn = MeasureChurn(heap);
  }
  if (Outcome<SvmDevice> svm = SvmDevice::Open(); svm.ok()) {
    for (Heap& heap : heaps) {
      if (heap.name != kSystemHeap) {
        MeasureHash(svm.value, heap);
      }
    }
  } else {
    std::printf("hh-heap-bench: no secure VM device: HASH throughput is n/a\n");
  }
  std::vector<const Heap*> protected_heaps;
  for (const std::vector<Heap>* pass : {&heaps, &cold}) {
    for (const Heap& heap : *pass) {
      if (heap.name != kSystemHeap) {
        protected_heaps.push_back(&heap);
      }
    }
  }
  std::string text = Table(heaps);
  if (!cold.empty()) {
    text += LatencyTable(cold, " (cold: pool drained before every sample)",
                         Format("%d rounds after %d warm-up", kMeasuredRounds, kWarmupRounds));
    text += LatencyTable(
        steady,
        " (steady: back to back, each allocation waits for the zeroing of the "
        "buffer freed before it)",
        Format("%d runs of %d, the first of each left out", kSteadyBursts, kSteadyPerBurst + 1));
  }
  std::string burst_table;
  const std::string burst_lines = BurstLines(heaps, &burst_table);
  text += KernelTable(protected_heaps) + burst_table + JsonLines(heaps) + PassJsonLines(cold) +
          PassJsonLines(steady) + burst_lines;
  // Each block in one write, so no kernel message lands inside it.
  std::string irq_text;
  if (!irq.empty()) {
    irq_text =
        "\nTimer interrupt latency on CPU 0 while the heap allocates and frees 64 MiB buffers\n"
        "(worst of 2 probes of 2 s each kind, hrtimer every 250 us; busy/idle of the maxima)\n"
        "heap                         backend    idle max us busy max us  x idle  buffers  hyp "
        "pieces\n";
    for (const auto& l : irq)
      irq_text += hypheap::guest::IrqLatencyRow(l);
    for (const auto& l : irq)
      irq_text += hypheap::guest::IrqLatencyJson(l);
  }
  text += irq_text;
  if (const int error = WriteAll(STDOUT_FILENO, text); error != 0) {
    std::printf("hh-heap-bench: writing the results: %s\n", std::strerror(error));
    return 1;
  }
  const bool failed = ReportFailures(heaps) | ReportFailures(cold) | ReportFailures(steady);
  std::fflush(stdout);
  return failed ? 1 : 0;
}
