// Writes the seed corpus of the hypercall fuzzer (tests/fuzz/corpus/): one file per
// meaningful sequence, named for what it exercises. Usage: hyp_fuzz_seeds <directory>.
// Each rejection class of the ABI has a seed reaching it, so mutations start next to
// every error path rather than having to find the descriptor format first.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_input.h"
#include "hypheap/abi.h"

namespace hyp::fuzz {
namespace {

constexpr uint32_t kSvm0 = HYPHEAP_VMID_SECURE_0, kSvm1 = HYPHEAP_VMID_SECURE_1;
constexpr uint32_t kHost = HYPHEAP_VMID_HOST;
constexpr uint32_t kRw = HYPHEAP_PERM_R | HYPHEAP_PERM_W, kRwx = HYPHEAP_PERM_RWX;
constexpr uint64_t kHostBit = HYPHEAP_VMID_BIT(kHost);

struct D {
  uint32_t vmid, perms;
};
struct R {
  RangeKind kind;
  uint64_t a, b;
};

// An edge value as the input encodes it: an index into kEdges and a signed nudge.
struct E {
  uint8_t sel = 0;
  int8_t nudge = 0;
};
consteval E at(uint64_t value, int8_t nudge = 0) {
  for (size_t i = 0; i < kNrEdges; i++) {
    if (kEdges[i] == value)
      return {uint8_t(i), nudge};
  }
  throw "not an edge value";  // consteval: a compile error
}

struct Seed {
  std::string name;
  Writer w;
  explicit Seed(std::string n, uint8_t pool = 255) : name(std::move(n)) { w.put(pool); }

  Seed& assign(uint64_t srcvm, const std::vector<D>& dests, const std::vector<R>& ranges,
               Place place = Place::kHostPage, uint8_t corrupt = 0, E place_edge = {},
               E length_edge = {}) {
    w.op(Op::kAssign).put(uint8_t(place));
    if (place == Place::kEdge)
      w.put(place_edge.sel).put(place_edge.nudge);
    w.put(corrupt);
    if (corrupt & kLengthEdge)
      w.put(length_edge.sel).put(length_edge.nudge);
    w.put(srcvm).put(uint8_t(dests.size()));
    for (const D& d : dests)
      w.put(d.vmid).put(d.perms);
    w.put(uint8_t(ranges.size()));
    for (const R& r : ranges)
      w.put(uint8_t(r.kind)).put(r.a).put(r.b);
    return *this;
  }
  Seed& lend(const std::vector<R>& ranges, uint32_t to = kSvm0) {
    return assign(kHostBit, {{to, kRw}}, ranges);
  }
  // MEM_CONTINUE of the index-th token the harness holds (bit 7 of index: `raw` instead).
  Seed& continue_op(uint8_t index, uint8_t flags = kContinueToEnd, uint64_t raw = 0) {
    w.op(Op::kContinue).put(index).put(flags).put(raw);
    return *this;
  }
  Seed& reclaim_previous(uint8_t index, uint8_t variant = 0) {
    w.op(Op::kReclaimPrevious).put(index).put(variant);
    return *this;
  }
  Seed& smc(uint64_t x0, uint64_t x1 = 0, uint64_t x2 = 0, uint64_t x3 = 0) {
    w.op(Op::kSmc).put(x0).put(x1).put(x2).put(x3);
    return *this;
  }
  Seed& query_edge(E at, E pages, uint8_t flags = 0) {
    w.op(Op::kQueryEdge).put(at.sel).put(at.nudge).put(pages.sel).put(pages.nudge).put(flags);
    return *this;
  }
  Seed& pin(uint8_t vm, uint64_t page, uint16_t pages, bool unpin = false) {
    w.op(Op::kPin).put(vm).put(page).put(pages).put(uint8_t(unpin));
    return *this;
  }
  // An FF-A call from the host on `cpu`; `fid` must be one of kFfaHostFids.
  Seed& ffa(uint8_t cpu, uint32_t fid, uint8_t shape = 0, uint64_t x1 = 0, uint64_t x2 = 0,
            uint64_t x3 = 0, uint64_t x4 = 0, uint64_t x5 = 0) {
    w.op(Op::kFfaHost).put(cpu).put(index_of(kFfaHostFids, fid)).put(shape);
    w.put(x1).put(x2).put(x3).put(x4).put(x5);
    return *this;
  }
  // An FF-A call from partition vCPU `vcpu`; `fid` must be one of kFfaPartitionFids.
  Seed& svm_ffa(uint8_t vcpu, uint32_t fid, uint8_t shape = 0, uint64_t x1 = 0, uint64_t x2 = 0,
                uint64_t x3 = 0) {
    w.op(Op::kFfaPartition).put(vcpu).put(index_of(kFfaPartitionFids, fid)).put(shape);
    w.put(x1).put(x2).put(x3);
    return *this;
  }
  Seed& event(FfaEvent kind, uint8_t vcpu) {
    w.op(Op::kFfaEvent).put(uint8_t(kind)).put(vcpu);
    return *this;
  }
  // sel: 0 HOLD, 1 RELEASE, 2 PIN, 3 UNPIN, 4 ABORT.
  Seed& svm_call(uint8_t sel, uint64_t page, uint16_t pages, uint8_t need = 0, uint8_t caller = 0) {
    w.op(Op::kSvmCall).put(sel).put(caller).put(page).put(pages).put(need);
    return *this;
  }
  // FF-A MEM_SHARE/LEND (kind bit 0 LEND, bit 1 SMC64) of arena ranges plus `scattered`
  // single pages every other page from arena page `base`.
  Seed& ffa_mem(uint8_t kind, const std::vector<R>& ranges, uint16_t corrupt = 0,
                uint16_t scattered = 0, uint64_t base = 0, uint8_t access = 2,
                uint8_t attrs_sel = 0, uint8_t flags = 0, uint8_t frag = 0, uint8_t cpu = 0) {
    w.op(Op::kFfaMem).put(cpu).put(kind).put(access).put(attrs_sel).put(flags).put(corrupt);
    w.put(frag).put(uint8_t(ranges.size()));
    for (const R& r : ranges)
      w.put(uint8_t(r.kind)).put(r.a).put(r.b);
    w.put(scattered).put(base);
    return *this;
  }
  // which: 0 RECLAIM, 1 FRAG_TX, 2 SVM_FFA_RETRIEVE, 3 SVM_FFA_RELINQUISH, 4 MEM_OP_RESUME.
  Seed& ffa_mem_call(uint8_t which, uint8_t index, uint32_t w3 = 0, uint64_t raw = 0) {
    w.op(Op::kFfaMemCall).put(which).put(index).put(raw).put(w3);
    return *this;
  }
  // vCPU `vcpu` boots to FFA_MSG_WAIT.
  Seed& boot(uint8_t vcpu) { return event(FfaEvent::kBoot, vcpu).svm_ffa(vcpu, kMsgWait); }

