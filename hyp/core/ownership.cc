// The ownership engine (ownership.h): the state checks, table reservation and commit that
// MEM_ASSIGN and FF-A's memory calls share. Nothing here reads a descriptor.
#include "ownership.h"

#include "dma.h"
#include "hyp.h"
#include "profile.h"
#include "sort.h"

namespace hyp {
namespace {

PhysAddr min_end(Ipa a, Ipa b, PhysAddr c) {
  const uint64_t m = a.value() < b.value() ? a.value() : b.value();
  return PhysAddr(m < c.value() ? m : c.value());
}

IpaRange ipa_range(const MemRange& r) {
  return IpaRange{ipa_identity(r.base), r.size};
}

Status check_run(const OwnershipChange& c, const Leaf& h, const Leaf& s) {
  // The host's FF-A mailbox: the hyp writes it, so it stays where it is until RXTX_UNMAP.
  if (h.valid() && h.state() == PageState::kSharedHyp)
    return Status::kMailbox;
  if (s.valid() && s.ffa() != c.ffa)
    return Status::kFfa;
  switch (c.kind) {
    case Transition::kLend:
    case Transition::kShare:
      return h.valid() && h.state() == PageState::kOwned && s.raw == 0 ? Status::kOk
                                                                       : Status::kState;
    case Transition::kReclaimLent:
      if (h.valid() || h.owner() != c.svm->id || !s.valid() || s.state() != PageState::kOwned)
        return Status::kState;
      return s.pinned() ? Status::kBusy : Status::kOk;
    case Transition::kReclaimShared:
      if (!h.valid() || h.state() != PageState::kSharedOwned || !s.valid() ||
          s.state() != PageState::kSharedBorrowed)
        return Status::kState;
      return s.pinned() ? Status::kBusy : Status::kOk;
    case Transition::kScrubLent:
      if (h.valid() || h.owner() != c.svm->id || !s.valid() || s.state() != PageState::kOwned)
        return Status::kState;
      // The descriptor names the mapping the pages keep: a scrub never changes it.
      if (s.perms() != c.svm_perms)
        return Status::kPerms;
      return s.pinned() ? Status::kBusy : Status::kOk;
  }
  return Status::kState;
}

// True if `leaf` already holds what `spec` would write at `ipa`.
bool holds(const Leaf& leaf, const LeafSpec& spec, Ipa ipa) {
  if (!spec.valid)
    return leaf.raw == spec.attrs;
  return leaf.valid() &&
         leaf.pa_of(ipa) == spec.pa + (ipa.value() - ipa_identity(spec.pa).value()) &&
         (leaf.raw & ~(pte::kOaMask | pte::kTableOrPage)) == (spec.attrs | pte::kValid);
}

// A DMA table's leaf, unlike a stage-2's, often stays what it was (a share that leaves the
// host RW, the reclaim of it): only the runs that differ are written. Writing the same value
// over part of a block would split it and merge it back, and the page the merge frees goes
// to the pool, not to the reservation a later split of the same call draws on. A run that
// already holds the value starts and ends on its leaf's boundaries, so skipping it needs no
// table TableNeed did not count.
void set_dma_range(Stage2& t, const MemRange& r, const LeafSpec& spec, PagePool::Reservation& res,
                   TlbBatch& tlb) {
  for (PhysAddr cur = r.base; cur < r.end();) {
    const Leaf l = t.lookup(ipa_identity(cur));
    const PhysAddr end = min_end(l.end(), l.end(), r.end());
    if (!holds(l, spec, ipa_identity(cur))) {
      LeafSpec part = spec;
      part.pa = spec.valid ? cur : PhysAddr();
      t.set_range(IpaRange{ipa_identity(cur), end.value() - cur.value()}, part, res, tlb);
    }
    cur = end;
  }
}

}  // namespace

Status OwnershipEngine::check_ranges(const Platform& platform, std::span<MemRange> ranges,
                                     uint64_t* pages) {
  *pages = 0;
  for (const MemRange& r : ranges) {
    if (!is_page_aligned(r.base.value()) || !is_page_aligned(r.size))
      return Status::kRangeUnaligned;
    if (r.size == 0 || r.end() < r.base)
      return Status::kRangeSize;
    if (!platform.in_ram(r))
      return Status::kOutsideRam;
    if (platform.touches_carveout(r))
      return Status::kProtected;
    *pages += r.size / kPageSize;
  }
  heap_sort(ranges, [](const MemRange& a, const MemRange& b) { return a.base < b.base; });
  for (size_t i = 1; i < ranges.size(); i++) {
    if (ranges[i].base < ranges[i - 1].end())
      return Status::kOverlap;
  }
  return Status::kOk;
}

Status OwnershipEngine::check_states(const OwnershipChange& c) const {
  // Before any page's state: an operation in progress owns its pages whatever state each is
  // in, and the host learns that it is waiting for its own call, not that it got a state wrong.
  for (const MemRange& r : c.ranges) {
    if (hyp_.pending_overlaps(r, c.self))
      return Status::kPending;
  }
  for (const MemRange& r : c.ranges) {
    // Each stage-2 is looked up again only where its run ends: a run looked up again at
    // every end of the other one would be walked to the range's end once a page when that
    // other stage-2 changes at every page (alternate perms), not once.
    const Ipa limit = ipa_identity(r.end());
    Leaf h = hyp_.host_.s2.lookup_run(ipa_identity(r.base), limit);
    Leaf s = c.svm->s2.lookup_run(ipa_identity(r.base), limit);
    for (PhysAddr cur = r.base;;) {
      HYP_TRY(check_run(c, h, s));
      // A hold (a secure-VM call in progress) refuses like a pin, once the state is right.
      if (s.held())
        return Status::kBusy;
      cur = min_end(h.end(), s.end(), r.end());
      if (cur >= r.end())
        break;
      if (h.end() <= ipa_identity(cur))
        h = hyp_.host_.s2.lookup_run(ipa_identity(cur), limit);
      if (s.end() <= ipa_identity(cur))
        s = c.svm->s2.lookup_run(ipa_identity(cur), limit);
    }
  }
  return Status::kOk;
}

size_t OwnershipEngine::table_need(const OwnershipChange& c) const {
  if (c.kind == Transition::kScrubLent)
    return 0;  // writes no table
  const bool host_valid = c.kind != Transition::kLend;
  const bool svm_valid = c.kind == Transition::kLend || c.kind == Transition::kShare;
  TableNeed host_need(hyp_.host_.s2, host_valid);
  TableNeed svm_need(c.svm->s2, svm_valid);
  // The DMA tables change over the same ranges (the secure VM's only where it gains pages, or
  // gives them up); counted as if their leaves were valid, which never needs fewer tables.
  TableNeed host_dma_need(hyp_.host_.dma, host_valid);
  TableNeed svm_dma_need(c.svm->dma, svm_valid);
  for (const MemRange& r : c.ranges) {
    host_need.add(ipa_range(r));
    svm_need.add(ipa_range(r));
    if (hyp_.host_.has_dma)
      host_dma_need.add(ipa_range(r));
    if (c.svm->has_dma)
      svm_dma_need.add(ipa_range(r));
  }
  return host_need.pages() + svm_need.pages() + host_dma_need.pages() + svm_dma_need.pages();
}

Status OwnershipEngine::reserve_tables(const OwnershipChange& c, PagePool::Reservation& res) const {
  return hyp_.pool_.reserve(table_need(c), res);
}

// Stage-2 by stage-2, each over every range, so one TLB batch per stage-2 covers the whole
// call. A VM that gives pages up is flushed before anything else may touch them: the host
// before its pages are cleaned and mapped in the secure VM, the secure VM before they are
// scrubbed and returned to the host. Each stage-2 still sees the ranges in ascending order,
// which is what bounds the table reservation (docs/hyp-core.md, "Transactions").
//
// Each VM's DMA table changes with its stage-2 and is flushed with it: a device gives pages up
// when its VM's CPUs do, and gains them only after every other VM's CPUs and devices lost them.
void OwnershipEngine::commit(const OwnershipChange& c, PagePool::Reservation& res) {
  Stage2& host = hyp_.host_.s2;
  Stage2& svm = c.svm->s2;
  Profile& prof = hyp_.profile_;
  TlbBatch host_tlb(host, &prof), svm_tlb(svm, &prof);
  TlbBatch host_dma_tlb(hyp_.host_.dma, &prof), svm_dma_tlb(c.svm->dma, &prof);
  // Each stage-2 change and the same change in that VM's DMA table (what an SMMU lets its
  // devices reach), range by range. The editor flushes on its own inside set_range (before
  // it reuses or frees a table): that time is the TLB phase's, not the stage-2's. Both VM
  // locks are held, so no other change times a flush meanwhile.
  auto set_all = [&](Stage2& s2, TlbBatch& tlb, auto spec_of, auto dma_of) {
    const uint64_t tlb_before = prof.ticks(Phase::kTlb);
    const uint64_t start = arch::counter_ticks();
    for (const MemRange& r : c.ranges) {
      s2.set_range(ipa_range(r), spec_of(r), res, tlb);
      dma_of(r);
    }
    const uint64_t spent = arch::counter_ticks() - start;
    const uint64_t flushing = prof.ticks(Phase::kTlb) - tlb_before;
    prof.add(Phase::kStage2, spent > flushing ? spent - flushing : 0);
  };
  auto host_dma = [&](const MemRange& r, const LeafSpec& leaf) {
    if (hyp_.host_.has_dma)
      set_dma_range(hyp_.host_.dma, r, leaf, res, host_dma_tlb);
  };
  auto svm_dma = [&](const MemRange& r, const LeafSpec& leaf) {
    if (c.svm->has_dma)
      set_dma_range(c.svm->dma, r, leaf, res, svm_dma_tlb);
  };
  auto flush_host = [&] {
    host_tlb.flush();
    host_dma_tlb.flush();
  };
  auto flush_svm = [&] {
    svm_tlb.flush();
    svm_dma_tlb.flush();
  };
  auto scrub_all = [&] {
    PhaseTimer t(prof, Phase::kScrub);
    for (const MemRange& r : c.ranges) {
      void* va = arch::phys_to_virt(r.base);
      arch::scrub(va, r.size);
      arch::dcache_clean_poc(va, r.size);
    }
  };
  auto map_back_in_host = [&] {
    set_all(
        host, host_tlb,
        [](const MemRange& r) { return LeafSpec::normal(r.base, kPermsRwx, PageState::kOwned); },
        [&](const MemRange& r) { host_dma(r, host_dma_leaf(r.base, kPermsRwx)); });
  };
  auto unmap_in_svm = [&] {
    set_all(
        svm, svm_tlb, [](const MemRange&) { return LeafSpec::unmapped(); },
        [&](const MemRange& r) { svm_dma(r, LeafSpec::unmapped()); });
  };
  switch (c.kind) {
    case Transition::kLend:
      set_all(
          host, host_tlb, [&](const MemRange&) { return LeafSpec::owned_by(c.svm->id); },
          [&](const MemRange& r) { host_dma(r, LeafSpec::unmapped()); });
      flush_host();
      {
        // The host can no longer write: push its dirty lines out so a secure VM (or device)
        // that maps the page non-cacheable reads what the host last wrote.
        PhaseTimer t(prof, Phase::kClean);
        for (const MemRange& r : c.ranges)
          arch::dcache_clean_inval_poc(arch::phys_to_virt(r.base), r.size);
      }
      // Nobody maps the pages now: the zeros are all the secure VM will find.
      if (c.clear)
        scrub_all();
      set_all(
          svm, svm_tlb,
          [&](const MemRange& r) {
            return LeafSpec::normal(r.base, c.svm_perms, PageState::kOwned, false, false, c.ffa);
          },
          [&](const MemRange& r) {
            svm_dma(r, svm_dma_leaf(r.base, c.svm_perms, PageState::kOwned));
          });
      break;
    case Transition::kShare:
      set_all(
          host, host_tlb,
          [&](const MemRange& r) {
            return LeafSpec::normal(r.base, c.host_perms, PageState::kSharedOwned);
          },
          [&](const MemRange& r) { host_dma(r, host_dma_leaf(r.base, c.host_perms)); });
      flush_host();
      set_all(
          svm, svm_tlb,
          [&](const MemRange& r) {
            return LeafSpec::normal(r.base, c.svm_perms, PageState::kSharedBorrowed, false, false,
                                    c.ffa);
          },
          [&](const MemRange& r) {
            svm_dma(r, svm_dma_leaf(r.base, c.svm_perms, PageState::kSharedBorrowed));
          });
      break;
    case Transition::kReclaimLent:
      unmap_in_svm();
      flush_svm();
      // Nothing the secure VM wrote may reach the host, not even through the caches.
      scrub_all();
      map_back_in_host();
      break;
    case Transition::kReclaimShared:
      unmap_in_svm();
      flush_svm();
      map_back_in_host();
      break;
    case Transition::kScrubLent:
      // The host has had no mapping since the lend (its clean then pushed out every line it
      // could have dirtied), so only the secure VM's own writes are here to be zeroed. Its
      // CPUs and devices keep their mappings: check_states refused a pinned or held page,
      // the only marks of a page in use, and neither can be taken before this call ends
      // (both need the secure VM's lock, and refuse a page of an operation in progress).
      {
        PhaseTimer t(prof, Phase::kScrub);
        for (const MemRange& r : c.ranges)
          arch::scrub_in_place(svm.hw(), arch::phys_to_virt(r.base), r.size);
      }
      break;
  }
  // What is still owed (the VM that gained access), here rather than in the destructors.
  flush_host();
  flush_svm();

  Stats& st = hyp_.stats_;
  const auto n = int64_t(c.pages);
  switch (c.kind) {
    case Transition::kLend:
      st.pages_lent.add(n);
      if (c.clear)
        st.pages_scrubbed.add(n);
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
    case Transition::kScrubLent:
      st.pages_scrubbed.add(n);
      break;
  }
}

}  // namespace hyp
