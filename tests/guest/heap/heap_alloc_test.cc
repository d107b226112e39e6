// DMA_HEAP_IOCTL_ALLOC on every protected heap and on the system heap, which
// serves as the control: the same request must give the same answer whether
// or not the memory is lent afterwards, so user space cannot tell them apart.
#include <fcntl.h>
#include <linux/dma-heap.h>

#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dma_heap.h"
#include "heap_names.h"

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

class HeapSizeTest : public ::testing::TestWithParam<std::tuple<std::string, FrameSize>> {
 protected:
  const std::string& heap() const { return std::get<0>(GetParam()); }
  uint64_t request() const { return std::get<1>(GetParam()).bytes; }
};

TEST_P(HeapSizeTest, AllocatesDmaBufOfPageRoundedSize) {
  const Outcome<UniqueFd> buffer = AllocateFromHeap(heap(), request());
  ASSERT_EQ(ErrnoName(buffer.error), "success");

  EXPECT_TRUE(IsDmaBuf(buffer.value.get()));
  const Outcome<off_t> size = DmaBufSize(buffer.value.get());
  ASSERT_EQ(ErrnoName(size.error), "success");
  EXPECT_EQ(static_cast<uint64_t>(size.value), PageRound(request()));
}

TEST_P(HeapSizeTest, NamesHeapAsExporterInFdinfo) {
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

// Each rejection of the dma-heap core, the same for every heap: the request
// never reaches the heap driver.
class HeapRequestTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    Outcome<UniqueFd> opened = OpenHeap(GetParam());
    ASSERT_EQ(ErrnoName(opened.error), "success");
    heap_fd_ = std::move(opened.value);
  }

  std::string AllocError(const AllocRequest& request) const {
    return ErrnoName(Allocate(heap_fd_.get(), request).error);
  }

  UniqueFd heap_fd_;
};

TEST_P(HeapRequestTest, SetsCloexecOnReturnedFd) {
  const Outcome<UniqueFd> buffer = Allocate(heap_fd_.get(), {.len = kPageSize});
  ASSERT_EQ(ErrnoName(buffer.error), "success");

  const int flags = fcntl(buffer.value.get(), F_GETFD);
  ASSERT_GE(flags, 0) << ErrnoName(errno);
  EXPECT_TRUE(flags & FD_CLOEXEC);
}

TEST_P(HeapRequestTest, RejectsZeroLength) {
  EXPECT_EQ(AllocError({.len = 0}), "EINVAL");
}

TEST_P(HeapRequestTest, RejectsLengthThatWrapsWhenPageRounded) {
  EXPECT_EQ(AllocError({.len = UINT64_MAX}), "EINVAL");
}

TEST_P(HeapRequestTest, RejectsNonblockFdFlag) {
  EXPECT_EQ(AllocError({.len = kPageSize, .fd_flags = kDefaultFdFlags | O_NONBLOCK}), "EINVAL");
}

TEST_P(HeapRequestTest, RejectsAppendFdFlag) {
  EXPECT_EQ(AllocError({.len = kPageSize, .fd_flags = kDefaultFdFlags | O_APPEND}), "EINVAL");
}

TEST_P(HeapRequestTest, RejectsNonzeroHeapFlags) {
  EXPECT_EQ(AllocError({.len = kPageSize, .heap_flags = 1}), "EINVAL");
}

TEST_P(HeapRequestTest, RejectsCallerFilledFdField) {
  EXPECT_EQ(AllocError({.len = kPageSize, .fd = 3}), "EINVAL");
}

// The dma-heap core looks commands up by number in its table and answers
// EINVAL, not ENOTTY, for a number past its end (drivers/dma-buf/dma-heap.c).
TEST_P(HeapRequestTest, RejectsUnknownIoctlNumber) {
  dma_heap_allocation_data data = {
      .len = kPageSize, .fd = 0, .fd_flags = kDefaultFdFlags, .heap_flags = 0};
  const unsigned long unknown = _IOWR(DMA_HEAP_IOC_MAGIC, 0x1, dma_heap_allocation_data);
  EXPECT_EQ(ErrnoName(IoctlError(heap_fd_.get(), unknown, &data)), "EINVAL");
}

INSTANTIATE_TEST_SUITE_P(EveryHeap, HeapRequestTest, ::testing::ValuesIn(HeapsUnderTest()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return TestNameOfHeap(info.param);
                         });

}  // namespace
}  // namespace hypheap::guest
