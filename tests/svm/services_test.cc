// dispatch() (hyp/svm/services.cc) against the FakeEnv: every op, every rejection with its
// exact status, and after every call: no page held, no violation (nothing mapped that was not
// held, nothing released that was not held) and no byte changed outside the destination
// ranges of a successful DECRYPT or FILL.
#include "svm/services.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "fake_env.h"
#include "svm/aes.h"
#include "svm/sha256.h"
#include "test_util.h"

namespace hyp::svm::testing {
namespace {

// The fake RAM: page 0 holds argument blocks, then shared, lent, lent read-only, carve-out
// and unmapped pages.
constexpr uint64_t kArgs = kBase;
constexpr uint64_t kShared = kBase + 1 * k4K;   // 15 pages, read-only to the secure VM
constexpr uint64_t kLent = kBase + 16 * k4K;    // 32 pages
constexpr uint64_t kLentRo = kBase + 48 * k4K;  // 2 pages
constexpr uint64_t kCarve = kBase + 50 * k4K;   // 4 pages
constexpr uint64_t kUnmapped = kBase + 54 * k4K;
constexpr uint64_t kPages = 64;
constexpr uint8_t kKey[16] = HYPHEAP_SVM_TEST_KEY;

int64_t status(const Message& m) {
  return int64_t(m.data[0]);
}

class ServicesTest : public ::testing::Test {
 protected:
  ServicesTest() : env_(kPages) {
    env_.set(kArgs, 1, Kind::kShared);
    env_.set(kShared, 15, Kind::kShared, /*writable=*/false);
    env_.set(kLent, 32, Kind::kLent);
    env_.set(kLentRo, 2, Kind::kLent, /*writable=*/false);
    env_.set(kCarve, 4, Kind::kCarveout);
    std::mt19937_64 rng(7);
    for (size_t i = 0; i < kPages * k4K; i++)
      *env_.at(kBase + i) = uint8_t(rng());
  }

  // Writes `block` at `addr` (if that is RAM), calls dispatch with data2 = `len` (the
  // block's size unless given) and checks what every call must leave behind. `may_change`
  // are the byte ranges the call may write.
  Message call(uint64_t op, const std::vector<uint8_t>& block, uint64_t addr = kArgs,
               uint64_t len = ~uint64_t(0), uint64_t d3 = 0, uint64_t d4 = 0,
               const std::vector<hypheap_mem_range>& may_change = {}) {
    if (!block.empty() && addr >= kBase && addr < env_.end() && block.size() <= env_.end() - addr)
      std::memcpy(env_.at(addr), block.data(), block.size());
    const std::vector<uint8_t> before = env_.ram();
    const Message m =
        dispatch(env_, config_, shared_, HYPHEAP_FFA_ID_HOST,
                 Message{{op, addr, len == ~uint64_t(0) ? block.size() : len, d3, d4}});
    check_after(before,
                status(m) == HYPHEAP_SVM_OK ? may_change : std::vector<hypheap_mem_range>{});
    if (status(m) != HYPHEAP_SVM_OK) {
      for (int i = 1; i < 5; i++)
        EXPECT_EQ(m.data[i], 0u) << "an error answer carries no results";
    }
    return m;
  }
  Message call(const Block& b) {
    return call(b.hdr.op, b.bytes(), kArgs, ~uint64_t(0), 0, 0, b.dst);
  }
  int64_t run(const Block& b) { return status(call(b)); }

  void check_after(const std::vector<uint8_t>& before,
                   const std::vector<hypheap_mem_range>& may_change) {
    EXPECT_EQ(env_.nr_held(), 0u) << "a page is still held";
    for (const std::string& v : env_.violations())
      ADD_FAILURE() << v;
    const std::vector<uint8_t>& after = env_.ram();
    for (size_t i = 0; i < after.size(); i++) {
      if (after[i] == before[i])
        continue;
      const uint64_t ipa = kBase + i;
      bool allowed = false;
      for (const hypheap_mem_range& r : may_change)
        allowed |= ipa >= r.addr && ipa - r.addr < r.size;
      if (!allowed) {
        ADD_FAILURE() << "byte changed outside the destination at 0x" << std::hex << ipa;
        return;
      }
    }
  }

  std::vector<uint8_t> bytes_of(const std::vector<hypheap_mem_range>& ranges) {
    std::vector<uint8_t> out;
    for (const auto& r : ranges)
      out.insert(out.end(), env_.at(r.addr), env_.at(r.addr) + r.size);
    return out;
  }

  void write(const std::vector<hypheap_mem_range>& ranges, const std::vector<uint8_t>& data) {
    size_t pos = 0;
    for (const auto& r : ranges) {
      std::memcpy(env_.at(r.addr), data.data() + pos, r.size);
      pos += r.size;
    }
  }

  static std::vector<uint8_t> digest_of(const Message& m) {
    std::vector<uint8_t> d;
    for (int w = 1; w <= 4; w++) {
      for (int i = 0; i < 8; i++)
        d.push_back(uint8_t(m.data[w] >> (8 * i)));
    }
    return d;
  }

  FakeEnv env_;
  Config config_{2, false};
  Shared shared_;
};

// --- INFO, FAULT, unknown ops, the request registers ---

TEST_F(ServicesTest, InfoAnswersVersionVcpusAndFeatures) {
  Message m = call(HYPHEAP_SVM_OP_INFO, {}, 0, 0);
  EXPECT_EQ(status(m), HYPHEAP_SVM_OK);
  EXPECT_EQ(m.data[1], HYPHEAP_SVM_VERSION);
  EXPECT_EQ(m.data[2], 2u);
  EXPECT_EQ(m.data[3], 0u);
  EXPECT_EQ(m.data[4], 0u);
  config_ = Config{4, true};
  m = call(HYPHEAP_SVM_OP_INFO, {}, 0, 0);
  EXPECT_EQ(m.data[2], 4u);
  EXPECT_EQ(m.data[3], HYPHEAP_SVM_F_FAULT);
  EXPECT_EQ(env_.log(), "") << "INFO calls the hyp for nothing";
}

TEST_F(ServicesTest, InfoAndFaultTakeNoArguments) {
  config_.fault_op = true;
  for (uint64_t op : {HYPHEAP_SVM_OP_INFO, HYPHEAP_SVM_OP_FAULT}) {
    for (int reg = 1; reg < 5; reg++) {
      uint64_t d[5] = {op, 0, 0, 0, 0};
      d[reg] = 8;
      const Message m = dispatch(env_, config_, shared_, HYPHEAP_FFA_ID_HOST,
                                 Message{{d[0], d[1], d[2], d[3], d[4]}});
      EXPECT_EQ(status(m), HYPHEAP_SVM_ERR_ARGS_RESERVED) << op << " data" << reg;
    }
  }
  EXPECT_EQ(env_.nr_faults(), 0u);
}

TEST_F(ServicesTest, FaultOnlyInBuildsThatHaveIt) {
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_FAULT, {}, 0, 0)), HYPHEAP_SVM_ERR_NOT_SUPPORTED);
  EXPECT_EQ(env_.nr_faults(), 0u);
  config_.fault_op = true;
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_FAULT, {}, 0, 0)), HYPHEAP_SVM_OK);
  EXPECT_EQ(env_.nr_faults(), 1u);
}

TEST_F(ServicesTest, UnknownOpsAreNotSupported) {
  for (uint64_t op : {0ULL, 12ULL, 0xffULL, (1ULL << 32) | HYPHEAP_SVM_OP_HASH, ~0ULL})
    EXPECT_EQ(status(call(op, {}, kArgs, 64)), HYPHEAP_SVM_ERR_NOT_SUPPORTED) << op;
  EXPECT_EQ(env_.log(), "");
}

TEST_F(ServicesTest, Data3AndData4MustBeZeroAndAreCheckedBeforeAnyHold) {
  Block b(HYPHEAP_SVM_OP_HASH);
  b.add_src(kShared, 10);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, b.bytes(), kArgs, ~0ULL, 1, 0)),
            HYPHEAP_SVM_ERR_ARGS_RESERVED);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, b.bytes(), kArgs, ~0ULL, 0, 1ULL << 63)),
            HYPHEAP_SVM_ERR_ARGS_RESERVED);
  EXPECT_EQ(env_.log(), "");
}

// --- the argument block: where it is, its page, its copy ---

TEST_F(ServicesTest, BlockAddressAndLength) {
  Block b(HYPHEAP_SVM_OP_HASH);
  b.add_src(kShared, 10);
  const auto bytes = b.bytes();  // 48 bytes
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, bytes, kArgs + 4)), HYPHEAP_SVM_ERR_ARGS_ADDR);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, bytes, kArgs + 1)), HYPHEAP_SVM_ERR_ARGS_ADDR);
  // Crosses into the next page by 8 bytes.
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, bytes, kArgs + k4K - 40)), HYPHEAP_SVM_ERR_ARGS_ADDR);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, bytes, kArgs, 31)), HYPHEAP_SVM_ERR_ARGS_LEN);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, bytes, kArgs, 0)), HYPHEAP_SVM_ERR_ARGS_LEN);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, bytes, kArgs, k4K + 8)), HYPHEAP_SVM_ERR_ARGS_LEN);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, bytes, kArgs, ~0ULL - 1)), HYPHEAP_SVM_ERR_ARGS_LEN);
  // The top of the address space: nothing wraps.
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, bytes, ~0ULL - 39, 48)), HYPHEAP_SVM_ERR_ARGS_ADDR);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, bytes, ~0ULL - 7 - 4088, 48)),
            HYPHEAP_SVM_ERR_ARGS_NOT_SHARED);
  EXPECT_EQ(env_.nr_holds(), 0u);
  // The last 48 bytes of the page are fine, and so is a block filling the whole page.
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, bytes, kArgs + k4K - 48)), HYPHEAP_SVM_OK);
}

