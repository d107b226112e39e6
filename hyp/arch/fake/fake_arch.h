// Host-only view of the fake arch: lets tests inspect what the core asked the "CPU" to do.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/arch.h"

namespace hyp::fake {

// Fake physical memory: a 2 GiB window at the QEMU virt RAM base. It is reserved, not
// committed, so only pages the tests touch cost host memory.
inline constexpr uint64_t kRamBase = 0x4000'0000;
inline constexpr uint64_t kRamSize = 2ULL << 30;

struct Counters {
  uint64_t pte_writes = 0;
  uint64_t tlb_ipa = 0;          // IPAs invalidated one by one (tlbi ipas2e1is)
  uint64_t tlb_ipa_batches = 0;  // completion sequences for those (one per batch)
  uint64_t tlb_vm = 0;           // VMID-wide invalidations (tlbi vmalls12e1is)
  uint64_t smmu_syncs = 0;       // invalidations of a DMA table (Stage2Hw::smmu), each waited for
  uint64_t clean_bytes = 0;
  uint64_t clean_inval_bytes = 0;
  uint64_t scrub_bytes = 0;
  uint64_t tables_freed = 0;
  // Break-before-make broken (Arm ARM D8.14): a valid descriptor overwritten by a valid one
  // that differs in more than permission or software bits, or an invalid descriptor made
  // valid while the TLB may still hold what it translated before it was broken.
  uint64_t bbm_violations = 0;
  // Cache maintenance, scrub, mapping or table reuse in an order that hardware with caches
  // and TLBs would punish (docs/hyp-core.md, "The ordering checker"). ordering_report()
  // says what the first one was.
  uint64_t ordering_violations = 0;
};

Counters counters();
// Zeroes the counters that measure work (not the violations: a test that measures part of
// its calls must not hide what went wrong before).
void reset_counters();
// A fresh machine: every counter and the whole model (pending invalidations, known tables,
// what each VM may have left in the caches, the operation log). The VMs are not running.
void reset();

// From now on the VMs run: a VM that stops reaching a page it owned may have left dirty
// lines of it in the caches, which must be cleaned (and, for a secure VM's page going to
// another VM, scrubbed first) before anyone else maps it. Until then (while Hyp::init
// builds the stage-2s) no VM has run and the caches hold nothing of theirs.
void vms_running();

// The first ordering violation since reset_counters(), with the operations that led to it
// (the last 48, oldest first); empty if there was none.
std::string ordering_report();

// Compares every live table page with what the fake knows it holds (its contents when it
// was linked, then every write_pte): a store to a live table that bypassed write_pte (no
// single-copy atomicity, no barrier, no TLB referee) is an ordering violation. Returns the
// number of tables that differ.
size_t verify_tables();

// Descriptors changed since the last TLB invalidation that covers them: a valid entry made
// invalid, or changed in place. Zero whenever the core has returned from a call; nonzero
// means a VM may still translate through what the tables no longer say.
size_t pending_invalidations();

// IPA spans [lo, hi) of every stage-2 entry written (through arch::write_pte) since the
// last call, sorted and merged: a table entry's span covers everything below it. Lets the
// fuzzer check after each call only what the call changed.
struct Span {
  uint64_t lo, hi;
};
std::vector<Span> take_written_spans();

// Runs after every arch::copy_from_phys(), standing for a host CPU that rewrites the
// source the moment the hypervisor has copied it. nullptr clears it.
void set_copy_hook(void (*hook)(void* ctx), void* ctx);

// Runs after every store to a table (arch::write_pte, arch::publish_table), outside the
// model's lock, standing for a walker (a CPU or a device behind the SMMU) that translates
// the moment the store lands: the hook may walk the tables. nullptr clears it.
void set_pte_hook(void (*hook)(const arch::Stage2Hw& hw, void* ctx), void* ctx);

// What arch::host_fault_counts() reports from now on: the fake takes no host faults, so a
// test plays the CPUs that did. reset_counters() sets it back to zero.
void set_host_fault_counts(const arch::HostFaultCounts& counts);

// arch::counter_ticks() advances by one per read; its frequency is this.
inline constexpr uint64_t kFakeCounterHz = 1'000'000;
extern std::atomic<uint64_t> g_fake_ticks;

// The value last stored at ptep by arch::publish_table(), 0 if none: lets tests check that
// every live table descriptor was published that way, not by a plain write_pte().
uint64_t published_table(const uint64_t* ptep);

// Zero all of fake physical memory (returns it to the host kernel).
void reset_memory();

// The fake's whole state: counters, the model (tables with their contents, pending
// invalidations, what each VM left in the caches, the operation log), what reset() clears
// (published_table()'s record outlives both). restore() puts it back, and each live table's
// contents into fake RAM as well, so a core booted once can be restored per fuzz input (with its
// Hyp object and the pool's free-list links, which the caller keeps) instead of booted again.
class Snapshot {
 public:
  // Of the state now, with every table of `stage2s` (a stage-2 nothing was written to yet
  // is otherwise unknown to the model, as its root is).
  explicit Snapshot(std::span<const arch::Stage2Hw> stage2s);
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
  // Live table pages in the snapshot: every page the core took from its pool, if all it
  // took are tables.
  size_t live_tables() const;

 private:
  friend void restore(const Snapshot&);
  struct State;
  std::unique_ptr<State> state_;
};
void restore(const Snapshot& snapshot);

}  // namespace hyp::fake
