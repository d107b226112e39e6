#include "pgtable.h"

namespace hyp {
namespace {

constexpr unsigned kEntries = 512;
constexpr unsigned kLastLevel = 3;

constexpr unsigned level_shift(unsigned level) {
  return kPageShift + 9 * (kLastLevel - level);
}
constexpr uint64_t level_size(unsigned level) {
  return 1ULL << level_shift(level);
}
constexpr unsigned index_at(uint64_t ipa, unsigned level) {
  return (ipa >> level_shift(level)) & (kEntries - 1);
}

constexpr bool is_valid(uint64_t pte) {
  return pte & pte::kValid;
}
constexpr bool is_table(uint64_t pte, unsigned level) {
  return level < kLastLevel &&
         (pte & (pte::kValid | pte::kTableOrPage)) == (pte::kValid | pte::kTableOrPage);
}
// The 4 KiB granule has blocks at levels 1 and 2 and pages at level 3, none at level 0.
constexpr bool level_has_leaves(unsigned level) {
  return level >= 1;
}
constexpr uint64_t type_bit(unsigned level) {
  return level == kLastLevel ? pte::kTableOrPage : 0;
}
constexpr uint64_t leaf_attrs(uint64_t pte) {
  return pte & ~(pte::kOaMask | pte::kTableOrPage);
}
// The software bits 58:55 (Arm ARM D8.3, "reserved for software use"), which the table walker
// ignores: a TLB entry cached before a change of them alone translates exactly as one cached
// after it, so such a change owes no invalidation. That holds because nothing but this editor
// writes descriptors (under the VM's lock) and no hardware interprets or updates them:
// vtcr_for() sets no HA/HD/HWU, and the SMMU's context descriptors no HA/HD. Bit 59 (kFfa),
// ignored by the walker too, is left out on purpose: an entry never changes it in place.
constexpr uint64_t kSoftwareBits = pte::kStateMask | pte::kPinned | pte::kHeld;
// Bits a valid entry may change without break-before-make: permissions and software bits.
constexpr uint64_t kInPlaceBits = pte::kS2apR | pte::kS2apW | pte::kXn | kSoftwareBits;

uint64_t* table_va(uint64_t table_pte) {
  return static_cast<uint64_t*>(arch::phys_to_virt(PhysAddr(table_pte & pte::kOaMask)));
}

// The child entry `i` that reproduces `parent` one level down, as a split must.
uint64_t split_child(uint64_t parent, unsigned i, unsigned child_level) {
  if (!is_valid(parent))
    return parent;
  const uint64_t oa = (parent & pte::kOaMask) + i * level_size(child_level);
  return leaf_attrs(parent) | oa | type_bit(child_level);
}

// If `table` (at child_level) is one uniform run that a single entry at child_level - 1 can
// hold, stores that entry in *merged.
bool mergeable(const uint64_t* table, unsigned child_level, uint64_t* merged) {
  const uint64_t first = table[0];
  if (is_table(first, child_level))
    return false;
  if (!is_valid(first)) {
    for (unsigned i = 1; i < kEntries; i++) {
      if (table[i] != first)
        return false;
    }
    *merged = first;
    return true;
  }
  const unsigned parent_level = child_level - 1;
  const uint64_t oa = first & pte::kOaMask;
  if (!level_has_leaves(parent_level) || (oa & (level_size(parent_level) - 1)) != 0)
    return false;
  for (unsigned i = 1; i < kEntries; i++) {
    if (table[i] != split_child(leaf_attrs(first) | oa, i, child_level))
      return false;
  }
  *merged = leaf_attrs(first) | oa;
  return true;
}

// One entry the walker is looking at, and the part [lo, hi) of the walk inside it.
struct WalkEntry {
  uint64_t* ptep;
  uint64_t* table;
  unsigned level;
  uint64_t base;
  uint64_t lo, hi;

