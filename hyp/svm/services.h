// The secure VM's services (include/hypheap/abi.h, "Secure VM"): one direct request in, one
// direct response out. Arch-neutral: the payload runs them at EL1 inside its stage-2
// (hyp/svm/runtime), tests/svm runs them on the host against a fake Env.
#pragma once

#include <cstdint>

#include "../core/types.h"
#include "hash_pool.h"

namespace hyp::svm {

// data0..data4 of an FF-A direct request or response (x3..x7).
struct Message {
  uint64_t data[5];
};

// What the services need from the world around them. At EL1 each call is one HVC to the hyp
// (HYPHEAP_FN_SVM_*), answered with the hyp's status (HYPHEAP_OK / HYPHEAP_ERR_*).
class Env {
 public:
  [[nodiscard]] virtual int64_t hold(Ipa ipa, uint64_t pages, uint32_t need) = 0;
  [[nodiscard]] virtual int64_t release(Ipa ipa, uint64_t pages) = 0;
  [[nodiscard]] virtual int64_t pin(Ipa ipa, uint64_t pages) = 0;
  [[nodiscard]] virtual int64_t unpin(Ipa ipa, uint64_t pages) = 0;
  // FF-A memory lent to the secure VM (SVM_FFA_RETRIEVE / SVM_FFA_RELINQUISH of a handle).
  [[nodiscard]] virtual int64_t ffa_retrieve(uint64_t handle) = 0;
  [[nodiscard]] virtual int64_t ffa_relinquish(uint64_t handle) = 0;
  // SVM_FFA_REGION: the first page and size of a live share/lend to this VM's endpoint
  // `receiver`.
  [[nodiscard]] virtual int64_t ffa_region(uint64_t handle, uint16_t receiver, Ipa* first,
                                           uint64_t* pages) = 0;
  // The secure VM's stage-1 maps its whole IPA space at VA == IPA; tests map a fake RAM.
  virtual uint8_t* map(Ipa ipa) = 0;
  // Zeroes n bytes at p, mapped by map(): FILL with pattern 0, which a heap pool asks for on
  // every freed buffer. This portable loop is the tests'; the runtime zeroes whole blocks
  // with DC ZVA.
  // (Inline: a key function would put Env's typeinfo in the -fno-rtti library.)
  virtual void zero(uint8_t* p, uint64_t n) {
    for (uint64_t i = 0; i < n; i++)
      p[i] = 0;
  }
  // Cleans n bytes at p, mapped by map(), to the point of coherency. What FILL and DECRYPT
  // wrote may be read next by a device of the secure VM that does not snoop the caches (its
  // SMMU table maps what the VM owns): without it the device would read what the memory held
  // before (the previous buffer's bytes, for a pooled one) and a dirty line written back
  // later would land over the device's own writes.
  virtual void clean_to_poc(uint8_t* p, uint64_t n) = 0;
  // FAULT: touches memory outside the stage-2 on purpose. Does not return at EL1.
  virtual void fault() = 0;

 protected:
  ~Env() = default;
};

class Carveout;

struct Config {
  unsigned nr_vcpus = 1;
  bool fault_op = false;         // HYPHEAP_SVM_F_FAULT
  Carveout* carveout = nullptr;  // its carve-out pool (carveout.h), if the hyp gave it one
};

// What the calls of every vCPU share (one object for the partition).
struct Shared {
  HashPool hashes;
  uint64_t inside = 0;      // calls in dispatch() now (a preempted one included)
  uint64_t overlapped = 0;  // calls that entered while another was inside (INFO data4)
};

// Validates `req` of FF-A endpoint `caller` in full (every rejection has its
// HYPHEAP_SVM_ERR_*), holds what it names, performs the op, releases, and answers. Never
// leaves a page held; a streaming HASH context changes only when the call succeeds.
Message dispatch(Env& env, const Config& config, Shared& shared, uint16_t caller,
                 const Message& req);

}  // namespace hyp::svm
