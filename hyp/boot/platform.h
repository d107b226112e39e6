// What the hyp learns about the machine from the DTB QEMU hands it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "range.h"
#include "status.h"

namespace hyp::boot {

inline constexpr size_t kMaxRamBanks = 8;
inline constexpr size_t kMaxDtbCpus = 8;
inline constexpr size_t kMaxReserved = 16;

enum class PsciConduit { kNone, kSmc, kHvc };

struct PlatformInfo {
  MemRange dtb;  // the blob itself (base, totalsize)
  MemRange ram[kMaxRamBanks];
  size_t ram_count = 0;
  MemRange initrd;  // empty if /chosen names none
  MemRange uart;    // the console PL011 (stdout-path, else the first PL011)
  MemRange gic_dist;
  MemRange gic_redist;
  PsciConduit psci = PsciConduit::kNone;
  uint64_t cpu_mpidr[kMaxDtbCpus] = {};
  size_t cpu_count = 0;
  // "hypheap.el2_crash_test" on /chosen/bootargs: the hyp faults on purpose
  // once its console is up, to prove the fatal path (tests of the launcher).
  bool el2_crash_test = false;
  // "hypheap.el2_stack_overflow_test": the hyp recurses on its own EL2 stack until it
  // hits the guard page, to prove a stack overflow is reported, not silent corruption.
  bool el2_stack_overflow_test = false;
  // "hypheap.attest": CRC-32s of the hyp image and of lent pages at boot and at power-off
  // (hyp/arch/arm64/attest.h), for the boundary scenario.
  bool attest = false;
  // "hypheap.svm_fault_op": the secure VM offers its FAULT op (HYPHEAP_SVM_F_FAULT), which
  // aborts the partition on purpose (tests).
  bool svm_fault_op = false;
  // "hypheap.svm_boot_fault_test": the secure VM faults in its init, before its first
  // FFA_MSG_WAIT (the hyp must log it ABORTED and boot Linux all the same).
  bool svm_boot_fault_test = false;
  // "hypheap.heap_backends=<heap>:<backend>[,...]": which backend serves which heap
  // (boot::apply_heap_backends()); the value as given, NUL-terminated, empty when absent.
  char heap_backends[96] = {};
  // "hypheap.heap_pools=<heap>:<bytes>[,...]": the heaps that keep freed buffers lent for
  // reuse, and how much (boot::apply_heap_pools()); as given, empty when absent.
  char heap_pools[96] = {};
  // "hypheap.bench_heaps=<backend>[,...]": heaps added for the comparison benchmark
  // (boot::add_bench_heaps()); as given, empty when absent.
  char bench_heaps[48] = {};
  // The options above whose value did not fit, in the order above (each value is left empty,
  // so the option is ignored, never applied cut short); each one is logged.
  static constexpr size_t kMaxOverlong = 3;
  const char* overlong_options[kMaxOverlong] = {};
  size_t overlong_count = 0;
  // /memreserve/ entries and static /reserved-memory regions.
  MemRange reserved[kMaxReserved];
  size_t reserved_count = 0;
};

struct DtbCompatibles {
  const char* uart;
  const char* gic;
};

// Reads everything above from the blob at dtb. Fails if the blob is not a
// valid FDT or has no /memory, no CPUs or no UART.
BootStatus read_platform(const void* dtb, const DtbCompatibles& compat, PlatformInfo* out);

}  // namespace hyp::boot
