// DMA_HEAP_IOCTL_ALLOC on every protected heap and on the system heap, which
// serves as the control: the same request must give the same answer whether
// or not the memory is lent afterwards, so user space cannot tell them apart.
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dma_heap.h"
#include "heap_names.h"
#include "hypheap_debugfs.h"

namespace hypheap::guest {
namespace {

using ::testing::Contains;
using ::testing::IsEmpty;
using ::testing::Not;

struct FrameSize {
  const char* name;
  uint64_t bytes;
};

// What video pipelines ask for: NV12 frames are width x height x 1.5 bytes,
// not page multiples, so the page rounding is part of what is checked.
constexpr FrameSize kSizes[] = {
    {"OneByte", 1},
    {"FourKiB", 4 * kKiB},
    {"Nv12Frame1080p", 1920 * 1080 * 3 / 2},
    {"Nv12Frame2160p", 3840 * 2160 * 3 / 2},
    {"SixtyFourMiB", 64 * kMiB},
};

std::vector<std::string> HeapsUnderTest() {
  std::vector<std::string> heaps = ProtectedHeaps();
  heaps.push_back(kSystemHeap);
  return heaps;
}

TEST(DmaHeapDevices, ListProtectedHeaps) {
  const std::vector<std::string> heaps = ProtectedHeaps();
  ASSERT_THAT(heaps, Not(IsEmpty()))
      << "no protected heap in /dev/dma_heap: hypheap.ko not loaded?";
  EXPECT_THAT(heaps, Contains(kSecureVideoHeap));
}

TEST(DmaHeapDevices, ListSystemHeap) {
  EXPECT_THAT(ListDmaHeaps(), Contains(kSystemHeap));
}

// xen, by design: every 4 KiB page of a lend is one grant of dom0's grant table, which
// holds 127 MiB of pages for all of dom0 (docs/xen.md), so the Xen platform's heap has a
// 32 MiB limit (hypheap,max-bytes): a buffer above it is refused with ENOMEM there, and
// that refusal is what is checked instead.
bool AboveXenHeapLimit(const std::string& heap, uint64_t bytes) {
  if (!OnXen() || heap == kSystemHeap) {
    return false;
  }
  const Outcome<Counters> stats = HeapStats(heap);
  const std::optional<int64_t> limit =
      stats.ok() ? CounterValue(stats.value, "limit_bytes") : std::nullopt;
  return limit.has_value() && PageRound(bytes) > static_cast<uint64_t>(*limit);
}

class HeapSizeTest : public ::testing::TestWithParam<std::tuple<std::string, FrameSize>> {
 protected:
  const std::string& heap() const { return std::get<0>(GetParam()); }
  uint64_t request() const { return std::get<1>(GetParam()).bytes; }

  // On Xen, a size above the heap's limit: asserts the refusal, says so.
  bool RefusedOnXen() const {
    if (!AboveXenHeapLimit(heap(), request())) {
      return false;
    }
    EXPECT_EQ(ErrnoName(AllocateFromHeap(heap(), request()).error), "ENOMEM")
        << "xen: above the heap's limit";
    return true;
  }
};

TEST_P(HeapSizeTest, AllocatesDmaBufOfPageRoundedSize) {
  if (RefusedOnXen()) {
    return;
  }
  const Outcome<UniqueFd> buffer = AllocateFromHeap(heap(), request());
  ASSERT_EQ(ErrnoName(buffer.error), "success");

  EXPECT_TRUE(IsDmaBuf(buffer.value.get()));
  const Outcome<off_t> size = DmaBufSize(buffer.value.get());
  ASSERT_EQ(ErrnoName(size.error), "success");
  EXPECT_EQ(static_cast<uint64_t>(size.value), PageRound(request()));
}

TEST_P(HeapSizeTest, NamesHeapAsExporterInFdinfo) {
  if (RefusedOnXen()) {
    return;
  }
  const Outcome<UniqueFd> buffer = AllocateFromHeap(heap(), request());
  ASSERT_EQ(ErrnoName(buffer.error), "success");

  const auto info = FdInfo(buffer.value.get());
  ASSERT_TRUE(info.contains("exp_name"));
  EXPECT_EQ(info.at("exp_name"), heap());
  ASSERT_TRUE(info.contains("size"));
  EXPECT_EQ(info.at("size"), std::to_string(PageRound(request())));
}

INSTANTIATE_TEST_SUITE_P(EveryHeap, HeapSizeTest,
                         ::testing::Combine(::testing::ValuesIn(HeapsUnderTest()),
                                            ::testing::ValuesIn(kSizes)),
                         [](const ::testing::TestParamInfo<HeapSizeTest::ParamType>& info) {
                           return TestNameOfHeap(std::get<0>(info.param)) + "_" +
                                  std::get<1>(info.param).name;
                         });

// What the dma-heap core itself refuses, the same for every heap: these
// requests never reach the heap driver, which the protected heaps' counters
// show (no failure, no hypercall). What the driver refuses is in
// protected_heap_test.cc.
class DmaHeapCoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    Outcome<UniqueFd> opened = OpenHeap(GetParam());
    ASSERT_EQ(ErrnoName(opened.error), "success");
    heap_fd_ = std::move(opened.value);
    if (IsProtectedHeap(GetParam())) {
      Outcome<Counters> stats = HeapStats(GetParam());
      ASSERT_EQ(ErrnoName(stats.error), "success");
      before_ = std::move(stats.value);
    }
  }

