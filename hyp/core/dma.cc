// The DMA tables' policy (dma.h). A device has no execute permission and stage 1 no "write
// only": a page is mapped only where the VM may read it, writable where it may also write.
#include "dma.h"

namespace hyp {

LeafSpec host_dma_leaf(PhysAddr pa, Perms perms) {
  return perms.r() ? LeafSpec::dma(pa, perms.w()) : LeafSpec::unmapped();
}

LeafSpec svm_dma_leaf(PhysAddr pa, Perms perms, PageState state) {
  if (!perms.r())
    return LeafSpec::unmapped();
  switch (state) {
    case PageState::kOwned:
      return LeafSpec::dma(pa, perms.w());
    case PageState::kSharedBorrowed:
      // The host reads it too: a device that could write here could copy out what it reads
      // from the lent pages.
      return LeafSpec::dma(pa, false);
    case PageState::kSharedOwned:
    case PageState::kSharedHyp:
      break;
  }
  return LeafSpec::unmapped();
}

}  // namespace hyp
