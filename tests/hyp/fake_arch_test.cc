// The fake arch is the referee of every TLB rule the core must follow on hardware, so its
// own judgement is tested: each rule has a case that breaks it and one that keeps it.
#include "arch/fake/fake_arch.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/arch.h"
#include "core/pgtable.h"

namespace hyp {
namespace {

constexpr uint64_t k4K = 4096, k2M = 2ULL << 20;
constexpr uint64_t kBlock = pte::kValid | pte::kAf | pte::kMemAttrNormalWb;  // level-2 block

// A two-level stage-2 made by hand: a level-1 root whose entry 1 points at a level-2
// table, so IPA 1 GiB + n * 2 MiB is translated by l2[n].
class FakeArchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake::reset_memory();
    fake::reset();
    root_ = static_cast<uint64_t*>(arch::phys_to_virt(PhysAddr(kRoot)));
    l2_ = static_cast<uint64_t*>(arch::phys_to_virt(PhysAddr(kL2)));
    root_[1] = kL2 | pte::kValid | pte::kTableOrPage;
  }
  void TearDown() override { fake::reset(); }

  static constexpr uint64_t kRoot = fake::kRamBase, kL2 = fake::kRamBase + k4K;
  static constexpr uint64_t kIpa = 1ULL << 30;
  arch::Stage2Hw hw_{PhysAddr(kRoot), 7, 1};
  arch::Stage2Hw other_vm_{PhysAddr(kRoot), 8, 1};
  uint64_t* root_ = nullptr;
  uint64_t* l2_ = nullptr;
};

TEST_F(FakeArchTest, MakingABrokenEntryBeforeItsInvalidationIsABreakBeforeMakeViolation) {
  l2_[0] = kBlock | 0x8000'0000;
  arch::write_pte(hw_, &l2_[0], 0);
  arch::write_pte(hw_, &l2_[0], kBlock | 0x8020'0000);
  EXPECT_EQ(fake::counters().bbm_violations, 1u);
}

TEST_F(FakeArchTest, InvalidationByIpaBetweenBreakAndMakeKeepsBreakBeforeMake) {
  l2_[0] = kBlock | 0x8000'0000;
  arch::write_pte(hw_, &l2_[0], 0);
  const Ipa ipa(kIpa);
  arch::tlb_invalidate_ipas(hw_, std::span(&ipa, 1));
  arch::write_pte(hw_, &l2_[0], kBlock | 0x8020'0000);
  EXPECT_EQ(fake::counters().bbm_violations, 0u);
  EXPECT_EQ(fake::pending_invalidations(), 0u);
}

TEST_F(FakeArchTest, InvalidationOfAnotherIpaLeavesTheBreakPending) {
  l2_[0] = kBlock | 0x8000'0000;
  arch::write_pte(hw_, &l2_[0], 0);
  const Ipa elsewhere(kIpa + k2M);
  arch::tlb_invalidate_ipas(hw_, std::span(&elsewhere, 1));
  EXPECT_EQ(fake::pending_invalidations(), 1u);
  arch::write_pte(hw_, &l2_[0], kBlock | 0x8000'0000);
  EXPECT_EQ(fake::counters().bbm_violations, 1u);
}

TEST_F(FakeArchTest, InvalidationByIpaDoesNotCoverARemovedTableEntry) {
  arch::write_pte(hw_, &root_[1], 0);
  const Ipa ipa(kIpa);
  arch::tlb_invalidate_ipas(hw_, std::span(&ipa, 1));
  EXPECT_EQ(fake::pending_invalidations(), 1u);
  arch::tlb_invalidate_vm(hw_);
  EXPECT_EQ(fake::pending_invalidations(), 0u);
}

TEST_F(FakeArchTest, VmWideInvalidationCoversOnlyItsOwnVmid) {
  l2_[0] = kBlock | 0x8000'0000;
  arch::write_pte(hw_, &l2_[0], 0);
  arch::tlb_invalidate_vm(other_vm_);
  EXPECT_EQ(fake::pending_invalidations(), 1u);
}

TEST_F(FakeArchTest, PermissionChangeInPlaceIsOwedAnInvalidationButIsNoViolation) {
  l2_[0] = kBlock | pte::kS2apR | pte::kS2apW | 0x8000'0000;
  arch::write_pte(hw_, &l2_[0], kBlock | pte::kS2apR | 0x8000'0000);
  EXPECT_EQ(fake::counters().bbm_violations, 0u);
  EXPECT_EQ(fake::pending_invalidations(), 1u);
}

TEST_F(FakeArchTest, ChangingTheOutputAddressOfAValidEntryIsAViolation) {
  l2_[0] = kBlock | 0x8000'0000;
  arch::write_pte(hw_, &l2_[0], kBlock | 0x8020'0000);
  EXPECT_EQ(fake::counters().bbm_violations, 1u);
}

TEST_F(FakeArchTest, InvalidEntriesNeverNeedInvalidation) {
  arch::write_pte(hw_, &l2_[3], uint64_t(HYPHEAP_VMID_SECURE_0) << pte::kOwnerShift);
  arch::write_pte(hw_, &l2_[3], kBlock | 0x8060'0000);
  EXPECT_EQ(fake::pending_invalidations(), 0u);
  EXPECT_EQ(fake::counters().bbm_violations, 0u);
}

TEST_F(FakeArchTest, BatchCountsEachIpaAndOneCompletion) {
  const Ipa ipas[3] = {Ipa(kIpa), Ipa(kIpa + k2M), Ipa(kIpa + 2 * k2M)};
  arch::tlb_invalidate_ipas(hw_, ipas);
  EXPECT_EQ(fake::counters().tlb_ipa, 3u);
  EXPECT_EQ(fake::counters().tlb_ipa_batches, 1u);
}

TEST(FakeArchDeathTest, PhysicalAddressOutsideFakeRamIsFatal) {
  EXPECT_DEATH(arch::phys_to_virt(PhysAddr(0x1000)), "outside fake RAM");
}

}  // namespace
}  // namespace hyp
