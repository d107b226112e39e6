// MEM_ASSIGN as a transaction: copy the descriptor, validate everything (including the
// worst-case table pages, which are reserved), then commit, which cannot fail. Any error
// returns before the first stage-2 write, so every stage-2 stays exactly as it was.
#include "descriptor.h"
#include "hyp.h"
#include "lock.h"
#include "sort.h"

namespace hyp {
namespace {

enum class Transition {
  kLend,           // {host} -> {svm}
  kShare,          // {host} -> {host, svm}
  kReclaimLent,    // {svm} -> {host}
  kReclaimShared,  // {host, svm} -> {host}
};

PhysAddr min_end(Ipa a, Ipa b, PhysAddr c) {
  const uint64_t m = a.value() < b.value() ? a.value() : b.value();
  return PhysAddr(m < c.value() ? m : c.value());
}

}  // namespace

class AssignTransaction {
 public:
  AssignTransaction(Hyp& hyp, unsigned cpu) : hyp_(hyp), cpu_(cpu) {}

  Status run(PhysAddr desc, uint64_t len, uint64_t* new_srcvm) {
    if (!is_page_aligned(desc.value()))
      return Status::kDescAlign;
    if (len < sizeof(hypheap_assign_hdr) || len > HYPHEAP_DESC_MAX_SIZE)
      return Status::kDescLen;
    LockGuard host_guard(hyp_.host_.lock);
    // Under the host lock: the descriptor pages cannot be lent away while we copy them.
    HYP_TRY(copy_in(desc, len));
    Descriptor d;
    HYP_TRY(parse_descriptor(std::span(hyp_.desc_buf_[cpu_], len), hyp_.ranges_[cpu_], &d));
    HYP_TRY(plan(d));
    HYP_TRY(check_ranges(d.ranges));
    LockGuard svm_guard(svm_->lock);
    HYP_TRY(check_states());
    PagePool::Reservation res;
    HYP_TRY(reserve_tables(res));
    commit(res);
    *new_srcvm = new_srcvm_;
    return Status::kOk;
  }

 private:
  Status copy_in(PhysAddr desc, uint64_t len) {
    const MemRange span{desc, (len + kPageSize - 1) & ~(kPageSize - 1)};
    if (!hyp_.platform_.in_ram(span))
      return Status::kDescNotHost;
    for (PhysAddr cur = span.base; cur < span.end();) {
      const Leaf h = hyp_.host_.s2.lookup(ipa_identity(cur));
      // Readable by the host, not merely mapped: a W- or X-only share may hold what the
      // secure VM wrote, and the status of a call parsing it would tell the host its bytes.
      const bool host_readable =
          h.valid() && (h.state() == PageState::kOwned || h.state() == PageState::kSharedOwned) &&
          h.perms().r();
      // The host's mapped TX (or RX) page is still its own, mapped RWX.
      const bool mailbox = h.valid() && h.state() == PageState::kSharedHyp;
      if (!host_readable && !mailbox)
        return Status::kDescNotHost;
      cur = pa_identity(h.end());
    }
    arch::copy_from_phys(hyp_.desc_buf_[cpu_], desc, len);
    return Status::kOk;
  }

  // Resolves the destinations and srcvm into one of the four supported transitions.
  Status plan(const Descriptor& d) {
    uint64_t dest_bits = 0;
    Vm* dest_svm = nullptr;
    Perms host_perms;
    for (size_t i = 0; i < d.nr_dests; i++) {
      const Dest& dest = d.dests[i];
      Vm* svm = hyp_.find_secure_vm(dest.vmid);
      if (dest.vmid != kVmidHost && svm == nullptr)
        return Status::kUnknownVmid;
      if (!dest.perms.valid())
        return Status::kPerms;
      if ((dest_bits & dest.vmid.bit()) != 0 || (svm != nullptr && dest_svm != nullptr))
        return Status::kDestSet;
      dest_bits |= dest.vmid.bit();
      if (svm != nullptr) {
        dest_svm = svm;
        svm_perms_ = dest.perms;
      } else {
        host_perms = dest.perms;
      }
    }
    Vm* src_svm = nullptr;
    HYP_TRY(resolve_srcvm(d.srcvm, &src_svm));
    new_srcvm_ = dest_bits;
    host_perms_ = host_perms;
    if (d.srcvm == kVmidHost.bit() && dest_svm != nullptr) {
      kind_ = (dest_bits & kVmidHost.bit()) ? Transition::kShare : Transition::kLend;
      svm_ = dest_svm;
      return Status::kOk;
    }
    if (src_svm != nullptr && dest_bits == kVmidHost.bit()) {
      kind_ = (d.srcvm & kVmidHost.bit()) ? Transition::kReclaimShared : Transition::kReclaimLent;
      svm_ = src_svm;
      // Reclaimed memory returns to the host's normal mapping, nothing less.
      return host_perms == kPermsRwx ? Status::kOk : Status::kPerms;
    }
    return Status::kDestSet;
  }

