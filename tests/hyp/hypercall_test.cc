// SMCCC decoding and encoding (hyp/core/hypercall.cc) and STATS (hyp/core/hyp.cc).
#include <cstring>

#include "hyp_fixture.h"

namespace hyp::testing {
namespace {

using HypercallTest = HypTest;

TEST_F(HypercallTest, UnknownFunctionIdIsNotSupported) {
  EXPECT_EQ(int64_t(smc(*hyp_, 0xC6000042).x[0]), HYPHEAP_ERR_NOT_SUPPORTED);
  EXPECT_EQ(int64_t(smc(*hyp_, 0x84000000).x[0]), HYPHEAP_ERR_NOT_SUPPORTED);
}

TEST_F(HypercallTest, FunctionIdIsReadFromW0Only) {
  const SmcccResult r = smc(*hyp_, (0xFFFFULL << 32) | HYPHEAP_FN_VENDOR_HYP_REVISION);
  EXPECT_EQ(r.x[0], uint64_t(HYPHEAP_ABI_VERSION_MAJOR));
}

TEST_F(HypercallTest, VendorUidAnswersTheHypheapUuid) {
  const SmcccResult r = smc(*hyp_, HYPHEAP_FN_VENDOR_HYP_UID);
  EXPECT_EQ(r.x[0], HYPHEAP_UID_0);
  EXPECT_EQ(r.x[1], HYPHEAP_UID_1);
  EXPECT_EQ(r.x[2], HYPHEAP_UID_2);
  EXPECT_EQ(r.x[3], HYPHEAP_UID_3);
}

TEST_F(HypercallTest, FailedQueryAnswersNothingBeyondTheStatus) {
  const SmcccResult r = smc(*hyp_, HYPHEAP_FN_MEM_QUERY, kData + 8, 1);
  EXPECT_EQ(int64_t(r.x[0]), HYPHEAP_ERR_RANGE_UNALIGNED);
  EXPECT_EQ(r.x[1], 0u);
  EXPECT_EQ(r.x[2], 0u);
  EXPECT_EQ(r.x[3], 0u);
}

TEST_F(HypercallTest, RevisionAnswersTheAbiVersion) {
  const SmcccResult r = smc(*hyp_, HYPHEAP_FN_VENDOR_HYP_REVISION);
  EXPECT_EQ(r.x[0], uint64_t(HYPHEAP_ABI_VERSION_MAJOR));
  EXPECT_EQ(r.x[1], uint64_t(HYPHEAP_ABI_VERSION_MINOR));
}

TEST_F(HypercallTest, StatsIndexOutOfRangeIsRefused) {
  EXPECT_EQ(int64_t(smc(*hyp_, HYPHEAP_FN_STATS, HYPHEAP_STAT_COUNT).x[0]), HYPHEAP_ERR_STAT_INDEX);
}

TEST_F(HypercallTest, StatsCountCallsFailuresAndPages) {
  ASSERT_EQ(assign(lend(kData, 3 * k4K)), Status::kOk);
  (void)call(lend(kData, 3 * k4K).bytes());  // fails: already lent
  ASSERT_EQ(assign(reclaim(kSvm0.bit(), kData, 3 * k4K)), Status::kOk);
  auto stat = [&](uint64_t i) {
    const SmcccResult r = smc(*hyp_, HYPHEAP_FN_STATS, i);
    EXPECT_EQ(r.x[0], 0u);
    return r.x[1];
  };
  EXPECT_EQ(stat(HYPHEAP_STAT_ASSIGN_CALLS), 3u);
  EXPECT_EQ(stat(HYPHEAP_STAT_ASSIGN_FAILED), 1u);
  EXPECT_EQ(stat(HYPHEAP_STAT_PAGES_LENT), 0u);
  EXPECT_EQ(stat(HYPHEAP_STAT_PAGES_RECLAIMED), 3u);
  EXPECT_EQ(stat(HYPHEAP_STAT_PAGES_SCRUBBED), 3u);
  EXPECT_GE(stat(HYPHEAP_STAT_BLOCK_SPLITS), 1u);
  EXPECT_EQ(stat(HYPHEAP_STAT_BLOCK_SPLITS), stat(HYPHEAP_STAT_BLOCK_MERGES));
  EXPECT_EQ(stat(HYPHEAP_STAT_TABLE_PAGES_USED) + stat(HYPHEAP_STAT_TABLE_PAGES_FREE), 1024u);
}

// The arch takes host stage-2 faults; STATS reports its totals under their own indices.
TEST_F(HypercallTest, StatsReportTheArchHostFaultCounters) {
  fake::set_host_fault_counts({.faults = 7, .injected = 6, .spurious = 5});
  EXPECT_EQ(smc(*hyp_, HYPHEAP_FN_STATS, HYPHEAP_STAT_HOST_FAULTS).x[1], 7u);
  EXPECT_EQ(smc(*hyp_, HYPHEAP_FN_STATS, HYPHEAP_STAT_ABORTS_INJECTED).x[1], 6u);
  EXPECT_EQ(smc(*hyp_, HYPHEAP_FN_STATS, HYPHEAP_STAT_FAULTS_SPURIOUS).x[1], 5u);
  EXPECT_EQ(smc(*hyp_, HYPHEAP_FN_STATS, HYPHEAP_STAT_FAULTS_SPURIOUS).x[0], 0u);
}

// An assign, rejected or not, is no host fault: the counters stay the arch's.
TEST_F(HypercallTest, StatsHostFaultsAreUntouchedByCalls) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  (void)call(lend(kData, k4K).bytes());  // fails: already lent
  EXPECT_EQ(smc(*hyp_, HYPHEAP_FN_STATS, HYPHEAP_STAT_HOST_FAULTS).x[1], 0u);
  EXPECT_EQ(smc(*hyp_, HYPHEAP_FN_STATS, HYPHEAP_STAT_ABORTS_INJECTED).x[1], 0u);
}

TEST_F(HypercallTest, ArgumentsCanComeStraightFromABytesBuffer) {
  // What the fuzzer will do: 32 bytes become x0..x3.
  const uint64_t regs[4] = {HYPHEAP_FN_MEM_QUERY, kData, 1, 0};
  uint8_t bytes[sizeof(SmcccArgs)];
  std::memcpy(bytes, regs, sizeof(bytes));
  SmcccArgs args;
  std::memcpy(&args, bytes, sizeof(args));
  EXPECT_EQ(hyp_->handle_smccc(0, args).x[1], kVmidHost.bit());
}

}  // namespace
}  // namespace hyp::testing
