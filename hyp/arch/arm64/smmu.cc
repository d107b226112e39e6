// The hyp's SMMUv3 driver (smmu.h): registers, stream table, context descriptors, command
// and event queues. Field positions: Arm IHI 0070 (SMMUv3), chapters 5 (structures), 4
// (commands), 7 (events) and 6 (registers).
#include "smmu.h"

#include <libfdt.h>

#include "../../boot/fdt_util.h"
#include "core_glue.h"
#include "fatal.h"
#include "log.h"
#include "spinlock.h"

namespace hyp::arm64 {

namespace {

// Registers (page 0 unless said).
constexpr uint64_t kIdr0 = 0x00, kIdr1 = 0x04, kIdr3 = 0x0c, kIdr5 = 0x14, kIidr = 0x18;
constexpr uint64_t kCr0 = 0x20, kCr0Ack = 0x24, kCr1 = 0x28, kCr2 = 0x2c;
constexpr uint64_t kGbpa = 0x44, kGerror = 0x60, kGerrorN = 0x64;
constexpr uint64_t kStrtabBase = 0x80, kStrtabBaseCfg = 0x88;
constexpr uint64_t kCmdqBase = 0x90, kCmdqProd = 0x98, kCmdqCons = 0x9c;
constexpr uint64_t kEventqBase = 0xa0;
constexpr uint64_t kEventqProd = 0x100a8, kEventqCons = 0x100ac;  // page 1

constexpr uint32_t kCr0SmmuEn = 1u << 0, kCr0EventqEn = 1u << 2, kCr0CmdqEn = 1u << 3;
constexpr uint32_t kGbpaUpdate = 1u << 31, kGbpaAbort = 1u << 20;
constexpr uint32_t kGerrorCmdqErr = 1u << 0;
constexpr uint32_t kQueueOverflow = 1u << 31;  // EVENTQ_PROD.OVFLG, EVENTQ_CONS.OVACKFLG

// Memory layout inside kSmmuMemSize.
constexpr unsigned kStreamBits = 8;  // bus 0: every device and function
constexpr uint64_t kSteSize = 64, kCdSize = 64;
// QEMU records a blocked transfer as one event per 4-byte access (a 2 KiB edu transfer is
// 512 records): 2048 records hold a few transfers between two drains.
constexpr unsigned kCmdqBits = 8, kEventqBits = 11;
constexpr uint64_t kCmdSize = 16, kEventSize = 32;
// The SMMU aligns each queue's and the stream table's base down to its own size (queues:
// the larger of that and 32 bytes; IHI 0070 6.3.29, 6.3.24): an unaligned one would have
// it write events over the stream table. Largest first, each at a multiple of its size,
// inside a range aligned to the largest (kSmmuMemAlign).
constexpr uint64_t kEventqBytes = kEventSize << kEventqBits;  // 64 KiB
constexpr uint64_t kStrtabBytes = kSteSize << kStreamBits;    // 16 KiB
constexpr uint64_t kCmdqBytes = kCmdSize << kCmdqBits;        // 4 KiB
constexpr uint64_t kEventqOff = 0;
constexpr uint64_t kStrtabOff = kEventqOff + kEventqBytes;
constexpr uint64_t kCmdqOff = kStrtabOff + kStrtabBytes;
constexpr uint64_t kCdOff = kCmdqOff + kCmdqBytes;
static_assert(kEventqOff % kEventqBytes == 0 && kStrtabOff % kStrtabBytes == 0 &&
              kCmdqOff % kCmdqBytes == 0 && kCdOff % kCdSize == 0);
static_assert(kSmmuMemAlign >= kEventqBytes && kSmmuMemAlign >= kStrtabBytes &&
              kSmmuMemAlign >= kCmdqBytes);
static_assert(kCdOff + 2 * kCdSize <= kSmmuMemSize);

// Commands (opcode in dword 0 bits 7:0).
constexpr uint64_t kCmdCfgiSteRange = 0x04, kCmdTlbiNhAsid = 0x11, kCmdTlbiNsnhAll = 0x30,
                   kCmdSync = 0x46;

// Tables and queues: inner shareable, write-back cacheable (CR1), as the hyp writes them.
constexpr uint32_t kCr1Value = (3u << 10) | (1u << 8) | (1u << 6) | (3u << 4) | (1u << 2) | 1u;
// CR2: record C_BAD_STREAMID events; private TLB maintenance (the SMMU ignores the CPUs'
// broadcast TLBIs, which target the CPUs' stage-2s, not these tables).
constexpr uint32_t kCr2Value = (1u << 1) | (1u << 2);

constexpr uint64_t kPollLimit = 10'000'000;
constexpr unsigned kEventsLoggedPerDrain = 8;

struct Smmu {
  uint64_t base = 0;
  MemRange regs;
  uint64_t* strtab = nullptr;
  uint64_t* cmdq = nullptr;
  const uint64_t* eventq = nullptr;
  uint32_t cmdq_prod = 0;  // index | wrap bit, as CMDQ_PROD holds it
  uint32_t eventq_cons = 0;
  bool enabled = false;
  uint64_t faults = 0;
  SpinLock lock;        // the command queue
  SpinLock event_lock;  // the event queue and faults: a drain's logging never delays a TLBI
};
Smmu g_smmu;

uint32_t read32(uint64_t off) {
  return *reinterpret_cast<volatile uint32_t*>(g_smmu.base + off);
}
void write32(uint64_t off, uint32_t v) {
  *reinterpret_cast<volatile uint32_t*>(g_smmu.base + off) = v;
}
void write64(uint64_t off, uint64_t v) {
  *reinterpret_cast<volatile uint64_t*>(g_smmu.base + off) = v;
}

// The SMMU reads the tables and queues from memory: complete the stores first.
inline void dsb_st() {
  asm volatile("dsb st" ::: "memory");
}
inline void dsb_sy() {
  asm volatile("dsb sy" ::: "memory");
}

bool poll(uint64_t off, uint32_t mask, uint32_t want) {
  for (uint64_t i = 0; i < kPollLimit; ++i) {
    if ((read32(off) & mask) == want) {
      return true;
    }
  }
  return false;
}

bool write_cr0(uint32_t value) {
  write32(kCr0, value);
  return poll(kCr0Ack, ~0u, value);
}

// Queue pointers: index in the low `bits` bits, wrap flag just above.
uint32_t q_next(uint32_t p, unsigned bits) {
  const uint32_t mask = (2u << bits) - 1;
  return (p + 1) & mask;
}

// Caller holds the lock. Writes the commands, rings CMDQ_PROD, waits until the SMMU has
// consumed them all (the last is a CMD_SYNC, whose consumption means the ones before it are
// complete). The queue is empty on entry: every submission waits for its own end.
void submit(const uint64_t (*cmds)[2], size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t slot = g_smmu.cmdq_prod & ((1u << kCmdqBits) - 1);
    g_smmu.cmdq[2 * slot] = cmds[i][0];
    g_smmu.cmdq[2 * slot + 1] = cmds[i][1];
    g_smmu.cmdq_prod = q_next(g_smmu.cmdq_prod, kCmdqBits);
  }
  dsb_st();
  write32(kCmdqProd, g_smmu.cmdq_prod);
  const uint32_t ptr_mask = (2u << kCmdqBits) - 1;
  for (uint64_t i = 0; i < kPollLimit; ++i) {
    const uint32_t cons = read32(kCmdqCons);
    if ((cons & ptr_mask) == g_smmu.cmdq_prod) {
      return;
    }
    // An error is active while GERROR and GERRORN differ in its bit.
    if ((read32(kGerror) ^ read32(kGerrorN)) & kGerrorCmdqErr) {
      // Only the hyp writes commands: a malformed one is the hyp's bug.
      panic("SMMU: command error %u at CMDQ_CONS %x", (cons >> 24) & 0x7f, cons & ptr_mask);
    }
  }
  panic("SMMU: command queue stuck (PROD %x CONS %x)", g_smmu.cmdq_prod, read32(kCmdqCons));
}

void sync_after(uint64_t cmd0, uint64_t cmd1 = 0) {
  const uint64_t cmds[2][2] = {{cmd0, cmd1}, {kCmdSync, 0}};
  submit(cmds, 2);
}

// STE: valid, stage 1 translates, stage 2 bypassed (Config 0b101), one CD (S1CDMax 0);
// CD fetches inner shareable write-back; privileged and unprivileged streams alike
// (STRW NS-EL1). An STE without a context aborts every transaction (Config 0b000).
void write_ste(uint32_t sid, PhysAddr cd) {
  uint64_t* ste = g_smmu.strtab + sid * (kSteSize / 8);
  if (cd.value() == 0) {
    ste[0] = 1;
    return;
  }
  ste[1] = (1ull << 2) | (1ull << 4) | (3ull << 6);
  ste[0] = 1 | (0b101ull << 1) | (cd.value() & 0x000f'ffff'ffff'ffc0ull);
}

// CD: T0SZ 25 (the 39-bit IPA space the core's tables cover, walks from level 1), 4 KiB
// granule, walks inner shareable write-back, TTB1 off, 44-bit output, AArch64, record
// faults (R), abort rather than stall (A), ASID set private to the SMMU (ASET).
void write_cd(uint64_t* cd, const SmmuContext& ctx) {
  cd[1] = ctx.ttb.value() & 0x000f'ffff'ffff'fff0ull;
  cd[3] = 0xff;  // MAIR attribute 0: Normal write-back, the AttrIndx every leaf uses
  cd[0] = 25ull | (0ull << 6) | (1ull << 8) | (1ull << 10) | (3ull << 12) | (1ull << 30) |
          (1ull << 31) | (0b100ull << 32) | (1ull << 41) | (1ull << 45) | (1ull << 46) |
          (1ull << 47) | (uint64_t(ctx.asid) << 48);
}

const char* event_name(uint32_t id) {
  switch (id) {
    case 0x02:
      return "C_BAD_STREAMID";
    case 0x04:
      return "C_BAD_STE";
    case 0x06:
      return "F_STREAM_DISABLED";
    case 0x0a:
      return "C_BAD_CD";
    case 0x0b:
      return "F_WALK_EABT";
    case 0x10:
      return "F_TRANSLATION";
    case 0x11:
      return "F_ADDR_SIZE";
    case 0x12:
      return "F_ACCESS";
    case 0x13:
      return "F_PERMISSION";
    default:
      return "event";
  }
}

}  // namespace

int smmu_find(const void* fdt, const char* compatible) {
  const int node = fdt_node_offset_by_compatible(fdt, -1, compatible);
  MemRange reg;
  if (node < 0 || !boot::fdt::is_enabled(fdt, node) || !boot::fdt::read_reg(fdt, node, 0, &reg) ||
      reg.size < 0x20000 || reg.base.value() >= (1ull << kHostIpaBits) ||
      (reg.base.value() & 0xffff) != 0) {
    return -1;
  }
  g_smmu.regs = boot::make_range(reg.base.value(), 0x20000);
  // Read before the EL2 MMU is on: physical accesses, as Device memory.
  g_smmu.base = reg.base.value();
  const uint32_t idr0 = read32(kIdr0), idr1 = read32(kIdr1), idr3 = read32(kIdr3),
                 idr5 = read32(kIdr5);
  log("SMMUv3 at %lx: IIDR %x IDR0 %x (stage 1 %s, stage 2 %s, %u-level stream table, ASID%s) "
      "IDR1 %x (SIDSIZE %u, SSIDSIZE %u, CMDQS %u, EVENTQS %u) IDR3 %x (RIL %u, BBML %u) IDR5 %x "
      "(OAS %u, 4K %u 16K %u 64K %u)",
      g_smmu.base, read32(kIidr), idr0, (idr0 & 2) ? "yes" : "no", (idr0 & 1) ? "yes" : "no",
      ((idr0 >> 27) & 3) + 1, (idr0 & (1u << 12)) ? "16" : "8", idr1, idr1 & 0x3f,
      (idr1 >> 6) & 0x1f, (idr1 >> 21) & 0x1f, (idr1 >> 16) & 0x1f, idr3, (idr3 >> 10) & 1,
      (idr3 >> 11) & 3, idr5, idr5 & 7, (idr5 >> 4) & 1, (idr5 >> 5) & 1, (idr5 >> 6) & 1);
  const bool aarch64_tables = ((idr0 >> 2) & 3) >= 2;
  // The tables and queues are written through the hyp's write-back cache and never cleaned:
  // an SMMU whose walks do not snoop it (IDR0.COHACC clear) would translate through stale
  // entries, so a lend could leave a page reachable. Such an SMMU is not used.
  const bool coherent = (idr0 & (1u << 4)) != 0;
  if (!coherent) {
    log("SMMU: walks are not coherent with the CPUs' caches (IDR0.COHACC 0): not used, PCIe "
        "stays the hyp's");
    return -1;
  }
  // The DMA tables split and merge blocks without break-before-make, which a device could not
  // survive (core/pgtable.cc): that needs BBML2.
  if (((idr3 >> 11) & 3) != 2) {
    log("SMMU: no BBML2 (IDR3.BBML %u): not used, PCIe stays the hyp's", (idr3 >> 11) & 3);
    return -1;
  }
  if (!(idr0 & 2) || !aarch64_tables || !(idr5 & (1u << 4)) || (idr1 & 0x3f) < kStreamBits ||
      ((idr1 >> 21) & 0x1f) < kCmdqBits || ((idr1 >> 16) & 0x1f) < kEventqBits ||
      !(idr0 & (1u << 12)) || (idr5 & 7) < 1) {
    log("SMMU: lacks stage 1 with AArch64 4 KiB tables, 16-bit ASIDs or %u-bit streams: "
        "not used, PCIe stays the hyp's",
        kStreamBits);
    return -1;
  }
  return node;
}

MemRange smmu_registers() {
  return g_smmu.regs;
}

void smmu_init(MemRange mem, SmmuContext host, SmmuContext secure, uint32_t secure_sid) {
  if (mem.size < kSmmuMemSize || (mem.base.value() & (kSmmuMemAlign - 1)) != 0) {
    panic("SMMU: memory %lx (%lx bytes) too small or misaligned", mem.base.value(), mem.size);
  }
  const uint64_t m = mem.base.value();
  g_smmu.strtab = reinterpret_cast<uint64_t*>(m + kStrtabOff);
  g_smmu.cmdq = reinterpret_cast<uint64_t*>(m + kCmdqOff);
  g_smmu.eventq = reinterpret_cast<const uint64_t*>(m + kEventqOff);
  auto* host_cd = reinterpret_cast<uint64_t*>(m + kCdOff);
  auto* secure_cd = reinterpret_cast<uint64_t*>(m + kCdOff + kCdSize);

  // Nothing gets through while it is disabled (GBPA.ABORT), set before it is disabled in
  // case firmware left it on with bypass as the fallback.
  if (!poll(kGbpa, kGbpaUpdate, 0)) {
    panic("SMMU: GBPA busy");
  }
  write32(kGbpa, kGbpaUpdate | kGbpaAbort);
  if (!poll(kGbpa, kGbpaUpdate, 0)) {
    panic("SMMU: GBPA update not acknowledged");
  }
  if (!write_cr0(0)) {
    panic("SMMU: CR0 not acknowledged");
  }

  write_cd(host_cd, host);
  const bool have_secure = secure.ttb.value() != 0 && secure_sid < (1u << kStreamBits);
  if (have_secure) {
    write_cd(secure_cd, secure);
  }
  for (uint32_t sid = 0; sid < (1u << kStreamBits); ++sid) {
    const bool is_secure = sid == secure_sid;
    write_ste(sid, is_secure ? (have_secure ? PhysAddr(reinterpret_cast<uint64_t>(secure_cd))
                                            : PhysAddr(0))
                             : PhysAddr(reinterpret_cast<uint64_t>(host_cd)));
  }
  dsb_sy();

  write32(kCr1, kCr1Value);
  write32(kCr2, kCr2Value);
  write64(kStrtabBase, (1ull << 62) | (m + kStrtabOff));
  write32(kStrtabBaseCfg, kStreamBits);  // linear (FMT 0), LOG2SIZE
  write64(kCmdqBase, (1ull << 62) | (m + kCmdqOff) | kCmdqBits);
  write32(kCmdqProd, 0);
  write32(kCmdqCons, 0);
  write64(kEventqBase, (1ull << 62) | (m + kEventqOff) | kEventqBits);
  write32(kEventqProd, 0);
  write32(kEventqCons, 0);
  g_smmu.cmdq_prod = 0;
  g_smmu.eventq_cons = 0;
  if (!write_cr0(kCr0CmdqEn | kCr0EventqEn)) {
    panic("SMMU: queues not enabled");
  }
  {
    LockGuard guard(g_smmu.lock);
    // Nothing the SMMU may have cached from before the hyp: configuration and TLB.
    sync_after(kCmdCfgiSteRange, 31);
    sync_after(kCmdTlbiNsnhAll);
  }
  if (!write_cr0(kCr0CmdqEn | kCr0EventqEn | kCr0SmmuEn)) {
    panic("SMMU: not enabled");
  }
  g_smmu.enabled = true;
  log("SMMU: %u streams of bus 0 translate through the host's DMA table (ASID %u)%s",
      1u << kStreamBits, host.asid, have_secure ? "" : "; no secure stream");
  if (have_secure) {
    log("SMMU: stream %x translates through secure VM 10's (ASID %u)", secure_sid, secure.asid);
  }
}

void smmu_abort_all() {
  if (!g_smmu.enabled) {
    return;
  }
  LockGuard guard(g_smmu.lock);
  for (uint32_t sid = 0; sid < (1u << kStreamBits); ++sid) {
    write_ste(sid, PhysAddr(0));
  }
  dsb_sy();
  sync_after(kCmdCfgiSteRange, 31);
  sync_after(kCmdTlbiNsnhAll);
  // Counted from the table the SMMU reads (valid, Config 0b000 = abort), not assumed.
  uint32_t aborting = 0;
  for (uint32_t sid = 0; sid < (1u << kStreamBits); ++sid) {
    aborting += (g_smmu.strtab[sid * (kSteSize / 8)] & 0xf) == 1;
  }
  log("SMMU: every stream aborts from here on (%u of %u STEs abort)", aborting, 1u << kStreamBits);
}

bool smmu_enabled() {
  return g_smmu.enabled;
}

void smmu_tlb_invalidate_asid(uint16_t asid) {
  if (!g_smmu.enabled) {
    return;
  }
  LockGuard guard(g_smmu.lock);
  sync_after(kCmdTlbiNhAsid | (uint64_t(asid) << 48));
}

uint64_t smmu_drain_events() {
  if (!g_smmu.enabled) {
    return 0;
  }
  LockGuard guard(g_smmu.event_lock);
  const uint32_t ptr_mask = (2u << kEventqBits) - 1;
  const uint32_t prod = read32(kEventqProd);
  // The records up to PROD are written before PROD is: read them after it.
  dsb_sy();
  // One fault is a run of records of one kind, stream, direction and page: a device's
  // transfer, which the SMMU may report access by access.
  struct Run {
    uint32_t id = 0, sid = 0;
    bool read = false;
    uint64_t addr = 0, records = 0;
    bool same(uint32_t i, uint32_t s, bool r, uint64_t a) const {
      return records != 0 && i == id && s == sid && r == read && (a >> 12) == (addr >> 12);
    }
  } run;
  unsigned logged = 0;
  uint64_t faults = 0;
  auto end_run = [&] {
    if (run.records == 0) {
      return;
    }
    ++faults;
    if (logged < kEventsLoggedPerDrain) {
      ++logged;
      log("SMMU: %s from stream %x: %s at %lx blocked (%lu records)", event_name(run.id), run.sid,
          run.read ? "read" : "write", run.addr, run.records);
    }
  };
  while (g_smmu.eventq_cons != (prod & ptr_mask)) {
    const uint32_t slot = g_smmu.eventq_cons & ((1u << kEventqBits) - 1);
    const uint64_t* e = g_smmu.eventq + slot * (kEventSize / 8);
    const uint32_t id = e[0] & 0xff, sid = uint32_t(e[0] >> 32);
    const bool read = (e[1] >> 35) & 1;
    if (!run.same(id, sid, read, e[2])) {
      end_run();
      run = Run{id, sid, read, e[2], 0};
    }
    ++run.records;
    g_smmu.eventq_cons = q_next(g_smmu.eventq_cons, kEventqBits);
  }
  end_run();
  // Every record read before the slots are given back.
  dsb_sy();
  uint32_t cons = g_smmu.eventq_cons;
  if ((prod ^ read32(kEventqCons)) & kQueueOverflow) {
    log("SMMU: event queue overflowed: faults were lost before this drain");
    cons |= prod & kQueueOverflow;
  } else {
    cons |= read32(kEventqCons) & kQueueOverflow;
  }
  write32(kEventqCons, cons);
  if (faults > logged) {
    log("SMMU: %lu more faults not printed", faults - logged);
  }
  g_smmu.faults += faults;
  return g_smmu.faults;
}

}  // namespace hyp::arm64