TEST_F(ServicesTest, BlockLengthMustMatchTheCounts) {
  Block b(HYPHEAP_SVM_OP_HASH);
  b.add_src(kShared, 10);
  auto bytes = b.bytes();
  bytes.resize(bytes.size() + 16);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, bytes)), HYPHEAP_SVM_ERR_ARGS_LEN);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, b.bytes(), kArgs, 40)), HYPHEAP_SVM_ERR_ARGS_LEN);
}

TEST_F(ServicesTest, BlockPageMustBeSharedByTheHost) {
  Block b(HYPHEAP_SVM_OP_HASH);
  b.add_src(kShared, 10);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, b.bytes(), kLent)), HYPHEAP_SVM_ERR_ARGS_NOT_SHARED);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, b.bytes(), kCarve)), HYPHEAP_SVM_ERR_ARGS_NOT_SHARED);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, b.bytes(), kUnmapped)),
            HYPHEAP_SVM_ERR_ARGS_NOT_SHARED);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, b.bytes(), 0x1000)), HYPHEAP_SVM_ERR_ARGS_NOT_SHARED);
  // A shared page the secure VM can only read is enough for a block.
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH, b.bytes(), kShared + 2 * k4K)), HYPHEAP_SVM_OK);
}

TEST_F(ServicesTest, BlockPageHeldByAnotherCallIsBusyAndNoMemoryPassesThrough) {
  Block b(HYPHEAP_SVM_OP_HASH);
  b.add_src(kShared, 10);
  env_.inject(0, HYPHEAP_ERR_BUSY);
  EXPECT_EQ(run(b), HYPHEAP_SVM_ERR_BUSY);
  env_.inject(0, HYPHEAP_ERR_NO_MEMORY);
  EXPECT_EQ(run(b), HYPHEAP_SVM_ERR_NO_MEMORY);
  EXPECT_EQ(env_.nr_holds(), 0u);
}

// The block is copied while its page is held, the page is released, and only the copy is
// read: the FakeEnv reports any map() of the page after its release, and a host rewriting
// the block right after the copy changes nothing.
TEST_F(ServicesTest, BlockIsCopiedOnceAndReleasedBeforeTheWork) {
  Block b(HYPHEAP_SVM_OP_FILL);
  b.add_dst(kLent, k4K).pattern(0x5a);
  Block evil(HYPHEAP_SVM_OP_FILL);
  evil.add_dst(kLent, 4 * k4K).pattern(0xee);
  bool rewritten = false;
  env_.on_release = [&](uint64_t ipa) {
    if (ipa == kArgs && !rewritten) {
      const auto e = evil.bytes();
      std::memcpy(env_.at(kArgs), e.data(), e.size());
      rewritten = true;
    }
  };
  const auto bytes = b.bytes();
  std::memcpy(env_.at(kArgs), bytes.data(), bytes.size());
  const Message m = dispatch(env_, config_, shared_, HYPHEAP_FFA_ID_HOST,
                             Message{{HYPHEAP_SVM_OP_FILL, kArgs, bytes.size(), 0, 0}});
  ASSERT_TRUE(rewritten);
  EXPECT_EQ(status(m), HYPHEAP_SVM_OK);
  EXPECT_EQ(*env_.at(kLent + k4K - 1), 0x5a);
  EXPECT_NE(*env_.at(kLent + k4K), 0x5a);
  EXPECT_NE(*env_.at(kLent + k4K), 0xee);
  EXPECT_TRUE(env_.violations().empty());
  EXPECT_EQ(env_.log(),
            "hold(0x80000000,1,9) release(0x80000000,1,0) hold(0x80010000,1,6) "
            "release(0x80010000,1,0) ");
}

TEST_F(ServicesTest, HeaderRejections) {
  Block b(HYPHEAP_SVM_OP_HASH);
  b.add_src(kShared, 10);
  b.hdr.version = HYPHEAP_SVM_ARGS_VERSION + 1;
  EXPECT_EQ(run(b), HYPHEAP_SVM_ERR_ARGS_VERSION);
  b.hdr.version = HYPHEAP_SVM_ARGS_VERSION;
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_FILL, b.bytes())), HYPHEAP_SVM_ERR_ARGS_OP);
  b.hdr.reserved = 0x80000000;
  EXPECT_EQ(run(b), HYPHEAP_SVM_ERR_ARGS_RESERVED);
  b.hdr.reserved = 0;
  b.hdr.iv[3] = 1;
  EXPECT_EQ(run(b), HYPHEAP_SVM_ERR_ARGS_RESERVED);
  b.hdr.iv[3] = 0;
  b.pattern(1);
  EXPECT_EQ(run(b), HYPHEAP_SVM_ERR_ARGS_RESERVED);
  Block f(HYPHEAP_SVM_OP_FILL);
  f.add_dst(kLent, 1).pattern(0x1ff);
  EXPECT_EQ(run(f), HYPHEAP_SVM_ERR_ARGS_RESERVED);
  Block pin(HYPHEAP_SVM_OP_PIN);
  pin.add_src(kLent, k4K).pattern(1);
  EXPECT_EQ(run(pin), HYPHEAP_SVM_ERR_ARGS_RESERVED);
  EXPECT_EQ(env_.nr_pinned(), 0u);
}

TEST_F(ServicesTest, RangeRejectionsHoldNothingButTheBlock) {
  struct Case {
    Block b;
    int64_t want;
  };
  Block zero(HYPHEAP_SVM_OP_HASH), wrap(HYPHEAP_SVM_OP_HASH), none(HYPHEAP_SVM_OP_HASH),
      hash_dst(HYPHEAP_SVM_OP_HASH), fill_src(HYPHEAP_SVM_OP_FILL),
      dec_no_dst(HYPHEAP_SVM_OP_DECRYPT), pin_dst(HYPHEAP_SVM_OP_PIN), pin_odd(HYPHEAP_SVM_OP_PIN),
      unpin_odd(HYPHEAP_SVM_OP_UNPIN), same_page(HYPHEAP_SVM_OP_HASH),
      cross(HYPHEAP_SVM_OP_DECRYPT), mismatch(HYPHEAP_SVM_OP_DECRYPT),
      fill_part(HYPHEAP_SVM_OP_FILL), fill_end_mid(HYPHEAP_SVM_OP_FILL),
      fill_halves(HYPHEAP_SVM_OP_FILL), dec_part(HYPHEAP_SVM_OP_DECRYPT),
      dec_zero_then_part(HYPHEAP_SVM_OP_DECRYPT);
  zero.add_src(kShared, 10).add_src(kShared + k4K, 0);
  wrap.add_src(~0ULL - 0xfff, 0x1000);
  hash_dst.add_src(kShared, 1).add_dst(kLent, 1);
  fill_src.add_src(kShared, 1).add_dst(kLent, 1);
  dec_no_dst.add_src(kShared, 1);
  pin_dst.add_src(kLent, k4K).add_dst(kLent + k4K, k4K);
  pin_odd.add_src(kLent, k4K).add_src(kLent + 2 * k4K, 100);
  unpin_odd.add_src(kLent + 8, k4K);
  same_page.add_src(kShared, 100).add_src(kShared + 100, 100);
  cross.add_src(kLent + 200, k4K).add_dst(kLent, k4K);
  mismatch.add_src(kShared, 100).add_dst(kLent, k4K);
  fill_part.add_dst(kLent + 100, 100);
  fill_end_mid.add_dst(kLent, k4K + 1);
  fill_halves.add_dst(kLent, k4K / 2).add_dst(kLent + k4K / 2, k4K / 2);
  dec_part.add_src(kShared, 100).add_dst(kLent, 100);
  dec_zero_then_part.add_src(kShared, 0).add_dst(kLent, 100);
  const Case cases[] = {
      {zero, HYPHEAP_SVM_ERR_RANGE_SIZE},
      {wrap, HYPHEAP_SVM_ERR_RANGE_SIZE},
      {none, HYPHEAP_SVM_ERR_RANGE_COUNT},
      {hash_dst, HYPHEAP_SVM_ERR_RANGE_COUNT},
      {fill_src, HYPHEAP_SVM_ERR_RANGE_COUNT},
      {dec_no_dst, HYPHEAP_SVM_ERR_RANGE_COUNT},
      {pin_dst, HYPHEAP_SVM_ERR_RANGE_COUNT},
      {pin_odd, HYPHEAP_SVM_ERR_RANGE_UNALIGNED},
      {unpin_odd, HYPHEAP_SVM_ERR_RANGE_UNALIGNED},
      {same_page, HYPHEAP_SVM_ERR_OVERLAP},
      {cross, HYPHEAP_SVM_ERR_OVERLAP},
      {mismatch, HYPHEAP_SVM_ERR_LEN_MISMATCH},
      {fill_part, HYPHEAP_SVM_ERR_PARTIAL_PAGE},
      {fill_end_mid, HYPHEAP_SVM_ERR_PARTIAL_PAGE},
      {fill_halves, HYPHEAP_SVM_ERR_PARTIAL_PAGE},  // before OVERLAP
      {dec_part, HYPHEAP_SVM_ERR_PARTIAL_PAGE},
      {dec_zero_then_part, HYPHEAP_SVM_ERR_RANGE_SIZE},  // src before dst
  };
  for (const Case& c : cases) {
    env_.clear_log();
    EXPECT_EQ(run(c.b), c.want) << c.b.hdr.op;
    EXPECT_EQ(env_.log(), "hold(0x80000000,1,9) release(0x80000000,1,0) ") << c.b.hdr.op;
  }
  EXPECT_EQ(env_.nr_pinned(), 0u);
}

// --- holds of the ranges ---

