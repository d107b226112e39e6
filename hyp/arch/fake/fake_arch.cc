// The fake arch: physical memory is a reserved host mapping whose address differs from the
// physical addresses it stands for, so a PA used as a pointer faults instead of working by
// luck. Cache maintenance has no effect on the host; TLB and cache maintenance are refereed.
//
// The referee models what hardware with TLBs, walk caches and write-back caches could still
// do after each operation, in the worst case (every CPU cached every translation and every
// line it could):
//   - pending invalidations: every descriptor changed since the last invalidation covering
//     it, with the value the TLBs may still hold (break-before-make is judged against it);
//   - a shadow of every live table page (VMID, level, base IPA), so a store can be told
//     apart from the IPA span it changes, and a table unlinked but not yet invalidated
//     VMID-wide is known to be reachable by a walk;
//   - per VM, the physical ranges it stopped reaching while it owned them (its dirty lines
//     may still be in the caches) and, for secure VMs, those not yet scrubbed; the scrub's
//     own zeros until they are cleaned.
// The rules checked on that model are in docs/hyp-core.md ("The ordering checker").
#include "fake_arch.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/arch.h"
#include "core/dma.h"

// The benchmarks build the fake with HYPHEAP_FAKE_CHECK_TLB=0: they want the core's cost,
// not the bookkeeping that checks it.
#ifndef HYPHEAP_FAKE_CHECK_TLB
#define HYPHEAP_FAKE_CHECK_TLB 1
#endif

namespace hyp::fake {
namespace {

struct AtomicCounters {
  std::atomic<uint64_t> pte_writes{0};
  std::atomic<uint64_t> tlb_ipa{0};
  std::atomic<uint64_t> tlb_ipa_batches{0};
  std::atomic<uint64_t> tlb_vm{0};
  std::atomic<uint64_t> smmu_syncs{0};
  std::atomic<uint64_t> clean_bytes{0};
  std::atomic<uint64_t> clean_inval_bytes{0};
  std::atomic<uint64_t> scrub_bytes{0};
  std::atomic<uint64_t> tables_freed{0};
  std::atomic<uint64_t> bbm_violations{0};
  std::atomic<uint64_t> ordering_violations{0};
};

AtomicCounters g_counters;
// Keyed by descriptor address, so bounded by the table pages in use (arch::publish_table).
std::mutex g_published_lock;
std::unordered_map<const uint64_t*, uint64_t> g_published;
// Set by tests, read by STATS on any thread.
std::mutex g_host_faults_lock;
arch::HostFaultCounts g_host_faults;
void (*g_copy_hook)(void*) = nullptr;
void* g_copy_hook_ctx = nullptr;
void (*g_pte_hook)(const arch::Stage2Hw&, void*) = nullptr;
void* g_pte_hook_ctx = nullptr;

uint8_t* ram_window() {
  static uint8_t* const window = [] {
    void* p = mmap(nullptr, kRamSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      std::perror("fake arch: mmap of fake RAM");
      std::abort();
    }
    return static_cast<uint8_t*>(p);
  }();
  return window;
}

// --- descriptor format (Arm ARM D8.3), as the walker reads it ------------------------------

constexpr unsigned kLastLevel = 3;
constexpr uint64_t kOaMask = 0x0000'FFFF'FFFF'F000ULL;
// Bits a valid stage-2 descriptor may change in place: S2AP, XN and the software bits.
constexpr uint64_t kInPlaceBits = (3ULL << 6) | (3ULL << 53) | (0xFULL << 55);
// Bits 58:55, which the walker ignores: a TLB entry from before a change of them alone
// translates as the new descriptor does, so no invalidation is owed for it.
constexpr uint64_t kSoftwareBits = 0xFULL << 55;
// Software bits 56:55: 0 means the VM owns the page alone (hyp/core/pgtable.h, PageState).
constexpr unsigned kStateShift = 55;
constexpr uint16_t kHostVmid = 0;  // Hyp::init gives the host VMID 0

constexpr unsigned level_shift(unsigned level) {
  return 12 + 9 * (kLastLevel - level);
}
constexpr uint64_t level_size(unsigned level) {
  return 1ULL << level_shift(level);
}
constexpr bool is_table(uint64_t pte, unsigned level) {
  return level < kLastLevel && (pte & 3) == 3;
}
constexpr bool is_leaf(uint64_t pte, unsigned level) {
  return (pte & 1) && !is_table(pte, level);
}
constexpr uint64_t leaf_oa(uint64_t pte, unsigned level) {
  return pte & kOaMask & ~(level_size(level) - 1);
}
constexpr bool exclusive(uint64_t pte) {
  return ((pte >> kStateShift) & 3) == 0;
}
const uint64_t* table_at(uint64_t pa) {
  return static_cast<const uint64_t*>(arch::phys_to_virt(PhysAddr(pa)));
}

// --- sets of physical ranges ---------------------------------------------------------------

class RangeSet {
 public:
  bool empty() const { return r_.empty(); }
  void clear() { r_.clear(); }
  void add(uint64_t lo, uint64_t hi) {
    subtract(lo, hi);
    auto it = std::lower_bound(r_.begin(), r_.end(), lo,
                               [](const Span& s, uint64_t v) { return s.lo < v; });
    it = r_.insert(it, Span{lo, hi});
    if (it + 1 != r_.end() && (it + 1)->lo == it->hi) {
      it->hi = (it + 1)->hi;
      r_.erase(it + 1);
    }
    if (it != r_.begin() && (it - 1)->hi == it->lo) {
      (it - 1)->hi = it->hi;
      r_.erase(it);
    }
  }
  void subtract(uint64_t lo, uint64_t hi) {
    if (r_.empty())
      return;
    std::vector<Span> out;
    out.reserve(r_.size() + 1);
    for (const Span& s : r_) {
      if (s.hi <= lo || s.lo >= hi) {
        out.push_back(s);
        continue;
      }
      if (s.lo < lo)
        out.push_back(Span{s.lo, lo});
      if (s.hi > hi)
        out.push_back(Span{hi, s.hi});
    }
    r_ = std::move(out);
  }
  // The first address of [lo, hi) in the set, or false.
  bool intersects(uint64_t lo, uint64_t hi, uint64_t* at) const {
    auto it = std::upper_bound(r_.begin(), r_.end(), lo,
                               [](uint64_t v, const Span& s) { return v < s.hi; });
    if (it == r_.end() || it->lo >= hi)
      return false;
    *at = std::max(it->lo, lo);
    return true;
  }

