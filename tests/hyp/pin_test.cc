// Pin and unpin (hyp/core/pin.cc); reclaim of pinned pages is in transaction_test.cc.
#include "hyp_fixture.h"

namespace hyp::testing {
namespace {

using PinTest = HypTest;

TEST_F(PinTest, PinRequiresAPageTheSecureVmMaps) {
  EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kData), 1), Status::kNotMapped);
  EXPECT_EQ(hyp_->pin(kVmidHost, Ipa(kData), 1), Status::kUnknownVmid);
  EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kData + 1), 1), Status::kRangeUnaligned);
  EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kData), 0), Status::kRangeSize);
}

TEST_F(PinTest, PinTwiceAndUnpinOfAnUnpinnedPageAreStateErrors) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  EXPECT_EQ(hyp_->unpin(kSvm0, Ipa(kData), 1), Status::kState);
  ASSERT_EQ(hyp_->pin(kSvm0, Ipa(kData), 1), Status::kOk);
  EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kData), 1), Status::kState);
}

TEST_F(PinTest, UnpinningMergesTheSecureVmMappingBack) {
  ASSERT_EQ(assign(lend(kGigBlock, k2M)), Status::kOk);
  ASSERT_EQ(svm_leaf(kGigBlock).level, 2u);
  ASSERT_EQ(hyp_->pin(kSvm0, Ipa(kGigBlock + k4K), 1), Status::kOk);
  EXPECT_EQ(svm_leaf(kGigBlock).level, 3u);
  ASSERT_EQ(hyp_->unpin(kSvm0, Ipa(kGigBlock + k4K), 1), Status::kOk);
  EXPECT_EQ(svm_leaf(kGigBlock).level, 2u);
}

}  // namespace
}  // namespace hyp::testing
