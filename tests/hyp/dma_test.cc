// The DMA tables (hyp/core/dma.cc and their upkeep in ownership.cc): what the SMMU lets each
// VM's devices reach follows every ownership change, with break-before-make, batched
// invalidation and blocks that split and merge like the CPU stage-2's. The fake arch models
// each DMA table as one more VM reaching memory, so its ordering checker (expect_invariants,
// after every call) fails a secure VM mapping a page the host's devices may still reach.
#include "core/dma.h"

#include <vector>

#include "hyp_fixture.h"

namespace hyp::testing {
namespace {

class DmaTest : public HypTest {
 protected:
  void SetUp() override {
    iommu_ = true;
    boot(1024);
  }
  Leaf host_dma(uint64_t pa) const { return hyp_->host().dma.lookup(Ipa(pa)); }
  Leaf svm_dma(uint64_t pa, VmId vm = kSvm0) const {
    return hyp_->secure_vm(vm)->dma.lookup(Ipa(pa));
  }
  // The descriptor slot translating `pa` in a DMA table, found as the SMMU walks it.
  uint64_t* dma_pte(const Stage2& t, uint64_t pa) {
    auto* table = static_cast<uint64_t*>(arch::phys_to_virt(t.hw().root));
    for (unsigned level = t.start_level();; level++) {
      uint64_t* pte = &table[(pa >> (12 + 9 * (3 - level))) & 511];
      if (level == 3 || (*pte & 3) != 3)
        return pte;
      table = static_cast<uint64_t*>(arch::phys_to_virt(PhysAddr(*pte & pte::kOaMask)));
    }
  }
};

TEST_F(DmaTest, BootMapsHostRamButNotTheCarveoutsAndNothingForSecureVms) {
  EXPECT_FALSE(host_dma(kHypBase).valid());
  EXPECT_FALSE(host_dma(kSvmCarveout).valid());
  const Leaf data = host_dma(kData);
  EXPECT_TRUE(data.valid());
  EXPECT_TRUE(data.dma_writable());
  EXPECT_EQ(data.pa_of(Ipa(kData)), PhysAddr(kData));
  // The second GiB of RAM is uniform: one 1 GiB block, as in the host stage-2.
  EXPECT_EQ(host_dma(kGigBlock).level, 1u);
  EXPECT_FALSE(host_dma(0x0900'0000).valid()) << "MMIO must not be a DMA target";
  // The secure VM's carve-out is its own memory, not its device's.
  EXPECT_FALSE(svm_dma(kSvmCarveout).valid());
  EXPECT_FALSE(svm_dma(kData).valid());
  EXPECT_EQ(hyp_->secure_vm(kSvm0)->dma.hw().vmid,
            kDmaAsidBase + hyp_->secure_vm(kSvm0)->s2.hw().vmid);
  EXPECT_TRUE(hyp_->host().dma.hw().smmu);
  EXPECT_FALSE(hyp_->host().s2.hw().smmu);
}

// Every DMA leaf is non-global: the SMMU tags it with its context's ASID, so the host's
// streams never hit what the secure VM's stream cached (or the reverse), and the per-ASID
// invalidation at the end of each change removes it (IHI 0070 3.17, 4.4.2).
TEST_F(DmaTest, EveryDmaLeafIsTaggedWithItsContextsAsid) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  for (const Leaf& leaf : {host_dma(kData + k4K), host_dma(kGigBlock), svm_dma(kData)}) {
    ASSERT_TRUE(leaf.valid());
    EXPECT_NE(leaf.raw & (1ULL << 11), 0u) << "nG clear in 0x" << std::hex << leaf.raw;
  }
}

TEST_F(DmaTest, TheFakeSmmuRefusesAGlobalDmaLeaf) {
  uint64_t* pte = dma_pte(hyp_->host().dma, kData);
  const uint64_t saved = *pte;
  fake::reset_counters();
  arch::write_pte(hyp_->host().dma.hw(), pte, saved & ~(1ULL << 11));
  EXPECT_EQ(fake::counters().ordering_violations, 1u);
  EXPECT_NE(fake::ordering_report().find("global leaf"), std::string::npos);
  // Put it back behind the model's back, and forget what the model saw.
  *pte = saved;
  fake::reset();
}

TEST_F(DmaTest, LendMovesThePagesFromTheHostsDevicesToTheSecureVms) {
  fake::reset_counters();
  ASSERT_EQ(assign(lend(kData, 4 * k4K)), Status::kOk);
  for (uint64_t pa = kData; pa < kData + 4 * k4K; pa += k4K) {
    EXPECT_FALSE(host_dma(pa).valid());
    EXPECT_TRUE(svm_dma(pa).valid());
    EXPECT_TRUE(svm_dma(pa).dma_writable());
  }
  EXPECT_TRUE(host_dma(kData + 4 * k4K).valid());
  EXPECT_TRUE(host_dma(kData - k4K).valid());
  EXPECT_FALSE(svm_dma(kData, kSvm1).valid());
  // The host's DMA table was invalidated before the secure VM mapped anything.
  EXPECT_GE(fake::counters().smmu_syncs, 1u);
}

TEST_F(DmaTest, ReclaimGivesThePagesBackAndTheBlockMergesAgain) {
  const uint64_t page = kGigBlock + 5 * k2M + 3 * k4K;
  ASSERT_EQ(assign(lend(page, k4K)), Status::kOk);
  EXPECT_EQ(host_dma(page).level, 3u) << "the 1 GiB block must split down to the page";
  EXPECT_FALSE(host_dma(page).valid());
  EXPECT_TRUE(host_dma(page + k4K).valid());
  EXPECT_EQ(svm_dma(page).level, 3u);
  const size_t tables = hyp_->pool().used_pages();
  ASSERT_EQ(assign(reclaim(kSvm0.bit(), page, k4K)), Status::kOk);
  EXPECT_EQ(host_dma(page).level, 1u) << "uniform again: one 1 GiB block";
  EXPECT_TRUE(host_dma(page).dma_writable());
  EXPECT_FALSE(svm_dma(page).valid());
  EXPECT_LT(hyp_->pool().used_pages(), tables) << "merged tables go back to the pool";
}

// A device cannot retry: where a CPU that meets an entry broken for break-before-make takes
// a stage-2 fault and runs again, the SMMU aborts the transfer (a dropped write, a read of
// zeros). So a split or a merge of the host's DMA table must never leave a page the host
// keeps without a translation, not even between two stores of one call: the hook walks the
// table after every store, as a device behind the SMMU would.
struct DeviceWalker {
  const Stage2* table = nullptr;
  std::vector<uint64_t> kept;  // host pages a device DMAs into all along
  size_t stores = 0, outages = 0;
  uint64_t first_lost = 0;

  static void walk(const arch::Stage2Hw& hw, void* ctx) {
    auto* self = static_cast<DeviceWalker*>(ctx);
    if (hw.root != self->table->hw().root)
      return;
    self->stores++;
    for (const uint64_t pa : self->kept) {
      const Leaf leaf = self->table->lookup(Ipa(pa));
      if (!leaf.valid() || !leaf.dma_writable()) {
        if (self->outages++ == 0)
          self->first_lost = pa;
        return;
      }
    }
  }
};

TEST_F(DmaTest, AHostDeviceNeverLosesAPageItKeepsWhileTheTableSplitsAndMerges) {
  const uint64_t page = kGigBlock + 5 * k2M + 3 * k4K;
  DeviceWalker device{&hyp_->host().dma, {page + k4K, page - 3 * k4K + k2M / 2, kGigBlock}};
  fake::set_pte_hook(&DeviceWalker::walk, &device);
  ASSERT_EQ(assign(lend(page, k4K)), Status::kOk);
  ASSERT_EQ(host_dma(page).level, 3u) << "the 1 GiB block split down to the page";
  EXPECT_GT(device.stores, 0u);
  EXPECT_EQ(device.outages, 0u) << "the splits left 0x" << std::hex << device.first_lost
                                << " untranslated for a moment: a device's DMA there failed";
  device.stores = device.outages = 0;
  ASSERT_EQ(assign(reclaim(kSvm0.bit(), page, k4K)), Status::kOk);
  ASSERT_EQ(host_dma(page).level, 1u) << "merged back into one 1 GiB block";
  EXPECT_GT(device.stores, 0u);
  EXPECT_EQ(device.outages, 0u) << "the merges left 0x" << std::hex << device.first_lost
                                << " untranslated for a moment: a device's DMA there failed";
  fake::set_pte_hook(nullptr, nullptr);
}

TEST_F(DmaTest, SharedPagesAreReadOnlyForTheSecureVmsDevice) {
  ASSERT_EQ(assign(share(kData, 2 * k4K)), Status::kOk);
  EXPECT_TRUE(host_dma(kData).dma_writable()) << "the host kept RWX";
  EXPECT_TRUE(svm_dma(kData).valid());
  EXPECT_FALSE(svm_dma(kData).dma_writable())
      << "a device that reads lent pages must not write where the host reads";
  ASSERT_EQ(assign(reclaim(kVmidHost.bit() | kSvm0.bit(), kData, 2 * k4K)), Status::kOk);
  EXPECT_FALSE(svm_dma(kData).valid());
  EXPECT_TRUE(host_dma(kData).dma_writable());
}

// The host keeps RW, so its DMA entries stay as they are. Writing the same value anyway would
// split the 1 GiB block for the first range, merge it back, and find the reservation spent
// when the second range splits it again (the fuzzer's find: "allocation without
// reservation").
TEST_F(DmaTest, AShareThatLeavesTheHostRwDoesNotTouchItsDmaTable) {
  const uint64_t a = kGigBlock + 7 * k2M;
  ASSERT_EQ(assign(DescBuilder()
                       .src(kVmidHost.bit())
                       .dest(kVmidHost, HYPHEAP_PERM_RWX)
                       .dest(kSvm0, HYPHEAP_PERM_R)
                       .range(a, k4K)
                       .range(a + k4K, k4K)),
            Status::kOk);
  EXPECT_EQ(host_dma(a).level, 1u);
  EXPECT_TRUE(host_dma(a).dma_writable());
  ASSERT_EQ(assign(DescBuilder()
                       .src(kVmidHost.bit() | kSvm0.bit())
                       .dest(kVmidHost, HYPHEAP_PERM_RWX)
                       .range(a, k4K)
                       .range(a + k4K, k4K)),
            Status::kOk);
  EXPECT_EQ(host_dma(a).level, 1u);
}

TEST_F(DmaTest, ReadOnlyLendGivesTheDeviceReadOnly) {
  ASSERT_EQ(
      assign(DescBuilder().src(kVmidHost.bit()).dest(kSvm0, HYPHEAP_PERM_R).range(kData, k4K)),
      Status::kOk);
  EXPECT_TRUE(svm_dma(kData).valid());
  EXPECT_FALSE(svm_dma(kData).dma_writable());
}

TEST_F(DmaTest, OneCallIsOneInvalidationPerDmaTableWhateverItsRanges) {
  DescBuilder d = DescBuilder().src(kVmidHost.bit()).dest(kSvm0, kRw);
  for (int i = 0; i < 40; i++)
    d.range(kData + uint64_t(i) * 2 * k4K, k4K);
  fake::reset_counters();
  ASSERT_EQ(assign(d), Status::kOk);
  // The host's table is flushed once, before the secure VM's maps anything, never once per
  // range; its 2 MiB block became a table without a break (BBML2), so no flush for that; the
  // secure VM's table only gained entries, which needs none.
  EXPECT_EQ(fake::counters().smmu_syncs, 1u);
}

TEST_F(DmaTest, ARejectedCallLeavesTheDmaTablesAsTheyWere) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  // The second range is already lent: all or nothing, the first must not move.
  expect_rejected(DescBuilder()
                      .src(kVmidHost.bit())
                      .dest(kSvm0, kRw)
                      .range(kData + 8 * k4K, k4K)
                      .range(kData, k4K),
                  Status::kState);
  EXPECT_TRUE(host_dma(kData + 8 * k4K).valid());
}

// The host's devices reaching a lent page through its neighbour's entry (an alias).
TEST_F(DmaTest, TheCheckerCatchesAHostDeviceEntryThatReachesALentPage) {
  ASSERT_EQ(assign(lend(kData, k4K)), Status::kOk);
  uint64_t* pte = dma_pte(hyp_->host().dma, kData + k4K);
  ASSERT_EQ(*pte & pte::kOaMask, kData + k4K);
  const uint64_t saved = *pte;
  *pte = (saved & ~pte::kOaMask) | kData;
  uint64_t where = 0;
  EXPECT_STREQ(hyp_->check_invariants(&where), "a DMA table is not an identity map");
  EXPECT_EQ(where, kData + k4K);
  *pte = saved;
}

TEST_F(DmaTest, TheCheckerCatchesASecureDeviceThatMayWriteASharedPage) {
  ASSERT_EQ(assign(share(kData, k4K)), Status::kOk);
  uint64_t* pte = dma_pte(hyp_->secure_vm(kSvm0)->dma, kData);
  const uint64_t saved = *pte;
  *pte &= ~pte::kS1ApReadOnly;
  uint64_t where = 0;
  EXPECT_STREQ(hyp_->check_invariants(&where),
               "a DMA table lets devices write a page its VM may not write");
  *pte = saved;
}

TEST(DmaPolicy, LeavesFollowThePermissions) {
  const PhysAddr pa(kData);
  EXPECT_FALSE(host_dma_leaf(pa, Perms(HYPHEAP_PERM_W)).valid) << "no write-only on stage 1";
  EXPECT_TRUE(host_dma_leaf(pa, Perms(HYPHEAP_PERM_R)).valid);
  EXPECT_NE(host_dma_leaf(pa, Perms(HYPHEAP_PERM_R)).attrs & pte::kS1ApReadOnly, 0u);
  EXPECT_EQ(host_dma_leaf(pa, kPermsRwx).attrs & pte::kS1ApReadOnly, 0u);
  EXPECT_EQ(svm_dma_leaf(pa, kPermsRwx, PageState::kOwned).attrs & pte::kS1ApReadOnly, 0u);
  EXPECT_NE(svm_dma_leaf(pa, kPermsRwx, PageState::kSharedBorrowed).attrs & pte::kS1ApReadOnly, 0u);
  EXPECT_FALSE(svm_dma_leaf(pa, kPermsRwx, PageState::kSharedOwned).valid);
  EXPECT_FALSE(svm_dma_leaf(pa, kPermsRwx, PageState::kSharedHyp).valid);
  // Never an owner in the fake arch's eyes, so its checker sees a mapping, not a claim.
  const LeafSpec l = svm_dma_leaf(pa, kPermsRwx, PageState::kOwned);
  EXPECT_EQ((l.attrs & pte::kStateMask) >> pte::kStateShift, uint64_t(PageState::kSharedBorrowed));
}

}  // namespace
}  // namespace hyp::testing