 private:
  std::vector<Span> r_;  // sorted, disjoint, not adjacent
};

// --- the model -----------------------------------------------------------------------------

// What the TLBs of one stage-2 may still hold about a descriptor the core has changed.
struct Pending {
  uint16_t vmid;
  uint8_t level;
  uint64_t ipa;
  uint64_t old;  // the oldest value since the last invalidation covering it
};

struct TableInfo {
  uint16_t vmid;
  uint8_t level;
  uint64_t base;  // first IPA it translates
  bool detached;  // unlinked, but walk caches may hold it until a VMID-wide invalidation
  std::vector<uint64_t> copy;  // what the table holds, as linked and then written
};

// A physical range a VM may still reach through a detached table.
struct StaleRange {
  uint64_t lo, hi;
  bool exclusive;
};

struct VmModel {
  uint16_t vmid = 0;
  uint64_t root = 0;
  uint8_t start_level = 0;
  size_t pending = 0;                // entries of g_pending with this VMID
  std::vector<StaleRange> detached;  // until the next VMID-wide invalidation
  RangeSet left;                     // stopped reaching while owning it, not cleaned since
  RangeSet unscrubbed;               // the same, secure VMs only, not scrubbed since
  bool stopped = false;              // arch::vm_stopped(): never runs again, reaches nothing
  // The VM whose CPUs this model's accesses are on behalf of: its own VMID, or for a DMA
  // table (Stage2Hw::smmu) the VM whose devices use it (core/dma.h, kDmaAsidBase). A VM's
  // devices reaching what its CPUs own is no conflict.
  uint16_t owner = 0;
};

enum class OpKind : uint8_t { kWrite, kTlbIpa, kTlbVm, kClean, kCleanInval, kScrub, kFree };

struct OpRec {
  OpKind kind;
  uint16_t vmid;
  uint8_t level;
  uint64_t a, b, c;  // write: ipa, old, new; TLBI by IPA: ipa; maintenance: pa, size; free: pa
};

constexpr size_t kLogSize = 48;

struct Model {
  std::mutex lock;
  bool running = false;
  std::map<uint16_t, VmModel> vms;
  std::unordered_map<uint64_t, TableInfo> tables;  // by table PA
  std::unordered_map<const uint64_t*, Pending> pending;
  RangeSet scrubbed_unclean;  // zeros written by scrub, not yet cleaned to PoC
  std::vector<Span> written;
  OpRec log[kLogSize];
  size_t log_next = 0;
  std::string report;
};

Model g;

void log_op(OpKind kind, uint16_t vmid, uint8_t level, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
  g.log[g.log_next++ % kLogSize] = OpRec{kind, vmid, level, a, b, c};
}

void append_op(std::string& out, const OpRec& r) {
  char line[160];
  switch (r.kind) {
    case OpKind::kWrite:
      std::snprintf(line, sizeof(line),
                    "  write    vm%-3u L%u ipa 0x%-10llx 0x%016llx -> 0x%016llx\n", r.vmid, r.level,
                    (unsigned long long)r.a, (unsigned long long)r.b, (unsigned long long)r.c);
      break;
    case OpKind::kTlbIpa:
      std::snprintf(line, sizeof(line), "  tlbi ipa vm%-3u    ipa 0x%llx (completed)\n", r.vmid,
                    (unsigned long long)r.a);
      break;
    case OpKind::kTlbVm:
      std::snprintf(line, sizeof(line), "  tlbi vm  vm%-3u    (completed)\n", r.vmid);
      break;
    case OpKind::kClean:
    case OpKind::kCleanInval:
    case OpKind::kScrub:
      std::snprintf(line, sizeof(line), "  %-8s          pa  0x%-10llx size 0x%llx\n",
                    r.kind == OpKind::kClean        ? "dc cvac"
                    : r.kind == OpKind::kCleanInval ? "dc civac"
                                                    : "scrub",
                    (unsigned long long)r.a, (unsigned long long)r.b);
      break;
    case OpKind::kFree:
      std::snprintf(line, sizeof(line), "  free     table   pa  0x%llx\n", (unsigned long long)r.a);
      break;
  }
  out += line;
}

__attribute__((format(printf, 1, 2))) void violation(const char* fmt, ...) {
  g_counters.ordering_violations++;
  if (!g.report.empty())
    return;
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  g.report = std::string("fake arch: ordering violation: ") + msg +
             "\noperations before it, oldest first (the last one is the culprit):\n";
  const size_t n = std::min(g.log_next, kLogSize);
  for (size_t i = g.log_next - n; i < g.log_next; i++)
    append_op(g.report, g.log[i % kLogSize]);
}

void register_subtree(uint64_t table_pa, uint16_t vmid, uint8_t level, uint64_t base) {
  const uint64_t* t = table_at(table_pa);
  g.tables[table_pa] = TableInfo{vmid, level, base, false, std::vector<uint64_t>(t, t + 512)};
  for (unsigned i = 0; i < 512; i++) {
    if (is_table(t[i], level))
      register_subtree(t[i] & kOaMask, vmid, uint8_t(level + 1), base + i * level_size(level));
  }
}

VmModel& vm_for(const arch::Stage2Hw& hw) {
  auto [it, fresh] = g.vms.try_emplace(hw.vmid);
  VmModel& vm = it->second;
  if (fresh) {
    vm.vmid = hw.vmid;
    vm.owner = hw.smmu ? uint16_t(hw.vmid - kDmaAsidBase) : hw.vmid;
    vm.root = hw.root.value();
    vm.start_level = hw.start_level;
    // Tables a test linked by hand (not through write_pte) are found the way a walk would.
    if (g.tables.find(vm.root) == g.tables.end())
      register_subtree(vm.root, hw.vmid, hw.start_level, 0);
  }
  return vm;
}

uint64_t ipa_limit(const VmModel& vm) {
  return level_size(vm.start_level) << 9;
}

// Visits every entry a walk of [lo, hi) passes through in the live tables: fn(ptep, level,
// value) returns true to stop.
template <typename F>
bool walk(uint64_t table_pa, unsigned level, uint64_t lo, uint64_t hi, F& fn) {
  const uint64_t* t = table_at(table_pa);
  for (uint64_t ipa = lo; ipa < hi;) {
    const uint64_t size = level_size(level);
    const uint64_t next = (ipa & ~(size - 1)) + size;
    const uint64_t* ptep = &t[(ipa >> level_shift(level)) & 511];
    const uint64_t v = __atomic_load_n(ptep, __ATOMIC_RELAXED);
    if (fn(ptep, level, v))
      return true;
    if (is_table(v, level) && walk(v & kOaMask, level + 1, ipa, std::min(next, hi), fn))
      return true;
    if (next == 0)
      break;
    ipa = next;
  }
  return false;
}

template <typename F>
bool walk_vm(const VmModel& vm, uint64_t lo, uint64_t hi, F&& fn) {
  hi = std::min(hi, ipa_limit(vm));
  return lo < hi && walk(vm.root, vm.start_level, lo, hi, fn);
}

bool overlaps(uint64_t a_lo, uint64_t a_hi, uint64_t b_lo, uint64_t b_hi) {
  return a_lo < b_hi && b_lo < a_hi;
}

// Whether `vm` translates to a byte of PA [lo, hi) through its tables as they are now. The
// core maps RAM at IPA == PA (the invariant checker proves it), so that IPA span is walked.
bool maps(const VmModel& vm, uint64_t lo, uint64_t hi) {
  if (vm.stopped)
    return false;
  return walk_vm(vm, lo, hi, [&](const uint64_t*, unsigned level, uint64_t v) {
    return is_leaf(v, level) &&
           overlaps(leaf_oa(v, level), leaf_oa(v, level) + level_size(level), lo, hi);
  });
}

// Whether `vm` may still reach PA [lo, hi) through what its TLBs or walk caches hold.
bool stale(const VmModel& vm, uint64_t lo, uint64_t hi) {
  if (vm.stopped)
    return false;
  for (const StaleRange& s : vm.detached) {
    if (overlaps(s.lo, s.hi, lo, hi))
      return true;
  }
  if (vm.pending == 0)
    return false;
  return walk_vm(vm, lo, hi, [&](const uint64_t* ptep, unsigned, uint64_t) {
    const auto it = g.pending.find(ptep);
    if (it == g.pending.end() || !is_leaf(it->second.old, it->second.level))
      return false;
    const uint64_t oa = leaf_oa(it->second.old, it->second.level);
    return overlaps(oa, oa + level_size(it->second.level), lo, hi);
  });
}

// `vm` stopped reaching PA [lo, hi), which it owned alone: its dirty lines may be left.
void left(VmModel& vm, uint64_t lo, uint64_t hi) {
  if (!g.running)
    return;
  vm.left.add(lo, hi);
  if (vm.vmid != kHostVmid)
    vm.unscrubbed.add(lo, hi);
}

// An invalidation completed for a pending leaf: the old translation is gone from the TLBs.
void invalidated(VmModel& vm, const uint64_t* ptep, const Pending& p) {
  vm.pending--;
  if (!is_leaf(p.old, p.level) || !exclusive(p.old))
    return;
  const uint64_t cur = __atomic_load_n(ptep, __ATOMIC_RELAXED);
  if (is_leaf(cur, p.level) && (cur & kOaMask) == (p.old & kOaMask))
    return;  // changed in place: the VM still maps the page
  const uint64_t oa = leaf_oa(p.old, p.level);
  left(vm, oa, oa + level_size(p.level));
}

// Everything below an unlinked table entry: walks may still use it until a VMID-wide
// invalidation, so its leaves (and what its own pending entries held) stay reachable.
void detach(VmModel& vm, uint64_t table_pa) {
  const auto it = g.tables.find(table_pa);
  if (it == g.tables.end())
    return;
  it->second.detached = true;
  const unsigned level = it->second.level;
  const uint64_t* t = table_at(table_pa);
  auto add = [&](uint64_t pte) {
    const uint64_t lo = leaf_oa(pte, level), hi = lo + level_size(level);
    const bool ex = exclusive(pte);
    if (!vm.detached.empty() && vm.detached.back().hi == lo && vm.detached.back().exclusive == ex)
      vm.detached.back().hi = hi;
    else
      vm.detached.push_back(StaleRange{lo, hi, ex});
  };
  for (unsigned i = 0; i < 512; i++) {
    if (is_table(t[i], level)) {
      detach(vm, t[i] & kOaMask);
      continue;
    }
    if (is_leaf(t[i], level))
      add(t[i]);
    const auto p = g.pending.find(&t[i]);
    if (p != g.pending.end() && is_leaf(p->second.old, level))
      add(p->second.old);
  }
}

// `vm` now translates to PA [lo, hi) (a new or changed valid leaf).
void mapped(VmModel& vm, uint64_t lo, uint64_t hi, bool as_owner) {
  uint64_t at = 0;
  for (auto& [id, other] : g.vms) {
    if (id == vm.vmid || other.owner == vm.owner)
      continue;
    if (stale(other, lo, hi))
      violation(
          "vm%u maps PA [0x%llx, 0x%llx) while vm%u may still reach it through a TLB "
          "entry whose invalidation has not completed",
          vm.vmid, (unsigned long long)lo, (unsigned long long)hi, id);
    if (as_owner && maps(other, lo, hi))
      violation("vm%u maps PA [0x%llx, 0x%llx) as its own while vm%u maps it", vm.vmid,
                (unsigned long long)lo, (unsigned long long)hi, id);
    if (other.left.intersects(lo, hi, &at))
      violation("vm%u maps PA 0x%llx before what vm%u left there was cleaned to PoC", vm.vmid,
                (unsigned long long)at, id);
    if (other.unscrubbed.intersects(lo, hi, &at))
      violation("vm%u maps PA 0x%llx before what vm%u left there was scrubbed", vm.vmid,
                (unsigned long long)at, id);
  }
  if (g.scrubbed_unclean.intersects(lo, hi, &at))
    violation("vm%u maps PA 0x%llx before the scrub's zeros were cleaned to PoC", vm.vmid,
              (unsigned long long)at);
  vm.left.subtract(lo, hi);
  vm.unscrubbed.subtract(lo, hi);
}

// A table was linked: every valid leaf below it is now reachable, in runs.
void linked(VmModel& vm, uint64_t table_pa, unsigned level) {
  const uint64_t* t = table_at(table_pa);
  uint64_t run_lo = 0, run_hi = 0;
  bool run_ex = false;
  for (unsigned i = 0; i < 512; i++) {
    if (is_table(t[i], level)) {
      linked(vm, t[i] & kOaMask, level + 1);
      continue;
    }
    if (!is_leaf(t[i], level))
      continue;
    const uint64_t lo = leaf_oa(t[i], level), hi = lo + level_size(level);
    if (run_hi == lo && run_ex == exclusive(t[i]) && run_hi != run_lo) {
      run_hi = hi;
      continue;
    }
    if (run_hi != run_lo)
      mapped(vm, run_lo, run_hi, run_ex);
    run_lo = lo;
    run_hi = hi;
    run_ex = exclusive(t[i]);
  }
  if (run_hi != run_lo)
    mapped(vm, run_lo, run_hi, run_ex);
}

// Cache maintenance or scrub of PA [lo, hi): no VM may reach it, or it could dirty the
// lines again (or read the old data) after the operation.
// `owner`: a VM (CPUs and devices) allowed to keep reaching it (arch::scrub_in_place), or
// none.
void maintained(OpKind kind, uint64_t lo, uint64_t hi, const VmModel* owner = nullptr) {
  const char* what = kind == OpKind::kScrub ? "scrub" : "clean to PoC";
  for (auto& [id, vm] : g.vms) {
    if (owner != nullptr && vm.owner == owner->vmid)
      continue;
    if (maps(vm, lo, hi))
      violation("%s of PA [0x%llx, 0x%llx) while vm%u maps it", what, (unsigned long long)lo,
                (unsigned long long)hi, id);
    else if (stale(vm, lo, hi))
      violation(
          "%s of PA [0x%llx, 0x%llx) while vm%u may still reach it through a TLB entry "
          "whose invalidation has not completed",
          what, (unsigned long long)lo, (unsigned long long)hi, id);
  }
  if (kind == OpKind::kScrub) {
    // The zeros overwrite whatever lines the VMs left; they, in turn, need the clean.
    for (auto& [id, vm] : g.vms) {
      vm.unscrubbed.subtract(lo, hi);
      vm.left.subtract(lo, hi);
    }
    g.scrubbed_unclean.add(lo, hi);
    return;
  }
  for (auto& [id, vm] : g.vms)
    vm.left.subtract(lo, hi);
  g.scrubbed_unclean.subtract(lo, hi);
}

const TableInfo* table_of(VmModel& vm, const uint64_t* ptep) {
  const uint64_t page = arch::virt_to_phys(ptep).value() & ~uint64_t(4095);
  auto it = g.tables.find(page);
  if (it == g.tables.end()) {
    register_subtree(vm.root, vm.vmid, vm.start_level, 0);  // linked by hand since
    it = g.tables.find(page);
  }
  return it == g.tables.end() ? nullptr : &it->second;
}

void coalesce(std::vector<Span>& spans) {
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.lo < b.lo; });
  size_t n = 0;
  for (const Span& s : spans) {
    if (n != 0 && s.lo <= spans[n - 1].hi)
      spans[n - 1].hi = std::max(spans[n - 1].hi, s.hi);
    else
      spans[n++] = s;
  }
  spans.resize(n);
}