  Status resolve_srcvm(uint64_t srcvm, Vm** src_svm) {
    if (srcvm == 0)
      return Status::kDestSet;
    for (uint32_t bit = 0; bit < HYPHEAP_VMID_LIMIT; bit++) {
      if ((srcvm & HYPHEAP_VMID_BIT(bit)) == 0 || VmId(bit) == kVmidHost)
        continue;
      Vm* svm = hyp_.find_secure_vm(VmId(bit));
      if (svm == nullptr)
        return Status::kUnknownVmid;
      if (*src_svm != nullptr)
        return Status::kDestSet;
      *src_svm = svm;
    }
    return Status::kOk;
  }

  Status check_ranges(std::span<MemRange> ranges) {
    pages_ = 0;
    for (const MemRange& r : ranges) {
      if (!is_page_aligned(r.base.value()) || !is_page_aligned(r.size))
        return Status::kRangeUnaligned;
      if (r.size == 0 || r.end() < r.base)
        return Status::kRangeSize;
      if (!hyp_.platform_.in_ram(r))
        return Status::kOutsideRam;
      if (hyp_.platform_.touches_carveout(r))
        return Status::kProtected;
      pages_ += r.size / kPageSize;
    }
    heap_sort(ranges, [](const MemRange& a, const MemRange& b) { return a.base < b.base; });
    for (size_t i = 1; i < ranges.size(); i++) {
      if (ranges[i].base < ranges[i - 1].end())
        return Status::kOverlap;
    }
    ranges_ = ranges;
    return Status::kOk;
  }

  Status check_run(const Leaf& h, const Leaf& s) const {
    // The host's FF-A mailbox: the hyp writes it, so it stays where it is until RXTX_UNMAP.
    if (h.valid() && h.state() == PageState::kSharedHyp)
      return Status::kMailbox;
    switch (kind_) {
      case Transition::kLend:
      case Transition::kShare:
        return h.valid() && h.state() == PageState::kOwned && s.raw == 0 ? Status::kOk
                                                                         : Status::kState;
      case Transition::kReclaimLent:
        if (h.valid() || h.owner() != svm_->id || !s.valid() || s.state() != PageState::kOwned)
          return Status::kState;
        return s.pinned() ? Status::kBusy : Status::kOk;
      case Transition::kReclaimShared:
        if (!h.valid() || h.state() != PageState::kSharedOwned || !s.valid() ||
            s.state() != PageState::kSharedBorrowed)
          return Status::kState;
        return s.pinned() ? Status::kBusy : Status::kOk;
    }
    return Status::kState;
  }

  Status check_states() const {
    for (const MemRange& r : ranges_) {
      for (PhysAddr cur = r.base; cur < r.end();) {
        const Leaf h = hyp_.host_.s2.lookup(ipa_identity(cur));
        const Leaf s = svm_->s2.lookup(ipa_identity(cur));
        HYP_TRY(check_run(h, s));
        // A hold (a secure-VM call in progress) refuses like a pin, once the state is right.
        if (s.held())
          return Status::kBusy;
        cur = min_end(h.end(), s.end(), r.end());
      }
    }
    return Status::kOk;
  }

  Status reserve_tables(PagePool::Reservation& res) const {
    const bool host_valid = kind_ != Transition::kLend;
    const bool svm_valid = kind_ == Transition::kLend || kind_ == Transition::kShare;
    TableNeed host_need(hyp_.host_.s2, host_valid);
    TableNeed svm_need(svm_->s2, svm_valid);
    for (const MemRange& r : ranges_) {
      const IpaRange ir{ipa_identity(r.base), r.size};
      host_need.add(ir);
      svm_need.add(ir);
    }
    return hyp_.pool_.reserve(host_need.pages() + svm_need.pages(), res);
  }

