#include <thread>

#include "hyp_fixture.h"

namespace hyp::testing {
namespace {

using TransactionTest = HypTest;

// --- Every supported transition ---------------------------------------------------------

TEST_F(TransactionTest, LendTakesPagesFromTheHostAndMapsThemInTheSecureVm) {
  const SmcccResult r = call(lend(kData, 4 * k4K).bytes());
  ASSERT_EQ(int64_t(r.x[0]), HYPHEAP_OK);
  EXPECT_EQ(r.x[1], kSvm0.bit());
  EXPECT_FALSE(host_leaf(kData).valid());
  EXPECT_EQ(host_leaf(kData).owner(), kSvm0);
  const Leaf s = svm_leaf(kData + 3 * k4K);
  EXPECT_TRUE(s.valid());
  EXPECT_EQ(s.state(), PageState::kOwned);
  EXPECT_EQ(s.perms(), Perms(kRw));
  EXPECT_EQ(s.pa_of(Ipa(kData + 3 * k4K)), PhysAddr(kData + 3 * k4K));
  EXPECT_TRUE(host_leaf(kData + 4 * k4K).valid());
}

TEST_F(TransactionTest, LendCleansTheLentPagesToPointOfCoherency) {
  fake::reset_counters();
  ASSERT_EQ(assign(lend(kData, 4 * k4K)), Status::kOk);
  EXPECT_EQ(fake::counters().clean_inval_bytes, 4 * k4K);
  EXPECT_GE(fake::counters().tlb_ipa, 1u);
  EXPECT_EQ(fake::counters().bbm_violations, 0u);
}

TEST_F(TransactionTest, ShareKeepsTheHostMappingWithItsPerms) {
  const SmcccResult r = call(share(kData, k2M).bytes());
  ASSERT_EQ(int64_t(r.x[0]), HYPHEAP_OK);
  EXPECT_EQ(r.x[1], kVmidHost.bit() | kSvm0.bit());
  EXPECT_TRUE(host_leaf(kData).valid());
  EXPECT_EQ(host_leaf(kData).state(), PageState::kSharedOwned);
  EXPECT_EQ(host_leaf(kData).perms(), kPermsRwx);
  EXPECT_EQ(svm_leaf(kData).state(), PageState::kSharedBorrowed);
  EXPECT_EQ(svm_leaf(kData).perms(), Perms(HYPHEAP_PERM_R));
}

TEST_F(TransactionTest, ShareWithReducedHostPermsRestrictsTheHost) {
  auto d = DescBuilder().src(kVmidHost.bit()).dest(kVmidHost, HYPHEAP_PERM_R).dest(kSvm0, kRw);
  ASSERT_EQ(assign(d.range(kData, k4K)), Status::kOk);
  EXPECT_EQ(host_leaf(kData).perms(), Perms(HYPHEAP_PERM_R));
}

TEST_F(TransactionTest, ReclaimOfLentPagesScrubsThemAndGivesThemBack) {
  std::memset(mem(kData), 0x5A, 2 * k4K);
  ASSERT_EQ(assign(lend(kData, 2 * k4K)), Status::kOk);
  std::memset(mem(kData), 0xC3, 2 * k4K);  // the secure VM's secrets
  fake::reset_counters();
  const SmcccResult r = call(reclaim(kSvm0.bit(), kData, 2 * k4K).bytes());
  ASSERT_EQ(int64_t(r.x[0]), HYPHEAP_OK);
  EXPECT_EQ(r.x[1], kVmidHost.bit());
  for (uint64_t i = 0; i < 2 * k4K; i++)
    ASSERT_EQ(mem(kData)[i], 0) << i;
  EXPECT_EQ(fake::counters().clean_bytes, 2 * k4K);
  EXPECT_EQ(host_leaf(kData).state(), PageState::kOwned);
  EXPECT_EQ(host_leaf(kData).perms(), kPermsRwx);
  EXPECT_EQ(svm_leaf(kData).raw, 0u);
}

// Reclaiming part of what a secure VM holds keeps its table (no merge, whose VMID-wide
// invalidation would hide a missing flush): the fake arch's ordering checker sees the
// scrub, its clean and the host's remap each happen only once the secure VM can no longer
// reach the pages (docs/hyp-core.md, "The ordering checker").
TEST_F(TransactionTest, ReclaimOfPartOfALendScrubsOnlyWhatTheSecureVmCanNoLongerReach) {
  ASSERT_EQ(assign(lend(kData, 4 * k4K)), Status::kOk);
  std::memset(mem(kData), 0xC3, 4 * k4K);
  fake::reset_counters();
  ASSERT_EQ(assign(reclaim(kSvm0.bit(), kData + k4K, 2 * k4K)), Status::kOk);
  EXPECT_EQ(fake::counters().scrub_bytes, 2 * k4K);
  EXPECT_EQ(fake::counters().clean_bytes, 2 * k4K);
  EXPECT_EQ(fake::counters().tlb_vm, 0u);  // no table merged away: the flush was by IPA
  EXPECT_EQ(mem(kData)[0], 0xC3);
  EXPECT_EQ(mem(kData + k4K)[0], 0);
  EXPECT_EQ(mem(kData + 3 * k4K)[0], 0xC3);
  EXPECT_TRUE(svm_leaf(kData).valid());
  EXPECT_TRUE(host_leaf(kData + 2 * k4K).valid());
}

TEST_F(TransactionTest, ReclaimOfPartOfAShareRemapsTheHostOnlyOnceTheSecureVmIsInvalidated) {
  ASSERT_EQ(assign(share(kData, 4 * k4K)), Status::kOk);
  fake::reset_counters();
  ASSERT_EQ(assign(reclaim(kVmidHost.bit() | kSvm0.bit(), kData, 2 * k4K)), Status::kOk);
  EXPECT_EQ(fake::counters().tlb_vm, 0u);
  EXPECT_EQ(fake::counters().scrub_bytes, 0u);
  EXPECT_EQ(host_leaf(kData).state(), PageState::kOwned);
  EXPECT_EQ(host_leaf(kData + 2 * k4K).state(), PageState::kSharedOwned);
}

TEST_F(TransactionTest, ReclaimOfSharedPagesKeepsTheirContents) {
  std::memset(mem(kData), 0x5A, k4K);
  ASSERT_EQ(assign(share(kData, k4K)), Status::kOk);
  ASSERT_EQ(assign(reclaim(kVmidHost.bit() | kSvm0.bit(), kData, k4K)), Status::kOk);
  EXPECT_EQ(mem(kData)[100], 0x5A);
  EXPECT_EQ(host_leaf(kData).state(), PageState::kOwned);
  EXPECT_EQ(svm_leaf(kData).raw, 0u);
}

TEST_F(TransactionTest, LendToTheSecondSecureVmUsesItsOwnStage2) {
  ASSERT_EQ(assign(lend(kData, k4K, kSvm1)), Status::kOk);
  EXPECT_TRUE(svm_leaf(kData, kSvm1).valid());
  EXPECT_EQ(svm_leaf(kData, kSvm0).raw, 0u);
  EXPECT_EQ(host_leaf(kData).owner(), kSvm1);
}

TEST_F(TransactionTest, ManyRangesInOneCallAreAllAssigned) {
  auto d = DescBuilder().src(kVmidHost.bit()).dest(kSvm0, kRw);
  for (uint64_t i = 0; i < 100; i++)
    d.range(kData + (99 - i) * 2 * k4K, k4K);  // descending, non-adjacent
  ASSERT_EQ(assign(d), Status::kOk);
  EXPECT_EQ(query(kData, 1).owners, kSvm0.bit());
  EXPECT_EQ(query(kData + k4K, 1).owners, kVmidHost.bit());
  uint64_t lent = 0;
  ASSERT_EQ(hyp_->stat(HYPHEAP_STAT_PAGES_LENT, &lent), Status::kOk);
  EXPECT_EQ(lent, 100u);
}

// --- Split and merge, and the acceptance criterion ---------------------------------------

TEST_F(TransactionTest, LendingOnePageOfAGigabyteBlockSplitsAndReclaimMergesIt) {
  const Snapshot initial = snapshot();
  ASSERT_EQ(host_leaf(kGigBlock).level, 1u);
  ASSERT_EQ(assign(lend(kGigBlock + 5 * k4K, k4K)), Status::kOk);
  EXPECT_EQ(host_leaf(kGigBlock + 5 * k4K).level, 3u);
  EXPECT_EQ(host_leaf(kGigBlock + 3 * k2M).level, 2u);
  ASSERT_EQ(assign(reclaim(kSvm0.bit(), kGigBlock + 5 * k4K, k4K)), Status::kOk);
  EXPECT_EQ(host_leaf(kGigBlock).level, 1u);
  EXPECT_TRUE(snapshot() == initial);
  EXPECT_EQ(fake::counters().bbm_violations, 0u);
}

TEST_F(TransactionTest, ThirtyTwoMegabytesOfAlignedChunksWriteOneLeafPerChunkAndMergeBack) {
  const Snapshot initial = snapshot();
  const auto host_writes = [&] { return hyp_->host().s2.counters().leaf_writes.get(); };
  const auto svm_writes = [&] { return hyp_->secure_vm(kSvm0)->s2.counters().leaf_writes.get(); };
  auto d = DescBuilder().src(kVmidHost.bit()).dest(kSvm0, kRw);
  auto back = DescBuilder().src(kSvm0.bit()).dest(kVmidHost, HYPHEAP_PERM_RWX);
  for (uint64_t i = 0; i < 16; i++) {  // 16 chunks of 2 MiB, every other 2 MiB slot
    d.range(kGigBlock + 2 * i * k2M, k2M);
    back.range(kGigBlock + 2 * i * k2M, k2M);
  }
  const uint64_t h0 = host_writes(), s0 = svm_writes();
  ASSERT_EQ(assign(d), Status::kOk);
  EXPECT_LE(host_writes() - h0, 16u);
  EXPECT_LE(svm_writes() - s0, 16u);
  EXPECT_EQ(svm_leaf(kGigBlock).level, 2u);  // a 2 MiB block, not 512 pages
  ASSERT_EQ(assign(back), Status::kOk);
  EXPECT_TRUE(snapshot() == initial) << "host stage-2 did not return to its initial blocks";
  EXPECT_EQ(host_leaf(kGigBlock).level, 1u);
}

TEST_F(TransactionTest, LendOfSixteenChunksInvalidatesTheHostOnceForTheSplitOncePerPiece) {
  auto d = DescBuilder().src(kVmidHost.bit()).dest(kSvm0, kRw);
  for (uint64_t i = 0; i < 16; i++)
    d.range(kGigBlock + 2 * i * k2M, k2M);
  fake::reset_counters();
  ASSERT_EQ(assign(d), Status::kOk);
  // Splitting the 1 GiB block must complete before its table goes in; then each piece (one
  // 2 MiB chunk: HYPHEAP_PIECE_PAGES) is a whole change, flushed before its call returns.
  // The secure VM had nothing to invalidate.
  EXPECT_EQ(fake::counters().tlb_ipa, 17u);
  EXPECT_EQ(fake::counters().tlb_ipa_batches, 17u);
  EXPECT_EQ(fake::counters().tlb_vm, 0u);
}

TEST_F(TransactionTest, LendOfMorePagesThanABatchHoldsIsOneVmWideInvalidation) {
  auto d = DescBuilder().src(kVmidHost.bit()).dest(kSvm0, kRw);
  for (uint64_t i = 0; i < 64; i++)
    d.range(kData + 2 * i * k4K, k4K);
  fake::reset_counters();
  ASSERT_EQ(assign(d), Status::kOk);
  EXPECT_EQ(fake::counters().tlb_ipa, 1u);  // the 2 MiB block split before its table
  EXPECT_EQ(fake::counters().tlb_vm, 1u);   // the 64 pages
}

// --- Rejections: each cause its own code, nothing changed --------------------------------

TEST_F(TransactionTest, RejectsUnknownDescriptorVersion) {
  auto d = lend(kData, k4K);
  d.hdr.version = HYPHEAP_DESC_VERSION + 1;
  expect_rejected(d, Status::kBadVersion);
}

TEST_F(TransactionTest, RejectsNonzeroFlags) {
  expect_rejected(lend(kData, k4K).flags(0x8000), Status::kDescReserved);
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  expect_rejected(scrub(kData, k4K).flags(HYPHEAP_DESC_F_SCRUB | 2), Status::kDescReserved);
}

TEST_F(TransactionTest, RejectsNonzeroReservedField) {
  auto d = lend(kData, k4K);
  d.hdr.reserved = 1;
  expect_rejected(d, Status::kDescReserved);
}

TEST_F(TransactionTest, RejectsUnalignedDescriptorAddress) {
  const SmcccResult r = call(lend(kData, k4K).bytes(), kDescPa + 8);
  EXPECT_EQ(int64_t(r.x[0]), HYPHEAP_ERR_DESC_ALIGN);
}

TEST_F(TransactionTest, RejectsDescriptorInHypervisorMemory) {
  const SmcccResult r = call(lend(kData, k4K).bytes(), kHypBase + 3 * k2M);
  EXPECT_EQ(int64_t(r.x[0]), HYPHEAP_ERR_DESC_NOT_HOST);
}

TEST_F(TransactionTest, RejectsDescriptorInPagesTheHostLent) {
  ASSERT_EQ(assign(lend(kDescPa + k4K, k4K)), Status::kOk);
  const SmcccResult r = call(lend(kData, k4K).bytes(), kDescPa + k4K);
  EXPECT_EQ(int64_t(r.x[0]), HYPHEAP_ERR_DESC_NOT_HOST);
}

// A share the host may not read (the secure VM may write it): if it could serve as a
// descriptor, the status codes would tell the host what the bytes say.
TEST_F(TransactionTest, RejectsDescriptorInASharedPageTheHostMayNotRead) {
  for (const uint32_t host_perms : {uint32_t{HYPHEAP_PERM_W}, uint32_t{HYPHEAP_PERM_X},
                                    uint32_t{HYPHEAP_PERM_W | HYPHEAP_PERM_X}}) {
    const uint64_t page = kDescPa + 2 * k4K;
    auto d = DescBuilder().src(kVmidHost.bit()).dest(kVmidHost, host_perms).dest(kSvm0, kRw);
    ASSERT_EQ(assign(d.range(page, k4K)), Status::kOk);
    const Snapshot before = snapshot();
    const SmcccResult r = call(lend(kData, k4K).bytes(), page);
    EXPECT_EQ(int64_t(r.x[0]), HYPHEAP_ERR_DESC_NOT_HOST) << "host perms " << host_perms;
    EXPECT_TRUE(snapshot() == before);
    ASSERT_EQ(assign(reclaim(kVmidHost.bit() | kSvm0.bit(), page, k4K)), Status::kOk);
  }
}

// Only the first page of a two-page descriptor is readable: the second decides.
TEST_F(TransactionTest, RejectsDescriptorWhoseSecondPageTheHostMayNotRead) {
  auto d = DescBuilder()
               .src(kVmidHost.bit())
               .dest(kVmidHost, HYPHEAP_PERM_W)
               .dest(kSvm0, kRw)
               .range(kDescPa + k4K, k4K);
  ASSERT_EQ(assign(d, kDescPa + 4 * k4K), Status::kOk);
  DescBuilder big = lend(kData, k4K);
  for (uint64_t i = 1; i < 300; i++)  // 24 + 8 + 300 * 16 bytes: two pages
    big.range(kData + i * k4K, k4K);
  ASSERT_GT(big.bytes().size(), k4K);
  const SmcccResult r = call(big.bytes(), kDescPa);
  EXPECT_EQ(int64_t(r.x[0]), HYPHEAP_ERR_DESC_NOT_HOST);
  EXPECT_TRUE(host_leaf(kData).valid());
}

TEST_F(TransactionTest, ReadOnlyShareStillServesAsDescriptor) {
  auto d = DescBuilder().src(kVmidHost.bit()).dest(kVmidHost, HYPHEAP_PERM_R).dest(kSvm0, kRw);
  ASSERT_EQ(assign(d.range(kDescPa + 2 * k4K, k4K)), Status::kOk);
  EXPECT_EQ(assign(lend(kData, k4K), kDescPa + 2 * k4K), Status::kOk);
}

TEST_F(TransactionTest, RejectsDescriptorOutsideRam) {
  const SmcccResult r = hyp_->handle_smccc(0, {{HYPHEAP_FN_MEM_ASSIGN, 0x1000, 64, 0}});
  EXPECT_EQ(int64_t(r.x[0]), HYPHEAP_ERR_DESC_NOT_HOST);
}

// Found at EL2 by the hypheap-hostile KUnit suite: the descriptor's span wrapped past 2^64.
TEST_F(TransactionTest, RejectsDescriptorAtTheTopOfTheAddressSpace) {
  for (const uint64_t pa : {~uint64_t{0} - 0xfff, ~uint64_t{0} - 0x1fff}) {
    const SmcccResult r = hyp_->handle_smccc(0, {{HYPHEAP_FN_MEM_ASSIGN, pa, 3 * k4K, 0}});
    EXPECT_EQ(int64_t(r.x[0]), HYPHEAP_ERR_DESC_NOT_HOST) << std::hex << pa;
  }
}

TEST_F(TransactionTest, RejectsLengthThatDisagreesWithTheCounts) {
  const auto bytes = lend(kData, k4K).bytes();
  EXPECT_EQ(int64_t(call(bytes, kDescPa, 0, bytes.size() + 16).x[0]), HYPHEAP_ERR_DESC_LEN);
  EXPECT_EQ(int64_t(call(bytes, kDescPa, 0, bytes.size() - 16).x[0]), HYPHEAP_ERR_DESC_LEN);
}

TEST_F(TransactionTest, RejectsLengthAboveTheMaximum) {
  const auto bytes = lend(kData, k4K).bytes();
  EXPECT_EQ(int64_t(call(bytes, kDescPa, 0, HYPHEAP_DESC_MAX_SIZE + 1).x[0]), HYPHEAP_ERR_DESC_LEN);
}

TEST_F(TransactionTest, RejectsLengthBelowTheHeader) {
  EXPECT_EQ(int64_t(call(lend(kData, k4K).bytes(), kDescPa, 0, 8).x[0]), HYPHEAP_ERR_DESC_LEN);
}

TEST_F(TransactionTest, RejectsDescriptorWithoutRanges) {
  auto d = DescBuilder().src(kVmidHost.bit()).dest(kSvm0, kRw);
  expect_rejected(d, Status::kDescLen);
}

TEST_F(TransactionTest, RejectsUnalignedRangeAddress) {
  expect_rejected(lend(kData + 512, k4K), Status::kRangeUnaligned);
}

TEST_F(TransactionTest, RejectsUnalignedRangeSize) {
  expect_rejected(lend(kData, k4K + 1), Status::kRangeUnaligned);
}

TEST_F(TransactionTest, RejectsZeroSizedRange) {
  expect_rejected(lend(kData, 0), Status::kRangeSize);
}

TEST_F(TransactionTest, RejectsRangeWhoseEndOverflows) {
  expect_rejected(lend(kData, ~0ULL - kData + 1 - k4K + k4K), Status::kRangeSize);
}

TEST_F(TransactionTest, RejectsRangeOutsideRam) {
  expect_rejected(lend(0x0900'0000, k4K), Status::kOutsideRam);
}

TEST_F(TransactionTest, RejectsRangeCrossingTheEndOfRam) {
  expect_rejected(lend(kRamBase + fake::kRamSize - k4K, 2 * k4K), Status::kOutsideRam);
}

TEST_F(TransactionTest, RejectsRangeInHypervisorMemory) {
  expect_rejected(lend(kHypBase + k2M, k4K), Status::kProtected);
}

TEST_F(TransactionTest, RejectsRangeTouchingASecureVmCarveout) {
  expect_rejected(lend(kSvmCarveout - k4K, 2 * k4K), Status::kProtected);
}

TEST_F(TransactionTest, RejectsOverlappingRanges) {
  expect_rejected(lend(kData, 2 * k4K).range(kData + k4K, 2 * k4K), Status::kOverlap);
}

TEST_F(TransactionTest, RejectsDuplicateRanges) {
  expect_rejected(lend(kData, k4K).range(kData, k4K), Status::kOverlap);
}

TEST_F(TransactionTest, RejectsLendingPagesAlreadyLent) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  expect_rejected(lend(kData, k4K, kSvm1), Status::kState);
}

TEST_F(TransactionTest, RejectsReclaimNamingTheWrongOwner) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  expect_rejected(reclaim(kSvm1.bit(), kData, k4K), Status::kState);
}

TEST_F(TransactionTest, RejectsReclaimOfSharedPagesClaimedAsLent) {
  ASSERT_EQ(assign(share(kData, k4K)), Status::kOk);
  expect_rejected(reclaim(kSvm0.bit(), kData, k4K), Status::kState);
}

TEST_F(TransactionTest, RejectsReclaimOfPagesTheHostOwns) {
  expect_rejected(reclaim(kSvm0.bit(), kData, k4K), Status::kState);
}

TEST_F(TransactionTest, RejectsUnknownDestinationVmid) {
  expect_rejected(DescBuilder().src(kVmidHost.bit()).dest(VmId(12), kRw).range(kData, k4K),
                  Status::kUnknownVmid);
}

TEST_F(TransactionTest, RejectsTheHypervisorAsDestination) {
  expect_rejected(DescBuilder().src(kVmidHost.bit()).dest(kVmidHyp, kRw).range(kData, k4K),
                  Status::kUnknownVmid);
}

TEST_F(TransactionTest, RejectsVmidBeyondTheBitmap) {
  expect_rejected(DescBuilder().src(kVmidHost.bit()).dest(VmId(200), kRw).range(kData, k4K),
                  Status::kUnknownVmid);
}

TEST_F(TransactionTest, RejectsUnknownVmidInSrcvm) {
  expect_rejected(lend(kData, k4K).src(kVmidHost.bit() | HYPHEAP_VMID_BIT(40)),
                  Status::kUnknownVmid);
}

TEST_F(TransactionTest, RejectsZeroPerms) {
  expect_rejected(DescBuilder().src(kVmidHost.bit()).dest(kSvm0, 0).range(kData, k4K),
                  Status::kPerms);
}

TEST_F(TransactionTest, RejectsUnknownPermBits) {
  expect_rejected(DescBuilder().src(kVmidHost.bit()).dest(kSvm0, 8 | kRw).range(kData, k4K),
                  Status::kPerms);
}

TEST_F(TransactionTest, RejectsReclaimThatDoesNotRestoreFullHostAccess) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  expect_rejected(DescBuilder().src(kSvm0.bit()).dest(kVmidHost, kRw).range(kData, k4K),
                  Status::kPerms);
}

TEST_F(TransactionTest, RejectsDescriptorWithoutDestinations) {
  expect_rejected(DescBuilder().src(kVmidHost.bit()).range(kData, k4K), Status::kDestSet);
}

TEST_F(TransactionTest, RejectsMoreThanEightDestinations) {
  auto d = DescBuilder().src(kVmidHost.bit());
  for (int i = 0; i < 9; i++)
    d.dest(kSvm0, kRw);
  expect_rejected(d.range(kData, k4K), Status::kDestSet);
}

TEST_F(TransactionTest, RejectsDuplicateDestination) {
  expect_rejected(lend(kData, k4K).dest(kSvm0, kRw), Status::kDestSet);
}

TEST_F(TransactionTest, RejectsTwoSecureVmDestinations) {
  expect_rejected(lend(kData, k4K).dest(kSvm1, kRw), Status::kDestSet);
}

TEST_F(TransactionTest, RejectsAssigningHostMemoryToTheHost) {
  expect_rejected(reclaim(kVmidHost.bit(), kData, k4K), Status::kDestSet);
}

TEST_F(TransactionTest, RejectsMovingPagesBetweenSecureVms) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  expect_rejected(DescBuilder().src(kSvm0.bit()).dest(kSvm1, kRw).range(kData, k4K),
                  Status::kDestSet);
}

