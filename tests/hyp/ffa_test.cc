// FF-A dispatch and the partition's vCPU state machine (hyp/core/ffa.cc).
#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

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
       {ffa::kVersion,     ffa::kIdGet,       ffa::kFeatures,  ffa::kRxtxMap64,
        ffa::kRxtxMap32,   ffa::kRxtxUnmap,   ffa::kRxRelease, ffa::kPartitionInfoGet,
        ffa::kDirectReq32, ffa::kDirectReq64, ffa::kRun,       ffa::kError,
        ffa::kSuccess32,   ffa::kInterrupt,   ffa::kMemLend64, ffa::kMemShare64,
        ffa::kMemLend32,   ffa::kMemShare32,  ffa::kMemFragTx, ffa::kMemReclaim}) {
    const FfaRegs r = host(0, ffa::kFeatures, f);
    EXPECT_EQ(r.x[0], ffa::kSuccess32) << std::hex << f;
    EXPECT_EQ(r.x[2], 0u);
  }
  // FRAG_RX is the hyp's answer (and a borrower's call), DONATE and RETRIEVE are not served.
  for (const uint32_t f :
       {ffa::kMemFragRx, ffa::kMemDonate32, ffa::kMemRetrieveReq32, ffa::kMemRelinquish,
        ffa::kMsgWait, ffa::kDirectResp32, ffa::kDirectResp64, ffa::kYield, ffa::kSuccess64, 0x1u,
        0x3u, 0x84000000u})
    expect_error(host(0, ffa::kFeatures, f), ffa::kNotSupported);
}

TEST_F(FfaTest, UnknownFfaIdsAnswerFfaErrorNotSupported) {
  for (const uint32_t fid :
       {ffa::kMemDonate32, ffa::kMemRetrieveReq32, ffa::kMemFragRx, ffa::kYield, ffa::kMsgWait,
        ffa::kDirectResp64, ffa::kMsgSend, 0x840000FFu, 0xC40000FFu, 0xC4000063u})
    expect_error(host(0, fid), ffa::kNotSupported);
}

