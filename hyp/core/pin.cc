// Pins and holds: the secure VM declares it is using pages, so reclaiming them answers BUSY.
// A hold (SVM_HOLD, software bit 58) covers one service call; a pin (SVM_PIN, bit 57) is the
// PIN service's mark and lasts across calls. Both are bits of the secure VM's own entry, so
// they live in the page tables like every other piece of state, and reclaim checks them
// under the same VM lock that sets them.
#include "hyp.h"
#include "lock.h"

namespace hyp {
namespace {

constexpr uint64_t kKnownNeeds =
    HYPHEAP_SVM_NEED_R | HYPHEAP_SVM_NEED_W | HYPHEAP_SVM_NEED_EXCLUSIVE | HYPHEAP_SVM_NEED_SHARED;

// Why a hold of `need` cannot take the page of leaf `l` (kOk if it can). In the order the
// ABI ranks them: not mapped as asked, then still mapped by the host, then already held.
Status hold_refusal(const Leaf& l, uint64_t need) {
  if (!l.valid())
    return Status::kNotMapped;
  const Perms p = l.perms();
  if (((need & HYPHEAP_SVM_NEED_R) && !p.r()) || ((need & HYPHEAP_SVM_NEED_W) && !p.w()))
    return Status::kNotMapped;
  const bool shared = l.state() == PageState::kSharedBorrowed;
  if ((need & HYPHEAP_SVM_NEED_SHARED) && !shared)
    return Status::kNotMapped;
  if ((need & HYPHEAP_SVM_NEED_EXCLUSIVE) && shared)
    return Status::kHostAccess;
  return l.held() ? Status::kBusy : Status::kOk;
}

}  // namespace

Status Hyp::pin(VmId vm, Ipa ipa, uint64_t nr_pages) {
  return mark(vm, ipa, nr_pages, Mark::kPin, true, HYPHEAP_SVM_NEED_R);
}

Status Hyp::unpin(VmId vm, Ipa ipa, uint64_t nr_pages) {
  return mark(vm, ipa, nr_pages, Mark::kPin, false, 0);
}

Status Hyp::hold(VmId vm, Ipa ipa, uint64_t nr_pages, uint64_t need) {
  return mark(vm, ipa, nr_pages, Mark::kHold, true, need);
}

Status Hyp::release(VmId vm, Ipa ipa, uint64_t nr_pages) {
  return mark(vm, ipa, nr_pages, Mark::kHold, false, 0);
}

Status Hyp::mark(VmId id, Ipa ipa, uint64_t nr_pages, Mark which, bool set, uint64_t need) {
  Vm* vm = find_secure_vm(id);
  if (vm == nullptr)
    return Status::kUnknownVmid;
  if ((need & ~kKnownNeeds) != 0 ||
      ((need & HYPHEAP_SVM_NEED_EXCLUSIVE) && (need & HYPHEAP_SVM_NEED_SHARED)))
    return Status::kPerms;
  if (!is_page_aligned(ipa.value()))
    return Status::kRangeUnaligned;
  if (nr_pages == 0 || nr_pages > (vm->s2.ipa_limit() >> kPageShift))
    return Status::kRangeSize;
  const IpaRange range{ipa, nr_pages * kPageSize};
  if (!vm->s2.in_range(range))
    return Status::kRangeSize;
  // The secure VM's own memory is never the host's to reclaim: marking it means nothing.
  if (platform_.touches_carveout(MemRange{pa_identity(ipa), range.size}))
    return Status::kProtected;

  LockGuard guard(vm->lock);
  // An aborted partition's marks were dropped so its pages can be reclaimed; a vCPU still
  // running elsewhere must not set new ones.
  if (set && id.value() == HYPHEAP_VMID_SECURE_0 && ffa_.aborted)
    return Status::kState;
  // A page a MEM_ASSIGN in progress changes is on its way out (or in): no call may start
  // using it. Only setting is refused: a page of an operation has no mark to clear.
  if (set && pending_overlaps_vm(*vm, MemRange{pa_identity(ipa), range.size}))
    return Status::kPending;
  for (Ipa cur = range.base; cur < range.end();) {
    const Leaf l = vm->s2.lookup(cur);
    if (!l.valid())
      return Status::kNotMapped;
    if (which == Mark::kHold && set)
      HYP_TRY(hold_refusal(l, need));
    else if (which == Mark::kPin && set && (!l.perms().r() || l.pinned()))
      return l.perms().r() ? Status::kState : Status::kNotMapped;
    else if (!set && (which == Mark::kPin ? !l.pinned() : !l.held()))
      return Status::kState;
    cur = l.end();
  }
  PagePool::Reservation res;
  HYP_TRY(pool_.reserve(vm->s2.missing_tables(std::span(&range, 1), true), res));
  TlbBatch tlb(vm->s2);
  for (Ipa cur = range.base; cur < range.end();) {
    const Leaf l = vm->s2.lookup(cur);
    const Ipa end = l.end() < range.end() ? l.end() : range.end();
    const bool pinned = which == Mark::kPin ? set : l.pinned();
    const bool held = which == Mark::kHold ? set : l.held();
    vm->s2.set_range(IpaRange{cur, end.value() - cur.value()},
                     LeafSpec::normal(l.pa_of(cur), l.perms(), l.state(), pinned, held, l.ffa()),
                     res, tlb);
    cur = end;
  }
  return Status::kOk;
}

void Hyp::drop_marks(Vm& vm) {
  // Each marked leaf is rewritten over exactly its own span, so nothing splits: no table
  // page is needed, and merges only give pages back.
  PagePool::Reservation res;
  TlbBatch tlb(vm.s2);
  for (const MemRange& bank : platform_.ram()) {
    for (Ipa cur = ipa_identity(bank.base); cur < ipa_identity(bank.end());) {
      const Leaf l = vm.s2.lookup(cur);
      if (l.valid() && (l.pinned() || l.held()))
        vm.s2.set_range(
            IpaRange{l.base, l.size},
            LeafSpec::normal(l.pa_of(l.base), l.perms(), l.state(), false, false, l.ffa()), res,
            tlb);
      cur = l.end();
    }
  }
}

}  // namespace hyp