TEST_F(TransactionTest, RejectsEmptySrcvm) {
  expect_rejected(lend(kData, k4K).src(0), Status::kDestSet);
}

TEST_F(TransactionTest, RejectsReclaimOfAPinnedPageAsBusy) {
  ASSERT_EQ(assign(lend(kData, 4 * k4K)), Status::kOk);
  ASSERT_EQ(hyp_->pin(kSvm0, Ipa(kData + 2 * k4K), 1), Status::kOk);
  expect_rejected(reclaim(kSvm0.bit(), kData, 4 * k4K), Status::kBusy);
  ASSERT_EQ(hyp_->unpin(kSvm0, Ipa(kData + 2 * k4K), 1), Status::kOk);
  EXPECT_EQ(assign(reclaim(kSvm0.bit(), kData, 4 * k4K)), Status::kOk);
}

TEST_F(TransactionTest, RejectsUnshareOfAPinnedPageAsBusy) {
  ASSERT_EQ(assign(share(kData, k4K)), Status::kOk);
  ASSERT_EQ(hyp_->pin(kSvm0, Ipa(kData), 1), Status::kOk);
  expect_rejected(reclaim(kVmidHost.bit() | kSvm0.bit(), kData, k4K), Status::kBusy);
}

// --- Scrub in place ({svm} -> {svm}) ------------------------------------------------------

