// hypheap-xen-demo: what `make run-xen` shows once Xen's dom0 has the heaps, under a name
// /init can run without arguments: the heaps, one 1080p NV12 frame lent to the receiver
// domain (its ranges and owners), then the driver's and the xen transport's counters
// (lend supported, grants, pages out of dom0's p2m, time by phase; docs/xen.md).
#include <cstdio>

#include "commands.h"

int main() {
  using hypheap::cli::AllocCommand;
  int exit_code = hypheap::cli::RunHeaps();
  if (exit_code == 0) {
    exit_code = hypheap::cli::RunAlloc(
        AllocCommand{.heap = "protected,secure-video", .bytes = 1920 * 1080 * 3 / 2});
  }
  if (exit_code == 0) {
    exit_code = hypheap::cli::RunStats();
  }
  std::fflush(stdout);
  return exit_code;
}
