// The carve-out pool (hyp/svm/carveout.cc) through dispatch() against the FakeEnv: INFO,
// ALLOC and FREE and every refusal with its own status, each leaving the pool as it was; the
// other services taking an allocated buffer (and nothing else of the pool) as memory the
// secure VM holds; FREE's scrub; and two threads allocating, using and freeing at once.
#include "svm/carveout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "fake_env.h"
#include "svm/services.h"
#include "svm/sha256.h"

namespace hyp::svm::testing {
namespace {

// The pool lies outside the FakeEnv's RAM: a call that reached the fake hyp for it would be
// answered NOT_MAPPED there, so every success below went through the pool.
constexpr uint64_t kPool = 0x9000'0000;
constexpr uint64_t kPoolPages = 64;
constexpr uint64_t kArgs = kBase;               // shared page for argument blocks
constexpr uint64_t kLent = kBase + 1 * k4K;     // 4 lent pages
constexpr uint64_t kPrivate = kBase + 5 * k4K;  // 2 pages of its own (image, stacks)
constexpr uint64_t kVideo = HYPHEAP_PROTMEM_USE_SECURE_VIDEO;

int64_t status(const Message& m) {
  return int64_t(m.data[0]);
}

std::vector<uint8_t> g_cleaned;  // (offset / 4K) of every page cleaned, in order
uint8_t* g_pool_mem = nullptr;

std::mutex g_cleaned_lock;  // FREE's scrub runs outside the pool's lock, on any thread

void record_clean(uint8_t* p, uint64_t len) {
  const std::lock_guard<std::mutex> guard(g_cleaned_lock);
  for (uint64_t off = 0; off < len; off += k4K)
    g_cleaned.push_back(uint8_t((p + off - g_pool_mem) / k4K));
}

class CarveoutTest : public ::testing::Test {
 protected:
  CarveoutTest() : env_(8), mem_(kPoolPages * k4K, 0xa5) {
    env_.set(kArgs, 1, Kind::kShared);
    env_.set(kLent, 4, Kind::kLent);
    env_.set(kPrivate, 2, Kind::kCarveout);
    g_pool_mem = mem_.data();
    g_cleaned.clear();
    EXPECT_TRUE(pool_.init(Ipa(kPool), kPoolPages * k4K, mem_.data(), record_clean));
    g_cleaned.clear();
    config_.carveout = &pool_;
  }

  Message call(uint64_t op, uint64_t d1 = 0, uint64_t d2 = 0, uint64_t d3 = 0, uint64_t d4 = 0) {
    const Message m =
        dispatch(env_, config_, shared_, HYPHEAP_FFA_ID_HOST, Message{{op, d1, d2, d3, d4}});
    check_after(m);
    return m;
  }
  void check_after(const Message& m) {
    EXPECT_TRUE(env_.violations().empty()) << env_.violations().front();
    EXPECT_EQ(pool_.violations(), 0u) << "a pool page mapped that was not held";
    EXPECT_EQ(env_.nr_held(), 0u);
    EXPECT_EQ(pool_.nr_held(), 0u) << "a pool page still held";
    if (status(m) != HYPHEAP_SVM_OK) {
      for (int i = 1; i < 5; i++)
        EXPECT_EQ(m.data[i], 0u) << "a refusal carries no result";
    }
  }
  uint64_t alloc(uint64_t len, uint64_t use = kVideo) {
    const Message m = call(HYPHEAP_SVM_OP_CARVEOUT_ALLOC, len, use);
    EXPECT_EQ(status(m), HYPHEAP_SVM_OK);
    return m.data[1];
  }
  int64_t free_(uint64_t base) { return status(call(HYPHEAP_SVM_OP_CARVEOUT_FREE, base)); }
  // A block op over ranges, through the shared page.
  Message block(const Block& b) {
    const std::vector<uint8_t> bytes = b.bytes();
    std::memcpy(env_.at(kArgs), bytes.data(), bytes.size());
    const Message m = dispatch(env_, config_, shared_, HYPHEAP_FFA_ID_HOST,
                               Message{{b.hdr.op, kArgs, bytes.size(), 0, 0}});
    check_after(m);
    return m;
  }
  uint8_t* at(uint64_t ipa) { return mem_.data() + (ipa - kPool); }
  // What the pool looks like to a test: the table and the marks, as INFO and the counters
  // show them, plus every byte.
  struct Snapshot {
    Message info;
    size_t nr;
    uint64_t pinned;
    std::vector<uint8_t> bytes;
    bool operator==(const Snapshot& o) const {
      return std::equal(info.data, info.data + 5, o.info.data) && nr == o.nr &&
             pinned == o.pinned && bytes == o.bytes;
    }
  };
  Snapshot snap() {
    return {pool_.dispatch(Message{{HYPHEAP_SVM_OP_CARVEOUT_INFO, 0, 0, 0, 0}}), pool_.nr_buffers(),
            pool_.nr_pinned(), mem_};
  }
  void expect_refused(uint64_t op, uint64_t d1, uint64_t d2, uint64_t d3, uint64_t d4, int64_t want,
                      const char* what) {
    const Snapshot before = snap();
    EXPECT_EQ(status(call(op, d1, d2, d3, d4)), want) << what;
    EXPECT_TRUE(before == snap()) << what << ": the pool changed";
  }