// A heap pool's reuse: the pages stay the secure VM's, every stage-2 and the table pool stay
// exactly as they were (no TLB maintenance owed or done), and the bytes are zero and cleaned.
TEST_F(TransactionTest, ScrubOfALendZeroesItInPlaceAndChangesNoMapping) {
  ASSERT_EQ(assign(lend(kData, 3 * k4K)), Status::kOk);
  ASSERT_EQ(assign(lend(kData + 3 * k4K, k4K)), Status::kOk);  // its own lend: one range each
  std::memset(mem(kData), 0xC3, 4 * k4K);                      // the last user's secrets
  std::memset(mem(kData + 4 * k4K), 0x77, k4K);                // the host's own, next to them
  uint64_t scrubbed = 0;
  ASSERT_EQ(hyp_->stat(HYPHEAP_STAT_PAGES_SCRUBBED, &scrubbed), Status::kOk);
  const Snapshot before = snapshot();
  fake::reset_counters();

  const SmcccResult r = call(scrub(kData + 3 * k4K, k4K).range(kData, 3 * k4K).bytes());

  ASSERT_EQ(int64_t(r.x[0]), HYPHEAP_OK);
  EXPECT_EQ(r.x[1], kSvm0.bit()) << "srcvm for the next call: still the secure VM's";
  EXPECT_TRUE(all_bytes(mem(kData), 4 * k4K, 0));
  EXPECT_TRUE(all_bytes(mem(kData + 4 * k4K), k4K, 0x77));
  EXPECT_TRUE(snapshot() == before) << "a scrub moved a page";
  const fake::Counters c = fake::counters();
  EXPECT_EQ(c.scrub_bytes, 4 * k4K);
  EXPECT_EQ(c.clean_inval_bytes, 4 * k4K) << "no line of the zeros or of before stays cached";
  EXPECT_EQ(c.clean_bytes, 0u);
  EXPECT_EQ(c.pte_writes + c.tlb_ipa + c.tlb_vm, 0u);
  uint64_t after = 0;
  ASSERT_EQ(hyp_->stat(HYPHEAP_STAT_PAGES_SCRUBBED, &after), Status::kOk);
  EXPECT_EQ(after - scrubbed, 4u);
  const QueryResult q = query(kData, 4);
  EXPECT_EQ(q.owners, kSvm0.bit());
  EXPECT_EQ(q.pages, 4u);
  // Nothing to undo: the buffer reclaims as any lend does.
  EXPECT_EQ(assign(reclaim(kSvm0.bit(), kData, 4 * k4K)), Status::kOk);
}

