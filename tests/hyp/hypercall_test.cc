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

// Every host call into the core counts, answered or refused, whichever id (1.4): the
// benchmark divides it by buffers to compare the MEM_ASSIGN and FF-A paths.
TEST_F(HypercallTest, StatsCountEveryHostCall) {
  const auto host_calls = [&] {
    return smc(*hyp_, HYPHEAP_FN_STATS, HYPHEAP_STAT_HOST_CALLS).x[1];
  };
  const uint64_t before = host_calls();  // this STATS call is counted before it answers
  EXPECT_EQ(before, 1u);
  (void)smc(*hyp_, 0xC6000042);  // refused: still a call
  (void)call(lend(kData, k4K).bytes());
  FfaRegs version{};
  version.x[0] = 0x84000063;  // FFA_VERSION
  version.x[1] = 0x10001;
  (void)hyp_->ffa_host_call(0, version);
  EXPECT_EQ(host_calls(), before + 4);
}

// Lending a page inside a block writes leaves in both stage-2s: the host's table that
// replaces the block (and loses the page) and the secure VM's new mapping.
TEST_F(HypercallTest, StatsCountStage2LeafWrites) {
  const auto leaves = [&] {
    return smc(*hyp_, HYPHEAP_FN_STATS, HYPHEAP_STAT_S2_LEAF_WRITES).x[1];
  };
  const uint64_t before = leaves();
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  const uint64_t after_lend = leaves();
  EXPECT_GE(after_lend - before, 2u);
  const auto sum = [&] {
    return hyp_->host().s2.counters().leaf_writes.get() +
           hyp_->secure_vm(kSvm0)->s2.counters().leaf_writes.get() +
           hyp_->secure_vm(kSvm1)->s2.counters().leaf_writes.get();
  };
  EXPECT_EQ(after_lend, sum());
  ASSERT_EQ(assign(reclaim(kSvm0.bit(), kData, k4K)), Status::kOk);
  EXPECT_GT(leaves(), after_lend);
}

// PROFILE (1.4): each phase of a change is timed where it happens. The fake clock ticks once
// per read, so a phase that ran shows at least one tick per time it was timed.
struct PhaseCounts {
  uint64_t times[HYPHEAP_PROFILE_COUNT];
  uint64_t ticks[HYPHEAP_PROFILE_COUNT];
};

PhaseCounts profile(Hyp& h) {
  PhaseCounts p{};
  for (unsigned i = 0; i < HYPHEAP_PROFILE_COUNT; i++) {
    const SmcccResult r = smc(h, HYPHEAP_FN_PROFILE, i);
    EXPECT_EQ(r.x[0], 0u);
    EXPECT_EQ(r.x[3], fake::kFakeCounterHz);
    p.ticks[i] = r.x[1];
    p.times[i] = r.x[2];
  }
  return p;
}

uint64_t times_since(const PhaseCounts& before, const PhaseCounts& after, unsigned phase) {
  EXPECT_GE(after.ticks[phase] - before.ticks[phase], after.times[phase] - before.times[phase]);
  return after.times[phase] - before.times[phase];
}

TEST_F(HypercallTest, ProfileTimesEachPhaseOfALendAndItsReclaim) {
  const PhaseCounts start = profile(*hyp_);
  ASSERT_EQ(assign(lend(kData, 3 * k4K)), Status::kOk);
  const PhaseCounts lent = profile(*hyp_);
  EXPECT_EQ(times_since(start, lent, HYPHEAP_PROFILE_VALIDATE), 1u);
  EXPECT_EQ(times_since(start, lent, HYPHEAP_PROFILE_STAGE2), 2u);  // host, then secure VM
  EXPECT_GE(times_since(start, lent, HYPHEAP_PROFILE_TLB), 1u);     // the host's, before the clean
  EXPECT_EQ(times_since(start, lent, HYPHEAP_PROFILE_CLEAN), 1u);
  EXPECT_EQ(times_since(start, lent, HYPHEAP_PROFILE_SCRUB), 0u);  // not a cleared lend

  ASSERT_EQ(assign(reclaim(kSvm0.bit(), kData, 3 * k4K)), Status::kOk);
  const PhaseCounts back = profile(*hyp_);
  EXPECT_EQ(times_since(lent, back, HYPHEAP_PROFILE_VALIDATE), 1u);
  EXPECT_EQ(times_since(lent, back, HYPHEAP_PROFILE_STAGE2), 2u);
  EXPECT_GE(times_since(lent, back, HYPHEAP_PROFILE_TLB), 1u);  // the secure VM's, before the scrub
  EXPECT_EQ(times_since(lent, back, HYPHEAP_PROFILE_CLEAN), 0u);
  EXPECT_EQ(times_since(lent, back, HYPHEAP_PROFILE_SCRUB), 1u);

  (void)call(reclaim(kSvm0.bit(), kData, 3 * k4K).bytes());  // refused: not lent any more
  const PhaseCounts refused = profile(*hyp_);
  EXPECT_EQ(times_since(back, refused, HYPHEAP_PROFILE_VALIDATE), 1u);
  for (unsigned p = HYPHEAP_PROFILE_STAGE2; p < HYPHEAP_PROFILE_COUNT; p++)
    EXPECT_EQ(times_since(back, refused, p), 0u) << "phase " << p;
}

TEST_F(HypercallTest, ProfilePhaseOutOfRangeIsRefused) {
  const SmcccResult r = smc(*hyp_, HYPHEAP_FN_PROFILE, HYPHEAP_PROFILE_COUNT);
  EXPECT_EQ(int64_t(r.x[0]), HYPHEAP_ERR_STAT_INDEX);
  EXPECT_EQ(r.x[1], 0u);
  EXPECT_EQ(r.x[2], 0u);
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