  // Stage-2 by stage-2, each over every range, so one TLB batch per stage-2 covers the whole
  // call. A VM that gives pages up is flushed before anything else may touch them: the host
  // before its pages are cleaned and mapped in the secure VM, the secure VM before they are
  // scrubbed and returned to the host. Each stage-2 still sees the ranges in ascending order,
  // which is what bounds the table reservation (docs/hyp-core.md, "Transactions").
  void commit(PagePool::Reservation& res) {
    Stage2& host = hyp_.host_.s2;
    Stage2& svm = svm_->s2;
    TlbBatch host_tlb(host), svm_tlb(svm);
    switch (kind_) {
      case Transition::kLend:
        for (const MemRange& r : ranges_)
          host.set_range(ipa_range(r), LeafSpec::owned_by(svm_->id), res, host_tlb);
        host_tlb.flush();
        // The host can no longer write: push its dirty lines out so a secure VM (or device)
        // that maps the page non-cacheable reads what the host last wrote.
        for (const MemRange& r : ranges_)
          arch::dcache_clean_inval_poc(arch::phys_to_virt(r.base), r.size);
        for (const MemRange& r : ranges_)
          svm.set_range(ipa_range(r), LeafSpec::normal(r.base, svm_perms_, PageState::kOwned), res,
                        svm_tlb);
        break;
      case Transition::kShare:
        for (const MemRange& r : ranges_)
          host.set_range(ipa_range(r),
                         LeafSpec::normal(r.base, host_perms_, PageState::kSharedOwned), res,
                         host_tlb);
        host_tlb.flush();
        for (const MemRange& r : ranges_)
          svm.set_range(ipa_range(r),
                        LeafSpec::normal(r.base, svm_perms_, PageState::kSharedBorrowed), res,
                        svm_tlb);
        break;
      case Transition::kReclaimLent:
        for (const MemRange& r : ranges_)
          svm.set_range(ipa_range(r), LeafSpec::unmapped(), res, svm_tlb);
        svm_tlb.flush();
        // Nothing the secure VM wrote may reach the host, not even through the caches.
        for (const MemRange& r : ranges_) {
          void* va = arch::phys_to_virt(r.base);
          arch::scrub(va, r.size);
          arch::dcache_clean_poc(va, r.size);
        }
        map_back_in_host(res, host_tlb);
        break;
      case Transition::kReclaimShared:
        for (const MemRange& r : ranges_)
          svm.set_range(ipa_range(r), LeafSpec::unmapped(), res, svm_tlb);
        svm_tlb.flush();
        map_back_in_host(res, host_tlb);
        break;
    }
    account();
  }

  void map_back_in_host(PagePool::Reservation& res, TlbBatch& tlb) {
    for (const MemRange& r : ranges_)
      hyp_.host_.s2.set_range(ipa_range(r), LeafSpec::normal(r.base, kPermsRwx, PageState::kOwned),
                              res, tlb);
  }

  static IpaRange ipa_range(const MemRange& r) { return IpaRange{ipa_identity(r.base), r.size}; }

  void account() {
    Stats& st = hyp_.stats_;
    const auto n = int64_t(pages_);
    switch (kind_) {
      case Transition::kLend:
        st.pages_lent.add(n);
        break;
      case Transition::kShare:
        st.pages_shared.add(n);
        break;
      case Transition::kReclaimLent:
        st.pages_lent.add(-n);
        st.pages_reclaimed.add(n);
        st.pages_scrubbed.add(n);
        break;
      case Transition::kReclaimShared:
        st.pages_shared.add(-n);
        st.pages_reclaimed.add(n);
        break;
    }
  }

  Hyp& hyp_;
  unsigned cpu_;
  Transition kind_ = Transition::kLend;
  Vm* svm_ = nullptr;
  Perms host_perms_, svm_perms_;
  uint64_t new_srcvm_ = 0;
  uint64_t pages_ = 0;
  std::span<MemRange> ranges_;
};

Status Hyp::mem_assign(unsigned cpu, PhysAddr desc, uint64_t len, uint64_t* new_srcvm) {
  if (cpu >= kMaxCpus)
    arch::fatal("mem_assign: cpu index out of range");
  stats_.assign_calls.add(1);
  *new_srcvm = 0;
  AssignTransaction t(*this, cpu);
  const Status s = t.run(desc, len, new_srcvm);
  if (s != Status::kOk)
    stats_.assign_failed.add(1);
  return s;
}

}  // namespace hyp
