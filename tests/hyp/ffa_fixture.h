// HypTest plus FF-A helpers: register sets, host and partition calls, the boot of a vCPU to
// FFA_MSG_WAIT, and checks of FFA_ERROR answers.
#pragma once

#include "core/ffa_abi.h"
#include "hyp_fixture.h"

namespace hyp::testing {

inline FfaRegs regs(uint64_t x0, uint64_t x1 = 0, uint64_t x2 = 0, uint64_t x3 = 0, uint64_t x4 = 0,
                    uint64_t x5 = 0, uint64_t x6 = 0, uint64_t x7 = 0) {
  FfaRegs r{};
  r.x[0] = x0;
  r.x[1] = x1;
  r.x[2] = x2;
  r.x[3] = x3;
  r.x[4] = x4;
  r.x[5] = x5;
  r.x[6] = x6;
  r.x[7] = x7;
  return r;
}

class FfaFixture : public HypTest {
 protected:
  // A host call that must answer on the calling CPU (kReturn).
  FfaRegs host(unsigned cpu, uint64_t x0, uint64_t x1 = 0, uint64_t x2 = 0, uint64_t x3 = 0,
               uint64_t x4 = 0, uint64_t x5 = 0) {
    FfaRegs r = regs(x0, x1, x2, x3, x4, x5);
    const FfaOutcome o = hyp_->ffa_host_call(cpu, r);
    EXPECT_EQ(o.next, FfaNext::kReturn);
    expect_invariants();
    return r;
  }

  // vCPU `vcpu` boots and reaches FFA_MSG_WAIT.
  void boot_partition(unsigned vcpu = 0) {
    ASSERT_TRUE(hyp_->ffa_vcpu_booting(vcpu));
    FfaRegs r = regs(ffa::kMsgWait);
    ASSERT_EQ(hyp_->ffa_partition_call(vcpu, vcpu, r).next, FfaNext::kReturnToHost);
    ASSERT_EQ(hyp_->ffa_vcpu_state(vcpu), VcpuState::kWaiting);
  }

  static void expect_error(const FfaRegs& r, int32_t code) {
    EXPECT_EQ(r.x[0], ffa::kError);
    EXPECT_EQ(int32_t(uint32_t(r.x[2])), code);
    EXPECT_EQ(r.x[2] >> 32, 0u);
    EXPECT_EQ(r.x[1], 0u);
    for (unsigned i = 3; i < 18; i++)
      EXPECT_EQ(r.x[i], 0u) << i;
  }

  void expect_invariants() {
    HypTest::expect_invariants();
    uint64_t where = 0;
    const char* err = hyp_->check_ffa_invariants(&where);
    EXPECT_EQ(err, nullptr) << err << " at " << where;
  }
};

}  // namespace hyp::testing
