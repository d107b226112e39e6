// The streaming HASH contexts (HASH_BEGIN/UPDATE/FINAL/ABORT, include/hypheap/abi.h): a
// fixed pool shared by every vCPU, without a lock. A vCPU can be preempted anywhere (a host
// interrupt) and resumed only when the host chooses, so nothing here ever waits for another
// vCPU: each context's state is one atomic word, changed by compare-and-swap, and a context
// another call is using answers IN_USE instead of being waited for.
#pragma once

#include <cstddef>
#include <cstdint>

#include "args.h"
#include "sha256.h"

namespace hyp::svm {

// One context: a SHA-256 state and how many bytes went into it.
struct HashStream {
  Sha256 sha{Sha256::Unset{}};
  uint64_t bytes = 0;
};

class HashPool {
 public:
  static constexpr size_t kContexts = HYPHEAP_SVM_HASH_CONTEXTS;
  static constexpr size_t kPerClient = HYPHEAP_SVM_HASH_PER_CLIENT;

  // A fresh context of `client`: its handle in *handle. When the client has kPerClient
  // already, its least recently used one that is not in a call is reused (that handle goes
  // stale); none such, or no free context at all: HASH_CONTEXTS.
  SvmStatus begin(uint16_t client, uint64_t* handle);
  // The context of `handle`, for this call alone until put() or end(): HASH_HANDLE if it is
  // not a live context of `client`, IN_USE if another call has it.
  SvmStatus claim(uint16_t client, uint64_t handle, HashStream** stream);
  // Gives a claimed context back, still live. `used`: the call succeeded, which makes the
  // context the most recently used (a refused call leaves the reuse order as it was).
  void put(uint64_t handle, bool used);
  // Frees a claimed context (wiping it): its handle is stale from now on.
  void end(uint64_t handle);

  // For tests: contexts not free.
  size_t nr_live() const;

 private:
  // word = generation (40 bits) | owner (16) | state (8). The generation grows by one each
  // time the slot is given out and never wraps: a slot whose generation is exhausted is
  // retired, so no handle ever names two contexts.
  enum : uint64_t { kFree = 0, kIdle = 1, kBusy = 2, kRetired = 3 };
  static constexpr uint64_t kGenMax = (uint64_t(1) << 40) - 1;

  static uint64_t word(uint64_t gen, uint16_t owner, uint64_t state) {
    return gen << 24 | uint64_t(owner) << 8 | state;
  }
  static uint64_t gen_of(uint64_t w) { return w >> 24; }
  static uint16_t owner_of(uint64_t w) { return uint16_t(w >> 8); }
  static uint64_t state_of(uint64_t w) { return w & 0xff; }
  // handle = generation << 8 | slot; generation 0 is never given out, so 0 is no handle.
  static uint64_t handle_of(size_t slot, uint64_t gen) { return gen << 8 | slot; }

  struct Slot {
    uint64_t word = 0;
    uint64_t last_use = 0;  // of the pool's clock, for the reuse above
    HashStream stream;
  };

  uint64_t load(size_t i) const;
  bool cas(size_t i, uint64_t expected, uint64_t desired);
  void touch(size_t i);

  Slot slots_[kContexts];
  uint64_t clock_ = 0;
};

}  // namespace hyp::svm
