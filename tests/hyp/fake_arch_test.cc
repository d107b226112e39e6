// The fake arch is the referee of every TLB rule the core must follow on hardware, so its
// own judgement is tested: each rule has a case that breaks it and one that keeps it.
#include "arch/fake/fake_arch.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

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

// Bits 58:55 are ignored by the walker: what a TLB holds from before still translates right.
TEST_F(FakeArchTest, SoftwareBitsChangeInPlaceIsOwedNothing) {
  l2_[0] = kBlock | pte::kS2apR | pte::kS2apW | 0x8000'0000;
  arch::write_pte(hw_, &l2_[0], l2_[0] | pte::kHeld | pte::kPinned);
  EXPECT_EQ(fake::counters().bbm_violations, 0u);
  EXPECT_EQ(fake::pending_invalidations(), 0u);
}

// ...but with a permission in the same change the invalidation is owed as before.
TEST_F(FakeArchTest, SoftwareBitsWithAPermissionChangeAreOwedAnInvalidation) {
  l2_[0] = kBlock | pte::kS2apR | pte::kS2apW | 0x8000'0000;
  arch::write_pte(hw_, &l2_[0], kBlock | pte::kS2apR | pte::kHeld | 0x8000'0000);
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

// --- The ordering checker ------------------------------------------------------------------
//
// Two stage-2s made by hand, identity-mapped like the core's: the host (VMID 0) and a secure
// VM (VMID 1), each a level-1 root whose entry 1 points at a level-2 table, so PA
// kPage = 1 GiB + 8 * 2 MiB is the 2 MiB block l2[8] of either.
class OrderingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake::reset_memory();
    fake::reset();
    host_l2_ = table(kHostRoot, kHostL2);
    svm_l2_ = table(kSvmRoot, kSvmL2);
  }
  void TearDown() override { fake::reset(); }

  uint64_t* table(uint64_t root, uint64_t l2) {
    static_cast<uint64_t*>(arch::phys_to_virt(PhysAddr(root)))[1] =
        l2 | pte::kValid | pte::kTableOrPage;
    return static_cast<uint64_t*>(arch::phys_to_virt(PhysAddr(l2)));
  }
  void* va() { return arch::phys_to_virt(PhysAddr(kPage)); }
  void invalidate(const arch::Stage2Hw& hw) {
    const Ipa ipa(kPage);
    arch::tlb_invalidate_ipas(hw, std::span(&ipa, 1));
  }
  // The host owns the page and has run; it then gives it up, invalidated.
  void host_gives_up_the_page() {
    arch::write_pte(host_, &host_l2_[8], kOwnedBlock | kPage);
    fake::vms_running();
    arch::write_pte(host_, &host_l2_[8], uint64_t(1) << pte::kOwnerShift);
    invalidate(host_);
  }
  // The host shares the page with the secure VM (SHARED_OWNED / SHARED_BORROWED); both have run.
  void both_share_the_page() {
    arch::write_pte(host_, &host_l2_[8], kOwnedBlock | (uint64_t(1) << pte::kStateShift) | kPage);
    arch::write_pte(svm_, &svm_l2_[8], kOwnedBlock | (uint64_t(2) << pte::kStateShift) | kPage);
    fake::vms_running();
  }
  // The secure VM owned the page and has run; it then gives it up, invalidated.
  void svm_gives_up_the_page() {
    arch::write_pte(host_, &host_l2_[8], uint64_t(1) << pte::kOwnerShift);
    arch::write_pte(svm_, &svm_l2_[8], kOwnedBlock | kPage);
    fake::vms_running();
    arch::write_pte(svm_, &svm_l2_[8], 0);
    invalidate(svm_);
  }
  uint64_t violations() const { return fake::counters().ordering_violations; }
  bool reported(const char* what) const {
    return fake::ordering_report().find(what) != std::string::npos;
  }

  static constexpr uint64_t kHostRoot = fake::kRamBase, kHostL2 = fake::kRamBase + k4K;
  static constexpr uint64_t kSvmRoot = fake::kRamBase + 2 * k4K;
  static constexpr uint64_t kSvmL2 = fake::kRamBase + 3 * k4K;
  static constexpr uint64_t kPage = (1ULL << 30) + 8 * k2M;
  static constexpr uint64_t kOwnedBlock = kBlock | pte::kS2apR | pte::kS2apW;
  arch::Stage2Hw host_{PhysAddr(kHostRoot), 0, 1};
  arch::Stage2Hw svm_{PhysAddr(kSvmRoot), 1, 1};
  uint64_t* host_l2_ = nullptr;
  uint64_t* svm_l2_ = nullptr;
};

