// The invariant checker: reads every stage-2 and proves the ownership record is coherent.
// Tests run it whole after every call; the fuzzer runs it on what each call wrote and whole
// at the end of each input. It is not on any hypercall path.
#include <cstring>

#include "ffa_abi.h"
#include "hyp.h"

namespace hyp {

class InvariantChecker {
 public:
  explicit InvariantChecker(const Hyp& hyp) : hyp_(hyp) {}

  const char* run_in(std::span<const MemRange> ranges, uint64_t* where) {
    *where = 0;
    for (const MemRange& r : ranges) {
      *where = r.base.value();
      const IpaRange ir{ipa_identity(r.base), r.size};
      if (const char* err = hyp_.host_.s2.check_tables_in(ir))
        return err;
      if (hyp_.host_.has_dma)
        if (const char* err = hyp_.host_.dma.check_tables_in(ir))
          return err;
      for (size_t i = 0; i < hyp_.nr_secure_vms_; i++) {
        if (const char* err = hyp_.secure_vms_[i].s2.check_tables_in(ir))
          return err;
        if (hyp_.secure_vms_[i].has_dma)
          if (const char* err = hyp_.secure_vms_[i].dma.check_tables_in(ir))
            return err;
        if (const char* err = check_outside_ram_in(hyp_.secure_vms_[i], ir, where))
          return err;
      }
      for (const MemRange& bank : hyp_.platform_.ram()) {
        const PhysAddr lo = bank.base > r.base ? bank.base : r.base;
        const PhysAddr hi = bank.end() < r.end() ? bank.end() : r.end();
        for (PhysAddr cur = lo; cur < hi;) {
          PhysAddr end = hi;
          if (const char* err = check_run(cur, &end)) {
            *where = cur.value();
            return err;
          }
          cur = end;
        }
      }
    }
    *where = 0;
    return nullptr;
  }

  const char* run(uint64_t* where) {
    *where = 0;
    if (const char* err = check_tables())
      return err;
    for (const MemRange& bank : hyp_.platform_.ram()) {
      for (PhysAddr cur = bank.base; cur < bank.end();) {
        PhysAddr end = bank.end();
        if (const char* err = check_run(cur, &end)) {
          *where = cur.value();
          return err;
        }
        cur = end;
      }
    }
    for (size_t i = 0; i < hyp_.nr_secure_vms_; i++) {
      if (const char* err = check_outside_ram(hyp_.secure_vms_[i], where))
        return err;
    }
    if (const char* err = check_dma_outside_ram(hyp_.host_, where))
      return err;
    for (size_t i = 0; i < hyp_.nr_secure_vms_; i++) {
      if (const char* err = check_dma_outside_ram(hyp_.secure_vms_[i], where))
        return err;
    }
    if (mailbox_pages_ != (hyp_.ffa_.mailbox_mapped ? 2u : 0u))
      return "pages shared with the hyp are not exactly the mapped FF-A mailbox";
    if (lent_ != hyp_.stats_.pages_lent.get())
      return "PAGES_LENT does not match the stage-2s";
    if (shared_ != hyp_.stats_.pages_shared.get())
      return "PAGES_SHARED does not match the stage-2s";
    uint64_t recorded = 0;
    for (const FfaTxn& t : hyp_.ffa_mem_.txns) {
      // One in progress has marked the pages it lent or shared, or not yet reclaimed.
      const PendingOp* op = hyp_.pending_op(t.slot);
      if (t.state == FfaTxnState::kLive)
        recorded += t.pages;
      else if (t.state == FfaTxnState::kSending && op != nullptr)
        recorded += op->pages_done;
      else if (t.state == FfaTxnState::kReclaiming && op != nullptr)
        recorded += t.pages - op->pages_done;
    }
    if (ffa_pages_ != recorded)
      return "pages marked as FF-A memory are not exactly the live transactions' pages";
    return nullptr;
  }

