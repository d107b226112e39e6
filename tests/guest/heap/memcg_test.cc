// Protected buffers count against the memory cgroup of the process that allocates them
// (__GFP_ACCOUNT on the pages, GFP_KERNEL_ACCOUNT on the tables), so a container cannot
// lend away more RAM than its memory.max allows. The CMA-backed heap is the documented
// exception: CMA memory is set aside at boot and, as with Linux's own CMA heap, not charged.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dma_heap.h"
#include "heap_names.h"
#include "hypheap_debugfs.h"

namespace hypheap::guest {
namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";
constexpr uint64_t kBuffer = 16 * kMiB;
// What the test process itself may allocate between two reads of memory.current.
constexpr int64_t kSlack = 2 * kMiB;

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

std::optional<int64_t> ReadNumber(const std::string& path) {
  std::ifstream in(path);
  int64_t value = 0;
  if (!(in >> value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<int64_t> EventCount(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string name;
  int64_t value = 0;
  while (in >> name >> value) {
    if (name == key) {
      return value;
    }
  }
  return std::nullopt;
}

// A child cgroup with the memory controller, holding this process for the test's duration.
class MemcgTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    struct stat st {};
    if (stat((std::string(kCgroupRoot) + "/cgroup.controllers").c_str(), &st) != 0) {
      ASSERT_EQ(mount("cgroup2", kCgroupRoot, "cgroup2", 0, nullptr), 0)
          << "mount cgroup2: " << ErrnoName(errno) << " (kernel without CONFIG_MEMCG?)";
    }
    ASSERT_TRUE(WriteFile(std::string(kCgroupRoot) + "/cgroup.subtree_control", "+memory"));
    dir_ = std::string(kCgroupRoot) + "/hh-memcg-" + std::to_string(getpid());
    ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0) << ErrnoName(errno);
    ASSERT_TRUE(WriteFile(dir_ + "/cgroup.procs", std::to_string(getpid())));
    joined_ = true;
  }

  void TearDown() override {
    if (joined_) {
      EXPECT_TRUE(WriteFile(std::string(kCgroupRoot) + "/cgroup.procs", std::to_string(getpid())));
    }
    if (!dir_.empty()) {
      EXPECT_EQ(rmdir(dir_.c_str()), 0) << ErrnoName(errno);
    }
  }

  int64_t Current() const {
    const std::optional<int64_t> value = ReadNumber(dir_ + "/memory.current");
    EXPECT_TRUE(value.has_value());
    return value.value_or(0);
  }

  // CMA memory (the cma and ffa-lend backends) is not charged, by design (docs/kernel.md),
  // and neither is the secure VM's carve-out (carveout): it was never the kernel's.
  bool Charged() const {
    const std::string backend = BackendOf(GetParam());
    return backend != "hyp-cma" && backend != "ffa-lend" && backend != "carveout";
  }

  std::string dir_;
  bool joined_ = false;
};

TEST_P(MemcgTest, BufferIsChargedWhileItLivesAndUnchargedWhenFreed) {
  const int64_t before = Current();
  {
    const Outcome<UniqueFd> buffer = AllocateFromHeap(GetParam(), kBuffer);
    ASSERT_EQ(ErrnoName(buffer.error), "success");
    const int64_t during = Current();
    if (Charged()) {
      // The cgroup's other pages come and go meanwhile (a page of this process freed, page
      // cache): seen once as 4 KiB less than the buffer. Uncharged, the change would be ~0.
      EXPECT_GE(during - before, static_cast<int64_t>(kBuffer) - kSlack);
      EXPECT_LE(during - before, static_cast<int64_t>(kBuffer) + kSlack);
    } else {
      EXPECT_LT(during - before, kSlack) << "CMA or carve-out memory: not charged, by design";
    }
  }
  EXPECT_LT(Current() - before, kSlack) << "freeing the buffer gives the charge back";
}

TEST_P(MemcgTest, AllocationOverMemoryMaxIsRefusedAndLendsNothing) {
  if (!Charged()) {
    GTEST_SKIP() << BackendOf(GetParam()) << ": not charged to the cgroup (docs/kernel.md)";
  }
  const int64_t limit = Current() + static_cast<int64_t>(kBuffer / 2);
  ASSERT_TRUE(WriteFile(dir_ + "/memory.max", std::to_string(limit)));
  const std::optional<int64_t> max_events = EventCount(dir_ + "/memory.events", "max");
  ASSERT_TRUE(max_events.has_value());
  const Outcome<Counters> before = HeapStats(GetParam());
  ASSERT_TRUE(before.ok());

  const Outcome<UniqueFd> refused = AllocateFromHeap(GetParam(), kBuffer);
  EXPECT_EQ(ErrnoName(refused.error), ErrnoName(ENOMEM));
  EXPECT_GT(EventCount(dir_ + "/memory.events", "max").value_or(0), *max_events);
  EXPECT_LE(Current(), limit);

  // Nothing was lent or quarantined for the refused request.
  const Outcome<Counters> after = HeapStats(GetParam());
  ASSERT_TRUE(after.ok());
  for (const char* key : {"live_bytes", "pages_assigned", "pages_quarantined"}) {
    EXPECT_EQ(CounterValue(after.value, key), CounterValue(before.value, key)) << key;
  }

  // A request that fits is served.
  const Outcome<UniqueFd> fits = AllocateFromHeap(GetParam(), kBuffer / 8);
  EXPECT_EQ(ErrnoName(fits.error), "success");
  ASSERT_TRUE(WriteFile(dir_ + "/memory.max", "max"));
}

INSTANTIATE_TEST_SUITE_P(ProtectedHeaps, MemcgTest, ::testing::ValuesIn(ProtectedHeaps()),
                         [](const auto& info) { return TestNameOfHeap(info.param); });

}  // namespace
}  // namespace hypheap::guest