void record_written(uint64_t lo, uint64_t hi) {
  if (!g.written.empty() && g.written.back().hi == lo) {
    g.written.back().hi = hi;
    return;
  }
  g.written.push_back(Span{lo, hi});
  if (g.written.size() > 65536)
    coalesce(g.written);  // nobody takes them: keep them bounded
}

// A block and a table of the next level that translate exactly alike: every child a leaf
// of the block's attributes at the matching output address.
bool same_translation(uint64_t block, const uint64_t* child, unsigned level) {
  constexpr uint64_t kType = 3;
  for (unsigned i = 0; i < 512; i++) {
    if (!is_leaf(child[i], level + 1) ||
        leaf_oa(child[i], level + 1) != leaf_oa(block, level) + i * level_size(level + 1) ||
        ((child[i] ^ block) & ~(kOaMask | kType)) != 0)
      return false;
  }
  return true;
}

// An SMMU with BBML2 (IDR3.BBML 2; smmu_find() requires it) may see a block replaced by a
// table of the same translations, or the reverse, without a break: it uses either, never
// both in conflict. Only DMA tables rely on it (core/pgtable.cc, Stage2Editor).
bool bbml2_replacement(const arch::Stage2Hw& hw, uint64_t old, uint64_t value, unsigned level) {
  if (!hw.smmu || level >= 3)
    return false;
  if (is_leaf(old, level) && is_table(value, level))
    return same_translation(old, table_at(value & kOaMask), level);
  if (is_table(old, level) && is_leaf(value, level))
    return same_translation(value, table_at(old & kOaMask), level);
  return false;
}