  // The FF-A memory records against themselves and against the stage-2s: every page of a
  // live transaction is the partition's (lend) or shared with it (share), marked FF-A, with
  // the recorded permissions. That no other page is marked is the whole check's count.
  // Every VM lock must be held.
  static const char* check_ffa_memory(const Hyp& hyp, uint64_t* where) {
    const FfaMemState& m = hyp.ffa_mem_;
    const Vm* svm = hyp.secure_vm(VmId(HYPHEAP_VMID_SECURE_0));
    uint64_t ranges = 0;
    size_t assembling[kFfaMemMaxInFlight] = {};
    for (size_t i = 0; i < kFfaMemMaxTransactions; i++) {
      const FfaTxn& t = m.txns[i];
      *where = i;
      if (t.state == FfaTxnState::kFree)
        continue;
      if (t.generation == 0)
        return "an FF-A memory record without a generation";
      if (t.state == FfaTxnState::kAssembling) {
        if (t.buf >= kFfaMemMaxInFlight || !m.buf_used[t.buf] || t.received >= t.total_len ||
            t.total_len > kFfaMemMaxDescBytes || t.received % 16 != 0)
          return "an FF-A transaction being assembled is inconsistent";
        assembling[t.buf]++;
        continue;
      }
      if (!ffa_txn_holds_pages(t.state))
        return "an FF-A memory record in no known state";
      if (svm == nullptr || t.nr_ranges == 0 || t.first + uint64_t(t.nr_ranges) > m.nr_ranges)
        return "a live FF-A transaction's ranges are outside the range store";
      for (size_t j = 0; j < kFfaMemMaxTransactions; j++) {
        const FfaTxn& o = m.txns[j];
        if (j != i && ffa_txn_holds_pages(o.state) && o.first < t.first + t.nr_ranges &&
            t.first < o.first + o.nr_ranges)
          return "two live FF-A transactions share stored ranges";
      }
      ranges += t.nr_ranges;
      // One in progress: its pages are the operation's to check (PendingChecker).
      const char* err = t.state == FfaTxnState::kLive ? check_live(hyp, *svm, t, where)
                                                      : check_in_progress(hyp, *svm, t, i);
      if (err != nullptr)
        return err;
    }
    // And each FF-A operation in progress has its record.
    for (size_t slot = 0; slot < kMaxPending; slot++) {
      const PendingOp* op = hyp.pending_op(slot);
      *where = slot;
      if (op == nullptr || op->ffa_handle == 0)
        continue;
      const size_t i = op->ffa_handle & 0xff;
      const FfaTxn* t = i < kFfaMemMaxTransactions ? &m.txns[i] : nullptr;
      if (t == nullptr || ffa_mem_handle(t->generation, i) != op->ffa_handle ||
          (t->state != FfaTxnState::kSending && t->state != FfaTxnState::kReclaiming) ||
          t->slot != slot)
        return "an FF-A operation in progress has no record that names it";
    }
    for (size_t b = 0; b < kFfaMemMaxInFlight; b++) {
      if (assembling[b] != (m.buf_used[b] ? 1u : 0u))
        return "an FF-A assembly buffer is not used by exactly one transaction";
    }
    *where = 0;
    if (ranges != m.nr_ranges)
      return "the FF-A range store holds ranges of no live transaction";
    return nullptr;
  }

  // A record with an operation in progress: the operation moves exactly its ranges, the
  // way its kind and permissions say.
  static const char* check_in_progress(const Hyp& hyp, const Vm& svm, const FfaTxn& t,
                                       size_t index) {
    const PendingOp* op = hyp.pending_op(t.slot);
    const bool sending = t.state == FfaTxnState::kSending;
    const Transition kind = sending
                                ? (t.lend ? Transition::kLend : Transition::kShare)
                                : (t.lend ? Transition::kReclaimLent : Transition::kReclaimShared);
    if (op == nullptr || op->ffa_handle != ffa_mem_handle(t.generation, index))
      return "an FF-A transaction in progress has no operation in progress";
    const OwnershipChange& c = op->change;
    if (c.kind != kind || c.svm != &svm || !c.ffa || c.pages != t.pages ||
        c.clear != (sending && t.clear) || (sending && c.svm_perms != t.perms) ||
        op->nr_ranges != t.nr_ranges ||
        std::memcmp(op->ranges, &hyp.ffa_mem_.ranges[t.first], t.nr_ranges * sizeof(MemRange)) != 0)
      return "an FF-A transaction in progress and its operation differ";
    return nullptr;
  }