TEST_F(TransactionTest, ScrubOfALendToTheSecondSecureVmNamesThatVm) {
  ASSERT_EQ(assign(lend(kData, k4K, kSvm1)), Status::kOk);
  std::memset(mem(kData), 0xC3, k4K);
  EXPECT_EQ(assign(scrub(kData, k4K, kSvm1)), Status::kOk);
  EXPECT_TRUE(all_bytes(mem(kData), k4K, 0));
}

// Each refusal has its own status, and leaves every stage-2 and every byte as it was.
TEST_F(TransactionTest, ScrubRefusalsEachHaveTheirStatusAndKeepTheBytes) {
  ASSERT_EQ(assign(lend(kData, 4 * k4K)), Status::kOk);
  ASSERT_EQ(assign(share(kData + 4 * k4K, k4K)), Status::kOk);
  ASSERT_EQ(assign(lend(kData + 5 * k4K, k4K, kSvm1)), Status::kOk);
  std::memset(mem(kData), 0xC3, 8 * k4K);
  auto refused = [&](const DescBuilder& d, Status want) {
    SCOPED_TRACE(int64_t(want));
    expect_rejected(d, want);
    EXPECT_TRUE(all_bytes(mem(kData), 8 * k4K, 0xC3)) << "a refused scrub zeroed a page";
  };
  refused(scrub(kData + 6 * k4K, k4K), Status::kState);      // the host's
  refused(scrub(kData + 3 * k4K, 2 * k4K), Status::kState);  // the last page is a share
  refused(scrub(kData + 5 * k4K, k4K), Status::kState);      // secure VM 11's
  refused(scrub(kData, 4 * k4K, kSvm0, HYPHEAP_PERM_R), Status::kPerms);  // not as lent
  refused(scrub(kData, 4 * k4K, kSvm0, HYPHEAP_PERM_RWX), Status::kPerms);
  refused(scrub(kData, 4 * k4K, kSvm0, 0), Status::kPerms);
  refused(scrub(kSvmCarveout, k4K), Status::kProtected);  // its own memory: not a lend
  refused(scrub(kData, k4K).range(kData, k4K), Status::kOverlap);
  // A share in place ({host, svm} -> {host, svm}) is no scrub: the host can read it anyway.
  refused(DescBuilder()
              .src(kVmidHost.bit() | kSvm0.bit())
              .dest(kVmidHost, HYPHEAP_PERM_RWX)
              .dest(kSvm0, HYPHEAP_PERM_R)
              .range(kData + 4 * k4K, k4K),
          Status::kDestSet);
  refused(scrub(kData, k4K).dest(kVmidHost, HYPHEAP_PERM_RWX), Status::kDestSet);
  refused(scrub(kData, k4K).src(kSvm0.bit() | kSvm1.bit()), Status::kDestSet);
  refused(scrub(kData, k4K).src(kSvm1.bit()), Status::kDestSet);
  // The destructive call is only ever asked for by its flag, and the flag names only it.
  refused(scrub(kData, 4 * k4K).flags(0), Status::kDestSet);
  refused(lend(kData + 6 * k4K, k4K).flags(HYPHEAP_DESC_F_SCRUB), Status::kDestSet);
  refused(reclaim(kSvm0.bit(), kData, 4 * k4K).flags(HYPHEAP_DESC_F_SCRUB), Status::kDestSet);
  refused(DescBuilder()
              .flags(HYPHEAP_DESC_F_SCRUB)
              .src(kVmidHost.bit() | kSvm0.bit())
              .dest(kVmidHost, HYPHEAP_PERM_RWX)
              .dest(kSvm0, HYPHEAP_PERM_R)
              .range(kData + 4 * k4K, k4K),
          Status::kDestSet);
}

