// Boot-argument "hypheap.attest": evidence for tests that nothing the host can drive (its CPUs,
// or a device it programs) wrote the memory of the hyp and the secure VMs that does not change
// by itself. The hyp prints CRC-32s of its own text and read-only data, of the secure-VM
// carve-out but the partition's own writable memory (data, bss: it changes by design; its
// code, boot info and the rest of the carve-out do not) and of every page lent to a secure
// VM, once before it first enters the host and again when the host asks for SYSTEM_OFF or
// SYSTEM_RESET. A scenario compares the lines (tests/qemu, "boundary"). What changes by
// design (the hyp's data, stacks and page tables) is not hashed: for those the tests rely on
// the DMA never starting (kernel/hypheap_boundary_test.c). Off by default: hashing costs
// time under TCG.
#pragma once

#include "core/types.h"

namespace hyp::arm64 {

// Turns the reports on (from the DTB's /chosen/bootargs).
void attest_enable(MemRange secure_vm_carveout, MemRange partition_writable);

// Prints "[hyp] attest <when>: image-ro crc32 X, secure-vm crc32 S, lent N pages crc32 Y"
// if on.
void attest(const char* when);

}  // namespace hyp::arm64
