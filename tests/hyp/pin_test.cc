// Pin, unpin, hold and release (hyp/core/pin.cc), directly and as the secure VM's
// HYPHEAP_FN_SVM_* calls; reclaim of pinned pages is also in transaction_test.cc.
#include "hyp_fixture.h"

namespace hyp::testing {
namespace {

using PinTest = HypTest;

TEST_F(PinTest, PinRequiresAPageTheSecureVmMaps) {
  EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kData), 1), Status::kNotMapped);
  EXPECT_EQ(hyp_->pin(kVmidHost, Ipa(kData), 1), Status::kUnknownVmid);
  EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kData + 1), 1), Status::kRangeUnaligned);
  EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kData), 0), Status::kRangeSize);
}

TEST_F(PinTest, PinTwiceAndUnpinOfAnUnpinnedPageAreStateErrors) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  EXPECT_EQ(hyp_->unpin(kSvm0, Ipa(kData), 1), Status::kState);
  ASSERT_EQ(hyp_->pin(kSvm0, Ipa(kData), 1), Status::kOk);
  EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kData), 1), Status::kState);
}

TEST_F(PinTest, UnpinningMergesTheSecureVmMappingBack) {
  ASSERT_EQ(assign(lend(kGigBlock, k2M)), Status::kOk);
  ASSERT_EQ(svm_leaf(kGigBlock).level, 2u);
  ASSERT_EQ(hyp_->pin(kSvm0, Ipa(kGigBlock + k4K), 1), Status::kOk);
  EXPECT_EQ(svm_leaf(kGigBlock).level, 3u);
  ASSERT_EQ(hyp_->unpin(kSvm0, Ipa(kGigBlock + k4K), 1), Status::kOk);
  EXPECT_EQ(svm_leaf(kGigBlock).level, 2u);
}

constexpr uint64_t kR = HYPHEAP_SVM_NEED_R, kW = HYPHEAP_SVM_NEED_W;
constexpr uint64_t kExcl = HYPHEAP_SVM_NEED_EXCLUSIVE, kShared = HYPHEAP_SVM_NEED_SHARED;

class HoldTest : public HypTest {
 protected:
  // A mark call refused with `want` that changed no stage-2.
  template <typename F>
  void expect_refused(F got_fn, Status want) {
    const Snapshot before = snapshot();
    EXPECT_EQ(got_fn(*hyp_), want);
    EXPECT_TRUE(snapshot() == before);
    expect_invariants();
  }
  Status svm_call(uint64_t fid, uint64_t ipa, uint64_t pages, uint64_t need = 0,
                  VmId caller = kSvm0) {
    const SmcccResult r =
        hyp_->handle_partition_smccc(caller, 0, SmcccArgs{{fid, ipa, pages, need}});
    expect_invariants();
    return Status(int64_t(r.x[0]));
  }
};

TEST_F(HoldTest, HoldMakesReclaimBusyUntilRelease) {
  ASSERT_EQ(assign(lend(kData, 4 * k4K)), Status::kOk);
  ASSERT_EQ(svm_call(HYPHEAP_FN_SVM_HOLD, kData + k4K, 2, kR | kW | kExcl), Status::kOk);
  EXPECT_TRUE(svm_leaf(kData + k4K).held());
  EXPECT_EQ(query(kData + k4K, 2).state, uint64_t(HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_HELD));
  EXPECT_EQ(assign(reclaim(kSvm0.bit(), kData, 4 * k4K)), Status::kBusy);
  EXPECT_EQ(svm_call(HYPHEAP_FN_SVM_RELEASE, kData + k4K, 2), Status::kOk);
  EXPECT_EQ(assign(reclaim(kSvm0.bit(), kData, 4 * k4K)), Status::kOk);
}

