// A ticket lock for the hyp's own shared state (console, CPU bookkeeping).
// Fair, so a CPU spamming the console cannot starve the other. Needs the
// EL2 MMU on with Normal memory: exclusives on Device memory are not
// guaranteed to work (Arm ARM B2.9.5).
#pragma once

#include <stdint.h>

namespace hyp::arm64 {

class SpinLock {
 public:
  void lock() {
    const uint32_t ticket = __atomic_fetch_add(&next_, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&owner_, __ATOMIC_ACQUIRE) != ticket) {
      asm volatile("yield");
    }
  }
  void unlock() { __atomic_store_n(&owner_, owner_ + 1, __ATOMIC_RELEASE); }

 private:
  uint32_t next_ = 0;
  uint32_t owner_ = 0;
};

class LockGuard {
 public:
  explicit LockGuard(SpinLock& lock) : lock_(lock) { lock_.lock(); }
  ~LockGuard() { lock_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  SpinLock& lock_;
};

}  // namespace hyp::arm64