  static const char* check_live(const Hyp& hyp, const Vm& svm, const FfaTxn& t, uint64_t* where) {
    uint64_t pages = 0;
    const MemRange* rs = &hyp.ffa_mem_.ranges[t.first];
    for (uint32_t k = 0; k < t.nr_ranges; k++) {
      const MemRange& r = rs[k];
      *where = r.base.value();
      if (r.size == 0 || !is_page_aligned(r.base.value()) || !is_page_aligned(r.size) ||
          !hyp.platform_.in_ram(r) || (k != 0 && !(rs[k - 1].end() < r.base)))
        return "a live FF-A transaction's ranges are not sorted, disjoint, merged RAM pages";
      pages += r.size / kPageSize;
      for (PhysAddr cur = r.base; cur < r.end();) {
        const Leaf h = hyp.host_.s2.lookup(ipa_identity(cur));
        const Leaf s = svm.s2.lookup(ipa_identity(cur));
        *where = cur.value();
        if (!s.ffa() || s.perms() != t.perms)
          return "a page of a live FF-A transaction is not the partition's FF-A page";
        const bool lent = !h.valid() && h.owner() == svm.id && s.state() == PageState::kOwned;
        const bool shared = h.valid() && h.state() == PageState::kSharedOwned &&
                            s.state() == PageState::kSharedBorrowed;
        if (t.lend ? !lent : !shared)
          return "a page of a live FF-A transaction is not in the transaction's state";
        const PhysAddr end = pa_identity(h.end() < s.end() ? h.end() : s.end());
        cur = end < r.end() ? end : r.end();
      }
    }
    return pages == t.pages ? nullptr : "a live FF-A transaction's page count is wrong";
  }

 private:
  const char* check_tables() const {
    size_t total = 0, n = 0;
    auto vm_tables = [&](const Vm& vm) -> const char* {
      if (const char* err = vm.s2.check_tables(&n))
        return err;
      total += n;
      if (!vm.has_dma)
        return nullptr;
      if (const char* err = vm.dma.check_tables(&n))
        return err;
      total += n;
      return nullptr;
    };
    if (const char* err = vm_tables(hyp_.host_))
      return err;
    for (size_t i = 0; i < hyp_.nr_secure_vms_; i++) {
      if (const char* err = vm_tables(hyp_.secure_vms_[i]))
        return err;
    }
    return total == hyp_.pool_.used_pages() ? nullptr : "table pages leaked from the pool";
  }

  // Checks [cur, *end) where every VM's entry is the same leaf; narrows *end to that run.
  const char* check_run(PhysAddr cur, PhysAddr* end) {
    const Leaf h = hyp_.host_.s2.lookup(ipa_identity(cur));
    narrow(h, end);
    Leaf host_dma;
    if (hyp_.host_.has_dma) {
      host_dma = hyp_.host_.dma.lookup(ipa_identity(cur));
      narrow(host_dma, end);
    }
    Leaf svm_dma[Platform::kMaxSecureVms];
    for (size_t i = 0; i < hyp_.nr_secure_vms_; i++) {
      svm_[i] = hyp_.secure_vms_[i].s2.lookup(ipa_identity(cur));
      narrow(svm_[i], end);
      if (svm_[i].valid() && svm_[i].pa_of(ipa_identity(cur)) != cur)
        return "secure VM does not map RAM at IPA == PA";
      if (hyp_.secure_vms_[i].has_dma) {
        svm_dma[i] = hyp_.secure_vms_[i].dma.lookup(ipa_identity(cur));
        narrow(svm_dma[i], end);
      }
    }
    const MemRange run{cur, end->value() - cur.value()};
    if (hyp_.host_.has_dma) {
      // The host's devices reach exactly what its CPUs may read, writable where they write.
      const bool want = h.valid() && h.perms().r();
      if (const char* err = check_dma(host_dma, cur, want, want && h.perms().w()))
        return err;
    }
    for (size_t i = 0; i < hyp_.nr_secure_vms_; i++) {
      if (!hyp_.secure_vms_[i].has_dma)
        continue;
      // A secure VM's device: what was lent to it (read-write as lent), what was shared with
      // it read only; never its carve-out.
      const Leaf& s = svm_[i];
      const bool lent = s.valid() && s.state() == PageState::kOwned && carveout_overlap(run) == 0;
      const bool shared = s.valid() && s.state() == PageState::kSharedBorrowed;
      const bool want = (lent || shared) && s.perms().r();
      if (const char* err = check_dma(svm_dma[i], cur, want, want && lent && s.perms().w()))
        return err;
    }
    if (h.pinned() || h.held())
      return "host entry carries a pin or a hold";
    for (size_t i = 0; i < hyp_.nr_secure_vms_; i++) {
      if (!svm_[i].pinned() && !svm_[i].held())
        continue;
      if (carveout_overlap(run) != 0)
        return "a carve-out page is pinned or held";
      // A vCPU still running after the abort keeps its marks until it leaves (ffa_state.h).
      if (hyp_.secure_vms_[i].id.value() == HYPHEAP_VMID_SECURE_0 && hyp_.ffa_.aborted &&
          !hyp_.ffa_.in_partition())
        return "the aborted partition's VM still pins or holds a page";
    }
    for (size_t i = 0; i < hyp_.nr_secure_vms_; i++) {
      if (!svm_[i].ffa())
        continue;
      if (hyp_.secure_vms_[i].id.value() != HYPHEAP_VMID_SECURE_0)
        return "a secure VM other than the partition maps a page through FF-A";
      if (carveout_overlap(run) != 0)
        return "a carve-out page is marked as FF-A memory";
      ffa_pages_ += run.size / kPageSize;
    }
    return h.valid() ? check_host_mapped(h, cur, run) : check_host_unmapped(h, run);
  }

