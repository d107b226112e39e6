// Pinning: the secure VM declares it is using pages (e.g. a device is mid-DMA on its
// behalf). Reclaiming a pinned page answers BUSY. The pin is a software bit of the secure
// VM's own entry, so it lives in the page tables like every other piece of state.
#include "hyp.h"
#include "lock.h"

namespace hyp {

Status Hyp::pin(VmId vm, Ipa ipa, uint64_t nr_pages) {
  return pin_common(vm, ipa, nr_pages, true);
}

Status Hyp::unpin(VmId vm, Ipa ipa, uint64_t nr_pages) {
  return pin_common(vm, ipa, nr_pages, false);
}

Status Hyp::pin_common(VmId id, Ipa ipa, uint64_t nr_pages, bool pinned) {
  Vm* vm = find_secure_vm(id);
  if (vm == nullptr)
    return Status::kUnknownVmid;
  if (!is_page_aligned(ipa.value()))
    return Status::kRangeUnaligned;
  if (nr_pages == 0 || nr_pages > (vm->s2.ipa_limit() >> kPageShift))
    return Status::kRangeSize;
  const IpaRange range{ipa, nr_pages * kPageSize};
  if (!vm->s2.in_range(range))
    return Status::kRangeSize;

  LockGuard guard(vm->lock);
  // Every page must be mapped (owned or borrowed) and not already in the requested state.
  for (Ipa cur = range.base; cur < range.end();) {
    const Leaf l = vm->s2.lookup(cur);
    if (!l.valid() || l.pinned() == pinned)
      return Status::kState;
    cur = l.end();
  }
  PagePool::Reservation res;
  HYP_TRY(pool_.reserve(vm->s2.missing_tables(std::span(&range, 1), true), res));
  TlbBatch tlb(vm->s2);
  for (Ipa cur = range.base; cur < range.end();) {
    const Leaf l = vm->s2.lookup(cur);
    const Ipa end = l.end() < range.end() ? l.end() : range.end();
    vm->s2.set_range(IpaRange{cur, end.value() - cur.value()},
                     LeafSpec::normal(l.pa_of(cur), l.perms(), l.state(), pinned), res, tlb);
    cur = end;
  }
  return Status::kOk;
}

}  // namespace hyp
