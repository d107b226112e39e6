// The SMMUv3 in front of PCIe, owned by the hyp (docs/hypervisor.md, "SMMU"): its registers
// are in no stage-2 and in no DTB the host gets; the hyp builds its stream table, context
// descriptors and queues before the host runs. Every stream of bus 0 translates (stage 1,
// QEMU 7.2 has no stage 2) through the host's DMA table, one named stream through a secure
// VM's; the core keeps those tables in step with the stage-2s (hyp/core/pgtable.h, kSmmu).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/types.h"

namespace hyp::arm64 {

// What the SMMU needs in memory: event queue (2048 records), stream table (256 STEs),
// command queue and the context descriptors, in one zeroed range of the hyp carve-out
// aligned to the largest of them.
inline constexpr uint64_t kSmmuMemSize = 96 * 1024;
inline constexpr uint64_t kSmmuMemAlign = 64 * 1024;

// One stage-1 context: the root of the table and the ASID it is tagged with.
struct SmmuContext {
  PhysAddr ttb;
  uint16_t asid = 0;
};

// The enabled node compatible with `compatible` whose registers lie inside the host's IPA
// space and whose ID registers offer what the hyp needs (stage 1, AArch64 4 KiB tables,
// 16-bit ASIDs, 256 streams; logged), or -1. Runs with the EL2 MMU off.
int smmu_find(const void* fdt, const char* compatible);
// Its register window (valid after smmu_find() found one).
MemRange smmu_registers();

// Sets the SMMU smmu_find() found up with `host` for every stream of bus 0 but
// `secure_sid`, which gets `secure` (aborts if `secure` has no table), and enables it.
void smmu_init(MemRange mem, SmmuContext host, SmmuContext secure, uint32_t secure_sid);
bool smmu_enabled();

// Every stream aborts from the return on (STEs without a context, CFGI + TLBI + CMD_SYNC
// waited for): no device reads or writes memory any more. For SYSTEM_OFF/RESET, before the
// secure VM's pages are scrubbed, so a device still running cannot write into them after.
void smmu_abort_all();

// CMD_TLBI_NH_ASID for `asid`, then CMD_SYNC, waited for: afterwards no stream translates
// through what the tables held before. Callers serialise on their VM lock; the queue has its
// own lock.
void smmu_tlb_invalidate_asid(uint16_t asid);

// Drains the event queue and counts the faults in it: a run of records of one kind, stream,
// direction and page is one fault (a transfer the SMMU reported access by access). Logs the
// first 8 of each drain (what, stream, read or write, address, records) and how many more it
// did not print. Returns the total since boot, for STATS.
uint64_t smmu_drain_events();

}  // namespace hyp::arm64