  template <size_t N>
  static uint8_t index_of(const uint32_t (&table)[N], uint32_t fid) {
    for (size_t i = 0; i < N; i++) {
      if (table[i] == fid)
        return uint8_t(i);
    }
    std::fprintf(stderr, "make_seeds: fid 0x%x not in its table\n", fid);
    std::exit(1);
  }
  static constexpr uint32_t kMsgWait = 0x8400006B;
};

// FF-A ids (hyp/core/ffa_abi.h is the hyp's; the seeds need only these).
constexpr uint32_t kVersion = 0x84000063, kIdGet = 0x84000069, kFeatures = 0x84000064;
constexpr uint32_t kMap64 = 0xC4000066, kMap32 = 0x84000066, kUnmap = 0x84000067;
constexpr uint32_t kRxRelease = 0x84000065, kInfo = 0x84000068, kRun = 0x8400006D;
constexpr uint32_t kReq64 = 0xC400006F, kReq32 = 0x8400006F;
constexpr uint32_t kResp64 = 0xC4000070, kResp32 = 0x84000070, kMsgWait = 0x8400006B;
constexpr uint32_t kMemLend64 = 0xC4000072;
constexpr uint8_t kMailbox = kArenaX1 | kArenaX2;  // shape: TX and RX in the arena
constexpr uint8_t kReq = kIdsX1 | kZeroX2;         // shape: well-formed ids, w2 = 0

R pages(uint64_t first, uint64_t n) {
  return {RangeKind::kArenaPages, first, n};
}
R chunks(uint64_t first, uint64_t n) {
  return {RangeKind::kChunks, first, n};
}
R raw(uint64_t addr, uint64_t size) {
  return {RangeKind::kRaw, addr, size};
}
// edge(addr) of size edge(size), both nudged in pages.
R edges(E addr, E size) {
  return {RangeKind::kEdge, uint64_t(addr.sel) | uint64_t(uint8_t(addr.nudge)) << 8,
          uint64_t(size.sel) | uint64_t(uint8_t(size.nudge)) << 8};
}
// edge(addr) of whatever reaches 2^64 from it, nudged by `pages` pages.
R to_top(E addr, int8_t pages) {
  return {RangeKind::kEdge, uint64_t(addr.sel) | uint64_t(uint8_t(addr.nudge)) << 8,
          uint64_t(uint8_t(pages)) << 8 | 1 << 16};
}

std::vector<Seed> seeds() {
  std::vector<Seed> s;
  // What the heap does.
  s.emplace_back("lend_reclaim_pages").lend({pages(0, 4)}).reclaim_previous(0);
  {
    std::vector<R> sixteen;
    for (uint64_t i = 0; i < 16; i++)
      sixteen.push_back(chunks(2 * i, 1));
    // 16 pieces each way (ABI 1.6): the heap's wrapper continues them to the end.
    s.emplace_back("lend_reclaim_2m_chunks")
        .lend(sixteen)
        .continue_op(0)
        .reclaim_previous(0)
        .continue_op(0, kContinueToEnd | kContinueCpu1);
    std::vector<R> scattered;
    for (uint64_t i = 0; i < 64; i++)
      scattered.push_back(pages(2 * i, 1));
    s.emplace_back("lend_reclaim_scattered_pages").lend(scattered, kSvm1).reclaim_previous(0);
  }
  s.emplace_back("share_reclaim")
      .assign(kHostBit, {{kHost, kRwx}, {kSvm0, HYPHEAP_PERM_R}}, {pages(10, 8)})
      .reclaim_previous(0);
  s.emplace_back("share_read_only_host")
      .assign(kHostBit, {{kHost, HYPHEAP_PERM_R}, {kSvm1, kRw}}, {pages(3, 1)})
      .reclaim_previous(0);
  s.emplace_back("lend_pin_busy_unpin_reclaim")
      .lend({pages(0, 4)})
      .pin(0, 1, 1)
      .reclaim_previous(0)
      .pin(0, 1, 1, true)
      .reclaim_previous(0);
  // A heap pool's reuse (ABI 1.8): the scrub of a lend in place, BUSY while a page is
  // pinned, PERMS when the perms are not the lend's, then the reclaim.
  {
    const uint64_t svm0_bit = HYPHEAP_VMID_BIT(kSvm0);
    s.emplace_back("lend_scrub_in_place_busy_perms_reclaim")
        .lend({pages(0, 4)})
        .assign(svm0_bit, {{kSvm0, kRw}}, {pages(0, 4)})  // no flag: DEST_SET
        .assign(svm0_bit, {{kSvm0, kRw}}, {pages(0, 4)}, Place::kHostPage, kScrubFlag)
        .pin(0, 1, 1)
        .assign(svm0_bit, {{kSvm0, kRw}}, {pages(0, 4)}, Place::kHostPage, kScrubFlag)
        .pin(0, 1, 1, true)
        .assign(svm0_bit, {{kSvm0, HYPHEAP_PERM_R}}, {pages(0, 4)}, Place::kHostPage, kScrubFlag)
        .assign(svm0_bit, {{kSvm0, kRw}}, {pages(2, 4)}, Place::kHostPage, kScrubFlag)
        .reclaim_previous(0);
    // chunks(a, n) is n % 5 blocks of 2 MiB: four runs of 8 MiB make the 32 MiB.
    const std::vector<R> m32{chunks(0, 4), chunks(4, 4), chunks(8, 4), chunks(12, 4)};
    s.emplace_back("pending_scrub_in_place_32m_piece_by_piece")
        .lend(m32)
        .continue_op(0)
        .assign(svm0_bit, {{kSvm0, kRw}}, m32, Place::kHostPage, kScrubFlag)
        .pin(0, 0, 1)
        .continue_op(0)
        .reclaim_previous(0)
        .continue_op(0);
  }
  s.emplace_back("share_pin_busy")
      .assign(kHostBit, {{kHost, kRwx}, {kSvm0, kRw}}, {pages(0, 2)})
      .pin(0, 0, 2)
      .reclaim_previous(0);
  s.emplace_back("pin_errors")
      .pin(0, 0, 1)
      .pin(2, 0, 1)
      .pin(0, 0, 0)
      .lend({pages(0, 1)})
      .pin(0, 0, 1, true);
  s.emplace_back("reclaim_wrong_owner").lend({pages(0, 1)}).reclaim_previous(0, kWrongOwner);
  s.emplace_back("reclaim_reduced_perms").lend({pages(0, 1)}).reclaim_previous(0, kReducedPerms);
  s.emplace_back("reclaim_half_then_all_is_state")
      .lend({pages(0, 1), pages(8, 1), pages(16, 1), pages(24, 1)})
      .reclaim_previous(0, kFirstHalf)
      .reclaim_previous(0);

  // Each rejection class of the ABI.
  const std::vector<D> to_svm0{{kSvm0, kRw}};
  s.emplace_back("reject_bad_version")
      .assign(kHostBit, to_svm0, {pages(0, 1)}, Place::kHostPage, kBadVersion);
  s.emplace_back("reject_nonzero_flags")
      .assign(kHostBit, to_svm0, {pages(0, 1)}, Place::kHostPage, kNonzeroFlags);
  s.emplace_back("reject_nonzero_reserved")
      .assign(kHostBit, to_svm0, {pages(0, 1)}, Place::kHostPage, kNonzeroReserved);
  s.emplace_back("reject_length_long")
      .assign(kHostBit, to_svm0, {pages(0, 1)}, Place::kHostPage, kLengthLong);
  s.emplace_back("reject_length_short")
      .assign(kHostBit, to_svm0, {pages(0, 1)}, Place::kHostPage, kLengthShort);
  s.emplace_back("reject_no_ranges").assign(kHostBit, to_svm0, {});
  s.emplace_back("reject_desc_unaligned")
      .assign(kHostBit, to_svm0, {pages(0, 1)}, Place::kUnaligned);
  s.emplace_back("reject_desc_in_hyp_memory")
      .assign(kHostBit, to_svm0, {pages(0, 1)}, Place::kHypMemory);
  s.emplace_back("reject_desc_in_lent_page")
      .lend({pages(0, 1)})
      .assign(kHostBit, to_svm0, {pages(5, 1)}, Place::kArenaPage);
  s.emplace_back("reject_range_unaligned").lend({raw(kArena + 512, k4K)});
  s.emplace_back("reject_range_zero_size").lend({pages(0, 0)});
  s.emplace_back("reject_range_overflows").lend({raw(kArena, ~0ULL - kArena + 1)});
  s.emplace_back("reject_range_outside_ram").lend({raw(0x0900'0000, k4K)});
  s.emplace_back("reject_range_straddles_banks").lend({raw(kBank1 - k4K, 2 * k4K)});
  s.emplace_back("reject_range_in_carveout")
      .lend({{RangeKind::kBank0Pages, (kSvmCarveout - kBank0) / k4K, 1}});
  s.emplace_back("reject_range_in_hyp_memory").lend({{RangeKind::kBank0Pages, 2, 1}});
  s.emplace_back("reject_overlap").lend({pages(0, 2), pages(1, 2)});
  s.emplace_back("reject_state_already_lent").lend({pages(0, 1)}).lend({pages(0, 1)}, kSvm1);
  s.emplace_back("reject_unknown_vmid").assign(kHostBit, {{12, kRw}}, {pages(0, 1)});
  s.emplace_back("reject_unknown_srcvm_bit")
      .assign(kHostBit | HYPHEAP_VMID_BIT(40), to_svm0, {pages(0, 1)});
  s.emplace_back("reject_perms_zero").assign(kHostBit, {{kSvm0, 0}}, {pages(0, 1)});
  s.emplace_back("reject_perms_unknown_bits").assign(kHostBit, {{kSvm0, 8 | kRw}}, {pages(0, 1)});
  s.emplace_back("reject_two_secure_vms")
      .assign(kHostBit, {{kSvm0, kRw}, {kSvm1, kRw}}, {pages(0, 1)});
  s.emplace_back("reject_no_destination").assign(kHostBit, {}, {pages(0, 1)});
  s.emplace_back("reject_empty_srcvm").assign(0, to_svm0, {pages(0, 1)});
  s.emplace_back("reject_host_to_host").assign(kHostBit, {{kHost, kRwx}}, {pages(0, 1)});
  {
    std::vector<R> spread;
    for (uint64_t i = 0; i < 16; i++)
      spread.push_back(raw(kBank1 + 3 * i * k2M + k4K, k4K));
    s.emplace_back("reject_no_memory", 0).lend(spread);
  }
  // The edges of the address space, of RAM and of the carve-outs (a descriptor at the top
  // page once wrapped MemRange::end() past every bounds check and faulted the hypervisor).
  constexpr E kOnePage = at(k4K);
  s.emplace_back("edge_desc_at_top_of_address_space")
      .assign(kHostBit, to_svm0, {pages(0, 1)}, Place::kEdge, 0, at(kTop));
  s.emplace_back("edge_desc_top_minus_max_size_length_max")
      .assign(kHostBit, to_svm0, {pages(0, 1)}, Place::kEdge, kLengthEdge, at(0 - (64ULL << 10)),
              at(64ULL << 10));
  s.emplace_back("edge_desc_at_2_63")
      .assign(kHostBit, to_svm0, {pages(0, 1)}, Place::kEdge, 0, at(1ULL << 63));
  s.emplace_back("edge_desc_past_end_of_ram")
      .assign(kHostBit, to_svm0, {pages(0, 1)}, Place::kEdge, 0, at(kBank1 + k1G));
  s.emplace_back("edge_desc_last_ram_page_lend_reclaim")
      .assign(kHostBit, to_svm0, {pages(0, 1)}, Place::kEdge, 0, at(kBank1 + k1G - k4K))
      .reclaim_previous(0);
  s.emplace_back("edge_desc_crosses_end_of_ram")
      .assign(kHostBit, to_svm0, {pages(0, 1)}, Place::kEdge, kLengthEdge, at(kBank1 + k1G - k4K),
              at(k4K, 24));
  s.emplace_back("edge_desc_length_near_2_64")
      .assign(kHostBit, to_svm0, {pages(0, 1)}, Place::kHostPage, kLengthEdge, {}, at(kTop));
  s.emplace_back("edge_range_top_page").lend({edges(at(kTop), kOnePage)});
  s.emplace_back("edge_range_wraps_to_zero").lend({to_top(at(kBank1 + k1G - k4K), 0)});
  s.emplace_back("edge_range_wraps_past_zero").lend({to_top(at(kArena), 1)});
  s.emplace_back("edge_range_size_2_63").lend({edges(at(kArena), at(1ULL << 63))});
  s.emplace_back("edge_range_size_near_2_64").lend({edges(at(kBank0), at(kTop))});
  s.emplace_back("edge_range_last_ram_page_lend_reclaim")
      .lend({edges(at(kBank1 + k1G - k4K), kOnePage)})
      .reclaim_previous(0);
  s.emplace_back("edge_range_past_end_of_ram").lend({edges(at(kBank1 + k1G - k4K), at(k4K, 1))});
  s.emplace_back("edge_range_hyp_carveout_edges")
      .lend({edges(at(kHypCarveout + kHypCarveoutSize, -1), kOnePage)})
      .lend({edges(at(kHypCarveout + kHypCarveoutSize), kOnePage)});
  s.emplace_back("edge_range_svm_carveout_edges")
      .lend({edges(at(kSvmCarveout, -1), at(k4K, 1))})
      .lend({edges(at(kSvmCarveout + k2M), kOnePage)});
  s.emplace_back("edge_query")
      .query_edge(at(kTop), at(k4K))
      .query_edge(at(kBank1 + k1G - k4K), at(k4K))
      .query_edge(at(kBank1 + k1G - k4K), at(k4K, 1))
      .query_edge(at(k4K), at(0), kPagesToTop)
      .query_edge(at(k4K), at(0, -1), kPagesToTop)
      .query_edge(at(kBank0), at(1ULL << 52))
      .query_edge(at(1ULL << 63), at(1ULL << 63));
  // The other calls.
  s.emplace_back("query_stats_uid_revision")
      .lend({pages(2, 3)})
      .smc(HYPHEAP_FN_MEM_QUERY, kArena, 16)
      .smc(HYPHEAP_FN_MEM_QUERY, kArena + 2 * k4K, 16)
      .smc(HYPHEAP_FN_STATS, HYPHEAP_STAT_PAGES_LENT)
      .smc(HYPHEAP_FN_STATS, HYPHEAP_STAT_COUNT)
      .smc(HYPHEAP_FN_VENDOR_HYP_UID)
      .smc(HYPHEAP_FN_VENDOR_HYP_REVISION)
      .smc(0xC6000042);
  // FF-A: discovery, the mailbox, direct messages, preemption, abort; the secure VM's calls.
  s.emplace_back("ffa_version_id_features")
      .ffa(0, kVersion, 0, 0x10000)
      .ffa(0, kVersion, 0, 0x80010000)
      .ffa(1, kIdGet)
      .ffa(0, kFeatures, 0, kReq64)
      .ffa(0, kFeatures, 0, kMemLend64)
      .ffa(0, kFeatures, 0, 1)
      .ffa(0, kMemLend64);
  s.emplace_back("ffa_linux_probe")
      .ffa(0, kVersion, 0, 0x10000)
      .ffa(0, kIdGet)
      .ffa(0, kMap64, kMailbox, 100, 101, 1)
      .ffa(0, kInfo, 0, 0, 0, 0, 0, 1)
      .ffa(0, kRxRelease)
      .ffa(0, kInfo)
      .ffa(0, kRxRelease)
      .ffa(0, kFeatures, 0, kMemLend64)
      .ffa(0, kInfo, kOurUuid)
      .ffa(0, kRxRelease)
      .ffa(0, kUnmap, 0, uint64_t(HYPHEAP_FFA_ID_HOST) << 16);
  s.emplace_back("ffa_info_v11_busy_until_release")
      .ffa(0, kVersion, 0, 0x10001)
      .ffa(0, kMap32, kMailbox, 7, 3, 1)
      .ffa(0, kInfo, kOurUuid)
      .ffa(1, kInfo)
      .ffa(1, kRxRelease)
      .ffa(1, kRxRelease)
      .ffa(0, kInfo, 0, 1, 2, 3, 4)
      .ffa(0, kInfo, 0, 0, 0, 0, 0, 2);
  s.emplace_back("ffa_rxtx_errors_and_mailbox_not_lendable")
      .ffa(0, kUnmap)
      .ffa(0, kMap64, kMailbox, 5, 5, 1)
      .ffa(0, kMap64, kArenaX2, kArena + 8, 5, 1)
      .ffa(0, kMap64, kMailbox, 5, 6, 2)
      .ffa(0, kInfo)
      .lend({pages(9, 1)})
      .ffa(0, kMap64, kMailbox, 9, 10, 1)
      .ffa(0, kMap64, kMailbox, 5, 6, 1)
      .ffa(0, kMap64, kMailbox, 7, 8, 1)
      .lend({pages(5, 2)})
      .assign(kHostBit, {{kHost, kRwx}, {kSvm0, HYPHEAP_PERM_R}}, {pages(6, 1)})
      .ffa(0, kUnmap, 0, 0x800a0000)
      .ffa(0, kUnmap)
      .lend({pages(5, 2)});
  s.emplace_back("ffa_request_response_both_widths")
      .boot(0)
      .ffa(0, kReq64, kReq, 0, 0, 1, 2, 3)
      .svm_ffa(0, kIdGet)
      .svm_ffa(0, kResp64, kReq, 0, 0, 42)
      .ffa(0, kReq32, kReq, 0, 0, ~0ULL)
      .svm_ffa(0, kResp32, kReq, 0, 0, ~0ULL);
  s.emplace_back("ffa_preempt_run_from_the_other_cpu")
      .boot(0)
      .boot(1)
      .ffa(0, kReq64, kReq)
      .event(FfaEvent::kPreempt, 0)
      .ffa(1, kRun, kIdsX1, 0)
      .ffa(0, kRun, kIdsX1, 0)
      .ffa(0, kReq64, kReq)
      .svm_ffa(0, kResp64, kReq)
      .ffa(1, kReq32, kReq)
      .svm_ffa(1, kResp32, kReq);
  // The OP-TEE endpoint as Linux's optee driver reaches it: found by its UUID, SMC32
  // requests answered from 0x810a; then what it refuses (SMC64, an answer from 0x800a).
  s.emplace_back("ffa_optee_endpoint")
      .boot(0)
      .ffa(0, kMap64, kMailbox, 100, 101, 1)
      .ffa(0, kInfo, 0, HYPHEAP_OPTEE_UUID_0, HYPHEAP_OPTEE_UUID_1, HYPHEAP_OPTEE_UUID_2,
           HYPHEAP_OPTEE_UUID_3)
      .ffa(0, kRxRelease)
      .ffa(0, kInfo)
      .ffa(0, kRxRelease)
      .ffa(0, kReq64, kZeroX2, 0x0001810a)
      .ffa(0, kReq32, kZeroX2, 0x0001810a, 0, 0)
      .svm_ffa(0, kResp32, kZeroX2, 0x800a0001)
      .svm_ffa(0, kResp64, kZeroX2, 0x810a0001)
      .svm_ffa(0, kResp32, kZeroX2, 0x810a0001, 0, 1)
      .ffa(0, kReq32, kZeroX2, 0x0001810a, 0, 0x80000000u)
      .event(FfaEvent::kPreempt, 0)
      .ffa(0, kRun, kIdsX1, 0)
      .svm_ffa(0, kResp32, kZeroX2, 0x810a0001);
  s.emplace_back("ffa_direct_errors")
      .ffa(0, kReq64, kReq)
      .event(FfaEvent::kBoot, 0)
      .ffa(0, kReq64, kReq)
      .svm_ffa(0, kResp64, kReq)
      .svm_ffa(0, kMsgWait)
      .ffa(0, kReq64, kZeroX2, 0x0001800b)
      .ffa(0, kReq64, kIdsX1, 0, 1)
      .ffa(0, kRun, kIdsX1, 0)
      .ffa(0, kRun, 0, 0x800a0009)
      .ffa(0, kReq32, kReq)
      .svm_ffa(0, kResp64, kReq)
      .svm_ffa(0, kResp32, kIdsX1, 0, 5)
      .svm_ffa(0, kMsgWait)
      .svm_ffa(0, kReq64, kReq)
      .svm_ffa(0, kResp32, kReq);
  s.emplace_back("ffa_abort_drops_marks_then_reclaim")
      .lend({pages(0, 4)})
      .boot(0)
      .boot(1)
      .ffa(0, kReq64, kReq)
      .ffa(1, kReq64, kReq)
      .svm_call(0, 0, 2, HYPHEAP_SVM_NEED_R | HYPHEAP_SVM_NEED_EXCLUSIVE)
      .svm_call(2, 2, 2)
      .reclaim_previous(0)
      .event(FfaEvent::kAbort, 0)
      .svm_call(0, 0, 1, HYPHEAP_SVM_NEED_R)
      .svm_ffa(1, kResp64, kReq)
      .reclaim_previous(0)
      .ffa(0, kReq64, kReq)
      .ffa(1, kRun, kIdsX1, 1);
  s.emplace_back("ffa_abort_while_booting_and_preempted")
      .boot(1)
      .ffa(1, kReq64, kReq)
      .event(FfaEvent::kPreempt, 1)
      .event(FfaEvent::kBoot, 0)
      .event(FfaEvent::kAbort, 0)
      .ffa(0, kRun, kIdsX1, 1);
  s.emplace_back("svm_hold_release_pin_errors")
      .lend({pages(0, 2)})
      .assign(kHostBit, {{kHost, kRwx}, {kSvm0, HYPHEAP_PERM_R}}, {pages(4, 1)})
      .svm_call(0, 0, 3, HYPHEAP_SVM_NEED_R)
      .svm_call(0, 1ULL << 62 | 2, 1, HYPHEAP_SVM_NEED_R)  // the carve-out's first page
      .svm_call(0, 4, 1, HYPHEAP_SVM_NEED_EXCLUSIVE)
      .svm_call(0, 4, 1, HYPHEAP_SVM_NEED_W)
      .svm_call(0, 0, 1, HYPHEAP_SVM_NEED_SHARED)
      .svm_call(0, 0, 1, 0x30)
      .svm_call(0, 0, 0, 0)
      .svm_call(0, 0, 2, HYPHEAP_SVM_NEED_R | HYPHEAP_SVM_NEED_W)
      .svm_call(0, 0, 1, 0)
      .svm_call(1, 4, 1)
      .svm_call(1, 0, 2)
      .svm_call(2, 4, 1)
      .svm_call(3, 0, 1)
      .svm_call(3, 4, 1)
      .svm_call(4, 0, 1)
      .svm_call(0, 0, 1, 0, 1)
      .reclaim_previous(1);
  // FF-A memory (ffa_memory.cc). Kinds: 0 SHARE_32, 1 LEND_32, 2 SHARE_64, 3 LEND_64.
  s.emplace_back("ffa_mem_share_as_linux61_then_reclaim")
      .ffa_mem(2, {pages(0, 1)})
      .ffa_mem_call(0, 0)
      .ffa_mem_call(0, 0);  // twice: INVALID_PARAMETERS
  s.emplace_back("ffa_mem_lend_attrs0_clear_32bit_reclaim_scrubs")
      .ffa_mem(1, {pages(8, 16)}, 0, 0, 0, 2, 1, 1)
      .ffa_mem(3, {pages(40, 2), pages(30, 3)}, kFcZeroMbz, 0, 0, 1)
      .ffa_mem_call(0, 0, 1)
      .ffa_mem_call(0, 1);
  s.emplace_back("ffa_mem_fragmented_252_then_256").ffa_mem(3, {}, 0, 508, 100).ffa_mem_call(0, 0);
  s.emplace_back("ffa_mem_fragments_that_lie")
      .ffa_mem(2, {}, kFcFragLies, 300, 0)
      .ffa_mem(2, {}, kFcWrongHandle, 300, 0)
      .ffa_mem_call(1, 1, 768)  // the right handle and length (TX still holds fragment 1)
      .ffa_mem(2, {}, kFcLengthShort, 300, 1000)
      .ffa_mem(3, {}, kFcLengthLong, 300, 1000)
      .ffa_mem(3, {}, 0, 300, 1000, 2, 0, 0, 16);  // 256-byte fragments
  s.emplace_back("ffa_mem_header_refusals")
      .ffa_mem(2, {pages(0, 1)}, kFcSender)
      .ffa_mem(2, {pages(0, 1)}, kFcReceiver)
      .ffa_mem(2, {pages(0, 1)}, kFcTwoReceivers)
      .ffa_mem(2, {pages(0, 1)}, kFcComposite)
      .ffa_mem(2, {pages(0, 1)}, kFcTotalPages)
      .ffa_mem(2, {pages(0, 1)}, kFcCountLies)
      .ffa_mem(2, {pages(0, 1)}, kFcBuffer)
      .ffa_mem(2, {pages(0, 1)}, kFcV11)
      .ffa_mem(2, {pages(0, 1)}, 0, 0, 0, 0)
      .ffa_mem(3, {pages(0, 1)}, 0, 0, 0, 2 | 2 << 2)
      .ffa_mem(3, {pages(0, 1)}, 0, 0, 0, 2, 0x10)
      .ffa_mem(2, {pages(0, 1)}, 0, 0, 0, 2, 1)
      .ffa_mem(2, {pages(0, 1)}, 0, 0, 0, 2, 0, 1)
      .ffa_mem(3, {pages(0, 1)}, 0, 0, 0, 2, 0, 2)
      .ffa_mem(3, {pages(0, 1)}, kFcNoAutoMap);
  s.emplace_back("ffa_mem_constituent_refusals")
      .ffa_mem(3, {pages(0, 0)})
      .ffa_mem(3, {pages(0, 2), pages(1, 1)})
      .ffa_mem(3, {{RangeKind::kBank0Pages, 8192, 1}})  // the secure VM's carve-out
      .ffa_mem(3, {{RangeKind::kRaw, 0x0900'0000, k4K}})
      .ffa_mem(3, {{RangeKind::kRaw, kArena + 8, k4K}})
      .ffa_mem(3, {{RangeKind::kEdge, 2, 2 << 8}});  // the top pages: wraps
  s.emplace_back("ffa_mem_and_mem_assign_refuse_each_other")
      .lend({pages(0, 4)})
      .ffa_mem(3, {pages(2, 1)})
      .ffa_mem(2, {pages(10, 2)})
      .lend({pages(10, 1)})
      .reclaim_previous(0)
      .ffa_mem(3, {pages(2, 1)})
      .ffa_mem_call(0, 0)
      .ffa_mem_call(0, 1);
  s.emplace_back("ffa_mem_reclaim_busy_then_denied_until_relinquish")
      .boot(0)
      .ffa_mem(3, {pages(0, 2)})
      .pin(0, 0, 1)
      .ffa_mem_call(0, 0)
      .pin(0, 0, 1, true)
      .ffa_mem_call(2, 0x40)  // secure VM 11: not the borrower
      .ffa_mem_call(2, 0)
      .ffa_mem_call(2, 0)
      .ffa_mem_call(0, 0)
      .ffa_mem_call(3, 0)
      .ffa_mem_call(0, 0)
      .ffa_mem_call(3, 0);
  s.emplace_back("ffa_mem_abort_releases_a_retrieved_lend")
      .boot(0)
      .ffa_mem(3, {pages(0, 2)})
      .ffa_mem_call(2, 0)
      .ffa(0, kReq64, kReq)
      .event(FfaEvent::kAbort, 0)
      .ffa_mem(3, {pages(4, 1)})
      .ffa_mem_call(0, 0);
  s.emplace_back("ffa_mem_in_flight_limit_and_abandon")
      .ffa_mem(2, {}, kFcAbandon, 300, 0)
      .ffa_mem(2, {}, kFcAbandon, 300, 700)
      .ffa_mem(2, {}, kFcAbandon, 300, 1400)
      .ffa_mem_call(0, 0)
      .ffa_mem_call(1, 1, 16)
      .ffa_mem_call(0, 0x80, 0, 0x8000000000000100ULL);
  s.emplace_back("ffa_mem_v11_layout")
      .ffa(0, kVersion, 0, 0x10001)
      .ffa_mem(2, {pages(0, 3)}, kFcV11 | kFcZeroMbz)
      .ffa_mem(2, {pages(5, 1)}, kFcV11)
      .ffa_mem(2, {pages(6, 1)})
      .ffa_mem_call(0, 0);
  {
    // A lend written as raw bytes, for mutations of the descriptor format itself.
    Seed& r = s.emplace_back("raw_descriptor_lend");
    const hypheap_assign_hdr hdr{HYPHEAP_DESC_VERSION, 1, 0, 1, 0, kHostBit};
    const hypheap_vmperm dest{kSvm0, kRw};
    const hypheap_mem_range range{kArena, 2 * k4K};
    const uint16_t len = sizeof(hdr) + sizeof(dest) + sizeof(range);
    r.w.op(Op::kRawDescriptor).put(len).put(hdr).put(dest).put(range).put(uint64_t(len));
  }
  // MEM_ASSIGN in pieces (ABI 1.6). The fuzzer's core has 2 slots; a fresh core's first
  // operation gets generation 1 in slot 0: token 0x8000000000000100.
  constexpr uint64_t kFirstToken = 0x8000000000000100ULL;
  s.emplace_back("pending_lend_reclaim_32m_piece_by_piece")
      .lend({chunks(0, 4), chunks(4, 4), chunks(8, 4), chunks(12, 4)})
      .continue_op(0, 0)
      .continue_op(0, kContinueCpu1)
      .continue_op(0)
      .reclaim_previous(0)
      .continue_op(0);
  {
    std::vector<R> nine;  // 567 arena pages: two pieces, in the pages the other ops use
    for (uint64_t i = 0; i < 9; i++)
      nine.push_back(pages(64 * i, 63));
    s.emplace_back("pending_refusals_then_abandoned")
        .lend(nine)
        .lend({pages(0, 1)}, kSvm1)                    // PENDING
        .lend({pages(574, 2)})                         // PENDING (ends in it)
        .svm_call(0, 0, 1, HYPHEAP_SVM_NEED_R)         // SVM_HOLD of a page it has: PENDING
        .svm_call(2, 530, 1)                           // SVM_PIN of one not reached: PENDING
        .pin(0, 0, 1)                                  // PENDING
        .ffa(0, kMap64, kMailbox, 570, 571, 1)         // DENIED: the operation's
        .smc(HYPHEAP_FN_MEM_QUERY, kArena, 575)        // F_PENDING
        .smc(HYPHEAP_FN_STATS, HYPHEAP_STAT_PENDING);  // and never continued
  }
  s.emplace_back("pending_forged_and_stale_tokens")
      .lend({chunks(0, 2)})
      .continue_op(0x80, 0, 0)
      .continue_op(0x80, 0, ~0ULL)
      .continue_op(0x80, 0, kFirstToken + 0x100)  // another generation
      .continue_op(0x80, 0, kFirstToken + 1)      // a free slot
      .continue_op(0x80, 0, kFirstToken + 2)      // past the slots
      .continue_op(0x80, 0, kFirstToken & ~(1ULL << 63))
      .continue_op(0, kContinueX2)  // DESC_RESERVED
      .continue_op(0)
      .continue_op(0x80, 0, kFirstToken);  // finished: stale
  // FF-A transactions of more than one piece: a LEND of 4 MiB (2 MiB chunks) left paused
  // after its first piece, everything else tried on it, resumed from both CPUs, then its
  // RECLAIM answered RETRY piece by piece; a fragmented SHARE of 600 scattered pages paused
  // after its last FRAG_TX; the slot limit (the fuzzer's core has 2) as NO_MEMORY.
  s.emplace_back("ffa_mem_lend_in_pieces_paused_resumed_reclaimed")
      .ffa_mem(3, {chunks(0, 2)}, kFcStayPaused)
      .lend({chunks(1, 1)})         // MEM_ASSIGN of a page not reached: PENDING
      .ffa_mem_call(1, 0, 16)       // FRAG_TX: not assembling
      .ffa_mem_call(0, 0)           // RECLAIM of a send in progress: DENIED
      .ffa_mem_call(2, 0)           // the partition's retrieve: PENDING
      .ffa_mem_call(4, 0x80, 0, 1)  // RESUME of no handle
      .smc(HYPHEAP_FN_MEM_QUERY, kBank1, 1024)
      .ffa_mem_call(4, 1)    // the last piece, from CPU 1: SUCCESS
      .ffa_mem_call(4, 0)    // not paused any more
      .ffa_mem_call(0, 0)    // RETRY
      .lend({chunks(0, 1)})  // PENDING
      .ffa_mem_call(3, 0)    // the partition's relinquish: PENDING
      .ffa_mem_call(4, 0)    // RESUME of a reclaim: INVALID_PARAMETERS
      .ffa_mem_call(0, 1)    // the last piece, from CPU 1: SUCCESS
      .ffa_mem_call(0, 0);   // gone
  s.emplace_back("ffa_mem_fragmented_share_in_pieces_and_slot_limit")
      .ffa_mem(2, {}, kFcStayPaused, 600, 0)
      .lend({chunks(4, 2)})        // the second slot
      .ffa_mem(3, {chunks(8, 2)})  // no slot: NO_MEMORY
      .ffa_mem_call(4, 0)          // resumed to its end
      .continue_op(0)
      .ffa_mem_call(0, 0)                             // RETRY
      .ffa_mem_call(0, 0)                             // SUCCESS
      .ffa_mem(3, {chunks(8, 2)}, 0, 0, 0, 2, 0, 1);  // CLEAR, resumed to its end
  s.emplace_back("pending_slot_limit")
      .lend({chunks(0, 2)})
      .lend({chunks(4, 2)})
      .lend({chunks(8, 2)})  // PENDING_LIMIT
      .lend({chunks(8, 1)})  // one piece: no slot
      .continue_op(1)
      .lend({chunks(12, 2)})
      .continue_op(0)
      .continue_op(0);
  return s;
}

}  // namespace
}  // namespace hyp::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
    return 2;
  }
  for (const auto& seed : hyp::fuzz::seeds()) {
    const std::string path = std::string(argv[1]) + "/" + seed.name;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr ||
        std::fwrite(seed.w.bytes().data(), 1, seed.w.bytes().size(), f) != seed.w.bytes().size()) {
      std::perror(path.c_str());
      return 1;
    }
    std::fclose(f);
  }
  return 0;
}
