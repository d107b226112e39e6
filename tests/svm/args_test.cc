// Parsing of the private copy of an argument block (hyp/svm/args.cc), each check in the
// order parse_args() documents, and the mapping of hyp statuses to service errors.
#include "svm/args.h"

#include <gtest/gtest.h>

#include <cstring>

#include "fake_env.h"

namespace hyp::svm::testing {
namespace {

constexpr uint64_t kTop = ~uint64_t(0);

SvmStatus parse(const Block& b, uint32_t op, Args* out = nullptr, bool keep_counts = false) {
  const auto bytes = b.bytes(keep_counts);
  static ArgsCopy copy;
  std::memset(copy.bytes, 0, sizeof(copy.bytes));
  copy.len = bytes.size() < sizeof(copy.bytes) ? bytes.size() : sizeof(copy.bytes);
  std::memcpy(copy.bytes, bytes.data(), copy.len);
  Args scratch;
  return parse_args(copy, op, out ? out : &scratch);
}

TEST(ArgsTest, PagesOfAByteRange) {
  EXPECT_EQ(pages_of({Ipa(0x1000), 0x1000}).pages, 1u);
  EXPECT_EQ(pages_of({Ipa(0x1fff), 2}).pages, 2u);
  EXPECT_EQ(pages_of({Ipa(0x1fff), 2}).first, Ipa(0x1000));
  EXPECT_EQ(pages_of({Ipa(0x1001), 0x1000}).pages, 2u);
  // The last byte of the address space: no wrap.
  EXPECT_EQ(pages_of({Ipa(kTop - 0xfff), 0x1000}).first, Ipa(kTop - 0xfff));
  EXPECT_EQ(pages_of({Ipa(kTop - 0xfff), 0x1000}).pages, 1u);
  EXPECT_EQ(pages_of({Ipa(0), kTop}).pages, uint64_t(1) << 52);
}

TEST(ArgsTest, AWellFormedDecryptParses) {
  const uint8_t iv[8] = {9, 8, 7, 6, 5, 4, 3, 2};
  Block b(HYPHEAP_SVM_OP_DECRYPT);
  b.add_src(0x10000, 100).add_src(0x20010, 0xf9c).add_dst(0x30000, 0x1000).iv(iv);
  Args a;
  ASSERT_EQ(parse(b, HYPHEAP_SVM_OP_DECRYPT, &a), SvmStatus::kOk);
  EXPECT_EQ(a.nr_src(), 2u);
  EXPECT_EQ(a.nr_dst(), 1u);
  EXPECT_EQ(a.src(1).base, Ipa(0x20010));
  EXPECT_EQ(a.dst(0).size, 0x1000u);
  EXPECT_EQ(std::memcmp(a.iv(), iv, 8), 0);
}

TEST(ArgsTest, HeaderChecksInOrder) {
  Block b(HYPHEAP_SVM_OP_HASH);
  b.add_src(0x10000, 1);
  b.hdr.version = 0x53560002;
  b.hdr.op = HYPHEAP_SVM_OP_FILL;  // also wrong, but the version is checked first
  EXPECT_EQ(parse(b, HYPHEAP_SVM_OP_HASH), SvmStatus::kArgsVersion);
  b.hdr.version = HYPHEAP_SVM_ARGS_VERSION;
  EXPECT_EQ(parse(b, HYPHEAP_SVM_OP_HASH), SvmStatus::kArgsOp);
  b.hdr.op = HYPHEAP_SVM_OP_HASH;
  b.hdr.nr_src = 2;
  EXPECT_EQ(parse(b, HYPHEAP_SVM_OP_HASH, nullptr, true), SvmStatus::kArgsLen);
  b.hdr.nr_src = 1;
  b.hdr.reserved = 1;
  EXPECT_EQ(parse(b, HYPHEAP_SVM_OP_HASH, nullptr, true), SvmStatus::kArgsReserved);
}

TEST(ArgsTest, IvOnlyForDecryptPatternOnlyForFillAndOnlyItsLowByte) {
  const uint8_t iv[8] = {0, 0, 0, 0, 0, 0, 0, 1};
  Block hash(HYPHEAP_SVM_OP_HASH);
  hash.add_src(0x10000, 1).iv(iv);
  EXPECT_EQ(parse(hash, HYPHEAP_SVM_OP_HASH), SvmStatus::kArgsReserved);
  Block dec(HYPHEAP_SVM_OP_DECRYPT);
  dec.add_src(0x10000, 0x1000).add_dst(0x20000, 0x1000).pattern(1);
  EXPECT_EQ(parse(dec, HYPHEAP_SVM_OP_DECRYPT), SvmStatus::kArgsReserved);
  Block fill(HYPHEAP_SVM_OP_FILL);
  fill.add_dst(0x20000, 0x1000).iv(iv).pattern(0xff);
  EXPECT_EQ(parse(fill, HYPHEAP_SVM_OP_FILL), SvmStatus::kArgsReserved);
  fill.hdr.iv[7] = 0;
  EXPECT_EQ(parse(fill, HYPHEAP_SVM_OP_FILL), SvmStatus::kOk);
  fill.pattern(0x100);
  EXPECT_EQ(parse(fill, HYPHEAP_SVM_OP_FILL), SvmStatus::kArgsReserved);
}

TEST(ArgsTest, RangeCountsPerOp) {
  struct Case {
    uint32_t op;
    size_t nr_src, nr_dst;
    bool ok;
  };
  const Case cases[] = {
      {HYPHEAP_SVM_OP_HASH, 0, 0, false},    {HYPHEAP_SVM_OP_HASH, 1, 1, false},
      {HYPHEAP_SVM_OP_HASH, 3, 0, true},     {HYPHEAP_SVM_OP_DECRYPT, 1, 0, false},
      {HYPHEAP_SVM_OP_DECRYPT, 0, 1, false}, {HYPHEAP_SVM_OP_DECRYPT, 2, 3, true},
      {HYPHEAP_SVM_OP_PIN, 0, 0, false},     {HYPHEAP_SVM_OP_PIN, 1, 1, false},
      {HYPHEAP_SVM_OP_PIN, 2, 0, true},      {HYPHEAP_SVM_OP_UNPIN, 1, 1, false},
      {HYPHEAP_SVM_OP_UNPIN, 1, 0, true},    {HYPHEAP_SVM_OP_FILL, 1, 1, false},
      {HYPHEAP_SVM_OP_FILL, 0, 0, false},    {HYPHEAP_SVM_OP_FILL, 0, 2, true},
  };
  for (const Case& c : cases) {
    Block b(c.op);
    // Page-sized, page-aligned, disjoint, and equal totals for DECRYPT (3 src vs 2 dst of
    // different sizes would mismatch, so sizes are chosen to sum alike).
    uint64_t addr = 0x100000;
    for (size_t i = 0; i < c.nr_src; i++, addr += 0x10000)
      b.add_src(addr, c.nr_dst ? 0x3000 * c.nr_dst : 0x1000);
    for (size_t i = 0; i < c.nr_dst; i++, addr += 0x10000)
      b.add_dst(addr, c.nr_src ? 0x3000 * c.nr_src : 0x1000);
    EXPECT_EQ(parse(b, c.op), c.ok ? SvmStatus::kOk : SvmStatus::kRangeCount)
        << c.op << " " << c.nr_src << " " << c.nr_dst;
  }
}

TEST(ArgsTest, MostRangesFitOnePage) {
  Block b(HYPHEAP_SVM_OP_HASH);
  for (uint64_t i = 0; i < HYPHEAP_SVM_ARGS_MAX_RANGES; i++)
    b.add_src(0x100000 + i * 0x2000, 0x10);
  EXPECT_EQ(b.bytes().size(), HYPHEAP_PAGE_SIZE);
  EXPECT_EQ(parse(b, HYPHEAP_SVM_OP_HASH), SvmStatus::kOk);
}

TEST(ArgsTest, RangeSizeZeroOrReachingTwoToThe64) {
  const struct {
    uint64_t addr, size;
    SvmStatus want;
  } cases[] = {
      {0x10000, 0, SvmStatus::kRangeSize},
      {kTop, 1, SvmStatus::kRangeSize},               // ends at exactly 2^64
      {kTop - 0xfff, 0x1000, SvmStatus::kRangeSize},  // the last page, ends at 2^64
      {1, kTop, SvmStatus::kRangeSize},
      {kTop, kTop, SvmStatus::kRangeSize},
      {kTop - 1, 1, SvmStatus::kOk},  // the last byte that can be named
      {0, kTop, SvmStatus::kOk},
  };
  for (const auto& c : cases) {
    Block b(HYPHEAP_SVM_OP_HASH);
    b.add_src(c.addr, c.size);
    EXPECT_EQ(parse(b, HYPHEAP_SVM_OP_HASH), c.want) << std::hex << c.addr << " " << c.size;
  }
}

TEST(ArgsTest, PinRangesArePageAlignedAndSizeComesFirst) {
  for (const auto& [addr, size] :
       {std::pair<uint64_t, uint64_t>{0x10001, 0x1000}, {0x10000, 0xfff}, {0x10000, 0x1001}}) {
    Block b(HYPHEAP_SVM_OP_PIN);
    b.add_src(addr, size);
    EXPECT_EQ(parse(b, HYPHEAP_SVM_OP_PIN), SvmStatus::kRangeUnaligned);
    Block u(HYPHEAP_SVM_OP_UNPIN);
    u.add_src(addr, size);
    EXPECT_EQ(parse(u, HYPHEAP_SVM_OP_UNPIN), SvmStatus::kRangeUnaligned);
  }
  Block b(HYPHEAP_SVM_OP_PIN);
  b.add_src(0x10001, 0);
  EXPECT_EQ(parse(b, HYPHEAP_SVM_OP_PIN), SvmStatus::kRangeSize);
  // HASH and DECRYPT src are byte ranges here: whether they may be depends on the pages
  // they cover, which only their holds can tell (services_test.cc).
  Block h(HYPHEAP_SVM_OP_HASH);
  h.add_src(0x10001, 3);
  EXPECT_EQ(parse(h, HYPHEAP_SVM_OP_HASH), SvmStatus::kOk);
}

// DECRYPT and FILL write lent pages the host cannot read: whole pages or PARTIAL_PAGE, for
// every way of missing the grid (start, end, both, less than a page, more than one page).
TEST(ArgsTest, DecryptAndFillDestinationsAreWholePages) {
  const std::pair<uint64_t, uint64_t> partial[] = {
      {0x10001, 0x1000}, {0x10000, 0xfff}, {0x10000, 0x1001}, {0x10000, 1},
      {0x10fff, 1},      {0x10800, 0x800}, {0x10800, 0x1800}, {0x10000, 0x2fff},
  };
  for (const auto& [addr, size] : partial) {
    Block f(HYPHEAP_SVM_OP_FILL);
    f.add_dst(addr, size);
    EXPECT_EQ(parse(f, HYPHEAP_SVM_OP_FILL), SvmStatus::kPartialPage) << std::hex << addr;
    Block d(HYPHEAP_SVM_OP_DECRYPT);
    d.add_src(0x40000, size).add_dst(addr, size);
    EXPECT_EQ(parse(d, HYPHEAP_SVM_OP_DECRYPT), SvmStatus::kPartialPage) << std::hex << addr;
  }
  Block f(HYPHEAP_SVM_OP_FILL);
  f.add_dst(0x10000, 0x1000).add_dst(0x20000, 0x3000);
  EXPECT_EQ(parse(f, HYPHEAP_SVM_OP_FILL), SvmStatus::kOk);
  // Two halves of one page: each is partial, which is checked before the overlap.
  Block halves(HYPHEAP_SVM_OP_FILL);
  halves.add_dst(0x10000, 0x800).add_dst(0x10800, 0x800);
  EXPECT_EQ(parse(halves, HYPHEAP_SVM_OP_FILL), SvmStatus::kPartialPage);
  // In list order: a zero size before a partial page is RANGE_SIZE, after it PARTIAL_PAGE.
  Block zero_first(HYPHEAP_SVM_OP_FILL), partial_first(HYPHEAP_SVM_OP_FILL);
  zero_first.add_dst(0x10000, 0).add_dst(0x20000, 1);
  partial_first.add_dst(0x20000, 1).add_dst(0x10000, 0);
  EXPECT_EQ(parse(zero_first, HYPHEAP_SVM_OP_FILL), SvmStatus::kRangeSize);
  EXPECT_EQ(parse(partial_first, HYPHEAP_SVM_OP_FILL), SvmStatus::kPartialPage);
  // The last page of the address space reaches 2^64: RANGE_SIZE, not a whole page.
  Block top(HYPHEAP_SVM_OP_FILL);
  top.add_dst(kTop - 0xfff, 0x1000);
  EXPECT_EQ(parse(top, HYPHEAP_SVM_OP_FILL), SvmStatus::kRangeSize);
  // A DECRYPT src that is not whole pages passes parsing (the totals still match).
  Block d(HYPHEAP_SVM_OP_DECRYPT);
  d.add_src(0x40001, 0x7ff).add_src(0x50000, 0x801).add_dst(0x10000, 0x1000);
  EXPECT_EQ(parse(d, HYPHEAP_SVM_OP_DECRYPT), SvmStatus::kOk);
}

TEST(ArgsTest, OverlapIsJudgedOnPages) {
  struct Case {
    uint64_t a, asz, b, bsz;
    bool overlap;
  } cases[] = {
      {0x10000, 0x1000, 0x10000, 0x1000, true},   // the same range twice
      {0x10000, 0x3000, 0x11000, 0x1000, true},   // one inside the other
      {0x10000, 0x2000, 0x11000, 0x2000, true},   // partial
      {0x10000, 0x100, 0x10100, 0x100, true},     // disjoint bytes, one shared page
      {0x10f00, 0x200, 0x11100, 0x10, true},      // shares the second page of the first
      {0x10000, 0x1000, 0x11000, 0x1000, false},  // adjacent pages
      {0x11000, 0x1000, 0x10000, 0x1000, false},  // adjacent, in reverse order
      {0x10000, 0x10, 0x12000, 0x10, false},     {0, kTop, 0x12000, 1, true},
  };
  for (const Case& c : cases) {
    Block h(HYPHEAP_SVM_OP_HASH);
    h.add_src(c.a, c.asz).add_src(c.b, c.bsz);
    EXPECT_EQ(parse(h, HYPHEAP_SVM_OP_HASH), c.overlap ? SvmStatus::kOverlap : SvmStatus::kOk)
        << std::hex << c.a << " " << c.b;
    // Across the lists too (overlap is checked before the totals, after each range's own
    // checks: a destination off the page grid is PARTIAL_PAGE first).
    Block d(HYPHEAP_SVM_OP_DECRYPT);
    d.add_src(c.a, c.asz).add_dst(c.b, c.bsz);
    const bool dst_whole = c.b % 0x1000 == 0 && c.bsz % 0x1000 == 0;
    const SvmStatus want = !dst_whole       ? SvmStatus::kPartialPage
                           : c.overlap      ? SvmStatus::kOverlap
                           : c.asz == c.bsz ? SvmStatus::kOk
                                            : SvmStatus::kLenMismatch;
    EXPECT_EQ(parse(d, HYPHEAP_SVM_OP_DECRYPT), want) << std::hex << c.a << " " << c.b;
  }
  // A byte range of src reaching into the page of a whole-page dst.
  Block d(HYPHEAP_SVM_OP_DECRYPT);
  d.add_src(0x10f00, 0x200).add_dst(0x11000, 0x1000);
  EXPECT_EQ(parse(d, HYPHEAP_SVM_OP_DECRYPT), SvmStatus::kOverlap);
  // The third of three ranges against the first.
  Block h(HYPHEAP_SVM_OP_HASH);
  h.add_src(0x10000, 1).add_src(0x20000, 1).add_src(0x10fff, 1);
  EXPECT_EQ(parse(h, HYPHEAP_SVM_OP_HASH), SvmStatus::kOverlap);
}

TEST(ArgsTest, DecryptTotalsMustBeEqualAndOverlapComesFirst) {
  Block d(HYPHEAP_SVM_OP_DECRYPT);
  d.add_src(0x10000, 0x1800).add_src(0x20000, 0x800).add_dst(0x30000, 0x1000);
  EXPECT_EQ(parse(d, HYPHEAP_SVM_OP_DECRYPT), SvmStatus::kLenMismatch);
  d.dst[0].size = 0x2000;
  EXPECT_EQ(parse(d, HYPHEAP_SVM_OP_DECRYPT), SvmStatus::kOk);
  d.dst[0].addr = 0x20000;
  EXPECT_EQ(parse(d, HYPHEAP_SVM_OP_DECRYPT), SvmStatus::kOverlap);
}

TEST(ArgsTest, HoldStatusesBecomeServiceErrors) {
  EXPECT_EQ(from_hold_status(HYPHEAP_OK), SvmStatus::kOk);
  EXPECT_EQ(from_hold_status(HYPHEAP_ERR_NOT_MAPPED), SvmStatus::kNotOwned);
  EXPECT_EQ(from_hold_status(HYPHEAP_ERR_PROTECTED), SvmStatus::kNotOwned);
  EXPECT_EQ(from_hold_status(HYPHEAP_ERR_RANGE_SIZE), SvmStatus::kNotOwned);
  EXPECT_EQ(from_hold_status(HYPHEAP_ERR_HOST_ACCESS), SvmStatus::kHostReadable);
  EXPECT_EQ(from_hold_status(HYPHEAP_ERR_BUSY), SvmStatus::kBusy);
  EXPECT_EQ(from_hold_status(HYPHEAP_ERR_NO_MEMORY), SvmStatus::kNoMemory);
  EXPECT_EQ(from_pin_status(HYPHEAP_OK), SvmStatus::kOk);
  EXPECT_EQ(from_pin_status(HYPHEAP_ERR_STATE), SvmStatus::kPinState);
  EXPECT_EQ(from_pin_status(HYPHEAP_ERR_NOT_MAPPED), SvmStatus::kNotOwned);
  EXPECT_EQ(from_pin_status(HYPHEAP_ERR_PROTECTED), SvmStatus::kNotOwned);
  EXPECT_EQ(from_pin_status(HYPHEAP_ERR_BUSY), SvmStatus::kBusy);
  EXPECT_EQ(from_pin_status(HYPHEAP_ERR_NO_MEMORY), SvmStatus::kNoMemory);
}

}  // namespace
}  // namespace hyp::svm::testing
