// The hypervisor core: one object holding the platform, the table pool, the host and the
// secure VMs, the per-CPU descriptor buffers and the counters.
//
// Lock order (docs/hyp-core.md): the host VM lock, then secure VM locks in ascending VmId,
// then the FF-A state lock, then the page-pool lock (innermost, taken inside the others). No
// path takes a host lock while holding a secure VM lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ffa.h"
#include "ffa_memory.h"
#include "ffa_state.h"
#include "page_pool.h"
#include "pending.h"
#include "platform.h"
#include "profile.h"
#include "stats.h"
#include "types.h"
#include "vm.h"

// The fuzzer builds a two-CPU core (-DHYPHEAP_MAX_CPUS=2: enough for FF-A's cross-CPU
// FFA_RUN): the per-CPU buffers are most of what restoring a core per input costs.
#ifndef HYPHEAP_MAX_CPUS
#define HYPHEAP_MAX_CPUS 8
#endif

namespace hyp {

struct QueryResult {
  uint64_t owners = 0;  // HYPHEAP_VMID_BIT of each owner
  uint64_t state = 0;   // HYPHEAP_STATE_* word
  uint64_t pages = 0;   // leading pages with the same owners and state
};

// Registers of an SMCCC call: x0 = function id, x1..x3 = arguments. Plain data, so a fuzzer
// can fill it straight from a byte buffer.
struct SmcccArgs {
  uint64_t x[4];
};
struct SmcccResult {
  uint64_t x[4];
};

class Hyp {
 public:
  static constexpr unsigned kMaxCpus = HYPHEAP_MAX_CPUS;
  static constexpr size_t kMaxRanges = HYPHEAP_DESC_MAX_RANGES(1);

  constexpr Hyp() = default;
  Hyp(const Hyp&) = delete;
  Hyp& operator=(const Hyp&) = delete;

  // Builds every stage-2 from the platform: host maps RAM (owned) and MMIO, carve-outs are
  // annotated with their owner, secure VMs map their carve-outs.
  [[nodiscard]] Status init(const PlatformDesc& desc);

  // The SMCCC entry point (hypercall.cc). `cpu` selects the per-CPU descriptor buffer.
  SmcccResult handle_smccc(unsigned cpu, const SmcccArgs& args);

  // kOk with *new_srcvm, or (a change of more than kPiecePages pages) kPreempted with the
  // token in *new_srcvm once the first piece is done: mem_continue() does the rest.
  [[nodiscard]] Status mem_assign(unsigned cpu, PhysAddr desc, uint64_t len, uint64_t* new_srcvm);
  // MEM_CONTINUE: the next piece of the operation `token` names (from any CPU). kOk with the
  // new srcvm in *out after the last piece, kPreempted with the token before it.
  [[nodiscard]] Status mem_continue(uint64_t token, uint64_t x2, uint64_t* out);
  // The operation in progress in `slot`, or nullptr (tests, the invariant checker).
  const PendingOp* pending_op(size_t slot) const;
  [[nodiscard]] Status mem_query(PhysAddr pa, uint64_t nr_pages, QueryResult* out) const;
  [[nodiscard]] Status stat(uint64_t index, uint64_t* value) const;

  // Before a reset of a machine that keeps RAM (QEMU does), or a power-off of one whose DRAM
  // may hold its contents for a while: zeroes and cleans to PoC every page a secure VM owns
  // (lent to it or in its carve-out), so the next boot, which gives the host every page
  // outside the carve-outs, finds nothing of theirs. Shared pages are left: the host could
  // read them anyway. Owners do not change. Returns the number of pages scrubbed.
  uint64_t scrub_secure_pages();

