// A heap's pool (docs/kernel.md, "Heap pools"): a freed buffer stays lent to the secure VM
// and the next allocation of its size takes it back without a lend or a reclaim, zeroed first
// by the hypervisor in place (MEM_ASSIGN {svm} -> {svm}, ABI 1.8): its SHA-256, computed by
// the secure VM, is that of zeros whatever the last user wrote. A pooled page is the secure VM's,
// never the host's, until the pool gives it back (a drain, or the shrinker under memory pressure:
// drop_caches), scrubbed by the hypervisor. Runs on every protected heap with a pool; fails when
// the kernel command line asks for a pool (hypheap.heap_pools=) that no heap has.
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dma_heap.h"
#include "expectations.h"
#include "heap_names.h"
#include "hypheap_debugfs.h"
#include "sha256.h"
#include "svm_device.h"

namespace hypheap::guest {
namespace {

constexpr uint64_t kLen = 3 * kMiB;

bool CommandLineAsksForPools() {
  std::ifstream in("/proc/cmdline");
  const std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return line.find("hypheap.heap_pools=") != std::string::npos;
}

std::vector<std::string> PooledHeaps() {
  std::vector<std::string> heaps;
  for (const std::string& heap : ProtectedHeaps()) {
    if (HasPool(heap)) {
      heaps.push_back(heap);
    }
  }
  return heaps;
}

std::array<uint8_t, 32> ZerosDigest(uint64_t len) {
  const std::vector<uint8_t> zeros(len, 0);
  hyp::svm::Sha256 sha;
  sha.update(zeros.data(), zeros.size());
  std::array<uint8_t, 32> out{};
  sha.finish(out.data());
  return out;
}

int64_t Count(const std::string& heap, const char* key) {
  const Outcome<Counters> pool = PoolStats(heap);
  EXPECT_TRUE(pool.ok()) << heap << ": " << ErrnoName(pool.error);
  return pool.ok() ? CounterValue(pool.value, key).value_or(-1) : -1;
}

int64_t Hyp(const char* key) {
  const Outcome<Counters> hyp = HypStats();
  EXPECT_TRUE(hyp.ok());
  return hyp.ok() ? CounterValue(hyp.value, key).value_or(-1) : -1;
}

int64_t Driver(const char* key) {
  const Outcome<Counters> total = TotalStats();
  EXPECT_TRUE(total.ok());
  return total.ok() ? CounterValue(total.value, key).value_or(-1) : -1;
}

// Who zeroes the heap's freed buffers (the pool's "zeroed_by:" line).
std::string ZeroedBy(const std::string& heap) {
  std::ifstream in("/sys/kernel/debug/hypheap/" + heap + "/pool");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("zeroed_by: ", 0) == 0) {
      return line.substr(11);
    }
  }
  return "";
}

// The pool's worker zeroes freed buffers after the free returns; what it holds is on no list
// a shrinker could scan. Waits (up to 60 s) until it has zeroed everything freed so far.
bool AllScrubbed(const std::string& heap) {
  for (int i = 0; i < 600; ++i) {
    if (Count(heap, "unscrubbed_bytes") == 0) {
      return true;
    }
    usleep(100 * 1000);
  }
  return false;
}

class PoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    heaps_ = PooledHeaps();
    if (heaps_.empty()) {
      ASSERT_FALSE(CommandLineAsksForPools()) << "hypheap.heap_pools= given, no heap has a pool";
      GTEST_SKIP() << "no heap with a pool (hypheap.heap_pools=, docs/dt-binding.md)";
    }
    Outcome<SvmDevice> svm = SvmDevice::Open();
    ASSERT_EQ(ErrnoName(svm.error), "success") << "/dev/hypheap-svm";
    svm_.emplace(std::move(svm.value));
    for (const std::string& heap : heaps_) {
      ASSERT_EQ(ErrnoName(DrainPool(heap)), "success") << heap;
      ASSERT_EQ(Count(heap, "bytes"), 0) << heap;
    }
  }

  // Allocates len bytes from heap and finds its ranges in debugfs.
  void AllocateListed(const std::string& heap, uint64_t len, UniqueFd& fd,
                      LiveBuffer& listed) const {
    Outcome<UniqueFd> buffer = AllocateFromHeap(heap, len);
    ASSERT_EQ(ErrnoName(buffer.error), "success") << heap;
    const Outcome<ino_t> ino = InodeOf(buffer.value.get());
    ASSERT_EQ(ErrnoName(ino.error), "success");
    const Outcome<LiveBuffer> found = FindLiveBuffer(heap, ino.value);
    ASSERT_EQ(ErrnoName(found.error), "success");
    fd = std::move(buffer.value);
    listed = found.value;
  }

  std::vector<std::string> heaps_;
  std::optional<SvmDevice> svm_;
};