TEST_F(OrderingTest, CleanOfAPageAVmStillMapsIsAViolation) {
  arch::write_pte(host_, &host_l2_[8], kOwnedBlock | kPage);
  arch::dcache_clean_inval_poc(va(), k2M);
  EXPECT_EQ(violations(), 1u);
  EXPECT_TRUE(reported("while vm0 maps it")) << fake::ordering_report();
  EXPECT_TRUE(reported("dc civac")) << "the log shows the culprit";
}

TEST_F(OrderingTest, CleanBeforeTheUnmapsInvalidationCompletedIsAViolation) {
  arch::write_pte(host_, &host_l2_[8], kOwnedBlock | kPage);
  arch::write_pte(host_, &host_l2_[8], 0);
  arch::dcache_clean_inval_poc(va(), k2M);
  EXPECT_EQ(violations(), 1u);
  EXPECT_TRUE(reported("invalidation has not completed")) << fake::ordering_report();
}

TEST_F(OrderingTest, UnmapInvalidateCleanMapIsTheOrderOfALend) {
  host_gives_up_the_page();
  arch::dcache_clean_inval_poc(va(), k2M);
  arch::write_pte(svm_, &svm_l2_[8], kOwnedBlock | kPage);
  EXPECT_EQ(violations(), 0u) << fake::ordering_report();
}

TEST_F(OrderingTest, MappingInTheNewOwnerBeforeTheCleanIsAViolation) {
  host_gives_up_the_page();
  arch::write_pte(svm_, &svm_l2_[8], kOwnedBlock | kPage);
  EXPECT_EQ(violations(), 1u);
  EXPECT_TRUE(reported("before what vm0 left there was cleaned")) << fake::ordering_report();
}

TEST_F(OrderingTest, MappingWhileTheOldOwnerMayStillReachThePageIsAViolation) {
  arch::write_pte(host_, &host_l2_[8], kOwnedBlock | kPage);
  arch::write_pte(host_, &host_l2_[8], uint64_t(1) << pte::kOwnerShift);
  arch::write_pte(svm_, &svm_l2_[8], kOwnedBlock | kPage);
  EXPECT_GE(violations(), 1u);
  EXPECT_TRUE(reported("while vm0 may still reach it")) << fake::ordering_report();
}

TEST_F(OrderingTest, NothingRanBeforeVmsRunningSoNothingNeedsCleaning) {
  arch::write_pte(host_, &host_l2_[8], kOwnedBlock | kPage);
  arch::write_pte(host_, &host_l2_[8], uint64_t(1) << pte::kOwnerShift);
  invalidate(host_);
  arch::write_pte(svm_, &svm_l2_[8], kOwnedBlock | kPage);  // a carve-out at boot
  EXPECT_EQ(violations(), 0u) << fake::ordering_report();
}

TEST_F(OrderingTest, ScrubCleanRemapIsTheOrderOfAReclaim) {
  svm_gives_up_the_page();
  arch::scrub(va(), k2M);
  arch::dcache_clean_poc(va(), k2M);
  arch::write_pte(host_, &host_l2_[8], kOwnedBlock | kPage);
  EXPECT_EQ(violations(), 0u) << fake::ordering_report();
}

TEST_F(OrderingTest, HostRemapBeforeTheScrubIsAViolation) {
  svm_gives_up_the_page();
  arch::dcache_clean_poc(va(), k2M);
  arch::write_pte(host_, &host_l2_[8], kOwnedBlock | kPage);
  EXPECT_EQ(violations(), 1u);
  EXPECT_TRUE(reported("before what vm1 left there was scrubbed")) << fake::ordering_report();
}

