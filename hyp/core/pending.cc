// Operations in progress (pending.h): recording a validated change, committing it one piece
// per call, MEM_CONTINUE, and the questions the rest of the core asks about them.
#include "pending.h"

#include "hyp.h"
#include "lock.h"
#include "profile.h"

namespace hyp {
namespace {

constexpr uint64_t k2M = 2ULL << 20;

// Index of the first range ending after `pa` (ranges sorted and disjoint), or n.
size_t first_ending_after(const MemRange* ranges, size_t n, PhysAddr pa) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (ranges[mid].end() <= pa)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

}  // namespace

bool PendingOp::covers(PhysAddr pa, PhysAddr* end) const {
  const size_t i = first_ending_after(ranges, nr_ranges, pa);
  if (i == nr_ranges)
    return false;
  const MemRange& r = ranges[i];
  const bool inside = r.base <= pa;
  const PhysAddr stop = inside ? r.end() : r.base;
  if (stop < *end)
    *end = stop;
  return inside;
}

bool PendingOp::overlaps(const MemRange& r) const {
  const size_t i = first_ending_after(ranges, nr_ranges, r.base);
  return i < nr_ranges && ranges[i].overlaps(r);
}

bool PendingOp::done(PhysAddr pa) const {
  const size_t i = first_ending_after(ranges, nr_ranges, pa);
  if (i != next)
    return i < next;
  return pa.value() - ranges[i].base.value() < done_bytes;
}

const PendingOp* Hyp::pending_op(size_t slot) const {
  return slot < kMaxPending && pending_[slot].live ? &pending_[slot] : nullptr;
}

bool Hyp::pending_overlaps(const MemRange& r, const PendingOp* except) const {
  for (const PendingOp& op : pending_) {
    if (op.live && &op != except && op.overlaps(r))
      return true;
  }
  return false;
}

bool Hyp::pending_overlaps_vm(const Vm& vm, const MemRange& r) const {
  for (size_t i = 0; i < kMaxPending; i++) {
    if ((vm.pending_slots & (1u << i)) != 0 && pending_[i].overlaps(r))
      return true;
  }
  return false;
}

bool Hyp::pending_at(PhysAddr pa, PhysAddr* end) const {
  bool in = false;
  for (const PendingOp& op : pending_) {
    if (op.live && op.covers(pa, end))
      in = true;
  }
  return in;
}

Status Hyp::free_pending_slot(size_t* slot) const {
  for (size_t i = 0; i < kMaxPending; i++) {
    if (!pending_[i].live) {
      *slot = i;
      return Status::kOk;
    }
  }
  return Status::kPendingLimit;
}

void Hyp::start_pending(size_t slot, const OwnershipChange& c, uint64_t new_srcvm,
                        uint64_t ffa_handle) {
  PendingOp& op = pending_[slot];
  op.nr_ranges = c.ranges.size();
  for (size_t i = 0; i < op.nr_ranges; i++)
    op.ranges[i] = c.ranges[i];
  op.change = c;
  op.change.ranges = std::span<const MemRange>(op.ranges, op.nr_ranges);
  op.change.self = &op;
  op.new_srcvm = new_srcvm;
  op.ffa_handle = ffa_handle;
  op.next = 0;
  op.done_bytes = 0;
  op.pages_done = 0;
  if (++pending_generation_ == 0)
    pending_generation_ = 1;
  op.generation = pending_generation_;
  op.live = true;
  c.svm->pending_slots = uint8_t(c.svm->pending_slots | (1u << slot));
  stats_.pending_now.add(1);
}

void Hyp::cancel_pending(size_t slot) {
  PendingOp& op = pending_[slot];
  if (!op.live || op.pages_done != 0)
    arch::fatal("cancel_pending: the operation has pieces done");  // a core bug, not input
  op.res.reset();
  op.live = false;
  op.ffa_handle = 0;
  op.change.svm->pending_slots = uint8_t(op.change.svm->pending_slots & ~(1u << slot));
  stats_.pending_now.add(-1);
}

// A piece is at most kPiecePages pages from the cursor, cut at a 2 MiB boundary where the
// budget allows, so that a piece does not split a block the whole change would have
// replaced whole (a split the change's table count did not include).
Status Hyp::advance_pending(size_t slot, uint64_t* out) {
  PendingOp& op = pending_[slot];
  uint64_t budget = kPiecePages * kPageSize;
  size_t n = 0;
  size_t next = op.next;
  uint64_t done_bytes = op.done_bytes;
  while (next < op.nr_ranges && budget != 0) {
    const MemRange& r = op.ranges[next];
    const PhysAddr base = r.base + done_bytes;
    uint64_t take = r.size - done_bytes;
    if (take > budget) {
      take = budget;
      const uint64_t cut = (base.value() + take) & ~(k2M - 1);
      if (cut > base.value())
        take = cut - base.value();
    }
    piece_[n++] = MemRange{base, take};
    budget -= take;
    done_bytes += take;
    if (done_bytes == r.size) {
      next++;
      done_bytes = 0;
    }
  }
  OwnershipChange piece = op.change;
  piece.ranges = std::span<const MemRange>(piece_, n);
  piece.pages = (kPiecePages * kPageSize - budget) / kPageSize;

  OwnershipEngine engine(*this);
  // The operation's pages were checked whole when it started, and nothing may change them
  // since; checked again because a refusal here costs one piece's lookups and a path that
  // forgot the rule would otherwise have the commit write over its change.
  HYP_TRY(engine.check_states(piece));
  // A change interleaved with this one (on other pages) may have merged a table a later
  // piece now needs again: the count is taken per piece, against the tables as they are.
  const size_t need = engine.table_need(piece);
  if (need > op.res.remaining())
    HYP_TRY(pool_.reserve(need - op.res.remaining(), op.res));
  engine.commit(piece, op.res);

  op.next = next;
  op.done_bytes = done_bytes;
  op.pages_done += piece.pages;
  if (op.next < op.nr_ranges) {
    stats_.preempted.add(1);
    *out = op.token(slot);
    return Status::kPreempted;
  }
  *out = op.new_srcvm;
  op.res.reset();
  op.live = false;
  op.ffa_handle = 0;
  op.change.svm->pending_slots = uint8_t(op.change.svm->pending_slots & ~(1u << slot));
  stats_.pending_now.add(-1);
  return Status::kOk;
}

Status Hyp::mem_continue(uint64_t token, uint64_t x2, uint64_t* out) {
  *out = 0;
  // x3 is not read: SMCCC 1.1 callers with two arguments leave it as it was (as MEM_ASSIGN).
  if (x2 != 0)
    return Status::kDescReserved;
  const uint64_t slot = token & ((1ULL << kTokenGenShift) - 1);
  const uint64_t generation = (token >> kTokenGenShift) & kTokenGenMask;
  const uint64_t rebuilt = kTokenTag | (generation << kTokenGenShift) | slot;
  if (token != rebuilt || slot >= kMaxPending || generation == 0)
    return Status::kToken;
  LockGuard host_guard(host_.lock);
  PendingOp& op = pending_[slot];
  // An FF-A transaction's operation is continued by FF-A's calls, which keep its record.
  if (!op.live || op.generation != generation || op.ffa_handle != 0)
    return Status::kToken;
  LockGuard svm_guard(op.change.svm->lock);
  return advance_pending(size_t(slot), out);
}

}  // namespace hyp