  // --- FF-A (ffa.cc, ffa_mailbox.cc; the contract is in ffa.h) ---------------------------
  // A host SMC/HVC whose function id is_ffa_call(), made on physical CPU `cpu`. `regs` holds
  // the caller's x0..x17 and, when the outcome says so, what the next context gets.
  FfaOutcome ffa_host_call(unsigned cpu, FfaRegs& regs);
  // The same from partition vCPU `vcpu` while it runs on `cpu`.
  FfaOutcome ffa_partition_call(unsigned cpu, unsigned vcpu, FfaRegs& regs);
  // The arch is about to enter vCPU `vcpu` at its entry point for the first time (OFF ->
  // BOOTING); its FFA_MSG_WAIT then makes it WAITING and answers kReturnToHost. False, and
  // nothing changed, if the partition has aborted: the arch must not enter it.
  [[nodiscard]] bool ffa_vcpu_booting(unsigned vcpu);
  // A physical interrupt took `cpu` from the running vCPU `vcpu`: it is PREEMPTED and
  // `host_regs` become FFA_INTERRUPT (w1 = partition id << 16 | vcpu), or FFA_ERROR(ABORTED)
  // if another vCPU aborted the partition meanwhile.
  void ffa_partition_preempted(unsigned cpu, unsigned vcpu, FfaRegs& host_regs);
  // The partition faulted on `cpu` in vCPU `vcpu` (the arch has logged it): the partition is
  // ABORTED for good, `host_regs` become FFA_ERROR(ABORTED) for the call in flight, and every
  // pin and hold of its VM is dropped once no vCPU is in the partition any more (now, or at
  // the exit of the last one still running elsewhere: ffa_state.h).
  void ffa_partition_aborted(unsigned cpu, unsigned vcpu, FfaRegs& host_regs);
  // The partition's vCPUs: one per physical CPU.
  static constexpr unsigned ffa_vcpu_count() { return kMaxCpus; }
  bool ffa_aborted() const;
  VcpuState ffa_vcpu_state(unsigned vcpu) const;

  // The secure VM's own calls (HYPHEAP_FN_SVM_HOLD/RELEASE/PIN/UNPIN; SVM_ABORT is the
  // arch's). `caller` is the secure VM whose vCPU made the call on `cpu`.
  SmcccResult handle_partition_smccc(VmId caller, unsigned cpu, const SmcccArgs& args);

  // The partition's side of FF-A memory (ffa_memory.cc; SVM_FFA_RETRIEVE/RELINQUISH): it
  // holds the region of a live lend to HYPHEAP_FFA_ID_SVM (never a share: that is its
  // sender's to reclaim), so RECLAIM answers DENIED, until it relinquishes. Not holding it is the
  // default: the pages are mapped at LEND/SHARE time either way.
  [[nodiscard]] Status ffa_mem_retrieve(VmId caller, uint64_t handle);
  [[nodiscard]] Status ffa_mem_relinquish(VmId caller, uint64_t handle);
  // SVM_FFA_REGION: the first page of a live transaction to `receiver`, and its total pages.
  [[nodiscard]] Status ffa_mem_region(VmId caller, uint64_t handle, uint64_t receiver, Ipa* first,
                                      uint64_t* pages);
  // The record of `handle` (state kFree if there is none).
  FfaMemInfo ffa_mem_info(uint64_t handle) const;
  // How many records are in `state` (tests: a refused call left none behind).
  size_t ffa_mem_records(FfaTxnState state) const;

  // Pin, hold and their inverses (pin.cc), as SVM_PIN/UNPIN/HOLD/RELEASE validate them.
  [[nodiscard]] Status pin(VmId vm, Ipa ipa, uint64_t nr_pages);
  [[nodiscard]] Status unpin(VmId vm, Ipa ipa, uint64_t nr_pages);
  [[nodiscard]] Status hold(VmId vm, Ipa ipa, uint64_t nr_pages, uint64_t need);
  [[nodiscard]] Status release(VmId vm, Ipa ipa, uint64_t nr_pages);

  // Walks every stage-2 and checks that each RAM page has one consistent owner and state
  // across VMs, tables are consistent and canonical, and counters agree. Returns nullptr or
  // what is wrong (and where, in *where).
  const char* check_invariants(uint64_t* where) const;
  // The same restricted to what a change inside `ranges` (IPA == PA, any order) can break:
  // every page of RAM in them, the tables a walk of them passes through, secure-VM entries
  // in them outside RAM. Not the totals (counters against the stage-2s, table pages
  // against the pool), which only check_invariants() can add up.
  const char* check_invariants_in(std::span<const MemRange> ranges, uint64_t* where) const;
  // The FF-A state against itself and against the stage-2s (mailbox pages shared with the
  // hyp exactly while mapped, no pin or hold left in an aborted partition's VM). Part of
  // both checks above; on its own for callers whose call wrote no stage-2 entry.
  const char* check_ffa_invariants(uint64_t* where) const;