  const char* check_host_mapped(const Leaf& h, PhysAddr cur, const MemRange& run) {
    if ((h.raw & pte::kMemAttrMask) != pte::kMemAttrNormalWb)
      return "host maps RAM as something other than normal memory";
    if (h.pa_of(ipa_identity(cur)) != cur)
      return "host stage-2 is not an identity map";
    if (carveout_overlap(run) != 0)  // not the core's own predicate: this checks it
      return "host maps a carve-out";
    switch (h.state()) {
      case PageState::kOwned:
        if (h.perms() != kPermsRwx)
          return "host-owned page without RWX";
        return mapped_by_count(nullptr) == 0 ? nullptr : "host-owned page mapped by a secure VM";
      case PageState::kSharedOwned: {
        size_t borrower = 0;
        if (mapped_by_count(&borrower) != 1 || svm_[borrower].state() != PageState::kSharedBorrowed)
          return "shared page without exactly one borrowing secure VM";
        shared_ += run.size / kPageSize;
        return nullptr;
      }
      case PageState::kSharedBorrowed:
        return "host borrows a page";
      case PageState::kSharedHyp: {
        const FfaState<Hyp::kMaxCpus>& f = hyp_.ffa_;
        if (!f.mailbox_mapped || run.size != kPageSize || (run.base != f.tx && run.base != f.rx))
          return "a host page shared with the hyp is not a mapped FF-A mailbox page";
        if (h.perms() != kPermsRwx)
          return "FF-A mailbox page without RWX for the host";
        if (mapped_by_count(nullptr) != 0)
          return "FF-A mailbox page mapped by a secure VM";
        mailbox_pages_++;
        return nullptr;
      }
    }
    return "host entry in an unknown state";
  }

  const char* check_host_unmapped(const Leaf& h, const MemRange& run) {
    const VmId owner = h.owner();
    if (owner == VmId(0))
      return "RAM page with no owner";
    if (owner == kVmidHyp) {
      if (!hyp_.platform_.in_hyp_carveout(run))
        return "hypervisor owns a page outside its carve-out";
      return mapped_by_count(nullptr) == 0 ? nullptr : "hypervisor page mapped by a secure VM";
    }
    size_t mapper = 0;
    if (mapped_by_count(&mapper) != 1 || hyp_.secure_vms_[mapper].id != owner ||
        svm_[mapper].state() != PageState::kOwned)
      return "page lent to a secure VM that does not own it exclusively";
    lent_ += (run.size - carveout_overlap(run)) / kPageSize;
    return nullptr;
  }

  size_t mapped_by_count(size_t* last) const {
    size_t n = 0;
    for (size_t i = 0; i < hyp_.nr_secure_vms_; i++) {
      if (svm_[i].raw == 0)
        continue;
      n++;
      if (last != nullptr)
        *last = i;
    }
    return n;
  }

  uint64_t carveout_overlap(const MemRange& run) const {
    uint64_t bytes = 0;
    for (const Carveout& c : hyp_.platform_.carveouts()) {
      const PhysAddr lo = c.range.base > run.base ? c.range.base : run.base;
      const PhysAddr hi = c.range.end() < run.end() ? c.range.end() : run.end();
      if (lo < hi)
        bytes += hi.value() - lo.value();
    }
    return bytes;
  }