// Free, then the same size again: the very pages, one hit after one miss, no lend and no
// reclaim: the only calls are the hypervisor's scrub in place (every page of the buffer
// scrubbed once, none moved), and the secure VM hashes zeros where it had written 0xA5.
TEST_F(PoolTest, SameSizeAgainIsAHitZeroedInPlaceAndHashesAsZeros) {
  const std::array<uint8_t, 32> zeros = ZerosDigest(kLen);
  for (const std::string& heap : heaps_) {
    const int64_t hits = Count(heap, "hits");
    const int64_t misses = Count(heap, "misses");
    UniqueFd first;
    LiveBuffer first_listed;
    ASSERT_NO_FATAL_FAILURE(AllocateListed(heap, kLen, first, first_listed));
    EXPECT_EQ(Count(heap, "misses"), misses + 1) << heap;
    const SvmAnswer filled = svm_->Fill(first.get(), 0xA5);
    ASSERT_TRUE(filled.ok()) << heap << ": FILL " << ErrnoName(filled.error);
    const SvmDigest dirty = svm_->Hash(first.get());
    ASSERT_TRUE(dirty.answer.ok()) << ErrnoName(dirty.answer.error);
    ASSERT_NE(dirty.digest, zeros) << "FILL 0xA5 did not change the buffer";
    EXPECT_EQ(ZeroedBy(heap), "hypervisor") << heap;
    const int64_t calls = Driver("hypercalls");
    const int64_t assigns = Hyp("assign_calls");
    const int64_t lent = Hyp("pages_lent");
    const int64_t reclaimed = Hyp("pages_reclaimed");
    const int64_t scrubbed = Hyp("pages_scrubbed");
    ASSERT_EQ(ErrnoName(first.Close()), "success");

    UniqueFd second;
    LiveBuffer second_listed;
    ASSERT_NO_FATAL_FAILURE(AllocateListed(heap, kLen, second, second_listed));
    EXPECT_EQ(Count(heap, "hits"), hits + 1) << heap;
    EXPECT_EQ(Count(heap, "misses"), misses + 1) << heap;
    EXPECT_EQ(Hyp("pages_lent"), lent) << heap << ": free + alloc moved pages";
    EXPECT_EQ(Hyp("pages_reclaimed"), reclaimed) << heap;
    EXPECT_EQ(Hyp("pages_scrubbed") - scrubbed, int64_t(kLen / 4096)) << heap;
    const int64_t scrub_calls = Hyp("assign_calls") - assigns;
    EXPECT_GE(scrub_calls, 1) << heap;
    EXPECT_EQ(Driver("hypercalls") - calls, scrub_calls) << heap << ": a call besides the scrub";
    ASSERT_EQ(second_listed.ranges.size(), first_listed.ranges.size());
    for (size_t i = 0; i < first_listed.ranges.size(); ++i) {
      EXPECT_EQ(second_listed.ranges[i].pa, first_listed.ranges[i].pa) << "not the pooled pages";
    }
    const SvmDigest reused = svm_->Hash(second.get());
    ASSERT_TRUE(reused.answer.ok()) << ErrnoName(reused.answer.error);
    EXPECT_EQ(reused.digest, zeros) << heap << ": a reused buffer kept the last one's bytes";
  }
}

// Pooled, the pages are the secure VM's alone; drained, every one is the host's again and
// the hypervisor scrubbed each.
TEST_F(PoolTest, DrainGivesEveryPooledPageBackToTheHostScrubbed) {
  for (const std::string& heap : heaps_) {
    const std::optional<uint32_t> vm = BorrowerOf(heap);
    ASSERT_TRUE(vm.has_value());
    UniqueFd fd;
    LiveBuffer listed;
    ASSERT_NO_FATAL_FAILURE(AllocateListed(heap, kLen, fd, listed));
    ASSERT_TRUE(svm_->Fill(fd.get(), 0x5A).ok());
    ASSERT_EQ(ErrnoName(fd.Close()), "success");
    EXPECT_EQ(Count(heap, "bytes"), static_cast<int64_t>(kLen)) << heap;
    // Until the worker's FILL is done the secure VM holds the pages (HELD in MEM_QUERY).
    ASSERT_TRUE(AllScrubbed(heap)) << heap;
    for (const PhysRange& range : listed.ranges) {
      EXPECT_TRUE(VmOwnsRange(range, *vm)) << "a pooled page is the secure VM's";
    }
    const int64_t scrubbed = Hyp("pages_scrubbed");
    const int64_t shrinks = Count(heap, "shrinks");
    ASSERT_EQ(ErrnoName(DrainPool(heap)), "success");
    EXPECT_EQ(Count(heap, "bytes"), 0) << heap;
    EXPECT_EQ(Count(heap, "shrinks"), shrinks + 1) << heap;
    EXPECT_GE(Hyp("pages_scrubbed") - scrubbed, static_cast<int64_t>(kLen / kPageSize));
    for (const PhysRange& range : listed.ranges) {
      EXPECT_TRUE(HostOwnsRange(range));
    }
  }
}

// Memory pressure, as the kernel's own reclaim sees it: drop_caches runs every shrinker,
// and the pool's gives every pooled buffer back.
TEST_F(PoolTest, DropCachesGivesEveryPooledBufferBack) {
  for (const std::string& heap : heaps_) {
    std::vector<LiveBuffer> all;
    {
      UniqueFd a, b;
      LiveBuffer la, lb;
      ASSERT_NO_FATAL_FAILURE(AllocateListed(heap, kLen, a, la));
      ASSERT_NO_FATAL_FAILURE(AllocateListed(heap, 64 * kKiB, b, lb));
      all = {la, lb};
    }
    EXPECT_EQ(Count(heap, "bytes"), static_cast<int64_t>(kLen + 64 * kKiB)) << heap;
    ASSERT_TRUE(AllScrubbed(heap)) << heap;
    const int64_t shrinks = Count(heap, "shrinks");
    {
      std::ofstream drop("/proc/sys/vm/drop_caches");
      drop << "2";
      drop.flush();
      ASSERT_TRUE(static_cast<bool>(drop));
    }
    EXPECT_EQ(Count(heap, "bytes"), 0) << heap;
    EXPECT_EQ(Count(heap, "shrinks"), shrinks + 2) << heap;
    for (const LiveBuffer& buffer : all) {
      for (const PhysRange& range : buffer.ranges) {
        EXPECT_TRUE(HostOwnsRange(range));
      }
    }
  }
}

}  // namespace
}  // namespace hypheap::guest