// A page in the secure VM's use (pinned, or held by one of its calls) is never zeroed under
// it: the whole call is BUSY, the rest of the buffer untouched too.
TEST_F(TransactionTest, ScrubOfAPinnedOrHeldPageIsBusyAndZeroesNothing) {
  ASSERT_EQ(assign(lend(kData, 4 * k4K)), Status::kOk);
  std::memset(mem(kData), 0xC3, 4 * k4K);
  ASSERT_EQ(hyp_->pin(kSvm0, Ipa(kData + 2 * k4K), 1), Status::kOk);
  expect_rejected(scrub(kData, 4 * k4K), Status::kBusy);
  EXPECT_TRUE(all_bytes(mem(kData), 4 * k4K, 0xC3));
  ASSERT_EQ(hyp_->unpin(kSvm0, Ipa(kData + 2 * k4K), 1), Status::kOk);
  ASSERT_EQ(hyp_->hold(kSvm0, Ipa(kData + 3 * k4K), 1, HYPHEAP_SVM_NEED_R), Status::kOk);
  expect_rejected(scrub(kData, 4 * k4K), Status::kBusy);
  EXPECT_TRUE(all_bytes(mem(kData), 4 * k4K, 0xC3));
  ASSERT_EQ(hyp_->release(kSvm0, Ipa(kData + 3 * k4K), 1), Status::kOk);
  EXPECT_EQ(assign(scrub(kData, 4 * k4K)), Status::kOk);
  EXPECT_TRUE(all_bytes(mem(kData), 4 * k4K, 0));
}

