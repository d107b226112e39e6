// hh-sysinfo: what a newcomer should see first in the guest (`make run`), and
// the smoke test of the guest image: exits non-zero when the reference system
// heap is missing.
#include <sys/klog.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "dma_heap.h"
#include "heap_names.h"

namespace {

using hypheap::guest::kDmaHeapDir;
using hypheap::guest::kSystemHeap;
constexpr const char* kModuleName = "hypheap";
// Printed once by arm64 smp_cpus_done(); the only honest source for the
// exception level, since EL is not readable from EL0.
constexpr std::string_view kElMessage = "CPU: All CPU(s) started at ";
// klogctl actions (man 2 syslog): read the whole ring buffer, query its size.
constexpr int kSyslogReadAll = 3;
constexpr int kSyslogSizeBuffer = 10;

// "Live", "Loading" or "Unloading" from /proc/modules, or "" when not loaded.
std::string ModuleState(const std::string& module) {
  std::ifstream modules("/proc/modules");
  std::string name, size, refs, users, state;
  std::string rest;
  while (modules >> name >> size >> refs >> users >> state) {
    std::getline(modules, rest);
    if (name == module) {
      return state;
    }
  }
  return "";
}

std::string FirstLine(const char* path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  return line;
}

// "EL1", "EL2", or "" when the boot message has left the ring buffer.
std::string KernelExceptionLevel() {
  const int size = klogctl(kSyslogSizeBuffer, nullptr, 0);
  if (size <= 0) {
    return "";
  }
  std::string log(static_cast<size_t>(size), '\0');
  const int got = klogctl(kSyslogReadAll, log.data(), size);
  if (got <= 0) {
    return "";
  }
  log.resize(static_cast<size_t>(got));
  const size_t at = log.find(kElMessage);
  if (at == std::string::npos) {
    return "";
  }
  const size_t start = at + kElMessage.size();
  return log.substr(start, log.find('\n', start) - start);
}

std::string OrUnknown(const std::string& text, const char* why) {
  return text.empty() ? std::string("unknown (") + why + ")" : text;
}

}  // namespace

int main() {
  utsname uts{};
  uname(&uts);
  std::printf("kernel release: %s\n", uts.release);
  std::printf("cpus online: %s\n",
              OrUnknown(FirstLine("/sys/devices/system/cpu/online"), "no sysfs").c_str());
  std::printf("kernel runs at: %s\n",
              OrUnknown(KernelExceptionLevel(), "boot message not in the kernel log").c_str());
  const std::string state = ModuleState(kModuleName);
  std::printf("module %s: %s\n", kModuleName,
              state.empty() ? "not loaded" : ("loaded, " + state).c_str());

  const std::vector<std::string> heaps = hypheap::guest::ListDmaHeaps();
  std::printf("dma-buf heaps in %s: %zu\n", kDmaHeapDir, heaps.size());
  for (const std::string& heap : heaps) {
    std::printf("  %s\n", heap.c_str());
  }
  const bool has_reference = std::find(heaps.begin(), heaps.end(), kSystemHeap) != heaps.end();
  if (!has_reference) {
    std::printf("error: %s/%s is missing\n", kDmaHeapDir, kSystemHeap);
  }
  std::fflush(stdout);
  return has_reference ? 0 : 1;
}
