// The reading of the dmabuf-heaps selftest's output and the by-design table,
// on outputs shaped like the selftest's printf()s.
#include "selftest_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hypheap::kselftest {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr std::string_view kSystemRun =
    "Testing heap: system\n"
    "=======================================\n"
    "  Testing allocation and importing:  (Could not open vgem - skipping):   OK\n"
    "  Testing alloced 4k buffers are zeroed:  OK\n"
    "  Testing alloced 1024k buffers are zeroed:  OK\n"
    "  Testing (theoretical)older alloc compat:  OK\n"
    "  Testing (theoretical)newer alloc compat:  OK\n"
    "  Testing expected error cases:  OK\n";

std::vector<std::string> Ids(const SelftestOutput& out) {
  std::vector<std::string> ids;
  for (const Check& check : out.checks) {
    ids.push_back(check.id);
  }
  return ids;
}

TEST(ParseSelftestOutput, SystemHeapRunHasEveryCheckOk) {
  const SelftestOutput out = ParseSelftestOutput(kSystemRun);
  EXPECT_THAT(out.heaps, ElementsAre("system"));
  EXPECT_THAT(Ids(out), ElementsAre("alloc-import", "zeroed-4k", "zeroed-1024k", "compat-older",
                                    "compat-newer", "errors"));
  for (const Check& check : out.checks) {
    EXPECT_EQ(check.outcome, Outcome::kOk) << check.id;
    EXPECT_EQ(Judge(check, HeapKind::kOrdinary), "") << check.id;
  }
  EXPECT_TRUE(out.checks[0].vgem_skipped);
  EXPECT_FALSE(out.checks[1].vgem_skipped);
  EXPECT_THAT(out.other_lines, IsEmpty());
}

TEST(ParseSelftestOutput, MmapRefusalIsTheByDesignFailureOfAProtectedHeap) {
  const SelftestOutput out = ParseSelftestOutput(
      "Testing heap: protected,secure-video\n"
      "  Testing allocation and importing:  FAIL (mmap() failed)\n"
      "  Testing alloced 4k buffers are zeroed:  FAIL (mmap() failed!)\n");
  ASSERT_EQ(out.checks.size(), 2u);
  EXPECT_EQ(out.checks[0].reason, "mmap() failed");
  EXPECT_EQ(out.checks[1].reason, "mmap() failed!");
  EXPECT_EQ(Judge(out.checks[0], HeapKind::kProtected), "");
  EXPECT_EQ(Judge(out.checks[1], HeapKind::kProtected), "");
  EXPECT_THAT(Judge(out.checks[0], HeapKind::kOrdinary), ::testing::HasSubstr("failed"));
}

TEST(ParseSelftestOutput, ProtectedHeapPassingAnMmapCheckIsWrong) {
  const SelftestOutput out =
      ParseSelftestOutput("  Testing alloced 1024k buffers are zeroed:  OK\n");
  ASSERT_EQ(out.checks.size(), 1u);
  EXPECT_THAT(Judge(out.checks[0], HeapKind::kProtected),
              ::testing::HasSubstr("CPU could map a protected buffer"));
}

TEST(ParseSelftestOutput, ProtectedHeapFailingForAnotherReasonIsWrong) {
  const SelftestOutput out = ParseSelftestOutput(
      "  Testing alloced 4k buffers are zeroed:  FAIL (Allocation (0) failed)\n");
  ASSERT_EQ(out.checks.size(), 1u);
  EXPECT_EQ(out.checks[0].reason, "Allocation (0) failed");
  EXPECT_THAT(Judge(out.checks[0], HeapKind::kProtected), ::testing::HasSubstr("another reason"));
}

TEST(ParseSelftestOutput, ProtectedHeapMustPassChecksWithoutCpuAccess) {
  const SelftestOutput out = ParseSelftestOutput(
      "  Testing expected error cases:  FAIL (Did not see expected error (invalid heap "
      "flags)!)\n");
  ASSERT_EQ(out.checks.size(), 1u);
  EXPECT_EQ(out.checks[0].reason, "Did not see expected error (invalid heap flags)!");
  EXPECT_NE(Judge(out.checks[0], HeapKind::kProtected), "");
}