  const Vm& host() const { return host_; }
  const Vm* secure_vm(VmId id) const;
  const PagePool& pool() const { return pool_; }
  const Platform& platform() const { return platform_; }
  uint64_t stage2_splits() const;
  uint64_t stage2_merges() const;
  uint64_t stage2_leaf_writes() const;

 private:
  friend class AssignTransaction;
  friend class PageDescriber;
  friend class InvariantChecker;
  friend class FfaDispatcher;
  friend class FfaMemory;
  friend class OwnershipEngine;
  friend class PendingChecker;

  Vm* find_secure_vm(VmId id);
  // Every VM lock, in the documented order (host, then secure VMs by ascending id).
  void lock_all() const;
  void unlock_all() const;
  [[nodiscard]] Status map_initial(Stage2& s2, const MemRange& r, const LeafSpec& leaf);
  enum class Mark : uint8_t { kPin, kHold };
  [[nodiscard]] Status mark(VmId vm, Ipa ipa, uint64_t nr_pages, Mark which, bool set,
                            uint64_t need);
  // Operations in progress (pending.cc). Under the host lock unless said otherwise.
  // Whether `r` touches a page of an operation in progress other than `except`.
  bool pending_overlaps(const MemRange& r, const PendingOp* except) const;
  // The same for the operations changing `vm`'s pages; under `vm`'s lock alone.
  bool pending_overlaps_vm(const Vm& vm, const MemRange& r) const;
  // Whether `pa` is in an operation in progress; narrows *end to where that answer holds.
  // Under every VM lock (MEM_QUERY).
  bool pending_at(PhysAddr pa, PhysAddr* end) const;
  // Records a validated change of more than one piece in `slot`, which must be free (its
  // reservation already holds the change's table pages). Under the host and VM locks.
  // `ffa_handle`: the FF-A transaction it moves, 0 for MEM_ASSIGN.
  void start_pending(size_t slot, const OwnershipChange& c, uint64_t new_srcvm,
                     uint64_t ffa_handle = 0);
  // A free slot (kPendingLimit if none).
  [[nodiscard]] Status free_pending_slot(size_t* slot) const;
  // Commits the next piece of `slot`; finishes it after the last. Under the host and VM locks.
  [[nodiscard]] Status advance_pending(size_t slot, uint64_t* out);
  // Frees `slot` after its first piece was refused (nothing of it done). Same locks.
  void cancel_pending(size_t slot);
  // Clears every pin and hold of `vm` (its partition aborted). Takes the VM lock.
  void drop_marks(Vm& vm);
  // FF-A pieces that touch the host stage-2 (ffa_mailbox.cc), under the host lock.
  void ffa_rxtx_map(FfaRegs& regs, bool smc64);
  void ffa_rxtx_unmap(FfaRegs& regs);
  void ffa_rx_release(FfaRegs& regs);
  void ffa_partition_info_get(FfaRegs& regs);
  // FF-A memory from the host (ffa_memory.cc): MEM_SHARE/LEND, FRAG_TX, MEM_OP_RESUME,
  // RECLAIM.
  void ffa_mem_send(unsigned cpu, FfaRegs& regs, uint32_t fid);
  void ffa_mem_frag_tx(unsigned cpu, FfaRegs& regs);
  void ffa_mem_resume(unsigned cpu, FfaRegs& regs);
  void ffa_mem_reclaim(unsigned cpu, FfaRegs& regs);

  Platform platform_;
  PagePool pool_;
  Vm host_;
  Vm secure_vms_[Platform::kMaxSecureVms];
  size_t nr_secure_vms_ = 0;
  Stats stats_;
  Profile profile_;
  FfaState<kMaxCpus> ffa_;
  FfaMemState ffa_mem_;  // under the host lock
  PendingOp pending_[kMaxPending];
  uint32_t pending_generation_ = 0;       // under the host lock
  MemRange piece_[kMaxPieceRanges] = {};  // the piece being committed, under the host lock

  // Per-CPU: the descriptor as copied from the host, and its ranges once parsed.
  alignas(16) uint8_t desc_buf_[kMaxCpus][HYPHEAP_DESC_MAX_SIZE] = {};
  MemRange ranges_[kMaxCpus][kMaxRanges] = {};
};

}  // namespace hyp