  uint64_t size() const { return level_size(level); }
  bool whole() const { return lo == base && hi == base + size(); }
};

enum class Visit { kNext, kDescend, kStop };

// The one walker. Visitors provide table_pre (entry is a table), leaf (entry is anything
// else) and table_post (after the walk of a table they asked to descend into). The entry is
// re-read after leaf(), so a leaf visitor may install a table and return kDescend.
template <typename V>
Visit walk_table(uint64_t* table, unsigned level, uint64_t start, uint64_t end, V& v) {
  for (uint64_t ipa = start; ipa < end;) {
    const uint64_t base = ipa & ~(level_size(level) - 1);
    const uint64_t next = base + level_size(level);
    WalkEntry e{&table[index_at(ipa, level)], table, level, base, ipa, next < end ? next : end};
    const Visit r = is_table(*e.ptep, level) ? v.table_pre(e) : v.leaf(e);
    if (r == Visit::kStop)
      return r;
    if (r == Visit::kDescend) {
      if (!is_table(*e.ptep, level))
        arch::fatal("pgtable: descend into a non-table entry");
      if (walk_table(table_va(*e.ptep), level + 1, e.lo, e.hi, v) == Visit::kStop)
        return Visit::kStop;
      v.table_post(e);
    }
    ipa = next;
  }
  return Visit::kNext;
}

struct LookupVisitor {
  Leaf found;
  Visit table_pre(WalkEntry&) { return Visit::kDescend; }
  Visit leaf(WalkEntry& e) {
    found = Leaf{*e.ptep, e.level, Ipa(e.base), e.size()};
    return Visit::kStop;
  }
  void table_post(WalkEntry&) {}
};

// Does the leaf `raw`, starting at `base` right where `run` ends, carry on that run? Only if
// nothing but its output address differs, and that follows on: then every question a Leaf
// answers has the same answer over the whole run (pa_of included).
bool continues_run(const Leaf& run, uint64_t raw, uint64_t base) {
  if (!is_valid(raw) || !run.valid())
    return raw == run.raw;
  const uint64_t oa = (run.raw & pte::kOaMask) + (base - run.base.value());
  return leaf_attrs(raw) == leaf_attrs(run.raw) && (raw & pte::kOaMask) == oa;
}

struct RunVisitor {
  Leaf found;
  bool started = false;
  Visit table_pre(WalkEntry&) { return Visit::kDescend; }
  Visit leaf(WalkEntry& e) {
    if (!started) {
      found = Leaf{*e.ptep, e.level, Ipa(e.base), e.size()};
      started = true;
      return Visit::kNext;
    }
    if (!continues_run(found, *e.ptep, e.base))
      return Visit::kStop;
    found.size = e.base + e.size() - found.base.value();
    return Visit::kNext;
  }
  void table_post(WalkEntry&) {}
};

struct LeafCallbackVisitor {
  pgtable_detail::LeafCallback cb;
  Visit table_pre(WalkEntry&) { return Visit::kDescend; }
  Visit leaf(WalkEntry& e) {
    cb.fn(cb.ctx, Leaf{*e.ptep, e.level, Ipa(e.base), e.size()});
    return Visit::kNext;
  }
  void table_post(WalkEntry&) {}
};

}  // namespace

// The mutating half of the page-table code: every store to a live table, its refcount and
// its TLB maintenance happen here, so break-before-make is written once.
class Stage2Editor {
 public:
  Stage2Editor(Stage2& s2, PagePool::Reservation& res, TlbBatch& tlb)
      : s2_(s2), pool_(*s2.pool_), res_(res), tlb_(tlb) {}

  // new_table: value links a table just filled, whose contents must be visible first.
  void write(WalkEntry& e, uint64_t value, bool new_table = false) {
    const uint64_t old = *e.ptep;
    const PhysAddr table = arch::virt_to_phys(e.table);
    if (old == 0 && value != 0)
      pool_.get(table);
    if (new_table)
      arch::publish_table(s2_.hw_, e.ptep, value);
    else
      arch::write_pte(s2_.hw_, e.ptep, value);
    if (old != 0 && value == 0)
      pool_.put(table);
  }

  // Break: the entry becomes invalid; its invalidation joins the batch.
  void break_entry(WalkEntry& e) {
    const uint64_t old = *e.ptep;
    if (old == 0)
      return;
    write(e, 0);
    if (is_table(old, e.level))
      tlb_.add_all();
    else if (is_valid(old))
      tlb_.add(Ipa(e.base));
  }

  // Make: a valid entry where the entry is invalid now. If a break of this span may still
  // be cached, the batch completes first (the "before" of break-before-make).
  void make(WalkEntry& e, uint64_t value, bool new_table = false) {
    if (tlb_.covers(Ipa(e.base), e.size()))
      tlb_.flush();
    write(e, value, new_table);
  }

