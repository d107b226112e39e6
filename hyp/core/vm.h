// A VM as the core sees it: an id, its stage-2 (which is also its ownership record), and
// the lock that serialises every change to that stage-2.
#pragma once

#include "arch.h"
#include "pgtable.h"
#include "types.h"

namespace hyp {

struct Vm {
  VmId id;
  Stage2 s2;
  // What the VM's devices reach through the SMMU (platform with an IOMMU only): an identity
  // stage-1 the ownership engine keeps in step with `s2` under the same lock (dma.h).
  Stage2 dma;
  bool has_dma = false;
  mutable arch::SpinLock lock;
};

}  // namespace hyp
