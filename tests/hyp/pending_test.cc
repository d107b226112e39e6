// Operations in progress (hyp/core/pending.cc): a MEM_ASSIGN of more than HYPHEAP_PIECE_PAGES
// pages done one piece per call, MEM_CONTINUE, and what the rest of the core does with the
// pages meanwhile. Every call below is followed by the whole invariant checker (the fixture's
// call()/continue_call()), which includes the operations in progress.
#include <atomic>
#include <thread>

#include "ffa_fixture.h"

namespace hyp::testing {
namespace {

constexpr uint64_t k64M = 32 * k2M;
constexpr uint64_t kPiece = HYPHEAP_PIECE_PAGES * k4K;
constexpr int64_t kPreempted = HYPHEAP_PREEMPTED;

// Page by page with memcmp: the byte loop over 64 MiB at every boundary was most of the
// suite's time under ASan.
bool all(const uint8_t* p, uint64_t size, uint8_t value) {
  uint8_t page[k4K];
  std::memset(page, value, sizeof(page));
  for (uint64_t off = 0; off < size; off += k4K) {
    if (std::memcmp(p + off, page, size - off < k4K ? size - off : k4K) != 0)
      return false;
  }
  return true;
}

class PendingTest : public FfaFixture {
 protected:
  // 64 MiB (or `size`) at `base` lent to secure VM 10, which then writes its secrets in it.
  void lend_secrets(uint64_t base, uint64_t size = k64M) {
    ASSERT_EQ(assign(lend(base, size)), Status::kOk);
    std::memset(mem(base), 0xC3, size);
  }
  uint64_t stat(unsigned index) const {
    uint64_t v = 0;
    EXPECT_EQ(hyp_->stat(index, &v), Status::kOk);
    return v;
  }
  // The first call of a change that must be split: PREEMPTED, with its token.
  uint64_t start(const DescBuilder& d, unsigned cpu = 0) {
    const SmcccResult r = call(d.bytes(), kDescPa, cpu);
    EXPECT_EQ(int64_t(r.x[0]), kPreempted);
    EXPECT_NE(r.x[1], 0u);
    return r.x[1];
  }
  // A call refused with `want` that changed no stage-2 and left every operation as it was.
  void expect_refused_assign(const DescBuilder& d, Status want) {
    const Snapshot before = snapshot();
    const uint64_t preempted = stat(HYPHEAP_STAT_PREEMPTED);
    const SmcccResult r = call(d.bytes(), kDescPa + 16 * k4K);
    EXPECT_EQ(int64_t(r.x[0]), int64_t(want));
    EXPECT_EQ(r.x[1], 0u);
    EXPECT_TRUE(snapshot() == before) << "a refused call changed a stage-2";
    EXPECT_EQ(stat(HYPHEAP_STAT_PREEMPTED), preempted);
  }
  void expect_refused_continue(uint64_t token, Status want, uint64_t x2 = 0) {
    const Snapshot before = snapshot();
    const SmcccResult r = hyp_->handle_smccc(0, SmcccArgs{{HYPHEAP_FN_MEM_CONTINUE, token, x2, 0}});
    EXPECT_EQ(int64_t(r.x[0]), int64_t(want)) << std::hex << token;
    EXPECT_EQ(r.x[1], 0u);
    EXPECT_TRUE(snapshot() == before) << "a refused MEM_CONTINUE changed a stage-2";
    expect_invariants();
  }
  // Every page of [base, base + size) is the host's, not in an operation, and zero.
  void expect_host_owned_and_zero(uint64_t base, uint64_t size) {
    const QueryResult q = query(base, size / k4K);
    EXPECT_EQ(q.owners, kVmidHost.bit());
    EXPECT_EQ(q.state, uint64_t(HYPHEAP_STATE_EXCLUSIVE));
    EXPECT_EQ(q.pages, size / k4K);
    EXPECT_TRUE(all(mem(base), size, 0)) << "a reclaimed page kept the secure VM's bytes";
  }
};

// The attack: one 64 MiB descriptor asks for a reclaim, so before ABI 1.6 the hyp scrubbed
// 64 MiB in one call with the host's interrupts masked. Now no call does more than one
// piece, and at every boundary each page is either still the secure VM's (its bytes there,
// the host unable to map it) or the host's and zero.
TEST_F(PendingTest, ReclaimOfSixtyFourMegabytesScrubsAtMostOnePiecePerCall) {
  lend_secrets(kGigBlock);
  const uint64_t scrubbed = stat(HYPHEAP_STAT_PAGES_SCRUBBED);
  fake::reset_counters();
  SmcccResult r = call(reclaim(kSvm0.bit(), kGigBlock, k64M).bytes());
  unsigned calls = 1;
  uint64_t done = 0;
  while (true) {
    const fake::Counters c = fake::counters();
    EXPECT_LE(c.scrub_bytes, kPiece) << "call " << calls;
    EXPECT_LE(c.clean_bytes + c.clean_inval_bytes, kPiece) << "call " << calls;
    EXPECT_LE(c.pte_writes, 8u) << "call " << calls;  // blocks: a handful of leaves a piece
    done += c.scrub_bytes;
    if (int64_t(r.x[0]) != kPreempted)
      break;
    // The boundary, as the host sees it: what is done is its own and zero, the rest is
    // still the secure VM's, every page flagged as the operation's.
    const QueryResult head = query(kGigBlock, k64M / k4K);
    EXPECT_EQ(head.owners, kVmidHost.bit());
    EXPECT_EQ(head.state, uint64_t(HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_PENDING));
    EXPECT_EQ(head.pages * k4K, done);
    const QueryResult tail = query(kGigBlock + done, (k64M - done) / k4K);
    EXPECT_EQ(tail.owners, kSvm0.bit());
    EXPECT_EQ(tail.state, uint64_t(HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_PENDING));
    EXPECT_EQ(tail.pages * k4K, k64M - done);
    EXPECT_TRUE(all(mem(kGigBlock), done, 0));
    EXPECT_TRUE(all(mem(kGigBlock + done), k64M - done, 0xC3));
    EXPECT_FALSE(host_leaf(kGigBlock + done).valid());
    EXPECT_EQ(stat(HYPHEAP_STAT_PENDING), 1u);
    fake::reset_counters();
    r = continue_call(r.x[1], calls % 2);  // the kernel may resume on another CPU
    calls++;
  }
  EXPECT_EQ(int64_t(r.x[0]), HYPHEAP_OK);
  EXPECT_EQ(r.x[1], kVmidHost.bit());
  EXPECT_EQ(calls, k64M / kPiece);
  EXPECT_EQ(done, k64M);
  EXPECT_EQ(stat(HYPHEAP_STAT_PAGES_SCRUBBED) - scrubbed, k64M / k4K);
  EXPECT_EQ(stat(HYPHEAP_STAT_PENDING), 0u);
  expect_host_owned_and_zero(kGigBlock, k64M);
  EXPECT_EQ(host_leaf(kGigBlock).level, 1u) << "the host's 1 GiB block came back whole";
}

// A pool's scrub of a 64 MiB buffer in place: one piece of zeroing per call, and at every
// boundary the pages are all still the secure VM's, flagged as the operation's, with no
// stage-2 write anywhere; the secure VM can neither pin nor hold one until the last piece,
// so no page it starts to use is zeroed under it.
TEST_F(PendingTest, ScrubOfSixtyFourMegabytesZeroesOnePiecePerCallAndRefusesPinsMeanwhile) {
  lend_secrets(kGigBlock);
  const Snapshot lent = snapshot();
  fake::reset_counters();
  SmcccResult r = call(scrub(kGigBlock, k64M).bytes());
  unsigned calls = 1;
  uint64_t done = 0;
  while (true) {
    const fake::Counters c = fake::counters();
    EXPECT_LE(c.scrub_bytes, kPiece) << "call " << calls;
    EXPECT_EQ(c.pte_writes + c.tlb_ipa + c.tlb_vm, 0u) << "call " << calls;
    done += c.scrub_bytes;
    if (int64_t(r.x[0]) != kPreempted)
      break;
    const QueryResult q = query(kGigBlock, k64M / k4K);
    EXPECT_EQ(q.owners, kSvm0.bit());
    EXPECT_EQ(q.state, uint64_t(HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_PENDING));
    EXPECT_EQ(q.pages, k64M / k4K);
    EXPECT_TRUE(all(mem(kGigBlock), done, 0));
    EXPECT_TRUE(all(mem(kGigBlock + done), k64M - done, 0xC3));
    for (const uint64_t at : {kGigBlock, kGigBlock + done, kGigBlock + k64M - k4K}) {
      for (const uint64_t fid : {HYPHEAP_FN_SVM_PIN, HYPHEAP_FN_SVM_HOLD}) {
        const SmcccResult s =
            hyp_->handle_partition_smccc(kSvm0, 0, SmcccArgs{{fid, at, 1, HYPHEAP_SVM_NEED_R}});
        EXPECT_EQ(int64_t(s.x[0]), HYPHEAP_ERR_PENDING);
      }
    }
    expect_refused_assign(reclaim(kSvm0.bit(), kGigBlock + done, k4K), Status::kPending);
    expect_refused_assign(scrub(kGigBlock, k4K), Status::kPending);
    EXPECT_TRUE(snapshot() == lent);
    fake::reset_counters();
    r = continue_call(r.x[1], calls % 2);
    calls++;
  }
  EXPECT_EQ(int64_t(r.x[0]), HYPHEAP_OK);
  EXPECT_EQ(r.x[1], kSvm0.bit());
  EXPECT_EQ(calls, k64M / kPiece);
  EXPECT_EQ(done, k64M);
  EXPECT_TRUE(all(mem(kGigBlock), k64M, 0));
  EXPECT_TRUE(snapshot() == lent) << "a scrub moved a page";
  EXPECT_EQ(query(kGigBlock, k64M / k4K).state, uint64_t(HYPHEAP_STATE_EXCLUSIVE));
  EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kGigBlock), 1), Status::kOk) << "its pages are usable again";
}

