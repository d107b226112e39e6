#include "hyp_fixture.h"

namespace hyp::testing {
namespace {

using ScrubTest = HypTest;

// QEMU keeps RAM across SYSTEM_RESET, and the next boot gives the host every page that is
// not a carve-out: what a secure VM held must be gone before the reset is forwarded.
TEST_F(ScrubTest, ZeroesEveryPageASecureVmOwnsAndNothingElse) {
  std::memset(mem(kData), 0x5A, 4 * k4K);
  ASSERT_EQ(assign(lend(kData, 2 * k4K)), Status::kOk);
  ASSERT_EQ(assign(lend(kData + 2 * k4K, k4K, kSvm1)), Status::kOk);
  ASSERT_EQ(assign(share(kData + 3 * k4K, k4K)), Status::kOk);
  std::memset(mem(kData), 0xC3, 3 * k4K);  // the secure VMs' secrets
  std::memset(mem(kSvmCarveout), 0xC3, k2M);
  std::memset(mem(kData + 4 * k4K), 0x77, k4K);  // the host's own
  const Snapshot before = snapshot();
  fake::reset_counters();

  EXPECT_EQ(hyp_->scrub_secure_pages(), 3 + k2M / k4K);

  EXPECT_TRUE(all_bytes(mem(kData), 3 * k4K, 0));
  EXPECT_TRUE(all_bytes(mem(kSvmCarveout), k2M, 0));
  EXPECT_TRUE(all_bytes(mem(kData + 3 * k4K), k4K, 0x5A)) << "a share the host can read anyway";
  EXPECT_TRUE(all_bytes(mem(kData + 4 * k4K), k4K, 0x77));
  EXPECT_EQ(fake::counters().clean_bytes, 3 * k4K + k2M);
  EXPECT_TRUE(snapshot() == before) << "scrubbing changes no owner";
}

TEST_F(ScrubTest, WithNothingLentOnlyTheCarveoutsAreScrubbed) {
  EXPECT_EQ(hyp_->scrub_secure_pages(), k2M / k4K);
}

}  // namespace
}  // namespace hyp::testing