TEST_F(FfaTest, BootRunsTheVcpuToMsgWait) {
  EXPECT_EQ(hyp_->ffa_vcpu_state(0), VcpuState::kOff);
  ASSERT_TRUE(hyp_->ffa_vcpu_booting(0));
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

constexpr uint32_t kReqIds = ffa::pack_ids(HYPHEAP_FFA_ID_HOST, HYPHEAP_FFA_ID_SVM);
constexpr uint32_t kRespIds = ffa::pack_ids(HYPHEAP_FFA_ID_SVM, HYPHEAP_FFA_ID_HOST);

// Every register and vCPU state FF-A keeps, to show a rejection changed nothing.
struct FfaView {
  VcpuState states[Hyp::kMaxCpus];
  bool aborted;
  bool operator==(const FfaView& o) const {
    return aborted == o.aborted && std::equal(states, states + Hyp::kMaxCpus, o.states);
  }
};

class FfaStateTest : public FfaFixture {
 protected:
  FfaView view() const {
    FfaView v{};
    for (unsigned i = 0; i < Hyp::kMaxCpus; i++)
      v.states[i] = hyp_->ffa_vcpu_state(i);
    v.aborted = hyp_->ffa_aborted();
    return v;
  }

  // A host call rejected with `code`: nothing of FF-A or of the stage-2s changed.
  void expect_host_rejects(unsigned cpu, FfaRegs r, int32_t code) {
    const FfaView before = view();
    const Snapshot s2_before = snapshot();
    const FfaOutcome o = hyp_->ffa_host_call(cpu, r);
    EXPECT_EQ(o.next, FfaNext::kReturn);
    expect_error(r, code);
    EXPECT_TRUE(view() == before);
    EXPECT_TRUE(snapshot() == s2_before);
    expect_invariants();
  }
  void expect_partition_rejects(unsigned cpu, unsigned vcpu, FfaRegs r, int32_t code) {
    const FfaView before = view();
    const FfaOutcome o = hyp_->ffa_partition_call(cpu, vcpu, r);
    EXPECT_EQ(o.next, FfaNext::kReturn);
    expect_error(r, code);
    EXPECT_TRUE(view() == before);
    expect_invariants();
  }

  // A direct request on `cpu` that the partition takes.
  FfaRegs request(unsigned cpu, uint64_t fid = ffa::kDirectReq64, uint64_t data0 = 1) {
    FfaRegs r = regs(fid, kReqIds, 0, data0, 2, 3, 4, 5);
    const FfaOutcome o = hyp_->ffa_host_call(cpu, r);
    EXPECT_EQ(o.next, FfaNext::kEnterPartition);
    EXPECT_EQ(o.vcpu, cpu);
    expect_invariants();
    return r;
  }
  FfaRegs respond(unsigned cpu, unsigned vcpu, uint64_t fid = ffa::kDirectResp64) {
    FfaRegs r = regs(fid, kRespIds, 0, 0, 10, 11, 12, 13);
    const FfaOutcome o = hyp_->ffa_partition_call(cpu, vcpu, r);
    EXPECT_EQ(o.next, FfaNext::kReturnToHost);
    expect_invariants();
    return r;
  }
};

TEST_F(FfaStateTest, DirectRequestRejectsBadIdsAndFlags) {
  boot_partition();
  expect_host_rejects(0, regs(ffa::kDirectReq64, ffa::pack_ids(0, HYPHEAP_FFA_ID_SVM)),
                      ffa::kInvalidParameters);
  expect_host_rejects(0, regs(ffa::kDirectReq64, ffa::pack_ids(HYPHEAP_FFA_ID_HOST, 0x800b)),
                      ffa::kInvalidParameters);
  expect_host_rejects(0, regs(ffa::kDirectReq32, kReqIds, 1), ffa::kInvalidParameters);
  expect_host_rejects(0, regs(ffa::kDirectReq64, kReqIds, 1ULL << 31), ffa::kInvalidParameters);
}

TEST_F(FfaStateTest, DirectRequestToAVcpuNotWaitingIsBusy) {
  expect_host_rejects(0, regs(ffa::kDirectReq64, kReqIds), ffa::kBusy);  // OFF
  ASSERT_TRUE(hyp_->ffa_vcpu_booting(0));
  expect_host_rejects(0, regs(ffa::kDirectReq64, kReqIds), ffa::kBusy);  // BOOTING
  FfaRegs w = regs(ffa::kMsgWait);
  ASSERT_EQ(hyp_->ffa_partition_call(0, 0, w).next, FfaNext::kReturnToHost);
  // CPU 1 uses vCPU 1, which never booted, even though vCPU 0 waits.
  expect_host_rejects(1, regs(ffa::kDirectReq64, kReqIds), ffa::kBusy);
  (void)request(0);
  FfaRegs irq{};
  hyp_->ffa_partition_preempted(0, 0, irq);
  expect_host_rejects(0, regs(ffa::kDirectReq64, kReqIds), ffa::kBusy);  // PREEMPTED
}

TEST_F(FfaStateTest, ThirtyTwoBitMessagesCarryWRegistersOnly) {
  boot_partition();
  FfaRegs r =
      regs(ffa::kDirectReq32, (0xabcdULL << 32) | kReqIds, 0, 0x1'0000'0002ULL, ~0ULL, 3, 4, 5);
  ASSERT_EQ(hyp_->ffa_host_call(0, r).next, FfaNext::kEnterPartition);
  EXPECT_EQ(r.x[1], kReqIds);
  EXPECT_EQ(r.x[3], 2u);
  EXPECT_EQ(r.x[4], 0xffffffffu);
  // A response of the other width is refused; the vCPU keeps the request.
  expect_partition_rejects(0, 0, regs(ffa::kDirectResp64, kRespIds), ffa::kInvalidParameters);
  FfaRegs resp = regs(ffa::kDirectResp32, kRespIds, 0, ~0ULL, 0x7'0000'0001ULL, 0, 0, 9);
  ASSERT_EQ(hyp_->ffa_partition_call(0, 0, resp).next, FfaNext::kReturnToHost);
  EXPECT_EQ(resp.x[0], ffa::kDirectResp32);
  EXPECT_EQ(resp.x[3], 0xffffffffu);  // zero-extended: OP-TEE compares data0 == 1
  EXPECT_EQ(resp.x[4], 1u);
  EXPECT_EQ(resp.x[7], 9u);
  EXPECT_EQ(hyp_->ffa_vcpu_state(0), VcpuState::kWaiting);
}

TEST_F(FfaStateTest, ResponseRejectsWrongIdsFlagsAndWidth) {
  boot_partition();
  (void)request(0);
  expect_partition_rejects(0, 0, regs(ffa::kDirectResp64, kReqIds), ffa::kInvalidParameters);
  expect_partition_rejects(0, 0, regs(ffa::kDirectResp64, ffa::pack_ids(HYPHEAP_FFA_ID_SVM, 2)),
                           ffa::kInvalidParameters);
  expect_partition_rejects(0, 0, regs(ffa::kDirectResp64, kRespIds, 4), ffa::kInvalidParameters);
  expect_partition_rejects(0, 0, regs(ffa::kDirectResp32, kRespIds), ffa::kInvalidParameters);
  // MSG_WAIT cannot end a request; other ids are not the partition's.
  expect_partition_rejects(0, 0, regs(ffa::kMsgWait), ffa::kDenied);
  expect_partition_rejects(0, 0, regs(ffa::kRun, 0), ffa::kNotSupported);
  expect_partition_rejects(0, 0, regs(ffa::kDirectReq64, kRespIds), ffa::kNotSupported);
  expect_partition_rejects(0, 0, regs(ffa::kRxtxMap64), ffa::kNotSupported);
  (void)respond(0, 0);
}

// The secure VM's second endpoint (Linux's optee driver binds to it): SMC32 only, and the
// answer must come from the endpoint the request went to.
constexpr uint32_t kOpteeReqIds = ffa::pack_ids(HYPHEAP_FFA_ID_HOST, HYPHEAP_FFA_ID_OPTEE);
constexpr uint32_t kOpteeRespIds = ffa::pack_ids(HYPHEAP_FFA_ID_OPTEE, HYPHEAP_FFA_ID_HOST);

TEST_F(FfaStateTest, OpteeEndpointTakesSmc32RequestsAndAnswersAsItself) {
  boot_partition();
  FfaRegs r = regs(ffa::kDirectReq32, kOpteeReqIds, 0, 0, 0, 0, 0, 0);
  ASSERT_EQ(hyp_->ffa_host_call(0, r).next, FfaNext::kEnterPartition);
  EXPECT_EQ(r.x[0], ffa::kDirectReq32);
  EXPECT_EQ(r.x[1], kOpteeReqIds);  // the vCPU learns which endpoint was asked
  // Not from the other endpoint, nor in the other width: the vCPU keeps the request.
  expect_partition_rejects(0, 0, regs(ffa::kDirectResp32, kRespIds), ffa::kInvalidParameters);
  expect_partition_rejects(0, 0, regs(ffa::kDirectResp64, kOpteeRespIds), ffa::kInvalidParameters);
  FfaRegs resp = regs(ffa::kDirectResp32, kOpteeRespIds, 0, 1, 0, 0, 0, 0);
  ASSERT_EQ(hyp_->ffa_partition_call(0, 0, resp).next, FfaNext::kReturnToHost);
  EXPECT_EQ(resp.x[0], ffa::kDirectResp32);
  EXPECT_EQ(resp.x[1], kOpteeRespIds);
  EXPECT_EQ(resp.x[3], 1u);
  EXPECT_EQ(hyp_->ffa_vcpu_state(0), VcpuState::kWaiting);
  // And the first endpoint's requests are answered by the first endpoint only.
  (void)request(0);
  expect_partition_rejects(0, 0, regs(ffa::kDirectResp64, kOpteeRespIds), ffa::kInvalidParameters);
  (void)respond(0, 0);
}

TEST_F(FfaStateTest, OpteeEndpointRefusesSmc64AndBadIds) {
  boot_partition();
  // OP-TEE's FF-A ABI is w-registers only.
  expect_host_rejects(0, regs(ffa::kDirectReq64, kOpteeReqIds), ffa::kInvalidParameters);
  expect_host_rejects(
      0, regs(ffa::kDirectReq32, ffa::pack_ids(HYPHEAP_FFA_ID_OPTEE, HYPHEAP_FFA_ID_OPTEE)),
      ffa::kInvalidParameters);
  expect_host_rejects(0, regs(ffa::kDirectReq32, ffa::pack_ids(HYPHEAP_FFA_ID_HOST, 0x810b)),
                      ffa::kInvalidParameters);
  expect_host_rejects(0, regs(ffa::kDirectReq32, kOpteeReqIds, 1), ffa::kInvalidParameters);
}

TEST_F(FfaStateTest, PreemptedOpteeRequestResumesAndStillAnswersAsOptee) {
  boot_partition();
  FfaRegs r = regs(ffa::kDirectReq32, kOpteeReqIds, 0, 0x80000000u, 0, 0, 0, 0);
  ASSERT_EQ(hyp_->ffa_host_call(0, r).next, FfaNext::kEnterPartition);
  FfaRegs irq{};
  hyp_->ffa_partition_preempted(0, 0, irq);
  // The vCPU is the VM's, named by its first id; Linux's driver passes w1 back to FFA_RUN.
  EXPECT_EQ(irq.x[0], ffa::kInterrupt);
  EXPECT_EQ(irq.x[1], ffa::pack_ids(HYPHEAP_FFA_ID_SVM, 0));
  FfaRegs run = regs(ffa::kRun, irq.x[1]);
  ASSERT_EQ(hyp_->ffa_host_call(0, run).next, FfaNext::kResumePartition);
  expect_partition_rejects(0, 0, regs(ffa::kDirectResp32, kRespIds), ffa::kInvalidParameters);
  FfaRegs resp = regs(ffa::kDirectResp32, kOpteeRespIds);
  ASSERT_EQ(hyp_->ffa_partition_call(0, 0, resp).next, FfaNext::kReturnToHost);
  EXPECT_EQ(resp.x[1], kOpteeRespIds);
}

TEST_F(FfaStateTest, BootingVcpuMayOnlyWait) {
  ASSERT_TRUE(hyp_->ffa_vcpu_booting(0));
  expect_partition_rejects(0, 0, regs(ffa::kDirectResp64, kRespIds), ffa::kDenied);
  expect_partition_rejects(0, 0, regs(ffa::kRun), ffa::kNotSupported);
  FfaRegs r = regs(ffa::kVersion, ffa::kVersion10);
  EXPECT_EQ(hyp_->ffa_partition_call(0, 0, r).next, FfaNext::kReturn);
  EXPECT_EQ(r.x[0], ffa::kVersionOurs);
  r = regs(ffa::kFeatures, ffa::kMsgWait);
  EXPECT_EQ(hyp_->ffa_partition_call(0, 0, r).next, FfaNext::kReturn);
  EXPECT_EQ(r.x[0], ffa::kSuccess32);
  r = regs(ffa::kFeatures, ffa::kDirectReq64);
  (void)hyp_->ffa_partition_call(0, 0, r);
  expect_error(r, ffa::kNotSupported);
}

TEST_F(FfaStateTest, PreemptedVcpuResumesWithRunFromAnotherCpu) {
  boot_partition(0);
  boot_partition(1);
  (void)request(0);
  FfaRegs host_regs = regs(0x1234, 5, 6, 7);
  hyp_->ffa_partition_preempted(0, 0, host_regs);
  EXPECT_EQ(host_regs.x[0], ffa::kInterrupt);
  EXPECT_EQ(host_regs.x[1], ffa::pack_ids(HYPHEAP_FFA_ID_SVM, 0));
  for (unsigned i = 2; i < 18; i++)
    EXPECT_EQ(host_regs.x[i], 0u);
  EXPECT_EQ(hyp_->ffa_vcpu_state(0), VcpuState::kPreempted);
  expect_invariants();
  // CPU 1's own vCPU takes a request and answers; then the host resumes vCPU 0 from CPU 1.
  (void)request(1);
  (void)respond(1, 1);
  FfaRegs run = regs(ffa::kRun, host_regs.x[1]);
  FfaOutcome o = hyp_->ffa_host_call(1, run);
  ASSERT_EQ(o.next, FfaNext::kResumePartition);
  EXPECT_EQ(o.vcpu, 0u);
  EXPECT_EQ(hyp_->ffa_vcpu_state(0), VcpuState::kRunning);
  expect_invariants();
  // vCPU 0 now runs on CPU 1: it answers from there, and CPU 0's request finds it busy.
  expect_host_rejects(0, regs(ffa::kDirectReq64, kReqIds), ffa::kBusy);
  expect_host_rejects(0, regs(ffa::kRun, host_regs.x[1]), ffa::kBusy);
  const FfaRegs resp = respond(1, 0);
  EXPECT_EQ(resp.x[0], ffa::kDirectResp64);
  EXPECT_EQ(hyp_->ffa_vcpu_state(0), VcpuState::kWaiting);
}

TEST_F(FfaStateTest, RunRejectsWhatItCannotResume) {
  boot_partition();
  const uint32_t vcpu0 = ffa::pack_ids(HYPHEAP_FFA_ID_SVM, 0);
  expect_host_rejects(0, regs(ffa::kRun, vcpu0), ffa::kDenied);  // waiting: nothing to resume
  expect_host_rejects(0, regs(ffa::kRun, ffa::pack_ids(HYPHEAP_FFA_ID_SVM, 1)),
                      ffa::kDenied);  // off
  expect_host_rejects(0, regs(ffa::kRun, ffa::pack_ids(HYPHEAP_FFA_ID_SVM, Hyp::kMaxCpus)),
                      ffa::kInvalidParameters);
  expect_host_rejects(0, regs(ffa::kRun, ffa::pack_ids(HYPHEAP_FFA_ID_HOST, 0)),
                      ffa::kInvalidParameters);
}

TEST_F(FfaStateTest, AbortDropsPinsAndHoldsAndEveryLaterCallIsAborted) {
  ASSERT_EQ(assign(lend(kData, 4 * k4K)), Status::kOk);
  ASSERT_EQ(assign(share(kData + 8 * k4K, k4K)), Status::kOk);
  boot_partition(0);
  boot_partition(1);
  (void)request(0);
  ASSERT_EQ(hyp_->pin(kSvm0, Ipa(kData), 2), Status::kOk);
  ASSERT_EQ(hyp_->hold(kSvm0, Ipa(kData + 2 * k4K), 2, HYPHEAP_SVM_NEED_EXCLUSIVE), Status::kOk);
  ASSERT_EQ(hyp_->hold(kSvm0, Ipa(kData + 8 * k4K), 1, HYPHEAP_SVM_NEED_R), Status::kOk);
  ASSERT_EQ(assign(reclaim(kSvm0.bit(), kData, 4 * k4K)), Status::kBusy);

  FfaRegs host_regs = regs(ffa::kDirectReq64, kReqIds);
  hyp_->ffa_partition_aborted(0, 0, host_regs);
  expect_error(host_regs, ffa::kAborted);
  EXPECT_TRUE(hyp_->ffa_aborted());
  expect_invariants();
  EXPECT_EQ(query(kData, 4).state, uint64_t(HYPHEAP_STATE_EXCLUSIVE));
  // A vCPU still running elsewhere sets nothing new.
  EXPECT_EQ(hyp_->hold(kSvm0, Ipa(kData), 1, 0), Status::kState);
  EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kData), 1), Status::kState);
  // Everything comes back, lent pages scrubbed.
  std::memset(mem(kData), 0x5a, k4K);
  ASSERT_EQ(assign(reclaim(kSvm0.bit(), kData, 4 * k4K)), Status::kOk);
  EXPECT_EQ(mem(kData)[0], 0);
  ASSERT_EQ(assign(reclaim(kVmidHost.bit() | kSvm0.bit(), kData + 8 * k4K, k4K)), Status::kOk);

  expect_host_rejects(0, regs(ffa::kDirectReq64, kReqIds), ffa::kAborted);
  expect_host_rejects(1, regs(ffa::kDirectReq32, kReqIds), ffa::kAborted);
  expect_host_rejects(1, regs(ffa::kRun, ffa::pack_ids(HYPHEAP_FFA_ID_SVM, 0)), ffa::kAborted);
  // Discovery still works: the partition exists, it just answers nothing.
  EXPECT_EQ(host(0, ffa::kIdGet).x[0], ffa::kSuccess32);
}

