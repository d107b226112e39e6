// The byte format a hypercall fuzz input is read in, shared by the harness and the seed
// writer so the seeds in corpus/ mean what their names say.
//
//   u8 pool        table pool size: 16 + pool pages (small pools reach NO_MEMORY)
//   then operations until the input ends, each an Op byte and its fields (below).
//
// Addresses and sizes the core compares against each other come in three forms: an area plus
// an index (mutations land on pages whose states interact), an edge (an entry of kEdges, moved
// by a few pages or bytes: the ends of the address space, of RAM and of the carve-outs, where
// a sum wraps or a bound is off by one) and raw (everything else, rarely an edge).
//
// Everything is little-endian; a field past the end of the input reads as zero. Addresses
// are mostly picked as an area plus an index so mutations land on pages whose states
// interact (see RangeKind), with a raw form for everything else.
#pragma once

#include "byte_stream.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace hyp::fuzz {

enum class Op : uint8_t {
  // u8 place, [u8 sel, i8 nudge if place is kEdge], u8 corrupt, [u8 sel, i8 nudge if corrupt
  // has kLengthEdge], u64 srcvm, u8 nr_dests, {u32 vmid, u32 perms} * nr_dests,
  // u8 nr_ranges, {u8 RangeKind, u64 a, u64 b} * nr_ranges. The descriptor is written into
  // host memory at `place` and MEM_ASSIGN is called on it.
  kAssign = 0,
  // u8 index, u8 variant: gives back what an earlier successful assign took (index into
  // the history), with the srcvm it returned. Variant bits spoil it: kWrongOwner,
  // kReducedPerms, kFirstHalf.
  kReclaimPrevious = 1,
  // u64 x0, x1, x2, x3: any SMCCC call, registers as given.
  kSmc = 2,
  // u8 vm (0 secure VM 10, 1 secure VM 11, 2 host, else raw), u64 page, u16 pages,
  // u8 unpin: the secure-VM exit path's pin/unpin, page in the arena.
  kPin = 3,
  // u16 len, bytes[len]: written at the descriptor page, MEM_ASSIGN with u64 x2.
  kRawDescriptor = 4,
  // u8 sel, i8 nudge, u8 pages_sel, i8 pages_nudge, u8 flags: MEM_QUERY at
  // edge(sel, nudge pages) of (kEdges[pages_sel] >> 12) + pages_nudge pages, or with
  // kPagesToTop in flags of exactly the pages up to 2^64 (+ pages_nudge).
  kQueryEdge = 5,
  // u8 cpu, u8 fid (index into kFfaHostFids, past its end 0x84000060 + raw), u8 shape,
  // u64 x1..x5: an FF-A call from the host on that CPU (skipped if the CPU runs the
  // partition). Shape bits make the fields meaningful: kArenaX1/kArenaX2 turn x1/x2 into
  // arena pages (RXTX_MAP buffers), kIdsX1 puts the right ids in w1 (low bit of x1 = vCPU
  // for RUN), kOurUuid the partition's UUID in x1..x4.
  kFfaHost = 6,
  // u8 vcpu, u8 fid (index into kFfaPartitionFids, past its end raw), u8 shape, u64 x1..x3:
  // an FF-A call from that vCPU where it runs or boots (skipped if it does neither).
  kFfaPartition = 7,
  // u8 kind (FfaEvent), u8 vcpu: what the arch reports about a vCPU.
  kFfaEvent = 8,
  // u8 fid (0 HOLD, 1 RELEASE, 2 PIN, 3 UNPIN, 4 ABORT, else raw), u8 caller (odd: secure VM
  // 11), u64 page, u16 pages, u8 need: a secure VM's own call, page in the arena.
  kSvmCall = 9,
  // u8 cpu, u8 kind (bit 0 LEND, bit 1 SMC64), u8 access, u8 attrs (0: 0x2F, 1: 0, else
  // raw), u8 flags, u16 corrupt (FfaCorrupt bits), u8 frag (0: 4 KiB fragments, else that
  // many 16-byte units), u8 nr_ranges (% 9) {u8 RangeKind, u64 a, u64 b} * nr_ranges (the
  // size becomes a page count), u16 scattered (% 1100), u64 base: an FF-A MEM_SHARE/LEND
  // of a v1.0 (or v1.1) descriptor written into TX (mapped first unless kNoAutoMap), its
  // later fragments sent with FRAG_TX while the hyp answers FRAG_RX, then resumed with
  // FFA_MEM_OP_RESUME while it answers FFA_MEM_OP_PAUSE (unless kFcStayPaused). `scattered`
  // adds one page every other page from arena page `base`.
  kFfaMem = 10,
  // u8 which (% 5: 0 RECLAIM, 1 FRAG_TX, 2 SVM_FFA_RETRIEVE, 3 SVM_FFA_RELINQUISH,
  // 4 FFA_MEM_OP_RESUME), u8 index (into the handles the hyp answered; bit 7: the raw u64
  // instead; bit 6: secure VM 11 calls), u64 raw, u32 w3 (RECLAIM's flags, FRAG_TX's length).
  kFfaMemCall = 11,
  // u8 index (into the tokens PREEMPTED answers gave; bit 7: the raw u64 instead), u8 flags
  // (kContinueToEnd, kContinueX2, kContinueCpu1), u64 raw: MEM_CONTINUE (ABI 1.6).
  kContinue = 12,
};
inline constexpr uint8_t kNrOps = 13;