// The state check takes a run of pages in one state as one leaf: a single pinned or held page
// anywhere in a long lend (its page-sized edges, inside a block the pin splits, the last page)
// still makes the whole call BUSY.
TEST_F(TransactionTest, OnePinnedOrHeldPageAnywhereInALongRunIsFound) {
  const uint64_t base = kData + k2M - 16 * k4K, size = 2 * k2M + 32 * k4K;
  ASSERT_EQ(assign(lend(base, size)), Status::kOk);
  std::memset(mem(base), 0xC3, size);
  const uint64_t pages[] = {base,
                            base + 15 * k4K,
                            base + 16 * k4K,
                            base + 16 * k4K + k2M / 2,
                            base + 16 * k4K + k2M + 7 * k4K,
                            base + size - k4K};
  for (const uint64_t pa : pages) {
    ASSERT_EQ(hyp_->pin(kSvm0, Ipa(pa), 1), Status::kOk);
    expect_rejected(scrub(base, size), Status::kBusy);
    ASSERT_EQ(hyp_->unpin(kSvm0, Ipa(pa), 1), Status::kOk);
    ASSERT_EQ(hyp_->hold(kSvm0, Ipa(pa), 1, HYPHEAP_SVM_NEED_R), Status::kOk);
    expect_rejected(scrub(base, size), Status::kBusy);
    ASSERT_EQ(hyp_->release(kSvm0, Ipa(pa), 1), Status::kOk);
  }
  EXPECT_TRUE(all_bytes(mem(base), size, 0xC3));
  EXPECT_EQ(assign(scrub(base, size)), Status::kOk);
  EXPECT_TRUE(all_bytes(mem(base), size, 0));
}