// The model's part of write_pte; the store itself happens in between.
void check_write(const arch::Stage2Hw& hw, uint64_t* ptep, uint64_t old, uint64_t value) {
  VmModel& vm = vm_for(hw);
  const TableInfo* info = table_of(vm, ptep);
  if (info == nullptr) {
    violation("vm%u stores into a page no walk of its stage-2 reaches", hw.vmid);
    return;
  }
  if (info->detached)
    violation("vm%u stores into a table already unlinked", hw.vmid);
  const unsigned level = info->level;
  const uint64_t ipa =
      info->base + uint64_t(ptep - table_at(arch::virt_to_phys(ptep).value() & ~uint64_t(4095))) *
                       level_size(level);
  log_op(OpKind::kWrite, hw.vmid, uint8_t(level), ipa, old, value);
  record_written(ipa, ipa + level_size(level));

  const bool old_valid = old & 1, new_valid = value & 1;
  const auto it = g.pending.find(ptep);
  if (old_valid && new_valid && ((old ^ value) & ~kInPlaceBits) != 0 &&
      !bbml2_replacement(hw, old, value, level))
    g_counters.bbm_violations++;
  if (!old_valid && new_valid && it != g.pending.end() && (it->second.old & 1))
    g_counters.bbm_violations++;  // made again before the break was invalidated
  // The TLBs may now disagree with the tables until an invalidation covers this entry;
  // what they may hold is the oldest valid value since the last one.
  const bool software_only = old_valid && new_valid && ((old ^ value) & ~kSoftwareBits) == 0;
  if (old_valid && old != value && !software_only && it == g.pending.end()) {
    g.pending.emplace(ptep, Pending{hw.vmid, uint8_t(level), ipa, old});
    vm.pending++;
  }
  if (is_table(old, level) && old != value)
    detach(vm, old & kOaMask);
}