// Every transition and layout, including one that starts off the 2 MiB grid and one of the
// descriptor's 4094 scattered pages: no call does more than one piece of scrub, clean or
// stage-2 work (at most 4 leaves per page, both stage-2s, each way).
TEST_F(PendingTest, EveryTransitionAndLayoutIsBoundedPerCall) {
  struct Layout {
    const char* name;
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
  };
  std::vector<Layout> layouts = {{"aligned", {{kGigBlock, k64M}}},
                                 {"off the 2 MiB grid", {{kGigBlock + 3 * k4K, k64M}}},
                                 {"scattered", {}}};
  for (uint64_t i = 0; i < HYPHEAP_DESC_MAX_RANGES(2); i++)
    layouts[2].ranges.push_back({kData + 2 * i * k4K, k4K});
  auto with = [](DescBuilder d, const Layout& l) {
    for (const auto& [a, s] : l.ranges)
      d.range(a, s);
    return d;
  };
  for (const Layout& l : layouts) {
    SCOPED_TRACE(l.name);
    uint64_t pages = 0;
    for (const auto& [a, s] : l.ranges)
      pages += s / k4K;
    const DescBuilder steps[] = {
        with(DescBuilder().src(kVmidHost.bit()).dest(kSvm0, kRw), l),
        with(DescBuilder().flags(HYPHEAP_DESC_F_SCRUB).src(kSvm0.bit()).dest(kSvm0, kRw), l),
        with(DescBuilder().src(kSvm0.bit()).dest(kVmidHost, HYPHEAP_PERM_RWX), l),
        with(DescBuilder()
                 .src(kVmidHost.bit())
                 .dest(kVmidHost, HYPHEAP_PERM_RWX)
                 .dest(kSvm0, HYPHEAP_PERM_R),
             l),
        with(DescBuilder().src(kVmidHost.bit() | kSvm0.bit()).dest(kVmidHost, HYPHEAP_PERM_RWX), l),
    };
    for (const DescBuilder& d : steps) {
      fake::reset_counters();
      SmcccResult r = call(d.bytes());
      uint64_t calls = 1;
      while (true) {
        const fake::Counters c = fake::counters();
        EXPECT_LE(c.scrub_bytes, kPiece);
        EXPECT_LE(c.clean_bytes + c.clean_inval_bytes, 2 * kPiece);  // scrub cleans its zeros
        EXPECT_LE(c.pte_writes, 4 * HYPHEAP_PIECE_PAGES + 8);
        if (int64_t(r.x[0]) != kPreempted)
          break;
        fake::reset_counters();
        r = continue_call(r.x[1]);
        calls++;
      }
      ASSERT_EQ(int64_t(r.x[0]), HYPHEAP_OK);
      EXPECT_GE(calls, (pages + HYPHEAP_PIECE_PAGES - 1) / HYPHEAP_PIECE_PAGES);
      EXPECT_LE(calls, pages / HYPHEAP_PIECE_PAGES + 2);
    }
  }
}

