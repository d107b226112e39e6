// hypheap's debugfs files (docs/kernel.md), read the way a test needs them:
// counters, the hypervisor's STATS, MEM_QUERY of a physical range, and the
// physical ranges of each live buffer. All of them are root-only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "dma_heap.h"

namespace hypheap::guest {

using Counters = std::map<std::string, int64_t>;

// The "key=value" words of one line, in any order.
std::map<std::string, std::string> ParseFields(const std::string& line);
// "0x1f" or "1f"; nothing for anything else.
std::optional<uint64_t> ParseHex(std::string_view text);

// "key: value" or "key value" lines; lines whose value is not a number (the
// heap's "backend: hyp-pages") are left out. The error is open()'s or read()'s.
Outcome<Counters> ReadCounters(const std::string& path);
Outcome<Counters> TotalStats();
Outcome<Counters> HeapStats(const std::string& heap);
// The hypervisor's STATS, read live through the driver.
Outcome<Counters> HypStats();

struct PhysRange {
  uint64_t pa = 0;
  uint64_t bytes = 0;
  uint64_t pages() const { return bytes / kPageSize; }
};

struct LiveBuffer {
  ino_t ino = 0;
  uint64_t size = 0;
  std::vector<PhysRange> ranges;
};

// Every line of hypheap/<heap>/buffers.
Outcome<std::vector<LiveBuffer>> LiveBuffers(const std::string& heap);
// The live buffer whose dma-buf has inode ino; error ENOENT when not listed.
Outcome<LiveBuffer> FindLiveBuffer(const std::string& heap, ino_t ino);

// One MEM_QUERY answer: the owners and state of the first page, and how many
// leading pages share them. abi_status is nonzero when the hypervisor refused.
struct Ownership {
  uint64_t owners = 0;
  uint64_t state = 0;
  uint64_t pages = 0;
  int64_t abi_status = 0;
};

Outcome<Ownership> QueryOwnership(uint64_t pa, uint64_t pages);

// Passes when the hypervisor says the host alone owns every page of range.
::testing::AssertionResult HostOwnsRange(const PhysRange& range);
// Passes when vm alone (a secure VM id) owns every page of range.
::testing::AssertionResult VmOwnsRange(const PhysRange& range, uint32_t vm);
// Passes when some VM other than the host owns every page of range.
::testing::AssertionResult LentAway(const PhysRange& range);

// The counters that say how much memory is out right now (not totals since
// boot): the driver's, the heap's and the hypervisor's.
struct MemoryOut {
  Counters total;
  Counters heap;
  Counters hyp;
};

Outcome<MemoryOut> SnapshotMemoryOut(const std::string& heap);
// Passes when every "now" counter is back at its value in baseline.
::testing::AssertionResult BackToBaseline(const std::string& heap, const MemoryOut& baseline);

}  // namespace hypheap::guest
