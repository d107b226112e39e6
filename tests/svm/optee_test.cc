// The OP-TEE face (hyp/svm/optee.cc) against the FakeEnv: the answers Linux 6.1's optee
// driver probes with, the "no such TA" written into a shared argument page, and every
// refusal with its own answer, leaving RAM and the holds as they were.
#include "svm/optee.h"

#include <gtest/gtest.h>

#include <functional>
#include <utility>
#include <vector>

#include "fake_env.h"

namespace hyp::svm::testing {
namespace {

using namespace optee;

constexpr uint64_t kHandle = 0x8000'0000'0000'0105;
constexpr uint64_t kArg = kBase + k4K;  // the argument page the host shares

uint32_t word(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

class OpteeTest : public ::testing::Test {
 protected:
  OpteeTest() : env_(4) {
    env_.set(kArg, 1, Kind::kShared);
    env_.ffa_share(kHandle, HYPHEAP_FFA_ID_OPTEE, kArg, 1);
  }

  // w3..w7 of a request; the face must leave no hold and no violation behind.
  Message call(uint64_t w3, uint64_t w4 = 0, uint64_t w5 = 0, uint64_t w6 = 0, uint64_t w7 = 0) {
    const Message m = optee_dispatch(env_, Message{{w3, w4, w5, w6, w7}});
    EXPECT_TRUE(env_.violations().empty()) << env_.violations().front();
    EXPECT_EQ(env_.nr_held(), 0u);
    return m;
  }
  Message call_with_arg(uint64_t handle = kHandle, uint64_t w6 = 0, uint64_t w7 = 0) {
    return call(kCallWithArg, uint32_t(handle), handle >> 32, w6, w7);
  }
  // An optee_msg_arg as the driver's arg cache leaves it: zeroed, then cmd and num_params.
  void put_arg(uint32_t cmd, uint32_t num_params) {
    std::memset(env_.at(kArg), 0, k4K);
    std::memcpy(env_.at(kArg) + kArgCmd, &cmd, 4);
    std::memcpy(env_.at(kArg) + kArgNumParams, &num_params, 4);
  }
  // A refusal in w3 that touched no byte of RAM.
  void expect_refused(uint64_t w3, uint64_t w4, uint64_t w5, uint64_t w6, uint64_t w7,
                      uint32_t code) {
    const std::vector<uint8_t> before = env_.ram();
    const Message m = call(w3, w4, w5, w6, w7);
    EXPECT_EQ(m.data[0], code) << std::hex << w3;
    for (int i = 1; i < 5; i++)
      EXPECT_EQ(m.data[i], 0u);
    EXPECT_EQ(env_.ram(), before);
  }

  FakeEnv env_;
};

// ../shared/reference/ffa.md 4: what optee_ffa_probe() asks, in order.
TEST_F(OpteeTest, ProbeAnswers) {
  Message m = call(kGetApiVersion);
  EXPECT_EQ(m.data[0], 1u);  // the driver requires major 1, minor >= 0
  EXPECT_EQ(m.data[1], 0u);
  m = call(kGetOsVersion);
  EXPECT_EQ(m.data[0], HYPHEAP_SVM_VERSION >> 16);
  EXPECT_EQ(m.data[1], HYPHEAP_SVM_VERSION & 0xffff);
  EXPECT_EQ(m.data[2], 0u);
  m = call(kExchangeCapabilities);
  EXPECT_EQ(m.data[0], 0u);  // anything else fails the probe
  EXPECT_EQ(m.data[1], 0u);  // no RPC parameters: it never makes an RPC
  EXPECT_EQ(m.data[2], 0u);  // no ARG_OFFSET: every argument starts its page
  EXPECT_EQ(env_.log(), "") << "the blocking calls need nothing of the hyp";
}

// The device enumeration's OPEN_SESSION of the PTA: "not found", which the driver takes for
// "no devices" (probe succeeds). Never BUSY, on which it would wait forever.
TEST_F(OpteeTest, OpenSessionIsItemNotFoundWrittenIntoTheArgument) {
  put_arg(kMsgOpenSession, 2);
  env_.at(kArg)[32] = 0x5a;  // the params are left alone
  const Message m = call_with_arg();
  EXPECT_EQ(m.data[0], kTeecSuccess);
  EXPECT_EQ(m.data[1], kReturnDone);
  EXPECT_EQ(word(env_.at(kArg) + kArgRet), kTeecItemNotFound);
  EXPECT_EQ(word(env_.at(kArg) + kArgRetOrigin), kOriginTee);
  EXPECT_NE(word(env_.at(kArg) + kArgRet), kTeecBusy);
  EXPECT_EQ(word(env_.at(kArg) + kArgCmd), kMsgOpenSession);
  EXPECT_EQ(env_.at(kArg)[32], 0x5a);
  EXPECT_TRUE(env_.was_held_for_write(kArg));
  EXPECT_EQ(env_.log(),
            "region(0x8000000000000105,0x810a) hold(0x80001000,1,10) "
            "region(0x8000000000000105,0x810a) release(0x80001000,1,0) ");
}

TEST_F(OpteeTest, OtherMessagesGetTheirResultInTheArgument) {
  const struct {
    uint32_t cmd, num_params, ret;
  } cases[] = {
      {kMsgOpenSession, 0, kTeecBadParameters},  // no meta parameters
      {kMsgOpenSession, 1, kTeecBadParameters},
      {kMsgOpenSession, 128, kTeecBadParameters},  // more than a page holds
      {kMsgInvoke, 4, kTeecBadParameters},         // no session exists
      {kMsgCloseSession, 0, kTeecBadParameters},
      {3, 0, kTeecNotSupported},  // CANCEL
      {4, 1, kTeecNotSupported},  // REGISTER_SHM
      {0xffffffff, 0, kTeecNotSupported},
  };
  for (const auto& c : cases) {
    put_arg(c.cmd, c.num_params);
    const Message m = call_with_arg();
    EXPECT_EQ(m.data[0], kTeecSuccess);
    EXPECT_EQ(m.data[1], kReturnDone);
    EXPECT_EQ(word(env_.at(kArg) + kArgRet), c.ret) << c.cmd << " " << c.num_params;
  }
}

TEST_F(OpteeTest, CallWithArgRefusalsTouchNothing) {
  put_arg(kMsgOpenSession, 2);
  // An offset (the face offers no ARG_OFFSET), w7 MBZ.
  expect_refused(kCallWithArg, uint32_t(kHandle), kHandle >> 32, 0x40, 0, kFfaInvalidParameters);
  expect_refused(kCallWithArg, uint32_t(kHandle), kHandle >> 32, k4K, 0, kFfaInvalidParameters);
  expect_refused(kCallWithArg, uint32_t(kHandle), kHandle >> 32, 0, 1, kFfaInvalidParameters);
  // A handle never issued, or one issued to the other endpoint.
  expect_refused(kCallWithArg, uint32_t(kHandle) + 1, kHandle >> 32, 0, 0, kFfaInvalidParameters);
  env_.ffa_share(0x77, HYPHEAP_FFA_ID_SVM, kArg, 1);
  expect_refused(kCallWithArg, 0x77, 0, 0, 0, kFfaInvalidParameters);
  // Only w4/w5's low halves name the handle (SMC32).
  expect_refused(kCallWithArg, uint32_t(kHandle) | 1ULL << 32, 0, 0, 0, kFfaInvalidParameters);
  // A region the hyp names but the face cannot hold (no longer mapped, or read-only).
  env_.ffa_share(0x78, HYPHEAP_FFA_ID_OPTEE, kBase + 2 * k4K, 1);
  expect_refused(kCallWithArg, 0x78, 0, 0, 0, kFfaInvalidParameters);
  env_.set(kBase + 2 * k4K, 1, Kind::kShared, false);
  expect_refused(kCallWithArg, 0x78, 0, 0, 0, kFfaInvalidParameters);
  // A lent page is not the host's argument: the face writes only where the host can read.
  env_.set(kBase + 2 * k4K, 1, Kind::kLent);
  expect_refused(kCallWithArg, 0x78, 0, 0, 0, kFfaInvalidParameters);
}

// Another call on the same page (two CPUs, one argument): refused, not raced with, and not
// answered BUSY (the driver would wait for a completion no one sends).
TEST_F(OpteeTest, AnArgumentInUseIsDenied) {
  put_arg(kMsgOpenSession, 2);
  env_.inject(1, HYPHEAP_ERR_BUSY);  // the hold, after the region lookup
  const std::vector<uint8_t> before = env_.ram();
  const Message m = call_with_arg();
  EXPECT_EQ(m.data[0], kFfaDenied);
  EXPECT_NE(m.data[0], kTeecBusy);
  EXPECT_EQ(env_.ram(), before);
}

TEST_F(OpteeTest, ABrokenReleaseIsNeverASuccess) {
  put_arg(kMsgOpenSession, 2);
  env_.inject(3, HYPHEAP_ERR_STATE);  // region, hold, region again, then the release
  const Message m =
      optee_dispatch(env_, Message{{kCallWithArg, uint32_t(kHandle), kHandle >> 32, 0, 0}});
  EXPECT_EQ(m.data[0], kFfaDenied);
  env_.reset_call_state();
}

TEST_F(OpteeTest, UnregisterShmNamesALiveShareOnly) {
  Message m = call(kUnregisterShm, uint32_t(kHandle), kHandle >> 32);
  EXPECT_EQ(m.data[0], 0u);
  // Nothing kept, nothing dropped: the hyp's record is the only one (reclaim follows).
  EXPECT_EQ(env_.log(), "region(0x8000000000000105,0x810a) ");
  expect_refused(kUnregisterShm, uint32_t(kHandle), kHandle >> 32, 1, 0, kFfaInvalidParameters);
  expect_refused(kUnregisterShm, uint32_t(kHandle), kHandle >> 32, 0, 1, kFfaInvalidParameters);
  expect_refused(kUnregisterShm, 0x1234, 0, 0, 0, kFfaInvalidParameters);
  env_.ffa_reclaim(kHandle);
  expect_refused(kUnregisterShm, uint32_t(kHandle), kHandle >> 32, 0, 0, kFfaInvalidParameters);
}

TEST_F(OpteeTest, UnknownFunctionsAndMustBeZeroWords) {
  // Blocking calls that do not exist, or with arguments where none are defined: OP-TEE's own
  // answer, a TEE Client API BAD_PARAMETERS in w3.
  for (const uint64_t fn : {uint64_t{4}, uint64_t{5}, uint64_t{0x7fffffff}})
    expect_refused(fn, 0, 0, 0, 0, kTeecBadParameters);
  for (const uint64_t fn : {kGetApiVersion, kGetOsVersion, kExchangeCapabilities}) {
    expect_refused(fn, 1, 0, 0, 0, kTeecBadParameters);
    expect_refused(fn, 0, 0, 0, 1, kTeecBadParameters);
  }
  // Yielding calls: RESUME (there never was an RPC to resume) and ids that do not exist.
  expect_refused(kResume, 0, 0, 0, 0, kFfaInvalidParameters);
  expect_refused(kResume, 0, 0, 0, 0x1234, kFfaInvalidParameters);
  expect_refused(kYielding | 2, 0, 0, 0, 0, kFfaNotSupported);
  expect_refused(0xffffffff, 0, 0, 0, 0, kFfaNotSupported);
  EXPECT_EQ(env_.log(), "");
}

// The host reclaims the argument on another CPU between the face's lookup and its hold, and
// shares the same page to VM 10 again: the hold then succeeds on a page that is no longer
// H's. Asked again once the page is held (a held page cannot be reclaimed), the hyp no
// longer names it for H, and the face refuses with RAM and the holds as they were.
TEST_F(OpteeTest, AnArgumentReclaimedAndResharedBeforeTheHoldIsRefused) {
  constexpr uint64_t kOther = 0x8000'0000'0000'0206;
  const std::function<void()> races[] = {
      [&] {  // to the services' endpoint, RW
        env_.ffa_reclaim(kHandle);
        env_.ffa_share(kOther, HYPHEAP_FFA_ID_SVM, kArg, 1);
      },
      [&] {  // to the face again: the driver's next argument, under another handle
        env_.ffa_reclaim(kHandle);
        env_.ffa_share(kOther, HYPHEAP_FFA_ID_OPTEE, kArg, 1);
      },
      [&] {  // H now starts elsewhere (not the hyp's handles: the fake's, for the comparison)
        env_.ffa_share(kHandle, HYPHEAP_FFA_ID_OPTEE, kBase + 2 * k4K, 1);
      },
  };
  for (const auto& race : races) {
    env_.ffa_reclaim(kOther);
    env_.ffa_share(kHandle, HYPHEAP_FFA_ID_OPTEE, kArg, 1);
    put_arg(kMsgOpenSession, 2);
    bool first = true;
    env_.on_region = [&](uint64_t) {
      if (std::exchange(first, false))
        race();
    };
    const std::vector<uint8_t> before = env_.ram();
    const size_t holds = env_.nr_holds();
    const Message m = call_with_arg();  // no hold left, no violation
    env_.on_region = nullptr;
    EXPECT_EQ(m.data[0], kFfaInvalidParameters);
    EXPECT_EQ(m.data[1], 0u);
    EXPECT_EQ(env_.ram(), before);
    EXPECT_EQ(env_.nr_holds(), holds + 1) << "the race is after the hold's lookup";
    EXPECT_EQ(env_.nr_held(), 0u);
  }
}

}  // namespace
}  // namespace hyp::svm::testing
