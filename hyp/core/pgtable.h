// Stage-2 page tables in the VMSAv8-64 format (4 KiB granule), which are also the ownership
// database: the state of a page lives in the software bits of a valid entry, and the owner of
// a page a VM may not touch lives in the invalid entry itself (docs/hyp-core.md, "States").
//
// Every mutation goes through set_range(), which keeps the tables canonical: a range that is
// uniform and aligned is always held by the largest possible block, so tables split when part
// of a block changes and merge back (returning their page to the pool) when it is uniform again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "arch.h"
#include "page_pool.h"
#include "profile.h"
#include "stats.h"
#include "types.h"

namespace hyp {

// Descriptor fields (Arm ARM D8.3, stage-2 block/page/table descriptors).
namespace pte {
inline constexpr uint64_t kValid = 1ULL << 0;
inline constexpr uint64_t kTableOrPage = 1ULL << 1;
inline constexpr uint64_t kMemAttrNormalWb = 0xFULL << 2;  // outer+inner write-back
inline constexpr uint64_t kMemAttrDevice = 0x1ULL << 2;    // Device-nGnRE
inline constexpr uint64_t kMemAttrMask = 0xFULL << 2;
inline constexpr uint64_t kS2apR = 1ULL << 6;
inline constexpr uint64_t kS2apW = 1ULL << 7;
inline constexpr uint64_t kShInner = 3ULL << 8;
inline constexpr uint64_t kAf = 1ULL << 10;
inline constexpr uint64_t kOaMask = 0x0000'FFFF'FFFF'F000ULL;  // bits 47:12
inline constexpr uint64_t kXn = 1ULL << 54;                    // XN[1:0] = 0b10
inline constexpr int kStateShift = 55;                         // software bits 56:55
inline constexpr uint64_t kStateMask = 3ULL << kStateShift;
inline constexpr uint64_t kPinned = 1ULL << 57;  // software bit 57: SVM_PIN
inline constexpr uint64_t kHeld = 1ULL << 58;    // software bit 58: SVM_HOLD
// Bit 59 of a secure VM's valid entry: the page came through FF-A MEM_LEND/SHARE, not
// MEM_ASSIGN. Bits 58:55 are all taken; 62:59 are IGNORED by the hardware (they would be PBHA
// only with VTCR_EL2.HWU59-62 set, which vtcr_for() never sets). Never changed in place: an
// entry gets it when it becomes valid and loses it when it is unmapped.
inline constexpr uint64_t kFfa = 1ULL << 59;
// Stage-1 leaves of a DMA table (Arm ARM D8.3, stage-1 block/page descriptors), which the
// same editor builds: AttrIndx 0 (Normal write-back in the context's MAIR), AP[1] set
// (unprivileged streams too), AP[2] = read-only. Software bits 56:55 say kSharedBorrowed: a
// device never owns what it reaches (the fake arch's ordering checker reads them).
inline constexpr uint64_t kS1ApUser = 1ULL << 6;
inline constexpr uint64_t kS1ApReadOnly = 1ULL << 7;
inline constexpr uint64_t kS1Xn = 3ULL << 53;  // PXN, UXN
// nG: the SMMU tags the translation with the context's ASID. A global one would match in
// every context of the SMMU (the host's streams hitting what the secure VM's stream cached)
// and CMD_TLBI_NH_ASID would not remove it. Set from the start: BBML2 does not cover a
// change of nG on a live entry.
inline constexpr uint64_t kS1Ng = 1ULL << 11;
// Invalid entries: bits 9:2 name the owner of what the entry covers (bit 0 stays clear).
inline constexpr int kOwnerShift = 2;
inline constexpr uint64_t kOwnerMask = 0xFFULL << kOwnerShift;
}  // namespace pte

// Ownership state of a page in the stage-2 of a VM that maps it (pKVM's vocabulary).
enum class PageState : uint8_t {
  kOwned = 0,           // this VM alone owns and maps it
  kSharedOwned = 1,     // this VM owns it and shares it with another VM
  kSharedBorrowed = 2,  // another VM owns it and shares it with this one
  kSharedHyp = 3,       // this VM owns it and shares it with the hypervisor (FF-A mailbox)
};

// A leaf value to store over a range: either a valid mapping whose output address follows
// the IPA, or an invalid entry (0 = nothing, else an annotation naming the owner).
struct LeafSpec {
  uint64_t attrs = 0;  // for valid leaves: everything but OA and the type bit
  bool valid = false;
  PhysAddr pa;  // output address for the first byte of the range (valid leaves)

