// hypheap's trace events, read through tracefs the way a production build
// without debugfs would observe the heaps: every event is there, and one
// buffer's life (allocate, lend, give back) shows as its three events with
// the heap, the size and the owners.
#include <fcntl.h>
#include <hypheap/abi.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dma_heap.h"
#include "heap_names.h"
#include "hypheap_debugfs.h"

namespace hypheap::guest {
namespace {

// tracefs where it is mounted, or where debugfs mounts it by itself.
std::string TraceDir() {
  for (const char* dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    if (access((std::string(dir) + "/trace").c_str(), R_OK) == 0) {
      return dir;
    }
  }
  return {};
}

int WriteTo(const std::string& path, const std::string& text, int flags = O_WRONLY) {
  Outcome<UniqueFd> file = OpenFile(path, flags);
  return file.ok() ? WriteAll(file.value.get(), text) : file.error;
}

class TraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TraceDir();
    ASSERT_FALSE(dir_.empty()) << "no tracefs";
    ASSERT_EQ(ErrnoName(WriteTo(dir_ + "/events/hypheap/enable", "1")), "success");
    // opening trace for writing with O_TRUNC empties the buffer
    ASSERT_EQ(ErrnoName(WriteTo(dir_ + "/trace", "", O_WRONLY | O_TRUNC)), "success");
  }
  void TearDown() override { WriteTo(dir_ + "/events/hypheap/enable", "0"); }

  // The trace lines of event that mention every one of words.
  std::vector<std::string> Lines(const std::string& event,
                                 const std::vector<std::string>& words) const {
    const Outcome<std::string> trace = ReadWholeFile(dir_ + "/trace");
    std::vector<std::string> found;
    size_t start = 0;
    while (trace.ok() && start < trace.value.size()) {
      size_t end = trace.value.find('\n', start);
      if (end == std::string::npos) {
        end = trace.value.size();
      }
      const std::string line = trace.value.substr(start, end - start);
      start = end + 1;
      if (line.find(" " + event + ": ") == std::string::npos) {
        continue;
      }
      bool all = true;
      for (const std::string& word : words) {
        all = all && line.find(word) != std::string::npos;
      }
      if (all) {
        found.push_back(line);
      }
    }
    return found;
  }

  std::string dir_;
};

TEST_F(TraceTest, EveryEventIsThere) {
  for (const char* event : {"hypheap_alloc", "hypheap_restrict", "hypheap_unrestrict",
                            "hypheap_quarantine", "hypheap_retry", "hypheap_phase",
                            "hypheap_pool_take", "hypheap_pool_put", "hypheap_pool_give_back"}) {
    EXPECT_EQ(access((dir_ + "/events/hypheap/" + event + "/format").c_str(), R_OK), 0) << event;
  }
}

TEST_F(TraceTest, OneBufferIsAllocatedLentAndGivenBack) {
  const std::string heap = kSecureVideoHeap;
  const std::optional<uint32_t> vm = BorrowerOf(heap);
  ASSERT_TRUE(vm.has_value());
  constexpr uint64_t kLen = 68 * kKiB;
  // With a pool: nothing pooled beforehand, so the buffer is lent anew, and pooled after.
  const bool pooled = HasPool(heap);
  if (pooled) {
    ASSERT_EQ(ErrnoName(DrainPool(heap)), "success");
    ASSERT_EQ(ErrnoName(WriteTo(dir_ + "/trace", "", O_WRONLY | O_TRUNC)), "success");
  }
  {
    const Outcome<UniqueFd> buffer = AllocateFromHeap(heap, kLen);
    ASSERT_EQ(ErrnoName(buffer.error), "success");
  }
  const std::string who = "heap=" + heap + " len=" + std::to_string(kLen) + " ";
  char owner[32];
  snprintf(owner, sizeof(owner), "owners=%#llx ", HYPHEAP_VMID_BIT(*vm));
  char host[32];
  snprintf(host, sizeof(host), "owners=%#llx ", HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST));

  EXPECT_EQ(Lines("hypheap_alloc", {who, "ret=0"}).size(), 1U);
  EXPECT_EQ(Lines("hypheap_restrict", {who, owner, "ret=0"}).size(), 1U);
  // ffa-lend, by design: the buffer's slice stays lent with its block (the backend releases
  // and reclaims the block after its last buffer), so unrestrict leaves the owners as they were.
  // carveout, by design: the secure VM owns it from ALLOC to FREE, unrestrict changes nothing.
  const bool block = BackendOf(heap) == "ffa-lend" || BackendOf(heap) == "carveout";
  if (pooled) {
    // A pool keeps the buffer lent: no give-back, one put.
    EXPECT_TRUE(Lines("hypheap_unrestrict", {who}).empty());
    EXPECT_EQ(Lines("hypheap_pool_put", {who}).size(), 1U);
  } else {
    EXPECT_EQ(Lines("hypheap_unrestrict", {who, block ? owner : host, "ret=0"}).size(), 1U);
  }
  EXPECT_TRUE(Lines("hypheap_quarantine", {}).empty());
}

TEST_F(TraceTest, RefusedAllocationIsTracedWithItsErrno) {
  EXPECT_EQ(ErrnoName(AllocateFromHeap(kSecureVideoHeap, kTiB).error), "ENOMEM");
  EXPECT_EQ(Lines("hypheap_alloc", {std::string("heap=") + kSecureVideoHeap, "ret=-12"}).size(),
            1U);
  EXPECT_TRUE(Lines("hypheap_restrict", {}).empty());
}

}  // namespace
}  // namespace hypheap::guest