void check_written(const arch::Stage2Hw& hw, const uint64_t* ptep, uint64_t old, uint64_t value) {
  VmModel& vm = g.vms[hw.vmid];
  const auto t = g.tables.find(arch::virt_to_phys(ptep).value() & ~uint64_t(4095));
  if (t == g.tables.end())
    return;
  const unsigned level = t->second.level;
  if (is_table(value, level) && value != old) {
    const uint64_t child = value & kOaMask;
    const auto c = g.tables.find(child);
    if (c != g.tables.end())
      violation(c->second.detached ? "vm%u links table page 0x%llx that a walk may still hold "
                                     "from before (no VMID-wide invalidation since its unlink)"
                                   : "vm%u links table page 0x%llx that is already linked",
                hw.vmid, (unsigned long long)child);
    const uint64_t* base = table_at(arch::virt_to_phys(ptep).value() & ~uint64_t(4095));
    register_subtree(child, hw.vmid, uint8_t(level + 1),
                     t->second.base + uint64_t(ptep - base) * level_size(level));
    linked(vm, child, level + 1);
  } else if (is_leaf(value, level)) {
    // A global stage-1 leaf matches in every context of the SMMU, whatever its ASID, and
    // CMD_TLBI_NH_ASID leaves it cached: another VM's devices could use it.
    constexpr uint64_t kNg = 1ULL << 11;
    if (hw.smmu && !(value & kNg))
      violation("vm%u's DMA table maps PA 0x%llx with a global leaf (nG clear)", hw.vmid,
                (unsigned long long)leaf_oa(value, level));
    mapped(vm, leaf_oa(value, level), leaf_oa(value, level) + level_size(level), exclusive(value));
  }
}