// Bits of kContinue's flags.
inline constexpr uint8_t kContinueToEnd = 1;  // again while it answers PREEMPTED
inline constexpr uint8_t kContinueX2 = 2;     // x2 = 1 (reserved)
inline constexpr uint8_t kContinueCpu1 = 4;   // from CPU 1

// Bits of kFfaMem's corrupt field.
enum FfaCorrupt : uint16_t {
  kFcZeroMbz = 1,         // zero the fields Linux 6.1.0 leaves unwritten (else 0xa5)
  kFcSender = 2,          // sender id 2
  kFcReceiver = 4,        // receiver id 0x800b
  kFcTwoReceivers = 8,    // receiver count 2
  kFcComposite = 16,      // composite offset + 8
  kFcTotalPages = 32,     // composite total pages + 1
  kFcCountLies = 64,      // range count - 1
  kFcLengthLong = 128,    // w1 (total length) + 16
  kFcLengthShort = 256,   // w1 - 16
  kFcFragLies = 512,      // every FRAG_TX announces 16 bytes more than it wrote
  kFcWrongHandle = 1024,  // every FRAG_TX names another handle
  kFcV11 = 2048,          // the v1.1 layout
  kFcBuffer = 4096,       // x3 = a page address (not TX)
  kFcNoAutoMap = 8192,    // do not map the mailbox first
  kFcAbandon = 16384,     // stop after the first fragment
  kFcStayPaused = 32768,  // answered FFA_MEM_OP_PAUSE: leave it paused (kFfaMemCall resumes)
};

// kFfaHost and kFfaPartition fid selectors.
inline constexpr uint32_t kFfaHostFids[] = {
    0x84000063, 0x84000069, 0x84000064, 0xC4000066, 0x84000066, 0x84000067, 0x84000065,
    0x84000068, 0xC400006F, 0x8400006F, 0x8400006D, 0xC4000070, 0x8400006B, 0xC4000072,
};
inline constexpr uint32_t kFfaPartitionFids[] = {
    0x8400006B, 0xC4000070, 0x84000070, 0x84000069, 0x84000063, 0x84000064, 0xC400006F,
};
inline constexpr uint8_t kNrFfaHostFids = sizeof(kFfaHostFids) / sizeof(kFfaHostFids[0]);
inline constexpr uint8_t kNrFfaPartitionFids =
    sizeof(kFfaPartitionFids) / sizeof(kFfaPartitionFids[0]);
// Bits of the shape byte.
inline constexpr uint8_t kArenaX1 = 1, kArenaX2 = 2, kIdsX1 = 4, kOurUuid = 8, kZeroX2 = 16;

enum class FfaEvent : uint8_t {
  kBoot = 0,     // ffa_vcpu_booting (if the vCPU is off)
  kPreempt = 1,  // an interrupt takes the vCPU's CPU back (if it runs)
  kAbort = 2,    // the vCPU faults (if it runs or boots)
};
inline constexpr uint8_t kNrFfaEvents = 3;

// Bits of kQueryEdge's flags.
inline constexpr uint8_t kPagesToTop = 1;

// Where kAssign writes its descriptor.
enum class Place : uint8_t {
  kHostPage = 0,   // the usual descriptor page
  kUnaligned = 1,  // 8 bytes into it: DESC_ALIGN
  kHypMemory = 2,  // inside the hypervisor carve-out: DESC_NOT_HOST
  kArenaPage = 3,  // the first arena page, which other ops may have lent away
  kEdge = 4,       // edge(sel, nudge pages): the top of the address space, the end of RAM...
};
inline constexpr uint8_t kNrPlaces = 5;

