// A virtio RNG on PCIe, behind the SMMU the hypervisor owns: its virtqueues and buffers are
// in host memory, which the host's DMA table maps, so it works as on bare metal, and the
// SMMU records no fault for it (docs/hypervisor.md, "SMMU").
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include <gtest/gtest.h>

#include "expectations.h"
#include "hypheap_debugfs.h"

namespace hypheap::guest {
namespace {

int64_t DmaFaults() {
  const Outcome<Counters> stats = HypStats();
  EXPECT_EQ(ErrnoName(stats.error), "success");
  const std::optional<int64_t> v = CounterValue(stats.value, "dma_faults");
  EXPECT_TRUE(v.has_value()) << "dma_faults in the hyp debugfs file (ABI 1.5)";
  return v.value_or(-1);
}

TEST(Dma, VirtioRngOnPcieWorksBehindTheSmmu) {
  const int64_t before = DmaFaults();
  const int fd = open("/dev/hwrng", O_RDONLY);
  ASSERT_GE(fd, 0) << "no /dev/hwrng: virtio-rng-pci not probed";
  std::array<uint8_t, 64> buf{};
  size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = read(fd, buf.data() + got, buf.size() - got);
    ASSERT_GT(n, 0) << "read /dev/hwrng";
    got += size_t(n);
  }
  close(fd);
  EXPECT_TRUE(std::any_of(buf.begin(), buf.end(), [](uint8_t b) { return b != 0; }));
  EXPECT_EQ(DmaFaults(), before) << "the SMMU blocked part of the RNG's DMA";
}

}  // namespace
}  // namespace hypheap::guest