TEST_F(OrderingTest, HostRemapBeforeTheScrubIsCleanedIsAViolation) {
  svm_gives_up_the_page();
  arch::scrub(va(), k2M);
  arch::write_pte(host_, &host_l2_[8], kOwnedBlock | kPage);
  EXPECT_EQ(violations(), 1u);
  EXPECT_TRUE(reported("scrub's zeros were cleaned")) << fake::ordering_report();
}

TEST_F(OrderingTest, ScrubBeforeTheSecureVmsInvalidationCompletedIsAViolation) {
  arch::write_pte(svm_, &svm_l2_[8], kOwnedBlock | kPage);
  arch::write_pte(svm_, &svm_l2_[8], 0);
  arch::scrub(va(), k2M);
  EXPECT_EQ(violations(), 1u);
  EXPECT_TRUE(reported("scrub of PA")) << fake::ordering_report();
}

// MEM_ASSIGN's scrub in place: the secure VM that owns the page keeps its mapping (and its
// devices theirs); the zeros are cleaned within the call, so nothing is owed afterwards.
TEST_F(OrderingTest, ScrubInPlaceLetsTheOwnerAloneKeepItsMapping) {
  arch::write_pte(host_, &host_l2_[8], uint64_t(1) << pte::kOwnerShift);
  arch::write_pte(svm_, &svm_l2_[8], kOwnedBlock | kPage);
  fake::vms_running();
  std::memset(va(), 0xC3, k2M);
  arch::scrub_in_place(svm_, va(), k2M);
  EXPECT_EQ(violations(), 0u) << fake::ordering_report();
  EXPECT_EQ(static_cast<uint8_t*>(va())[k2M - 1], 0);
  EXPECT_EQ(fake::counters().clean_inval_bytes, k2M);
}

// A share: the host would read the zeros being written, or keep its own lines over them.
TEST_F(OrderingTest, ScrubInPlaceOfAPageAnotherVmMapsIsAViolation) {
  both_share_the_page();
  arch::scrub_in_place(svm_, va(), k2M);
  EXPECT_GE(violations(), 1u);
  EXPECT_TRUE(reported("scrub of PA")) << fake::ordering_report();
  EXPECT_TRUE(reported("while vm0 maps it")) << fake::ordering_report();
}

TEST_F(OrderingTest, ScrubInPlaceWhileAnotherVmMayStillReachThePageIsAViolation) {
  arch::write_pte(host_, &host_l2_[8], kOwnedBlock | kPage);
  fake::vms_running();
  arch::write_pte(host_, &host_l2_[8], uint64_t(1) << pte::kOwnerShift);  // not invalidated
  arch::write_pte(svm_, &svm_l2_[8], kOwnedBlock | kPage);
  const uint64_t before = violations();
  arch::scrub_in_place(svm_, va(), k2M);
  EXPECT_GT(violations(), before);
  EXPECT_TRUE(reported("invalidation has not completed")) << fake::ordering_report();
}

TEST_F(OrderingTest, ScrubInPlaceForTheHostIsAViolation) {
  arch::write_pte(host_, &host_l2_[8], kOwnedBlock | kPage);
  fake::vms_running();
  arch::scrub_in_place(host_, va(), k2M);
  EXPECT_EQ(violations(), 1u);
  EXPECT_TRUE(reported("not a secure VM's CPUs")) << fake::ordering_report();
}

TEST_F(OrderingTest, SharedPagesNeedNoCleanWhenTheBorrowerLeaves) {
  both_share_the_page();
  arch::write_pte(svm_, &svm_l2_[8], 0);
  invalidate(svm_);
  arch::write_pte(host_, &host_l2_[8], kOwnedBlock | kPage);
  EXPECT_EQ(violations(), 0u) << fake::ordering_report();
}

TEST_F(OrderingTest, TableFreedBeforeAVmWideInvalidationIsAViolation) {
  constexpr uint64_t kTable = fake::kRamBase + 4 * k4K;
  arch::write_pte(host_, &host_l2_[9], kTable | pte::kValid | pte::kTableOrPage);
  arch::write_pte(host_, &host_l2_[9], 0);
  invalidate(host_);  // by IPA: walk caches of the table entry survive it
  arch::table_page_freed(PhysAddr(kTable));
  EXPECT_EQ(violations(), 1u);
  EXPECT_TRUE(reported("freed before a VMID-wide invalidation")) << fake::ordering_report();
}