  const char* check_outside_ram(const Vm& vm, uint64_t* where) const {
    const char* err = nullptr;
    vm.s2.for_each_leaf([&](const Leaf& l) {
      if (err != nullptr || l.raw == 0)
        return;
      const MemRange r{pa_identity(l.base), l.size};
      if (!l.valid() || !hyp_.platform_.in_ram(r)) {
        err = "secure VM stage-2 has an entry outside RAM";
        *where = l.base.value();
      }
    });
    return err;
  }

  const char* check_outside_ram_in(const Vm& vm, const IpaRange& r, uint64_t* where) const {
    if (!vm.s2.in_range(r))
      return nullptr;
    for (Ipa cur = r.base; cur < r.end();) {
      const Leaf l = vm.s2.lookup(cur);
      if (l.raw != 0 && (!l.valid() || !hyp_.platform_.in_ram({pa_identity(l.base), l.size}))) {
        *where = l.base.value();
        return "secure VM stage-2 has an entry outside RAM";
      }
      cur = l.end();
      if (cur.value() == 0)
        break;
    }
    return nullptr;
  }

  static const char* check_dma(const Leaf& d, PhysAddr cur, bool mapped, bool writable) {
    if (d.valid() != mapped)
      return mapped ? "a DMA table misses a page its VM may reach"
                    : "a DMA table maps a page its VM's devices must not reach";
    if (!mapped)
      return d.raw == 0 ? nullptr : "a DMA table's invalid entry is not empty";
    if (d.pa_of(ipa_identity(cur)) != cur)
      return "a DMA table is not an identity map";
    if (d.dma_writable() != writable)
      return writable ? "a DMA table maps read only a page its VM may write"
                      : "a DMA table lets devices write a page its VM may not write";
    if ((d.raw & ~(pte::kOaMask | pte::kTableOrPage)) !=
        (LeafSpec::dma(cur, writable).attrs | pte::kValid))
      return "a DMA table's leaf has attributes other than LeafSpec::dma's";
    return nullptr;
  }

  // A DMA table maps RAM only: no device-to-device DMA, nothing outside the platform's RAM.
  const char* check_dma_outside_ram(const Vm& vm, uint64_t* where) const {
    if (!vm.has_dma)
      return nullptr;
    const char* err = nullptr;
    vm.dma.for_each_leaf([&](const Leaf& l) {
      if (err == nullptr && l.valid() &&
          !hyp_.platform_.in_ram(MemRange{pa_identity(l.base), l.size})) {
        *where = l.base.value();
        err = "a DMA table maps something outside RAM";
      }
    });
    return err;
  }

  static void narrow(const Leaf& l, PhysAddr* end) {
    if (pa_identity(l.end()) < *end)
      *end = pa_identity(l.end());
  }

  const Hyp& hyp_;
  Leaf svm_[Platform::kMaxSecureVms];
  uint64_t mailbox_pages_ = 0;
  uint64_t lent_ = 0;
  uint64_t shared_ = 0;
  uint64_t ffa_pages_ = 0;
};

// Operations in progress (pending.h) against themselves and the stage-2s: each a coherent
// record of a change of more than one piece, its VM's slot mask naming exactly it, no two
// sharing a page, and every page of it either wholly in the state the change starts from
// (not reached yet) or wholly in the one it ends in (committed), never pinned or held, FF-A
// memory exactly when the operation is an FF-A transaction's. Every VM lock must be held.
class PendingChecker {
 public:
  explicit PendingChecker(const Hyp& hyp) : hyp_(hyp) {}

  const char* run(uint64_t* where) const {
    uint64_t live = 0;
    for (size_t i = 0; i < kMaxPending; i++) {
      const PendingOp& op = hyp_.pending_[i];
      *where = i;
      for (size_t v = 0; v < hyp_.nr_secure_vms_; v++) {
        const Vm& vm = hyp_.secure_vms_[v];
        const bool named = (vm.pending_slots & (1u << i)) != 0;
        if (named != (op.live && op.change.svm == &vm))
          return "a VM's pending-slot mask does not match the operations in progress";
      }
      if (!op.live)
        continue;
      live++;
      if (const char* err = check_record(op))
        return err;
      for (size_t j = 0; j < i; j++) {
        const PendingOp& o = hyp_.pending_[j];
        if (!o.live)
          continue;
        for (size_t k = 0; k < op.nr_ranges; k++) {
          if (o.overlaps(op.ranges[k]))
            return "two operations in progress share a page";
        }
      }
      if (const char* err = check_pages(op, where))
        return err;
    }
    *where = 0;
    return live == hyp_.stats_.pending_now.get()
               ? nullptr
               : "STATS PENDING does not match the operations in progress";
  }

