// /init of the receiver domain: mounts what a module needs, loads the xen transport's
// receiver (hypheap_xen_rx.ko), says so, and then stays: the domain lives as long as dom0
// lends to it, so this init never powers it off.
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "modules.h"

namespace {

constexpr const char* kModule = "/lib/modules/hypheap/hypheap_xen_rx.ko";

}  // namespace

int main() {
  mount("devtmpfs", "/dev", "devtmpfs", 0, nullptr);
  mount("proc", "/proc", "proc", 0, nullptr);
  mount("sysfs", "/sys", "sysfs", 0, nullptr);
  const int error = hypheap::guest::LoadModule(kModule);
  if (error != 0) {
    std::printf("HYPHEAP-XEN-RX: %s FAIL (%s)\n", kModule, std::strerror(error));
  } else {
    std::printf("HYPHEAP-XEN-RX: receiver loaded\n");
  }
  std::fflush(stdout);
  for (;;) {
    pause();
  }
}
