// The host's FF-A mailbox: FFA_RXTX_MAP/UNMAP, FFA_RX_RELEASE and FFA_PARTITION_INFO_GET,
// the one call that writes the RX buffer. While mapped, the two pages are in state
// SHARED_HYP in the host stage-2 (still host-owned and mapped RWX, but shared with the
// hypervisor), so MEM_ASSIGN cannot lend or share them away under the hyp's feet. All of it
// runs under the host VM lock, which also orders it against MEM_ASSIGN.
#include <cstring>

#include "ffa_abi.h"
#include "ffa_regs.h"
#include "hyp.h"
#include "lock.h"

namespace hyp {
namespace {

using ffa::clear;
using ffa::set_error;
using ffa::set_success;

bool host_exclusive(const Leaf& h) {
  return h.valid() && (h.raw & pte::kMemAttrMask) == pte::kMemAttrNormalWb &&
         h.state() == PageState::kOwned && h.perms() == kPermsRwx;
}

// The partition's descriptor as FFA_PARTITION_INFO_GET returns it (v1.1 layout; a v1.0
// caller gets the first 8 bytes with the v1.0 property bits).
struct [[gnu::packed]] PartitionInfo {
  uint16_t id;
  uint16_t exec_contexts;
  uint32_t properties;
  uint32_t uuid[4];
};
static_assert(sizeof(PartitionInfo) == ffa::kInfoDescSize11);

}  // namespace

void Hyp::ffa_rxtx_map(FfaRegs& r, bool smc64) {
  const uint64_t mask = smc64 ? ~0ULL : 0xffffffffULL;
  const PhysAddr tx(r.x[1] & mask), rx(r.x[2] & mask);
  const auto w3 = uint32_t(r.x[3]);
  const MemRange pages[2] = {{tx < rx ? tx : rx, kPageSize}, {tx < rx ? rx : tx, kPageSize}};
  if (w3 != 1 || !is_page_aligned(tx.value()) || !is_page_aligned(rx.value()) || tx == rx ||
      !platform_.in_ram(pages[0]) || !platform_.in_ram(pages[1])) {
    set_error(r, ffa::kInvalidParameters);
    return;
  }
  LockGuard guard(host_.lock);
  if (ffa_.mailbox_mapped) {
    set_error(r, ffa::kDenied);
    return;
  }
  for (const MemRange& p : pages) {
    // A page of a MEM_ASSIGN in progress is host-owned until (lend) or after (reclaim) its
    // piece: the operation's, not the host's to hand to the hyp meanwhile.
    if (!host_exclusive(host_.s2.lookup(ipa_identity(p.base))) || pending_overlaps(p, nullptr)) {
      set_error(r, ffa::kDenied);
      return;
    }
  }
  const IpaRange ranges[2] = {{ipa_identity(pages[0].base), kPageSize},
                              {ipa_identity(pages[1].base), kPageSize}};
  PagePool::Reservation res;
  if (pool_.reserve(host_.s2.missing_tables(ranges, true), res) != Status::kOk) {
    set_error(r, ffa::kNoMemory);
    return;
  }
  TlbBatch tlb(host_.s2);
  for (const MemRange& p : pages)
    host_.s2.set_range(IpaRange{ipa_identity(p.base), kPageSize},
                       LeafSpec::normal(p.base, kPermsRwx, PageState::kSharedHyp), res, tlb);
  ffa_.mailbox_mapped = true;
  ffa_.rx_full = false;
  ffa_.tx = tx;
  ffa_.rx = rx;
  set_success(r);
}

void Hyp::ffa_rxtx_unmap(FfaRegs& r) {
  // w1[31:16] names the endpoint whose buffers go: 0 (the caller, at this instance) or the
  // host's own id, which is what Linux passes.
  const auto w1 = uint32_t(r.x[1]);
  if ((w1 & 0xffff) != 0 || (w1 >> 16 != 0 && w1 >> 16 != HYPHEAP_FFA_ID_HOST)) {
    set_error(r, ffa::kInvalidParameters);
    return;
  }
  LockGuard guard(host_.lock);
  if (!ffa_.mailbox_mapped) {
    set_error(r, ffa::kInvalidParameters);
    return;
  }
  const PhysAddr lo = ffa_.tx < ffa_.rx ? ffa_.tx : ffa_.rx;
  const PhysAddr hi = ffa_.tx < ffa_.rx ? ffa_.rx : ffa_.tx;
  const IpaRange ranges[2] = {{ipa_identity(lo), kPageSize}, {ipa_identity(hi), kPageSize}};
  PagePool::Reservation res;
  if (pool_.reserve(host_.s2.missing_tables(ranges, true), res) != Status::kOk) {
    set_error(r, ffa::kNoMemory);  // not reachable: the pages already sit in their own leaves
    return;
  }
  TlbBatch tlb(host_.s2);
  for (const IpaRange& ir : ranges)
    host_.s2.set_range(ir, LeafSpec::normal(pa_identity(ir.base), kPermsRwx, PageState::kOwned),
                       res, tlb);
  ffa_.mailbox_mapped = false;
  ffa_.rx_full = false;
  ffa_.tx = ffa_.rx = PhysAddr();
  set_success(r);
}

void Hyp::ffa_rx_release(FfaRegs& r) {
  LockGuard guard(host_.lock);
  // Linux releases after every PARTITION_INFO_GET, count-only ones included, and ignores the
  // answer: a release of a buffer the host already owns changes nothing and says DENIED.
  if (!ffa_.mailbox_mapped || !ffa_.rx_full) {
    set_error(r, ffa::kDenied);
    return;
  }
  ffa_.rx_full = false;
  set_success(r);
}

void Hyp::ffa_partition_info_get(FfaRegs& r) {
  const uint32_t uuid[4] = {uint32_t(r.x[1]), uint32_t(r.x[2]), uint32_t(r.x[3]), uint32_t(r.x[4])};
  const auto flags = uint32_t(r.x[5]);
  // The secure VM's two endpoints, in id order: its own services, and its OP-TEE face (for
  // Linux's optee driver: a partition that matched both UUIDs would be bound by whichever
  // driver came first, docs/hypervisor.md "The OP-TEE face").
  static constexpr PartitionInfo kEndpoints[] = {
      {HYPHEAP_FFA_ID_SVM,
       0,
       0,
       {HYPHEAP_SVM_UUID_0, HYPHEAP_SVM_UUID_1, HYPHEAP_SVM_UUID_2, HYPHEAP_SVM_UUID_3}},
      {HYPHEAP_FFA_ID_OPTEE,
       0,
       0,
       {HYPHEAP_OPTEE_UUID_0, HYPHEAP_OPTEE_UUID_1, HYPHEAP_OPTEE_UUID_2, HYPHEAP_OPTEE_UUID_3}},
  };
  constexpr uint32_t kNrEndpoints = sizeof(kEndpoints) / sizeof(kEndpoints[0]);
  const bool null = (uuid[0] | uuid[1] | uuid[2] | uuid[3]) == 0;
  const bool exists = find_secure_vm(VmId(HYPHEAP_VMID_SECURE_0)) != nullptr;
  uint32_t first = 0, count = 0;
  if (null) {
    count = exists ? kNrEndpoints : 0;
  } else {
    for (uint32_t i = 0; i < kNrEndpoints; i++) {
      if (exists && std::memcmp(uuid, kEndpoints[i].uuid, sizeof(uuid)) == 0) {
        first = i;
        count = 1;
      }
    }
  }
  if ((flags & ~ffa::kInfoCountOnly) != 0 || (!null && count == 0)) {
    set_error(r, ffa::kInvalidParameters);
    return;
  }
  const uint32_t version = __atomic_load_n(&ffa_.host_version, __ATOMIC_RELAXED);
  const bool v11 = version >= ffa::kVersion11;
  // Honoured at any version: Linux 6.1.0 sets it while speaking v1.0.
  if (flags & ffa::kInfoCountOnly) {
    set_success(r, count);
    return;
  }
  LockGuard guard(host_.lock);
  if (!ffa_.mailbox_mapped) {
    set_error(r, ffa::kDenied);
    return;
  }
  if (ffa_.rx_full) {
    set_error(r, ffa::kBusy);
    return;
  }
  const uint32_t size = v11 ? ffa::kInfoDescSize11 : ffa::kInfoDescSize10;
  // The whole page, so nothing the host left there looks like another descriptor. The
  // host may write it meanwhile (it owns the mapping); that only spoils its own answer.
  auto* rx = static_cast<uint8_t*>(arch::phys_to_virt(ffa_.rx));
  std::memset(rx, 0, kPageSize);
  for (uint32_t i = 0; i < count; i++) {
    PartitionInfo info = kEndpoints[first + i];
    info.exec_contexts = uint16_t(ffa_vcpu_count());
    info.properties = v11 ? ffa::kPropDirectReqRecv | ffa::kPropAarch64
                          : ffa::kPropDirectReqRecv & ffa::kPropMaskV10;
    std::memcpy(rx + i * size, &info, size);
  }
  ffa_.rx_full = true;
  set_success(r, count, v11 ? size : 0);
}

}  // namespace hyp
