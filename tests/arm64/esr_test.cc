// The pure parts of hyp/arch/arm64/esr.h the host-fault path decides with.
#include "esr.h"

#include <gtest/gtest.h>

namespace hyp::arm64 {
namespace {

constexpr uint32_t kWnR = 1u << 6, kS1ptw = 1u << 7, kCm = 1u << 8, kFnV = 1u << 10;
constexpr uint32_t kTranslationL2 = 0x06, kAccessFlagL3 = 0x0b, kPermissionL3 = 0x0f;
constexpr uint32_t kSyncExternal = 0x10, kAlignment = 0x21, kTlbConflict = 0x30;

Esr data_abort(uint32_t iss) {
  return Esr(Esr::make(ExceptionClass::kDataAbortLowerEl, iss));
}
Esr instruction_abort(uint32_t iss) {
  return Esr(Esr::make(ExceptionClass::kInstructionAbortLowerEl, iss));
}

// Found by the security review: a fetch was checked as a read, so an entry without X
// looked "allowed", and the fault was retried 64 times and logged as a hyp bug.
// And (second review) only execute: an X-only share allows a fetch.
TEST(Stage2NeedTest, AnInstructionFetchNeedsExecuteOnly) {
  EXPECT_EQ(stage2_need(instruction_abort(kPermissionL3)), (Stage2Need{.x = true}));
}

// A W-only share allows a store; the read half of a read-modify-write reports WnR = 0.
TEST(Stage2NeedTest, ADataAccessNeedsReadOrWrite) {
  EXPECT_EQ(stage2_need(data_abort(kPermissionL3)), (Stage2Need{.r = true}));
  EXPECT_EQ(stage2_need(data_abort(kPermissionL3 | kWnR)), (Stage2Need{.w = true}));
}

// WnR reads 1 for any cache maintenance: DC CIVAC on a read-only share needs no write.
TEST(Stage2NeedTest, CacheMaintenanceNeedsReadOnly) {
  EXPECT_EQ(stage2_need(data_abort(kPermissionL3 | kWnR | kCm)), (Stage2Need{.r = true}));
}

TEST(RefusedAccessTest, OnlyDataCacheMaintenanceIsSkipped) {
  EXPECT_TRUE(refused_access_is_skipped(data_abort(kTranslationL2 | kWnR | kCm)));
  EXPECT_TRUE(refused_access_is_skipped(data_abort(kPermissionL3 | kWnR | kCm)));
  EXPECT_FALSE(refused_access_is_skipped(data_abort(kTranslationL2)));
  EXPECT_FALSE(refused_access_is_skipped(data_abort(kTranslationL2 | kWnR)));
  // a CMO whose own stage-1 walk faults: the host's tables are not its memory
  EXPECT_FALSE(refused_access_is_skipped(data_abort(kTranslationL2 | kCm | kS1ptw)));
  EXPECT_FALSE(refused_access_is_skipped(instruction_abort(kPermissionL3)));
}

TEST(Stage2NeedTest, AStage1WalkNeedsReadAndWriteOnlyForAHardwareUpdate) {
  EXPECT_EQ(stage2_need(data_abort(kTranslationL2 | kS1ptw)), (Stage2Need{.r = true}));
  EXPECT_EQ(stage2_need(data_abort(kPermissionL3 | kS1ptw | kWnR)),
            (Stage2Need{.r = true, .w = true}));
}

TEST(EntryFaultTest, OnlyTranslationAccessFlagAndPermissionFaultsCanBeRetried) {
  for (uint32_t code = 0x04; code <= 0x0f; code++)
    EXPECT_TRUE(is_entry_fault(code)) << std::hex << code;
  for (const uint32_t code : {0x00u, 0x01u, kSyncExternal, 0x14u, kAlignment, kTlbConflict})
    EXPECT_FALSE(is_entry_fault(code)) << std::hex << code;
}

// HPFAR_EL2 is UNKNOWN for a permission fault; Cortex-A57 erratum 834220 makes it
// unreliable for any fault that is not on a stage-1 walk.
TEST(FaultIpaSourceTest, HpfarIsUsedOnlyWhereTheArchitectureDefinesIt) {
  EXPECT_EQ(fault_ipa_source(data_abort(kTranslationL2), false), IpaSource::kHpfar);
  EXPECT_EQ(fault_ipa_source(data_abort(kAccessFlagL3), false), IpaSource::kHpfar);
  EXPECT_EQ(fault_ipa_source(data_abort(kPermissionL3), false), IpaSource::kAt);
  EXPECT_EQ(fault_ipa_source(instruction_abort(kPermissionL3), false), IpaSource::kAt);
  EXPECT_EQ(fault_ipa_source(data_abort(kPermissionL3 | kS1ptw), false), IpaSource::kHpfar);
}

TEST(FaultIpaSourceTest, Erratum834220RecomputesEveryIpaButOnStage1Walks) {
  EXPECT_EQ(fault_ipa_source(data_abort(kTranslationL2), true), IpaSource::kAt);
  EXPECT_EQ(fault_ipa_source(instruction_abort(kTranslationL2), true), IpaSource::kAt);
  EXPECT_EQ(fault_ipa_source(data_abort(kTranslationL2 | kS1ptw), true), IpaSource::kHpfar);
}

TEST(FaultIpaSourceTest, WithoutAValidFarTheIpaIsUnknown) {
  EXPECT_EQ(fault_ipa_source(data_abort(kPermissionL3 | kFnV), false), IpaSource::kUnknown);
}

TEST(IpaFromParTest, TakesThePageFromParAndTheOffsetFromTheVa) {
  // PAR_EL1 with F = 0: attributes in [63:56], PA[47:12], SH and NS bits below.
  const uint64_t par = 0xff00'0000'7d04'2000ull | (3u << 7) | (1u << 9);
  EXPECT_FALSE(par_failed(par));
  EXPECT_EQ(ipa_from_par(par, 0xffff'8000'1234'5abcull), 0x7d04'2abcull);
  EXPECT_TRUE(par_failed(0x809));  // F = 1, FST = translation fault level 2
}

TEST(HpfarTest, FipaHoldsTheIpaPage) {
  EXPECT_EQ(ipa_from_hpfar((0x80'0000'0000ull >> 12) << 4, 0xfff), 0x80'0000'0fffull);
}

}  // namespace
}  // namespace hyp::arm64