// An invalidation by IPA drops leaf translations of that IPA; walk caches of a removed
// table entry cover a whole range, so only a VMID-wide invalidation removes those. The
// fake walks the tables the way the hardware would to find which descriptors the IPA used.
void invalidate_path(VmModel& vm, uint64_t ipa) {
  walk_vm(vm, ipa, ipa + 1, [&](const uint64_t* ptep, unsigned, uint64_t) {
    const auto it = g.pending.find(ptep);
    if (it != g.pending.end() && it->second.vmid == vm.vmid &&
        !is_table(it->second.old, it->second.level)) {
      const Pending p = it->second;
      g.pending.erase(it);
      invalidated(vm, ptep, p);
    }
    return false;
  });
}

}  // namespace

Counters counters() {
  return Counters{g_counters.pte_writes.load(),         g_counters.tlb_ipa.load(),
                  g_counters.tlb_ipa_batches.load(),    g_counters.tlb_vm.load(),
                  g_counters.smmu_syncs.load(),         g_counters.clean_bytes.load(),
                  g_counters.clean_inval_bytes.load(),  g_counters.scrub_bytes.load(),
                  g_counters.tables_freed.load(),       g_counters.bbm_violations.load(),
                  g_counters.ordering_violations.load()};
}

uint64_t published_table(const uint64_t* ptep) {
  std::lock_guard guard(g_published_lock);
  const auto it = g_published.find(ptep);
  return it == g_published.end() ? 0 : it->second;
}

void reset_counters() {
  g_counters.pte_writes = 0;
  g_counters.tlb_ipa = 0;
  g_counters.tlb_ipa_batches = 0;
  g_counters.tlb_vm = 0;
  g_counters.smmu_syncs = 0;
  g_counters.clean_bytes = 0;
  g_counters.clean_inval_bytes = 0;
  g_counters.scrub_bytes = 0;
  g_counters.tables_freed = 0;
  set_host_fault_counts(arch::HostFaultCounts{});
}

void reset() {
  reset_counters();
  g_counters.bbm_violations = 0;
  g_counters.ordering_violations = 0;
  std::lock_guard guard(g.lock);
  g.running = false;
  g.vms.clear();
  g.tables.clear();
  g.pending.clear();
  g.scrubbed_unclean.clear();
  g.written.clear();
  g.log_next = 0;
  g.report.clear();
}

struct Snapshot::State {
  Counters counters;
  arch::HostFaultCounts host_faults;
  bool running;
  std::map<uint16_t, VmModel> vms;
  std::unordered_map<uint64_t, TableInfo> tables;
  std::unordered_map<const uint64_t*, Pending> pending;
  RangeSet scrubbed_unclean;
  std::vector<Span> written;
  OpRec log[kLogSize];
  size_t log_next;
  std::string report;
};

Snapshot::Snapshot(std::span<const arch::Stage2Hw> stage2s) : state_(new State) {
  {
    std::lock_guard guard(g.lock);
    for (const arch::Stage2Hw& hw : stage2s)
      (void)vm_for(hw);
  }
  State& s = *state_;
  s.counters = counters();
  {
    std::lock_guard guard(g_host_faults_lock);
    s.host_faults = g_host_faults;
  }
  std::lock_guard guard(g.lock);
  s.running = g.running;
  s.vms = g.vms;
  s.tables = g.tables;
  s.pending = g.pending;
  s.scrubbed_unclean = g.scrubbed_unclean;
  s.written = g.written;
  std::copy(std::begin(g.log), std::end(g.log), s.log);
  s.log_next = g.log_next;
  s.report = g.report;
}

Snapshot::~Snapshot() = default;

size_t Snapshot::live_tables() const {
  size_t n = 0;
  for (const auto& [pa, t] : state_->tables)
    n += t.detached ? 0 : 1;
  return n;
}

void restore(const Snapshot& snapshot) {
  const Snapshot::State& s = *snapshot.state_;
  g_counters.pte_writes = s.counters.pte_writes;
  g_counters.tlb_ipa = s.counters.tlb_ipa;
  g_counters.tlb_ipa_batches = s.counters.tlb_ipa_batches;
  g_counters.tlb_vm = s.counters.tlb_vm;
  g_counters.smmu_syncs = s.counters.smmu_syncs;
  g_counters.clean_bytes = s.counters.clean_bytes;
  g_counters.clean_inval_bytes = s.counters.clean_inval_bytes;
  g_counters.scrub_bytes = s.counters.scrub_bytes;
  g_counters.tables_freed = s.counters.tables_freed;
  g_counters.bbm_violations = s.counters.bbm_violations;
  g_counters.ordering_violations = s.counters.ordering_violations;
  set_host_fault_counts(s.host_faults);
  std::lock_guard guard(g.lock);
  g.running = s.running;
  g.vms = s.vms;
  g.tables = s.tables;
  g.pending = s.pending;
  g.scrubbed_unclean = s.scrubbed_unclean;
  g.written = s.written;
  std::copy(std::begin(s.log), std::end(s.log), g.log);
  g.log_next = s.log_next;
  g.report = s.report;
  // The model's copy of each live table is what the page held when the snapshot was taken
  // (verify_tables() compares the two), so it is also what to put back.
  for (const auto& [pa, t] : s.tables) {
    if (!t.detached)
      std::memcpy(arch::phys_to_virt(PhysAddr(pa)), t.copy.data(), 4096);
  }
}