  void install_leaf(WalkEntry& e, uint64_t value) {
    const uint64_t old = *e.ptep;
    if (old == value)
      return;
    s2_.counters_.leaf_writes.add(1);
    if (!is_valid(old)) {
      if (is_valid(value))
        make(e, value);
      else
        write(e, value);
      return;
    }
    if (is_valid(value) && ((old ^ value) & ~kInPlaceBits) != 0) {
      break_entry(e);
      make(e, value);
      return;
    }
    // Valid to invalid, or a permission change: one store, and the stale translation only
    // has to be gone when the batch is flushed. A change of software bits alone (a hold, a
    // pin, a page's sharing state) needs no invalidation: what the TLBs may hold translates
    // the same. Under TCG every invalidation empties QEMU's TLBs, so a secure VM's
    // SVM_HOLD/RELEASE around each service call used to cost more than the call's work.
    write(e, value);
    if (((old ^ value) & ~kSoftwareBits) != 0)
      tlb_.add(Ipa(e.base));
  }

  // Replace a table entry (and the tables below it) by a leaf.
  void replace_table(WalkEntry& e, uint64_t value) {
    const uint64_t old = *e.ptep;
    detach_table(e);
    free_tree(old, e.level, e.base);
    s2_.counters_.leaf_writes.add(1);
    if (value != 0)
      write(e, value);
  }

  // Turn a leaf into a table of leaves that translate exactly the same way.
  void split(WalkEntry& e) {
    const uint64_t old = *e.ptep;
    const PhysAddr page = pool_.alloc(res_);
    auto* child = static_cast<uint64_t*>(arch::phys_to_virt(page));
    uint32_t used = 0;
    for (unsigned i = 0; i < kEntries; i++) {
      child[i] = split_child(old, i, e.level + 1);
      used += child[i] != 0;
    }
    if (used != 0)
      pool_.get(page, used);  // one pool-lock round trip per split, not one per entry
    if (old != 0)
      s2_.counters_.splits.add(1);
    const uint64_t table = page.value() | pte::kValid | pte::kTableOrPage;
    if (is_valid(old) && s2_.hw_.smmu) {
      // A device cannot retry a transfer that meets a broken entry: the SMMU aborts it. Its
      // BBML2 (smmu_find() requires it) lets the table replace the block directly; both
      // translate alike, and the batch drops the block from its TLB.
      write(e, table, /*new_table=*/true);
      tlb_.add(Ipa(e.base));
      return;
    }
    // A valid block must be gone from every TLB before the table replaces it; an invalid
    // entry can be overwritten directly unless its own break is still pending.
    if (is_valid(old))
      break_entry(e);
    make(e, table, /*new_table=*/true);
  }

  void try_merge(WalkEntry& e) {
    const uint64_t old = *e.ptep;
    const uint64_t* child = table_va(old);
    uint64_t merged = 0;
    const bool empty = pool_.refcount(PhysAddr(old & pte::kOaMask)) == 1;
    if (!empty && !mergeable(child, e.level + 1, &merged))
      return;
    s2_.counters_.merges.add(1);
    if (merged != 0 && s2_.hw_.smmu) {
      // As in split(): no break under a device. The block goes in first; the walk caches
      // drop the table before its pages go back to the pool.
      write(e, merged);
      tlb_.add_all();
      tlb_.flush();
      free_tree(old, e.level, e.base);
      return;
    }
    detach_table(e);
    free_tree(old, e.level, e.base);
    if (merged != 0)
      write(e, merged);
  }

  // Unlinks a table entry and completes the invalidation at once: no walker may still hold
  // the table when its pages go back to the pool, where a split could reuse them at once.
  void detach_table(WalkEntry& e) {
    break_entry(e);
    tlb_.flush();
  }

  void free_tree(uint64_t table_pte, unsigned level, uint64_t base);

 private:
  Stage2& s2_;
  PagePool& pool_;
  PagePool::Reservation& res_;
  TlbBatch& tlb_;
};

namespace {

// Returns every table below (and including) a detached table entry to the pool.
struct FreeVisitor {
  PagePool& pool;
  Visit table_pre(WalkEntry&) { return Visit::kDescend; }
  Visit leaf(WalkEntry&) { return Visit::kNext; }
  void table_post(WalkEntry& e) { pool.release(PhysAddr(*e.ptep & pte::kOaMask)); }
};

struct SetRangeVisitor {
  Stage2Editor& ed;
  const LeafSpec& spec;
  uint64_t range_start;

