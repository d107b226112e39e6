#include "core/pgtable.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "arch/fake/fake_arch.h"

namespace hyp {
namespace {

constexpr uint64_t k4K = 4096, k2M = 2ULL << 20, k1G = 1ULL << 30;
constexpr VmId kSvm{HYPHEAP_VMID_SECURE_0};

class Stage2Test : public ::testing::Test {
 protected:
  void SetUp() override { init(39); }

  void init(unsigned ipa_bits) {
    fake::reset_memory();
    fake::reset();
    ASSERT_EQ(pool_.init(PhysAddr(fake::kRamBase), 256), Status::kOk);
    ASSERT_EQ(s2_.init(pool_, ipa_bits, 1), Status::kOk);
  }

  // Reserves exactly what missing_tables() predicts, applies, and checks the prediction was
  // an upper bound (PagePool::alloc() is fatal otherwise) and the tables stayed consistent.
  void set(uint64_t ipa, uint64_t size, const LeafSpec& leaf) {
    const IpaRange r{Ipa(ipa), size};
    const size_t need = s2_.missing_tables(std::span(&r, 1), leaf.valid, leaf.pa.value() - ipa);
    PagePool::Reservation res;
    ASSERT_EQ(pool_.reserve(need, res), Status::kOk);
    s2_.set_range(r, leaf, res);
    expect_consistent();
  }

  void expect_consistent() {
    size_t tables = 0;
    const char* err = s2_.check_tables(&tables);
    EXPECT_EQ(err, nullptr) << err;
    EXPECT_EQ(tables, pool_.used_pages());
  }

  static LeafSpec rwx(uint64_t pa) {
    return LeafSpec::normal(PhysAddr(pa), kPermsRwx, PageState::kOwned);
  }

  std::vector<Leaf> leaves() const {
    std::vector<Leaf> out;
    s2_.for_each_leaf([&](const Leaf& l) {
      if (l.raw != 0)
        out.push_back(l);
    });
    return out;
  }