// While a reclaim is in progress, at every boundary, everyone else tries the operation's
// pages: the host another MEM_ASSIGN (of a page done and of one not reached), FFA_RXTX_MAP
// of a page already back, FF-A MEM_LEND; the secure VM SVM_PIN and SVM_HOLD. Each is
// refused with nothing changed, a change of other pages goes through, and the reclaim still
// ends with every page the host's and zero.
TEST_F(PendingTest, EveryOtherCallOnTheOperationsPagesIsRefusedAtEveryBoundary) {
  lend_secrets(kGigBlock);
  uint64_t token = start(reclaim(kSvm0.bit(), kGigBlock, k64M));
  uint64_t done = kPiece;
  while (true) {
    const uint64_t first_left = kGigBlock + done;
    expect_refused_assign(lend(kGigBlock, k4K), Status::kPending);
    expect_refused_assign(reclaim(kSvm0.bit(), first_left, k4K), Status::kPending);
    expect_refused_assign(share(kGigBlock + done - k4K, k4K), Status::kPending);
    // A descriptor that only ends in the operation is refused whole.
    expect_refused_assign(lend(kGigBlock - k4K, 2 * k4K), Status::kPending);
    for (const uint64_t fid : {HYPHEAP_FN_SVM_PIN, HYPHEAP_FN_SVM_HOLD}) {
      const Snapshot before = snapshot();
      const SmcccResult s = hyp_->handle_partition_smccc(
          kSvm0, 0, SmcccArgs{{fid, first_left, 1, HYPHEAP_SVM_NEED_R}});
      EXPECT_EQ(int64_t(s.x[0]), HYPHEAP_ERR_PENDING);
      EXPECT_TRUE(snapshot() == before);
    }
    {
      const Snapshot before = snapshot();
      FfaRegs m = regs(ffa::kRxtxMap64, kGigBlock, kGigBlock + k4K, 1);
      hyp_->ffa_host_call(0, m);
      expect_error(m, ffa::kDenied);
      EXPECT_TRUE(snapshot() == before);
    }
    // Other pages are not held up.
    ASSERT_EQ(assign(lend(kData, 4 * k4K)), Status::kOk);
    ASSERT_EQ(assign(reclaim(kSvm0.bit(), kData, 4 * k4K)), Status::kOk);

    const SmcccResult r = continue_call(token);
    if (int64_t(r.x[0]) == HYPHEAP_OK)
      break;
    ASSERT_EQ(int64_t(r.x[0]), kPreempted);
    ASSERT_EQ(r.x[1], token) << "the token names the operation to its end";
    done += kPiece;
  }
  expect_host_owned_and_zero(kGigBlock, k64M);
  // Its pages are anyone's again.
  ASSERT_EQ(assign(lend(kGigBlock, k4K)), Status::kOk);
}