TEST_F(FfaStateTest, AbortWhileAnotherVcpuRunsEndsThatCallAbortedToo) {
  boot_partition(0);
  boot_partition(1);
  (void)request(0);
  (void)request(1);
  FfaRegs host0{};
  hyp_->ffa_partition_aborted(0, 0, host0);
  expect_error(host0, ffa::kAborted);
  // vCPU 1's response reaches the host as ABORTED, not as an answer.
  FfaRegs r = regs(ffa::kDirectResp64, kRespIds, 0, 1);
  ASSERT_EQ(hyp_->ffa_partition_call(1, 1, r).next, FfaNext::kReturnToHost);
  expect_error(r, ffa::kAborted);
  expect_invariants();
}

TEST_F(FfaStateTest, PreemptionAfterAnAbortElsewhereReturnsAborted) {
  boot_partition(0);
  boot_partition(1);
  (void)request(0);
  (void)request(1);
  FfaRegs host1{};
  hyp_->ffa_partition_preempted(1, 1, host1);  // vCPU 1 preempted before the abort
  FfaRegs host0{};
  hyp_->ffa_partition_aborted(0, 0, host0);
  expect_host_rejects(1, regs(ffa::kRun, host1.x[1]), ffa::kAborted);
}

TEST_F(FfaStateTest, AbortDuringBootStillAbortsThePartition) {
  ASSERT_TRUE(hyp_->ffa_vcpu_booting(0));
  FfaRegs r{};
  hyp_->ffa_partition_aborted(0, 0, r);
  expect_error(r, ffa::kAborted);
  expect_host_rejects(0, regs(ffa::kDirectReq64, kReqIds), ffa::kAborted);
}

