// The secure VM's run loop: wait for a direct request, hand it to the services
// (hyp/svm/services.h), answer with a direct response of the same width, wait again.
#include <stddef.h>
#include <stdint.h>

#include <hypheap/abi.h>

#include "arch/arm64/cache.h"
#include "boot_info.h"
#include "hvc.h"
#include "layout.h"
#include "svm/carveout.h"
#include "svm/optee.h"
#include "svm/services.h"

namespace hyp::svm {

namespace {

// To the point of coherency: whatever reads it next, with or without the caches (a device
// that does not snoop, FREE's pool, the host after a reclaim), finds what was written.
void clean_to_poc(uint8_t* p, uint64_t len) {
  arm64::clean_dcache_to_poc(p, len);
}

// The carve-out pool's zeroing of whole pages (Carveout::ZeroFn).
// DC ZVA where it can (HCR_EL2.TDZ is clear for the partition).
void zero_pages(uint8_t* p, uint64_t n) {
  if (!arm64::zero_by_blocks(p, n))
    __builtin_memset(p, 0, n);
}

// The services' world at EL1: every Env call is one HVC to the hyp, memory is reached at
// VA == IPA through the stage-1 identity map of RAM.
class HypEnv final : public Env {
 public:
  constexpr HypEnv() = default;

  int64_t hold(Ipa ipa, uint64_t pages, uint32_t need) override {
    return call(HYPHEAP_FN_SVM_HOLD, ipa.value(), pages, need);
  }
  int64_t release(Ipa ipa, uint64_t pages) override {
    return call(HYPHEAP_FN_SVM_RELEASE, ipa.value(), pages, 0);
  }
  int64_t pin(Ipa ipa, uint64_t pages) override {
    return call(HYPHEAP_FN_SVM_PIN, ipa.value(), pages, 0);
  }
  int64_t unpin(Ipa ipa, uint64_t pages) override {
    return call(HYPHEAP_FN_SVM_UNPIN, ipa.value(), pages, 0);
  }
  int64_t ffa_retrieve(uint64_t handle) override {
    return call(HYPHEAP_FN_SVM_FFA_RETRIEVE, handle, 0, 0);
  }
  int64_t ffa_relinquish(uint64_t handle) override {
    return call(HYPHEAP_FN_SVM_FFA_RELINQUISH, handle, 0, 0);
  }
  int64_t ffa_region(uint64_t handle, uint16_t receiver, Ipa* first, uint64_t* pages) override {
    const HvcRegs r = hvc({{HYPHEAP_FN_SVM_FFA_REGION, handle, receiver, 0, 0, 0, 0, 0}});
    const auto status = static_cast<int64_t>(r.x[0]);
    if (status == HYPHEAP_OK) {
      *first = Ipa(r.x[1]);
      *pages = r.x[2];
    }
    return status;
  }
  uint8_t* map(Ipa ipa) override { return reinterpret_cast<uint8_t*>(ipa.value()); }
  // FILL's ranges are whole pages: DC ZVA (arm64::zero_by_blocks). FILL cleans the zeros to PoC
  // afterwards (Env::clean_to_poc), as it does any pattern.
  void zero(uint8_t* p, uint64_t n) override {
    if (!arm64::zero_by_blocks(p, n))
      Env::zero(p, n);
  }
  void clean_to_poc(uint8_t* p, uint64_t n) override { svm::clean_to_poc(p, n); }
  // An IPA the stage-2 never maps: the load takes a stage-2 fault at EL2, which aborts the
  // partition. If it ever returned, the vectors' own report would end it all the same.
  void fault() override {
    (void)*reinterpret_cast<volatile uint64_t*>(fault_ipa_);
    HvcRegs r{{HYPHEAP_FN_SVM_ABORT, 0, fault_ipa_, 0, 0, 0, 0, 0}};
    (void)hvc(r);
  }

  void set_fault_ipa(uint64_t ipa) { fault_ipa_ = ipa; }