 private:
  const char* check_record(const PendingOp& op) const {
    const OwnershipChange& c = op.change;
    // Only an FF-A LEND may zero; only FF-A's operations move FF-A pages.
    if (op.generation == 0 || c.svm == nullptr || c.ffa != (op.ffa_handle != 0) ||
        (c.clear && !(c.ffa && c.kind == Transition::kLend)) || c.self != &op ||
        c.ranges.data() != op.ranges || c.ranges.size() != op.nr_ranges || op.nr_ranges == 0)
      return "an operation in progress has an incoherent record";
    uint64_t pages = 0, done = 0;
    for (size_t k = 0; k < op.nr_ranges; k++) {
      const MemRange& r = op.ranges[k];
      if (r.size == 0 || !is_page_aligned(r.base.value()) || !is_page_aligned(r.size) ||
          !hyp_.platform_.in_ram(r) || hyp_.platform_.touches_carveout(r) ||
          (k != 0 && op.ranges[k - 1].end() > r.base))
        return "an operation in progress has ranges that are not sorted, disjoint RAM pages";
      pages += r.size / kPageSize;
      if (k < op.next)
        done += r.size / kPageSize;
    }
    if (op.next >= op.nr_ranges || op.done_bytes >= op.ranges[op.next].size ||
        !is_page_aligned(op.done_bytes))
      return "an operation in progress has its cursor outside its ranges";
    done += op.done_bytes / kPageSize;
    if (pages != c.pages || pages <= kPiecePages || done != op.pages_done || done == 0)
      return "an operation in progress has wrong page counts";
    return nullptr;
  }

  const char* check_pages(const PendingOp& op, uint64_t* where) const {
    const OwnershipChange& c = op.change;
    for (size_t k = 0; k < op.nr_ranges; k++) {
      const MemRange& r = op.ranges[k];
      for (PhysAddr cur = r.base; cur < r.end();) {
        const Leaf h = hyp_.host_.s2.lookup(ipa_identity(cur));
        const Leaf s = c.svm->s2.lookup(ipa_identity(cur));
        *where = cur.value();
        // The cursor splits a range at a page: narrow the run to it.
        PhysAddr end = pa_identity(h.end() < s.end() ? h.end() : s.end());
        if (end > r.end())
          end = r.end();
        if (k == op.next && op.done_bytes != 0 && cur < r.base + op.done_bytes &&
            end > r.base + op.done_bytes)
          end = r.base + op.done_bytes;
        if (s.valid() && (s.pinned() || s.held() || s.ffa() != c.ffa))
          return "a page of an operation in progress is pinned, held or of the other kind "
                 "(FF-A or MEM_ASSIGN)";
        if (!in_state(c, op.done(cur), h, s))
          return op.done(cur) ? "a committed page of an operation in progress is not in its new "
                                "state"
                              : "a page an operation in progress has not reached is not in its "
                                "old state";
        cur = end;
      }
    }
    return nullptr;
  }

  static bool host_owned(const Leaf& h) {
    return h.valid() && h.state() == PageState::kOwned && h.perms() == kPermsRwx;
  }
  static bool lent(const Leaf& h, const Leaf& s, const OwnershipChange& c) {
    return !h.valid() && h.owner() == c.svm->id && s.valid() && s.state() == PageState::kOwned;
  }
  static bool shared(const Leaf& h, const Leaf& s) {
    return h.valid() && h.state() == PageState::kSharedOwned && s.valid() &&
           s.state() == PageState::kSharedBorrowed;
  }