// A host that never continues: the pages stay the operation's (the ones done the host's,
// the rest the secure VM's), and nothing else changes; a host that starts more long calls
// than there are slots gets PENDING_LIMIT for the next long one with nothing changed, while
// calls of one piece still go through.
TEST_F(PendingTest, AbandonedOperationsKeepTheirPagesAndFillTheSlotsOnly) {
  lend_secrets(kGigBlock, 2 * k64M);
  std::vector<uint64_t> tokens;
  for (size_t i = 0; i < kMaxPending; i++)
    tokens.push_back(start(reclaim(kSvm0.bit(), kGigBlock + i * 4 * kPiece, 4 * kPiece)));
  EXPECT_EQ(stat(HYPHEAP_STAT_PENDING), kMaxPending);
  const uint64_t beyond = kGigBlock + kMaxPending * 4 * kPiece;
  expect_refused_assign(reclaim(kSvm0.bit(), beyond, 2 * kPiece), Status::kPendingLimit);
  ASSERT_EQ(assign(reclaim(kSvm0.bit(), beyond, kPiece)), Status::kOk);  // one piece: no slot
  for (size_t i = 0; i < kMaxPending; i++) {
    const uint64_t base = kGigBlock + i * 4 * kPiece;
    EXPECT_EQ(query(base, 4 * kPiece / k4K).pages, kPiece / k4K);
    EXPECT_EQ(query(base + kPiece, 3 * kPiece / k4K).owners, kSvm0.bit());
    EXPECT_TRUE(all(mem(base + kPiece), 3 * kPiece, 0xC3));
  }
  // The secure VM keeps what it has not given back yet; it just cannot start using it.
  EXPECT_EQ(hyp_->pin(kSvm0, Ipa(kGigBlock + kPiece), 1), Status::kPending);
  // Continued in any order, from any CPU, each ends.
  for (size_t i = kMaxPending; i-- > 0;) {
    SmcccResult r{};
    do
      r = continue_call(tokens[i], unsigned(i % 2));
    while (int64_t(r.x[0]) == kPreempted);
    EXPECT_EQ(int64_t(r.x[0]), HYPHEAP_OK);
  }
  expect_host_owned_and_zero(kGigBlock, kMaxPending * 4 * kPiece + kPiece);
}