 private:
  static int64_t call(uint32_t fid, uint64_t a1, uint64_t a2, uint64_t a3) {
    return static_cast<int64_t>(hvc({{fid, a1, a2, a3, 0, 0, 0, 0}}).x[0]);
  }

  uint64_t fault_ipa_ = 0;
};

// Written by vCPU 0 before its first FFA_MSG_WAIT; the other vCPUs start later (the hyp
// boots them when their CPU first starts) and only read them.
constinit HypEnv g_env;
constinit Config g_config;
// Every vCPU's calls share it (the streaming HASH contexts); zero at boot (.bss).
constinit Shared g_shared;
constinit Carveout g_carveout;

bool is_direct_req(uint64_t fid) {
  return fid == kFfaMsgSendDirectReq32 || fid == kFfaMsgSendDirectReq64;
}

// The hyp resumes a waiting partition only with a direct request, and accepts every response
// this loop makes: anything else means the two disagree, which only the hyp can sort out.
[[noreturn]] void out_of_step(const HvcRegs& r) {
  for (;;) {
    (void)hvc({{HYPHEAP_FN_SVM_ABORT, 0, r.x[0], r.x[2], 0, 0, 0, 0}});
  }
}

[[noreturn]] void run() {
  HvcRegs r = hvc({{kFfaMsgWait, 0, 0, 0, 0, 0, 0, 0}});
  for (;;) {
    if (!is_direct_req(r.x[0])) {
      out_of_step(r);
    }
    // SMC32: only the low halves of the arguments are defined, and only they go back.
    const bool wide = r.x[0] == kFfaMsgSendDirectReq64;
    const uint64_t mask = wide ? ~0ull : 0xffffffffull;
    const auto sender = static_cast<uint16_t>(r.x[1] >> 16);
    // The hyp lets through requests to this VM's two endpoints only (the OP-TEE one in
    // SMC32 alone); the answer comes from the endpoint asked.
    const auto endpoint = static_cast<uint16_t>(r.x[1] & 0xffff);
    const Message req{{r.x[3] & mask, r.x[4] & mask, r.x[5] & mask, r.x[6] & mask, r.x[7] & mask}};
    const Message resp = endpoint == HYPHEAP_FFA_ID_OPTEE
                             ? optee_dispatch(g_env, req)
                             : dispatch(g_env, g_config, g_shared, sender, req);
    HvcRegs out{{wide ? kFfaMsgSendDirectResp64 : kFfaMsgSendDirectResp32,
                 (uint64_t{endpoint} << 16) | sender, 0, resp.data[0] & mask, resp.data[1] & mask,
                 resp.data[2] & mask, resp.data[3] & mask, resp.data[4] & mask}};
    r = hvc(out);
  }
}

}  // namespace

}  // namespace hyp::svm

extern "C" [[noreturn]] void svm_main(const hyp::svm::BootInfo* info, uint64_t vcpu) {
  using namespace hyp::svm;
  if (vcpu == 0) {
    g_config.nr_vcpus = info->nr_vcpus;
    g_config.fault_op = (info->flags & kBootFlagFaultOp) != 0;
    g_env.set_fault_ipa(info->fault_ipa);
    // IPA == PA, identity-mapped by the stage-1 like all RAM. A pool the tables cannot cover
    // is left out: CARVEOUT_* then answer NO_POOL.
    if (info->pool.size != 0 &&
        g_carveout.init(hyp::Ipa(info->pool.base), info->pool.size,
                        reinterpret_cast<uint8_t*>(info->pool.base), clean_to_poc, zero_pages))
      g_config.carveout = &g_carveout;
    if (info->flags & kBootFlagFaultAtBoot) {
      g_env.fault();
    }
  }
  asm volatile("msr tpidr_el1, %0" ::"r"(vcpu));
  run();
}

// Env's vtable names it; no pure virtual is ever called.
extern "C" void __cxa_pure_virtual() {
  hyp::svm::hvc({{HYPHEAP_FN_SVM_ABORT, 0, 0, 0, 0, 0, 0, 0}});
  for (;;) {
  }
}
