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
  // Slots of Hyp's operations in progress (pending.h) that change this VM's pages: bit i =
  // slot i. Changed under the host lock and this lock, so a holder of this lock alone (pin,
  // hold) reads a stable set and only slots whose own fields are stable under it.
  uint8_t pending_slots = 0;
  mutable arch::SpinLock lock;
};

}  // namespace hyp
