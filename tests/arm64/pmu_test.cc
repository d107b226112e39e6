// The pure parts of hyp/arch/arm64/pmu.h: MDCR_EL2 for the host, decoding of a trapped PMU
// register access, and what a host write of an event type becomes.
#include "pmu.h"

#include <gtest/gtest.h>

namespace hyp::arm64 {
namespace {

constexpr uint64_t kPmcrSixCounters = 6ull << 11;
constexpr uint64_t kQemuA57Dfr0 = 0x10305106;  // PMUVer 1: PMUv3, no HPMD

uint64_t dfr0_with_pmu(uint64_t ver) {
  return ver << 8;
}

// Found by the security review: MDCR_EL2 was HPMN only, so on a PMUv3 core the host could
// set NSH and count what the hyp does.
TEST(MdcrTest, PmuV3TrapsThePmuAndGivesTheHostEveryCounter) {
  const uint64_t mdcr = mdcr_el2_for_host(kQemuA57Dfr0, kPmcrSixCounters);
  EXPECT_EQ(mdcr & mdcr::kHpmnMask, 6u);
  EXPECT_TRUE(mdcr & mdcr::kTpm);
  EXPECT_FALSE(mdcr & mdcr::kHpmd);
}

// Before PMUv3p5 HPMD leaves the cycle counter running at EL2 when the host clears
// PMCR_EL0.DP (found in review): v3p1..v3p4 are trapped like v3.
TEST(MdcrTest, BeforePmuV3p5ThePmuIsTrapped) {
  for (const uint64_t ver : {1, 4, 5}) {
    const uint64_t mdcr = mdcr_el2_for_host(dfr0_with_pmu(ver), kPmcrSixCounters);
    EXPECT_TRUE(mdcr & mdcr::kTpm) << ver;
    EXPECT_FALSE(mdcr & mdcr::kHpmd) << ver;
  }
}

TEST(MdcrTest, PmuV3p5ProhibitsEl2CountingWithoutTraps) {
  const uint64_t mdcr = mdcr_el2_for_host(dfr0_with_pmu(6), kPmcrSixCounters);
  EXPECT_TRUE(mdcr & mdcr::kHpmd);
  EXPECT_TRUE(mdcr & mdcr::kHccd);
  EXPECT_FALSE(mdcr & mdcr::kTpm);
}

TEST(MdcrTest, AnImplementationDefinedPmuIsTrapped) {
  EXPECT_TRUE(mdcr_el2_for_host(dfr0_with_pmu(0xf), 0) & mdcr::kTpm);
}

// Debug stays the host's own: TDE (8), TDA (9), TDOSA (10), TDRA (11) clear.
TEST(MdcrTest, SelfHostedDebugIsNotTrapped) {
  for (const uint64_t ver : {0, 1, 4, 6, 0xf})
    EXPECT_EQ(mdcr_el2_for_host(dfr0_with_pmu(ver), kPmcrSixCounters) & 0xf00, 0u) << ver;
}

// ISS of an MSR/MRS trap: Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10], Rt [9:5],
// CRm [4:1], direction [0] (1 = read).
constexpr uint32_t iss(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm, uint32_t op2,
                       uint32_t rt, bool read) {
  return (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) |
         (read ? 1 : 0);
}

TEST(DecodePmuAccessTest, NamesTheRegisterTheRegisterNumberAndTheDirection) {
  PmuAccess a = decode_pmu_access(iss(3, 3, 9, 12, 0, 7, true));
  EXPECT_EQ(a.reg, PmuReg::kPmcr);
  EXPECT_EQ(a.rt, 7u);
  EXPECT_TRUE(a.read);
  EXPECT_EQ(decode_pmu_access(iss(3, 3, 9, 13, 0, 0, true)).reg, PmuReg::kCcntr);
  EXPECT_EQ(decode_pmu_access(iss(3, 3, 9, 13, 1, 0, false)).reg, PmuReg::kXevtyper);
  EXPECT_EQ(decode_pmu_access(iss(3, 3, 9, 14, 0, 0, false)).reg, PmuReg::kUserenr);
  EXPECT_EQ(decode_pmu_access(iss(3, 0, 9, 14, 1, 0, false)).reg, PmuReg::kIntenset);
  a = decode_pmu_access(iss(3, 3, 14, 13, 2, 31, false));  // PMEVTYPER10_EL0, xzr
  EXPECT_EQ(a.reg, PmuReg::kEvtyper);
  EXPECT_EQ(a.n, 10u);
  EXPECT_EQ(a.rt, 31u);
  a = decode_pmu_access(iss(3, 3, 14, 15, 7, 3, false));  // PMCCFILTR_EL0
  EXPECT_EQ(a.reg, PmuReg::kEvtyper);
  EXPECT_EQ(a.n, 31u);
  a = decode_pmu_access(iss(3, 3, 14, 11, 6, 3, true));  // PMEVCNTR30_EL0
  EXPECT_EQ(a.reg, PmuReg::kEvcntr);
  EXPECT_EQ(a.n, 30u);
}

TEST(DecodePmuAccessTest, OtherRegistersAreNotThePmus) {
  EXPECT_EQ(decode_pmu_access(iss(3, 0, 1, 0, 0, 0, true)).reg, PmuReg::kNone);    // SCTLR_EL1
  EXPECT_EQ(decode_pmu_access(iss(3, 3, 14, 0, 1, 0, true)).reg, PmuReg::kNone);   // CNTPCT
  EXPECT_EQ(decode_pmu_access(iss(2, 0, 0, 2, 4, 0, true)).reg, PmuReg::kNone);    // debug
  EXPECT_EQ(decode_pmu_access(iss(3, 3, 14, 11, 7, 0, true)).reg, PmuReg::kNone);  // no PMEVCNTR31
  EXPECT_EQ(decode_pmu_access(iss(3, 3, 9, 14, 2, 0, true)).reg, PmuReg::kNone);   // unallocated
}

TEST(HostPmuTypeTest, DropsNshAndKeepsEverythingElse) {
  EXPECT_EQ(host_pmu_type(0xc8000011), 0xc0000011u);  // P, U, NSH, event 0x11
  EXPECT_EQ(host_pmu_type(0x40000008), 0x40000008u);
}

}  // namespace
}  // namespace hyp::arm64