// A continuation the hyp did not give, or no longer means anything: each answers TOKEN
// (reserved registers DESC_RESERVED), changes nothing, and the real operation goes on.
TEST_F(PendingTest, ForgedAndStaleTokensAreRefusedAndChangeNothing) {
  lend_secrets(kGigBlock);
  const uint64_t token = start(reclaim(kSvm0.bit(), kGigBlock, 2 * kPiece));
  const uint64_t gen = (token >> kTokenGenShift) & kTokenGenMask;
  const uint64_t slot = token & 0xff;
  const uint64_t forged[] = {
      0,
      ~0ULL,
      token & ~kTokenTag,                                                // tag missing
      token ^ (1ULL << kTokenGenShift),                                  // another generation
      kTokenTag | (gen << kTokenGenShift) | ((slot + 1) % kMaxPending),  // a free slot
      kTokenTag | (gen << kTokenGenShift) | kMaxPending,                 // past the slots
      kTokenTag | (gen << kTokenGenShift) | 0xff,
      token | (1ULL << 40),  // a bit no token has
      kTokenTag | slot,      // generation 0
  };
  for (const uint64_t t : forged)
    expect_refused_continue(t, Status::kToken);
  expect_refused_continue(token, Status::kDescReserved, 1);
  EXPECT_EQ(hyp_->pending_op(slot)->pages_done, HYPHEAP_PIECE_PAGES);
  const SmcccResult r = continue_call(token);
  ASSERT_EQ(int64_t(r.x[0]), HYPHEAP_OK);
  // Finished: its token is stale, and the next operation in the slot has another.
  expect_refused_continue(token, Status::kToken);
  const uint64_t next = start(reclaim(kSvm0.bit(), kGigBlock + 2 * kPiece, 2 * kPiece));
  EXPECT_EQ(next & 0xff, slot);
  EXPECT_NE(next, token);
  expect_refused_continue(token, Status::kToken);
  ASSERT_EQ(int64_t(continue_call(next).x[0]), HYPHEAP_OK);
  expect_host_owned_and_zero(kGigBlock, 4 * kPiece);
}

