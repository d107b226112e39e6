// FF-A dispatch and the partition's vCPU state machine (hyp/core/ffa.cc).
#include "ffa_fixture.h"

namespace hyp::testing {
namespace {

using FfaTest = FfaFixture;

TEST_F(FfaTest, VersionAnswersOursAndRemembersTheCallers) {
  FfaRegs r = host(0, ffa::kVersion, ffa::kVersion10);
  EXPECT_EQ(r.x[0], ffa::kVersion11);
  for (unsigned i = 1; i < 18; i++)
    EXPECT_EQ(r.x[i], 0u) << i;
  r = host(0, ffa::kVersion, ffa::make_version(1, 7));
  EXPECT_EQ(r.x[0], ffa::kVersion11);
}

TEST_F(FfaTest, VersionRefusesBit31AndOtherMajorsWithBareNotSupported) {
  for (const uint64_t v : {uint64_t(0x80010000), uint64_t(0x20000), uint64_t(0xffff)}) {
    const FfaRegs r = host(0, ffa::kVersion, v);
    EXPECT_EQ(r.x[0], ~0ULL) << std::hex << v;
  }
}

TEST_F(FfaTest, IdGetNamesEachSide) {
  FfaRegs r = host(0, ffa::kIdGet);
  EXPECT_EQ(r.x[0], ffa::kSuccess32);
  EXPECT_EQ(r.x[2], HYPHEAP_FFA_ID_HOST);
  boot_partition();
  r = regs(ffa::kIdGet);
  (void)hyp_->ffa_partition_call(0, 0, r);
  EXPECT_EQ(r.x[0], ffa::kSuccess32);
  EXPECT_EQ(r.x[2], HYPHEAP_FFA_ID_SVM);
}

TEST_F(FfaTest, FeaturesSucceedForWhatIsImplementedOnly) {
  for (const uint32_t f :
       {ffa::kVersion, ffa::kIdGet, ffa::kFeatures, ffa::kRxtxMap64, ffa::kRxtxMap32,
        ffa::kRxtxUnmap, ffa::kRxRelease, ffa::kPartitionInfoGet, ffa::kDirectReq32,
        ffa::kDirectReq64, ffa::kRun, ffa::kError, ffa::kSuccess32, ffa::kInterrupt}) {
    const FfaRegs r = host(0, ffa::kFeatures, f);
    EXPECT_EQ(r.x[0], ffa::kSuccess32) << std::hex << f;
    EXPECT_EQ(r.x[2], 0u);
  }
  // MEM_LEND/SHARE belong to issue 11; Linux then uses the SMC32 ids for nothing.
  for (const uint32_t f : {ffa::kMemLend64, ffa::kMemShare64, ffa::kMemLend32, ffa::kMemShare32,
                           ffa::kMsgWait, ffa::kDirectResp32, ffa::kDirectResp64, ffa::kYield,
                           ffa::kSuccess64, 0x1u, 0x3u, 0x84000000u})
    expect_error(host(0, ffa::kFeatures, f), ffa::kNotSupported);
}

TEST_F(FfaTest, UnknownFfaIdsAnswerFfaErrorNotSupported) {
  for (const uint32_t fid :
       {ffa::kMemLend64, ffa::kMemShare32, ffa::kMemReclaim, ffa::kYield, ffa::kMsgWait,
        ffa::kDirectResp64, ffa::kMsgSend, 0x840000FFu, 0xC40000FFu, 0xC4000063u})
    expect_error(host(0, fid), ffa::kNotSupported);
}

TEST_F(FfaTest, BootRunsTheVcpuToMsgWait) {
  EXPECT_EQ(hyp_->ffa_vcpu_state(0), VcpuState::kOff);
  hyp_->ffa_vcpu_booting(0);
  EXPECT_EQ(hyp_->ffa_vcpu_state(0), VcpuState::kBooting);
  FfaRegs r = regs(ffa::kMsgWait);
  const FfaOutcome o = hyp_->ffa_partition_call(0, 0, r);
  EXPECT_EQ(o.next, FfaNext::kReturnToHost);
  EXPECT_EQ(hyp_->ffa_vcpu_state(0), VcpuState::kWaiting);
  expect_invariants();
}

TEST_F(FfaTest, DirectRequestEntersTheVcpuOfThisCpuAndTheResponseReturns) {
  boot_partition();
  FfaRegs r = regs(ffa::kDirectReq64, ffa::pack_ids(HYPHEAP_FFA_ID_HOST, HYPHEAP_FFA_ID_SVM), 0,
                   0x1111, 0x2222, 0x3333, 0x4444, 0x5555);
  r.x[9] = 0xdead;  // nothing past x7 crosses
  FfaOutcome o = hyp_->ffa_host_call(0, r);
  ASSERT_EQ(o.next, FfaNext::kEnterPartition);
  EXPECT_EQ(o.vcpu, 0u);
  EXPECT_EQ(r.x[0], ffa::kDirectReq64);
  EXPECT_EQ(r.x[3], 0x1111u);
  EXPECT_EQ(r.x[7], 0x5555u);
  EXPECT_EQ(r.x[9], 0u);
  EXPECT_EQ(hyp_->ffa_vcpu_state(0), VcpuState::kRunning);
  expect_invariants();

  FfaRegs resp = regs(ffa::kDirectResp64, ffa::pack_ids(HYPHEAP_FFA_ID_SVM, HYPHEAP_FFA_ID_HOST), 0,
                      7, 8, 9, 10, 11);
  o = hyp_->ffa_partition_call(0, 0, resp);
  EXPECT_EQ(o.next, FfaNext::kReturnToHost);
  EXPECT_EQ(resp.x[0], ffa::kDirectResp64);
  EXPECT_EQ(resp.x[1], ffa::pack_ids(HYPHEAP_FFA_ID_SVM, HYPHEAP_FFA_ID_HOST));
  EXPECT_EQ(resp.x[3], 7u);
  EXPECT_EQ(resp.x[7], 11u);
  EXPECT_EQ(hyp_->ffa_vcpu_state(0), VcpuState::kWaiting);
}

}  // namespace
}  // namespace hyp::testing
