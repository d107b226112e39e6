#include "irq_latency.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "bench_record.h"
#include "dma_heap.h"
#include "fd_io.h"
#include "hypheap_debugfs.h"

namespace hypheap::guest {
namespace {

constexpr uint64_t kBufferBytes = 64ULL << 20;
constexpr int kProbeMs = 2000;
constexpr int kRounds = 2;  // idle, busy, idle, busy: drift hits both kinds alike

std::optional<IrqProbe> Probe(int ms) {
  const int fd = open(kIrqProbe, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return std::nullopt;
  const std::string arg = std::to_string(ms);
  // The write returns when the probe is over.
  const bool wrote = write(fd, arg.data(), arg.size()) == static_cast<ssize_t>(arg.size());
  char buf[128] = {};
  const ssize_t n = wrote ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;
  close(fd);
  IrqProbe p;
  if (n <= 0 || std::sscanf(buf, "samples=%" SCNd64 " max_ns=%" SCNd64 " mean_ns=%" SCNd64,
                            &p.samples, &p.max_ns, &p.mean_ns) != 3)
    return std::nullopt;
  return p;
}

std::optional<int64_t> HypPreempted() {
  Outcome<Counters> c = HypStats();
  return c.ok() ? CounterValue(c.value, "preempted") : std::nullopt;
}

// A child that allocates and frees buffers until killed; one byte down `out` per cycle.
pid_t StartChurn(int heap_fd, int out) {
  const pid_t pid = fork();
  if (pid != 0)
    return pid;
  for (;;) {
    Outcome<UniqueFd> buffer = Allocate(heap_fd, {.len = kBufferBytes});
    if (!buffer.ok())
      _exit(2);
    buffer.value.Reset();
    const char one = 1;
    if (write(out, &one, 1) != 1)
      _exit(3);
  }
}

void KeepWorst(IrqProbe& worst, const IrqProbe& p) {
  if (p.max_ns > worst.max_ns) {
    worst.max_ns = p.max_ns;
  }
  worst.mean_ns =
      worst.samples + p.samples == 0
          ? 0
          : (worst.mean_ns * worst.samples + p.mean_ns * p.samples) / (worst.samples + p.samples);
  worst.samples += p.samples;
}

}  // namespace

std::optional<IrqLatency> MeasureIrqLatency(int heap_fd, const std::string& heap,
                                            const std::string& backend) {
  if (access(kIrqProbe, W_OK) != 0)
    return std::nullopt;
  cpu_set_t old_mask, cpu0;
  CPU_ZERO(&cpu0);
  CPU_SET(0, &cpu0);
  if (sched_getaffinity(0, sizeof(old_mask), &old_mask) != 0 ||
      sched_setaffinity(0, sizeof(cpu0), &cpu0) != 0) {
    std::printf("hh-heap-bench: cannot pin to CPU 0: %s\n", std::strerror(errno));
    return std::nullopt;
  }
  IrqLatency l{heap, backend, kBufferBytes, {}, {}, 0, std::nullopt};
  bool ok = true;
  int64_t preempted = 0;
  bool have_preempted = true;
  for (int round = 0; round < kRounds && ok; ++round) {
    const std::optional<IrqProbe> idle = Probe(kProbeMs);
    int pipe_fds[2];
    if (!idle || pipe(pipe_fds) != 0) {
      ok = false;
      break;
    }
    KeepWorst(l.idle, *idle);
    const std::optional<int64_t> before = HypPreempted();
    const pid_t child = StartChurn(heap_fd, pipe_fds[1]);
    close(pipe_fds[1]);
    const std::optional<IrqProbe> busy = Probe(kProbeMs);
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);  // its last buffer is freed when it exits
    char bytes[256];
    for (ssize_t n; (n = read(pipe_fds[0], bytes, sizeof(bytes))) > 0;)
      l.buffers += n;
    close(pipe_fds[0]);
    const std::optional<int64_t> after = HypPreempted();
    if (before && after)
      preempted += *after - *before;
    else
      have_preempted = false;
    if (!busy) {
      ok = false;
      break;
    }
    KeepWorst(l.busy, *busy);
  }
  sched_setaffinity(0, sizeof(old_mask), &old_mask);
  if (!ok) {
    std::printf("hh-heap-bench: the interrupt latency probe of %s failed\n", heap.c_str());
    return std::nullopt;
  }
  if (have_preempted)
    l.preempted = preempted;
  return l;
}

std::string IrqLatencyRow(const IrqLatency& l) {
  char line[256];
  const double ratio = l.idle.max_ns > 0 ? double(l.busy.max_ns) / double(l.idle.max_ns) : 0;
  std::snprintf(line, sizeof(line), "%-28s %-9s %9.1f %9.1f %7.2f %8" PRId64 " %10s\n",
                l.heap.c_str(), l.backend.c_str(), double(l.idle.max_ns) / 1000.0,
                double(l.busy.max_ns) / 1000.0, ratio, l.buffers,
                l.preempted ? std::to_string(*l.preempted).c_str() : "n/a");
  return line;
}

std::string IrqLatencyJson(const IrqLatency& l) {
  return BenchRecord("irq_latency")
      .Text("heap", l.heap)
      .Text("backend", l.backend)
      .Int("size", static_cast<int64_t>(l.size))
      .Int("buffers", l.buffers)
      .Int("idle_samples", l.idle.samples)
      .Real("idle_max_us", double(l.idle.max_ns) / 1000.0)
      .Real("idle_mean_us", double(l.idle.mean_ns) / 1000.0)
      .Int("busy_samples", l.busy.samples)
      .Real("busy_max_us", double(l.busy.max_ns) / 1000.0)
      .Real("busy_mean_us", double(l.busy.mean_ns) / 1000.0)
      .Real("max_x_idle", l.idle.max_ns > 0
                              ? std::optional(double(l.busy.max_ns) / double(l.idle.max_ns))
                              : std::nullopt)
      .Int("hyp_preempted", l.preempted)
      .Line();
}

}  // namespace hypheap::guest