TEST_F(HoldTest, HoldOfASharedPageMakesUnshareBusy) {
  ASSERT_EQ(assign(share(kData, k4K)), Status::kOk);
  ASSERT_EQ(svm_call(HYPHEAP_FN_SVM_HOLD, kData, 1, kR | kShared), Status::kOk);
  EXPECT_EQ(assign(reclaim(kVmidHost.bit() | kSvm0.bit(), kData, k4K)), Status::kBusy);
  ASSERT_EQ(svm_call(HYPHEAP_FN_SVM_RELEASE, kData, 1), Status::kOk);
  EXPECT_EQ(assign(reclaim(kVmidHost.bit() | kSvm0.bit(), kData, k4K)), Status::kOk);
}

TEST_F(HoldTest, HoldRefusalsEachHaveTheirStatusAndChangeNothing) {
  ASSERT_EQ(assign(lend(kData, 2 * k4K)), Status::kOk);
  ASSERT_EQ(assign(share(kData + 4 * k4K, k4K)), Status::kOk);  // shared read-only
  auto hold = [](uint64_t ipa, uint64_t pages, uint64_t need) {
    return [=](Hyp& h) { return h.hold(kSvm0, Ipa(ipa), pages, need); };
  };
  expect_refused(hold(kSvmCarveout, 1, kR), Status::kProtected);
  expect_refused(hold(kSvmCarveout - k4K, 2, kR), Status::kProtected);
  expect_refused(hold(kData + 2 * k4K, 1, kR), Status::kNotMapped);
  expect_refused(hold(kData, 3, kR), Status::kNotMapped);  // the last page: all or nothing
  expect_refused(hold(kData + 4 * k4K, 1, kR | kExcl), Status::kHostAccess);
  expect_refused(hold(kData + 4 * k4K, 1, kW), Status::kNotMapped);
  expect_refused(hold(kData, 1, kShared), Status::kNotMapped);
  expect_refused(hold(kData, 1, 0x10), Status::kPerms);
  expect_refused(hold(kData, 1, kExcl | kShared), Status::kPerms);
  expect_refused(hold(kData + 8, 1, kR), Status::kRangeUnaligned);
  expect_refused(hold(kData, 0, kR), Status::kRangeSize);
  expect_refused(hold(kData, 1ULL << 52, kR), Status::kRangeSize);
  expect_refused(hold(~0ULL - k4K + 1, 2, kR), Status::kRangeSize);
  ASSERT_EQ(hyp_->hold(kSvm0, Ipa(kData + k4K), 1, kR), Status::kOk);
  expect_refused(hold(kData, 2, kR), Status::kBusy);
  expect_refused([](Hyp& h) { return h.release(kSvm0, Ipa(kData), 2); }, Status::kState);
  expect_refused([](Hyp& h) { return h.hold(kVmidHost, Ipa(kData), 1, 0); }, Status::kUnknownVmid);
}

TEST_F(HoldTest, PinAndHoldAreIndependentMarks) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  ASSERT_EQ(svm_call(HYPHEAP_FN_SVM_HOLD, kData, 1, kR), Status::kOk);
  ASSERT_EQ(svm_call(HYPHEAP_FN_SVM_PIN, kData, 1), Status::kOk);
  EXPECT_EQ(svm_call(HYPHEAP_FN_SVM_PIN, kData, 1), Status::kState);
  ASSERT_EQ(svm_call(HYPHEAP_FN_SVM_RELEASE, kData, 1), Status::kOk);
  EXPECT_TRUE(svm_leaf(kData).pinned());
  EXPECT_FALSE(svm_leaf(kData).held());
  EXPECT_EQ(assign(reclaim(kSvm0.bit(), kData, k4K)), Status::kBusy);
  ASSERT_EQ(svm_call(HYPHEAP_FN_SVM_UNPIN, kData, 1), Status::kOk);
  EXPECT_EQ(svm_call(HYPHEAP_FN_SVM_UNPIN, kData, 1), Status::kState);
  EXPECT_EQ(assign(reclaim(kSvm0.bit(), kData, k4K)), Status::kOk);
}

