// The ownership engine: one change of page ownership between the host and one secure VM
// (lend, share, their reclaims, and the scrub of a lend in place), checked against both stage-2s,
// with its table pages reserved, then committed. MEM_ASSIGN (transaction.cc) and FF-A's
// MEM_LEND/SHARE/RECLAIM (ffa_memory.cc) each parse and validate their own descriptor into an
// OwnershipChange and hand it here, so both make the same transitions with the same TLB and cache
// maintenance.
#pragma once

#include <cstdint>
#include <span>

#include "page_pool.h"
#include "platform.h"
#include "types.h"

namespace hyp {

class Hyp;
struct PendingOp;
struct Vm;

enum class Transition : uint8_t {
  kLend,           // {host} -> {svm}
  kShare,          // {host} -> {host, svm}
  kReclaimLent,    // {svm} -> {host}
  kReclaimShared,  // {host, svm} -> {host}
  // {svm} -> {svm}: a lend stays lent, mapped as it is, and comes out zeroed and cleaned to
  // PoC, as if reclaimed and lent again with nothing in between (a heap pool's reuse). No
  // stage-2 or DMA table changes, so no table and no TLB invalidation: the host never gains
  // the pages, and the secure VM keeps them because they are still its own.
  kScrubLent,
};

struct OwnershipChange {
  Transition kind = Transition::kLend;
  Vm* svm = nullptr;
  Perms host_perms;  // kShare: what the host keeps
  Perms svm_perms;   // kLend, kShare: what the secure VM gets; kScrubLent: what it has
  // The pages belong to an FF-A transaction (pte::kFfa in the secure VM's entries). A page
  // whose FF-A mark differs from this is refused with kFfa: MEM_ASSIGN never moves FF-A's
  // pages, FF-A never moves MEM_ASSIGN's.
  bool ffa = false;
  // kLend: zero the pages (and clean the zeros to PoC) before the secure VM maps them.
  bool clear = false;
  std::span<const MemRange> ranges;  // sorted, disjoint (check_ranges)
  uint64_t pages = 0;
  // A piece of this operation in progress (pending.h): its own pages are not refused as
  // another operation's.
  const PendingOp* self = nullptr;
};

class OwnershipEngine {
 public:
  explicit OwnershipEngine(Hyp& hyp) : hyp_(hyp) {}

  // Page alignment, size, RAM, carve-outs; then sorts `ranges` and refuses overlaps. Adds
  // up the pages. Touches no lock: it reads only the platform.
  [[nodiscard]] static Status check_ranges(const Platform& platform, std::span<MemRange> ranges,
                                           uint64_t* pages);
  // Under the host lock and the secure VM's lock from here on.
  // No page in an operation in progress (kPending), then every page in the state the change
  // starts from: kMailbox, kFfa, kState, kBusy.
  [[nodiscard]] Status check_states(const OwnershipChange& c) const;
  // The worst-case table pages of the commit.
  size_t table_need(const OwnershipChange& c) const;
  // Adds table_need() pages to `res` (kNoMemory if the pool cannot give them).
  [[nodiscard]] Status reserve_tables(const OwnershipChange& c, PagePool::Reservation& res) const;
  // Cannot fail once the two above succeeded.
  void commit(const OwnershipChange& c, PagePool::Reservation& res);

 private:
  Hyp& hyp_;
};

}  // namespace hyp
