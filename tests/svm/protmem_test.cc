// The protected-memory services (hyp/svm/protmem.cc) through dispatch() against the FakeEnv:
// CONFIG's answer, ASSIGN and RELEASE of FF-A lends, and every refusal with its own status,
// each leaving the hyp's record of the lend as it was.
#include "svm/protmem.h"

#include <gtest/gtest.h>

#include "fake_env.h"
#include "svm/services.h"

namespace hyp::svm::testing {
namespace {

constexpr uint64_t kHandle = 0x1234'0000'0001;
constexpr uint64_t kOther = 0x1234'0000'0002;

int64_t status(const Message& m) {
  return int64_t(m.data[0]);
}

class ProtmemTest : public ::testing::Test {
 protected:
  ProtmemTest() : env_(4) { env_.ffa_lend(kHandle); }

  Message call(uint64_t op, uint64_t d1 = 0, uint64_t d2 = 0, uint64_t d3 = 0, uint64_t d4 = 0) {
    const Message m =
        dispatch(env_, config_, shared_, HYPHEAP_FFA_ID_HOST, Message{{op, d1, d2, d3, d4}});
    EXPECT_TRUE(env_.violations().empty()) << env_.violations().front();
    EXPECT_EQ(env_.nr_held(), 0u);
    if (status(m) != HYPHEAP_SVM_OK) {
      for (int i = 1; i < 5; i++)
        EXPECT_EQ(m.data[i], 0u) << "a refusal carries no result";
    }
    return m;
  }
  Message assign(uint64_t handle, uint64_t use = HYPHEAP_PROTMEM_USE_SECURE_VIDEO) {
    return call(HYPHEAP_SVM_OP_PROTMEM_ASSIGN, handle, use);
  }
  Message release(uint64_t handle) { return call(HYPHEAP_SVM_OP_PROTMEM_RELEASE, handle); }

