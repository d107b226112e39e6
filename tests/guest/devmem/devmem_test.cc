// The hypervisor's promise seen from user space: once the host lends a page,
// not even root reading physical memory through /dev/mem gets a byte of it.
// The reader is killed on its first access (the hypervisor injects an abort:
// SIGBUS, or SIGSEGV; SIGKILL under Xen), and the page comes back scrubbed. Every refused access
// is counted once by the hypervisor (STATS HOST_FAULTS, ABORTS_INJECTED).
#include <sys/mman.h>

#include <hypheap/abi.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dev_mem.h"
#include "dma_heap.h"
#include "expectations.h"
#include "heap_names.h"
#include "hypheap_debugfs.h"
#include "test_page.h"

namespace hypheap::guest {
namespace {

constexpr uint64_t kFrame1080p = 1920 * 1080 * 3 / 2;

// The hypervisor's host-fault counters now; use with ASSERT_NO_FATAL_FAILURE.
// xen, by design: Xen 4.17 counts nothing dom0 can read, so there the counters must be
// absent (EOPNOTSUPP) and every access is judged by how the child died alone.
void ReadHostFaults(HostFaults* out) {
  const Outcome<HostFaults> faults = HypHostFaults();
  if (OnXen()) {
    ASSERT_EQ(ErrnoName(faults.error), "EOPNOTSUPP") << "the xen transport has no hyp counters";
    *out = {};
    return;
  }
  ASSERT_EQ(ErrnoName(faults.error), "success") << "host_faults in the hyp debugfs file?";
  *out = faults.value;
}

// Passes when the hypervisor counted exactly one refused access and injected
// exactly one abort since `before`: one touch, one fault, nothing retried.
// Nothing else in this program faults while it runs.
::testing::AssertionResult CountedOnceSince(const HostFaults& before) {
  const Outcome<HostFaults> after = HypHostFaults();
  if (OnXen()) {
    return after.error == EOPNOTSUPP ? ::testing::AssertionSuccess()
                                     : ::testing::AssertionFailure()
                                           << "xen: hyp counters answered "
                                           << ErrnoName(after.error) << ", not EOPNOTSUPP";
  }
  if (!after.ok()) {
    return ::testing::AssertionFailure() << "hyp debugfs: " << ErrnoName(after.error);
  }
  if (after.value.faults != before.faults + 1 || after.value.injected != before.injected + 1) {
    return ::testing::AssertionFailure()
           << "host_faults " << before.faults << " -> " << after.value.faults
           << ", aborts_injected " << before.injected << " -> " << after.value.injected
           << " (each should grow by 1)";
  }
  return ::testing::AssertionSuccess();
}

class TestPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Outcome<TestPage> page = TestPage::Allocate();
    ASSERT_EQ(ErrnoName(page.error), "success") << "hypheap_testmod.ko loaded?";
    page_ = std::move(page.value);
  }

  PhysRange range() const { return {.pa = page_.pa(), .bytes = kPageSize}; }

  void LendPage() {
    ASSERT_EQ(ErrnoName(page_.Lend()), "success");
    ASSERT_EQ(page_.State().value, "lent");
  }

  void ReclaimPage() {
    ASSERT_EQ(ErrnoName(page_.Reclaim()), "success");
    ASSERT_EQ(page_.State().value, "host");
  }

  TestPage page_;
};

TEST_F(TestPageTest, HostReadsPatternThroughDevMemMapping) {
  ASSERT_EQ(page_.State().value, "host");
  const Outcome<Mapping> mapping = MapPhysical(page_.pa(), kPageSize, PROT_READ);
  ASSERT_EQ(ErrnoName(mapping.error), "success");

  EXPECT_TRUE(AllBytesAre(mapping.value.bytes(), kTestPagePattern));
}

TEST_F(TestPageTest, HostReadsPatternThroughDevMemRead) {
  const Outcome<std::vector<uint8_t>> bytes = ReadPhysical(page_.pa(), kPageSize);
  ASSERT_EQ(ErrnoName(bytes.error), "success");
  ASSERT_EQ(bytes.value.size(), kPageSize);

  EXPECT_TRUE(AllBytesAre(bytes.value, kTestPagePattern));
}