// Bits of kAssign's `corrupt` byte.
inline constexpr uint8_t kBadVersion = 1, kNonzeroFlags = 2, kNonzeroReserved = 4, kLengthLong = 8,
                         kLengthShort = 16;
// x2 is edge(sel, nudge bytes) instead of the descriptor's length (corrupt bit).
inline constexpr uint8_t kLengthEdge = 32;
// flags |= HYPHEAP_DESC_F_SCRUB (ABI 1.8; kNonzeroFlags sets a bit no ABI defines).
inline constexpr uint8_t kScrubFlag = 64;

// How a range's (a, b) become (address, size).
enum class RangeKind : uint8_t {
  kArenaPages = 0,  // arena + (a % kArenaPages) pages, (b % 64) pages
  kChunks = 1,      // the 1 GiB bank + (a % 512) * 2 MiB, (b % 17) * 2 MiB
  kBank0Pages = 2,  // bank 0 + (a % its pages) pages, (b % 64) pages: hits carve-outs
  kRaw = 3,         // address a, size b
  // address edge(a, a >> 8 pages); size edge(b, b >> 8 pages), or with bit 16 of b set
  // exactly what reaches 2^64 from the address (+ b >> 8 pages), so that the sum wraps.
  kEdge = 4,
};
inline constexpr uint8_t kNrRangeKinds = 5;

// Bits of kReclaimPrevious's variant.
inline constexpr uint8_t kWrongOwner = 1, kReducedPerms = 2, kFirstHalf = 4;

// The fuzzed machine (fake RAM is 2 GiB at 1 GiB): two adjacent RAM banks so a range can
// straddle them, a hyp carve-out holding the pool, a private carve-out for secure VM 10.
inline constexpr uint64_t k4K = 4096, k2M = 2ULL << 20, k1G = 1ULL << 30;
inline constexpr uint64_t kBank0 = 0x4000'0000, kBank1 = 0x8000'0000;
inline constexpr uint64_t kHypCarveout = kBank0, kHypCarveoutSize = 4 * k2M;
inline constexpr uint64_t kSvmCarveout = kBank0 + 16 * k2M;
inline constexpr uint64_t kDescPage = kBank0 + 24 * k2M;
inline constexpr uint64_t kArena = kBank0 + 32 * k2M;
inline constexpr uint64_t kArenaPages = 2048;  // 8 MiB
inline constexpr uint64_t kMinPoolPages = 16;

// Values at which address and size checks break: the ends of the 64-bit space (where a sum
// wraps), of RAM and its banks, of the carve-outs, and the biggest sizes.
inline constexpr uint64_t kTop = 0 - k4K;  // the last page of the address space
inline constexpr uint64_t kEdges[] = {
    0,
    k4K,
    kTop,  // a descriptor here wrapped MemRange::end()
    kTop - k4K,
    0 - (64ULL << 10),  // top minus HYPHEAP_DESC_MAX_SIZE
    0 - k2M,
    0 - k1G,
    1ULL << 63,
    (1ULL << 63) - k4K,
    1ULL << 52,                       // 2^64 / 4 KiB: page counts whose size wraps
    1ULL << 39,                       // the IPA size of the fuzzed stage-2s
    kBank0,                           // RAM and bank 0 begin
    kBank1,                           // bank 0 ends, bank 1 begins
    kBank1 + k1G,                     // just past the end of RAM
    kBank1 + k1G - k4K,               // the last RAM page
    kHypCarveout + kHypCarveoutSize,  // just past the hyp carve-out
    kSvmCarveout,
    kSvmCarveout + k2M,  // just past the secure VM's carve-out
    kArena,
    64ULL << 10,  // HYPHEAP_DESC_MAX_SIZE
    24,           // a descriptor header alone
    0x0900'0000,  // MMIO, not RAM
};
inline constexpr size_t kNrEdges = sizeof(kEdges) / sizeof(kEdges[0]);

// kEdges[sel] moved by `nudge` units (pages for addresses and sizes, bytes for lengths).
constexpr uint64_t edge(uint8_t sel, int8_t nudge, uint64_t unit) {
  return kEdges[sel % kNrEdges] + uint64_t(int64_t(nudge)) * unit;
}

using Reader = fuzz_io::Reader;

// Builds inputs in the same format (the seed writer and tests use it).
class Writer : public fuzz_io::BasicWriter<Writer> {
 public:
  Writer& op(Op o) { return put(uint8_t(o)); }
};

}  // namespace hyp::fuzz
