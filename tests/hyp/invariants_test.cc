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

}  // namespace
}  // namespace hyp::testing