// Validation is whole before the first piece: a long call refused on its last page, or for
// table pages, takes no slot and changes nothing.
TEST_F(PendingTest, RefusedLongCallTakesNoSlotAndChangesNothing) {
  lend_secrets(kGigBlock, 4 * kPiece);
  auto d = reclaim(kSvm0.bit(), kGigBlock, 4 * kPiece);
  d.range(kData, k4K);  // the host's own page: not the secure VM's to give back
  expect_refused_assign(d, Status::kState);
  ASSERT_EQ(hyp_->pin(kSvm0, Ipa(kGigBlock + 4 * kPiece - k4K), 1), Status::kOk);
  expect_refused_assign(reclaim(kSvm0.bit(), kGigBlock, 4 * kPiece), Status::kBusy);
  ASSERT_EQ(hyp_->unpin(kSvm0, Ipa(kGigBlock + 4 * kPiece - k4K), 1), Status::kOk);
  EXPECT_EQ(stat(HYPHEAP_STAT_PENDING), 0u);
  for (size_t i = 0; i < kMaxPending; i++)
    EXPECT_EQ(hyp_->pending_op(i), nullptr);
  EXPECT_TRUE(all(mem(kGigBlock), 4 * kPiece, 0xC3)) << "a refused reclaim scrubbed";
}

TEST_F(PendingTest, LongCallWithoutTablePagesIsNoMemoryAndTakesNoSlot) {
  boot(12);  // 7 pages after boot (transaction_test.cc): 5 left
  auto d = DescBuilder().src(kVmidHost.bit()).dest(kSvm0, kRw);
  for (uint64_t i = 0; i < 8; i++)  // 8 scattered 2 MiB regions, 128 pages each
    d.range(kGigBlock + i * 2 * k2M + k4K, 128 * k4K);
  expect_refused_assign(d, Status::kNoMemory);
  EXPECT_EQ(stat(HYPHEAP_STAT_PENDING), 0u);
}

// A first piece can need more tables than the whole change: here it takes the 4 KiB range
// and 2 MiB - 4 KiB of the aligned 2 MiB block the whole change would move whole, splitting
// it. When the pool cannot give those, the call is refused, and nothing stays behind: no
// live operation, no slot, no page marked pending (hostile review of issue 13, H1).
TEST_F(PendingTest, AFirstPieceWithoutTablePagesLeavesNoOperationBehind) {
  boot(12);
  const uint64_t g = kGigBlock + 8 * k2M;
  auto d = DescBuilder().src(kVmidHost.bit()).dest(kSvm0, kRw);
  d.range(g + k4K, k4K);
  d.range(g + k2M, k2M);
  expect_refused_assign(d, Status::kNoMemory);
  EXPECT_EQ(stat(HYPHEAP_STAT_PENDING), 0u);
  // The pages are the host's as before, and free for the next call.
  EXPECT_EQ(assign(lend(g + k2M, k4K)), Status::kOk);
}