TEST_F(HoldTest, PinNeedsAReadablePageOutsideTheCarveout) {
  ASSERT_EQ(assign(DescBuilder()
                       .src(kVmidHost.bit())
                       .dest(kVmidHost, HYPHEAP_PERM_RWX)
                       .dest(kSvm0, HYPHEAP_PERM_W)
                       .range(kData, k4K)),
            Status::kOk);
  EXPECT_EQ(svm_call(HYPHEAP_FN_SVM_PIN, kData, 1), Status::kNotMapped);
  EXPECT_EQ(svm_call(HYPHEAP_FN_SVM_PIN, kSvmCarveout, 1), Status::kProtected);
  EXPECT_EQ(svm_call(HYPHEAP_FN_SVM_UNPIN, kData + k4K, 1), Status::kNotMapped);
}

TEST_F(HoldTest, TheHostCannotMakeTheSecureVmCalls) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  for (const uint64_t fid : {HYPHEAP_FN_SVM_HOLD, HYPHEAP_FN_SVM_RELEASE, HYPHEAP_FN_SVM_PIN,
                             HYPHEAP_FN_SVM_UNPIN, HYPHEAP_FN_SVM_ABORT})
    EXPECT_EQ(int64_t(hyp_->handle_smccc(0, SmcccArgs{{fid, kData, 1, kR}}).x[0]),
              HYPHEAP_ERR_NOT_SUPPORTED);
  EXPECT_FALSE(svm_leaf(kData).held());
  EXPECT_FALSE(svm_leaf(kData).pinned());
  // Nor does the secure VM reach anything else through its entry, SVM_ABORT included.
  for (const uint64_t fid : {uint64_t(HYPHEAP_FN_SVM_ABORT), uint64_t(HYPHEAP_FN_MEM_ASSIGN),
                             uint64_t(HYPHEAP_FN_STATS)})
    EXPECT_EQ(svm_call(fid, kData, 1), Status::kNotSupported);
  // Another secure VM's calls act on its own stage-2, where the page is not.
  EXPECT_EQ(svm_call(HYPHEAP_FN_SVM_HOLD, kData, 1, kR, kSvm1), Status::kNotMapped);
}

TEST_F(HoldTest, HoldSplitsABlockAndReleaseMergesItBack) {
  ASSERT_EQ(assign(lend(kGigBlock, k2M)), Status::kOk);
  const size_t pool = hyp_->pool().used_pages();
  ASSERT_EQ(svm_call(HYPHEAP_FN_SVM_HOLD, kGigBlock + 5 * k4K, 3, kR), Status::kOk);
  EXPECT_EQ(svm_leaf(kGigBlock).level, 3u);
  ASSERT_EQ(svm_call(HYPHEAP_FN_SVM_RELEASE, kGigBlock + 5 * k4K, 3), Status::kOk);
  EXPECT_EQ(svm_leaf(kGigBlock).level, 2u);
  EXPECT_EQ(hyp_->pool().used_pages(), pool);
}

// A hold or release of whole leaves rewrites their software bit alone: no split, no merge,
// no TLB maintenance. The secure VM's every service call is a hold and a release of what it
// names, so this is what a heap pool's FILL of a 2 MiB block costs the hypervisor.
TEST_F(HoldTest, HoldAndReleaseOfAWholeBlockIssueNoTlbMaintenance) {
  ASSERT_EQ(assign(lend(kGigBlock, k2M)), Status::kOk);
  ASSERT_EQ(svm_leaf(kGigBlock).level, 2u);
  fake::reset_counters();
  ASSERT_EQ(svm_call(HYPHEAP_FN_SVM_HOLD, kGigBlock, k2M / k4K, kR | kW | kExcl), Status::kOk);
  EXPECT_TRUE(svm_leaf(kGigBlock).held());
  EXPECT_EQ(svm_leaf(kGigBlock).level, 2u);
  ASSERT_EQ(svm_call(HYPHEAP_FN_SVM_RELEASE, kGigBlock, k2M / k4K), Status::kOk);
  EXPECT_FALSE(svm_leaf(kGigBlock).held());
  EXPECT_EQ(fake::counters().pte_writes, 2u);
  EXPECT_EQ(fake::counters().tlb_ipa, 0u);
  EXPECT_EQ(fake::counters().tlb_vm, 0u);
}

}  // namespace
}  // namespace hyp::testing
