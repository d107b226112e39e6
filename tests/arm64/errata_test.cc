// The CPU-specific choices of hyp/arch/arm64/errata.h, from register values.
#include "errata.h"

#include <gtest/gtest.h>

namespace hyp::arm64 {
namespace {

constexpr uint64_t kA57r1p0 = 0x411fd070;  // QEMU's cortex-a57
constexpr uint64_t kA72 = 0x410fd083, kA53 = 0x410fd034, kA73 = 0x410fd092;
constexpr uint64_t kQemuA57Pfr0 = 0x00002222;  // no CSV2
constexpr uint64_t kCsv2 = 1ull << 56;

TEST(ErrataTest, Erratum834220IsCortexA57UpToR1p2) {
  EXPECT_TRUE(has_erratum_834220(0x410fd070));   // r0p0
  EXPECT_TRUE(has_erratum_834220(kA57r1p0));     // r1p0
  EXPECT_TRUE(has_erratum_834220(0x411fd072));   // r1p2
  EXPECT_FALSE(has_erratum_834220(0x411fd073));  // r1p3
  EXPECT_FALSE(has_erratum_834220(kA53));
  EXPECT_FALSE(has_erratum_834220(kA72));
}

// Found by the security review: the hyp did nothing on entry from the host on a core that
// needs it, and told the host SMCCC_ARCH_WORKAROUND_1 was not there.
TEST(BranchHardeningTest, CortexA57AndA72AreHardenedWithoutFirmware) {
  EXPECT_EQ(branch_hardening(kA57r1p0, kQemuA57Pfr0, false), BranchHardening::kLocalA57);
  EXPECT_EQ(branch_hardening(kA72, 0, true), BranchHardening::kLocalA57);
  EXPECT_FALSE(branch_hardening_needs_firmware(kA57r1p0, kQemuA57Pfr0));
}

TEST(BranchHardeningTest, Csv2AndInOrderCoresNeedNothing) {
  EXPECT_EQ(branch_hardening(kA57r1p0, kCsv2, false), BranchHardening::kNotNeeded);
  EXPECT_EQ(branch_hardening(kA53, 0, false), BranchHardening::kNotNeeded);
  EXPECT_EQ(branch_hardening(0x410fd040, 0, false), BranchHardening::kNotNeeded);  // A35
  EXPECT_EQ(branch_hardening(0x410fd050, 0, false), BranchHardening::kNotNeeded);  // A55
}

TEST(BranchHardeningTest, OtherAffectedCoresNeedTheFirmwareOrAreReportedUnprotected) {
  EXPECT_TRUE(branch_hardening_needs_firmware(kA73, 0));
  EXPECT_EQ(branch_hardening(kA73, 0, true), BranchHardening::kFirmware);
  EXPECT_EQ(branch_hardening(kA73, 0, false), BranchHardening::kMissing);
  EXPECT_EQ(branch_hardening(0x510f8000, 0, false), BranchHardening::kMissing);  // unknown
}

}  // namespace
}  // namespace hyp::arm64
