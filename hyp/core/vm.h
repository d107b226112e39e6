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
  mutable arch::SpinLock lock;
};

}  // namespace hyp