TEST_F(ServicesTest, RangesNotTheSecureVmsAreRefused) {
  struct Case {
    uint32_t op;
    uint64_t src, dst;
    int64_t want;
  } cases[] = {
      {HYPHEAP_SVM_OP_HASH, kCarve, 0, HYPHEAP_SVM_ERR_NOT_OWNED},
      {HYPHEAP_SVM_OP_HASH, kUnmapped, 0, HYPHEAP_SVM_ERR_NOT_OWNED},
      {HYPHEAP_SVM_OP_HASH, 0x1000, 0, HYPHEAP_SVM_ERR_NOT_OWNED},  // outside RAM
      {HYPHEAP_SVM_OP_HASH, ~0ULL - 0x1fff, 0, HYPHEAP_SVM_ERR_NOT_OWNED},
      {HYPHEAP_SVM_OP_FILL, 0, kShared + k4K, HYPHEAP_SVM_ERR_NOT_OWNED},  // shared read-only
      {HYPHEAP_SVM_OP_FILL, 0, kArgs, HYPHEAP_SVM_ERR_HOST_READABLE},      // shared writable
      {HYPHEAP_SVM_OP_FILL, 0, kLentRo, HYPHEAP_SVM_ERR_NOT_OWNED},        // lent read-only
      {HYPHEAP_SVM_OP_FILL, 0, kCarve, HYPHEAP_SVM_ERR_NOT_OWNED},
      {HYPHEAP_SVM_OP_DECRYPT, kShared, kArgs, HYPHEAP_SVM_ERR_HOST_READABLE},
      {HYPHEAP_SVM_OP_DECRYPT, kCarve, kLent, HYPHEAP_SVM_ERR_NOT_OWNED},
      {HYPHEAP_SVM_OP_DECRYPT, kShared, kUnmapped, HYPHEAP_SVM_ERR_NOT_OWNED},
  };
  for (const Case& c : cases) {
    Block b(c.op);
    // A HASH of part of a page takes the path of shared-only holds; destinations and the
    // src of a DECRYPT are whole pages.
    if (c.src)
      b.add_src(c.src, c.dst ? k4K : 64);
    if (c.dst)
      b.add_dst(c.dst, k4K);
    EXPECT_EQ(run(b), c.want) << c.op << std::hex << " " << c.src << " " << c.dst;
  }
  // A range that starts in a lent page and runs into an unmapped one.
  Block b(HYPHEAP_SVM_OP_HASH);
  b.add_src(kCarve - 10, 20);
  EXPECT_EQ(run(b), HYPHEAP_SVM_ERR_NOT_OWNED);
}

// A refused hold releases what the call already held, in reverse order, and nothing else.
TEST_F(ServicesTest, AFailedHoldReleasesTheEarlierOnes) {
  Block b(HYPHEAP_SVM_OP_DECRYPT);
  b.add_src(kShared, 2 * k4K).add_src(kLent, k4K);
  b.add_dst(kLent + 4 * k4K, k4K).add_dst(kLent + 8 * k4K, 2 * k4K);
  env_.set(kLent + 9 * k4K, 1, Kind::kShared);  // the last page of the last range
  env_.clear_log();
  EXPECT_EQ(run(b), HYPHEAP_SVM_ERR_HOST_READABLE);
  EXPECT_EQ(env_.log(),
            "hold(0x80000000,1,9) release(0x80000000,1,0) "
            "hold(0x80001000,2,1) hold(0x80010000,1,1) hold(0x80014000,1,6) "
            "hold(0x80018000,2,6) "
            "release(0x80014000,1,0) release(0x80010000,1,0) release(0x80001000,2,0) ");
}

// Calls: 0 hold of the block's page, 1 its release, 2 hold of src[0], 3 hold of src[1].
TEST_F(ServicesTest, EveryHoldStatusOfTheSecondRangeAndTheFirstIsReleased) {
  const struct {
    int64_t hyp, want;
  } cases[] = {
      {HYPHEAP_ERR_BUSY, HYPHEAP_SVM_ERR_BUSY},
      {HYPHEAP_ERR_NO_MEMORY, HYPHEAP_SVM_ERR_NO_MEMORY},
      {HYPHEAP_ERR_NOT_MAPPED, HYPHEAP_SVM_ERR_NOT_OWNED},
      {HYPHEAP_ERR_PROTECTED, HYPHEAP_SVM_ERR_NOT_OWNED},
      {HYPHEAP_ERR_HOST_ACCESS, HYPHEAP_SVM_ERR_HOST_READABLE},
      {HYPHEAP_ERR_RANGE_SIZE, HYPHEAP_SVM_ERR_NOT_OWNED},
  };
  for (const auto& c : cases) {
    Block b(HYPHEAP_SVM_OP_HASH);
    b.add_src(kShared, 10).add_src(kLent, k4K);
    env_.clear_log();
    env_.inject(3, c.hyp);
    EXPECT_EQ(run(b), c.want) << c.hyp;
    EXPECT_EQ(env_.log(),
              "hold(0x80000000,1,9) release(0x80000000,1,0) hold(0x80001000,1,9) "
              "hold(0x80010000,1,1) release(0x80001000,1,0) ");
  }
}

// Releasing what the call holds cannot fail unless the hyp is broken; if it does, the call
// does not claim success, and it still releases the rest.
TEST_F(ServicesTest, AFailedReleaseIsNeverASuccess) {
  Block b(HYPHEAP_SVM_OP_HASH);
  b.add_src(kShared, 10).add_src(kLent, k4K);
  const auto bytes = b.bytes();
  std::memcpy(env_.at(kArgs), bytes.data(), bytes.size());
  env_.inject(4, HYPHEAP_ERR_NOT_MAPPED);  // the release of src[1], the first released
  Message m = dispatch(env_, config_, shared_, HYPHEAP_FFA_ID_HOST,
                       Message{{HYPHEAP_SVM_OP_HASH, kArgs, bytes.size(), 0, 0}});
  EXPECT_EQ(status(m), HYPHEAP_SVM_ERR_NOT_OWNED);
  EXPECT_EQ(m.data[1], 0u);
  EXPECT_FALSE(env_.state(kShared).held) << "src[0] is released all the same";
  // The block's page.
  env_.inject(1, HYPHEAP_ERR_NOT_MAPPED);
  m = dispatch(env_, config_, shared_, HYPHEAP_FFA_ID_HOST,
               Message{{HYPHEAP_SVM_OP_HASH, kArgs, bytes.size(), 0, 0}});
  EXPECT_EQ(status(m), HYPHEAP_SVM_ERR_NOT_OWNED);
  EXPECT_TRUE(env_.violations().empty());
}

// --- HASH ---

