#include "core/page_pool.h"

#include <gtest/gtest.h>

#include <cstring>

#include "arch/fake/fake_arch.h"

namespace hyp {
namespace {

constexpr PhysAddr kPoolBase{fake::kRamBase};
constexpr size_t kPoolPages = 8;

class PagePoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake::reset_memory();
    ASSERT_EQ(pool_.init(kPoolBase, kPoolPages), Status::kOk);
  }
  PagePool pool_;
};

TEST_F(PagePoolTest, StartsWithEveryPageFree) {
  EXPECT_EQ(pool_.free_pages(), kPoolPages);
  EXPECT_EQ(pool_.used_pages(), 0u);
}

TEST_F(PagePoolTest, ReservationBeyondFreePagesIsRefused) {
  PagePool::Reservation res;
  EXPECT_EQ(pool_.reserve(kPoolPages + 1, res), Status::kNoMemory);
  EXPECT_EQ(res.remaining(), 0u);
  EXPECT_EQ(pool_.reserve(kPoolPages, res), Status::kOk);
  PagePool::Reservation other;
  EXPECT_EQ(pool_.reserve(1, other), Status::kNoMemory);
}

TEST_F(PagePoolTest, UnusedReservationReturnsWhenItGoesOutOfScope) {
  {
    PagePool::Reservation res;
    ASSERT_EQ(pool_.reserve(kPoolPages, res), Status::kOk);
    (void)pool_.alloc(res);
  }
  PagePool::Reservation res;
  EXPECT_EQ(pool_.reserve(kPoolPages - 1, res), Status::kOk);
}

TEST_F(PagePoolTest, AllocatedPagesAreDistinctZeroedAndReferencedOnce) {
  PagePool::Reservation res;
  ASSERT_EQ(pool_.reserve(2, res), Status::kOk);
  const PhysAddr a = pool_.alloc(res);
  const PhysAddr b = pool_.alloc(res);
  EXPECT_NE(a, b);
  EXPECT_TRUE(pool_.owns(a));
  EXPECT_EQ(pool_.refcount(a), 1u);
  const auto* bytes = static_cast<const uint8_t*>(arch::phys_to_virt(b));
  for (size_t i = 0; i < kPageSize; i++)
    ASSERT_EQ(bytes[i], 0) << i;
  EXPECT_EQ(pool_.free_pages(), kPoolPages - 2);
}

TEST_F(PagePoolTest, ReusedPageIsZeroedAgain) {
  PagePool::Reservation res;
  ASSERT_EQ(pool_.reserve(1, res), Status::kOk);
  const PhysAddr a = pool_.alloc(res);
  std::memset(arch::phys_to_virt(a), 0xAB, kPageSize);
  pool_.put(a);
  ASSERT_EQ(pool_.reserve(1, res), Status::kOk);
  const PhysAddr again = pool_.alloc(res);
  EXPECT_EQ(again, a);  // LIFO free list
  EXPECT_EQ(*static_cast<const uint8_t*>(arch::phys_to_virt(again)), 0);
}

TEST_F(PagePoolTest, PageReturnsWhenLastReferenceDrops) {
  PagePool::Reservation res;
  ASSERT_EQ(pool_.reserve(1, res), Status::kOk);
  const PhysAddr a = pool_.alloc(res);
  pool_.get(a);
  pool_.put(a);
  EXPECT_EQ(pool_.free_pages(), kPoolPages - 1);
  pool_.put(a);
  EXPECT_EQ(pool_.free_pages(), kPoolPages);
}

TEST_F(PagePoolTest, ReleaseReturnsPageWhateverItsCount) {
  PagePool::Reservation res;
  ASSERT_EQ(pool_.reserve(1, res), Status::kOk);
  const PhysAddr a = pool_.alloc(res);
  pool_.get(a);
  pool_.get(a);
  pool_.release(a);
  EXPECT_EQ(pool_.free_pages(), kPoolPages);
  EXPECT_EQ(pool_.refcount(a), 0u);
}

TEST(PagePoolInitTest, RejectsUnalignedEmptyOrOversizedPools) {
  static PagePool pool;
  EXPECT_EQ(pool.init(PhysAddr(fake::kRamBase + 8), 1), Status::kRangeUnaligned);
  EXPECT_EQ(pool.init(PhysAddr(fake::kRamBase), 0), Status::kRangeSize);
  EXPECT_EQ(pool.init(PhysAddr(fake::kRamBase), PagePool::kMaxPages + 1), Status::kRangeSize);
}

TEST(PagePoolDeathTest, AllocationWithoutReservationIsFatal) {
  static PagePool pool;
  ASSERT_EQ(pool.init(PhysAddr(fake::kRamBase), 4), Status::kOk);
  PagePool::Reservation res;
  EXPECT_DEATH(pool.alloc(res), "without reservation");
}

}  // namespace
}  // namespace hyp