// Between two pieces another change (of other pages) can make a table the operation's
// unreached pages share uniform, and merge it away: the next piece must split again, with a
// table page the operation's count at validation never included. The piece reserves it then;
// when the pool cannot give it, MEM_CONTINUE answers NO_MEMORY, changes nothing, and the
// operation goes on once there are pages again.
TEST_F(PendingTest, TablesAnInterleavedChangeMergedAwayAreReservedAgainPerPiece) {
  boot(24);                                 // a pool a few single-page lends use up
  const uint64_t r = kGigBlock + 64 * k2M;  // 2 MiB aligned, inside the host's 1 GiB block
  ASSERT_EQ(assign(lend(r, k2M + 2 * k4K)), Status::kOk);
  const uint64_t token = start(reclaim(kSvm0.bit(), r, k2M + 2 * k4K));  // pieces: 2M, 8K
  // The rest of the second 2 MiB region goes to the secure VM too: both its tables are
  // uniform now (the host's all lent, the secure VM's all mapped) and merge into blocks.
  ASSERT_EQ(assign(lend(r + k2M + 2 * k4K, k2M - 2 * k4K)), Status::kOk);
  ASSERT_EQ(host_leaf(r + k2M).level, 2u);
  ASSERT_EQ(svm_leaf(r + k2M).level, 2u);
  // Use up the pool: single pages in fresh 2 MiB regions until one no longer fits.
  std::vector<uint64_t> fillers;
  for (uint64_t p = kGigBlock + 128 * k2M;; p += k2M) {
    const Status st = assign(lend(p, k4K));
    if (st == Status::kNoMemory)
      break;
    ASSERT_EQ(st, Status::kOk);
    fillers.push_back(p);
  }
  ASSERT_LT(hyp_->pool().free_pages(), 2u);
  expect_refused_continue(token, Status::kNoMemory);
  EXPECT_EQ(hyp_->pending_op(token & 0xff)->pages_done, HYPHEAP_PIECE_PAGES);
  for (const uint64_t p : fillers)
    ASSERT_EQ(assign(reclaim(kSvm0.bit(), p, k4K)), Status::kOk);
  const SmcccResult done = continue_call(token);
  ASSERT_EQ(int64_t(done.x[0]), HYPHEAP_OK);
  expect_host_owned_and_zero(r, k2M + 2 * k4K);
  EXPECT_EQ(host_leaf(r + k2M + 2 * k4K).owner(), kSvm0);
}

// A lend in progress: the pages it has not reached are still the host's, but not the host's
// to use elsewhere (another lend, the FF-A mailbox); the secure VM may not use the pages it
// already has until the lend finishes.
TEST_F(PendingTest, LendInProgressOwnsThePagesItHasNotReached) {
  const uint64_t token = start(lend(kGigBlock, k64M));
  EXPECT_EQ(query(kGigBlock, 1).owners, kSvm0.bit());
  EXPECT_EQ(query(kGigBlock, 1).state, uint64_t(HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_PENDING));
  EXPECT_EQ(query(kGigBlock + kPiece, 1).owners, kVmidHost.bit());
  EXPECT_EQ(query(kGigBlock + kPiece, 1).state,
            uint64_t(HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_PENDING));
  expect_refused_assign(lend(kGigBlock + kPiece, k4K, kSvm1), Status::kPending);
  EXPECT_EQ(hyp_->hold(kSvm0, Ipa(kGigBlock), 1, HYPHEAP_SVM_NEED_R), Status::kPending);
  FfaRegs m = regs(ffa::kRxtxMap64, kGigBlock + k64M - 2 * k4K, kGigBlock + k64M - k4K, 1);
  hyp_->ffa_host_call(0, m);
  expect_error(m, ffa::kDenied);
  SmcccResult r{};
  do
    r = continue_call(token);
  while (int64_t(r.x[0]) == kPreempted);
  ASSERT_EQ(int64_t(r.x[0]), HYPHEAP_OK);
  EXPECT_EQ(r.x[1], kSvm0.bit());
  const QueryResult q = query(kGigBlock, k64M / k4K);
  EXPECT_EQ(q.owners, kSvm0.bit());
  EXPECT_EQ(q.state, uint64_t(HYPHEAP_STATE_EXCLUSIVE));
  EXPECT_EQ(q.pages, k64M / k4K);
  EXPECT_EQ(hyp_->hold(kSvm0, Ipa(kGigBlock), 1, HYPHEAP_SVM_NEED_R), Status::kOk);
  ASSERT_EQ(hyp_->release(kSvm0, Ipa(kGigBlock), 1), Status::kOk);
}