  static LeafSpec unmapped() { return {}; }
  static LeafSpec owned_by(VmId owner);
  static LeafSpec normal(PhysAddr pa, Perms perms, PageState state, bool pinned = false,
                         bool held = false, bool ffa = false);
  static LeafSpec device(PhysAddr pa);
  // A DMA table's leaf: devices read, and write if `writable`, at `pa`.
  static LeafSpec dma(PhysAddr pa, bool writable);
};

// A leaf as found by lookup: the raw entry and the aligned span of IPA it covers.
struct Leaf {
  uint64_t raw = 0;
  unsigned level = 0;
  Ipa base;
  uint64_t size = 0;

  bool valid() const { return raw & pte::kValid; }
  PageState state() const { return PageState((raw & pte::kStateMask) >> pte::kStateShift); }
  bool pinned() const { return raw & pte::kPinned; }
  bool held() const { return raw & pte::kHeld; }
  bool ffa() const { return valid() && (raw & pte::kFfa); }
  // Owner recorded in an invalid entry; VmId(0) when the entry is plain empty.
  VmId owner() const { return VmId(uint32_t((raw & pte::kOwnerMask) >> pte::kOwnerShift)); }
  Perms perms() const;
  // A DMA table's valid leaf lets devices write.
  bool dma_writable() const { return valid() && !(raw & pte::kS1ApReadOnly); }
  // Output address of `ipa`, which must lie inside this valid leaf.
  PhysAddr pa_of(Ipa ipa) const;
  Ipa end() const { return base + size; }
};

struct IpaRange {
  Ipa base;
  uint64_t size = 0;
  Ipa end() const { return base + size; }
};

// Written under the VM's lock, read by STATS without it: relaxed atomics.
struct Stage2Counters {
  Counter leaf_writes;  // leaf entries written into live tables
  Counter splits;
  Counter merges;
};

class Stage2;

// TLB maintenance one stage-2 owes for entries already written, issued together: by IPA
// while there are few, one VMID-wide invalidation past kMaxIpas (beyond that many broadcast
// TLBIs, refilling the VM's TLB costs less than waiting for each). The editor flushes on its
// own before it makes an entry valid where a pending break could still be cached, and
// before it frees a table page; the caller flushes before another VM may gain access to
// what this stage-2 gave up. Destruction flushes, so no call returns with maintenance owed.
class TlbBatch {
 public:
  static constexpr size_t kMaxIpas = 32;

  // With a profile, every flush that issues maintenance is timed as Phase::kTlb, the
  // editor's own flushes inside a change included.
  explicit TlbBatch(const Stage2& s2, Profile* profile = nullptr);
  ~TlbBatch() { flush(); }
  TlbBatch(const TlbBatch&) = delete;
  TlbBatch& operator=(const TlbBatch&) = delete;

  // The leaf entry translating `ipa` changed.
  void add(Ipa ipa);
  // A table entry changed: its walk caches cover a range, only a VMID-wide one will do.
  void add_all() { whole_vm_ = true; }
  // True if something pending may translate part of [base, base + size).
  bool covers(Ipa base, uint64_t size) const;
  void flush();
  // Nothing owed: flush() would issue no maintenance.
  bool empty() const { return nr_ipas_ == 0 && !whole_vm_; }
  bool for_stage2(const Stage2& s2) const;

 private:
  const Stage2& s2_;
  Profile* profile_;
  Ipa ipas_[kMaxIpas];
  size_t nr_ipas_ = 0;
  bool whole_vm_ = false;
};

class Stage2 {
 public:
  static constexpr unsigned kMinIpaBits = 39;
  static constexpr unsigned kMaxIpaBits = 48;

  constexpr Stage2() = default;

  // Allocates the root table (kNoMemory if the pool is empty). With `smmu`, the tables are a
  // DMA table (arch::Stage2Hw::smmu): leaves come from LeafSpec::dma() or unmapped(), and
  // `hw_vmid` is the SMMU context's ASID.
  [[nodiscard]] Status init(PagePool& pool, unsigned ipa_bits, uint16_t hw_vmid, bool smmu = false);

