#include <cstring>

#include "hyp_fixture.h"

namespace hyp::testing {
namespace {

using HypercallTest = HypTest;

SmcccResult smc(Hyp& h, uint64_t x0, uint64_t x1 = 0, uint64_t x2 = 0) {
  return h.handle_smccc(0, SmcccArgs{{x0, x1, x2, 0}});
}

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

TEST_F(HypercallTest, QueryReportsOwnersStateAndRunLength) {
  ASSERT_EQ(assign(lend(kData + 2 * k4K, 3 * k4K)), Status::kOk);
  SmcccResult r = smc(*hyp_, HYPHEAP_FN_MEM_QUERY, kData, 16);
  EXPECT_EQ(r.x[0], 0u);
  EXPECT_EQ(r.x[1], kVmidHost.bit());
  EXPECT_EQ(r.x[2], uint64_t(HYPHEAP_STATE_EXCLUSIVE));
  EXPECT_EQ(r.x[3], 2u);
  r = smc(*hyp_, HYPHEAP_FN_MEM_QUERY, kData + 2 * k4K, 16);
  EXPECT_EQ(r.x[1], kSvm0.bit());
  EXPECT_EQ(r.x[3], 3u);
}

TEST_F(HypercallTest, QueryOfSharedAndPinnedPages) {
  ASSERT_EQ(assign(share(kData, 2 * k4K)), Status::kOk);
  ASSERT_EQ(hyp_->pin(kSvm0, Ipa(kData + k4K), 1), Status::kOk);
  QueryResult q = query(kData, 2);
  EXPECT_EQ(q.owners, kVmidHost.bit() | kSvm0.bit());
  EXPECT_EQ(q.state, uint64_t(HYPHEAP_STATE_SHARED));
  EXPECT_EQ(q.pages, 1u);
  q = query(kData + k4K, 1);
  EXPECT_EQ(q.state, uint64_t(HYPHEAP_STATE_SHARED | HYPHEAP_STATE_F_PINNED));
}

TEST_F(HypercallTest, QueryOfHypervisorAndCarveoutMemory) {
  EXPECT_EQ(query(kHypBase, 1).owners, kVmidHyp.bit());
  const QueryResult q = query(kSvmCarveout, 1024);
  EXPECT_EQ(q.owners, kSvm0.bit());
  EXPECT_EQ(q.pages, k2M / k4K);
}

TEST_F(HypercallTest, QueryRunCrossesBlockBoundariesOfTheSameState) {
  EXPECT_EQ(query(kData, 4096).pages, 4096u);  // 16 MiB of host memory, several blocks
}

TEST_F(HypercallTest, QueryRejectsUnalignedZeroOverflowingAndNonRam) {
  QueryResult q;
  EXPECT_EQ(hyp_->mem_query(PhysAddr(kData + 1), 1, &q), Status::kRangeUnaligned);
  EXPECT_EQ(hyp_->mem_query(PhysAddr(kData), 0, &q), Status::kRangeSize);
  EXPECT_EQ(hyp_->mem_query(PhysAddr(kData), ~0ULL / k4K, &q), Status::kRangeSize);
  EXPECT_EQ(hyp_->mem_query(PhysAddr(0x0900'0000), 1, &q), Status::kOutsideRam);
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

// --- pin ----------------------------------------------------------------------------------

TEST_F(HypercallTest, PinRequiresAPageTheSecureVmMaps) {
  EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kData), 1), Status::kState);
  EXPECT_EQ(hyp_->pin(kVmidHost, Ipa(kData), 1), Status::kUnknownVmid);
  EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kData + 1), 1), Status::kRangeUnaligned);
  EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kData), 0), Status::kRangeSize);
}

TEST_F(HypercallTest, PinTwiceAndUnpinOfAnUnpinnedPageAreStateErrors) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  EXPECT_EQ(hyp_->unpin(kSvm0, Ipa(kData), 1), Status::kState);
  ASSERT_EQ(hyp_->pin(kSvm0, Ipa(kData), 1), Status::kOk);
  EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kData), 1), Status::kState);
}

TEST_F(HypercallTest, UnpinningMergesTheSecureVmMappingBack) {
  ASSERT_EQ(assign(lend(kGigBlock, k2M)), Status::kOk);
  ASSERT_EQ(svm_leaf(kGigBlock).level, 2u);
  ASSERT_EQ(hyp_->pin(kSvm0, Ipa(kGigBlock + k4K), 1), Status::kOk);
  EXPECT_EQ(svm_leaf(kGigBlock).level, 3u);
  ASSERT_EQ(hyp_->unpin(kSvm0, Ipa(kGigBlock + k4K), 1), Status::kOk);
  EXPECT_EQ(svm_leaf(kGigBlock).level, 2u);
}

// --- the invariant checker itself -----------------------------------------------------------

TEST_F(HypercallTest, InvariantCheckerCatchesAPageMappedByTwoVms) {
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
  s2.set_range(r, LeafSpec::unmapped(), res);  // undo so TearDown's check passes
}

TEST_F(HypercallTest, InvariantCheckerCatchesARamPageWithoutOwner) {
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

// --- platform -----------------------------------------------------------------------------

TEST(PlatformTest, RejectsPoolOutsideTheHypervisorCarveout) {
  const MemRange ram[] = {MemRange{PhysAddr(kRamBase), k1G}};
  const Carveout co[] = {Carveout{MemRange{PhysAddr(kRamBase), k2M}, kVmidHyp}};
  Platform p;
  PlatformDesc d{ram, co, {}, {}, MemRange{PhysAddr(kRamBase + k2M), k4K}, 39};
  EXPECT_EQ(p.init(d), Status::kProtected);
  d.table_pool = MemRange{PhysAddr(kRamBase), k4K};
  EXPECT_EQ(p.init(d), Status::kOk);
}

TEST(PlatformTest, RejectsSecureVmIdsThatAreHostHypDuplicateOrTooBig) {
  const MemRange ram[] = {MemRange{PhysAddr(kRamBase), k1G}};
  const Carveout co[] = {Carveout{MemRange{PhysAddr(kRamBase), k2M}, kVmidHyp}};
  for (const auto& ids : {std::vector<VmId>{kVmidHost}, std::vector<VmId>{kVmidHyp},
                          std::vector<VmId>{kSvm0, kSvm0}, std::vector<VmId>{VmId(64)}}) {
    Platform p;
    const PlatformDesc d{ram, co, {}, ids, MemRange{PhysAddr(kRamBase), k4K}, 39};
    EXPECT_EQ(p.init(d), Status::kUnknownVmid);
  }
}

TEST(PlatformTest, RejectsMmioOverlappingRamAndUnalignedRanges) {
  const MemRange ram[] = {MemRange{PhysAddr(kRamBase), k1G}};
  const Carveout co[] = {Carveout{MemRange{PhysAddr(kRamBase), k2M}, kVmidHyp}};
  const MemRange bad_mmio[] = {MemRange{PhysAddr(kRamBase + k1G - k4K), 2 * k4K}};
  Platform p;
  EXPECT_EQ(p.init({ram, co, bad_mmio, {}, MemRange{PhysAddr(kRamBase), k4K}, 39}),
            Status::kProtected);
  const MemRange odd_ram[] = {MemRange{PhysAddr(kRamBase + 1), k1G}};
  EXPECT_EQ(p.init({odd_ram, co, {}, {}, MemRange{PhysAddr(kRamBase), k4K}, 39}),
            Status::kRangeUnaligned);
}

}  // namespace
}  // namespace hyp::testing
