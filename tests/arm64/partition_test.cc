// The pure decisions of hyp/arch/arm64/partition.h: the EL2 controls a secure-VM vCPU runs
// under, and what each of its exits is.
#include "partition.h"

#include <gtest/gtest.h>

namespace hyp::arm64 {
namespace {

constexpr uint64_t kSpsrI = uint64_t{1} << 7, kSpsrF = uint64_t{1} << 6;

// Always: AArch64 EL1, SMC trapped, stage-2 on, SErrors at EL2, ACTLR_EL1 (not switched)
// trapped; and nothing the host's HCR would leave the partition without.
TEST(PartitionHcrTest, AlwaysTrapsWhatThePartitionMustNotDo) {
  for (const uint64_t spsr : {uint64_t{0}, kSpsrI, kSpsrF, kSpsrI | kSpsrF, kSpsrEl1hDaifMasked}) {
    const uint64_t hcr = hcr_for_partition(spsr);
    EXPECT_TRUE(hcr & hcr::kRw) << spsr;
    EXPECT_TRUE(hcr & hcr::kTsc) << spsr;
    EXPECT_TRUE(hcr & hcr::kVm) << spsr;
    EXPECT_TRUE(hcr & hcr::kAmo) << spsr;
    EXPECT_TRUE(hcr & hcr::kTacr) << spsr;
  }
}

// A host that called with IRQs/FIQs unmasked is preempted for them; a masked one is not
// (it would FFA_RUN at once with the interrupt still pending, forever).
TEST(PartitionHcrTest, InterruptsPreemptOnlyWhenTheHostCanTakeThem) {
  EXPECT_EQ(hcr_for_partition(0) & (hcr::kImo | hcr::kFmo), hcr::kImo | hcr::kFmo);
  EXPECT_EQ(hcr_for_partition(kSpsrI) & (hcr::kImo | hcr::kFmo), hcr::kFmo);
  EXPECT_EQ(hcr_for_partition(kSpsrF) & (hcr::kImo | hcr::kFmo), hcr::kImo);
  // At boot (no host yet) nothing preempts the init.
  EXPECT_EQ(hcr_for_partition(kSpsrEl1hDaifMasked) & (hcr::kImo | hcr::kFmo), 0u);
}

// ISR_EL1 (Arm ARM D19.2.80): A is bit 8, I bit 7, F bit 6. Only a pending SError (the
// host's: it is still in host context) holds the entry back; pending IRQs and FIQs are what
// IMO/FMO preempt with anyway.
TEST(PartitionEntryTest, APendingSErrorDefersTheEntry) {
  EXPECT_TRUE(may_enter_partition(0));
  EXPECT_TRUE(may_enter_partition((1ull << 7) | (1ull << 6)));
  EXPECT_FALSE(may_enter_partition(1ull << 8));
  EXPECT_FALSE(may_enter_partition(0x1c0));
}

TEST(PartitionExitTest, OnlyHvcZeroIsACall) {
  EXPECT_EQ(classify_partition_exit(Esr(Esr::make(ExceptionClass::kHvc64, 0))),
            PartitionExit::kCall);
  EXPECT_EQ(classify_partition_exit(Esr(Esr::make(ExceptionClass::kHvc64, 1))),
            PartitionExit::kAbort);
  // The immediate is ISS[15:0]; higher ISS bits are not an immediate.
  EXPECT_EQ(classify_partition_exit(Esr(Esr::make(ExceptionClass::kHvc64, 0x10000))),
            PartitionExit::kCall);
  for (const ExceptionClass ec :
       {ExceptionClass::kSmc64, ExceptionClass::kDataAbortLowerEl,
        ExceptionClass::kInstructionAbortLowerEl, ExceptionClass::kFpAccess,
        ExceptionClass::kSysReg, ExceptionClass::kWfx, ExceptionClass::kUnknown,
        ExceptionClass::kIllegalState, ExceptionClass::kBrk, ExceptionClass::kSvc64}) {
    EXPECT_EQ(classify_partition_exit(Esr(Esr::make(ec, 0))), PartitionExit::kAbort)
        << static_cast<int>(ec);
  }
}

TEST(PartitionExitTest, TheCoreAnswersHoldToUnpinTheArchAbort) {
  EXPECT_TRUE(is_svm_core_call(HYPHEAP_FN_SVM_HOLD));
  EXPECT_TRUE(is_svm_core_call(HYPHEAP_FN_SVM_RELEASE));
  EXPECT_TRUE(is_svm_core_call(HYPHEAP_FN_SVM_PIN));
  EXPECT_TRUE(is_svm_core_call(HYPHEAP_FN_SVM_UNPIN));
  EXPECT_TRUE(is_svm_core_call(HYPHEAP_FN_SVM_FFA_RETRIEVE));
  EXPECT_TRUE(is_svm_core_call(HYPHEAP_FN_SVM_FFA_RELINQUISH));
  EXPECT_TRUE(is_svm_core_call(HYPHEAP_FN_SVM_FFA_REGION));
  EXPECT_FALSE(is_svm_core_call(HYPHEAP_FN_SVM_FFA_REGION + 1));
  EXPECT_FALSE(is_svm_core_call(HYPHEAP_FN_SVM_ABORT));
  EXPECT_FALSE(is_svm_core_call(HYPHEAP_FN_SVM_HOLD - 1));
  EXPECT_FALSE(is_svm_core_call(HYPHEAP_FN_MEM_ASSIGN));
}

TEST(PartitionExitTest, AbortReasonsNameTheException) {
  EXPECT_STREQ(abort_reason(Esr(Esr::make(ExceptionClass::kDataAbortLowerEl, 0x07))),
               "data abort outside its stage-2");
  EXPECT_STREQ(abort_reason(Esr(Esr::make(ExceptionClass::kFpAccess, 0))), "FP/SIMD access");
  EXPECT_STREQ(abort_reason(Esr(Esr::make(ExceptionClass::kSysReg, 0))), "trapped system register");
  EXPECT_STREQ(abort_reason(Esr(Esr::make(ExceptionClass::kWfx, 0))), "exception");
}

}  // namespace
}  // namespace hyp::arm64