  // Makes every page of `range` translate as `leaf` says. Table pages come from `res`, sized
  // with missing_tables() beforehand; with that done this cannot fail. TLB maintenance is
  // added to `tlb` (a batch of this stage-2), flushed by it or when it goes out of scope.
  void set_range(IpaRange range, const LeafSpec& leaf, PagePool::Reservation& res, TlbBatch& tlb);
  // The same with its own batch, flushed before returning.
  void set_range(IpaRange range, const LeafSpec& leaf, PagePool::Reservation& res);

  // Upper bound of table pages set_range() needs for all of `sorted` (ascending, disjoint):
  // one per partially covered entry that is not already a table, shared ranges counted once.
  // For valid leaves, `pa_minus_ipa` is their output-address offset (0 for identity maps):
  // entries it leaves misaligned cannot be blocks and must be split too.
  size_t missing_tables(std::span<const IpaRange> sorted, bool valid_leaf,
                        uint64_t pa_minus_ipa = 0) const;

  // The leaf translating `ipa`. At or above ipa_limit(): an empty page-sized leaf.
  Leaf lookup(Ipa ipa) const;

  // lookup(ipa), grown over the leaves after it, up to `limit`, that differ from it in their
  // output address alone, which follows on: one answer for a run of pages in one state, in
  // one walk, where lookup() page by page walks from the root for each (a lent 1 MiB is 256
  // page entries). Only raw, base, end() and what they answer (state, perms, owner, pa_of)
  // hold for the run: level is the first leaf's, and size is no level's size nor base
  // aligned to it. The span ends on a leaf boundary, which may lie past `limit`.
  Leaf lookup_run(Ipa ipa, Ipa limit) const;

  // Visits every leaf in IPA order, skipping nothing (empty entries included).
  template <typename F>
  void for_each_leaf(F&& fn) const;

  // Consistency of the tables themselves: refcounts match contents, no valid block where the
  // format has none, no table that could be merged into a block (canonical form). Returns
  // nullptr or what is wrong; counts the table pages reached, root included.
  const char* check_tables(size_t* nr_tables) const;
  // The same for the tables a walk of `range` passes through (root included), without the
  // count: what a change inside `range` can have broken.
  const char* check_tables_in(IpaRange range) const;

  bool in_range(IpaRange range) const;
  uint64_t ipa_limit() const { return 1ULL << ipa_bits_; }
  unsigned start_level() const { return start_level_; }
  const arch::Stage2Hw& hw() const { return hw_; }
  uint64_t vttbr() const { return hw_.root.value() | (uint64_t(hw_.vmid) << 48); }
  const Stage2Counters& counters() const { return counters_; }

 private:
  friend class Stage2Editor;
  uint64_t* root() const;

  PagePool* pool_ = nullptr;
  arch::Stage2Hw hw_;
  unsigned ipa_bits_ = 0;
  unsigned start_level_ = 0;
  Stage2Counters counters_;
};

// Counts the table pages set_range() may need over ranges fed in ascending, disjoint order
// (the incremental form of Stage2::missing_tables, for callers that convert as they go).
class TableNeed {
 public:
  TableNeed(const Stage2& s2, bool valid_leaf, uint64_t pa_minus_ipa = 0);
  void add(IpaRange range);
  size_t pages() const { return pages_; }

 private:
  void consider(unsigned parent, uint64_t base, IpaRange range, bool every_entry);

  const Stage2& s2_;
  bool valid_leaf_;
  uint64_t pa_minus_ipa_;
  size_t pages_ = 0;
  uint64_t last_counted_[4] = {~0ULL, ~0ULL, ~0ULL, ~0ULL};
};

// VTCR_EL2 for stage-2 tables built by Stage2 with this IPA size (PS from pa_bits).
uint64_t vtcr_for(unsigned ipa_bits, unsigned pa_bits);

namespace pgtable_detail {
struct LeafCallback {
  void* ctx;
  void (*fn)(void* ctx, const Leaf& leaf);
};
void for_each_leaf(const Stage2& s2, LeafCallback cb);
}  // namespace pgtable_detail

template <typename F>
void Stage2::for_each_leaf(F&& fn) const {
  pgtable_detail::for_each_leaf(
      *this, {&fn, [](void* ctx, const Leaf& leaf) { (*static_cast<F*>(ctx))(leaf); }});
}

}  // namespace hyp
