#include "hyp.h"

#include "arch.h"
#include "dma.h"

namespace hyp {

Status Hyp::map_initial(Stage2& s2, const MemRange& r, const LeafSpec& leaf) {
  const IpaRange ir{ipa_identity(r.base), r.size};
  PagePool::Reservation res;
  HYP_TRY(pool_.reserve(s2.missing_tables(std::span(&ir, 1), leaf.valid), res));
  s2.set_range(ir, leaf, res);
  return Status::kOk;
}

Status Hyp::init(const PlatformDesc& desc) {
  HYP_TRY(platform_.init(desc));
  const MemRange pool = platform_.table_pool();
  HYP_TRY(pool_.init(pool.base, pool.size / kPageSize));

  host_.id = kVmidHost;
  HYP_TRY(host_.s2.init(pool_, platform_.ipa_bits(), 0));
  host_.has_dma = platform_.iommu();
  if (host_.has_dma)
    HYP_TRY(host_.dma.init(pool_, platform_.ipa_bits(), kDmaAsidBase, true));
  nr_secure_vms_ = 0;
  for (const VmId id : platform_.secure_vms()) {
    Vm& vm = secure_vms_[nr_secure_vms_++];
    vm.id = id;
    HYP_TRY(vm.s2.init(pool_, platform_.ipa_bits(), uint16_t(nr_secure_vms_)));
    // Empty: a secure VM's device reaches nothing until pages are lent or shared to it.
    vm.has_dma = platform_.iommu();
    if (vm.has_dma)
      HYP_TRY(
          vm.dma.init(pool_, platform_.ipa_bits(), uint16_t(kDmaAsidBase + nr_secure_vms_), true));
  }

  for (const MemRange& r : platform_.ram()) {
    HYP_TRY(map_initial(host_.s2, r, LeafSpec::normal(r.base, kPermsRwx, PageState::kOwned)));
    if (host_.has_dma)
      HYP_TRY(map_initial(host_.dma, r, host_dma_leaf(r.base, kPermsRwx)));
  }
  // MMIO stays out of the host's DMA table: device-to-device DMA is not the host's to use.
  for (const MemRange& r : platform_.mmio())
    HYP_TRY(map_initial(host_.s2, r, LeafSpec::device(r.base)));
  for (const Carveout& c : platform_.carveouts()) {
    HYP_TRY(map_initial(host_.s2, c.range, LeafSpec::owned_by(c.owner)));
    if (host_.has_dma)
      HYP_TRY(map_initial(host_.dma, c.range, LeafSpec::unmapped()));
    if (Vm* vm = find_secure_vm(c.owner))
      HYP_TRY(map_initial(vm->s2, c.range,
                          LeafSpec::normal(c.range.base, kPermsRwx, PageState::kOwned)));
  }
  return Status::kOk;
}

Vm* Hyp::find_secure_vm(VmId id) {
  for (size_t i = 0; i < nr_secure_vms_; i++) {
    if (secure_vms_[i].id == id)
      return &secure_vms_[i];
  }
  return nullptr;
}

const Vm* Hyp::secure_vm(VmId id) const {
  return const_cast<Hyp*>(this)->find_secure_vm(id);
}

void Hyp::lock_all() const {
  arch::spin_lock(host_.lock);
  for (size_t i = 0; i < nr_secure_vms_; i++)
    arch::spin_lock(secure_vms_[i].lock);
}

void Hyp::unlock_all() const {
  for (size_t i = nr_secure_vms_; i > 0; i--)
    arch::spin_unlock(secure_vms_[i - 1].lock);
  arch::spin_unlock(host_.lock);
}

uint64_t Hyp::stage2_splits() const {
  uint64_t n = host_.s2.counters().splits.get();
  for (size_t i = 0; i < nr_secure_vms_; i++)
    n += secure_vms_[i].s2.counters().splits.get();
  return n;
}

uint64_t Hyp::stage2_leaf_writes() const {
  uint64_t n = host_.s2.counters().leaf_writes.get();
  for (size_t i = 0; i < nr_secure_vms_; i++)
    n += secure_vms_[i].s2.counters().leaf_writes.get();
  return n;
}

uint64_t Hyp::stage2_merges() const {
  uint64_t n = host_.s2.counters().merges.get();
  for (size_t i = 0; i < nr_secure_vms_; i++)
    n += secure_vms_[i].s2.counters().merges.get();
  return n;
}

Status Hyp::stat(uint64_t index, uint64_t* value) const {
  switch (index) {
    case HYPHEAP_STAT_ASSIGN_CALLS:
      *value = stats_.assign_calls.get();
      break;
    case HYPHEAP_STAT_ASSIGN_FAILED:
      *value = stats_.assign_failed.get();
      break;
    case HYPHEAP_STAT_PAGES_LENT:
      *value = stats_.pages_lent.get();
      break;
    case HYPHEAP_STAT_PAGES_SHARED:
      *value = stats_.pages_shared.get();
      break;
    case HYPHEAP_STAT_PAGES_RECLAIMED:
      *value = stats_.pages_reclaimed.get();
      break;
    case HYPHEAP_STAT_PAGES_SCRUBBED:
      *value = stats_.pages_scrubbed.get();
      break;
    case HYPHEAP_STAT_BLOCK_SPLITS:
      *value = stage2_splits();
      break;
    case HYPHEAP_STAT_BLOCK_MERGES:
      *value = stage2_merges();
      break;
    case HYPHEAP_STAT_TABLE_PAGES_USED:
      *value = pool_.used_pages();
      break;
    case HYPHEAP_STAT_TABLE_PAGES_FREE:
      *value = pool_.free_pages();
      break;
    case HYPHEAP_STAT_HOST_FAULTS:
      *value = arch::host_fault_counts().faults;
      break;
    case HYPHEAP_STAT_ABORTS_INJECTED:
      *value = arch::host_fault_counts().injected;
      break;
    case HYPHEAP_STAT_FAULTS_SPURIOUS:
      *value = arch::host_fault_counts().spurious;
      break;
    case HYPHEAP_STAT_S2_LEAF_WRITES:
      *value = stage2_leaf_writes();
      break;
    case HYPHEAP_STAT_HOST_CALLS:
      *value = stats_.host_calls.get();
      break;
    case HYPHEAP_STAT_DMA_FAULTS:
      *value = arch::host_fault_counts().dma_faults;
      break;
    case HYPHEAP_STAT_PREEMPTED:
      *value = stats_.preempted.get();
      break;
    case HYPHEAP_STAT_PENDING:
      *value = stats_.pending_now.get();
      break;
    default:
      return Status::kStatIndex;
  }
  return Status::kOk;
}

}  // namespace hyp