// The two stage-2s' runs end at different places: the secure VM's changes at every page
// (alternate perms), the host's is one run of "lent to VM 10" but for a page left the host's
// at the far end. Each pair of runs is checked: the scrub is refused at the first R page
// (PERMS), the reclaim, which takes any perms, only at that last page (STATE), and neither
// changes anything; without that page the reclaim takes every page back, zeroed.
TEST_F(TransactionTest, RunsEndingApartInTheTwoStage2sAreEachChecked) {
  const uint64_t base = kData + k2M - 64 * k4K, pages = 128, size = pages * k4K;
  auto rw = DescBuilder().src(kVmidHost.bit()).dest(kSvm0, kRw);
  auto r = DescBuilder().src(kVmidHost.bit()).dest(kSvm0, HYPHEAP_PERM_R);
  for (uint64_t i = 0; i < pages; i++)
    (i % 2 ? r : rw).range(base + i * k4K, k4K);
  ASSERT_EQ(assign(rw), Status::kOk);
  ASSERT_EQ(assign(r), Status::kOk);
  std::memset(mem(base), 0xC3, size);
  expect_rejected(scrub(base, size), Status::kPerms);
  expect_rejected(reclaim(kSvm0.bit(), base, size + k4K), Status::kState);
  EXPECT_TRUE(all_bytes(mem(base), size, 0xC3));
  EXPECT_EQ(assign(reclaim(kSvm0.bit(), base, size)), Status::kOk);
  EXPECT_TRUE(all_bytes(mem(base), size, 0));
}

// --- Atomicity ----------------------------------------------------------------------------

