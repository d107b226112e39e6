// Address and range types (hyp/core/types.h).
#include "hyp_fixture.h"

namespace hyp::testing {
namespace {

constexpr uint64_t kTopPage = ~uint64_t{0} - 0xfff;  // the last page of the 64-bit space

TEST(MemRangeTest, ContainsAndOverlapsOrdinaryRanges) {
  const MemRange ram{PhysAddr(kRamBase), k1G};
  EXPECT_TRUE(ram.contains(MemRange{PhysAddr(kRamBase), k1G}));
  EXPECT_TRUE(ram.contains(MemRange{PhysAddr(kRamBase + k1G - k4K), k4K}));
  EXPECT_FALSE(ram.contains(MemRange{PhysAddr(kRamBase + k1G - k4K), 2 * k4K}));
  EXPECT_FALSE(ram.contains(MemRange{PhysAddr(kRamBase - k4K), k4K}));
  EXPECT_TRUE(ram.overlaps(MemRange{PhysAddr(kRamBase - k4K), 2 * k4K}));
  EXPECT_FALSE(ram.overlaps(MemRange{PhysAddr(kRamBase + k1G), k4K}));
  EXPECT_FALSE(ram.overlaps(MemRange{PhysAddr(kRamBase - k4K), k4K}));
}

// Found at EL2 by the hypheap-hostile KUnit suite: a descriptor at the last page of the
// address space made end() wrap to a small value, contains() said yes and the hypervisor
// copied from an unmapped address.
TEST(MemRangeTest, RangeWrappingPastTheTopIsNeverContained) {
  const MemRange ram{PhysAddr(kRamBase), k1G};
  EXPECT_FALSE(ram.contains(MemRange{PhysAddr(kTopPage), 2 * k4K}));
  EXPECT_FALSE(ram.contains(MemRange{PhysAddr(kTopPage), k4K}));
  EXPECT_FALSE(ram.contains(MemRange{PhysAddr(kRamBase), ~uint64_t{0}}));
}

TEST(MemRangeTest, RangeWrappingPastTheTopOverlapsWhatItCovers) {
  const MemRange top{PhysAddr(kTopPage), k4K};
  EXPECT_TRUE(top.overlaps(MemRange{PhysAddr(kTopPage - k4K), 2 * k4K}));
  EXPECT_FALSE(top.overlaps(MemRange{PhysAddr(kRamBase), k1G}));
  const MemRange everything{PhysAddr(k4K), ~uint64_t{0} - k4K};
  EXPECT_TRUE(everything.overlaps(top));
  EXPECT_TRUE(everything.overlaps(MemRange{PhysAddr(kRamBase), k4K}));
}

TEST(MemRangeTest, EmptyRangeOverlapsNothing) {
  const MemRange ram{PhysAddr(kRamBase), k1G};
  EXPECT_FALSE(ram.overlaps(MemRange{PhysAddr(kRamBase + k4K), 0}));
  const MemRange empty{PhysAddr(kRamBase + k4K), 0};
  EXPECT_FALSE(empty.overlaps(ram));
}

}  // namespace
}  // namespace hyp::testing