  uint64_t value_for(const WalkEntry& e) const {
    if (!spec.valid)
      return spec.attrs;
    const uint64_t oa = spec.pa.value() + (e.base - range_start);
    return spec.attrs | oa | pte::kValid | type_bit(e.level);
  }
  bool can_hold(const WalkEntry& e) const {
    if (!e.whole())
      return false;
    if (!spec.valid)
      return true;
    const uint64_t oa = spec.pa.value() + (e.base - range_start);
    return level_has_leaves(e.level) && (oa & (e.size() - 1)) == 0;
  }

  Visit table_pre(WalkEntry& e) {
    if (!can_hold(e))
      return Visit::kDescend;
    ed.replace_table(e, value_for(e));
    return Visit::kNext;
  }
  Visit leaf(WalkEntry& e) {
    if (can_hold(e)) {
      ed.install_leaf(e, value_for(e));
      return Visit::kNext;
    }
    ed.split(e);
    return Visit::kDescend;
  }
  void table_post(WalkEntry& e) { ed.try_merge(e); }
};

struct CheckVisitor {
  const PagePool& pool;
  size_t tables = 0;
  const char* error = nullptr;

  static size_t nonzero(const uint64_t* table) {
    size_t n = 0;
    for (unsigned i = 0; i < kEntries; i++)
      n += table[i] != 0;
    return n;
  }
  Visit fail(const char* what) {
    error = what;
    return Visit::kStop;
  }
  Visit table_pre(WalkEntry& e) {
    const PhysAddr page(*e.ptep & pte::kOaMask);
    if (!pool.owns(page))
      return fail("table page outside the pool");
    tables++;
    const uint64_t* child = table_va(*e.ptep);
    if (pool.refcount(page) != 1 + nonzero(child))
      return fail("table refcount does not match its entries");
    uint64_t merged;
    if (nonzero(child) == 0 || mergeable(child, e.level + 1, &merged))
      return fail("table could be a block: tables are not canonical");
    return Visit::kDescend;
  }
  Visit leaf(WalkEntry& e) {
    if (is_valid(*e.ptep) && !level_has_leaves(e.level))
      return fail("valid leaf at level 0");
    if (is_valid(*e.ptep) && e.level == kLastLevel && !(*e.ptep & pte::kTableOrPage))
      return fail("level-3 entry without the page bit");
    return Visit::kNext;
  }
  void table_post(WalkEntry&) {}
};

}  // namespace

void Stage2Editor::free_tree(uint64_t table_pte, unsigned level, uint64_t base) {
  FreeVisitor v{pool_};
  walk_table(table_va(table_pte), level + 1, base, base + level_size(level), v);
  pool_.release(PhysAddr(table_pte & pte::kOaMask));
}

LeafSpec LeafSpec::owned_by(VmId owner) {
  return LeafSpec{uint64_t(owner.value()) << pte::kOwnerShift, false, PhysAddr()};
}

LeafSpec LeafSpec::normal(PhysAddr pa, Perms perms, PageState state, bool pinned, bool held,
                          bool ffa) {
  uint64_t attrs = pte::kAf | pte::kShInner | pte::kMemAttrNormalWb;
  attrs |= perms.r() ? pte::kS2apR : 0;
  attrs |= perms.w() ? pte::kS2apW : 0;
  attrs |= perms.x() ? 0 : pte::kXn;
  attrs |= uint64_t(state) << pte::kStateShift;
  attrs |= pinned ? pte::kPinned : 0;
  attrs |= held ? pte::kHeld : 0;
  attrs |= ffa ? pte::kFfa : 0;
  return LeafSpec{attrs, true, pa};
}

LeafSpec LeafSpec::device(PhysAddr pa) {
  const uint64_t attrs = pte::kAf | pte::kMemAttrDevice | pte::kS2apR | pte::kS2apW | pte::kXn;
  return LeafSpec{attrs, true, pa};
}

LeafSpec LeafSpec::dma(PhysAddr pa, bool writable) {
  uint64_t attrs = pte::kAf | pte::kShInner | pte::kS1ApUser | pte::kS1Xn | pte::kS1Ng;
  attrs |= writable ? 0 : pte::kS1ApReadOnly;
  attrs |= uint64_t(PageState::kSharedBorrowed) << pte::kStateShift;
  return LeafSpec{attrs, true, pa};
}

Perms Leaf::perms() const {
  uint32_t bits = 0;
  bits |= (raw & pte::kS2apR) ? HYPHEAP_PERM_R : 0;
  bits |= (raw & pte::kS2apW) ? HYPHEAP_PERM_W : 0;
  bits |= (raw & pte::kXn) ? 0 : HYPHEAP_PERM_X;
  return Perms(bits);
}

PhysAddr Leaf::pa_of(Ipa ipa) const {
  return PhysAddr((raw & pte::kOaMask) + (ipa.value() - base.value()));
}

Status Stage2::init(PagePool& pool, unsigned ipa_bits, uint16_t hw_vmid, bool smmu) {
  if (ipa_bits < kMinIpaBits || ipa_bits > kMaxIpaBits)
    return Status::kRangeSize;
  PagePool::Reservation res;
  HYP_TRY(pool.reserve(1, res));
  pool_ = &pool;
  ipa_bits_ = ipa_bits;
  // Level 1 can resolve 39 bits alone; beyond that the walk starts at level 0.
  start_level_ = ipa_bits <= 39 ? 1 : 0;
  hw_ = arch::Stage2Hw{pool.alloc(res), hw_vmid, uint8_t(start_level_), smmu};
  counters_ = Stage2Counters{};
  return Status::kOk;
}

uint64_t* Stage2::root() const {
  return static_cast<uint64_t*>(arch::phys_to_virt(hw_.root));
}

bool Stage2::in_range(IpaRange range) const {
  return range.size != 0 && range.base.value() < ipa_limit() &&
         range.size <= ipa_limit() - range.base.value();
}

void Stage2::set_range(IpaRange range, const LeafSpec& leaf, PagePool::Reservation& res) {
  TlbBatch tlb(*this);
  set_range(range, leaf, res, tlb);
}

void Stage2::set_range(IpaRange range, const LeafSpec& leaf, PagePool::Reservation& res,
                       TlbBatch& tlb) {
  if (!in_range(range) || !is_page_aligned(range.base.value()) || !is_page_aligned(range.size))
    arch::fatal("pgtable: set_range outside the IPA space or unaligned");
  if (!tlb.for_stage2(*this))
    arch::fatal("pgtable: TLB batch of another stage-2");
  Stage2Editor ed(*this, res, tlb);
  SetRangeVisitor v{ed, leaf, range.base.value()};
  walk_table(root(), start_level_, range.base.value(), range.end().value(), v);
}

TlbBatch::TlbBatch(const Stage2& s2, Profile* profile) : s2_(s2), profile_(profile) {}

bool TlbBatch::for_stage2(const Stage2& s2) const {
  return &s2 == &s2_;
}

void TlbBatch::add(Ipa ipa) {
  if (whole_vm_)
    return;
  if (nr_ipas_ == kMaxIpas) {
    whole_vm_ = true;
    return;
  }
  ipas_[nr_ipas_++] = ipa;
}

bool TlbBatch::covers(Ipa base, uint64_t size) const {
  if (whole_vm_)
    return true;
  for (size_t i = 0; i < nr_ipas_; i++) {
    if (ipas_[i] >= base && ipas_[i].value() - base.value() < size)
      return true;
  }
  return false;
}

void TlbBatch::flush() {
  if (empty())
    return;
  const uint64_t start = profile_ != nullptr ? arch::counter_ticks() : 0;
  if (whole_vm_)
    arch::tlb_invalidate_vm(s2_.hw());
  else if (nr_ipas_ != 0)
    arch::tlb_invalidate_ipas(s2_.hw(), std::span<const Ipa>(ipas_, nr_ipas_));
  nr_ipas_ = 0;
  whole_vm_ = false;
  if (profile_ != nullptr)
    profile_->add(Phase::kTlb, arch::counter_ticks() - start);
}

Leaf Stage2::lookup(Ipa ipa) const {
  // The walk indexes each level with that level's IPA bits only: an IPA at or above the limit
  // would alias the one below it with the high bits cleared. Nothing is mapped up there.
  if (ipa.value() >= ipa_limit())
    return Leaf{.raw = 0,
                .level = kLastLevel,
                .base = Ipa(ipa.value() & ~(kPageSize - 1)),
                .size = kPageSize};
  LookupVisitor v;
  walk_table(root(), start_level_, ipa.value(), ipa.value() + 1, v);
  return v.found;
}

Leaf Stage2::lookup_run(Ipa ipa, Ipa limit) const {
  if (ipa.value() >= ipa_limit() || limit <= ipa)
    return lookup(ipa);
  const uint64_t end = limit.value() < ipa_limit() ? limit.value() : ipa_limit();
  RunVisitor v;
  walk_table(root(), start_level_, ipa.value(), end, v);
  return v.found;
}

size_t Stage2::missing_tables(std::span<const IpaRange> sorted, bool valid_leaf,
                              uint64_t pa_minus_ipa) const {
  TableNeed need(*this, valid_leaf, pa_minus_ipa);
  for (const IpaRange& r : sorted)
    need.add(r);
  return need.pages();
}

TableNeed::TableNeed(const Stage2& s2, bool valid_leaf, uint64_t pa_minus_ipa)
    : s2_(s2), valid_leaf_(valid_leaf), pa_minus_ipa_(pa_minus_ipa) {}

void TableNeed::add(IpaRange range) {
  const uint64_t lo = range.base.value(), hi = range.end().value();
  for (unsigned parent = s2_.start_level(); parent < kLastLevel; parent++) {
    const uint64_t size = level_size(parent);
    // A valid leaf can be neither a level-0 entry nor a block whose output is misaligned, so
    // every such entry it touches needs a table; otherwise only the two edge entries can.
    const bool every_entry =
        valid_leaf_ && (!level_has_leaves(parent) || (pa_minus_ipa_ & (size - 1)) != 0);
    const uint64_t first = lo & ~(size - 1), last = (hi - 1) & ~(size - 1);
    if (every_entry) {
      for (uint64_t base = first; base <= last; base += size)
        consider(parent, base, range, true);
    } else {
      consider(parent, first, range, false);
      if (last != first)
        consider(parent, last, range, false);
    }
  }
}

void TableNeed::consider(unsigned parent, uint64_t base, IpaRange range, bool every_entry) {
  const uint64_t size = level_size(parent);
  const bool partial = range.base.value() > base || range.end().value() < base + size;
  // Ascending disjoint ranges meet entries in ascending order: one "last" per level dedups.
  if ((!partial && !every_entry) || base == last_counted_[parent])
    return;
  last_counted_[parent] = base;
  if (s2_.lookup(Ipa(base)).level <= parent)
    pages_++;
}

const char* Stage2::check_tables(size_t* nr_tables) const {
  CheckVisitor v{*pool_};
  if (pool_->refcount(hw_.root) != 1 + CheckVisitor::nonzero(root()))
    return "root table refcount does not match its entries";
  walk_table(root(), start_level_, 0, ipa_limit(), v);
  *nr_tables = v.tables + 1;
  return v.error;
}

const char* Stage2::check_tables_in(IpaRange range) const {
  CheckVisitor v{*pool_};
  if (pool_->refcount(hw_.root) != 1 + CheckVisitor::nonzero(root()))
    return "root table refcount does not match its entries";
  if (!in_range(range))
    return nullptr;
  walk_table(root(), start_level_, range.base.value(), range.end().value(), v);
  return v.error;
}

namespace pgtable_detail {
void for_each_leaf(const Stage2& s2, LeafCallback cb) {
  LeafCallbackVisitor v{cb};
  walk_table(static_cast<uint64_t*>(arch::phys_to_virt(s2.hw().root)), s2.start_level(), 0,
             s2.ipa_limit(), v);
}
}  // namespace pgtable_detail

uint64_t vtcr_for(unsigned ipa_bits, unsigned pa_bits) {
  constexpr uint64_t kRes1 = 1ULL << 31;
  constexpr uint64_t kInnerWb = 1ULL << 8, kOuterWb = 1ULL << 10, kInnerShareable = 3ULL << 12;
  const uint64_t sl0 = ipa_bits <= 39 ? 1 : 2;  // start level 1 or 0 with a 4 KiB granule
  uint64_t ps = 0;
  constexpr unsigned kPaBits[] = {32, 36, 40, 42, 44, 48};
  for (uint64_t i = 0; i < 6; i++) {
    if (kPaBits[i] <= pa_bits)
      ps = i;
  }
  return kRes1 | (ps << 16) | kInnerShareable | kOuterWb | kInnerWb | (sl0 << 6) | (64 - ipa_bits);
}

}  // namespace hyp
