// hypheap's debugfs files (docs/kernel.md), parsed: counters, the
// hypervisor's STATS, MEM_QUERY of a physical range, and the physical ranges
// of each live buffer. All of them are root-only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dma_heap.h"

namespace hypheap::guest {

using Counters = std::map<std::string, int64_t>;

// The "key=value" words of one line, in any order.
std::map<std::string, std::string> ParseFields(const std::string& line);
// "0x1f" or "1f"; nothing for anything else.
std::optional<uint64_t> ParseHex(std::string_view text);

// The counter's value, or nothing when the file has no such line.
std::optional<int64_t> CounterValue(const Counters& counters, std::string_view key);

// "key: value" or "key value" lines; lines whose value is not a number (the
// heap's "backend: hyp-pages") are left out. The error is open()'s or read()'s.
Outcome<Counters> ReadCounters(const std::string& path);
Outcome<Counters> TotalStats();
Outcome<Counters> HeapStats(const std::string& heap);
// The heap's "backend: <name>" line ("hyp-pages", "hyp-cma", "ffa-lend"); empty without one.
std::string BackendOf(const std::string& heap);
// The ffa-lend backend's block for a buffer of len bytes alone in its use case: the secure
// VM's minimum, or len rounded up to its alignment (include/hypheap/abi.h, PROTMEM_CONFIG).
uint64_t FfaLendBlockBytes(uint64_t len);
// The hypervisor's STATS, read live through the driver.
Outcome<Counters> HypStats();
// hypheap_assign_mem()'s transport (debugfs hypheap/transport "name: "): "hypheap-smccc",
// "xen", ...; empty when the driver has none.
std::string TransportName();
// xen, by design: Xen 4.17 keeps no counters dom0 can read of what it lent or refused, so
// the driver's hypheap/hyp answers EOPNOTSUPP there, and the pages out of dom0's p2m now
// (pages_lent, pages_shared) are the xen transport's own counts in hypheap/transport.
bool OnXen();

// The heap's pool (hypheap/<heap>/pool: max_bytes, bytes, hits, misses, puts, refused,
// shrinks, shrunk_pages, scrub_failures); error ENOENT without the file (an older driver).
Outcome<Counters> PoolStats(const std::string& heap);
// Whether the heap keeps freed buffers lent for reuse (its pool's max_bytes is not 0).
bool HasPool(const std::string& heap);
// Every buffer the heap's pool holds back to the host (write "drain"); 0 or the errno.
int DrainPool(const std::string& heap);

// Host accesses the hypervisor refused (STATS HOST_FAULTS, "host_faults") and
// the aborts it injected back for them (ABORTS_INJECTED, "aborts_injected").
struct HostFaults {
  int64_t faults = 0;
  int64_t injected = 0;
};
// From HypStats(); error ENOENT when the driver does not list both (a
// hypervisor older than ABI 1.1).
Outcome<HostFaults> HypHostFaults();

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

// "0x80000000+0x300000" and "owners=0x400 state=0x1 pages=768", as messages
// and the CLI print them.
std::string Describe(const PhysRange& range);
std::string Describe(const Ownership& own);

// Who must own a range alone, in the exclusive state.
enum class OwnerRule {
  kHost,        // the host
  kVm,          // one given VM
  kAnyButHost,  // some VM other than the host: the range is lent away
};

// Whether QUERY of the whole range answers one owner bitmap that satisfies
// the rule, the exclusive state, and the range's page count; what says why in
// words a failure message can print.
struct OwnerCheck {
  bool holds = false;
  std::string what;
};
OwnerCheck CheckSoleOwner(const PhysRange& range, OwnerRule rule, uint32_t vm = 0);

// The counters that say how much memory is out right now (not totals since
// boot): the driver's, the heap's and the hypervisor's (on Xen, the transport's: OnXen()).
struct MemoryOut {
  Counters total;
  Counters heap;
  Counters hyp;
};

// A heap with a pool is drained first: what a freed buffer left lent is back with the
// host before the counters are read, as it would be without a pool.
Outcome<MemoryOut> SnapshotMemoryOut(const std::string& heap);

// Counters that are totals since boot (hypercalls, failures_*, assign_calls,
// pages_reclaimed ...) only grow; these say what is out at this moment.
inline constexpr const char* kDriverNowCounters[] = {"live_buffers", "live_bytes", "pages_assigned",
                                                     "pages_quarantined"};
inline constexpr const char* kHypNowCounters[] = {"pages_lent", "pages_shared"};

}  // namespace hypheap::guest
