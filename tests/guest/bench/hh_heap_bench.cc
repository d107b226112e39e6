// hh-heap-bench: how much a protected heap's allocation costs next to the
// system heap's, measured in the same boot. One sample is
// DMA_HEAP_IOCTL_ALLOC followed by close() of the dma-buf (the heap frees, and
// a protected heap reclaims from the hypervisor, before close() returns).
// Heaps are interleaved within every round, and their order rotates each
// round, so drift in the emulator hits every heap alike.
//
// Also counts hypercalls per buffer: the kernel driver's debugfs counter and
// the hypervisor's own MEM_ASSIGN count (its STATS call), each as a delta over
// a few extra alloc+free, minus what reading the counters costs.
//
// Never a timed assertion: exits 0 when every allocation succeeded and the
// table was printed, 1 otherwise.
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

#include "dma_heap.h"
#include "fd_io.h"
#include "heap_names.h"
#include "hypheap_debugfs.h"

namespace {

using hypheap::guest::Allocate;
using hypheap::guest::Counters;
using hypheap::guest::CounterValue;
using hypheap::guest::HypStats;
using hypheap::guest::IsProtectedHeap;
using hypheap::guest::kDmaHeapDir;
using hypheap::guest::kKiB;
using hypheap::guest::kMiB;
using hypheap::guest::kSystemHeap;
using hypheap::guest::ListDmaHeaps;
using hypheap::guest::OpenHeap;
using hypheap::guest::Outcome;
using hypheap::guest::TotalStats;
using hypheap::guest::UniqueFd;
using hypheap::guest::WriteAll;

constexpr const char* kDriverStats = "/sys/kernel/debug/hypheap/stats";
constexpr const char* kDriverHypercalls = "hypercalls";
constexpr const char* kHypStats = "/sys/kernel/debug/hypheap/hyp";
constexpr const char* kHypAssignCalls = "assign_calls";
// One page; a typical 1080p NV12 frame (3 MiB); a 4K frame (12 MiB); a large
// video pool buffer where per-page costs dominate.
constexpr std::array<size_t, 4> kSizes = {4 * kKiB, 3 * kMiB, 12 * kMiB, 64 * kMiB};
constexpr int kWarmupRounds = 2;
constexpr int kMeasuredRounds = 15;
// Buffers per (heap, size) for the hypercall counts; they are integers per
// buffer when the driver batches as designed, so a few suffice.
constexpr int kCountedBuffers = 4;

struct Heap {
  std::string name;
  UniqueFd fd;
  // samples[size index]: alloc+free times in nanoseconds
  std::array<std::vector<int64_t>, kSizes.size()> samples;
  std::array<int, kSizes.size()> first_errno{};
  std::array<std::optional<double>, kSizes.size()> driver_calls_per_buffer;
  std::array<std::optional<double>, kSizes.size()> hyp_assigns_per_buffer;
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
std::optional<int64_t> HypAssignCalls() {
  return ReadCounter(HypStats(), kHypAssignCalls);
}

// Change of a counter per buffer over kCountedBuffers alloc+free; reading the
// counter may itself cost hypercalls (the hyp file makes STATS calls), so the
// change across two back-to-back reads is taken off.
std::optional<double> PerBuffer(std::optional<int64_t> (*read)(), int heap_fd, size_t len,
                                int& error) {
  const auto first = read();
  const auto second = read();
  for (int i = 0; i < kCountedBuffers && error == 0; ++i) {
    error = AllocFree(heap_fd, len);
  }
  const auto after = read();
  if (!first || !second || !after || error != 0) {
    return std::nullopt;
  }
  const int64_t reading_cost = *second - *first;
  return static_cast<double>(*after - *second - reading_cost) / kCountedBuffers;
}

void MeasureLatency(std::vector<Heap>& heaps) {
  for (int round = 0; round < kWarmupRounds + kMeasuredRounds; ++round) {
    for (size_t s = 0; s < kSizes.size(); ++s) {
      for (size_t i = 0; i < heaps.size(); ++i) {
        Heap& heap = heaps[(i + static_cast<size_t>(round)) % heaps.size()];
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

void CountHypercalls(std::vector<Heap>& heaps) {
  for (Heap& heap : heaps) {
    for (size_t s = 0; s < kSizes.size(); ++s) {
      int error = 0;
      heap.driver_calls_per_buffer[s] =
          PerBuffer(DriverHypercalls, heap.fd.get(), kSizes[s], error);
      heap.hyp_assigns_per_buffer[s] = PerBuffer(HypAssignCalls, heap.fd.get(), kSizes[s], error);
      if (error != 0 && heap.first_errno[s] == 0) {
        heap.first_errno[s] = error;
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

std::string Table(const std::vector<Heap>& heaps) {
  std::string out = Format(
      "hh-heap-bench: alloc+free (DMA_HEAP_IOCTL_ALLOC, close) latency; %d rounds after %d "
      "warm-up, heaps interleaved; clock_gettime(CLOCK_MONOTONIC) loop\n",
      kMeasuredRounds, kWarmupRounds);
  out += Format("%-30s %7s %11s %11s %9s %9s %11s %11s\n", "heap", "size", "median us", "p90 us",
                "x system", "p90 x sys", "calls/buf", "hyp asg/buf");
  for (size_t s = 0; s < kSizes.size(); ++s) {
    const auto reference = Summarize(heaps.front().samples[s]);
    for (const Heap& heap : heaps) {
      const auto summary = Summarize(heap.samples[s]);
      std::optional<double> median, p90, median_ratio, p90_ratio;
      if (summary) {
        median = summary->median_us;
        p90 = summary->p90_us;
      }
      if (summary && reference) {
        median_ratio = summary->median_us / reference->median_us;
        p90_ratio = summary->p90_us / reference->p90_us;
      }
      out += Format("%-30s %7s %11s %11s %9s %9s %11s %11s\n", heap.name.c_str(),
                    SizeText(kSizes[s]).c_str(), Number(median, "%.1f").c_str(),
                    Number(p90, "%.1f").c_str(), Number(median_ratio, "%.2f").c_str(),
                    Number(p90_ratio, "%.2f").c_str(),
                    Number(heap.driver_calls_per_buffer[s], "%.2f").c_str(),
                    Number(heap.hyp_assigns_per_buffer[s], "%.2f").c_str());
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
  if (!DriverHypercalls()) {
    std::printf("hh-heap-bench: no %s counter in %s: calls/buf is n/a\n", kDriverHypercalls,
                kDriverStats);
  }
  if (!HypAssignCalls()) {
    std::printf("hh-heap-bench: no %s counter in %s: hyp asg/buf is n/a\n", kHypAssignCalls,
                kHypStats);
  }
  std::fflush(stdout);

  MeasureLatency(heaps);
  CountHypercalls(heaps);
  // The whole table in one write, so no kernel message lands inside it.
  if (const int error = WriteAll(STDOUT_FILENO, Table(heaps)); error != 0) {
    std::printf("hh-heap-bench: writing the table: %s\n", std::strerror(error));
    return 1;
  }
  const bool failed = ReportFailures(heaps);
  std::fflush(stdout);
  return failed ? 1 : 0;
}
