// Validation of the platform description (hyp/core/platform.cc).
#include "hyp_fixture.h"

namespace hyp::testing {
namespace {

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
// The host stage-2 covers [0, 2^ipa_bits): a window above it would be silently dropped (or,
// with a walker that masks the IPA, alias one below it).
TEST(PlatformTest, RejectsMmioReachingTheIpaLimit) {
  const MemRange ram[] = {MemRange{PhysAddr(kRamBase), k1G}};
  const Carveout co[] = {Carveout{MemRange{PhysAddr(kRamBase), k2M}, kVmidHyp}};
  const MemRange across[] = {MemRange{PhysAddr((1ULL << 39) - k4K), 2 * k4K}};
  const MemRange above[] = {MemRange{PhysAddr(1ULL << 39), k4K}};
  const MemRange last[] = {MemRange{PhysAddr((1ULL << 39) - k4K), k4K}};
  Platform p;
  EXPECT_EQ(p.init({ram, co, across, {}, MemRange{PhysAddr(kRamBase), k4K}, 39}),
            Status::kOutsideRam);
  EXPECT_EQ(p.init({ram, co, above, {}, MemRange{PhysAddr(kRamBase), k4K}, 39}),
            Status::kOutsideRam);
  EXPECT_EQ(p.init({ram, co, last, {}, MemRange{PhysAddr(kRamBase), k4K}, 39}), Status::kOk);
}

}  // namespace hyp::testing