TEST_F(ServicesTest, HashOfAbcIsTheFips180Digest) {
  std::memcpy(env_.at(kShared + 5), "abc", 3);
  Block b(HYPHEAP_SVM_OP_HASH);
  b.add_src(kShared + 5, 3);
  const Message m = call(b);
  ASSERT_EQ(status(m), HYPHEAP_SVM_OK);
  EXPECT_EQ(to_hex(digest_of(m).data(), 32),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// Ranges in any order, crossing pages, byte ranges in shared memory and whole pages in lent
// memory: the digest is that of their concatenation in list order.
TEST_F(ServicesTest, HashOverSeveralRangesIsTheHashOfTheConcatenation) {
  std::mt19937_64 rng(11);
  for (int iter = 0; iter < 50; iter++) {
    Block b(HYPHEAP_SVM_OP_HASH);
    // Up to 6 ranges in distinct page groups of 4 pages (shared 1..12, lent 16..47).
    const uint64_t groups[] = {kShared,         kShared + 4 * k4K, kShared + 8 * k4K, kLent,
                               kLent + 8 * k4K, kLent + 16 * k4K,  kLent + 24 * k4K};
    std::vector<int> order = {0, 1, 2, 3, 4, 5, 6};
    std::shuffle(order.begin(), order.end(), rng);
    const size_t n = 1 + rng() % 6;
    for (size_t i = 0; i < n; i++) {
      if (order[i] < 3)
        b.add_src(groups[order[i]] + rng() % (2 * k4K), 1 + rng() % (2 * k4K));
      else
        b.add_src(groups[order[i]] + rng() % 2 * k4K, (1 + rng() % 2) * k4K);
    }
    const Message m = call(b);
    ASSERT_EQ(status(m), HYPHEAP_SVM_OK);
    const auto data = bytes_of(b.src);
    EXPECT_EQ(digest_of(m), openssl_sha256(data.data(), data.size())) << iter;
  }
}

TEST_F(ServicesTest, HashOfAPinnedPageIsAllowed) {
  Block pin(HYPHEAP_SVM_OP_PIN);
  pin.add_src(kLent, k4K);
  ASSERT_EQ(run(pin), HYPHEAP_SVM_OK);
  Block b(HYPHEAP_SVM_OP_HASH);
  b.add_src(kLent, k4K);
  EXPECT_EQ(run(b), HYPHEAP_SVM_OK);
}

// --- DECRYPT ---

// Ciphertext from OpenSSL (CENC: iv || block number from 0) split over shared source ranges
// at odd places, decrypted into whole-page destination ranges: the counter runs on across
// every boundary, so the plaintext comes back whole.
TEST_F(ServicesTest, DecryptCounterRunsAcrossRangeBoundaries) {
  std::mt19937_64 rng(13);
  int checked = 0;
  for (int iter = 0; iter < 60; iter++) {
    uint8_t iv[8];
    for (auto& x : iv)
      x = uint8_t(rng());
    const size_t total = (1 + rng() % 4) * k4K;
    std::vector<uint8_t> plain(total);
    for (auto& x : plain)
      x = uint8_t(rng());
    const auto cipher = openssl_ctr(kKey, iv, plain.data(), total);

    Block b(HYPHEAP_SVM_OP_DECRYPT);
    b.iv(iv);
    // Sources in shared pages cut at random points, each starting in a page after the
    // previous one's last page; destinations in lent pages cut into runs of whole pages.
    size_t left = total;
    uint64_t src = kShared + rng() % 100;
    while (left > 0) {
      const size_t n = left < 3 ? left : 1 + rng() % std::min<size_t>(left, 6000);
      b.add_src(src, n);
      src = ((src + n + k4K - 1) & ~(k4K - 1)) + rng() % 50;
      left -= n;
    }
    uint64_t dst = kLent + rng() % 2 * k4K;
    for (size_t pages = total / k4K; pages > 0;) {
      const size_t n = 1 + rng() % std::min<size_t>(pages, 2);
      b.add_dst(dst, n * k4K);
      dst += (n + rng() % 2) * k4K;
      pages -= n;
    }
    if (src > kShared + 15 * k4K)
      continue;  // did not fit the fake RAM
    write(b.src, cipher);
    const Message m = call(b);
    ASSERT_EQ(status(m), HYPHEAP_SVM_OK) << iter;
    EXPECT_EQ(bytes_of(b.dst), plain) << iter << " " << b.src.size() << "/" << b.dst.size();
    checked += b.src.size() > 1 && b.dst.size() > 1;
  }
  EXPECT_GE(checked, 20) << "too few inputs split on both sides";
}

TEST_F(ServicesTest, DecryptFromLentSourceIntoLentDestination) {
  const uint8_t iv[8] = {1, 1, 2, 3, 5, 8, 13, 21};
  std::vector<uint8_t> plain(k4K, 0x42);
  const auto cipher = openssl_ctr(kKey, iv, plain.data(), plain.size());
  Block b(HYPHEAP_SVM_OP_DECRYPT);
  b.iv(iv).add_src(kLent + 3 * k4K, k4K).add_dst(kLent, k4K);
  write(b.src, cipher);
  ASSERT_EQ(run(b), HYPHEAP_SVM_OK);
  EXPECT_EQ(bytes_of(b.dst), plain);
}

// --- FILL ---

TEST_F(ServicesTest, FillWritesThePatternAndNothingElse) {
  Block b(HYPHEAP_SVM_OP_FILL);
  b.pattern(0xa5)
      .add_dst(kLent, k4K)
      .add_dst(kLent + 3 * k4K, 3 * k4K)
      .add_dst(kLent + 10 * k4K, k4K);
  ASSERT_EQ(run(b), HYPHEAP_SVM_OK);
  for (uint8_t x : bytes_of(b.dst))
    ASSERT_EQ(x, 0xa5);
}

// What FILL writes reaches the point of coherency: a device of the secure VM that does not
// snoop (its SMMU maps the VM's pages) reads the zeros of a pooled buffer, not the last
// buffer's bytes, and no dirty line lands later over what the device wrote.
TEST_F(ServicesTest, FillCleansEveryByteItWroteToThePointOfCoherency) {
  for (const uint32_t pattern : {0u, 0xa5u}) {
    env_.clear_cleans();
    Block b(HYPHEAP_SVM_OP_FILL);
    b.pattern(pattern).add_dst(kLent, 2 * k4K).add_dst(kLent + 5 * k4K, k4K);
    ASSERT_EQ(run(b), HYPHEAP_SVM_OK);
    EXPECT_TRUE(env_.cleaned(kLent, 2 * k4K)) << "pattern " << pattern;
    EXPECT_TRUE(env_.cleaned(kLent + 5 * k4K, k4K)) << "pattern " << pattern;
    EXPECT_FALSE(env_.cleaned(kLent + 2 * k4K, k4K)) << "cleaned what it did not write";
  }
}

// The same for DECRYPT's plaintext, which a secure decoder reads next.
TEST_F(ServicesTest, DecryptCleansThePlaintextToThePointOfCoherency) {
  const uint8_t iv[8] = {1, 1, 2, 3, 5, 8, 13, 21};
  std::vector<uint8_t> plain(2 * k4K, 0x42);
  const auto cipher = openssl_ctr(kKey, iv, plain.data(), plain.size());
  Block b(HYPHEAP_SVM_OP_DECRYPT);
  b.iv(iv).add_src(kShared, 2 * k4K).add_dst(kLent, 2 * k4K);
  write(b.src, cipher);
  env_.clear_cleans();
  ASSERT_EQ(run(b), HYPHEAP_SVM_OK);
  EXPECT_EQ(bytes_of(b.dst), plain);
  EXPECT_TRUE(env_.cleaned(kLent, 2 * k4K));
  EXPECT_FALSE(env_.cleaned(kShared, 2 * k4K)) << "cleaned the ciphertext";
}

// --- PIN / UNPIN ---

TEST_F(ServicesTest, PinThenUnpin) {
  Block pin(HYPHEAP_SVM_OP_PIN);
  pin.add_src(kLent, 2 * k4K).add_src(kShared + 4 * k4K, k4K);
  ASSERT_EQ(run(pin), HYPHEAP_SVM_OK);
  EXPECT_EQ(env_.nr_pinned(), 3u);
  EXPECT_TRUE(env_.state(kLent + k4K).pinned);
  EXPECT_TRUE(env_.state(kShared + 4 * k4K).pinned);
  EXPECT_EQ(run(pin), HYPHEAP_SVM_ERR_PIN_STATE);
  EXPECT_EQ(env_.nr_pinned(), 3u);
  Block unpin(HYPHEAP_SVM_OP_UNPIN);
  unpin.add_src(kShared + 4 * k4K, k4K).add_src(kLent, 2 * k4K);
  ASSERT_EQ(run(unpin), HYPHEAP_SVM_OK);
  EXPECT_EQ(env_.nr_pinned(), 0u);
  EXPECT_EQ(run(unpin), HYPHEAP_SVM_ERR_PIN_STATE);
}

// PIN and UNPIN are all or nothing: a refused range undoes the ranges before it.
TEST_F(ServicesTest, AFailedPinOrUnpinUndoesTheEarlierRanges) {
  env_.set_pinned(kLent + 5 * k4K, true);
  Block pin(HYPHEAP_SVM_OP_PIN);
  pin.add_src(kLent, 2 * k4K).add_src(kLent + 4 * k4K, 2 * k4K);
  env_.clear_log();
  EXPECT_EQ(run(pin), HYPHEAP_SVM_ERR_PIN_STATE);
  EXPECT_EQ(env_.nr_pinned(), 1u);
  EXPECT_EQ(env_.log(),
            "hold(0x80000000,1,9) release(0x80000000,1,0) pin(0x80010000,2,0) "
            "pin(0x80014000,2,0) unpin(0x80010000,2,0) ");
  // UNPIN of [pinned, not pinned]: the first is pinned again.
  Block unpin(HYPHEAP_SVM_OP_UNPIN);
  unpin.add_src(kLent + 5 * k4K, k4K).add_src(kLent, k4K);
  EXPECT_EQ(run(unpin), HYPHEAP_SVM_ERR_PIN_STATE);
  EXPECT_TRUE(env_.state(kLent + 5 * k4K).pinned);
  EXPECT_EQ(env_.nr_pinned(), 1u);
}

TEST_F(ServicesTest, PinStatusesFromTheHyp) {
  Block carve(HYPHEAP_SVM_OP_PIN), unmapped(HYPHEAP_SVM_OP_PIN), ok(HYPHEAP_SVM_OP_PIN);
  carve.add_src(kCarve, k4K);
  unmapped.add_src(kUnmapped, k4K);
  ok.add_src(kLent, k4K);
  EXPECT_EQ(run(carve), HYPHEAP_SVM_ERR_NOT_OWNED);
  EXPECT_EQ(run(unmapped), HYPHEAP_SVM_ERR_NOT_OWNED);
  env_.inject(2, HYPHEAP_ERR_BUSY);  // after the block's hold and release
  EXPECT_EQ(run(ok), HYPHEAP_SVM_ERR_BUSY);
  env_.inject(2, HYPHEAP_ERR_NO_MEMORY);
  EXPECT_EQ(run(ok), HYPHEAP_SVM_ERR_NO_MEMORY);
  EXPECT_EQ(env_.nr_pinned(), 0u);
}

// --- whole pages wherever the host cannot read (abi.h, PARTIAL_PAGE) ---

// The 256 digests of one byte: what a host that can HASH one byte of a page matches.
std::vector<std::vector<uint8_t>> one_byte_digests() {
  std::vector<std::vector<uint8_t>> table(256);
  for (int b = 0; b < 256; b++) {
    const uint8_t byte = uint8_t(b);
    table[b] = openssl_sha256(&byte, 1);
  }
  return table;
}

// The attack of the review: the host decrypts a frame into a lent page it cannot read, then
// asks HASH for one byte of it at a time and matches each digest against the 256 digests of
// one byte. Part of a lent page is PARTIAL_PAGE for HASH, so not one byte comes back.
TEST_F(ServicesTest, HashOfOneByteOfADecryptedPageIsRefusedSoNoPlaintextByteIsRecovered) {
  const uint8_t iv[8] = {9, 8, 7, 6, 5, 4, 3, 2};
  const char secret[] = "protected frame: host must never see this";
  const size_t n = sizeof(secret) - 1;
  std::vector<uint8_t> plain(k4K, 0);  // the frame padded to a page, as the ABI asks
  std::memcpy(plain.data(), secret, n);
  const auto cipher = openssl_ctr(kKey, iv, plain.data(), plain.size());
  Block d(HYPHEAP_SVM_OP_DECRYPT);
  d.iv(iv).add_src(kShared, k4K).add_dst(kLent, k4K);
  write(d.src, cipher);
  ASSERT_EQ(run(d), HYPHEAP_SVM_OK);

  const auto table = one_byte_digests();
  std::string recovered;
  for (size_t i = 0; i < n; i++) {
    Block h(HYPHEAP_SVM_OP_HASH);
    h.add_src(kLent + i, 1);  // only what the host itself could name
    const Message m = call(h);
    EXPECT_EQ(status(m), HYPHEAP_SVM_ERR_PARTIAL_PAGE) << i;
    if (status(m) != HYPHEAP_SVM_OK)
      continue;
    for (int b = 0; b < 256; b++) {
      if (table[b] == digest_of(m))
        recovered.push_back(char(b));
    }
  }
  EXPECT_EQ(recovered, "") << "the host read the plaintext through HASH";
}

// The second attack: FILL a lent page with zeros, DECRYPT the first i + 1 bytes of the frame
// into the start of it, HASH the whole page and match against the 256 pages that differ in
// byte i (bytes before it are known from the earlier rounds). DECRYPT into part of a page is
// PARTIAL_PAGE: the page keeps the pattern, and its digest is that of 4096 zeros.
TEST_F(ServicesTest, DecryptIntoPartOfAFilledPageIsRefusedSoItsWholePageHashTellsNothing) {
  const uint8_t iv[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<uint8_t> plain(k4K);
  for (size_t i = 0; i < plain.size(); i++)
    plain[i] = uint8_t(i * 7 + 3);
  const auto cipher = openssl_ctr(kKey, iv, plain.data(), plain.size());
  std::memcpy(env_.at(kShared), cipher.data(), cipher.size());

  const uint64_t page = kLent + 2 * k4K;
  const std::vector<uint8_t> zeros(k4K, 0);
  std::vector<uint8_t> guess(k4K, 0);
  std::string recovered;
  for (size_t i = 0; i < 8; i++) {
    Block f(HYPHEAP_SVM_OP_FILL);
    f.add_dst(page, k4K).pattern(0);
    ASSERT_EQ(run(f), HYPHEAP_SVM_OK);
    Block d(HYPHEAP_SVM_OP_DECRYPT);
    d.iv(iv).add_src(kShared, i + 1).add_dst(page, i + 1);
    const int64_t decrypted = status(call(d));
    EXPECT_EQ(decrypted, HYPHEAP_SVM_ERR_PARTIAL_PAGE) << i;
    Block h(HYPHEAP_SVM_OP_HASH);
    h.add_src(page, k4K);
    const Message m = call(h);
    ASSERT_EQ(status(m), HYPHEAP_SVM_OK) << "a whole lent page may be hashed";
    if (decrypted != HYPHEAP_SVM_OK) {
      EXPECT_EQ(digest_of(m), openssl_sha256(zeros.data(), k4K));
      continue;
    }
    for (int b = 0; b < 256; b++) {
      guess[i] = uint8_t(b);
      if (openssl_sha256(guess.data(), k4K) == digest_of(m)) {
        recovered.push_back(char(b));
        break;
      }
    }
  }
  EXPECT_EQ(recovered, "") << "the host read plaintext through FILL, DECRYPT and HASH";
}

// A third attack, on DECRYPT's source: with the IV fixed, the host decrypts 4095 bytes it
// knows followed by one byte of a lent page, then the same 4095 bytes followed by a guess
// from a shared page, and compares the whole-page digests of the two destinations: they
// match when the guess is the lent byte (CTR is byte by byte). A source range over lent
// pages must be whole pages, so the first DECRYPT is PARTIAL_PAGE.
TEST_F(ServicesTest, DecryptSourceMixingOneLentByteWithKnownBytesIsRefused) {
  const uint64_t secret = kLent, known = kShared + 4 * k4K, guess = kShared + 6 * k4K;
  const uint64_t target = kLent + 4 * k4K, probe = kLent + 6 * k4K;
  const uint8_t iv[8] = {7, 7, 7, 7, 7, 7, 7, 7};
  const uint8_t secret_byte = *env_.at(secret + 17);
  Block d(HYPHEAP_SVM_OP_DECRYPT);
  d.iv(iv).add_src(known, k4K - 1).add_src(secret + 17, 1).add_dst(target, k4K);
  const int64_t mixed = run(d);
  EXPECT_EQ(mixed, HYPHEAP_SVM_ERR_PARTIAL_PAGE);
  int recovered = -1;
  if (mixed == HYPHEAP_SVM_OK) {
    Block h(HYPHEAP_SVM_OP_HASH);
    h.add_src(target, k4K);
    const auto want = digest_of(call(h));
    for (int g = 0; g < 256 && recovered < 0; g++) {
      *env_.at(guess) = uint8_t(g);
      Block r(HYPHEAP_SVM_OP_DECRYPT);
      r.iv(iv).add_src(known, k4K - 1).add_src(guess, 1).add_dst(probe, k4K);
      ASSERT_EQ(run(r), HYPHEAP_SVM_OK) << "known bytes of shared pages may be decrypted";
      Block hp(HYPHEAP_SVM_OP_HASH);
      hp.add_src(probe, k4K);
      if (digest_of(call(hp)) == want)
        recovered = g;
    }
  }
  EXPECT_NE(recovered, int(secret_byte)) << "the host read a lent byte through DECRYPT";
}

// The same with whole lent pages moved off the page grid: one known byte first shifts the
// lent page by one, so the last byte of the second destination page is a lent byte next to
// 4095 known ones. A lent source range must also start at a page multiple of the stream.
TEST_F(ServicesTest, DecryptSourceShiftingAWholeLentPageOffThePageGridIsRefused) {
  const uint64_t secret = kLent, known = kShared + 4 * k4K, guess = kShared + 6 * k4K;
  const uint64_t target = kLent + 4 * k4K, probe = kLent + 8 * k4K;
  const uint8_t iv[8] = {3, 1, 4, 1, 5, 9, 2, 6};
  const uint8_t secret_byte = *env_.at(secret + k4K - 1);
  Block d(HYPHEAP_SVM_OP_DECRYPT);
  d.iv(iv)
      .add_src(known, 1)
      .add_src(secret, k4K)
      .add_src(known + k4K, k4K - 1)
      .add_dst(target, 2 * k4K);
  const int64_t shifted = run(d);
  EXPECT_EQ(shifted, HYPHEAP_SVM_ERR_PARTIAL_PAGE);
  int recovered = -1;
  if (shifted == HYPHEAP_SVM_OK) {
    Block h(HYPHEAP_SVM_OP_HASH);
    h.add_src(target + k4K, k4K);
    const auto want = digest_of(call(h));
    for (int g = 0; g < 256 && recovered < 0; g++) {
      *env_.at(guess + k4K) = uint8_t(g);  // byte 4096 of the stream
      Block r(HYPHEAP_SVM_OP_DECRYPT);
      r.iv(iv).add_src(guess, k4K + 1).add_src(known + k4K, k4K - 1).add_dst(probe, 2 * k4K);
      ASSERT_EQ(run(r), HYPHEAP_SVM_OK);
      Block hp(HYPHEAP_SVM_OP_HASH);
      hp.add_src(probe + k4K, k4K);
      if (digest_of(call(hp)) == want)
        recovered = g;
    }
  }
  EXPECT_NE(recovered, int(secret_byte)) << "the host read a lent byte through DECRYPT";
}

// What an attacker would try around the page grid, op by op: each request is either whole
// pages where the host cannot read, or refused (PARTIAL_PAGE, or an earlier check), and
// call() checks after each that nothing is held and nothing changed on a refusal.
TEST_F(ServicesTest, EveryWayAroundThePageGridIsWholePagesOrRefused) {
  struct Case {
    const char* what;
    uint32_t op;
    std::vector<hypheap_mem_range> src, dst;
    int64_t want;
  };
  constexpr int64_t kOk = HYPHEAP_SVM_OK, kPartial = HYPHEAP_SVM_ERR_PARTIAL_PAGE;
  constexpr uint32_t kHash = HYPHEAP_SVM_OP_HASH, kDecrypt = HYPHEAP_SVM_OP_DECRYPT,
                     kFill = HYPHEAP_SVM_OP_FILL;
  const uint64_t l = kLent, l2 = kLent + 4 * k4K, s = kShared;  // l - 1 is shared
  const Case cases[] = {
      {"hash whole lent page", kHash, {{l, k4K}}, {}, kOk},
      {"hash two whole lent pages", kHash, {{l, 2 * k4K}}, {}, kOk},
      {"hash lent, aligned start, ends mid-page", kHash, {{l, k4K + 1}}, {}, kPartial},
      {"hash lent, one short of a page", kHash, {{l, k4K - 1}}, {}, kPartial},
      {"hash lent, starts mid-page", kHash, {{l + 1, k4K}}, {}, kPartial},
      {"hash one byte of lent", kHash, {{l + k4K - 1, 1}}, {}, kPartial},
      {"hash lent read-only, one byte", kHash, {{kLentRo, 1}}, {}, kPartial},
      {"hash bytes of shared", kHash, {{s + 5, 100}}, {}, kOk},
      {"hash shared into adjacent lent", kHash, {{l - 10, 20}}, {}, kPartial},
      {"hash shared then one lent byte", kHash, {{l - k4K + 1, k4K}}, {}, kPartial},
      {"hash whole shared + whole lent", kHash, {{l - k4K, 2 * k4K}}, {}, kOk},
      {"hash shared bytes, then a whole lent page", kHash, {{s, 100}, {l, k4K}}, {}, kOk},
      {"hash whole lent, then one lent byte", kHash, {{l, k4K}, {l2, 1}}, {}, kPartial},
      {"hash two halves of a lent page",
       kHash,
       {{l, 2048}, {l + 2048, 2048}},
       {},
       HYPHEAP_SVM_ERR_OVERLAP},
      {"hash zero bytes of lent", kHash, {{l, 0}}, {}, HYPHEAP_SVM_ERR_RANGE_SIZE},
      {"hash shared, then zero bytes", kHash, {{s, 1}, {l, 0}}, {}, HYPHEAP_SVM_ERR_RANGE_SIZE},
      {"hash lent read-only into carve-out",
       kHash,
       {{kCarve - 1, 2}},
       {},
       HYPHEAP_SVM_ERR_NOT_OWNED},
      {"hash bytes of unmapped", kHash, {{kUnmapped + 3, 10}}, {}, HYPHEAP_SVM_ERR_NOT_OWNED},
      {"decrypt shared page to lent page", kDecrypt, {{s, k4K}}, {{l, k4K}}, kOk},
      {"decrypt shared bytes to lent page",
       kDecrypt,
       {{s + 1, 100}, {s + 2 * k4K, k4K - 100}},
       {{l, k4K}},
       kOk},
      {"decrypt to a page less one byte", kDecrypt, {{s, k4K - 1}}, {{l, k4K - 1}}, kPartial},
      {"decrypt to aligned start, ends mid-page",
       kDecrypt,
       {{s, k4K + 1}},
       {{l, k4K + 1}},
       kPartial},
      {"decrypt to two halves of a page",
       kDecrypt,
       {{s, k4K}},
       {{l, 2048}, {l + 2048, 2048}},
       kPartial},
      {"decrypt lent page on the grid", kDecrypt, {{l, k4K}}, {{l2, k4K}}, kOk},
      {"decrypt lent read-only page", kDecrypt, {{kLentRo, k4K}}, {{l, k4K}}, kOk},
      {"decrypt shared bytes to a page, then lent",
       kDecrypt,
       {{s, 100}, {s + k4K, k4K - 100}, {l, k4K}},
       {{l2, 2 * k4K}},
       kOk},
      {"decrypt lent page off the grid",
       kDecrypt,
       {{s, 100}, {l, k4K}, {s + k4K, k4K - 100}},
       {{l2, 2 * k4K}},
       kPartial},
      {"decrypt lent bytes", kDecrypt, {{l, 100}, {s, k4K - 100}}, {{l2, k4K}}, kPartial},
      {"decrypt shared into adjacent lent", kDecrypt, {{l - 100, k4K}}, {{l2, k4K}}, kPartial},
      {"fill whole page", kFill, {}, {{l, k4K}}, kOk},
      {"fill aligned start, ends mid-page", kFill, {}, {{l, k4K + 1}}, kPartial},
      {"fill last byte of a page", kFill, {}, {{l + k4K - 1, 1}}, kPartial},
      {"fill two halves of a page", kFill, {}, {{l, 2048}, {l + 2048, 2048}}, kPartial},
      {"fill zero bytes", kFill, {}, {{l, 0}}, HYPHEAP_SVM_ERR_RANGE_SIZE},
  };
  for (const Case& c : cases) {
    Block b(c.op);
    b.src = c.src;
    b.dst = c.dst;
    EXPECT_EQ(run(b), c.want) << c.what;
  }
}

// A HASH of part of a lent page asks the hyp twice (need R + SHARED, then R alone, dropped at
// once); each refusal of either hold maps as any src hold's, and the ranges before it are
// released. Calls: 0/1 the block's page, 2 src[0], 3 src[1] shared, 4 src[1] with need R.
TEST_F(ServicesTest, PartOfALentPageIsToldFromNotOwnedByASecondHold) {
  Block b(HYPHEAP_SVM_OP_HASH);
  b.add_src(kShared, 10).add_src(kLent + 1, 10);
  env_.clear_log();
  EXPECT_EQ(run(b), HYPHEAP_SVM_ERR_PARTIAL_PAGE);
  EXPECT_EQ(env_.log(),
            "hold(0x80000000,1,9) release(0x80000000,1,0) hold(0x80001000,1,9) "
            "hold(0x80010000,1,9) hold(0x80010000,1,1) release(0x80010000,1,0) "
            "release(0x80001000,1,0) ");
  const struct {
    size_t call;
    int64_t hyp, want;
    const char* log;
  } cases[] = {
      {3, HYPHEAP_ERR_BUSY, HYPHEAP_SVM_ERR_BUSY, ""},
      {3, HYPHEAP_ERR_NO_MEMORY, HYPHEAP_SVM_ERR_NO_MEMORY, ""},
      {3, HYPHEAP_ERR_PROTECTED, HYPHEAP_SVM_ERR_NOT_OWNED, ""},
      {3, HYPHEAP_ERR_RANGE_SIZE, HYPHEAP_SVM_ERR_NOT_OWNED, ""},
      {4, HYPHEAP_ERR_NOT_MAPPED, HYPHEAP_SVM_ERR_NOT_OWNED, "hold(0x80010000,1,1) "},
      {4, HYPHEAP_ERR_PROTECTED, HYPHEAP_SVM_ERR_NOT_OWNED, "hold(0x80010000,1,1) "},
      {4, HYPHEAP_ERR_BUSY, HYPHEAP_SVM_ERR_BUSY, "hold(0x80010000,1,1) "},
      {4, HYPHEAP_ERR_NO_MEMORY, HYPHEAP_SVM_ERR_NO_MEMORY, "hold(0x80010000,1,1) "},
  };
  for (const auto& c : cases) {
    env_.clear_log();
    env_.inject(c.call, c.hyp);
    EXPECT_EQ(run(b), c.want) << c.call << " " << c.hyp;
    EXPECT_EQ(env_.log(), std::string("hold(0x80000000,1,9) release(0x80000000,1,0) "
                                      "hold(0x80001000,1,9) hold(0x80010000,1,9) ") +
                              c.log + "release(0x80001000,1,0) ")
        << c.call << " " << c.hyp;
  }
  // A part of a shared page is held once, with need R + SHARED.
  Block shared(HYPHEAP_SVM_OP_HASH);
  shared.add_src(kShared + 1, 10);
  env_.clear_log();
  EXPECT_EQ(run(shared), HYPHEAP_SVM_OK);
  EXPECT_EQ(env_.log(),
            "hold(0x80000000,1,9) release(0x80000000,1,0) hold(0x80001000,1,9) "
            "release(0x80001000,1,0) ");
}

// The release of the second hold cannot fail unless the hyp is broken; if it does, the
// answer is that failure (never PARTIAL_PAGE as if all were well), and src[0] is released.
TEST_F(ServicesTest, AFailedReleaseOfTheSecondHoldIsTheAnswer) {
  Block b(HYPHEAP_SVM_OP_HASH);
  b.add_src(kShared, 10).add_src(kLent + 1, 10);
  const auto bytes = b.bytes();
  std::memcpy(env_.at(kArgs), bytes.data(), bytes.size());
  env_.inject(5, HYPHEAP_ERR_NOT_MAPPED);
  const Message m = dispatch(env_, config_, shared_, HYPHEAP_FFA_ID_HOST,
                             Message{{HYPHEAP_SVM_OP_HASH, kArgs, bytes.size(), 0, 0}});
  EXPECT_EQ(status(m), HYPHEAP_SVM_ERR_NOT_OWNED);
  EXPECT_FALSE(env_.state(kShared).held);
  EXPECT_TRUE(env_.violations().empty());
}

// FILL then DECRYPT over the same page: a whole page of plaintext replaces the whole pattern
// (no byte of the FILL is left for a HASH to compare against).
TEST_F(ServicesTest, FillThenWholePageDecryptLeavesNoPatternByte) {
  const uint8_t iv[8] = {4, 4, 4, 4, 4, 4, 4, 4};
  std::vector<uint8_t> plain(k4K);
  for (size_t i = 0; i < k4K; i++)
    plain[i] = uint8_t(i % 251);
  const auto cipher = openssl_ctr(kKey, iv, plain.data(), plain.size());
  Block f(HYPHEAP_SVM_OP_FILL);
  f.add_dst(kLent, k4K).pattern(0xcc);
  ASSERT_EQ(run(f), HYPHEAP_SVM_OK);
  Block d(HYPHEAP_SVM_OP_DECRYPT);
  d.iv(iv).add_src(kShared + 100, k4K / 2).add_src(kShared + 2 * k4K, k4K / 2).add_dst(kLent, k4K);
  write(d.src, cipher);
  ASSERT_EQ(run(d), HYPHEAP_SVM_OK);
  EXPECT_EQ(bytes_of(d.dst), plain);
}

}  // namespace
}  // namespace hyp::svm::testing

// --- requests in chunks (1.1): streaming HASH, DECRYPT at an offset, INFO's overlap count ---

namespace hyp::svm::testing {
namespace {

class StreamTest : public ServicesTest {
 protected:
  uint64_t begin() {
    const Message m = call(HYPHEAP_SVM_OP_HASH_BEGIN, {}, 0, 0);
    EXPECT_EQ(status(m), HYPHEAP_SVM_OK);
    return m.data[1];
  }
  Message update(uint64_t handle, uint64_t offset, const Block& b) {
    Block u = b;
    u.hdr.op = HYPHEAP_SVM_OP_HASH_UPDATE;
    return call(HYPHEAP_SVM_OP_HASH_UPDATE, u.bytes(), kArgs, ~0ULL, handle, offset);
  }
  Message final(uint64_t handle, uint64_t total) {
    return call(HYPHEAP_SVM_OP_HASH_FINAL, {}, handle, total);
  }
  int64_t abort(uint64_t handle) { return status(call(HYPHEAP_SVM_OP_HASH_ABORT, {}, handle, 0)); }
};

// Chunks of lent whole pages and shared byte ranges, in any split: the digest is the one a
// single HASH of all the ranges gives, and the context is gone afterwards.
TEST_F(StreamTest, ChunksHashAsOneMessage) {
  const std::vector<Block> chunks = {
      Block(0).add_src(kLent, 3 * k4K).add_src(kShared + 17, 1000),
      Block(0).add_src(kLent + 8 * k4K, k4K),
      Block(0).add_src(kShared + 4 * k4K + 5, 9000).add_src(kLent + 4 * k4K, 2 * k4K)};
  Block whole(HYPHEAP_SVM_OP_HASH);
  const uint64_t h = begin();
  uint64_t offset = 0;
  for (const Block& c : chunks) {
    ASSERT_EQ(status(update(h, offset, c)), HYPHEAP_SVM_OK);
    for (const auto& r : c.src) {
      whole.add_src(r.addr, r.size);
      offset += r.size;
    }
  }
  const Message one = call(whole);
  ASSERT_EQ(status(one), HYPHEAP_SVM_OK);
  const Message fin = final(h, offset);
  ASSERT_EQ(status(fin), HYPHEAP_SVM_OK);
  EXPECT_EQ(digest_of(fin), digest_of(one));
  const auto data = bytes_of(whole.src);
  EXPECT_EQ(digest_of(fin), openssl_sha256(data.data(), data.size()));
  EXPECT_EQ(shared_.hashes.nr_live(), 0u);
  EXPECT_EQ(status(final(h, offset)), HYPHEAP_SVM_ERR_HASH_HANDLE) << "FINAL frees it";
  EXPECT_EQ(status(update(h, offset, chunks[1])), HYPHEAP_SVM_ERR_HASH_HANDLE);
  EXPECT_EQ(abort(h), HYPHEAP_SVM_ERR_HASH_HANDLE);
}

TEST_F(StreamTest, AnEmptyStreamIsTheDigestOfNothing) {
  const Message fin = final(begin(), 0);
  ASSERT_EQ(status(fin), HYPHEAP_SVM_OK);
  EXPECT_EQ(to_hex(digest_of(fin).data(), 32),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// Every refusal leaves the context as it was: the digest at the end is that of the chunks
// that were accepted, as if the refused ones had never been sent.
TEST_F(StreamTest, EveryRefusedUpdateLeavesTheContextUnchanged) {
  const uint64_t h = begin();
  const Block good = Block(0).add_src(kLent, 2 * k4K);
  ASSERT_EQ(status(update(h, 0, good)), HYPHEAP_SVM_OK);
  const uint64_t at = 2 * k4K;
  const Block next = Block(0).add_src(kLent + 4 * k4K, k4K);

  EXPECT_EQ(status(update(h, at + 1, next)), HYPHEAP_SVM_ERR_HASH_OFFSET);
  EXPECT_EQ(status(update(h, 0, next)), HYPHEAP_SVM_ERR_HASH_OFFSET) << "a chunk again";
  EXPECT_EQ(status(update(h ^ 1, at, next)), HYPHEAP_SVM_ERR_HASH_HANDLE);
  EXPECT_EQ(status(update(h + 0x100, at, next)), HYPHEAP_SVM_ERR_HASH_HANDLE);
  // the whole-page rule holds in every chunk
  EXPECT_EQ(status(update(h, at, Block(0).add_src(kLent + 4 * k4K, 1))),
            HYPHEAP_SVM_ERR_PARTIAL_PAGE);
  EXPECT_EQ(status(update(h, at, Block(0).add_src(kLent + 4 * k4K + 1, k4K))),
            HYPHEAP_SVM_ERR_PARTIAL_PAGE);
  EXPECT_EQ(status(update(h, at, Block(0).add_src(kCarve, k4K))), HYPHEAP_SVM_ERR_NOT_OWNED);
  EXPECT_EQ(status(update(h, at, Block(0).add_src(kLent, k4K).add_src(kLent, k4K))),
            HYPHEAP_SVM_ERR_OVERLAP);
  EXPECT_EQ(status(update(h, at, Block(0))), HYPHEAP_SVM_ERR_RANGE_COUNT);
  // a refused hold of the second range, after the first was held
  env_.inject(3, HYPHEAP_ERR_BUSY);  // 0/1: the block's hold and release, 2/3: the ranges
  EXPECT_EQ(status(update(h, at, Block(0).add_src(kLent + 6 * k4K, k4K).add_src(kShared, 64))),
            HYPHEAP_SVM_ERR_BUSY);
  env_.clear_injected();
  // a release that fails after the work: the answer is an error, so nothing is kept
  Block u = next;
  u.hdr.op = HYPHEAP_SVM_OP_HASH_UPDATE;
  const auto bytes = u.bytes();
  std::memcpy(env_.at(kArgs), bytes.data(), bytes.size());
  env_.inject(3, HYPHEAP_ERR_STATE);
  EXPECT_EQ(status(dispatch(env_, config_, shared_, HYPHEAP_FFA_ID_HOST,
                            Message{{HYPHEAP_SVM_OP_HASH_UPDATE, kArgs, bytes.size(), h, at}})),
            HYPHEAP_SVM_ERR_NOT_OWNED);
  env_.clear_injected();
  ASSERT_TRUE(env_.release_was_injected());
  // (the fake keeps what it refused to release: let it go, as a fixed hyp would)
  ASSERT_EQ(env_.release(Ipa(kLent + 4 * k4K), 1), HYPHEAP_OK);

  EXPECT_EQ(status(final(h, at + 1)), HYPHEAP_SVM_ERR_HASH_OFFSET);
  ASSERT_EQ(status(update(h, at, next)), HYPHEAP_SVM_OK);
  const Message fin = final(h, at + k4K);
  ASSERT_EQ(status(fin), HYPHEAP_SVM_OK);
  const auto data = bytes_of({{kLent, 2 * k4K}, {kLent + 4 * k4K, k4K}});
  EXPECT_EQ(digest_of(fin), openssl_sha256(data.data(), data.size()));
}

TEST_F(StreamTest, BeginFinalAndAbortTakeOnlyTheirArguments) {
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH_BEGIN, {}, 1, 0)), HYPHEAP_SVM_ERR_ARGS_RESERVED);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH_BEGIN, {}, 0, 1)), HYPHEAP_SVM_ERR_ARGS_RESERVED);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH_BEGIN, {}, 0, 0, 1, 0)), HYPHEAP_SVM_ERR_ARGS_RESERVED);
  EXPECT_EQ(shared_.hashes.nr_live(), 0u) << "a refused BEGIN takes nothing";
  const uint64_t h = begin();
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH_FINAL, {}, h, 0, 1, 0)), HYPHEAP_SVM_ERR_ARGS_RESERVED);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH_FINAL, {}, h, 0, 0, 1)), HYPHEAP_SVM_ERR_ARGS_RESERVED);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH_ABORT, {}, h, 1)), HYPHEAP_SVM_ERR_ARGS_RESERVED);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH_ABORT, {}, h, 0, 0, 1)), HYPHEAP_SVM_ERR_ARGS_RESERVED);
  EXPECT_EQ(shared_.hashes.nr_live(), 1u);
  EXPECT_EQ(abort(h), HYPHEAP_SVM_OK);
  EXPECT_EQ(shared_.hashes.nr_live(), 0u);
  EXPECT_EQ(abort(h), HYPHEAP_SVM_ERR_HASH_HANDLE);
  EXPECT_EQ(env_.log(), "") << "no hyp call without a block";
}