void vms_running() {
  std::lock_guard guard(g.lock);
  g.running = true;
}

std::string ordering_report() {
  std::lock_guard guard(g.lock);
  return g.report;
}

size_t verify_tables() {
  std::lock_guard guard(g.lock);
  size_t bad = 0;
  for (const auto& [pa, t] : g.tables) {
    if (t.detached || std::memcmp(table_at(pa), t.copy.data(), 4096) == 0)
      continue;
    bad++;
    for (unsigned i = 0; i < 512; i++) {
      if (table_at(pa)[i] != t.copy[i]) {
        violation(
            "entry %u of vm%u's table page 0x%llx changed without write_pte: 0x%llx -> "
            "0x%llx",
            i, t.vmid, (unsigned long long)pa, (unsigned long long)t.copy[i],
            (unsigned long long)table_at(pa)[i]);
        break;
      }
    }
  }
  return bad;
}

size_t pending_invalidations() {
  std::lock_guard guard(g.lock);
  return g.pending.size();
}

std::vector<Span> take_written_spans() {
  std::lock_guard guard(g.lock);
  std::vector<Span> out;
  out.swap(g.written);
  coalesce(out);
  return out;
}

void set_copy_hook(void (*hook)(void* ctx), void* ctx) {
  g_copy_hook = hook;
  g_copy_hook_ctx = ctx;
}

void set_pte_hook(void (*hook)(const arch::Stage2Hw& hw, void* ctx), void* ctx) {
  g_pte_hook = hook;
  g_pte_hook_ctx = ctx;
}

std::atomic<uint64_t> g_fake_ticks{0};

void set_host_fault_counts(const arch::HostFaultCounts& counts) {
  std::lock_guard guard(g_host_faults_lock);
  g_host_faults = counts;
}

void reset_memory() {
  if (madvise(ram_window(), kRamSize, MADV_DONTNEED) != 0) {
    std::perror("fake arch: madvise");
    std::abort();
  }
}

}  // namespace hyp::fake