using FfaDeathTest = FfaStateTest;

// The arch's side of the contract: breaking it is a bug in the hyp, never the host's doing.
TEST_F(FfaDeathTest, ArchContractBreachesAreFatal) {
  FfaRegs r{};
  EXPECT_DEATH(hyp_->ffa_partition_preempted(0, 0, r), "not running there");
  EXPECT_DEATH(hyp_->ffa_host_call(Hyp::kMaxCpus, r), "cpu index");
  boot_partition();
  EXPECT_DEATH((void)hyp_->ffa_vcpu_booting(0), "booted twice");
  r = regs(ffa::kDirectResp64, kRespIds);
  EXPECT_DEATH(hyp_->ffa_partition_call(0, 0, r), "not running there");
}

// Two CPUs in and out of the partition at once, each with its own vCPU, while a third
// thread maps and unmaps the mailbox: the state lock and the host lock keep them apart.
TEST_F(FfaStateTest, TwoCpusCallTheirVcpusConcurrently) {
  boot_partition(0);
  boot_partition(1);
  std::atomic<int> failures{0};
  auto cpu_loop = [&](unsigned cpu) {
    for (int i = 0; i < 2000; i++) {
      FfaRegs r = regs(i % 2 ? ffa::kDirectReq32 : ffa::kDirectReq64, kReqIds, 0, i);
      if (hyp_->ffa_host_call(cpu, r).next != FfaNext::kEnterPartition)
        failures++;
      if (i % 3 == 0) {
        FfaRegs h{};
        hyp_->ffa_partition_preempted(cpu, cpu, h);
        r = regs(ffa::kRun, h.x[1]);
        if (hyp_->ffa_host_call(cpu, r).next != FfaNext::kResumePartition)
          failures++;
      }
      r = regs(i % 2 ? ffa::kDirectResp32 : ffa::kDirectResp64, kRespIds, 0, i);
      if (hyp_->ffa_partition_call(cpu, cpu, r).next != FfaNext::kReturnToHost ||
          r.x[3] != uint64_t(i))
        failures++;
    }
  };
  std::thread a(cpu_loop, 0), b(cpu_loop, 1);
  std::thread c([&] {
    for (int i = 0; i < 200; i++) {
      FfaRegs r = regs(ffa::kRxtxMap64, kDescPa, kDescPa + k4K, 1);
      (void)hyp_->ffa_host_call(2, r);
      r = regs(ffa::kRxtxUnmap);
      (void)hyp_->ffa_host_call(2, r);
    }
  });
  a.join();
  b.join();
  c.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(hyp_->ffa_vcpu_state(0), VcpuState::kWaiting);
  EXPECT_EQ(hyp_->ffa_vcpu_state(1), VcpuState::kWaiting);
  expect_invariants();
}