// A context is the caller's alone: another FF-A endpoint's handle is no handle.
TEST_F(StreamTest, AnotherClientsHandleIsRefused) {
  const uint64_t h = begin();
  const Message m =
      dispatch(env_, config_, shared_, 0x0002, Message{{HYPHEAP_SVM_OP_HASH_ABORT, h, 0, 0, 0}});
  EXPECT_EQ(status(m), HYPHEAP_SVM_ERR_HASH_HANDLE);
  EXPECT_EQ(abort(h), HYPHEAP_SVM_OK);
}

// A second call on a context while one is in progress (here: made from inside the first,
// as it releases its range) is refused, and the first completes.
TEST_F(StreamTest, AContextInAnotherCallIsInUse) {
  const uint64_t h = begin();
  const Block c = Block(HYPHEAP_SVM_OP_HASH_UPDATE).add_src(kLent, k4K);
  int64_t inner = 0;
  env_.on_release = [&](uint64_t ipa) {
    if (ipa != kLent || inner != 0)  // the range's release: the outer call has the context
      return;
    inner = 1;
    inner = status(dispatch(env_, config_, shared_, HYPHEAP_FFA_ID_HOST,
                            Message{{HYPHEAP_SVM_OP_HASH_UPDATE, kArgs, c.bytes().size(), h, 0}}));
  };
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH_UPDATE, c.bytes(), kArgs, ~0ULL, h, 0)),
            HYPHEAP_SVM_OK);
  env_.on_release = nullptr;
  EXPECT_EQ(inner, HYPHEAP_SVM_ERR_HASH_IN_USE);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_HASH_FINAL, {}, h, k4K)), HYPHEAP_SVM_OK);
}

