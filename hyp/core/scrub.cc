// Scrubbing everything the secure VMs own before the machine goes down.
#include "hyp.h"

namespace hyp {

uint64_t Hyp::scrub_secure_pages() {
  // Every VM lock, so no page changes owner while it is scrubbed. Nothing can make new
  // secure-VM data after they are released: no secure VM runs code, and a page the host
  // lends afterwards holds only what the host wrote.
  lock_all();
  // The secure VMs never run again, so their mappings reach nothing while the pages are
  // zeroed; the zeros are then cleaned to PoC, where the next boot's host will read them.
  for (size_t i = 0; i < nr_secure_vms_; i++) {
    arch::vm_stopped(secure_vms_[i].s2.hw());
    if (secure_vms_[i].has_dma)
      arch::vm_stopped(secure_vms_[i].dma.hw());
  }
  uint64_t pages = 0;
  for (size_t i = 0; i < nr_secure_vms_; i++) {
    secure_vms_[i].s2.for_each_leaf([&](const Leaf& leaf) {
      if (!leaf.valid() || leaf.state() != PageState::kOwned)
        return;
      void* va = arch::phys_to_virt(leaf.pa_of(leaf.base));
      arch::scrub(va, leaf.size);
      arch::dcache_clean_poc(va, leaf.size);
      pages += leaf.size / kPageSize;
    });
  }
  unlock_all();
  return pages;
}

}  // namespace hyp
