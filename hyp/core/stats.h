// STATS counters. Updated under the VM locks but read by STATS without them, hence atomics
// (compiler builtins: inline ldxr/stxr at EL2, no library call).
#pragma once

#include <cstdint>

#include "types.h"

namespace hyp {

class Counter {
 public:
  constexpr Counter() = default;
  void add(int64_t delta) { __atomic_fetch_add(&value_, uint64_t(delta), __ATOMIC_RELAXED); }
  uint64_t get() const { return __atomic_load_n(&value_, __ATOMIC_RELAXED); }

 private:
  uint64_t value_ = 0;
};

struct Stats {
  Counter assign_calls;
  Counter assign_failed;
  Counter pages_lent;
  Counter pages_shared;
  Counter pages_reclaimed;
  Counter pages_scrubbed;
  Counter preempted;    // MEM_ASSIGN/MEM_CONTINUE answers PREEMPTED
  Counter pending_now;  // operations in progress (pending.h)
  Counter host_calls;   // hypheap and FF-A calls from the host, answered or refused
};

}  // namespace hyp