  static bool in_state(const OwnershipChange& c, bool done, const Leaf& h, const Leaf& s) {
    switch (c.kind) {
      case Transition::kLend:
        return done ? lent(h, s, c) && s.perms() == c.svm_perms : host_owned(h) && s.raw == 0;
      case Transition::kShare:
        return done ? shared(h, s) && h.perms() == c.host_perms && s.perms() == c.svm_perms
                    : host_owned(h) && s.raw == 0;
      case Transition::kReclaimLent:
        return done ? host_owned(h) && s.raw == 0 : lent(h, s, c);
      case Transition::kReclaimShared:
        return done ? host_owned(h) && s.raw == 0 : shared(h, s);
      case Transition::kScrubLent:
        return lent(h, s, c) && s.perms() == c.svm_perms;  // a scrub moves no page
    }
    return false;
  }

  const Hyp& hyp_;
};

// The FF-A state on its own terms, and where it meets the host stage-2. Every VM lock and
// the FF-A state lock must be held.
namespace {

const char* check_ffa(const FfaState<Hyp::kMaxCpus>& f, const Stage2& host, uint64_t* where) {
  *where = 0;
  const uint32_t v = f.host_version;
  if (v != 0 && v != ffa::kVersion10 && v != ffa::kVersion11)
    return "FF-A host version is not one the core speaks";
  if (f.mailbox_mapped) {
    if (f.tx == f.rx || !is_page_aligned(f.tx.value()) || !is_page_aligned(f.rx.value()))
      return "FF-A mailbox pages are not two distinct pages";
    for (const PhysAddr p : {f.tx, f.rx}) {
      const Leaf h = host.lookup(ipa_identity(p));
      if (!h.valid() || h.state() != PageState::kSharedHyp) {
        *where = p.value();
        return "mapped FF-A mailbox page is not shared with the hyp in the host stage-2";
      }
    }
  } else if (f.rx_full || f.tx != PhysAddr() || f.rx != PhysAddr()) {
    return "FF-A mailbox state without a mapped mailbox";
  }
  for (unsigned i = 0; i < Hyp::ffa_vcpu_count(); i++) {
    const FfaVcpu& vc = f.vcpus[i];
    *where = i;
    if (vc.state == VcpuState::kRunning &&
        (vc.cpu >= Hyp::kMaxCpus || !f.cpus[vc.cpu].in_partition || f.cpus[vc.cpu].vcpu != i))
      return "a running vCPU's CPU does not run it";
  }
  for (unsigned c = 0; c < Hyp::kMaxCpus; c++) {
    *where = c;
    const FfaCpu& cpu = f.cpus[c];
    if (cpu.in_partition &&
        (cpu.vcpu >= Hyp::ffa_vcpu_count() || f.vcpus[cpu.vcpu].state != VcpuState::kRunning ||
         f.vcpus[cpu.vcpu].cpu != c))
      return "a CPU runs a vCPU that is not running there";
  }
  *where = 0;
  return nullptr;
}

}  // namespace

const char* Hyp::check_ffa_invariants(uint64_t* where) const {
  lock_all();
  arch::spin_lock(ffa_.lock);
  const char* err = check_ffa(ffa_, host_.s2, where);
  if (err == nullptr)
    err = InvariantChecker::check_ffa_memory(*this, where);
  if (err == nullptr)
    err = PendingChecker(*this).run(where);
  arch::spin_unlock(ffa_.lock);
  unlock_all();
  return err;
}

const char* Hyp::check_invariants_in(std::span<const MemRange> ranges, uint64_t* where) const {
  lock_all();
  arch::spin_lock(ffa_.lock);
  InvariantChecker checker(*this);
  const char* err = checker.run_in(ranges, where);
  if (err == nullptr)
    err = check_ffa(ffa_, host_.s2, where);
  if (err == nullptr)
    err = InvariantChecker::check_ffa_memory(*this, where);
  if (err == nullptr)
    err = PendingChecker(*this).run(where);
  arch::spin_unlock(ffa_.lock);
  unlock_all();
  return err;
}

const char* Hyp::check_invariants(uint64_t* where) const {
  lock_all();
  arch::spin_lock(ffa_.lock);
  InvariantChecker checker(*this);
  const char* err = checker.run(where);
  if (err == nullptr)
    err = check_ffa(ffa_, host_.s2, where);
  if (err == nullptr)
    err = InvariantChecker::check_ffa_memory(*this, where);
  if (err == nullptr)
    err = PendingChecker(*this).run(where);
  arch::spin_unlock(ffa_.lock);
  unlock_all();
  return err;
}

}  // namespace hyp
