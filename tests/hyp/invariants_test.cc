// The invariant checker (hyp/core/invariants.cc) catches what a broken core would leave.
#include "hyp_fixture.h"

namespace hyp::testing {
namespace {

using InvariantsTest = HypTest;

TEST_F(InvariantsTest, CatchesAPageMappedByTwoVms) {
  // Map a host-owned page into a secure VM behind the transaction layer's back.
  auto& s2 = const_cast<Stage2&>(hyp_->secure_vm(kSvm0)->s2);
  auto& pool = const_cast<PagePool&>(hyp_->pool());
  PagePool::Reservation res;
  const IpaRange r{Ipa(kData), k4K};
  ASSERT_EQ(pool.reserve(s2.missing_tables(std::span(&r, 1), true), res), Status::kOk);
  s2.set_range(r, LeafSpec::normal(PhysAddr(kData), kPermsRwx, PageState::kOwned), res);
  uint64_t where = 0;
  EXPECT_STREQ(hyp_->check_invariants(&where), "host-owned page mapped by a secure VM");
  EXPECT_EQ(where, kData);
  // The fake arch's ordering checker saw it happen, at the store.
  EXPECT_EQ(fake::counters().ordering_violations, 1u);
  EXPECT_NE(fake::ordering_report().find("as its own while vm0 maps it"), std::string::npos);
  s2.set_range(r, LeafSpec::unmapped(), res);  // undo so TearDown's checks pass
  fake::reset();
  fake::vms_running();
}

TEST_F(InvariantsTest, CatchesARamPageWithoutOwner) {
  auto& s2 = const_cast<Stage2&>(hyp_->host().s2);
  auto& pool = const_cast<PagePool&>(hyp_->pool());
  PagePool::Reservation res;
  const IpaRange r{Ipa(kData), k4K};
  ASSERT_EQ(pool.reserve(s2.missing_tables(std::span(&r, 1), false), res), Status::kOk);
  s2.set_range(r, LeafSpec::unmapped(), res);
  uint64_t where = 0;
  EXPECT_STREQ(hyp_->check_invariants(&where), "RAM page with no owner");
  ASSERT_EQ(pool.reserve(s2.missing_tables(std::span(&r, 1), true), res), Status::kOk);
  s2.set_range(r, LeafSpec::normal(PhysAddr(kData), kPermsRwx, PageState::kOwned), res);
}

TEST_F(InvariantsTest, CatchesAHostPageSharedWithTheHypWithoutAMailbox) {
  auto& s2 = const_cast<Stage2&>(hyp_->host().s2);
  auto& pool = const_cast<PagePool&>(hyp_->pool());
  PagePool::Reservation res;
  const IpaRange r{Ipa(kData), k4K};
  ASSERT_EQ(pool.reserve(s2.missing_tables(std::span(&r, 1), true), res), Status::kOk);
  s2.set_range(r, LeafSpec::normal(PhysAddr(kData), kPermsRwx, PageState::kSharedHyp), res);
  uint64_t where = 0;
  EXPECT_STREQ(hyp_->check_invariants(&where),
               "a host page shared with the hyp is not a mapped FF-A mailbox page");
  EXPECT_EQ(where, kData);
  s2.set_range(r, LeafSpec::normal(PhysAddr(kData), kPermsRwx, PageState::kOwned), res);
}

// An operation in progress whose cursor says a page is done that its piece never committed
// (the half state a broken continuation would leave): the pending part of the checker sees
// the page still lent where the cursor says the host has it back.
TEST_F(InvariantsTest, CatchesAPageOfAnOperationInProgressOnTheWrongSideOfItsCursor) {
  constexpr uint64_t kPiece = HYPHEAP_PIECE_PAGES * k4K;
  ASSERT_EQ(assign(lend(kGigBlock, 2 * kPiece)), Status::kOk);
  const SmcccResult r = call(reclaim(kSvm0.bit(), kGigBlock, 2 * kPiece).bytes());
  ASSERT_EQ(int64_t(r.x[0]), HYPHEAP_PREEMPTED);
  auto* op = const_cast<PendingOp*>(hyp_->pending_op(r.x[1] & 0xff));
  ASSERT_NE(op, nullptr);
  op->done_bytes += k4K;
  op->pages_done += 1;
  uint64_t where = 0;
  EXPECT_STREQ(hyp_->check_invariants(&where),
               "a committed page of an operation in progress is not in its new state");
  EXPECT_EQ(where, kGigBlock + kPiece);
  op->done_bytes -= k4K;
  op->pages_done -= 1;
  EXPECT_EQ(int64_t(continue_call(r.x[1]).x[0]), HYPHEAP_OK);
}

TEST_F(InvariantsTest, CatchesAPinLeftInTheAbortedPartition) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  ASSERT_TRUE(hyp_->ffa_vcpu_booting(0));
  FfaRegs r{};
  hyp_->ffa_partition_aborted(0, 0, r);
  auto& s2 = const_cast<Stage2&>(hyp_->secure_vm(kSvm0)->s2);
  auto& pool = const_cast<PagePool&>(hyp_->pool());
  PagePool::Reservation res;
  const IpaRange ir{Ipa(kData), k4K};
  ASSERT_EQ(pool.reserve(s2.missing_tables(std::span(&ir, 1), true), res), Status::kOk);
  s2.set_range(ir, LeafSpec::normal(PhysAddr(kData), Perms(kRw), PageState::kOwned, true), res);
  uint64_t where = 0;
  EXPECT_STREQ(hyp_->check_invariants(&where),
               "the aborted partition's VM still pins or holds a page");
  const MemRange mr{PhysAddr(kData), k4K};
  EXPECT_STREQ(hyp_->check_invariants_in(std::span(&mr, 1), &where),
               "the aborted partition's VM still pins or holds a page");
  s2.set_range(ir, LeafSpec::normal(PhysAddr(kData), Perms(kRw), PageState::kOwned), res);
}

TEST_F(InvariantsTest, CatchesAHeldCarveoutPage) {
  auto& s2 = const_cast<Stage2&>(hyp_->secure_vm(kSvm0)->s2);
  auto& pool = const_cast<PagePool&>(hyp_->pool());
  PagePool::Reservation res;
  const IpaRange ir{Ipa(kSvmCarveout), k4K};
  ASSERT_EQ(pool.reserve(s2.missing_tables(std::span(&ir, 1), true), res), Status::kOk);
  s2.set_range(
      ir, LeafSpec::normal(PhysAddr(kSvmCarveout), kPermsRwx, PageState::kOwned, false, true), res);
  uint64_t where = 0;
  EXPECT_STREQ(hyp_->check_invariants(&where), "a carve-out page is pinned or held");
  s2.set_range(ir, LeafSpec::normal(PhysAddr(kSvmCarveout), kPermsRwx, PageState::kOwned), res);
}

}  // namespace
}  // namespace hyp::testing