  void TearDown() override {
    if (reaches_driver_ || !IsProtectedHeap(GetParam())) {
      return;
    }
    const Outcome<Counters> after = HeapStats(GetParam());
    ASSERT_EQ(ErrnoName(after.error), "success");
    for (const auto& [key, value] : after.value) {
      if (key.starts_with("failures_") || key == "hypercalls") {
        EXPECT_EQ(value, before_[key]) << key << ": the request reached the driver";
      }
    }
  }

  std::string AllocError(const AllocRequest& request) const {
    return ErrnoName(Allocate(heap_fd_.get(), request).error);
  }

  UniqueFd heap_fd_;
  Counters before_;
  bool reaches_driver_ = false;
};

TEST_P(DmaHeapCoreTest, SetsCloexecOnReturnedFd) {
  reaches_driver_ = true;  // a successful allocation does, the fd is the core's
  const Outcome<UniqueFd> buffer = Allocate(heap_fd_.get(), {.len = kPageSize});
  ASSERT_EQ(ErrnoName(buffer.error), "success");

  const int flags = fcntl(buffer.value.get(), F_GETFD);
  ASSERT_GE(flags, 0) << ErrnoName(errno);
  EXPECT_TRUE(flags & FD_CLOEXEC);
}

TEST_P(DmaHeapCoreTest, RejectsZeroLength) {
  EXPECT_EQ(AllocError({.len = 0}), "EINVAL");
}

TEST_P(DmaHeapCoreTest, RejectsLengthThatWrapsWhenPageRounded) {
  EXPECT_EQ(AllocError({.len = UINT64_MAX}), "EINVAL");
}

TEST_P(DmaHeapCoreTest, RejectsNonblockFdFlag) {
  EXPECT_EQ(AllocError({.len = kPageSize, .fd_flags = kDefaultFdFlags | O_NONBLOCK}), "EINVAL");
}

TEST_P(DmaHeapCoreTest, RejectsAppendFdFlag) {
  EXPECT_EQ(AllocError({.len = kPageSize, .fd_flags = kDefaultFdFlags | O_APPEND}), "EINVAL");
}

TEST_P(DmaHeapCoreTest, RejectsNonzeroHeapFlags) {
  EXPECT_EQ(AllocError({.len = kPageSize, .heap_flags = 1}), "EINVAL");
}

TEST_P(DmaHeapCoreTest, RejectsCallerFilledFdField) {
  EXPECT_EQ(AllocError({.len = kPageSize, .fd = 3}), "EINVAL");
}

// The dma-heap core looks commands up by number in its table and answers
// EINVAL, not ENOTTY, for a number past its end (drivers/dma-buf/dma-heap.c).
TEST_P(DmaHeapCoreTest, RejectsUnknownIoctlNumber) {
  dma_heap_allocation_data data = {
      .len = kPageSize, .fd = 0, .fd_flags = kDefaultFdFlags, .heap_flags = 0};
  const unsigned long unknown = _IOWR(DMA_HEAP_IOC_MAGIC, 0x1, dma_heap_allocation_data);
  EXPECT_EQ(ErrnoName(IoctlError(heap_fd_.get(), unknown, &data)), "EINVAL");
}

INSTANTIATE_TEST_SUITE_P(EveryHeap, DmaHeapCoreTest, ::testing::ValuesIn(HeapsUnderTest()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return TestNameOfHeap(info.param);
                         });

// Malformed DMA_BUF_IOCTL_SYNC requests: the dma-buf core refuses them before
// it asks the exporter, so every heap answers alike. (What a protected heap's
// driver refuses itself, a well-formed sync, is ProtectedHeapTest.RefusesSync*.)
class DmaBufCoreTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DmaBufCoreTest, RejectsSyncWithoutDirection) {
  const Outcome<UniqueFd> buffer = AllocateFromHeap(GetParam(), kPageSize);
  ASSERT_EQ(ErrnoName(buffer.error), "success");
  EXPECT_EQ(ErrnoName(SyncError(buffer.value.get(), DMA_BUF_SYNC_START)), "EINVAL");
}

TEST_P(DmaBufCoreTest, RejectsSyncWithUnknownFlag) {
  const Outcome<UniqueFd> buffer = AllocateFromHeap(GetParam(), kPageSize);
  ASSERT_EQ(ErrnoName(buffer.error), "success");
  EXPECT_EQ(ErrnoName(SyncError(buffer.value.get(), DMA_BUF_SYNC_RW | 0x8)), "EINVAL");
}

INSTANTIATE_TEST_SUITE_P(EveryHeap, DmaBufCoreTest, ::testing::ValuesIn(HeapsUnderTest()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return TestNameOfHeap(info.param);
                         });

}  // namespace
}  // namespace hypheap::guest