  PagePool pool_;
  Stage2 s2_;
};

TEST_F(Stage2Test, NewStage2MapsNothing) {
  const Leaf l = s2_.lookup(Ipa(0x4000'0000));
  EXPECT_EQ(l.raw, 0u);
  EXPECT_EQ(l.level, 1u);
  EXPECT_EQ(pool_.used_pages(), 1u);
}

// The walker indexes each level with the IPA's bits for that level, so an IPA at or above
// 2^ipa_bits would land on the entry of the IPA below it with those bits cleared.
TEST_F(Stage2Test, LookupAtOrAboveTheIpaLimitFindsNothing) {
  set(fake::kRamBase, k2M, rwx(fake::kRamBase));
  ASSERT_TRUE(s2_.lookup(Ipa(fake::kRamBase)).valid());
  const uint64_t above[] = {s2_.ipa_limit() + fake::kRamBase, s2_.ipa_limit(),
                            (1ULL << 63) + fake::kRamBase, ~(k4K - 1)};
  for (const uint64_t ipa : above) {
    const Leaf l = s2_.lookup(Ipa(ipa));
    EXPECT_FALSE(l.valid()) << std::hex << ipa;
    EXPECT_EQ(l.owner(), VmId(0)) << std::hex << ipa;
    EXPECT_NE(l.size, 0u) << "a caller stepping by leaf.size must move on";
  }
}

// A lent 1 MiB inside a 2 MiB block is 256 page entries; one run answers for all of them,
// and it goes on into the pages and blocks after it that are in the same state.
TEST_F(Stage2Test, RunOfPagesInOneStateIsOneLeafAcrossTablesAndBlocks) {
  set(k1G + k2M - 256 * k4K, 256 * k4K + 2 * k2M + 4 * k4K, LeafSpec::owned_by(kSvm));
  const Ipa first(k1G + k2M - 256 * k4K);
  ASSERT_EQ(s2_.lookup(first).size, k4K);
  const Leaf all = s2_.lookup_run(first, Ipa(k1G + 4 * k2M));
  EXPECT_EQ(all.owner(), kSvm);
  EXPECT_EQ(all.base, first);
  EXPECT_EQ(all.size, 256 * k4K + 2 * k2M + 4 * k4K);
  EXPECT_EQ(all.level, 3u) << "the first leaf's";

  // Mapped, the run follows the output address through the page entries and the blocks.
  set(k1G + k2M - 256 * k4K, 256 * k4K + 2 * k2M + 4 * k4K, rwx(k1G + k2M - 256 * k4K));
  const Leaf mapped = s2_.lookup_run(first + 8 * k4K, Ipa(k1G + 4 * k2M));
  EXPECT_TRUE(mapped.valid());
  EXPECT_EQ(mapped.end(), Ipa(k1G + 3 * k2M + 4 * k4K));
  EXPECT_EQ(mapped.pa_of(Ipa(k1G + 2 * k2M + 3 * k4K)), PhysAddr(k1G + 2 * k2M + 3 * k4K));
}

// Everything a state check reads stops the run: owner, validity, state, perms, the pin, the
// hold and the FF-A bit; so does an output address that jumps.
TEST_F(Stage2Test, RunStopsAtTheFirstLeafThatDiffersInMoreThanItsAddress) {
  const uint64_t base = k1G + 4 * k2M;
  const Ipa limit(base + k2M);
  struct Case {
    const char* what;
    LeafSpec other;
  };
  const Case cases[] = {
      {"owner", LeafSpec::owned_by(VmId(HYPHEAP_VMID_SECURE_1))},
      {"unmapped", LeafSpec::unmapped()},
      {"perms", LeafSpec::normal(PhysAddr(base + 5 * k4K), Perms{HYPHEAP_PERM_R | HYPHEAP_PERM_W},
                                 PageState::kOwned)},
      {"state", LeafSpec::normal(PhysAddr(base + 5 * k4K), kPermsRwx, PageState::kSharedOwned)},
      {"pinned", LeafSpec::normal(PhysAddr(base + 5 * k4K), kPermsRwx, PageState::kOwned, true)},
      {"held",
       LeafSpec::normal(PhysAddr(base + 5 * k4K), kPermsRwx, PageState::kOwned, false, true)},
      {"ffa", LeafSpec::normal(PhysAddr(base + 5 * k4K), kPermsRwx, PageState::kOwned, false, false,
                               true)},
      {"address", rwx(base + 6 * k4K)},
  };
  for (const Case& c : cases) {
    set(base, k2M, rwx(base));
    set(base + 5 * k4K, k4K, c.other);
    const Leaf run = s2_.lookup_run(Ipa(base + k4K), limit);
    EXPECT_EQ(run.base, Ipa(base + k4K)) << c.what << ": the looked-up page's own leaf";
    EXPECT_EQ(run.end(), Ipa(base + 5 * k4K)) << c.what;
    EXPECT_EQ(s2_.lookup_run(Ipa(base + 5 * k4K), limit).end(), Ipa(base + 6 * k4K)) << c.what;
  }
  // Owned by one VM and then by another: invalid entries are compared whole.
  set(base, k2M, LeafSpec::owned_by(kSvm));
  set(base + 7 * k4K, k4K, LeafSpec::unmapped());
  EXPECT_EQ(s2_.lookup_run(Ipa(base), limit).end(), Ipa(base + 7 * k4K));
}

// The walk stops at the limit: the run ends on the first leaf boundary at or past it, and an
// IPA the tables cannot hold gets lookup()'s answer.
TEST_F(Stage2Test, RunEndsAtTheLimitAndNothingIsFoundAboveTheIpaSpace) {
  set(k1G, 8 * k4K, LeafSpec::owned_by(kSvm));
  EXPECT_EQ(s2_.lookup_run(Ipa(k1G), Ipa(k1G + 3 * k4K)).end(), Ipa(k1G + 3 * k4K));
  EXPECT_EQ(s2_.lookup_run(Ipa(k1G + k4K), Ipa(k1G + k4K)).size, k4K) << "an empty window";
  const Leaf above = s2_.lookup_run(Ipa(s2_.ipa_limit()), Ipa(~0ULL));
  EXPECT_FALSE(above.valid());
  EXPECT_EQ(above.owner(), VmId(0));
  EXPECT_EQ(above.size, k4K);
  // A limit above the IPA space is cut to it, and a run can reach the end of it.
  set(s2_.ipa_limit() - k2M, k2M, LeafSpec::owned_by(kSvm));
  EXPECT_EQ(s2_.lookup_run(Ipa(s2_.ipa_limit() - k2M), Ipa(~0ULL)).end(), Ipa(s2_.ipa_limit()));
}

TEST_F(Stage2Test, AlignedGigabyteBecomesOneLevel1Block) {
  set(k1G, k1G, rwx(k1G));
  const Leaf l = s2_.lookup(Ipa(k1G + 12345 * k4K));
  EXPECT_TRUE(l.valid());
  EXPECT_EQ(l.level, 1u);
  EXPECT_EQ(l.base, Ipa(k1G));
  EXPECT_EQ(l.pa_of(Ipa(k1G + 5 * k4K)), PhysAddr(k1G + 5 * k4K));
  EXPECT_EQ(pool_.used_pages(), 1u);
}

TEST_F(Stage2Test, AlignedTwoMegabytesBecomesOneLevel2Block) {
  set(k1G + k2M, k2M, rwx(k1G + k2M));
  const Leaf l = s2_.lookup(Ipa(k1G + k2M));
  EXPECT_EQ(l.level, 2u);
  EXPECT_EQ(l.size, k2M);
  EXPECT_EQ(pool_.used_pages(), 2u);
}

TEST_F(Stage2Test, OutputAddressFollowsTheIpaInsideARange) {
  set(k1G + k4K, 3 * k4K, rwx(0x8000'0000));
  EXPECT_EQ(s2_.lookup(Ipa(k1G + 2 * k4K)).pa_of(Ipa(k1G + 2 * k4K)), PhysAddr(0x8000'0000 + k4K));
}

TEST_F(Stage2Test, ChangingOnePageSplitsTheBlockDownToPages) {
  set(k1G, k1G, rwx(k1G));
  set(k1G + k2M + k4K, k4K, LeafSpec::owned_by(kSvm));
  const Leaf changed = s2_.lookup(Ipa(k1G + k2M + k4K));
  EXPECT_FALSE(changed.valid());
  EXPECT_EQ(changed.owner(), kSvm);
  EXPECT_EQ(changed.level, 3u);
  const Leaf neighbour = s2_.lookup(Ipa(k1G + k2M));
  EXPECT_TRUE(neighbour.valid());
  EXPECT_EQ(neighbour.level, 3u);
  EXPECT_EQ(neighbour.pa_of(Ipa(k1G + k2M)), PhysAddr(k1G + k2M));
  EXPECT_EQ(s2_.lookup(Ipa(k1G + 5 * k2M)).level, 2u);
  EXPECT_EQ(s2_.counters().splits.get(), 2u);
  EXPECT_EQ(pool_.used_pages(), 3u);
}

TEST_F(Stage2Test, SplittingAValidBlockBreaksBeforeMaking) {
  set(k1G, k1G, rwx(k1G));
  fake::reset_counters();
  set(k1G + k4K, k4K, LeafSpec::unmapped());
  EXPECT_EQ(fake::counters().bbm_violations, 0u);
  EXPECT_GE(fake::counters().tlb_ipa, 2u);  // the 1 GiB block, the 2 MiB block, the page
}

// Every table descriptor that links a new table went through arch::publish_table, whose
// contract orders the table's zeroed or split contents before the descriptor: a walker on
// another CPU that sees the link must not read stale bytes below it.
void expect_tables_published(const uint64_t* table, unsigned level, unsigned* count) {
  for (unsigned i = 0; i < 512; i++) {
    const uint64_t e = table[i];
    if (level == 3 || (e & (pte::kValid | pte::kTableOrPage)) != (pte::kValid | pte::kTableOrPage))
      continue;
    EXPECT_EQ(fake::published_table(&table[i]), e) << "level " << level << " entry " << i;
    ++*count;
    expect_tables_published(
        static_cast<const uint64_t*>(arch::phys_to_virt(PhysAddr(e & pte::kOaMask))), level + 1,
        count);
  }
}

TEST_F(Stage2Test, NewTablesArePublishedAfterTheirContents) {
  set(k1G, k1G, rwx(k1G));
  set(k1G + k2M + k4K, k4K, LeafSpec::owned_by(kSvm));  // splits a valid block twice
  set(3 * k1G + 5 * k4K, k4K, rwx(3 * k1G));            // tables under an invalid entry
  unsigned count = 0;
  expect_tables_published(static_cast<const uint64_t*>(arch::phys_to_virt(s2_.hw().root)),
                          s2_.start_level(), &count);
  EXPECT_EQ(count, 4u);
}

TEST_F(Stage2Test, RangeMadeUniformAgainMergesBackIntoTheBlock) {
  set(k1G, k1G, rwx(k1G));
  const auto before = leaves();
  set(k1G + k2M + k4K, k4K, LeafSpec::owned_by(kSvm));
  set(k1G + k2M + k4K, k4K, rwx(k1G + k2M + k4K));
  EXPECT_EQ(s2_.counters().merges.get(), 2u);
  EXPECT_EQ(pool_.used_pages(), 1u);
  const auto after = leaves();
  ASSERT_EQ(after.size(), before.size());
  EXPECT_EQ(after[0].raw, before[0].raw);
  EXPECT_EQ(after[0].level, 1u);
  EXPECT_EQ(fake::counters().bbm_violations, 0u);
}

TEST_F(Stage2Test, UnmappingTheLastPageReturnsEveryTableToThePool) {
  set(k1G + 7 * k4K, k4K, rwx(k1G + 7 * k4K));
  EXPECT_EQ(pool_.used_pages(), 3u);
  set(k1G + 7 * k4K, k4K, LeafSpec::unmapped());
  EXPECT_EQ(pool_.used_pages(), 1u);
  EXPECT_EQ(s2_.lookup(Ipa(k1G)).level, 1u);
}

TEST_F(Stage2Test, OverwritingATableWithABlockFreesTheSubtree) {
  set(k1G + k4K, k4K, rwx(k1G + k4K));
  set(k1G + 3 * k2M, k4K, rwx(k1G + 3 * k2M));
  EXPECT_EQ(pool_.used_pages(), 4u);
  set(k1G, k1G, LeafSpec::owned_by(kSvm));
  EXPECT_EQ(pool_.used_pages(), 1u);
  EXPECT_EQ(s2_.lookup(Ipa(k1G + k4K)).owner(), kSvm);
}

TEST_F(Stage2Test, MisalignedOutputAddressIsMappedWithPages) {
  set(k1G, k2M, rwx(0x8000'0000 + k4K));
  EXPECT_EQ(s2_.lookup(Ipa(k1G)).level, 3u);
}

TEST_F(Stage2Test, PermissionChangeIsInPlaceWithOneTlbInvalidation) {
  set(k1G, k2M, rwx(k1G));
  fake::reset_counters();
  set(k1G, k2M, LeafSpec::normal(PhysAddr(k1G), Perms(HYPHEAP_PERM_R), PageState::kSharedOwned));
  EXPECT_EQ(fake::counters().pte_writes, 1u);
  EXPECT_EQ(fake::counters().tlb_ipa, 1u);
  const Leaf l = s2_.lookup(Ipa(k1G));
  EXPECT_EQ(l.perms(), Perms(HYPHEAP_PERM_R));
  EXPECT_EQ(l.state(), PageState::kSharedOwned);
}

// --- TLB maintenance --------------------------------------------------------------------

// The walker ignores software bits: a TLB entry cached before the change translates as the
// new descriptor does, so nothing is owed (and under TCG each invalidation empties QEMU's
// TLBs). The ordering model agrees: no invalidation is pending after the call.
TEST_F(Stage2Test, SoftwareBitsAloneChangeInPlaceWithoutTlbMaintenance) {
  set(k1G, k2M, rwx(k1G));
  fake::reset_counters();
  set(k1G, k2M,
      LeafSpec::normal(PhysAddr(k1G), kPermsRwx, PageState::kSharedOwned,
                       /*pinned=*/true, /*held=*/true, /*ffa=*/false));
  EXPECT_EQ(fake::counters().pte_writes, 1u);
  EXPECT_EQ(fake::counters().tlb_ipa, 0u);
  EXPECT_EQ(fake::counters().tlb_vm, 0u);
  EXPECT_EQ(fake::pending_invalidations(), 0u);
  EXPECT_EQ(fake::counters().bbm_violations, 0u);
  const Leaf l = s2_.lookup(Ipa(k1G));
  EXPECT_EQ(l.level, 2u);
  EXPECT_TRUE(l.pinned());
  EXPECT_TRUE(l.held());
  EXPECT_EQ(l.state(), PageState::kSharedOwned);
}

// A software bit and a permission in one change: the permission still needs its invalidation.
// Write alone is taken away (execute stays off both ways), so only S2AP[1] and the hold differ.
TEST_F(Stage2Test, SoftwareBitsWithAPermissionChangeStillInvalidate) {
  set(k1G, k2M,
      LeafSpec::normal(PhysAddr(k1G), Perms(HYPHEAP_PERM_R | HYPHEAP_PERM_W), PageState::kOwned));
  fake::reset_counters();
  set(k1G, k2M,
      LeafSpec::normal(PhysAddr(k1G), Perms(HYPHEAP_PERM_R), PageState::kOwned,
                       /*pinned=*/false, /*held=*/true, /*ffa=*/false));
  EXPECT_EQ(fake::counters().tlb_ipa, 1u);
  EXPECT_EQ(fake::pending_invalidations(), 0u);
}

TEST_F(Stage2Test, UnmappingScatteredPagesInOneBatchWaitsForCompletionOnce) {
  set(k1G, k2M, rwx(0x8000'0000 + k4K));  // misaligned output: 512 page entries
  fake::reset_counters();
  PagePool::Reservation none;
  TlbBatch tlb(s2_);
  for (uint64_t i = 0; i < 8; i++)
    s2_.set_range(IpaRange{Ipa(k1G + 2 * i * k4K), k4K}, LeafSpec::unmapped(), none, tlb);
  EXPECT_EQ(fake::counters().tlb_ipa, 0u);  // nothing issued yet...
  EXPECT_EQ(fake::pending_invalidations(), 8u);
  tlb.flush();
  EXPECT_EQ(fake::counters().tlb_ipa, 8u);  // ...then each IPA, with one completion
  EXPECT_EQ(fake::counters().tlb_ipa_batches, 1u);
  EXPECT_EQ(fake::counters().tlb_vm, 0u);
  EXPECT_EQ(fake::pending_invalidations(), 0u);
}

TEST_F(Stage2Test, MoreInvalidationsThanABatchHoldsBecomeOneVmWideInvalidation) {
  set(k1G, k2M, rwx(0x8000'0000 + k4K));
  fake::reset_counters();
  PagePool::Reservation none;
  TlbBatch tlb(s2_);
  for (uint64_t i = 0; i <= TlbBatch::kMaxIpas; i++)
    s2_.set_range(IpaRange{Ipa(k1G + 2 * i * k4K), k4K}, LeafSpec::unmapped(), none, tlb);
  tlb.flush();
  EXPECT_EQ(fake::counters().tlb_ipa, 0u);
  EXPECT_EQ(fake::counters().tlb_vm, 1u);
  EXPECT_EQ(fake::pending_invalidations(), 0u);
}

TEST_F(Stage2Test, BatchGoingOutOfScopeIssuesWhatItOwes) {
  set(k1G, k2M, rwx(0x8000'0000 + k4K));
  PagePool::Reservation none;
  {
    TlbBatch tlb(s2_);
    s2_.set_range(IpaRange{Ipa(k1G), k4K}, LeafSpec::unmapped(), none, tlb);
    EXPECT_EQ(fake::pending_invalidations(), 1u);
  }
  EXPECT_EQ(fake::pending_invalidations(), 0u);
}

TEST_F(Stage2Test, RemovingATableInvalidatesTheWholeVmBeforeThePageIsReused) {
  set(k1G + 7 * k4K, k4K, rwx(k1G + 7 * k4K));
  fake::reset_counters();
  set(k1G + 7 * k4K, k4K, LeafSpec::unmapped());  // both tables merge away
  EXPECT_EQ(fake::counters().tlb_vm, 2u);
  EXPECT_EQ(fake::pending_invalidations(), 0u);
  EXPECT_EQ(fake::counters().bbm_violations, 0u);
}

TEST_F(Stage2Test, BatchOfAnotherStage2IsFatal) {
  Stage2 other;
  ASSERT_EQ(other.init(pool_, 39, 2), Status::kOk);
  PagePool::Reservation none;
  TlbBatch tlb(other);
  EXPECT_DEATH(s2_.set_range(IpaRange{Ipa(k1G), k4K}, LeafSpec::unmapped(), none, tlb),
               "TLB batch of another stage-2");
}

TEST_F(Stage2Test, PermsAndStateRoundTripThroughTheDescriptor) {
  for (uint32_t bits = 1; bits <= 7; bits++) {
    set(k1G, k4K, LeafSpec::normal(PhysAddr(k1G), Perms(bits), PageState::kSharedBorrowed, true));
    const Leaf l = s2_.lookup(Ipa(k1G));
    EXPECT_EQ(l.perms(), Perms(bits));
    EXPECT_EQ(l.state(), PageState::kSharedBorrowed);
    EXPECT_TRUE(l.pinned());
  }
}

TEST_F(Stage2Test, MissingTablesCountsOnlyPartiallyCoveredEntriesWithoutTables) {
  // Covers the end of one 2 MiB entry and the start of the next, inside one 1 GiB entry:
  // one level-2 table and two level-3 tables.
  const IpaRange r{Ipa(k1G + k2M - k4K), 2 * k4K};
  EXPECT_EQ(s2_.missing_tables(std::span(&r, 1), true), 3u);
  set(r.base.value(), r.size, rwx(r.base.value()));
  EXPECT_EQ(pool_.used_pages(), 4u);
  // Once the tables exist, nothing more is needed there.
  EXPECT_EQ(s2_.missing_tables(std::span(&r, 1), true), 0u);
}

TEST_F(Stage2Test, MissingTablesCountsASharedEntryOnce) {
  const std::array<IpaRange, 2> rs{IpaRange{Ipa(k1G), k4K}, IpaRange{Ipa(k1G + 2 * k4K), k4K}};
  EXPECT_EQ(s2_.missing_tables(rs, true), 2u);
}

TEST_F(Stage2Test, WholeAlignedRangesNeedNoTables) {
  const IpaRange r{Ipa(k1G), k1G};
  EXPECT_EQ(s2_.missing_tables(std::span(&r, 1), true), 0u);
}

TEST_F(Stage2Test, FortyEightBitIpaStartsAtLevel0AndNeedsATableForValidLeaves) {
  init(48);
  EXPECT_EQ(s2_.start_level(), 0u);
  // A whole level-0 entry (512 GiB) can hold an invalid leaf but not a valid one.
  const IpaRange whole{Ipa(0), 512 * k1G};
  EXPECT_EQ(s2_.missing_tables(std::span(&whole, 1), false), 0u);
  EXPECT_EQ(s2_.missing_tables(std::span(&whole, 1), true), 1u);
  set(k1G, k1G, rwx(k1G));
  EXPECT_EQ(s2_.lookup(Ipa(k1G)).level, 1u);
  set(k1G, k1G, LeafSpec::unmapped());
  EXPECT_EQ(pool_.used_pages(), 1u);
}

TEST_F(Stage2Test, CheckerNoticesARefcountThatDoesNotMatchTheTable) {
  set(k1G + k4K, k4K, rwx(k1G + k4K));
  ASSERT_EQ(s2_.lookup(Ipa(k1G + k4K)).level, 3u);
  // Pool pages go out in ascending order: root, level-2 table, then the level-3 table.
  pool_.get(PhysAddr(fake::kRamBase + 2 * k4K));
  size_t tables = 0;
  EXPECT_STREQ(s2_.check_tables(&tables), "table refcount does not match its entries");
}

TEST_F(Stage2Test, CheckerNoticesATableThatShouldHaveBeenMerged) {
  set(k1G + k4K, k4K, rwx(k1G + k4K));
  // Unmap the only page behind the editor's back: the level-3 table is now empty.
  auto* l3 = static_cast<uint64_t*>(arch::phys_to_virt(PhysAddr(fake::kRamBase + 2 * k4K)));
  l3[1] = 0;
  pool_.put(PhysAddr(fake::kRamBase + 2 * k4K));
  size_t tables = 0;
  EXPECT_STREQ(s2_.check_tables(&tables), "table could be a block: tables are not canonical");
}

TEST(Stage2VtcrTest, MatchesTheValueCheckedOnQemu) {
  EXPECT_EQ(vtcr_for(39, 40), 0x80023559u);  // platform.md: T0SZ 25, SL0 level 1, PS 40 bits
}

}  // namespace
}  // namespace hyp
