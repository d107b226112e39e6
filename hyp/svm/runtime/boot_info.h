// The contract between the hyp and the secure VM's payload at boot: the image header the hyp
// reads before copying the payload into VM 10's carve-out, and the boot-info block it writes
// at the start of that carve-out. Shared by hyp/arch/arm64 (writer) and hyp/svm/runtime
// (reader); plain data, no pointers (the two sides do not share an address space).
#pragma once

#include <stdint.h>

namespace hyp::svm {

// The payload's first 32 bytes (entry.S): a branch to its entry, then what the hyp needs to
// load it. The payload is position independent: it runs wherever the hyp put it.
struct ImageHeader {
  uint32_t branch;      // b svm_entry: the hyp enters the image at its first byte
  uint32_t magic;       // kImageMagic
  uint64_t image_size;  // bytes from the header to the end of bss (what the carve-out must hold)
  uint64_t file_size;   // bytes the hyp copies (text, rodata, data); the rest is bss, zeroed
  uint64_t rw_offset;   // where its writable part (data, bss: stacks, tables) starts
};
static_assert(sizeof(ImageHeader) == 32);
inline constexpr uint32_t kImageMagic = 0x56534848;  // "HHSV"

// Where the hyp puts things in VM 10's carve-out: the boot info in the first page, the image
// from the second (4 KiB aligned, which the payload's ADRP-based code needs).
inline constexpr uint64_t kBootInfoOffset = 0;
inline constexpr uint64_t kImageOffset = 0x1000;

inline constexpr uint64_t kBootInfoMagic = 0x4f464e4956534848;  // "HHSVINFO"
inline constexpr uint32_t kBootInfoVersion = 2;                 // 2: the carve-out pool
inline constexpr unsigned kBootInfoMaxRam = 4;
// FAULT is offered (HYPHEAP_SVM_F_FAULT): "hypheap.svm_fault_op" on the kernel command line.
inline constexpr uint32_t kBootFlagFaultOp = 1u << 0;
// vCPU 0 faults in its init, before its first FFA_MSG_WAIT: "hypheap.svm_boot_fault_test".
inline constexpr uint32_t kBootFlagFaultAtBoot = 1u << 1;

struct BootRange {
  uint64_t base;
  uint64_t size;
};

struct BootInfo {
  uint64_t magic;  // kBootInfoMagic
  uint32_t version;
  uint32_t nr_vcpus;   // one per physical CPU the hyp runs
  BootRange carveout;  // VM 10's carve-out (IPA == PA): this block, the image, the rest free
  BootRange image;     // where the image lies in it, bss included
  // An IPA the partition's stage-2 never maps (inside the hyp's image): the FAULT op loads it.
  uint64_t fault_ipa;
  uint32_t flags;  // kBootFlag*
  uint32_t ram_count;
  BootRange ram[kBootInfoMaxRam];  // RAM banks: the stage-1 identity-maps them all
  // Its carve-out pool (IPA == PA, in its stage-2 from boot, never the host's): the buffers
  // CARVEOUT_ALLOC hands out (hyp/svm/carveout.h). Size 0: none.
  BootRange pool;
};

// Entry (EL1h, MMU and caches off, DAIF masked): x0 = IPA of the BootInfo, x1 = vCPU index
// (0 first, on the boot CPU; the others when their CPU first starts).

}  // namespace hyp::svm