  FakeEnv env_;
  std::vector<uint8_t> mem_;
  Carveout pool_;
  Config config_{2, false};
  Shared shared_;
};

TEST_F(CarveoutTest, WhatBootLeftIsZeroedByTheFirstAllocThatCoversIt) {
  std::vector<uint8_t> mem(4 * k4K, 0xff);
  g_pool_mem = mem.data();
  Carveout c;
  ASSERT_TRUE(c.init(Ipa(kPool), mem.size(), mem.data(), record_clean));
  EXPECT_TRUE(std::all_of(mem.begin(), mem.end(), [](uint8_t b) { return b == 0xff; }))
      << "init touches nothing (a 96 MiB memset would cost every boot)";
  EXPECT_TRUE(g_cleaned.empty());
  const Message m = c.dispatch(Message{{HYPHEAP_SVM_OP_CARVEOUT_ALLOC, 2 * k4K, kVideo, 0, 0}});
  ASSERT_EQ(status(m), HYPHEAP_SVM_OK);
  EXPECT_TRUE(std::all_of(mem.begin(), mem.begin() + 2 * k4K, [](uint8_t b) { return b == 0; }));
  EXPECT_TRUE(std::all_of(mem.begin() + 2 * k4K, mem.end(), [](uint8_t b) { return b == 0xff; }));
  EXPECT_EQ(g_cleaned, (std::vector<uint8_t>{0, 1}));
  // Freed (scrubbed) and allocated again with one fresh page more: only that one is zeroed
  // by the ALLOC.
  ASSERT_EQ(status(c.dispatch(Message{{HYPHEAP_SVM_OP_CARVEOUT_FREE, kPool, 0, 0, 0}})),
            HYPHEAP_SVM_OK);
  g_cleaned.clear();
  ASSERT_EQ(status(c.dispatch(Message{{HYPHEAP_SVM_OP_CARVEOUT_ALLOC, 3 * k4K, kVideo, 0, 0}})),
            HYPHEAP_SVM_OK);
  EXPECT_EQ(g_cleaned, (std::vector<uint8_t>{2}));
  EXPECT_TRUE(std::all_of(mem.begin(), mem.begin() + 3 * k4K, [](uint8_t b) { return b == 0; }));
  Carveout bad;
  EXPECT_FALSE(bad.init(Ipa(kPool), 0, mem.data(), nullptr));
  EXPECT_FALSE(bad.init(Ipa(kPool + 1), k4K, mem.data(), nullptr));
  EXPECT_FALSE(bad.init(Ipa(kPool), k4K + 1, mem.data(), nullptr));
  EXPECT_FALSE(bad.init(Ipa(kPool), (Carveout::kMaxPages + 1) * k4K, mem.data(), nullptr));
  EXPECT_FALSE(bad.init(Ipa(~uint64_t(0) & ~(k4K - 1)), 2 * k4K, mem.data(), nullptr));
  EXPECT_FALSE(bad.present());
}

TEST_F(CarveoutTest, InfoNamesThePool) {
  const Message m = call(HYPHEAP_SVM_OP_CARVEOUT_INFO);
  ASSERT_EQ(status(m), HYPHEAP_SVM_OK);
  EXPECT_EQ(m.data[1], kPool);
  EXPECT_EQ(m.data[2], kPoolPages * k4K);
  EXPECT_EQ(m.data[3], 0u);
  EXPECT_EQ(m.data[4], kPoolPages * k4K);
  alloc(3 * k4K);
  const Message n = call(HYPHEAP_SVM_OP_CARVEOUT_INFO);
  EXPECT_EQ(n.data[3], 3 * k4K);
  EXPECT_EQ(n.data[4], (kPoolPages - 3) * k4K);
  EXPECT_EQ(env_.log(), "") << "nothing reaches the hyp";
}

TEST_F(CarveoutTest, AllocIsContiguousPageAlignedFirstFitAndZeroed) {
  const uint64_t a = alloc(2 * k4K), b = alloc(k4K), c = alloc(4 * k4K);
  EXPECT_EQ(a, kPool);
  EXPECT_EQ(b, kPool + 2 * k4K);
  EXPECT_EQ(c, kPool + 3 * k4K);
  EXPECT_TRUE(std::all_of(at(a), at(c) + 4 * k4K, [](uint8_t v) { return v == 0; }));
  ASSERT_EQ(free_(a), HYPHEAP_SVM_OK);
  EXPECT_EQ(alloc(k4K), kPool) << "the first hole that fits";
  EXPECT_EQ(alloc(2 * k4K), kPool + 7 * k4K) << "a hole too small is skipped";
  EXPECT_EQ(alloc(k4K, HYPHEAP_PROTMEM_USE_SECURE_VIDEO_RECORD), kPool + k4K);
}

TEST_F(CarveoutTest, FreeScrubsBeforeReuse) {
  const uint64_t a = alloc(2 * k4K);
  std::memset(at(a), 0x5a, 2 * k4K);
  g_cleaned.clear();
  ASSERT_EQ(free_(a), HYPHEAP_SVM_OK);
  EXPECT_TRUE(std::all_of(at(a), at(a) + 2 * k4K, [](uint8_t v) { return v == 0; }));
  EXPECT_EQ(g_cleaned, (std::vector<uint8_t>{0, 1})) << "cleaned to PoC, both pages";
  g_cleaned.clear();
  EXPECT_EQ(alloc(2 * k4K), a);
  EXPECT_TRUE(g_cleaned.empty()) << "scrubbed by the FREE: not zeroed again";
}

TEST_F(CarveoutTest, AllocRefusals) {
  constexpr uint64_t kAlloc = HYPHEAP_SVM_OP_CARVEOUT_ALLOC;
  expect_refused(kAlloc, 0, kVideo, 0, 0, HYPHEAP_SVM_ERR_CARVEOUT_LEN, "zero length");
  expect_refused(kAlloc, k4K + 1, kVideo, 0, 0, HYPHEAP_SVM_ERR_CARVEOUT_LEN, "not pages");
  expect_refused(kAlloc, (kPoolPages + 1) * k4K, kVideo, 0, 0, HYPHEAP_SVM_ERR_CARVEOUT_LEN,
                 "longer than the pool");
  expect_refused(kAlloc, ~uint64_t(0) & ~(k4K - 1), kVideo, 0, 0, HYPHEAP_SVM_ERR_CARVEOUT_LEN,
                 "huge");
  for (uint64_t use : {uint64_t{0}, uint64_t{HYPHEAP_PROTMEM_USE_TRUSTED_UI}, uint64_t{4},
                       uint64_t{1} << 32 | kVideo})
    expect_refused(kAlloc, k4K, use, 0, 0, HYPHEAP_SVM_ERR_CARVEOUT_USE_CASE, "use case");
  expect_refused(kAlloc, k4K, kVideo, 1, 0, HYPHEAP_SVM_ERR_ARGS_RESERVED, "data3");
  expect_refused(kAlloc, k4K, kVideo, 0, 1, HYPHEAP_SVM_ERR_ARGS_RESERVED, "data4");
  alloc((kPoolPages - 2) * k4K);
  expect_refused(kAlloc, 3 * k4K, kVideo, 0, 0, HYPHEAP_SVM_ERR_CARVEOUT_NO_SPACE, "no room");
  alloc(2 * k4K);
  expect_refused(kAlloc, k4K, kVideo, 0, 0, HYPHEAP_SVM_ERR_CARVEOUT_NO_SPACE, "full");
}

TEST_F(CarveoutTest, TheTableIsBounded) {
  std::vector<uint8_t> mem(Carveout::kMaxPages * k4K);
  static Carveout big;  // 10 KiB of tables: not on the stack
  ASSERT_TRUE(big.init(Ipa(kPool), mem.size(), mem.data(), nullptr));
  for (size_t i = 0; i < Carveout::kMaxBuffers; i++)
    ASSERT_EQ(status(big.dispatch(Message{{HYPHEAP_SVM_OP_CARVEOUT_ALLOC, k4K, kVideo, 0, 0}})),
              HYPHEAP_SVM_OK);
  EXPECT_EQ(status(big.dispatch(Message{{HYPHEAP_SVM_OP_CARVEOUT_ALLOC, k4K, kVideo, 0, 0}})),
            HYPHEAP_SVM_ERR_CARVEOUT_TOO_MANY);
  EXPECT_EQ(big.nr_buffers(), Carveout::kMaxBuffers);
  EXPECT_EQ(status(big.dispatch(Message{{HYPHEAP_SVM_OP_CARVEOUT_FREE, kPool + 7 * k4K, 0, 0, 0}})),
            HYPHEAP_SVM_OK);
  EXPECT_EQ(status(big.dispatch(Message{{HYPHEAP_SVM_OP_CARVEOUT_ALLOC, k4K, kVideo, 0, 0}})),
            HYPHEAP_SVM_OK);
}

TEST_F(CarveoutTest, FreeRefusals) {
  constexpr uint64_t kFree = HYPHEAP_SVM_OP_CARVEOUT_FREE;
  const uint64_t a = alloc(2 * k4K);
  std::memset(at(a), 0x77, 2 * k4K);
  for (uint64_t base : {uint64_t{0}, kPool - k4K, kPool + kPoolPages * k4K, kPool + 1, kLent,
                        ~uint64_t(0), kPool + 5 * k4K})
    expect_refused(kFree, base, 0, 0, 0, HYPHEAP_SVM_ERR_CARVEOUT_NOT_ALLOCATED, "never allocated");
  expect_refused(kFree, a + k4K, 0, 0, 0, HYPHEAP_SVM_ERR_CARVEOUT_NOT_BASE, "inside");
  for (int word = 2; word < 5; word++) {
    uint64_t d[5] = {kFree, a, 0, 0, 0};
    d[word] = 1;
    expect_refused(d[0], d[1], d[2], d[3], d[4], HYPHEAP_SVM_ERR_ARGS_RESERVED, "reserved");
  }
  ASSERT_EQ(free_(a), HYPHEAP_SVM_OK);
  expect_refused(kFree, a, 0, 0, 0, HYPHEAP_SVM_ERR_CARVEOUT_DOUBLE_FREE, "twice");
  // A new buffer over the freed base makes it a base again, or a page inside one.
  const uint64_t b = alloc(2 * k4K);
  ASSERT_EQ(b, a);
  ASSERT_EQ(free_(b), HYPHEAP_SVM_OK);
  const uint64_t c = alloc(k4K), d = alloc(k4K);
  ASSERT_EQ(d, a + k4K);
  ASSERT_EQ(free_(d), HYPHEAP_SVM_OK);
  expect_refused(kFree, d, 0, 0, 0, HYPHEAP_SVM_ERR_CARVEOUT_DOUBLE_FREE, "twice again");
  EXPECT_EQ(free_(c), HYPHEAP_SVM_OK);
}

TEST_F(CarveoutTest, WithoutAPoolEveryOpSaysSo) {
  Config none{2, false};
  for (uint64_t op :
       {HYPHEAP_SVM_OP_CARVEOUT_INFO, HYPHEAP_SVM_OP_CARVEOUT_ALLOC, HYPHEAP_SVM_OP_CARVEOUT_FREE})
    EXPECT_EQ(status(dispatch(env_, none, shared_, HYPHEAP_FFA_ID_HOST, Message{{op, 0, 0, 0, 0}})),
              HYPHEAP_SVM_ERR_CARVEOUT_NO_POOL);
  Carveout empty;
  EXPECT_EQ(status(empty.dispatch(Message{{HYPHEAP_SVM_OP_CARVEOUT_ALLOC, k4K, kVideo, 0, 0}})),
            HYPHEAP_SVM_ERR_CARVEOUT_NO_POOL);
  EXPECT_EQ(status(empty.dispatch(Message{{HYPHEAP_SVM_OP_CARVEOUT_INFO, 1, 0, 0, 0}})),
            HYPHEAP_SVM_ERR_ARGS_RESERVED);
  EXPECT_FALSE(is_carveout_op(HYPHEAP_SVM_OP_PROTMEM_CONFIG));
  EXPECT_FALSE(is_carveout_op(uint64_t{HYPHEAP_SVM_OP_CARVEOUT_INFO} | uint64_t{1} << 32));
  EXPECT_EQ(status(pool_.dispatch(Message{{HYPHEAP_SVM_OP_HASH, 0, 0, 0, 0}})),
            HYPHEAP_SVM_ERR_NOT_SUPPORTED);
}

// --- the other services on carve-out buffers ---

TEST_F(CarveoutTest, FillDecryptAndHashWorkOnAnAllocatedBuffer) {
  const uint64_t a = alloc(2 * k4K), b = alloc(2 * k4K);
  ASSERT_EQ(status(block(Block(HYPHEAP_SVM_OP_FILL).add_dst(a, 2 * k4K).pattern(0x3c))),
            HYPHEAP_SVM_OK);
  EXPECT_TRUE(std::all_of(at(a), at(a) + 2 * k4K, [](uint8_t v) { return v == 0x3c; }));
  // DECRYPT from lent pages into the carve-out buffer, then HASH it.
  const uint8_t iv[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_EQ(status(block(
                Block(HYPHEAP_SVM_OP_DECRYPT).iv(iv).add_src(kLent, 2 * k4K).add_dst(b, 2 * k4K))),
            HYPHEAP_SVM_OK);
  const Message h = block(Block(HYPHEAP_SVM_OP_HASH).add_src(a, 2 * k4K));
  ASSERT_EQ(status(h), HYPHEAP_SVM_OK);
  Sha256 sha;
  sha.update(at(a), 2 * k4K);
  uint8_t want[Sha256::kDigestSize];
  sha.finish(want);
  uint64_t w0 = 0;
  for (int i = 7; i >= 0; i--)
    w0 = w0 << 8 | want[i];
  EXPECT_EQ(h.data[1], w0);
  // A sub-range on the page grid is fine; one off it cannot be: the host cannot read it.
  EXPECT_EQ(status(block(Block(HYPHEAP_SVM_OP_HASH).add_src(a + k4K, k4K))), HYPHEAP_SVM_OK);
  EXPECT_EQ(status(block(Block(HYPHEAP_SVM_OP_HASH).add_src(a, 100))),
            HYPHEAP_SVM_ERR_PARTIAL_PAGE);
  // The hyp was asked only about the lent source and the argument page.
  EXPECT_EQ(env_.log().find("0x9"), std::string::npos) << env_.log();
}

TEST_F(CarveoutTest, OnlyAllocatedBuffersAreItsToUse) {
  const uint64_t a = alloc(2 * k4K);
  const uint64_t unallocated = a + 2 * k4K;
  const Snapshot before = snap();
  for (const Block& b : {Block(HYPHEAP_SVM_OP_HASH).add_src(unallocated, k4K),
                         Block(HYPHEAP_SVM_OP_FILL).add_dst(unallocated, k4K),
                         Block(HYPHEAP_SVM_OP_PIN).add_src(unallocated, k4K),
                         // straddling the end of the buffer
                         Block(HYPHEAP_SVM_OP_HASH).add_src(a + k4K, 2 * k4K),
                         Block(HYPHEAP_SVM_OP_FILL).add_dst(a, 3 * k4K),
                         // half in the pool, half below it
                         Block(HYPHEAP_SVM_OP_HASH).add_src(kPool - k4K, 2 * k4K),
                         // the rest of its private memory (image, stacks) stays refused
                         Block(HYPHEAP_SVM_OP_HASH).add_src(kPrivate, k4K),
                         Block(HYPHEAP_SVM_OP_FILL).add_dst(kPrivate, k4K)})
    EXPECT_EQ(status(block(b)), HYPHEAP_SVM_ERR_NOT_OWNED);
  EXPECT_TRUE(before == snap());
  ASSERT_EQ(free_(a), HYPHEAP_SVM_OK);
  EXPECT_EQ(status(block(Block(HYPHEAP_SVM_OP_FILL).add_dst(a, k4K))), HYPHEAP_SVM_ERR_NOT_OWNED)
      << "freed: no longer its to use";
}

TEST_F(CarveoutTest, PinBlocksFreeUntilUnpin) {
  const uint64_t a = alloc(4 * k4K);
  ASSERT_EQ(status(block(Block(HYPHEAP_SVM_OP_PIN).add_src(a + k4K, k4K))), HYPHEAP_SVM_OK);
  EXPECT_EQ(pool_.nr_pinned(), 1u);
  EXPECT_EQ(status(block(Block(HYPHEAP_SVM_OP_PIN).add_src(a, 2 * k4K))),
            HYPHEAP_SVM_ERR_PIN_STATE);
  EXPECT_EQ(pool_.nr_pinned(), 1u) << "all or nothing";
  expect_refused(HYPHEAP_SVM_OP_CARVEOUT_FREE, a, 0, 0, 0, HYPHEAP_SVM_ERR_CARVEOUT_PINNED,
                 "pinned");
  EXPECT_EQ(status(block(Block(HYPHEAP_SVM_OP_UNPIN).add_src(a, k4K))), HYPHEAP_SVM_ERR_PIN_STATE);
  ASSERT_EQ(status(block(Block(HYPHEAP_SVM_OP_UNPIN).add_src(a + k4K, k4K))), HYPHEAP_SVM_OK);
  EXPECT_EQ(free_(a), HYPHEAP_SVM_OK);
}

TEST_F(CarveoutTest, HeldBlocksFree) {
  const uint64_t a = alloc(2 * k4K);
  // The hook dispatch() calls through CarveoutEnv (built without RTTI: not made here).
  Carveout& cenv = pool_;
  ASSERT_EQ(cenv.hold(Ipa(a + k4K), 1, HYPHEAP_SVM_NEED_R), HYPHEAP_OK);
  EXPECT_EQ(cenv.hold(Ipa(a), 2, HYPHEAP_SVM_NEED_R), HYPHEAP_ERR_BUSY);
  EXPECT_EQ(cenv.hold(Ipa(a), 1, HYPHEAP_SVM_NEED_R | HYPHEAP_SVM_NEED_SHARED),
            HYPHEAP_ERR_NOT_MAPPED)
      << "never shared with the host";
  const Snapshot before = snap();
  EXPECT_EQ(status(pool_.dispatch(Message{{HYPHEAP_SVM_OP_CARVEOUT_FREE, a, 0, 0, 0}})),
            HYPHEAP_SVM_ERR_CARVEOUT_HELD);
  EXPECT_TRUE(before == snap());
  EXPECT_EQ(cenv.release(Ipa(a), 1), HYPHEAP_ERR_STATE) << "not held";
  ASSERT_EQ(cenv.release(Ipa(a + k4K), 1), HYPHEAP_OK);
  EXPECT_EQ(free_(a), HYPHEAP_SVM_OK);
  EXPECT_EQ(cenv.release(Ipa(a + k4K), 1), HYPHEAP_ERR_PROTECTED) << "freed";
}

// Two vCPUs at once: each allocates, fills, hashes and frees its own buffers while the other
// does the same, and one more pair of threads races FREEs of one buffer. Buffers never
// overlap, every FREE of a buffer succeeds exactly once, and the pool ends empty.
TEST_F(CarveoutTest, TwoVcpusAtOnce) {
  std::atomic<int> failures{0};
  auto worker = [&](uint8_t pattern) {
    for (int round = 0; round < 300; round++) {
      const uint64_t pages = 1 + (round + pattern) % 5;
      const Message m =
          pool_.dispatch(Message{{HYPHEAP_SVM_OP_CARVEOUT_ALLOC, pages * k4K, kVideo, 0, 0}});
      if (status(m) == HYPHEAP_SVM_ERR_CARVEOUT_NO_SPACE)
        continue;
      if (status(m) != HYPHEAP_SVM_OK) {
        failures++;
        continue;
      }
      const uint64_t base = m.data[1];
      // As FILL would write it: hold, write, check nobody else wrote, release.
      if (pool_.hold(Ipa(base), pages, HYPHEAP_SVM_NEED_W) != HYPHEAP_OK)
        failures++;
      for (uint64_t pg = 0; pg < pages; pg++)
        std::memset(pool_.map(Ipa(base + pg * k4K)), pattern, k4K);
      for (uint64_t pg = 0; pg < pages; pg++) {
        const uint8_t* p = pool_.map(Ipa(base + pg * k4K));
        failures += int(std::count(p, p + k4K, pattern) != k4K);
      }
      if (pool_.release(Ipa(base), pages) != HYPHEAP_OK)
        failures++;
      if (status(pool_.dispatch(Message{{HYPHEAP_SVM_OP_CARVEOUT_FREE, base, 0, 0, 0}})) !=
          HYPHEAP_SVM_OK)
        failures++;
    }
  };
  std::thread t1(worker, uint8_t(1)), t2(worker, uint8_t(2));
  t1.join();
  t2.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(pool_.violations(), 0u);

  for (int round = 0; round < 100; round++) {
    const uint64_t base = alloc(8 * k4K);
    std::atomic<int> ok{0}, twice{0};
    auto freer = [&] {
      const int64_t s =
          status(pool_.dispatch(Message{{HYPHEAP_SVM_OP_CARVEOUT_FREE, base, 0, 0, 0}}));
      if (s == HYPHEAP_SVM_OK)
        ok++;
      else if (s == HYPHEAP_SVM_ERR_CARVEOUT_DOUBLE_FREE)
        twice++;
    };
    std::thread a(freer), b(freer);
    a.join();
    b.join();
    ASSERT_EQ(ok.load(), 1);
    ASSERT_EQ(twice.load(), 1);
  }
  EXPECT_EQ(pool_.nr_buffers(), 0u);
  EXPECT_EQ(pool_.allocated_bytes(), 0u);
  const uint64_t all = alloc(kPoolPages * k4K);
  EXPECT_TRUE(std::all_of(at(all), at(all) + kPoolPages * k4K, [](uint8_t v) { return v == 0; }));
  EXPECT_EQ(free_(all), HYPHEAP_SVM_OK);
}

}  // namespace
}  // namespace hyp::svm::testing
