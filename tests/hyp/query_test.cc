// MEM_QUERY (hyp/core/query.cc): owners, state and run length read from the stage-2s.
#include "hyp_fixture.h"

namespace hyp::testing {
namespace {

using QueryTest = HypTest;

TEST_F(QueryTest, ReportsOwnersStateAndRunLength) {
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

TEST_F(QueryTest, OfSharedAndPinnedPages) {
  ASSERT_EQ(assign(share(kData, 2 * k4K)), Status::kOk);
  ASSERT_EQ(hyp_->pin(kSvm0, Ipa(kData + k4K), 1), Status::kOk);
  QueryResult q = query(kData, 2);
  EXPECT_EQ(q.owners, kVmidHost.bit() | kSvm0.bit());
  EXPECT_EQ(q.state, uint64_t(HYPHEAP_STATE_SHARED));
  EXPECT_EQ(q.pages, 1u);
  q = query(kData + k4K, 1);
  EXPECT_EQ(q.state, uint64_t(HYPHEAP_STATE_SHARED | HYPHEAP_STATE_F_PINNED));
}

TEST_F(QueryTest, OfHypervisorAndCarveoutMemory) {
  EXPECT_EQ(query(kHypBase, 1).owners, kVmidHyp.bit());
  const QueryResult q = query(kSvmCarveout, 1024);
  EXPECT_EQ(q.owners, kSvm0.bit());
  EXPECT_EQ(q.pages, k2M / k4K);
}

TEST_F(QueryTest, RunCrossesBlockBoundariesOfTheSameState) {
  EXPECT_EQ(query(kData, 4096).pages, 4096u);  // 16 MiB of host memory, several blocks
}

TEST_F(QueryTest, RejectsUnalignedZeroOverflowingAndNonRam) {
  QueryResult q;
  EXPECT_EQ(hyp_->mem_query(PhysAddr(kData + 1), 1, &q), Status::kRangeUnaligned);
  EXPECT_EQ(hyp_->mem_query(PhysAddr(kData), 0, &q), Status::kRangeSize);
  EXPECT_EQ(hyp_->mem_query(PhysAddr(kData), ~0ULL / k4K, &q), Status::kRangeSize);
  EXPECT_EQ(hyp_->mem_query(PhysAddr(0x0900'0000), 1, &q), Status::kOutsideRam);
}

}  // namespace
}  // namespace hyp::testing