// SHA-256 counts bits in 64 bits: a stream may not grow past 2^61 - 1 bytes.
TEST_F(StreamTest, AStreamCannotPassTheLengthSha256Counts) {
  const uint64_t h = begin();
  HashStream* s = nullptr;
  ASSERT_EQ(shared_.hashes.claim(HYPHEAP_FFA_ID_HOST, h, &s), SvmStatus::kOk);
  const uint64_t near = (uint64_t(1) << 61) - k4K;
  s->bytes = near;
  shared_.hashes.put(h, true);
  EXPECT_EQ(status(update(h, near, Block(0).add_src(kLent, 2 * k4K))), HYPHEAP_SVM_ERR_HASH_LENGTH);
  EXPECT_EQ(status(update(h, near, Block(0).add_src(kShared, k4K - 1))), HYPHEAP_SVM_OK);
  EXPECT_EQ(status(update(h, near + k4K - 1, Block(0).add_src(kShared, 1))),
            HYPHEAP_SVM_ERR_HASH_LENGTH);
  EXPECT_EQ(abort(h), HYPHEAP_SVM_OK);
}

TEST_F(StreamTest, BeginWhenTheCallersShareIsTakenReusesItsLeastRecentlyUsed) {
  std::vector<uint64_t> h;
  for (size_t i = 0; i < HashPool::kPerClient; i++)
    h.push_back(begin());
  const uint64_t more = begin();
  EXPECT_EQ(abort(h[0]), HYPHEAP_SVM_ERR_HASH_HANDLE) << "the oldest went stale";
  for (size_t i = 1; i < h.size(); i++)
    EXPECT_EQ(abort(h[i]), HYPHEAP_SVM_OK);
  EXPECT_EQ(abort(more), HYPHEAP_SVM_OK);
}