TEST_F(TestPageTest, LentPageBelongsToFirstSecureVm) {
  ASSERT_TRUE(HostOwnsRange(range()));
  ASSERT_NO_FATAL_FAILURE(LendPage());

  EXPECT_TRUE(VmOwnsRange(range(), HYPHEAP_VMID_SECURE_0));
}

// The mapping is made while the host owns the page, as an attacker would set
// it up in advance; the read comes after the lend.
TEST_F(TestPageTest, ReaderThroughEarlierMappingDiesBeforeFirstByte) {
  const Outcome<Mapping> mapping = MapPhysical(page_.pa(), kPageSize, PROT_READ);
  ASSERT_EQ(ErrnoName(mapping.error), "success");
  ASSERT_TRUE(AllBytesAre(mapping.value.bytes(), kTestPagePattern));
  ASSERT_NO_FATAL_FAILURE(LendPage());
  HostFaults before;
  ASSERT_NO_FATAL_FAILURE(ReadHostFaults(&before));

  const Outcome<ChildTouch> touch = ReadInChild(mapping.value.bytes());
  ASSERT_EQ(ErrnoName(touch.error), "success");
  EXPECT_TRUE(DiedBeforeFirstAccess(touch.value));
  EXPECT_TRUE(CountedOnceSince(before));
}

TEST_F(TestPageTest, ReaderThroughNewMappingDiesBeforeFirstByte) {
  ASSERT_NO_FATAL_FAILURE(LendPage());
  HostFaults before;
  ASSERT_NO_FATAL_FAILURE(ReadHostFaults(&before));

  const Outcome<ChildTouch> touch = MapAndReadInChild(page_.pa(), kPageSize);
  ASSERT_EQ(ErrnoName(touch.error), "success");
  EXPECT_TRUE(DiedBeforeFirstAccess(touch.value));
  EXPECT_TRUE(CountedOnceSince(before));
}

TEST_F(TestPageTest, WriterThroughEarlierMappingDiesBeforeFirstByte) {
  const Outcome<Mapping> mapping = MapPhysical(page_.pa(), kPageSize, PROT_READ | PROT_WRITE);
  ASSERT_EQ(ErrnoName(mapping.error), "success");
  ASSERT_NO_FATAL_FAILURE(LendPage());
  HostFaults before;
  ASSERT_NO_FATAL_FAILURE(ReadHostFaults(&before));

  const Outcome<ChildTouch> touch = WriteInChild(mapping.value.bytes(), 0x5a);
  ASSERT_EQ(ErrnoName(touch.error), "success");
  EXPECT_TRUE(DiedBeforeFirstAccess(touch.value));
  EXPECT_TRUE(CountedOnceSince(before));
}

// xen, by design: the abort Xen injects for a kernel read of a lent frame (fault status
// 0) is one Linux cannot fix up even in a nofault accessor, so read() of /dev/mem there is
// an oops and the end of dom0. Scenario xen-kernel-read asserts exactly that; here it
// would end the boot.
constexpr const char* kXenKernelReadIsAnOops =
    "xen, by design: a kernel read of a lent frame is an oops (scenario xen-kernel-read)";

// read() of /dev/mem copies through the kernel's fault-tolerant accessor: the
// injected abort turns into EFAULT for the caller, not an oops. The accessor
// stops at its first fault, so the hypervisor counts one.
TEST_F(TestPageTest, DevMemReadOfLentPageFailsWithEfault) {
  if (OnXen()) {
    GTEST_SKIP() << kXenKernelReadIsAnOops;
  }
  ASSERT_NO_FATAL_FAILURE(LendPage());
  HostFaults before;
  ASSERT_NO_FATAL_FAILURE(ReadHostFaults(&before));

  EXPECT_EQ(ErrnoName(ReadPhysical(page_.pa(), kPageSize).error), "EFAULT");
  EXPECT_TRUE(CountedOnceSince(before));
}

