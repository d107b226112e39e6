// Boot-argument "hypheap.attest": evidence for tests that nothing the host can drive (its CPUs,
// or a device it programs) wrote memory it does not own. The hyp prints CRC-32s of its own
// text and read-only data and of every page lent to a secure VM, once before it first enters
// the host and again when the host asks for SYSTEM_OFF or SYSTEM_RESET. A scenario compares
// the lines (tests/qemu, "boundary"). Off by default: hashing costs boot time under TCG.
#pragma once

namespace hyp::arm64 {

// Turns the reports on (from the DTB's /chosen/bootargs).
void attest_enable();

// Prints "[hyp] attest <when>: image-ro crc32 XXXXXXXX, lent N pages crc32 YYYYYYYY" if on.
void attest(const char* when);

}  // namespace hyp::arm64
