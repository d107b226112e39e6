// What the core keeps of FF-A memory transactions (FFA_MEM_SHARE/LEND from the host to the
// partition, ffa_memory.cc): a fixed pool of records, the buffers in which fragmented
// descriptors are assembled, and the ranges of every live transaction. No heap: every limit
// below is a size in the Hyp object, and a call that would pass one answers NO_MEMORY.
// All of it is under the host VM lock (every call that changes it also changes the host
// stage-2); `retrieved` is read by RECLAIM with the partition's VM lock held too.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ffa_abi.h"
#include "types.h"

namespace hyp {

// Records: transactions live (shared or lent) plus those being assembled.
inline constexpr size_t kFfaMemMaxTransactions = 64;
// Fragmented sends being assembled at once (Linux sends one at a time: its TX lock).
inline constexpr size_t kFfaMemMaxInFlight = 2;
// Total length of one transaction's descriptor: four 4 KiB fragments, which is 1020
// constituents for Linux's v1.0 layout with one receiver (252 + 3 * 256).
inline constexpr size_t kFfaMemMaxDescBytes = 16384;
inline constexpr size_t kFfaMemMaxConstituents =
    (kFfaMemMaxDescBytes - ffa::kMemHeaderSize10 - ffa::kMemAccessSize - ffa::kMemCompositeSize) /
    ffa::kMemConstituentSize;
// Ranges kept over all live transactions, after sorting and merging adjacent constituents.
inline constexpr size_t kFfaMemMaxRanges = 4096;
// A fragment is at most the TX buffer (one 4 KiB page).
inline constexpr size_t kFfaMemMaxFragment = 4096;

enum class FfaTxnState : uint8_t {
  kFree,
  kAssembling,  // fragments arriving (FRAG_RX answered); nothing checked past the header
  kLive,        // validated and committed: the pages are the partition's (lend) or shared
  // More than one piece (pending.h), the operation in progress in `slot` owning the pages:
  kSending,     // a LEND/SHARE answered FFA_MEM_OP_PAUSE, continued by FFA_MEM_OP_RESUME
  kReclaiming,  // a RECLAIM answered FFA_ERROR(RETRY), continued by the same RECLAIM
};

// The states in which a record owns ranges of the store and pages of the stage-2s.
constexpr bool ffa_txn_holds_pages(FfaTxnState s) {
  return s == FfaTxnState::kLive || s == FfaTxnState::kSending || s == FfaTxnState::kReclaiming;
}

struct FfaTxn {
  FfaTxnState state = FfaTxnState::kFree;
  bool lend = false;
  bool clear = false;      // (lend) zeroed before the partition mapped it
  bool v11 = false;        // (assembling) the descriptor is in the v1.1 layout
  bool retrieved = false;  // (live) the partition holds it: RECLAIM answers DENIED
  uint8_t buf = 0;         // (assembling) its buffer
  uint8_t slot = 0;        // (sending, reclaiming) its operation in progress
  uint32_t generation = 0;
  uint32_t total_len = 0;  // (assembling)
  uint32_t received = 0;   // (assembling)
  // (live, sending, reclaiming) ranges[first, first + nr_ranges)
  uint32_t first = 0;
  uint32_t nr_ranges = 0;
  uint64_t pages = 0;     // (live, sending, reclaiming)
  uint64_t tag = 0;       // (live, sending, reclaiming) the sender's tag (Linux: the use case)
  Perms perms;            // (live, sending, reclaiming) the partition's: R or RW
  uint16_t receiver = 0;  // (live, sending, reclaiming) the partition's FF-A id it went to
  PhysAddr
      first_page;  // (live, sending, reclaiming) the first constituent's, in the sender's order
};

struct FfaMemState {
  FfaTxn txns[kFfaMemMaxTransactions] = {};
  bool buf_used[kFfaMemMaxInFlight] = {};
  uint32_t nr_ranges = 0;        // ranges[0, nr_ranges) belong to live records, packed
  uint32_t next_generation = 1;  // never 0: a handle always differs from 0 and ~0
  MemRange ranges[kFfaMemMaxRanges] = {};
  alignas(16) uint8_t bufs[kFfaMemMaxInFlight][kFfaMemMaxDescBytes] = {};
};

// Handles: bit 63 (the hypervisor allocated it) | generation << 8 | record index. Bits
// 62:40 are zero, so a handle is never 0 or ~0 (OP-TEE's and Linux's "no handle").
constexpr uint64_t ffa_mem_handle(uint32_t generation, size_t index) {
  return ffa::kMemHandleHypervisor | uint64_t(generation) << 8 | uint64_t(index);
}

// What a test or the invariant checker can ask about a handle.
struct FfaMemInfo {
  FfaTxnState state = FfaTxnState::kFree;
  bool lend = false;
  bool retrieved = false;
  uint64_t pages = 0;
  uint64_t tag = 0;
  Perms perms;
  uint32_t nr_ranges = 0;
};

}  // namespace hyp