// vCPU 1 runs a DECRYPT on CPU 1 (the host called with its interrupts masked, so nothing
// preempts it) and holds its destination when the partition aborts on CPU 0. Dropping that
// hold at once would let the host reclaim the page (scrubbed) and share it straight back,
// read-write for the secure VM, before vCPU 1's loop reaches it: vCPU 1's plaintext would
// land in a page the host reads. The marks stay until the last vCPU still in the partition
// leaves it.
TEST_F(FfaStateTest, AbortKeepsEveryMarkWhileAnotherVcpuStillRuns) {
  ASSERT_EQ(assign(lend(kData, 4 * k4K)), Status::kOk);
  boot_partition(0);
  boot_partition(1);
  (void)request(0);
  (void)request(1);
  ASSERT_EQ(hyp_->hold(kSvm0, Ipa(kData), 4, HYPHEAP_SVM_NEED_W | HYPHEAP_SVM_NEED_EXCLUSIVE),
            Status::kOk);
  FfaRegs host0{};
  hyp_->ffa_partition_aborted(0, 0, host0);
  ASSERT_EQ(hyp_->ffa_vcpu_state(1), VcpuState::kRunning) << "vCPU 1 still runs on CPU 1";
  EXPECT_EQ(assign(reclaim(kSvm0.bit(), kData, 4 * k4K)), Status::kBusy)
      << "a page a running vCPU holds came back to the host";
  const auto rw_share = DescBuilder()
                            .src(kVmidHost.bit())
                            .dest(kVmidHost, HYPHEAP_PERM_RWX)
                            .dest(kSvm0, kRw)
                            .range(kData, 4 * k4K);
  EXPECT_NE(assign(rw_share), Status::kOk)
      << "the running vCPU's destination is now host-readable and writable by it";
  expect_invariants();
}