// Reclaiming a lent page scrubs it: whatever the secure VM left is gone.
TEST_F(TestPageTest, ReclaimedPageReadsZeros) {
  const Outcome<Mapping> mapping = MapPhysical(page_.pa(), kPageSize, PROT_READ);
  ASSERT_EQ(ErrnoName(mapping.error), "success");
  ASSERT_NO_FATAL_FAILURE(LendPage());
  ASSERT_NO_FATAL_FAILURE(ReclaimPage());

  EXPECT_TRUE(HostOwnsRange(range()));
  EXPECT_TRUE(AllBytesAre(mapping.value.bytes(), 0));
}

class ProtectedBufferDevMemTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    Outcome<UniqueFd> buffer = AllocateFromHeap(GetParam(), kFrame1080p);
    ASSERT_EQ(ErrnoName(buffer.error), "success");
    const Outcome<ino_t> ino = InodeOf(buffer.value.get());
    ASSERT_EQ(ErrnoName(ino.error), "success");
    const Outcome<LiveBuffer> listed = FindLiveBuffer(GetParam(), ino.value);
    ASSERT_EQ(ErrnoName(listed.error), "success");
    buffer_ = std::move(buffer.value);
    ranges_ = listed.value.ranges;
  }

  UniqueFd buffer_;
  std::vector<PhysRange> ranges_;
};

TEST_P(ProtectedBufferDevMemTest, ReaderOfEachRangeDiesBeforeFirstByte) {
  for (const PhysRange& range : ranges_) {
    HostFaults before;
    ASSERT_NO_FATAL_FAILURE(ReadHostFaults(&before));
    const Outcome<ChildTouch> touch = MapAndReadInChild(range.pa, kPageSize);
    ASSERT_EQ(ErrnoName(touch.error), "success");
    EXPECT_TRUE(DiedBeforeFirstAccess(touch.value)) << std::hex << "pa " << range.pa;
    EXPECT_TRUE(CountedOnceSince(before)) << std::hex << "pa " << range.pa;
  }
}

TEST_P(ProtectedBufferDevMemTest, ReaderOfLastPageDiesBeforeFirstByte) {
  const PhysRange& last = ranges_.back();
  HostFaults before;
  ASSERT_NO_FATAL_FAILURE(ReadHostFaults(&before));
  const Outcome<ChildTouch> touch = MapAndReadInChild(last.pa + last.bytes - kPageSize, kPageSize);
  ASSERT_EQ(ErrnoName(touch.error), "success");
  EXPECT_TRUE(DiedBeforeFirstAccess(touch.value));
  EXPECT_TRUE(CountedOnceSince(before));
}

TEST_P(ProtectedBufferDevMemTest, DevMemReadFailsWithEfault) {
  if (OnXen()) {
    GTEST_SKIP() << kXenKernelReadIsAnOops;
  }
  HostFaults before;
  ASSERT_NO_FATAL_FAILURE(ReadHostFaults(&before));
  EXPECT_EQ(ErrnoName(ReadPhysical(ranges_.front().pa, kPageSize).error), "EFAULT");
  if (BackendOf(GetParam()) == "carveout") {
    // carveout, by design: the secure VM's pool is a no-map region, outside Linux's linear
    // map, so read() of /dev/mem refuses it before any access: no fault for the hyp to count.
    HostFaults after;
    ASSERT_NO_FATAL_FAILURE(ReadHostFaults(&after));
    EXPECT_EQ(after.faults, before.faults);
    EXPECT_EQ(after.injected, before.injected);
    return;
  }
  EXPECT_TRUE(CountedOnceSince(before));
}

INSTANTIATE_TEST_SUITE_P(EveryProtectedHeap, ProtectedBufferDevMemTest,
                         ::testing::ValuesIn(ProtectedHeaps()), NameAfterHeap());

}  // namespace
}  // namespace hypheap::guest