TEST(ParseSelftestOutput, DirtyBufferFailsAlthoughOkFollows) {
  const SelftestOutput out = ParseSelftestOutput(
      "  Testing alloced 4k buffers are zeroed:  FAIL (Allocated buffer not zeroed @ 7)\n"
      "OK\n"
      "  Testing alloced 1024k buffers are zeroed:  OK\n");
  ASSERT_EQ(out.checks.size(), 2u);
  EXPECT_EQ(out.checks[0].outcome, Outcome::kFail);
  EXPECT_EQ(out.checks[0].reason, "Allocated buffer not zeroed @ 7");
  EXPECT_EQ(out.checks[1].outcome, Outcome::kOk);
}

TEST(ParseSelftestOutput, CheckCutShortIsUnfinished) {
  const SelftestOutput out = ParseSelftestOutput(
      "  Testing alloced 4k buffers are zeroed:  open /dev/dma_heap/x failed!\n");
  ASSERT_EQ(out.checks.size(), 1u);
  EXPECT_EQ(out.checks[0].outcome, Outcome::kUnfinished);
  EXPECT_EQ(Judge(out.checks[0], HeapKind::kOrdinary), "did not finish");
}

TEST(ParseSelftestOutput, LinesOutsideChecksAreKept) {
  const SelftestOutput out = ParseSelftestOutput("open /dev/dma_heap/x failed!\n");
  EXPECT_THAT(out.checks, IsEmpty());
  EXPECT_THAT(out.other_lines, ElementsAre("open /dev/dma_heap/x failed!"));
}

TEST(ParseSelftestOutput, UnknownCheckIsNeverAccepted) {
  const SelftestOutput out = ParseSelftestOutput("  Testing something new:  OK\n");
  ASSERT_EQ(out.checks.size(), 1u);
  EXPECT_EQ(out.checks[0].id, "");
  EXPECT_THAT(Judge(out.checks[0], HeapKind::kOrdinary), ::testing::HasSubstr("unknown check"));
}

TEST(ParseSelftestOutput, CarriageReturnsAreIgnored) {
  const SelftestOutput out = ParseSelftestOutput("  Testing expected error cases:  OK\r\n");
  ASSERT_EQ(out.checks.size(), 1u);
  EXPECT_EQ(out.checks[0].outcome, Outcome::kOk);
}

TEST(KindOfHeap, OnlyProtectedPrefixIsProtected) {
  EXPECT_EQ(KindOfHeap("protected,secure-video"), HeapKind::kProtected);
  EXPECT_EQ(KindOfHeap("system"), HeapKind::kOrdinary);
  EXPECT_EQ(KindOfHeap("reserved"), HeapKind::kOrdinary);
  EXPECT_EQ(KindOfHeap("protected"), HeapKind::kOrdinary);
}

TEST(ExpectedUpstreamRun, ProtectedHeapStopsAtTheFirstCheck) {
  EXPECT_THAT(ExpectedUpstreamRun(HeapKind::kProtected), ElementsAre("alloc-import"));
  EXPECT_EQ(ExpectedUpstreamExit(HeapKind::kProtected), 255);
}

TEST(ExpectedUpstreamRun, OrdinaryHeapRunsEveryCheck) {
  EXPECT_THAT(ExpectedUpstreamRun(HeapKind::kOrdinary),
              ElementsAre("alloc-import", "zeroed-4k", "zeroed-1024k", "compat-older",
                          "compat-newer", "errors"));
  EXPECT_EQ(ExpectedUpstreamExit(HeapKind::kOrdinary), 0);
}

TEST(Expect, ExactlyTheThreeMmapChecksFailByDesign) {
  std::vector<std::string_view> by_design;
  for (std::string_view id : AllCheckIds()) {
    if (Expect(HeapKind::kProtected, id).outcome == Outcome::kFail) {
      by_design.push_back(id);
    }
    EXPECT_EQ(Expect(HeapKind::kOrdinary, id).outcome, Outcome::kOk) << id;
  }
  EXPECT_THAT(by_design, ElementsAre("alloc-import", "zeroed-4k", "zeroed-1024k"));
}

}  // namespace
}  // namespace hypheap::kselftest