// The same, then vCPU 1 leaves by each way out: the last one out drops the marks, and the host
// gets its pages back (scrubbed) at once.
class AbortElsewhereTest : public FfaStateTest {
 protected:
  // vCPUs 0 and 1 serve requests, vCPU 1 holds the lent page, vCPU 0 faults.
  void abort_while_vcpu1_holds() {
    ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
    boot_partition(0);
    boot_partition(1);
    (void)request(0);
    (void)request(1);
    ASSERT_EQ(hyp_->hold(kSvm0, Ipa(kData), 1, HYPHEAP_SVM_NEED_W), Status::kOk);
    FfaRegs host0{};
    hyp_->ffa_partition_aborted(0, 0, host0);
    expect_error(host0, ffa::kAborted);
    ASSERT_EQ(assign(reclaim(kSvm0.bit(), kData, k4K)), Status::kBusy);
    // Nothing new is marked meanwhile, but what it holds it may still give back.
    EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kData), 1), Status::kState);
    std::memset(mem(kData), 0x5a, k4K);
  }
  void expect_marks_dropped() {
    EXPECT_EQ(hyp_->ffa_vcpu_state(1), VcpuState::kOff);
    expect_invariants();
    ASSERT_EQ(assign(reclaim(kSvm0.bit(), kData, k4K)), Status::kOk);
    EXPECT_EQ(mem(kData)[0], 0);
  }
};