// DECRYPT in chunks, each at its offset in the stream, is DECRYPT of the whole.
TEST_F(StreamTest, DecryptChunksAtTheirOffsetsMakeTheWholePlaintext) {
  const uint8_t iv[8] = {9, 8, 7, 6, 5, 4, 3, 2};
  std::vector<uint8_t> plain(5 * k4K);
  for (size_t i = 0; i < plain.size(); i++)
    plain[i] = uint8_t(i * 7 + 3);
  const auto cipher = openssl_ctr(kKey, iv, plain.data(), plain.size());
  std::memcpy(env_.at(kShared), cipher.data(), 5 * k4K);  // read-only to the secure VM
  Block a(HYPHEAP_SVM_OP_DECRYPT), b(HYPHEAP_SVM_OP_DECRYPT);
  a.iv(iv).add_src(kShared, 2 * k4K).add_dst(kLent + 10 * k4K, 2 * k4K);
  b.iv(iv).add_src(kShared + 2 * k4K, 3 * k4K).add_dst(kLent + 20 * k4K, 3 * k4K);
  ASSERT_EQ(status(call(HYPHEAP_SVM_OP_DECRYPT, a.bytes(), kArgs, ~0ULL, 0, 0, a.dst)),
            HYPHEAP_SVM_OK);
  ASSERT_EQ(status(call(HYPHEAP_SVM_OP_DECRYPT, b.bytes(), kArgs, ~0ULL, 2 * k4K, 0, b.dst)),
            HYPHEAP_SVM_OK);
  auto got = bytes_of(a.dst);
  const auto rest = bytes_of(b.dst);
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got, plain);
}

