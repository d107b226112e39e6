// HashPool (hyp/svm/hash_pool.cc): handles name one context once, a client never has more
// than its share, a context in a call is never given to anyone else, and a client that lost
// track of its contexts gets them back, least recently used first.
#include "svm/hash_pool.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace hyp::svm {
namespace {

constexpr uint16_t kHost = HYPHEAP_FFA_ID_HOST, kOther = 0x0002;

uint64_t begin_ok(HashPool& pool, uint16_t client) {
  uint64_t h = 0;
  EXPECT_EQ(pool.begin(client, &h), SvmStatus::kOk);
  return h;
}

TEST(HashPoolTest, HandlesAreNeverZeroAndNeverRepeat) {
  HashPool pool;
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; i++) {
    const uint64_t h = begin_ok(pool, kHost);
    EXPECT_NE(h, 0u);
    EXPECT_TRUE(seen.insert(h).second) << "handle given twice: " << h;
    HashStream* s = nullptr;
    ASSERT_EQ(pool.claim(kHost, h, &s), SvmStatus::kOk);
    if (i % 2)
      pool.end(h);
    else
      pool.put(h, true);
  }
  EXPECT_LE(pool.nr_live(), HashPool::kPerClient);
}

TEST(HashPoolTest, ClaimRefusesWhatIsNotALiveContextOfTheCaller) {
  HashPool pool;
  const uint64_t h = begin_ok(pool, kHost);
  HashStream* s = nullptr;
  EXPECT_EQ(pool.claim(kHost, 0, &s), SvmStatus::kHashHandle);
  EXPECT_EQ(pool.claim(kHost, (h & ~uint64_t(0xff)) | HashPool::kContexts, &s),
            SvmStatus::kHashHandle);
  EXPECT_EQ(pool.claim(kHost, h + 0x100, &s), SvmStatus::kHashHandle) << "a later generation";
  EXPECT_EQ(pool.claim(kHost, h ^ 1, &s), SvmStatus::kHashHandle) << "another slot";
  EXPECT_EQ(pool.claim(kOther, h, &s), SvmStatus::kHashHandle) << "another client's";
  EXPECT_EQ(pool.claim(kHost, ~uint64_t(0), &s), SvmStatus::kHashHandle);
  EXPECT_EQ(s, nullptr);
  ASSERT_EQ(pool.claim(kHost, h, &s), SvmStatus::kOk);
  HashStream* again = nullptr;
  EXPECT_EQ(pool.claim(kHost, h, &again), SvmStatus::kHashInUse);
  pool.end(h);
  EXPECT_EQ(pool.claim(kHost, h, &again), SvmStatus::kHashHandle) << "ended";
  EXPECT_EQ(pool.nr_live(), 0u);
}

TEST(HashPoolTest, AClientHasAtMostItsShareAndReusesItsLeastRecentlyUsed) {
  HashPool pool;
  std::vector<uint64_t> mine;
  for (size_t i = 0; i < HashPool::kPerClient; i++)
    mine.push_back(begin_ok(pool, kHost));
  // Touch all but mine[2], so it is the least recently used.
  for (size_t i = 0; i < mine.size(); i++) {
    HashStream* s = nullptr;
    if (i == 2)
      continue;
    ASSERT_EQ(pool.claim(kHost, mine[i], &s), SvmStatus::kOk);
    pool.put(mine[i], true);
  }
  const uint64_t extra = begin_ok(pool, kHost);
  EXPECT_EQ(pool.nr_live(), HashPool::kPerClient) << "reused, not a new one";
  HashStream* s = nullptr;
  EXPECT_EQ(pool.claim(kHost, mine[2], &s), SvmStatus::kHashHandle) << "its handle is stale";
  for (size_t i = 0; i < mine.size(); i++) {
    if (i == 2)
      continue;
    ASSERT_EQ(pool.claim(kHost, mine[i], &s), SvmStatus::kOk) << i;
    pool.put(mine[i], true);
  }
  ASSERT_EQ(pool.claim(kHost, extra, &s), SvmStatus::kOk);
  pool.put(extra, true);

  // The host's share is the whole pool (the hyp admits no other endpoint): another client
  // finds it full and has nothing of its own to reuse, until the host frees one.
  EXPECT_EQ(pool.nr_live(), HashPool::kContexts);
  uint64_t h = 0;
  EXPECT_EQ(pool.begin(kOther, &h), SvmStatus::kHashContexts);
  EXPECT_EQ(h, 0u);
  ASSERT_EQ(pool.claim(kHost, extra, &s), SvmStatus::kOk);
  pool.end(extra);
  const uint64_t other = begin_ok(pool, kOther);
  EXPECT_EQ(pool.claim(kHost, other, &s), SvmStatus::kHashHandle) << "the other's, not the host's";
}

TEST(HashPoolTest, AContextInACallIsNeverReused) {
  HashPool pool;
  std::vector<uint64_t> mine;
  for (size_t i = 0; i < HashPool::kPerClient; i++) {
    mine.push_back(begin_ok(pool, kHost));
    HashStream* s = nullptr;
    ASSERT_EQ(pool.claim(kHost, mine.back(), &s), SvmStatus::kOk);
    s->bytes = 4096 * (i + 1);
  }
  uint64_t h = 0;
  EXPECT_EQ(pool.begin(kHost, &h), SvmStatus::kHashContexts);
  for (size_t i = 0; i < mine.size(); i++) {
    pool.put(mine[i], true);
    HashStream* s = nullptr;
    ASSERT_EQ(pool.claim(kHost, mine[i], &s), SvmStatus::kOk);
    EXPECT_EQ(s->bytes, 4096 * (i + 1)) << "untouched";
    pool.put(mine[i], true);
  }
}

TEST(HashPoolTest, BeginStartsAnEmptyMessage) {
  HashPool pool;
  uint64_t h = begin_ok(pool, kHost);
  HashStream* s = nullptr;
  ASSERT_EQ(pool.claim(kHost, h, &s), SvmStatus::kOk);
  s->sha.update(reinterpret_cast<const uint8_t*>("abc"), 3);
  s->bytes = 3;
  pool.end(h);
  h = begin_ok(pool, kHost);  // the same slot, fresh
  ASSERT_EQ(pool.claim(kHost, h, &s), SvmStatus::kOk);
  EXPECT_EQ(s->bytes, 0u);
  uint8_t d[32];
  s->sha.finish(d);
  // SHA-256 of the empty message
  EXPECT_EQ(d[0], 0xe3);
  EXPECT_EQ(d[31], 0x55);
  pool.end(h);
}

}  // namespace
}  // namespace hyp::svm