// Two CPUs reclaim overlapping buffers, one piece at a time, in every order: CPU 1's reclaim
// is refused whole (PENDING) at each of CPU 0's boundaries, CPU 1 may push CPU 0's operation
// on with its token, and no interleaving leaves a page half given back.
TEST_F(PendingTest, TwoCpusReclaimingOverlappingBuffersCannotInterleave) {
  lend_secrets(kGigBlock, 2 * k64M);
  const uint64_t token = start(reclaim(kSvm0.bit(), kGigBlock, k64M), 0);
  unsigned turn = 1;
  while (true) {
    expect_refused_assign(reclaim(kSvm0.bit(), kGigBlock + k64M / 2, k64M), Status::kPending);
    const SmcccResult r = continue_call(token, turn);
    turn ^= 1;
    if (int64_t(r.x[0]) == HYPHEAP_OK)
      break;
    ASSERT_EQ(int64_t(r.x[0]), kPreempted);
  }
  expect_host_owned_and_zero(kGigBlock, k64M);
  // The overlap is the host's now: CPU 1's reclaim is a state error, whole.
  expect_refused_assign(reclaim(kSvm0.bit(), kGigBlock + k64M / 2, k64M), Status::kState);
  ASSERT_EQ(assign(reclaim(kSvm0.bit(), kGigBlock + k64M, k64M), kDescPa, 1), Status::kOk);
  expect_host_owned_and_zero(kGigBlock, 2 * k64M);
}

// The same with real threads, and a third one running the whole invariant checker (every VM
// lock) all along: at no moment between two calls is a page in a half state. Each round the
// host lends 16 MiB; CPU 0 reclaims its first 10 MiB and CPU 1 its last 10 MiB, racing for
// the 4 MiB they share.
TEST_F(PendingTest, ThreadsReclaimingOverlappingBuffersLeaveNoHalfState) {
  constexpr uint64_t kBuf = 8 * k2M, kPart = 5 * k2M;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> checks{0};
  std::thread checker([&] {
    while (!stop.load()) {
      uint64_t where = 0;
      const char* err = hyp_->check_invariants(&where);
      ASSERT_EQ(err, nullptr) << err << " at 0x" << std::hex << where;
      checks++;
    }
  });
  auto reclaim_to_end = [&](unsigned cpu, uint64_t base, uint64_t desc_pa) {
    const std::vector<uint8_t> bytes = reclaim(kSvm0.bit(), base, kPart).bytes();
    while (true) {
      std::memcpy(mem(desc_pa), bytes.data(), bytes.size());
      uint64_t v = 0;
      Status s = hyp_->mem_assign(cpu, PhysAddr(desc_pa), bytes.size(), &v);
      while (s == Status::kPreempted)
        s = hyp_->mem_continue(v, 0, &v);
      if (s != Status::kPending)
        return s;
      std::this_thread::yield();
    }
  };
  int wins[2] = {0, 0};
  for (int round = 0; round < 4; round++) {
    lend_secrets(kGigBlock, kBuf);
    Status got[2];
    std::thread a([&] { got[0] = reclaim_to_end(0, kGigBlock, kDescPa); });
    std::thread b([&] { got[1] = reclaim_to_end(1, kGigBlock + kBuf - kPart, kDescPa + k2M); });
    a.join();
    b.join();
    // One wins the overlap; the other finds it the host's already and changes nothing.
    ASSERT_TRUE((got[0] == Status::kOk) != (got[1] == Status::kOk)) << round;
    const unsigned winner = got[0] == Status::kOk ? 0 : 1;
    ASSERT_EQ(got[1 - winner], Status::kState);
    wins[winner]++;
    const uint64_t rest = winner == 0 ? kGigBlock + kPart : kGigBlock;
    ASSERT_EQ(assign(reclaim(kSvm0.bit(), rest, kBuf - kPart)), Status::kOk);
    expect_host_owned_and_zero(kGigBlock, kBuf);
  }
  stop = true;
  checker.join();
  EXPECT_GT(checks.load(), 0u);
  EXPECT_EQ(stat(HYPHEAP_STAT_PENDING), 0u);
}

}  // namespace
}  // namespace hyp::testing