TEST_F(StreamTest, DecryptOffsetIsAPageMultipleAndTheStreamNeverWraps) {
  Block b(HYPHEAP_SVM_OP_DECRYPT);
  b.add_src(kShared, k4K).add_dst(kLent, k4K);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_DECRYPT, b.bytes(), kArgs, ~0ULL, 16, 0)),
            HYPHEAP_SVM_ERR_STREAM_OFFSET);
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_DECRYPT, b.bytes(), kArgs, ~0ULL, k4K + 1, 0)),
            HYPHEAP_SVM_ERR_STREAM_OFFSET);
  EXPECT_EQ(
      status(call(HYPHEAP_SVM_OP_DECRYPT, b.bytes(), kArgs, ~0ULL, ~uint64_t(0) & ~(k4K - 1), 0)),
      HYPHEAP_SVM_ERR_STREAM_OFFSET)
      << "offset + length past 2^64 - 1";
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_DECRYPT, b.bytes(), kArgs, ~0ULL, k4K, 1)),
            HYPHEAP_SVM_ERR_ARGS_RESERVED);
  // the last page below 2^64 is fine (block numbers up to 2^60, no wrap)
  EXPECT_EQ(status(call(HYPHEAP_SVM_OP_DECRYPT, b.bytes(), kArgs, ~0ULL,
                        (~uint64_t(0) & ~(k4K - 1)) - k4K, 0, b.dst)),
            HYPHEAP_SVM_OK);
  EXPECT_EQ(env_.nr_held(), 0u);
}

// The counter block at offset k is iv || (k / 16): the last page below 2^64 decrypts with
// block numbers just below 2^60, as OpenSSL's counter gives them.
TEST_F(StreamTest, DecryptAtAHighOffsetUsesThatBlockNumber) {
  const uint8_t iv[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const uint64_t offset = (uint64_t(1) << 40) * k4K;  // block number 2^48
  uint8_t iv16[16] = {};
  std::memcpy(iv16, iv, 8);
  const uint64_t block = offset / 16;
  for (int i = 0; i < 8; i++)
    iv16[8 + i] = uint8_t(block >> (56 - 8 * i));
  std::vector<uint8_t> plain(k4K, 0x5c), cipher(k4K + 16);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, kKey, iv16);
  EVP_EncryptUpdate(ctx, cipher.data(), &len, plain.data(), int(k4K));
  EVP_CIPHER_CTX_free(ctx);
  std::memcpy(env_.at(kShared), cipher.data(), k4K);
  Block b(HYPHEAP_SVM_OP_DECRYPT);
  b.iv(iv).add_src(kShared, k4K).add_dst(kLent, k4K);
  ASSERT_EQ(status(call(HYPHEAP_SVM_OP_DECRYPT, b.bytes(), kArgs, ~0ULL, offset, 0, b.dst)),
            HYPHEAP_SVM_OK);
  EXPECT_EQ(bytes_of(b.dst), plain);
}

// INFO data4 counts the calls that entered while another was inside (here: one made from
// inside another, as a second vCPU would while the first is preempted).
TEST_F(StreamTest, InfoCountsCallsThatOverlapped) {
  EXPECT_EQ(call(HYPHEAP_SVM_OP_INFO, {}, 0, 0).data[4], 0u);
  const Block c = Block(HYPHEAP_SVM_OP_HASH).add_src(kLent, k4K);
  bool nested = false;
  env_.on_release = [&](uint64_t) {
    if (nested)
      return;
    nested = true;
    EXPECT_EQ(status(dispatch(env_, config_, shared_, HYPHEAP_FFA_ID_HOST,
                              Message{{HYPHEAP_SVM_OP_INFO, 0, 0, 0, 0}})),
              HYPHEAP_SVM_OK);
  };
  EXPECT_EQ(status(call(c)), HYPHEAP_SVM_OK);
  env_.on_release = nullptr;
  EXPECT_EQ(call(HYPHEAP_SVM_OP_INFO, {}, 0, 0).data[4], 1u);
  EXPECT_EQ(call(HYPHEAP_SVM_OP_INFO, {}, 0, 0).data[4], 1u) << "one after another: no overlap";
}

}  // namespace
}  // namespace hyp::svm::testing

// Review of the chained requests (issue 10): a refused call and the reuse order, the one
// caller the hyp admits, the documented check order.

namespace hyp::svm::testing {
namespace {

class StreamReviewTest : public StreamTest {};

// docs/abi.md: "Every refusal leaves state unchanged". Which context BEGIN reuses is state
// the host observes (that handle goes stale), so a refused call must not reorder it.
TEST_F(StreamReviewTest, ARefusedCallLeavesTheReuseOrderAsItWas) {
  std::vector<uint64_t> h;
  for (size_t i = 0; i < HashPool::kPerClient; i++)
    h.push_back(begin());
  // h[0] is the least recently used; three refused calls on it.
  EXPECT_EQ(status(update(h[0], 1, Block(0).add_src(kLent, k4K))), HYPHEAP_SVM_ERR_HASH_OFFSET);
  EXPECT_EQ(status(update(h[0], 0, Block(0).add_src(kCarve, k4K))), HYPHEAP_SVM_ERR_NOT_OWNED);
  EXPECT_EQ(status(final(h[0], 1)), HYPHEAP_SVM_ERR_HASH_OFFSET);
  const uint64_t more = begin();
  EXPECT_EQ(abort(h[0]), HYPHEAP_SVM_ERR_HASH_HANDLE) << "h[0] is still the least recently used";
  EXPECT_EQ(abort(h[1]), HYPHEAP_SVM_OK) << "h[1] was reused instead";
  for (size_t i = 2; i < h.size(); i++)
    EXPECT_EQ(abort(h[i]), HYPHEAP_SVM_OK) << i;
  EXPECT_EQ(abort(more), HYPHEAP_SVM_OK);
}

// The hyp admits direct requests from the host alone (hyp/core/ffa.cc direct_request: w1's
// sender must be 1), so HYPHEAP_FFA_ID_HOST is the only caller there is: it should be able
// to use the pool it pays for.
TEST_F(StreamReviewTest, TheOnlyCallerTheHypAdmitsCanUseThePool) {
  std::vector<uint64_t> h;
  for (size_t i = 0; i < HashPool::kContexts; i++)
    h.push_back(begin());
  EXPECT_EQ(shared_.hashes.nr_live(), HashPool::kContexts);
  for (size_t i = 0; i < h.size(); i++)
    EXPECT_EQ(abort(h[i]), HYPHEAP_SVM_OK) << "context " << i << " was reused under its client";
}

// docs/abi.md "Requests in chunks": an UPDATE checks its handle before the holds, and the
// holds apply the whole-page rule: a stale handle with a partial lent range is HASH_HANDLE.
TEST_F(StreamReviewTest, UpdateChecksTheHandleBeforeTheHolds) {
  const uint64_t h = begin();
  ASSERT_EQ(abort(h), HYPHEAP_SVM_OK);
  EXPECT_EQ(status(update(h, 0, Block(0).add_src(kLent, 100))), HYPHEAP_SVM_ERR_HASH_HANDLE);
}

}  // namespace
}  // namespace hyp::svm::testing
