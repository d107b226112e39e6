// MEM_QUERY: who owns a page and in which state, read from the stage-2s alone.
#include "hyp.h"

namespace hyp {

// What one page looks like across all VMs, and where that description stops holding.
struct PageView {
  uint64_t owners = 0;
  uint64_t state = 0;
  PhysAddr end;
};

class PageDescriber {
 public:
  explicit PageDescriber(const Hyp& hyp) : hyp_(hyp) {}

  // Every VM lock must be held.
  PageView describe(PhysAddr pa) const {
    PageView v = describe_stage2(pa);
    if (hyp_.pending_at(pa, &v.end))
      v.state |= HYPHEAP_STATE_F_PENDING;
    return v;
  }

 private:
  PageView describe_stage2(PhysAddr pa) const {
    const Leaf h = hyp_.host_.s2.lookup(ipa_identity(pa));
    PageView v{0, 0, pa_identity(h.end())};
    if (h.valid()) {
      v.owners = kVmidHost.bit();
      v.state = HYPHEAP_STATE_EXCLUSIVE;
      if (h.state() == PageState::kSharedOwned)
        add_borrower(pa, &v);
      if (h.state() == PageState::kSharedHyp) {
        v.owners |= kVmidHyp.bit();
        v.state = HYPHEAP_STATE_SHARED;
      }
      return v;
    }
    const VmId owner = h.owner();
    if (owner == VmId(0))
      return v;  // no owner at all: the invariant checker reports it
    v.owners = owner.bit();
    v.state = HYPHEAP_STATE_EXCLUSIVE;
    if (const Vm* svm = hyp_.secure_vm(owner))
      add_pin(svm->s2.lookup(ipa_identity(pa)), &v);
    return v;
  }

  void add_borrower(PhysAddr pa, PageView* v) const {
    v->state = HYPHEAP_STATE_SHARED;
    for (size_t i = 0; i < hyp_.nr_secure_vms_; i++) {
      const Leaf s = hyp_.secure_vms_[i].s2.lookup(ipa_identity(pa));
      if (s.valid() && s.state() == PageState::kSharedBorrowed) {
        v->owners |= hyp_.secure_vms_[i].id.bit();
        add_pin(s, v);
        return;
      }
    }
  }

  static void add_pin(const Leaf& s, PageView* v) {
    if (s.pinned())
      v->state |= HYPHEAP_STATE_F_PINNED;
    if (s.held())
      v->state |= HYPHEAP_STATE_F_HELD;
    if (s.ffa())
      v->state |= HYPHEAP_STATE_F_FFA;
    if (pa_identity(s.end()) < v->end)
      v->end = pa_identity(s.end());
  }

  const Hyp& hyp_;
};

Status Hyp::mem_query(PhysAddr pa, uint64_t nr_pages, QueryResult* out) const {
  if (!is_page_aligned(pa.value()))
    return Status::kRangeUnaligned;
  if (nr_pages == 0 || nr_pages > (~0ULL - pa.value()) / kPageSize)
    return Status::kRangeSize;
  const MemRange range{pa, nr_pages * kPageSize};
  if (!platform_.in_ram(range))
    return Status::kOutsideRam;

  lock_all();
  const PageDescriber describer(*this);
  const PageView first = describer.describe(pa);
  PhysAddr cur = first.end;
  while (cur < range.end()) {
    const PageView v = describer.describe(cur);
    if (v.owners != first.owners || v.state != first.state)
      break;
    cur = v.end;
  }
  unlock_all();

  const PhysAddr run_end = cur < range.end() ? cur : range.end();
  *out = QueryResult{first.owners, first.state, (run_end.value() - pa.value()) / kPageSize};
  return Status::kOk;
}

}  // namespace hyp