  FakeEnv env_;
  Config config_;
  Shared shared_;
};

TEST_F(ProtmemTest, ConfigNamesTheBlockAndTheReceiver) {
  for (uint64_t use : {HYPHEAP_PROTMEM_USE_SECURE_VIDEO, HYPHEAP_PROTMEM_USE_SECURE_VIDEO_RECORD}) {
    const Message m = call(HYPHEAP_SVM_OP_PROTMEM_CONFIG, use);
    ASSERT_EQ(status(m), HYPHEAP_SVM_OK);
    EXPECT_EQ(m.data[1], HYPHEAP_PROTMEM_MIN_SIZE);
    EXPECT_EQ(m.data[2], HYPHEAP_PROTMEM_ALIGN);
    EXPECT_EQ(m.data[3], 1u);
    EXPECT_EQ(m.data[4] & 0xffff, HYPHEAP_FFA_ID_SVM);
    EXPECT_EQ(m.data[4] >> 16, HYPHEAP_PROTMEM_PERM_RW);
  }
  EXPECT_EQ(env_.log(), "") << "CONFIG calls nothing";
}

TEST_F(ProtmemTest, ConfigRefusesOtherUseCasesAndReservedWords) {
  for (uint64_t use : {uint64_t{0}, uint64_t{HYPHEAP_PROTMEM_USE_TRUSTED_UI}, uint64_t{4},
                       ~uint64_t{0}, uint64_t{1} << 32 | HYPHEAP_PROTMEM_USE_SECURE_VIDEO})
    EXPECT_EQ(status(call(HYPHEAP_SVM_OP_PROTMEM_CONFIG, use)), HYPHEAP_SVM_ERR_PROTMEM_USE_CASE)
        << use;
  for (int word = 2; word < 5; word++) {
    uint64_t d[5] = {HYPHEAP_SVM_OP_PROTMEM_CONFIG, HYPHEAP_PROTMEM_USE_SECURE_VIDEO, 0, 0, 0};
    d[word] = 1;
    EXPECT_EQ(status(call(d[0], d[1], d[2], d[3], d[4])), HYPHEAP_SVM_ERR_ARGS_RESERVED) << word;
  }
}

TEST_F(ProtmemTest, AssignTakesTheLendAndReleaseGivesItBack) {
  ASSERT_EQ(status(assign(kHandle)), HYPHEAP_SVM_OK);
  EXPECT_TRUE(env_.ffa_held(kHandle));
  ASSERT_EQ(status(release(kHandle)), HYPHEAP_SVM_OK);
  EXPECT_FALSE(env_.ffa_held(kHandle));
  EXPECT_EQ(env_.log(), "retrieve(0x123400000001) relinquish(0x123400000001) ");
  // the same block may be taken again (a host that reuses it before reclaiming)
  EXPECT_EQ(status(assign(kHandle, HYPHEAP_PROTMEM_USE_SECURE_VIDEO_RECORD)), HYPHEAP_SVM_OK);
}

TEST_F(ProtmemTest, AssignRefusesAHandleNotLent) {
  EXPECT_EQ(status(assign(kOther)), HYPHEAP_SVM_ERR_PROTMEM_NOT_LENT);
  EXPECT_EQ(status(assign(0)), HYPHEAP_SVM_ERR_PROTMEM_NOT_LENT);
  env_.ffa_lend(kOther);
  env_.ffa_reclaim(kOther);
  EXPECT_EQ(status(assign(kOther)), HYPHEAP_SVM_ERR_PROTMEM_NOT_LENT) << "reclaimed already";
  EXPECT_FALSE(env_.ffa_held(kHandle));
}

TEST_F(ProtmemTest, AssignRefusesTakingTwice) {
  ASSERT_EQ(status(assign(kHandle)), HYPHEAP_SVM_OK);
  EXPECT_EQ(status(assign(kHandle)), HYPHEAP_SVM_ERR_PROTMEM_TAKEN);
  EXPECT_EQ(status(assign(kHandle, HYPHEAP_PROTMEM_USE_SECURE_VIDEO_RECORD)),
            HYPHEAP_SVM_ERR_PROTMEM_TAKEN);
  EXPECT_TRUE(env_.ffa_held(kHandle)) << "a refused second take keeps the first";
}

TEST_F(ProtmemTest, AssignChecksUseCaseAndReservedBeforeTaking) {
  EXPECT_EQ(status(assign(kHandle, HYPHEAP_PROTMEM_USE_TRUSTED_UI)),
            HYPHEAP_SVM_ERR_PROTMEM_USE_CASE);
  EXPECT_EQ(status(assign(kHandle, 0)), HYPHEAP_SVM_ERR_PROTMEM_USE_CASE);
  EXPECT_EQ(
      status(call(HYPHEAP_SVM_OP_PROTMEM_ASSIGN, kHandle, HYPHEAP_PROTMEM_USE_SECURE_VIDEO, 1)),
      HYPHEAP_SVM_ERR_ARGS_RESERVED);
  EXPECT_EQ(
      status(call(HYPHEAP_SVM_OP_PROTMEM_ASSIGN, kHandle, HYPHEAP_PROTMEM_USE_SECURE_VIDEO, 0, 1)),
      HYPHEAP_SVM_ERR_ARGS_RESERVED);
  EXPECT_EQ(env_.log(), "") << "nothing reaches the hyp";
  EXPECT_FALSE(env_.ffa_held(kHandle));
}

TEST_F(ProtmemTest, ReleaseRefusesWhatItDoesNotHold) {
  EXPECT_EQ(status(release(kHandle)), HYPHEAP_SVM_ERR_PROTMEM_NOT_HELD) << "lent, never taken";
  EXPECT_EQ(status(release(kOther)), HYPHEAP_SVM_ERR_PROTMEM_NOT_LENT) << "never lent";
  ASSERT_EQ(status(assign(kHandle)), HYPHEAP_SVM_OK);
  ASSERT_EQ(status(release(kHandle)), HYPHEAP_SVM_OK);
  EXPECT_EQ(status(release(kHandle)), HYPHEAP_SVM_ERR_PROTMEM_NOT_HELD) << "released twice";
  for (int word = 2; word < 5; word++) {
    uint64_t d[5] = {HYPHEAP_SVM_OP_PROTMEM_RELEASE, kHandle, 0, 0, 0};
    d[word] = 1;
    EXPECT_EQ(status(call(d[0], d[1], d[2], d[3], d[4])), HYPHEAP_SVM_ERR_ARGS_RESERVED) << word;
  }
}

TEST_F(ProtmemTest, AnUndefinedHypAnswerIsItsOwnStatus) {
  env_.inject(0, HYPHEAP_ERR_BUSY);
  EXPECT_EQ(status(assign(kHandle)), HYPHEAP_SVM_ERR_PROTMEM_HYP);
  EXPECT_FALSE(env_.ffa_held(kHandle));
  ASSERT_EQ(status(assign(kHandle)), HYPHEAP_SVM_OK);
  env_.inject(0, HYPHEAP_ERR_NOT_SUPPORTED);
  EXPECT_EQ(status(release(kHandle)), HYPHEAP_SVM_ERR_PROTMEM_HYP);
  EXPECT_TRUE(env_.ffa_held(kHandle));
}

TEST_F(ProtmemTest, OnlyItsOpsAreItsOwn) {
  EXPECT_TRUE(is_protmem_op(HYPHEAP_SVM_OP_PROTMEM_CONFIG));
  EXPECT_TRUE(is_protmem_op(HYPHEAP_SVM_OP_PROTMEM_ASSIGN));
  EXPECT_TRUE(is_protmem_op(HYPHEAP_SVM_OP_PROTMEM_RELEASE));
  for (uint64_t op : {uint64_t{0}, uint64_t{HYPHEAP_SVM_OP_INFO}, uint64_t{0x13},
                      uint64_t{HYPHEAP_SVM_OP_PROTMEM_CONFIG} | uint64_t{1} << 32})
    EXPECT_FALSE(is_protmem_op(op)) << op;
  EXPECT_EQ(status(protmem_dispatch(env_, Message{{HYPHEAP_SVM_OP_INFO, 0, 0, 0, 0}})),
            HYPHEAP_SVM_ERR_NOT_SUPPORTED);
}

// The host names a share in an ASSIGN (above all the optee driver's argument, shared to the
// OP-TEE face): the hyp marks only a lend to the services' endpoint, and the fake as it does.
TEST_F(ProtmemTest, AssignRefusesAShareToEitherEndpoint) {
  env_.ffa_share(kOther, HYPHEAP_FFA_ID_OPTEE, kBase, 1);
  EXPECT_EQ(status(assign(kOther)), HYPHEAP_SVM_ERR_PROTMEM_NOT_LENT);
  EXPECT_EQ(status(release(kOther)), HYPHEAP_SVM_ERR_PROTMEM_NOT_LENT);
  env_.ffa_share(kOther, HYPHEAP_FFA_ID_SVM, kBase, 1);
  EXPECT_EQ(status(assign(kOther)), HYPHEAP_SVM_ERR_PROTMEM_NOT_LENT);
  EXPECT_FALSE(env_.ffa_held(kOther));
  EXPECT_FALSE(env_.ffa_held(kHandle));
}

}  // namespace
}  // namespace hyp::svm::testing
