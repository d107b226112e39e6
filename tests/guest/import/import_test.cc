// A device driver imports dma-bufs through hypheap_testmod.ko's importer
// (/sys/kernel/debug/hypheap_test/import): attach, map for DMA, unmap,
// detach. A device that reaches the pages gets exactly the secure VM's pages;
// one whose DMA would bounce through swiotlb (a bus limit below the pages, or
// swiotlb=force on the command line) is refused with EOPNOTSUPP, counted, and
// nothing faults: swiotlb would copy the lent pages with the CPU. The system
// heap is the control that the bounce really happens in that boot.
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dma_heap.h"
#include "expectations.h"
#include "heap_names.h"
#include "hypheap_debugfs.h"

namespace hypheap::guest {
namespace {

constexpr const char* kImporter = "/sys/kernel/debug/hypheap_test/import";
// Below the first byte of RAM of QEMU virt (0x40000000): no page is reachable.
constexpr uint64_t kLimitBelowRam = 0x3fffffff;
// Single pages, a 64 KiB block and 2 MiB blocks: every allocation order.
constexpr uint64_t kSizes[] = {4 * kKiB, 68 * kKiB, 4 * kMiB + 4 * kKiB};

bool SwiotlbForced() {
  std::ifstream cmdline("/proc/cmdline");
  std::string word;
  while (cmdline >> word) {
    if (word == "swiotlb=force") {
      return true;
    }
  }
  return false;
}

struct Import {
  int error = 0;
  uint64_t segments = 0;
  uint64_t bytes = 0;
  uint64_t bounced = 0;
  std::vector<PhysRange> ranges;
};

std::vector<PhysRange> ParseRanges(const std::string& text) {
  std::vector<PhysRange> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const size_t plus = item.find('+');
    if (plus == std::string::npos) {
      continue;
    }
    const std::optional<uint64_t> pa = ParseHex(item.substr(0, plus));
    const std::optional<uint64_t> len = ParseHex(item.substr(plus + 1));
    if (pa && len) {
      out.push_back({*pa, *len});
    }
  }
  return out;
}

// Has the importer attach and map fd; limit 0 leaves the device's DMA alone.
Import ImportFd(int fd, uint64_t limit = 0) {
  Import result;
  Outcome<UniqueFd> file = OpenFile(kImporter, O_RDWR);
  if (!file.ok()) {
    result.error = file.error;
    return result;
  }
  std::ostringstream cmd;
  cmd << fd << " " << std::hex << limit;
  result.error = WriteAll(file.value.get(), cmd.str());
  if (result.error != 0) {
    return result;
  }
  Outcome<std::string> answer = ReadWholeFile(kImporter);
  if (!answer.ok()) {
    result.error = answer.error;
    return result;
  }
  std::map<std::string, std::string> fields = ParseFields(answer.value);
  result.segments = std::stoull(fields["segments"]);
  result.bytes = std::stoull(fields["bytes"]);
  result.bounced = std::stoull(fields["bounced"]);
  result.ranges = ParseRanges(fields["ranges"]);
  return result;
}

int64_t CounterOr0(const Outcome<Counters>& counters, const char* key) {
  return counters.ok() ? CounterValue(counters.value, key).value_or(0) : 0;
}

class ProtectedImportTest : public ::testing::TestWithParam<std::string> {
 protected:
  const std::string& heap() const { return GetParam(); }

  void ExpectLentToBorrower(int fd) const {
    const Outcome<ino_t> ino = InodeOf(fd);
    ASSERT_EQ(ErrnoName(ino.error), "success");
    const Outcome<LiveBuffer> listed = FindLiveBuffer(heap(), ino.value);
    ASSERT_EQ(ErrnoName(listed.error), "success");
    const std::optional<uint32_t> vm = BorrowerOf(heap());
    ASSERT_TRUE(vm.has_value()) << "no secure VM for " << heap() << " in the DT";
    for (const PhysRange& range : listed.value.ranges) {
      EXPECT_TRUE(VmOwnsRange(range, *vm));
    }
  }