TEST_F(AbortElsewhereTest, ItsNextCallAnswersAbortedAndDropsTheMarks) {
  abort_while_vcpu1_holds();
  FfaRegs r = regs(ffa::kDirectResp64, kRespIds, 0, 1);
  ASSERT_EQ(hyp_->ffa_partition_call(1, 1, r).next, FfaNext::kReturnToHost);
  expect_error(r, ffa::kAborted);
  expect_marks_dropped();
}

TEST_F(AbortElsewhereTest, ItsPreemptionAnswersAbortedAndDropsTheMarks) {
  abort_while_vcpu1_holds();
  FfaRegs host1{};
  hyp_->ffa_partition_preempted(1, 1, host1);
  expect_error(host1, ffa::kAborted);
  expect_marks_dropped();
}

TEST_F(AbortElsewhereTest, ItsOwnFaultDropsTheMarks) {
  abort_while_vcpu1_holds();
  FfaRegs host1{};
  hyp_->ffa_partition_aborted(1, 1, host1);
  expect_error(host1, ffa::kAborted);
  expect_marks_dropped();
}

TEST_F(AbortElsewhereTest, OnlyTheLastVcpuOutDropsTheMarks) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  for (unsigned v = 0; v < 3; v++) {
    boot_partition(v);
    (void)request(v);
  }
  ASSERT_EQ(hyp_->hold(kSvm0, Ipa(kData), 1, HYPHEAP_SVM_NEED_W), Status::kOk);
  FfaRegs h{};
  hyp_->ffa_partition_aborted(0, 0, h);
  hyp_->ffa_partition_preempted(2, 2, h);
  expect_error(h, ffa::kAborted);
  EXPECT_EQ(assign(reclaim(kSvm0.bit(), kData, k4K)), Status::kBusy) << "vCPU 1 still runs";
  expect_invariants();
  FfaRegs r = regs(ffa::kMsgWait);  // refused in place (DENIED) while the partition is up
  ASSERT_EQ(hyp_->ffa_partition_call(1, 1, r).next, FfaNext::kReturnToHost);
  expect_error(r, ffa::kAborted);
  expect_marks_dropped();
}