TEST_F(OrderingTest, TableFreedAfterAVmWideInvalidationIsNot) {
  constexpr uint64_t kTable = fake::kRamBase + 4 * k4K;
  arch::write_pte(host_, &host_l2_[9], kTable | pte::kValid | pte::kTableOrPage);
  arch::write_pte(host_, &host_l2_[9], 0);
  arch::tlb_invalidate_vm(host_);
  arch::table_page_freed(PhysAddr(kTable));
  EXPECT_EQ(violations(), 0u) << fake::ordering_report();
}

TEST_F(OrderingTest, TableStillLinkedWhenFreedIsAViolation) {
  constexpr uint64_t kTable = fake::kRamBase + 4 * k4K;
  arch::write_pte(host_, &host_l2_[9], kTable | pte::kValid | pte::kTableOrPage);
  arch::table_page_freed(PhysAddr(kTable));
  EXPECT_TRUE(reported("still links it")) << fake::ordering_report();
}

TEST_F(OrderingTest, StoreToALiveTableBypassingWritePteIsCaught) {
  arch::write_pte(host_, &host_l2_[8], kOwnedBlock | kPage);
  EXPECT_EQ(fake::verify_tables(), 0u);
  host_l2_[10] = kOwnedBlock | (kPage + 2 * k2M);
  EXPECT_EQ(fake::verify_tables(), 1u);
  EXPECT_TRUE(reported("changed without write_pte")) << fake::ordering_report();
}

// The fuzzer restores a booted core from a snapshot instead of booting it per input: a
// restore that missed a table's contents or what a VM left in the caches would let an input
// pass that fails on a freshly booted core.
TEST_F(OrderingTest, RestoreBringsBackTheTablesAndWhatTheVmsLeftInTheCaches) {
  host_gives_up_the_page();
  const uint64_t host_entry = host_l2_[8];
  const arch::Stage2Hw both[] = {host_, svm_};
  const fake::Snapshot snapshot{both};
  arch::dcache_clean_inval_poc(va(), k2M);
  arch::write_pte(svm_, &svm_l2_[8], kOwnedBlock | kPage);
  arch::write_pte(host_, &host_l2_[9], kOwnedBlock | (kPage + k2M));
  ASSERT_EQ(violations(), 0u) << fake::ordering_report();
  const uint64_t writes = fake::counters().pte_writes;

  fake::restore(snapshot);
  EXPECT_EQ(host_l2_[8], host_entry);
  EXPECT_EQ(host_l2_[9], 0u) << "a table's contents are put back";
  EXPECT_EQ(svm_l2_[8], 0u);
  EXPECT_EQ(fake::counters().pte_writes, writes - 2);
  EXPECT_EQ(fake::verify_tables(), 0u);
  EXPECT_EQ(fake::pending_invalidations(), 0u);
  // What the host left in the caches is owed a clean again.
  arch::write_pte(svm_, &svm_l2_[8], kOwnedBlock | kPage);
  EXPECT_EQ(violations(), 1u);
  EXPECT_TRUE(reported("before what vm0 left there was cleaned")) << fake::ordering_report();
}

TEST_F(OrderingTest, SnapshotHoldsTheTablesOfAStageTwoNothingWasWrittenTo) {
  arch::write_pte(host_, &host_l2_[8], kOwnedBlock | kPage);
  EXPECT_EQ(fake::Snapshot(std::span(&host_, 1)).live_tables(), 2u);
  const arch::Stage2Hw both[] = {host_, svm_};
  EXPECT_EQ(fake::Snapshot(both).live_tables(), 4u) << "the secure VM's root and level-2 table";
}

TEST(FakeArchDeathTest, PhysicalAddressOutsideFakeRamIsFatal) {
  EXPECT_DEATH(arch::phys_to_virt(PhysAddr(0x1000)), "outside fake RAM");
}

}  // namespace
}  // namespace hyp