namespace hyp::arch {

void* phys_to_virt(PhysAddr pa) {
  const uint64_t off = pa.value() - fake::kRamBase;
  if (pa.value() < fake::kRamBase || off >= fake::kRamSize)
    fatal("fake arch: phys_to_virt outside fake RAM");
  return fake::ram_window() + off;
}

PhysAddr virt_to_phys(const void* va) {
  const auto* p = static_cast<const uint8_t*>(va);
  const uint8_t* base = fake::ram_window();
  if (p < base || p >= base + fake::kRamSize)
    fatal("fake arch: virt_to_phys outside fake RAM");
  return PhysAddr(fake::kRamBase + static_cast<uint64_t>(p - base));
}

void copy_from_phys(void* dst, PhysAddr src, size_t len) {
  if (len != 0)
    phys_to_virt(src + (len - 1));  // the whole source must be fake RAM
  std::memcpy(dst, phys_to_virt(src), len);
  if (fake::g_copy_hook != nullptr)
    fake::g_copy_hook(fake::g_copy_hook_ctx);
}

void write_pte(const Stage2Hw& hw, uint64_t* ptep, uint64_t value) {
  fake::g_counters.pte_writes++;
  if (!HYPHEAP_FAKE_CHECK_TLB) {
    __atomic_store_n(ptep, value, __ATOMIC_RELEASE);
  } else {
    std::lock_guard guard(fake::g.lock);
    const uint64_t old = __atomic_load_n(ptep, __ATOMIC_RELAXED);
    fake::check_write(hw, ptep, old, value);
    __atomic_store_n(ptep, value, __ATOMIC_RELEASE);
    fake::check_written(hw, ptep, old, value);
    const auto t = fake::g.tables.find(virt_to_phys(ptep).value() & ~uint64_t(4095));
    if (t != fake::g.tables.end())
      t->second.copy[(virt_to_phys(ptep).value() & 4095) / 8] = value;
  }
  if (fake::g_pte_hook != nullptr)
    fake::g_pte_hook(hw, fake::g_pte_hook_ctx);
}

void publish_table(const Stage2Hw& hw, uint64_t* ptep, uint64_t value) {
  {
    std::lock_guard guard(fake::g_published_lock);
    fake::g_published[ptep] = value;
  }
  write_pte(hw, ptep, value);
}

void tlb_invalidate_ipas(const Stage2Hw& hw, std::span<const Ipa> ipas) {
  fake::g_counters.tlb_ipa += ipas.size();
  fake::g_counters.tlb_ipa_batches++;
  fake::g_counters.smmu_syncs += hw.smmu && !ipas.empty() ? 1 : 0;
  if (!HYPHEAP_FAKE_CHECK_TLB)
    return;
  std::lock_guard guard(fake::g.lock);
  fake::VmModel& vm = fake::vm_for(hw);
  for (const Ipa ipa : ipas) {
    fake::log_op(fake::OpKind::kTlbIpa, hw.vmid, 0, ipa.value());
    fake::invalidate_path(vm, ipa.value());
  }
}

void tlb_invalidate_vm(const Stage2Hw& hw) {
  fake::g_counters.tlb_vm++;
  fake::g_counters.smmu_syncs += hw.smmu ? 1 : 0;
  if (!HYPHEAP_FAKE_CHECK_TLB)
    return;
  std::lock_guard guard(fake::g.lock);
  fake::VmModel& vm = fake::vm_for(hw);
  fake::log_op(fake::OpKind::kTlbVm, hw.vmid, 0, 0);
  for (auto it = fake::g.pending.begin(); it != fake::g.pending.end();) {
    if (it->second.vmid != hw.vmid) {
      ++it;
      continue;
    }
    const fake::Pending p = it->second;
    const uint64_t* ptep = it->first;
    it = fake::g.pending.erase(it);
    fake::invalidated(vm, ptep, p);
  }
  for (const fake::StaleRange& s : vm.detached) {
    if (s.exclusive)
      fake::left(vm, s.lo, s.hi);
  }
  vm.detached.clear();
  std::erase_if(fake::g.tables,
                [&](const auto& t) { return t.second.vmid == hw.vmid && t.second.detached; });
}

HostFaultCounts host_fault_counts() {
  std::lock_guard guard(fake::g_host_faults_lock);
  return fake::g_host_faults;
}

// A clock that advances by one tick per read: a phase timed around work reads at least one
// tick, so a test sees which phases ran without depending on the host's speed.
uint64_t counter_ticks() {
  return fake::g_fake_ticks.fetch_add(1, std::memory_order_relaxed) + 1;
}

uint64_t counter_frequency() {
  return fake::kFakeCounterHz;
}

void dcache_clean_poc(void* va, size_t size) {
  fake::g_counters.clean_bytes += size;
  if (!HYPHEAP_FAKE_CHECK_TLB || size == 0)
    return;
  std::lock_guard guard(fake::g.lock);
  const uint64_t pa = virt_to_phys(va).value();
  fake::log_op(fake::OpKind::kClean, 0, 0, pa, size);
  fake::maintained(fake::OpKind::kClean, pa, pa + size);
}

void dcache_clean_inval_poc(void* va, size_t size) {
  fake::g_counters.clean_inval_bytes += size;
  if (!HYPHEAP_FAKE_CHECK_TLB || size == 0)
    return;
  std::lock_guard guard(fake::g.lock);
  const uint64_t pa = virt_to_phys(va).value();
  fake::log_op(fake::OpKind::kCleanInval, 0, 0, pa, size);
  fake::maintained(fake::OpKind::kCleanInval, pa, pa + size);
}

void vm_stopped(const Stage2Hw& hw) {
  if (!HYPHEAP_FAKE_CHECK_TLB)
    return;
  std::lock_guard guard(fake::g.lock);
  fake::g.vms[hw.vmid].stopped = true;
}

void scrub(void* va, size_t size) {
  fake::g_counters.scrub_bytes += size;
  if (size == 0)
    return;
  if (HYPHEAP_FAKE_CHECK_TLB) {
    std::lock_guard guard(fake::g.lock);
    const uint64_t pa = virt_to_phys(va).value();
    fake::log_op(fake::OpKind::kScrub, 0, 0, pa, size);
    fake::maintained(fake::OpKind::kScrub, pa, pa + size);
  }
  std::memset(va, 0, size);
}

void scrub_in_place(const Stage2Hw& owner, void* va, size_t size) {
  fake::g_counters.scrub_bytes += size;
  fake::g_counters.clean_inval_bytes += size;
  if (size == 0)
    return;
  if (HYPHEAP_FAKE_CHECK_TLB) {
    std::lock_guard guard(fake::g.lock);
    const uint64_t pa = virt_to_phys(va).value();
    const fake::VmModel& vm = fake::vm_for(owner);
    if (owner.smmu || vm.owner == fake::kHostVmid)
      fake::violation("scrub in place of PA [0x%llx, 0x%llx) for vm%u, not a secure VM's CPUs",
                      (unsigned long long)pa, (unsigned long long)(pa + size), owner.vmid);
    fake::log_op(fake::OpKind::kScrub, 0, 0, pa, size);
    fake::maintained(fake::OpKind::kScrub, pa, pa + size, &vm);
    fake::log_op(fake::OpKind::kCleanInval, 0, 0, pa, size);
    fake::maintained(fake::OpKind::kCleanInval, pa, pa + size, &vm);
  }
  std::memset(va, 0, size);
}

void table_page_freed(PhysAddr page) {
  fake::g_counters.tables_freed++;
  if (!HYPHEAP_FAKE_CHECK_TLB)
    return;
  std::lock_guard guard(fake::g.lock);
  fake::log_op(fake::OpKind::kFree, 0, 0, page.value());
  const auto it = fake::g.tables.find(page.value());
  if (it == fake::g.tables.end())
    return;
  if (it->second.detached)
    fake::violation(
        "table page 0x%llx of vm%u freed before a VMID-wide invalidation: a walk "
        "may still hold it",
        (unsigned long long)page.value(), it->second.vmid);
  else
    fake::violation("table page 0x%llx freed while vm%u's stage-2 still links it",
                    (unsigned long long)page.value(), it->second.vmid);
  fake::g.tables.erase(it);
}

void spin_lock(SpinLock& lock) {
  while (__atomic_exchange_n(&lock.word, 1, __ATOMIC_ACQUIRE) != 0)
    std::this_thread::yield();
}

void spin_unlock(SpinLock& lock) {
  __atomic_store_n(&lock.word, 0, __ATOMIC_RELEASE);
}

void fatal(const char* msg) {
  std::fprintf(stderr, "[hyp] FATAL %s\n", msg);
  std::abort();
}

}  // namespace hyp::arch