// A vCPU booting on another CPU is in the partition too: it keeps the marks until its
// MSG_WAIT, which then answers ABORTED and leaves it OFF (it takes no request, ever).
TEST_F(AbortElsewhereTest, ABootingVcpuKeepsTheMarksUntilItsMsgWait) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  boot_partition(0);
  (void)request(0);
  ASSERT_EQ(hyp_->hold(kSvm0, Ipa(kData), 1, HYPHEAP_SVM_NEED_R), Status::kOk);
  ASSERT_TRUE(hyp_->ffa_vcpu_booting(1));
  FfaRegs h{};
  hyp_->ffa_partition_aborted(0, 0, h);
  EXPECT_EQ(assign(reclaim(kSvm0.bit(), kData, k4K)), Status::kBusy);
  expect_invariants();
  FfaRegs r = regs(ffa::kMsgWait);
  ASSERT_EQ(hyp_->ffa_partition_call(1, 1, r).next, FfaNext::kReturnToHost);
  expect_error(r, ffa::kAborted);
  expect_marks_dropped();
  expect_host_rejects(1, regs(ffa::kDirectReq64, kReqIds), ffa::kAborted);
}

// The arch checks g_svm.aborted, then calls ffa_vcpu_booting(); an abort on another CPU in
// between (its FAULT op, or an SError) must not stop the machine: the host chooses when
// CPU 1 first starts (PSCI CPU_ON). The core refuses the boot instead.
TEST_F(FfaDeathTest, BootingRightAfterAnAbortElsewhereIsRefusedNotFatal) {
  boot_partition(0);
  (void)request(0);
  FfaRegs host0{};
  hyp_->ffa_partition_aborted(0, 0, host0);
  EXPECT_EXIT(
      {
        const bool booted = hyp_->ffa_vcpu_booting(1);
        std::exit(booted ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_FALSE(hyp_->ffa_vcpu_booting(1));
  EXPECT_EQ(hyp_->ffa_vcpu_state(1), VcpuState::kOff);
  expect_invariants();
}

}  // namespace
}  // namespace hyp::testing
