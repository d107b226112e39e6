// Operations in progress (ABI 1.6): a change of more than one piece's pages is validated
// whole, then done one piece per call, so no call holds its CPU longer than one piece of
// scrub, clean and stage-2 work: MEM_ASSIGN, then MEM_CONTINUE with the token; FF-A's
// MEM_LEND/SHARE, then FFA_MEM_OP_RESUME, and MEM_RECLAIM, then MEM_RECLAIM again, with the
// transaction's handle (ffa_memory.cc).
//
// Between calls each page of the operation is wholly in its old state (not reached yet) or
// wholly in its new one (its piece committed): a piece is one complete ownership change,
// flushes and scrub included, inside one call. What keeps the rest of the system off the
// operation's pages until it finishes is this record: the engine refuses a change of them
// (kPending), pin and hold refuse them, RXTX_MAP refuses them, MEM_QUERY flags them.
#pragma once

#include <cstddef>
#include <cstdint>

#include <hypheap/abi.h>

#include "ownership.h"
#include "page_pool.h"
#include "types.h"

// A build for measuring the unsplit hyp (docs/performance.md) raises the piece past any
// descriptor; nothing else may change it: it is the ABI's bound.
#ifndef HYPHEAP_PIECE_PAGES_BUILD
#define HYPHEAP_PIECE_PAGES_BUILD HYPHEAP_PIECE_PAGES
#endif
// Operations in progress at once. The fuzzer builds 2 (each slot is a 64 KiB range store
// restored per input).
#ifndef HYPHEAP_MAX_PENDING
#define HYPHEAP_MAX_PENDING 4
#endif

namespace hyp {

inline constexpr uint64_t kPiecePages = HYPHEAP_PIECE_PAGES_BUILD;
inline constexpr size_t kMaxPending = HYPHEAP_MAX_PENDING;
static_assert(kMaxPending > 0 && kMaxPending <= HYPHEAP_PENDING_MAX,
              "a VM's slot mask is 8 bits, and the kernel keeps at most this many tokens");
// A piece never covers more than this many ranges (one page each at worst).
inline constexpr size_t kMaxPieceRanges = HYPHEAP_PIECE_PAGES_BUILD < HYPHEAP_DESC_MAX_RANGES(1)
                                              ? HYPHEAP_PIECE_PAGES_BUILD
                                              : HYPHEAP_DESC_MAX_RANGES(1);

// Token: bit 63 | generation << 8 | slot. The generation is the Hyp's, bumped per operation,
// so a token names one operation once: finished, its slot reused, it answers kToken.
inline constexpr uint64_t kTokenTag = 1ULL << 63;
inline constexpr uint64_t kTokenGenShift = 8;
inline constexpr uint64_t kTokenGenMask = 0xffffffffULL;

struct PendingOp {
  // Under the host lock and the secure VM's lock (both held to change it, either to read
  // it; pin and hold, which hold only the VM's lock, read only their VM's slots).
  bool live = false;
  uint32_t generation = 0;
  OwnershipChange change;  // ranges points into `ranges` below
  uint64_t new_srcvm = 0;  // what the call answers when the last piece is done
  // The FF-A transaction this operation moves (its record names this slot), or 0 for a
  // MEM_ASSIGN's: only FF-A's own calls continue it, never MEM_CONTINUE.
  uint64_t ffa_handle = 0;
  size_t nr_ranges = 0;
  // The cursor: ranges before `next` are done, and the first `done_bytes` of ranges[next].
  size_t next = 0;
  uint64_t done_bytes = 0;
  uint64_t pages_done = 0;
  // The table pages the whole change was counted to need, taken from by every piece (and
  // topped up if a piece needs more: docs/hyp-core.md, "Operations in progress").
  PagePool::Reservation res;
  MemRange ranges[HYPHEAP_DESC_MAX_RANGES(1)];

  uint64_t token(size_t slot) const {
    return kTokenTag | (uint64_t(generation) << kTokenGenShift) | slot;
  }
  // Whether `pa` lies in one of the ranges (sorted, disjoint), and where that answer stops
  // holding (the end of that range, or the start of the next one), at most `*end`.
  bool covers(PhysAddr pa, PhysAddr* end) const;
  bool overlaps(const MemRange& r) const;
  // Whether the page at `pa` (in one of the ranges) has been committed.
  bool done(PhysAddr pa) const;
};

}  // namespace hyp
