// Scoped spinlock holder; see docs/hyp-core.md for the lock order.
#pragma once

#include "arch.h"

namespace hyp {

class LockGuard {
 public:
  explicit LockGuard(arch::SpinLock& lock) : lock_(lock) { arch::spin_lock(lock_); }
  ~LockGuard() { arch::spin_unlock(lock_); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  arch::SpinLock& lock_;
};

}  // namespace hyp