TEST_F(TransactionTest, LongDescriptorWithBadLastRangeChangesNothing) {
  auto d = DescBuilder().src(kVmidHost.bit()).dest(kSvm0, kRw);
  for (uint64_t i = 0; i < 4000; i++)
    d.range(kData + i * 2 * k4K, k4K);
  d.range(kHypBase, k4K);  // last range: hypervisor memory
  expect_rejected(d, Status::kProtected);
}

TEST_F(TransactionTest, LongDescriptorWithLastPageInTheWrongStateChangesNothing) {
  ASSERT_EQ(assign(lend(kData + 4000 * 2 * k4K, k4K)), Status::kOk);
  auto d = DescBuilder().src(kVmidHost.bit()).dest(kSvm0, kRw);
  for (uint64_t i = 0; i <= 4000; i++)
    d.range(kData + i * 2 * k4K, k4K);
  expect_rejected(d, Status::kState);
}

TEST_F(TransactionTest, FullDescriptorOfMaximumSizeIsAccepted) {
  auto d = DescBuilder().src(kVmidHost.bit()).dest(kSvm0, kRw);
  for (uint64_t i = 0; i < HYPHEAP_DESC_MAX_RANGES(1); i++)
    d.range(kData + i * 2 * k4K, k4K);
  ASSERT_EQ(d.bytes().size(), HYPHEAP_DESC_MAX_SIZE);
  EXPECT_EQ(assign(d), Status::kOk);
}

TEST_F(TransactionTest, TablePoolExhaustionFailsCleanlyAndLeavesNothingPartial) {
  // After boot: 3 roots, the host's level-2 tables for the MMIO and RAM gigabytes, a level-3
  // table for the 4 KiB UART, the secure VM's level-2 table for its carve-out: 7 pages.
  boot(11);
  ASSERT_EQ(hyp_->pool().free_pages(), 4u);
  auto d = DescBuilder().src(kVmidHost.bit()).dest(kSvm0, kRw);
  for (uint64_t i = 0; i < 4; i++)  // 4 distinct 2 MiB regions: 10 tables needed
    d.range(kGigBlock + i * k2M * 3 + k4K, k4K);
  expect_rejected(d, Status::kNoMemory);
  EXPECT_EQ(assign(lend(kGigBlock + k4K, k4K)), Status::kOk);  // needs exactly the 4 left
}

TEST_F(TransactionTest, HostRewritingTheDescriptorAfterTheCopyHasNoEffect) {
  // The moment the hypervisor has copied the descriptor, the "host" retargets its range to
  // hypervisor memory and its destination to the other secure VM.
  struct Ctx {
    uint8_t* desc;
  } ctx{mem(kDescPa)};
  fake::set_copy_hook(
      [](void* p) {
        auto* c = static_cast<Ctx*>(p);
        const hypheap_vmperm evil_dest{HYPHEAP_VMID_SECURE_1, HYPHEAP_PERM_RWX};
        const hypheap_mem_range evil_range{kHypBase, k2M};
        std::memcpy(c->desc + sizeof(hypheap_assign_hdr), &evil_dest, sizeof(evil_dest));
        std::memcpy(c->desc + sizeof(hypheap_assign_hdr) + sizeof(evil_dest), &evil_range,
                    sizeof(evil_range));
      },
      &ctx);
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  fake::set_copy_hook(nullptr, nullptr);
  EXPECT_EQ(host_leaf(kData).owner(), kSvm0);
  EXPECT_EQ(svm_leaf(kData, kSvm1).raw, 0u);
  EXPECT_EQ(host_leaf(kHypBase).owner(), kVmidHyp);
}

// --- Concurrency --------------------------------------------------------------------------

TEST_F(TransactionTest, TwoCpusAssigningOverlappingRangesNeverBothWin) {
  constexpr int kRounds = 200;
  int wins[2] = {0, 0};
  auto worker = [&](unsigned cpu, VmId to, uint64_t base, uint64_t desc_pa) {
    for (int i = 0; i < kRounds; i++) {
      auto d = lend(base, 8 * k4K, to);
      std::vector<uint8_t> bytes = d.bytes();
      std::memcpy(mem(desc_pa), bytes.data(), bytes.size());
      uint64_t srcvm = 0;
      const Status s = hyp_->mem_assign(cpu, PhysAddr(desc_pa), bytes.size(), &srcvm);
      if (s == Status::kOk) {
        wins[cpu]++;
        bytes = reclaim(to.bit(), base, 8 * k4K).bytes();
        std::memcpy(mem(desc_pa), bytes.data(), bytes.size());
        ASSERT_EQ(hyp_->mem_assign(cpu, PhysAddr(desc_pa), bytes.size(), &srcvm), Status::kOk);
      } else {
        ASSERT_EQ(s, Status::kState);
      }
    }
  };
  std::thread a(worker, 0u, kSvm0, kData, kDescPa);
  std::thread b(worker, 1u, kSvm1, kData + 4 * k4K, kDescPa + k4K);  // half overlaps
  a.join();
  b.join();
  EXPECT_GT(wins[0] + wins[1], 0);
  EXPECT_TRUE(host_leaf(kData).valid());
  uint64_t lent = 1;
  ASSERT_EQ(hyp_->stat(HYPHEAP_STAT_PAGES_LENT, &lent), Status::kOk);
  EXPECT_EQ(lent, 0u);
}

}  // namespace
}  // namespace hyp::testing