  // The import is refused, counted once, faults nothing and leaves the
  // buffer lent.
  void ExpectRefused(uint64_t size, uint64_t limit) const {
    Outcome<UniqueFd> buffer = AllocateFromHeap(heap(), size);
    ASSERT_EQ(ErrnoName(buffer.error), "success");
    const Outcome<Counters> before = HeapStats(heap());
    const Outcome<HostFaults> faults = HypHostFaults();
    // xen, by design: Xen counts nothing dom0 can read (the counters must be absent); a
    // kernel touch of a lent page there is an oops, which fails the scenario instead.
    ASSERT_EQ(ErrnoName(faults.error), OnXen() ? "EOPNOTSUPP" : "success");

    EXPECT_EQ(ErrnoName(ImportFd(buffer.value.get(), limit).error), "EOPNOTSUPP");

    EXPECT_EQ(CounterOr0(HeapStats(heap()), "failures_EOPNOTSUPP"),
              CounterOr0(before, "failures_EOPNOTSUPP") + 1);
    const Outcome<HostFaults> after = HypHostFaults();
    ASSERT_EQ(ErrnoName(after.error), OnXen() ? "EOPNOTSUPP" : "success");
    if (!OnXen()) {
      EXPECT_EQ(after.value.faults, faults.value.faults) << "the host touched a lent page";
    }
    ExpectLentToBorrower(buffer.value.get());
  }
};

TEST_P(ProtectedImportTest, DeviceThatReachesThePagesGetsThemUnbounced) {
  if (SwiotlbForced()) {
    GTEST_SKIP() << "swiotlb=force: every device bounces";
  }
  for (const uint64_t size : kSizes) {
    Outcome<UniqueFd> buffer = AllocateFromHeap(heap(), size);
    ASSERT_EQ(ErrnoName(buffer.error), "success");
    const Import import = ImportFd(buffer.value.get());
    ASSERT_EQ(ErrnoName(import.error), "success") << size << " bytes";
    EXPECT_EQ(import.bytes, size);
    EXPECT_EQ(import.bounced, 0U);
    EXPECT_EQ(import.ranges.size(), import.segments);
    const std::optional<uint32_t> vm = BorrowerOf(heap());
    ASSERT_TRUE(vm.has_value()) << "no secure VM for " << heap() << " in the DT";
    for (const PhysRange& range : import.ranges) {
      EXPECT_TRUE(VmOwnsRange(range, *vm));
    }
  }
}

TEST_P(ProtectedImportTest, DeviceBelowThePagesIsRefused) {
  for (const uint64_t size : kSizes) {
    ExpectRefused(size, kLimitBelowRam);
  }
}

TEST_P(ProtectedImportTest, ForcedBounceIsRefused) {
  if (!SwiotlbForced()) {
    GTEST_SKIP() << "needs swiotlb=force on the kernel command line";
  }
  for (const uint64_t size : kSizes) {
    ExpectRefused(size, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryHeap, ProtectedImportTest, ::testing::ValuesIn(ProtectedHeaps()),
                         NameAfterHeap());

// The control: the system heap's pages are the host's, so its import may
// bounce; under swiotlb=force it must, or the refusals above prove nothing.
TEST(SystemHeapImportTest, BouncesExactlyWhenSwiotlbIsForced) {
  Outcome<UniqueFd> buffer = AllocateFromHeap("system", 64 * kKiB);
  ASSERT_EQ(ErrnoName(buffer.error), "success");
  const Import import = ImportFd(buffer.value.get());
  ASSERT_EQ(ErrnoName(import.error), "success");
  EXPECT_EQ(import.bytes, 64 * kKiB);
  if (SwiotlbForced()) {
    EXPECT_EQ(import.bounced, import.segments);
    EXPECT_GT(import.segments, 0U);
  } else {
    EXPECT_EQ(import.bounced, 0U);
  }
}

}  // namespace
}  // namespace hypheap::guest
