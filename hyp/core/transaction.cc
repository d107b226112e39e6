// MEM_ASSIGN as a transaction: copy the descriptor, validate everything (including the
// worst-case table pages, which are reserved), then commit, which cannot fail. Any error
// returns before the first stage-2 write, so every stage-2 stays exactly as it was. The
// state checks, reservation and commit are the ownership engine's (ownership.cc). A change
// of more than one piece is recorded as an operation in progress and committed one piece
// per call (pending.cc).
#include "descriptor.h"
#include "hyp.h"
#include "lock.h"
#include "ownership.h"
#include "profile.h"

namespace hyp {

class AssignTransaction {
 public:
  AssignTransaction(Hyp& hyp, unsigned cpu) : hyp_(hyp), cpu_(cpu) {}

  Status run(PhysAddr desc, uint64_t len, uint64_t* new_srcvm) {
    PhaseTimer validate(hyp_.profile_, Phase::kValidate);  // a refused call is all validation
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
    LockGuard svm_guard(change_.svm->lock);
    OwnershipEngine engine(hyp_);
    HYP_TRY(engine.check_states(change_));
    if (change_.pages > kPiecePages) {
      // Too long for one call: the slot, then its reservation, are the last checks.
      size_t slot = 0;
      HYP_TRY(hyp_.free_pending_slot(&slot));
      HYP_TRY(engine.reserve_tables(change_, hyp_.pending_[slot].res));
      validate.stop();
      hyp_.start_pending(slot, change_, new_srcvm_);
      const Status st = hyp_.advance_pending(slot, new_srcvm);
      // A first piece can need tables the whole change did not (it splits a block the change
      // moves whole); refused, it leaves nothing behind: the call changed nothing.
      if (st != Status::kOk && st != Status::kPreempted)
        hyp_.cancel_pending(slot);
      return st;
    }
    PagePool::Reservation res;
    HYP_TRY(engine.reserve_tables(change_, res));
    validate.stop();
    engine.commit(change_, res);
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

  // Resolves the destinations and srcvm into one of the five supported transitions.
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
        change_.svm_perms = dest.perms;
      } else {
        host_perms = dest.perms;
      }
    }
    Vm* src_svm = nullptr;
    HYP_TRY(resolve_srcvm(d.srcvm, &src_svm));
    new_srcvm_ = dest_bits;
    change_.host_perms = host_perms;
    // The one destructive call that moves nothing says so: without the flag, srcvm == dests
    // is no transition; with it, nothing else is.
    if (d.scrub) {
      if (src_svm == nullptr || d.srcvm != src_svm->id.bit() || dest_bits != d.srcvm)
        return Status::kDestSet;
      change_.kind = Transition::kScrubLent;  // {svm} -> {svm}, perms as they are (checked)
      change_.svm = src_svm;
      return Status::kOk;
    }
    if (d.srcvm == kVmidHost.bit() && dest_svm != nullptr) {
      change_.kind = (dest_bits & kVmidHost.bit()) ? Transition::kShare : Transition::kLend;
      change_.svm = dest_svm;
      return Status::kOk;
    }
    if (src_svm != nullptr && dest_bits == kVmidHost.bit()) {
      change_.kind =
          (d.srcvm & kVmidHost.bit()) ? Transition::kReclaimShared : Transition::kReclaimLent;
      change_.svm = src_svm;
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
    HYP_TRY(OwnershipEngine::check_ranges(hyp_.platform_, ranges, &change_.pages));
    change_.ranges = ranges;
    return Status::kOk;
  }

  Hyp& hyp_;
  unsigned cpu_;
  OwnershipChange change_;
  uint64_t new_srcvm_ = 0;
};

Status Hyp::mem_assign(unsigned cpu, PhysAddr desc, uint64_t len, uint64_t* new_srcvm) {
  if (cpu >= kMaxCpus)
    arch::fatal("mem_assign: cpu index out of range");
  stats_.assign_calls.add(1);
  *new_srcvm = 0;
  AssignTransaction t(*this, cpu);
  const Status s = t.run(desc, len, new_srcvm);
  if (s != Status::kOk && s != Status::kPreempted)
    stats_.assign_failed.add(1);
  return s;
}

}  // namespace hyp
